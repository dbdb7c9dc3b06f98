// A simulated PagerDuty REST API v2 (node:http only) serving a PagerDutyDataset as it was at the
// simulator's clock, for tests and `krt demo`. It speaks the real API
// (shared/apis/pagerduty/rest-openapiv3.json, https://developer.pagerduty.com/api-reference/):
// - GET /incidents: service_ids[], statuses[], urgencies[], since/until (default: the last month;
//   a range over 6 months is a 400), date_range=all, sort_by, offset/limit pagination (limit
//   default 25, max 100; offset + limit over 10,000 is a 400), total=true;
//   answers {incidents, limit, offset, total, more}.
// - GET /incidents/{id}, GET /incidents/{id}/log_entries, GET /log_entries (newest first).
// - `Authorization: Token token=<key>` (or `Bearer <token>`), else 401; the `Accept` header
//   `application/vnd.pagerduty+json;version=2` (another version is a 406).
// - errors in PagerDuty's shape {"error":{"message","code","errors"?}}; with a configured rate
//   limit, `ratelimit-limit/-remaining/-reset` headers on every answer and 429 + `retry-after`
//   when it is spent (https://support.pagerduty.com/docs/rest-api-rate-limits).
// The simulator can live under a path prefix (e.g. `/api.eu.pagerduty.com`) to stand for another
// base URL such as the EU service region.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findIncident, incidentStateAt, type IncidentState, type PagerDutyDataset, type SimAgent, type SimIncident, type SimLogEntry, type SimService } from './dataset.js';
import { createFaults, createRateWindow, credential, routeTable, startSimServer, type SimRequestBase } from '../../sim/index.js';

/** `path`: with its query string, as requested (including any path prefix); `route` e.g. `GET /incidents/{id}/log_entries`. */
export interface SimRequestLog extends SimRequestBase {
  accept: string | null;
}

export interface PagerDutySimulator {
  /** Base URL without trailing slash, including the path prefix: the connector's `baseUrl`. */
  url: string;
  close(): Promise<void>;
  requests: SimRequestLog[];
  dataset: PagerDutyDataset;
  /** Sets the rate limit (requests per window) and what remains of it now (default: all). */
  setRateLimit(limit: number | null, remaining?: number): void;
  /** The next n requests answer `status` (default 502; 0 drops the connection) before anything else. */
  failNext(n: number, status?: number): void;
}

export interface PagerDutySimulatorOptions {
  dataset: PagerDutyDataset;
  /** The API key the simulator accepts. */
  token: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve under this path, e.g. `/api.eu.pagerduty.com`; other paths are 404. Default none. */
  pathPrefix?: string;
  /** The simulator's clock (ms): incidents and log entries after it are not shown yet. Default Date.now. */
  now?: () => number;
  /** Requests allowed per `windowMs` (default 60 s); default: no limit. PagerDuty's REST default is 900 a minute. */
  rateLimit?: { limit: number; windowMs?: number };
  /** The `offset + limit` ceiling of offset pagination (PagerDuty: 10,000); lower it to test splitting. */
  offsetLimit?: number;
  /** Leave `resolved_at` out of incidents, so that clients must read the resolve log entry. */
  omitResolvedAt?: boolean;
}

interface Answer {
  status: number;
  body: unknown;
}

type Handler = (url: URL) => Answer;

const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;
const MAX_RANGE_MONTHS = 6;
const DEFAULT_RANGE_MONTHS = 1;
const ACCEPT_V2 = /application\/vnd\.pagerduty\+json;\s*version=(\d+)/i;

/** PagerDuty's error codes (https://developer.pagerduty.com/docs/rest-api-v2/errors/). */
const ERR = {
  invalidInput: 2001,
  unauthorized: 2006,
  accessDenied: 2010,
  rateLimited: 2020,
  notFound: 2100,
  internal: 2000,
} as const;

function error(status: number, message: string, code: number, errors?: string[]): Answer {
  return { status, body: { error: errors ? { message, code, errors } : { message, code } } };
}

function invalid(...errors: string[]): Answer {
  return error(400, 'Invalid Input Provided', ERR.invalidInput, errors);
}

function notFound(): Answer {
  return error(404, 'Not Found', ERR.notFound);
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `since + months` the way a calendar counts them (Jan 31 + 1 month = Mar 3, as JS does). */
function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

/** Query values of `name` and `name[]`, each split on commas. */
function listParam(url: URL, name: string): string[] {
  return [...url.searchParams.getAll(name), ...url.searchParams.getAll(`${name}[]`)].flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function parseTime(v: string): number | null {
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

/** offset/limit pagination as PagerDuty does it: limit default 25 capped at 100. */
function pageParams(url: URL, offsetLimit: number): { offset: number; limit: number } | Answer {
  const rawLimit = url.searchParams.get('limit');
  const rawOffset = url.searchParams.get('offset');
  if (rawLimit !== null && !/^\d+$/.test(rawLimit)) return invalid('Limit must be a non-negative integer.');
  if (rawOffset !== null && !/^\d+$/.test(rawOffset)) return invalid('Offset must be a non-negative integer.');
  const limit = rawLimit === null || Number(rawLimit) === 0 ? DEFAULT_LIMIT : Math.min(Number(rawLimit), MAX_LIMIT);
  const offset = rawOffset === null ? 0 : Number(rawOffset);
  if (offset + limit > offsetLimit) return invalid(`Offset + limit must not exceed ${offsetLimit}; narrow the query (e.g. with since/until) instead.`);
  return { offset, limit };
}

function paged<T>(items: readonly T[], page: { offset: number; limit: number }, total: boolean) {
  const slice = items.slice(page.offset, page.offset + page.limit);
  return { slice, meta: { limit: page.limit, offset: page.offset, total: total ? items.length : null, more: page.offset + slice.length < items.length } };
}

/** Starts the simulator; `close()` stops it. */
export async function startPagerDutySimulator(opts: PagerDutySimulatorOptions): Promise<PagerDutySimulator> {
  const now = opts.now ?? Date.now;
  const dataset = opts.dataset;
  const requests: SimRequestLog[] = [];
  const prefix = (opts.pathPrefix ?? '').replace(/\/+$/, '').replace(/^(?=[^/])/, '/');
  const offsetLimit = opts.offsetLimit ?? 10_000;
  const windowMs = opts.rateLimit?.windowMs ?? 60_000;
  /** null: no rate limit. */
  let limited = opts.rateLimit !== undefined;
  const rate = createRateWindow({ limit: opts.rateLimit?.limit ?? 0, windowMs, now });
  const faults = createFaults();
  let base = '';

  // ----- JSON shapes -----
  const html = (path: string) => `https://${dataset.subdomain}.pagerduty.com/${path}`;
  const serviceOf = (id: string) => dataset.services.find((s) => s.id === id) as SimService;
  const serviceRef = (s: SimService) => ({ id: s.id, type: 'service_reference', summary: s.name, self: `${base}/services/${s.id}`, html_url: html(`service-directory/${s.id}`) });
  const agentRef = (a: SimAgent) =>
    a.type === 'user_reference'
      ? { id: a.id, type: 'user_reference', summary: a.summary, self: `${base}/users/${a.id}`, html_url: html(`users/${a.id}`) }
      : { id: a.id, type: 'service_reference', summary: a.summary, self: `${base}/services/${a.id}`, html_url: html(`service-directory/${a.id}`) };
  const teamRef = (s: SimService) => ({ id: s.team.id, type: 'team_reference', summary: s.team.name, self: `${base}/teams/${s.team.id}`, html_url: html(`teams/${s.team.id}`) });
  const incidentRef = (i: SimIncident) => ({ id: i.id, type: 'incident_reference', summary: `[#${i.incident_number}] ${i.title}`, self: `${base}/incidents/${i.id}`, html_url: html(`incidents/${i.id}`) });
  const summaryOf = (e: SimLogEntry) => {
    switch (e.type) {
      case 'trigger_log_entry':
        return 'Triggered through the API.';
      case 'acknowledge_log_entry':
        return `Acknowledged by ${e.agent.summary}.`;
      case 'unacknowledge_log_entry':
        return 'Unacknowledged due to timeout.';
      case 'resolve_log_entry':
        return e.agent.type === 'user_reference' ? `Resolved by ${e.agent.summary}.` : 'Resolved through the integration API.';
      case 'notify_log_entry':
        return `Notified ${e.user?.summary ?? 'a user'} by SMS.`;
      case 'escalate_log_entry':
        return `Escalated to ${e.user?.summary ?? 'the next level'} due to timeout.`;
      case 'assign_log_entry':
        return `Assigned to ${e.user?.summary ?? 'a user'}.`;
      case 'annotate_log_entry':
        return `Note added by ${e.agent.summary}.`;
    }
  };

  const logEntryJson = (i: SimIncident, e: SimLogEntry) => {
    const svc = serviceOf(i.service_id);
    const out: Record<string, unknown> = {
      id: e.id,
      type: e.type,
      summary: summaryOf(e),
      self: `${base}/log_entries/${e.id}?incident_id=${i.id}`,
      html_url: e.type === 'notify_log_entry' ? null : html(`incidents/${i.id}/log_entries/${e.id}`),
      created_at: e.created_at,
      agent: agentRef(e.agent),
      channel: e.type === 'notify_log_entry' ? { type: 'notification', notification: { type: 'sms_notification', status: 'success' } } : { type: e.channel },
      service: serviceRef(svc),
      incident: incidentRef(i),
      teams: [teamRef(svc)],
      contexts: [],
    };
    if (e.type === 'trigger_log_entry') out.event_details = { description: i.title };
    if (e.type === 'acknowledge_log_entry') out.acknowledgement_timeout = 1800;
    if (e.type === 'annotate_log_entry') out.note = e.note ?? '';
    if (e.user) out.user = agentRef(e.user);
    if (e.type === 'assign_log_entry' && e.user) out.assignees = [agentRef(e.user)];
    return out;
  };

  const incidentJson = (i: SimIncident, st: IncidentState) => {
    const svc = serviceOf(i.service_id);
    const trigger = i.log_entries[0] as SimLogEntry;
    const assignee = [...st.entries].reverse().find((e) => e.type === 'assign_log_entry' || e.type === 'escalate_log_entry')?.user;
    const out: Record<string, unknown> = {
      id: i.id,
      type: 'incident',
      summary: `[#${i.incident_number}] ${i.title}`,
      self: `${base}/incidents/${i.id}`,
      html_url: html(`incidents/${i.id}`),
      incident_number: i.incident_number,
      title: i.title,
      description: i.title,
      created_at: i.created_at,
      updated_at: isoSeconds(st.updatedAt),
      status: st.status,
      incident_key: i.incident_key,
      service: serviceRef(svc),
      assignments: st.status === 'resolved' || !assignee ? [] : [{ at: i.created_at, assignee: agentRef(assignee) }],
      assigned_via: 'escalation_policy',
      last_status_change_at: isoSeconds(st.lastStatusChange.at),
      last_status_change_by: agentRef(st.lastStatusChange.by),
      resolved_at: st.resolvedAt === null ? null : isoSeconds(st.resolvedAt),
      first_trigger_log_entry: {
        id: trigger.id,
        type: 'trigger_log_entry_reference',
        summary: summaryOf(trigger),
        self: `${base}/log_entries/${trigger.id}?incident_id=${i.id}`,
        html_url: html(`incidents/${i.id}/log_entries/${trigger.id}`),
      },
      alert_counts: { all: 1, triggered: st.status === 'resolved' ? 0 : 1, resolved: st.status === 'resolved' ? 1 : 0 },
      is_mergeable: true,
      incident_type: { name: 'incident_default' },
      escalation_policy: {
        id: svc.escalation_policy.id,
        type: 'escalation_policy_reference',
        summary: svc.escalation_policy.name,
        self: `${base}/escalation_policies/${svc.escalation_policy.id}`,
        html_url: html(`escalation_policies/${svc.escalation_policy.id}`),
      },
      teams: [teamRef(svc)],
      pending_actions: [],
      acknowledgements: st.acknowledgement ? [{ at: isoSeconds(st.acknowledgement.at), acknowledger: agentRef(st.acknowledgement.by) }] : [],
      alert_grouping: null,
      basic_alert_grouping: null,
      priority: null,
      resolve_reason: null,
      incidents_responders: [],
      responder_requests: [],
      subscriber_requests: [],
      urgency: i.urgency,
    };
    if (opts.omitResolvedAt) delete out.resolved_at;
    return out;
  };

  // ----- routes -----
  const visible = () => {
    const at = now();
    const out: { i: SimIncident; st: IncidentState }[] = [];
    for (const i of dataset.incidents) {
      const st = incidentStateAt(i, at);
      if (st) out.push({ i, st });
    }
    return out;
  };

  /** since/until of a list request: [since, until), default the last month, at most 6 months. */
  const range = (url: URL, defaultMonths: number | null): { since: number; until: number } | Answer | null => {
    if (url.searchParams.get('date_range') === 'all') return null;
    const s = url.searchParams.get('since');
    const u = url.searchParams.get('until');
    const since = s === null ? null : parseTime(s);
    const until = u === null ? null : parseTime(u);
    if ((s !== null && since === null) || (u !== null && until === null)) return error(400, "Invalid 'since' or 'until' Parameter Values", 2004, ['since and until must be ISO 8601 date-times.']);
    if (defaultMonths === null && since === null && until === null) return null;
    const end = until ?? now();
    const start = since ?? addMonths(end, -(defaultMonths ?? DEFAULT_RANGE_MONTHS));
    if (start > end) return invalid('The since parameter must be before the until parameter.');
    if (defaultMonths !== null && end > addMonths(start, MAX_RANGE_MONTHS)) return invalid(`The time range between since and until cannot exceed ${MAX_RANGE_MONTHS} months.`);
    return { since: start, until: end };
  };

  const SORT_FIELDS = new Set(['incident_number', 'created_at', 'resolved_at', 'urgency']);
  const listIncidents: Handler = (url) => {
    const page = pageParams(url, offsetLimit);
    if ('status' in page) return page;
    const r = range(url, DEFAULT_RANGE_MONTHS);
    if (r && 'status' in r) return r;
    const serviceIds = new Set(listParam(url, 'service_ids'));
    const statuses = new Set(listParam(url, 'statuses'));
    const urgencies = new Set(listParam(url, 'urgencies'));
    for (const s of statuses) if (!['triggered', 'acknowledged', 'resolved'].includes(s)) return invalid(`Statuses must be one of triggered, acknowledged, resolved; got ${s}.`);
    for (const u of urgencies) if (u !== 'high' && u !== 'low') return invalid(`Urgencies must be one of high, low; got ${u}.`);
    const sorts = listParam(url, 'sort_by').map((s) => s.split(':'));
    if (sorts.length > 2) return invalid('A maximum of two sort_by fields is allowed.');
    for (const [field, dir] of sorts) {
      if (!SORT_FIELDS.has(field as string) || (dir !== undefined && dir !== 'asc' && dir !== 'desc')) return invalid(`Invalid sort_by: ${field}${dir ? `:${dir}` : ''}.`);
    }
    const key = (x: { i: SimIncident; st: IncidentState }, field: string): number => {
      if (field === 'incident_number') return x.i.incident_number;
      if (field === 'created_at') return Date.parse(x.i.created_at);
      if (field === 'resolved_at') return x.st.resolvedAt ?? Number.MAX_SAFE_INTEGER;
      return x.i.urgency === 'high' ? 1 : 0;
    };
    const matching = visible()
      .filter(({ i, st }) => {
        const created = Date.parse(i.created_at);
        if (r && (created < r.since || created >= r.until)) return false;
        if (serviceIds.size > 0 && !serviceIds.has(i.service_id)) return false;
        if (statuses.size > 0 && !statuses.has(st.status)) return false;
        if (urgencies.size > 0 && !urgencies.has(i.urgency)) return false;
        return true;
      })
      .sort((a, b) => {
        for (const [field, dir] of sorts) {
          const d = key(a, field as string) - key(b, field as string);
          if (d !== 0) return dir === 'desc' ? -d : d;
        }
        return Date.parse(a.i.created_at) - Date.parse(b.i.created_at) || a.i.incident_number - b.i.incident_number;
      });
    const { slice, meta } = paged(matching, page, url.searchParams.get('total') === 'true');
    return { status: 200, body: { incidents: slice.map(({ i, st }) => incidentJson(i, st)), ...meta } };
  };

  const OVERVIEW = new Set(['trigger_log_entry', 'acknowledge_log_entry', 'unacknowledge_log_entry', 'resolve_log_entry', 'escalate_log_entry', 'assign_log_entry', 'annotate_log_entry']);
  /** Log entries newest first, as PagerDuty lists them. */
  const listLogEntries = (url: URL, of: { i: SimIncident; st: IncidentState }[]): Answer => {
    const page = pageParams(url, offsetLimit);
    if ('status' in page) return page;
    const r = range(url, null);
    if (r && 'status' in r) return r;
    const overview = url.searchParams.get('is_overview') === 'true';
    const all: { i: SimIncident; e: SimLogEntry; ms: number; k: number }[] = [];
    for (const { i, st } of of) {
      st.entries.forEach((e, k) => {
        const ms = Date.parse(e.created_at);
        if (r && (ms < r.since || ms >= r.until)) return;
        if (overview && !OVERVIEW.has(e.type)) return;
        all.push({ i, e, ms, k });
      });
    }
    all.sort((a, b) => b.ms - a.ms || b.i.incident_number - a.i.incident_number || b.k - a.k);
    const { slice, meta } = paged(all, page, url.searchParams.get('total') === 'true');
    return { status: 200, body: { log_entries: slice.map(({ i, e }) => logEntryJson(i, e)), ...meta } };
  };

  const withIncident = (id: string, f: (x: { i: SimIncident; st: IncidentState }) => Answer): Answer => {
    const i = findIncident(dataset, id);
    const st = i ? incidentStateAt(i, now()) : null;
    return i && st ? f({ i, st }) : notFound();
  };

  const GET = ['GET'];
  const route = routeTable<Handler>([
    { methods: GET, pattern: '/incidents', handler: () => listIncidents },
    { methods: GET, pattern: '/log_entries', handler: () => (url) => listLogEntries(url, visible()) },
    { methods: GET, pattern: '/incidents/{id}', handler: ({ id }) => () => withIncident(id as string, ({ i, st }) => ({ status: 200, body: { incident: incidentJson(i, st) } })) },
    { methods: GET, pattern: '/incidents/{id}/log_entries', handler: ({ id }) => (url) => withIncident(id as string, (x) => listLogEntries(url, [x])) },
  ]);

  // ----- HTTP -----
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawPath = req.url ?? '/';
    const url = new URL(rawPath, 'http://sim.invalid');
    const accept = typeof req.headers.accept === 'string' ? req.headers.accept : null;
    rate.refresh();
    let path: string | null = url.pathname;
    if (prefix) path = path === prefix || path.startsWith(`${prefix}/`) ? path.slice(prefix.length) || '/' : null;
    const matched = path === null ? null : route(method, path);
    const label = matched?.label ?? 'unknown';

    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const headers: Record<string, string> = { 'x-request-id': `sim-${requests.length + 1}`, ...extra };
      if (limited) {
        headers['ratelimit-limit'] = String(rate.limit);
        headers['ratelimit-remaining'] = String(Math.max(0, rate.remaining));
        headers['ratelimit-reset'] = String(Math.max(1, Math.ceil((rate.resetAt - now()) / 1000)));
      }
      const payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] ??= 'application/json; charset=utf-8';
      headers['content-length'] = String(Buffer.byteLength(payload));
      res.writeHead(status, headers);
      res.end(payload);
      requests.push({ method, path: rawPath, status, route: label, accept, at: now() });
    };

    const failStatus = faults.take();
    if (failStatus !== null) {
      if (failStatus === 0) {
        requests.push({ method, path: rawPath, status: 0, route: label, accept, at: now() });
        req.socket.destroy();
        return;
      }
      // Gateways in front of the API answer 502/504 with HTML, the API itself with JSON.
      if (failStatus === 502 || failStatus === 504) send(failStatus, `<html><body><h1>${failStatus} Bad Gateway</h1></body></html>`, { 'content-type': 'text/html' });
      else send(failStatus, { error: { message: 'Internal Server Error', code: ERR.internal } });
      return;
    }

    if (credential(req.headers.authorization, /^(?:Token token=|Bearer\s+)(\S+)\s*$/) !== opts.token) {
      send(401, { error: { message: 'Unauthorized', code: ERR.unauthorized } });
      return;
    }

    if (limited) {
      if (rate.remaining <= 0) {
        send(429, { error: { message: 'Rate Limit Exceeded', code: ERR.rateLimited } }, { 'retry-after': String(Math.max(1, Math.ceil((rate.resetAt - now()) / 1000))) });
        return;
      }
      rate.remaining--;
    }

    const version = accept ? ACCEPT_V2.exec(accept) : null;
    if (version && version[1] !== '2') {
      send(406, { error: { message: `API version ${version[1]} is not supported; ask for application/vnd.pagerduty+json;version=2`, code: ERR.invalidInput } });
      return;
    }

    const answer = matched ? matched.handler(url) : notFound();
    send(answer.status, answer.body);
  };

  const server = await startSimServer({
    port: opts.port,
    host: opts.host,
    handle,
    errorBody: (message) => ({ error: { message, code: ERR.internal } }),
    onError: (req) => requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', status: 500, route: 'unknown', accept: null, at: now() }),
  });

  base = `${server.url}${prefix}`;

  return {
    url: base,
    dataset,
    requests,
    close: server.close,
    setRateLimit: (l: number | null, rem?: number) => {
      limited = l !== null;
      rate.set(l ?? 0, l === null ? 0 : rem, { restart: true });
    },
    failNext: (n: number, status = 502) => faults.failNext(n, status),
  };
}
