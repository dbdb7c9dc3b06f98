// PagerDuty incidents of one service, synced incrementally through @pagerduty/pdjs.
// REST API v2: GET /incidents (offset pagination; since/until default to the last month and may
// span at most 6 months; offset + limit may not exceed 10,000) and the account-wide
// GET /log_entries (same paging, read in the same windows; `is_overview=true`: the entries that
// change an incident, without the notifications) for the first acknowledge_log_entry and the
// resolve_log_entry where `resolved_at` is missing: one walk over the time since the last sync
// instead of one request per incident (docs/coverage-and-incidents.md).
// https://developer.pagerduty.com/api-reference/9d0b4b12e36f9-list-incidents,
// https://developer.pagerduty.com/docs/rest-api-v2/pagination/, shared/TESTING.md "PagerDuty".
//
// pdjs is called in its full-URL form (`url:`): its `server` option always means https://<server>,
// which would not reach a configured base URL such as the EU region or a local simulator. Paging is
// done here with explicit offset/limit (pdjs' `all()` only finds the resource under a `.com/` URL).
import { api } from '@pagerduty/pdjs';
import type { APIResponse, PartialCall } from '@pagerduty/pdjs/build/src/api.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { PagerDutySource } from '../../src/core/sources.js';
import { RateLimitError, SourceError } from '../../src/core/errors.js';
import type { IncidentEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { streams, type StreamKey } from '../../src/core/stream.js';
import { mapPool, realSleep, retry, type Sleep } from '../kit/index.js';
import type { Connector, SyncReport } from '../../src/core/connector.js';

const DAY_MS = 86_400_000;
/** The longest since..until range a list request may cover: 180 days is under 6 calendar months. */
const MAX_RANGE_MS = 180 * DAY_MS;
/** Log-entry windows read at once (PagerDuty allows 900 requests a minute per key; a few suffice). */
const LOG_WINDOWS_IN_FLIGHT = 3;

export interface PagerDutyConnectorOptions {
  source: PagerDutySource;
  store: Store;
  logger: Logger;
  now: () => number;
  /** How far back the first sync reads (default 180 days). */
  historyMs?: number;
  /** Base of the exponential backoff on 5xx and network errors (default 1 s: 1, 2, 4 s). */
  retryBaseMs?: number;
  /** Retries of a request after a 5xx or network error (default 3). */
  maxRetries?: number;
  /**
   * Later syncs list again the incidents created this long before the last sync (default 7 days)
   * and read the log entries of older ones still open, so acknowledgements and resolutions are
   * picked up.
   */
  settleMs?: number;
  /** Page size of list requests (PagerDuty allows up to 100). */
  pageLimit?: number;
  /** PagerDuty's `offset + limit` ceiling (10,000); windows with more incidents are split. */
  offsetLimit?: number;
  /**
   * Log entries are read from the last sync's end minus this margin (default 1 hour), for entries
   * PagerDuty writes late.
   */
  logMarginMs?: number;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * Every service the config reads: one listing (`service_ids[]` of them all) serves each
   * service's walk over the same window, instead of one listing per service. Default: per service.
   */
  services?: string[];
  /** Sleep between retries (tests). */
  sleep?: Sleep;
}

/**
 * Where the sync of one service got to. `syncedTo`: every incident created before it (and after
 * the history start) is stored, as of the end of the last complete walk. `walk`: a walk in
 * progress over [since, end): the current window is [since, until) and `offset` the next page, so
 * a sync that died midway resumes at the page it had not stored.
 */
export interface IncidentsCursor {
  syncedTo: number | null;
  walk: { end: number; since: number; until: number; offset: number } | null;
  /**
   * The account's log entries are read up to `syncedTo` (null: never; the next read starts a
   * margin before it). `pendingAck`: the first acknowledgement of open incidents that were
   * acknowledged and then unacknowledged, kept until they are acknowledged again or resolved.
   */
  log?: { syncedTo: number | null; pendingAck: Record<string, number> };
}

export function incidentsStream(serviceId: string): StreamKey {
  return streams.incidents(serviceId);
}

// ----- the API fields we rely on, parsed at the boundary -----
const ApiIncident = z.object({
  id: z.string(),
  created_at: z.string(),
  // "More status codes may be introduced in the future" (GET /incidents, statuses[]).
  status: z.string(),
  urgency: z.enum(['high', 'low']),
  resolved_at: z.string().nullable().optional(),
  service: z.object({ id: z.string() }).nullable().optional(),
});
type ApiIncident = z.infer<typeof ApiIncident>;

const Page = { offset: z.number(), limit: z.number(), more: z.boolean(), total: z.number().nullable().optional() };
const IncidentPage = z.object({ incidents: z.array(ApiIncident), ...Page });
const LogEntryPage = z.object({
  log_entries: z.array(z.object({ type: z.string(), created_at: z.string(), incident: z.object({ id: z.string() }).nullable().optional(), service: z.object({ id: z.string() }).nullable().optional() })),
  ...Page,
});

/** What an incident's log entries of a time range say. */
interface LogSummary {
  /** created_at of the first acknowledge entry, of the first resolve entry. */
  ack: number | null;
  resolve: number | null;
  /** The newest of acknowledge/unacknowledge: the status it left (null: neither). */
  lastStatus: 'acknowledged' | 'triggered' | null;
  lastStatusAt: number;
}

// The OpenAPI file names the acknowledge entry `acknowledgement_log_entry` in one place and
// `acknowledge_log_entry` in another; the API sends the latter. Accept both.
const ACK_TYPES = new Set(['acknowledge_log_entry', 'acknowledgement_log_entry']);

interface Counter {
  requests: number;
  rateLimitRemaining: number | null;
}

type Query = Record<string, string | string[]>;

interface ErrorBody {
  error?: { message?: unknown; code?: unknown; errors?: unknown };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function describeError(body: unknown): string {
  const e = (body as ErrorBody | null)?.error;
  if (!e || typeof e !== 'object') return '';
  const details = Array.isArray(e.errors) ? e.errors.map(String).join('; ') : '';
  return [typeof e.message === 'string' ? e.message : '', typeof e.code === 'number' ? `code ${e.code}` : '', details].filter(Boolean).join(', ');
}

interface ClientOptions {
  baseUrl: string;
  token: string;
  logger: Logger;
  now: () => number;
  retryBaseMs: number;
  maxRetries: number;
  timeoutMs: number;
  sleep?: Sleep;
}

/** A retryable answer (5xx) or no answer at all: the kit's retry tries again with backoff. */
class RetryableError extends SourceError {}

/**
 * GET through pdjs with typed errors: 5xx and network errors are retried (connectors/kit `retry`,
 * exponential backoff from `retryBaseMs`), 401/403/400 never; a 429 is a RateLimitError with the
 * reset time (pdjs itself has retried it 3 times first).
 */
function createClient(o: ClientOptions) {
  const base = o.baseUrl.replace(/\/+$/, '');
  const pd: PartialCall = api({ token: o.token, tokenType: 'token' });

  return async function get<T>(counter: Counter, path: string, query: Query, parse: z.ZodType<T>): Promise<T> {
    const url = `${base}${path}`;
    const where = `PagerDuty GET ${url}`;
    return retry(() => once(), {
      retries: o.maxRetries,
      baseMs: o.retryBaseMs,
      sleep: o.sleep,
      shouldRetry: (err) => err instanceof RetryableError,
      onRetry: (err, attempt) =>
        o.logger.warn({ url, attempt: attempt - 1, ...((err as SourceError).status ? { status: (err as SourceError).status } : { err: (err as Error).message }) }, (err as SourceError).status ? 'PagerDuty answered a server error; retrying' : 'PagerDuty request failed; retrying'),
    });

    async function once(): Promise<T> {
      counter.requests++;
      let status: number;
      let body: unknown = null;
      let headers: Headers | null = null;
      try {
        const res: APIResponse = await pd({
          url,
          method: 'GET',
          queryParameters: query,
          // pdjs keeps a no-op 30 s timer alive unless this is 0; the real timeout is the signal.
          requestTimeout: 0,
          // pdjs itself retries a 429 three times after this pause before handing it back.
          retryTimeout: o.retryBaseMs,
          signal: AbortSignal.timeout(o.timeoutMs),
        });
        status = res.status;
        body = res.data;
        headers = res.headers;
      } catch (err) {
        // pdjs rejects with the Response when the body is not JSON (a gateway's HTML 502), and
        // with a fetch error when there was no answer at all.
        const r = err as { status?: unknown; headers?: Headers; message?: string };
        if (typeof r.status !== 'number') throw new RetryableError(`${where} failed: ${r.message ?? String(err)}; will retry`, 'pagerduty', true);
        status = r.status;
        headers = r.headers ?? null;
      }
      const remaining = headers?.get('ratelimit-remaining');
      if (remaining !== null && remaining !== undefined && remaining !== '') counter.rateLimitRemaining = Number(remaining);
      if (status >= 200 && status < 300) {
        const parsed = parse.safeParse(body);
        if (!parsed.success) {
          throw new SourceError(`${where} answered a shape kr-tracker does not understand: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'pagerduty', false, status);
        }
        return parsed.data;
      }
      const detail = describeError(body);
      const why = detail ? ` (${detail})` : '';
      if (status === 401 || status === 403) {
        throw new SourceError(
          `${where} answered ${status}${why}: the API key is ${status === 401 ? 'missing or invalid' : 'not allowed to read incidents'}; set sources.pagerduty.token (e.g. \${PAGERDUTY_TOKEN}) to a PagerDuty REST API key with read access to incidents (a read-only API key is enough)`,
          'pagerduty',
          false,
          status,
        );
      }
      if (status === 429) {
        const reset = Number(headers?.get('ratelimit-reset'));
        const retryAfter = Number(headers?.get('retry-after'));
        const seconds = Number.isFinite(reset) && reset > 0 ? reset : Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 60;
        const resetAt = o.now() + seconds * 1000;
        throw new RateLimitError(`${where}: rate limit exceeded until ${new Date(resetAt).toISOString()}${why}`, 'pagerduty', resetAt);
      }
      if (status >= 500) throw new RetryableError(`${where} answered ${status}${why}; will retry`, 'pagerduty', true, status);
      throw new SourceError(`${where} answered ${status}${why}`, 'pagerduty', false, status);
    }
  };
}

type Get = ReturnType<typeof createClient>;

function sameEvent(a: IncidentEvent, b: IncidentEvent): boolean {
  return a.createdAt === b.createdAt && a.resolvedAt === b.resolvedAt && a.acknowledgedAt === b.acknowledgedAt && a.urgency === b.urgency && a.status === b.status;
}

export function createPagerDutyConnector(opts: PagerDutyConnectorOptions): Connector {
  const historyMs = opts.historyMs ?? 180 * DAY_MS;
  const settleMs = opts.settleMs ?? 7 * DAY_MS;
  const pageLimit = Math.min(opts.pageLimit ?? 100, 100);
  const offsetLimit = opts.offsetLimit ?? 10_000;
  const logMarginMs = opts.logMarginMs ?? 60 * 60_000;
  const { store, logger } = opts;
  let client: Get | null = null;

  const clientOf = (): Get => {
    const token = opts.source.token;
    if (!token) {
      throw new SourceError(
        'sources.pagerduty.token is not set: set it (e.g. token: ${PAGERDUTY_TOKEN}) to a PagerDuty REST API key with read access to incidents (a read-only API key is enough)',
        'pagerduty',
        false,
      );
    }
    client ??= createClient({
      baseUrl: opts.source.baseUrl,
      token: token.reveal(),
      logger,
      now: opts.now,
      retryBaseMs: opts.retryBaseMs ?? 1000,
      maxRetries: opts.maxRetries ?? 3,
      timeoutMs: opts.requestTimeoutMs ?? 30_000,
      sleep: opts.sleep ?? realSleep,
    });
    return client;
  };

  /**
   * The account's log entries in [since, until), newest first, in windows of at most 180 days
   * (halved while one holds more than offset paging reaches), summarized per incident into `out`.
   */
  const readLog = async (get: Get, counter: Counter, out: Map<string, LogSummary>, since: number, until: number): Promise<void> => {
    const add = (id: string, type: string, at: number) => {
      const isAck = ACK_TYPES.has(type);
      if (!isAck && type !== 'resolve_log_entry' && type !== 'unacknowledge_log_entry') return;
      let s = out.get(id);
      if (!s) out.set(id, (s = { ack: null, resolve: null, lastStatus: null, lastStatusAt: -Infinity }));
      if (isAck && (s.ack === null || at < s.ack)) s.ack = at;
      if (type === 'resolve_log_entry' && (s.resolve === null || at < s.resolve)) s.resolve = at;
      if (type !== 'resolve_log_entry' && at >= s.lastStatusAt) {
        s.lastStatus = isAck ? 'acknowledged' : 'triggered';
        s.lastStatusAt = at;
      }
    };
    // The 180-day windows are independent (summaries merge whatever the order): read together.
    const windows: [number, number][] = [];
    for (let hi = until; hi > since; hi -= MAX_RANGE_MS) windows.push([Math.max(since, hi - MAX_RANGE_MS), hi]);
    await mapPool(windows, LOG_WINDOWS_IN_FLIGHT, ([wLo, wHi]) => readWindow(get, counter, add, wLo, wHi));
  };

  /** One window [since, until), newest first, halved while it holds more than offset paging reaches. */
  const readWindow = async (get: Get, counter: Counter, add: (id: string, type: string, at: number) => void, since: number, until: number): Promise<void> => {
    let hi = until;
    while (hi > since) {
      let lo = Math.max(since, hi - MAX_RANGE_MS);
      let offset = 0;
      for (;;) {
        const page = await get(
          counter,
          '/log_entries',
          { since: iso(lo), until: iso(hi), offset: String(offset), limit: String(Math.min(pageLimit, offsetLimit - offset)), total: 'true', is_overview: 'true', time_zone: 'UTC' },
          LogEntryPage,
        );
        if (offset === 0 && typeof page.total === 'number' && page.total > offsetLimit) {
          // More entries than offset paging can reach: the newer half of the window first.
          const mid = hi - Math.floor((hi - lo) / 2);
          if (hi - mid < 1000) throw new SourceError(`PagerDuty lists more than ${offsetLimit} log entries within one second (${iso(lo)}); cannot page through them`, 'pagerduty', false);
          lo = mid;
          continue;
        }
        for (const e of page.log_entries) if (e.incident?.id) add(e.incident.id, e.type, Date.parse(e.created_at));
        if (!page.more || page.log_entries.length === 0) break;
        offset += page.log_entries.length;
        if (offset + 1 > offsetLimit) throw new SourceError(`PagerDuty log entries of ${iso(lo)}..${iso(hi)} pass the ${offsetLimit} offset limit without a total to split by`, 'pagerduty', false);
      }
      hi = lo;
    }
  };

  /**
   * The account's log entries are the same for every service: what one sync read is kept for the
   * next (the services of a config sync one after the other), which reads only what came since
   * (from a margin before). Merging summaries is idempotent, so ranges may overlap.
   */
  let logCache: { since: number; until: number; map: Map<string, LogSummary> } | null = null;
  let logLock: Promise<unknown> = Promise.resolve();
  const accountLog = (get: Get, counter: Counter, since: number, until: number): Promise<Map<string, LogSummary>> => {
    const run = async () => {
      if (logCache === null || logCache.since > since || logCache.since < until - historyMs - 30 * DAY_MS) {
        const map = new Map<string, LogSummary>();
        await readLog(get, counter, map, since, until);
        logCache = { since, until, map };
      } else if (logCache.until < until) {
        await readLog(get, counter, logCache.map, Math.max(logCache.since, logCache.until - logMarginMs), until);
        logCache.until = until;
      }
      return logCache.map;
    };
    const p = logLock.then(run, run);
    logLock = p.catch(() => undefined);
    return p;
  };

  /**
   * One listing of the incidents of every configured service over [since, until), shared by the
   * services' walks over the same window (the services of a config sync together, with one clock),
   * kept a minute at most. Halved while it holds more than offset paging reaches.
   */
  const services = opts.services && new Set(opts.services).size > 1 ? [...new Set(opts.services)].sort() : null;
  const windows = new Map<string, { at: number; incidents: Promise<ApiIncident[]> }>();
  const WINDOW_TTL_MS = 60_000;
  const listWindow = (get: Get, counter: Counter, since: number, until: number): Promise<ApiIncident[]> => {
    const t = Date.now();
    for (const [k, v] of windows) if (t - v.at >= WINDOW_TTL_MS) windows.delete(k);
    const key = `${since}|${until}`;
    const hit = windows.get(key);
    if (hit) return hit.incidents;
    const read = async (lo: number, hi: number): Promise<ApiIncident[]> => {
      const out: ApiIncident[] = [];
      for (let offset = 0; ; ) {
        const page = await get(
          counter,
          '/incidents',
          {
            'service_ids[]': services ?? [],
            since: iso(lo),
            until: iso(hi),
            offset: String(offset),
            limit: String(Math.min(pageLimit, offsetLimit - offset)),
            total: 'true',
            sort_by: 'created_at:asc',
            time_zone: 'UTC',
          },
          IncidentPage,
        );
        if (offset === 0 && typeof page.total === 'number' && page.total > offsetLimit) {
          const mid = lo + Math.floor((hi - lo) / 2);
          if (mid - lo < 1000) throw new SourceError(`PagerDuty lists more than ${offsetLimit} incidents of services ${services?.join(', ')} within one second; cannot page through them`, 'pagerduty', false);
          return [...(await read(lo, mid)), ...(await read(mid, hi))];
        }
        out.push(...page.incidents);
        if (!page.more || page.incidents.length === 0) return out;
        offset += page.incidents.length;
        if (offset + 1 > offsetLimit) throw new SourceError(`PagerDuty incidents of ${iso(lo)}..${iso(hi)} pass the ${offsetLimit} offset limit without a total to split by`, 'pagerduty', false);
      }
    };
    const incidents = read(since, until);
    windows.set(key, { at: t, incidents });
    incidents.catch(() => windows.delete(key));
    return incidents;
  };

  async function syncService(serviceId: string): Promise<SyncReport> {
    const get = clientOf();
    const stream = incidentsStream(serviceId);
    const counter: Counter = { requests: 0, rateLimitRemaining: null };
    let stored = 0;
    const known = new Map((await store.getEvents('incident', serviceId)).map((e) => [e.id, e]));

    const cursor: IncidentsCursor = (await store.getCursor<IncidentsCursor>(stream)) ?? { syncedTo: null, walk: null };
    const logState = cursor.log ?? { syncedTo: null, pendingAck: {} };
    let walk = cursor.walk;
    const end = walk?.end ?? opts.now();
    const floor = end - historyMs;

    // The log entries since the last sync (a margin before it), read before the incidents so that
    // each listed incident takes its times from them. A sync that died midway reads them again.
    const logUntil = Math.max(end, opts.now());
    const logSince = logState.syncedTo === null ? floor : Math.max(floor, logState.syncedTo - logMarginMs);
    const log = logSince < logUntil ? await accountLog(get, counter, logSince, logUntil) : new Map<string, LogSummary>();
    const pendingAck: Record<string, number> = { ...logState.pendingAck };
    const firstAck = (id: string, ...xs: (number | null | undefined)[]): number | null => {
      const all = [...xs, log.get(id)?.ack, pendingAck[id]].filter((x): x is number => typeof x === 'number');
      return all.length === 0 ? null : Math.min(...all);
    };

    /** The event for a listed incident; null when unchanged. */
    const toEvent = (inc: ApiIncident): IncidentEvent | null => {
      const prev = known.get(inc.id);
      const resolved = inc.status === 'resolved';
      let resolvedAt = resolved && inc.resolved_at ? Date.parse(inc.resolved_at) : null;
      let acknowledgedAt = prev?.acknowledgedAt ?? null;
      if (resolved && prev?.status === 'resolved') {
        // Resolved is final: what we stored then still holds.
        resolvedAt ??= prev.resolvedAt;
      } else if ((resolved && (acknowledgedAt === null || resolvedAt === null)) || (inc.status === 'acknowledged' && acknowledgedAt === null)) {
        // A newly resolved incident may have been acknowledged (the incident object no longer
        // lists acknowledgements once resolved), and `resolved_at` may be missing.
        acknowledgedAt = firstAck(inc.id, acknowledgedAt);
        if (resolved) resolvedAt ??= log.get(inc.id)?.resolve ?? null;
      }
      const event: IncidentEvent = { service: serviceId, id: inc.id, createdAt: Date.parse(inc.created_at), resolvedAt, acknowledgedAt, urgency: inc.urgency, status: inc.status };
      return prev && sameEvent(prev, event) ? null : event;
    };

    /** Remembers the acknowledgements of incidents left open without one (acknowledged, then unacknowledged). */
    const notePending = (events: IncidentEvent[]) => {
      for (const e of events) {
        const ack = log.get(e.id)?.ack;
        if (e.status === 'resolved' || e.acknowledgedAt !== null) delete pendingAck[e.id];
        else if (typeof ack === 'number') pendingAck[e.id] = Math.min(ack, pendingAck[e.id] ?? ack);
      }
    };
    const logDone = (): NonNullable<IncidentsCursor['log']> => ({
      syncedTo: logUntil,
      pendingAck: Object.fromEntries(Object.entries(pendingAck).filter(([id]) => known.get(id)?.status !== 'resolved' && (known.get(id)?.createdAt ?? -Infinity) >= floor)),
    });

    if (walk === null) {
      // Later syncs list again what was created in the settle margin before the last one, where
      // most acknowledgements and resolutions happen.
      const since = cursor.syncedTo === null ? floor : Math.max(floor, Math.min(cursor.syncedTo - settleMs, end));
      walk = { end, since, until: Math.min(since + MAX_RANGE_MS, end), offset: 0 };

      // Incidents still open but created before that: the log entries say whether they were
      // acknowledged or resolved since, cheaper than listing every incident back to them.
      const changed: IncidentEvent[] = [];
      for (const prev of known.values()) {
        if (prev.status === 'resolved' || prev.createdAt >= since) continue;
        const s = log.get(prev.id);
        if (!s) continue;
        const status = s.resolve !== null ? 'resolved' : (s.lastStatus ?? prev.status);
        const event: IncidentEvent = { ...prev, status, resolvedAt: s.resolve ?? prev.resolvedAt, acknowledgedAt: firstAck(prev.id, prev.acknowledgedAt) };
        if (!sameEvent(prev, event)) changed.push(event);
      }
      if (changed.length > 0) {
        await store.putEvents(stream, 'incident', serviceId, changed);
        for (const e of changed) known.set(e.id, e);
        notePending(changed);
        stored += changed.length;
      }
    }

    while (services?.includes(serviceId) && walk.since < walk.end) {
      // The window's incidents from the listing of every service, this service's kept.
      const w: NonNullable<IncidentsCursor['walk']> = walk;
      const listed = await listWindow(get, counter, w.since, w.until);
      const noService = listed.find((i) => !i.service?.id);
      if (noService) throw new SourceError(`PagerDuty GET /incidents listed incident ${noService.id} without its service; cannot tell which service it belongs to`, 'pagerduty', false);
      const events = listed.filter((i) => i.service?.id === serviceId).map(toEvent).filter((e): e is IncidentEvent => e !== null);
      notePending(events);
      const next = { end: w.end, since: w.until, until: Math.min(w.until + MAX_RANGE_MS, w.end), offset: 0 };
      const done = next.since >= next.end;
      const nextCursor: IncidentsCursor = done ? { syncedTo: w.end, walk: null, log: logDone() } : { syncedTo: cursor.syncedTo, walk: next, log: logState };
      await store.putEvents(stream, 'incident', serviceId, events, nextCursor);
      for (const e of events) known.set(e.id, e);
      stored += events.length;
      walk = next;
    }

    while (walk.since < walk.end) {
      const w: NonNullable<IncidentsCursor['walk']> = walk;
      const page = await get(
        counter,
        '/incidents',
        {
          'service_ids[]': [serviceId],
          since: iso(w.since),
          until: iso(w.until),
          offset: String(w.offset),
          limit: String(Math.min(pageLimit, offsetLimit - w.offset)),
          total: 'true',
          sort_by: 'created_at:asc',
          time_zone: 'UTC',
        },
        IncidentPage,
      );
      if (w.offset === 0 && typeof page.total === 'number' && page.total > offsetLimit) {
        // More incidents than offset paging can reach: halve the window and ask again.
        const mid = w.since + Math.floor((w.until - w.since) / 2);
        if (mid - w.since < 1000) throw new SourceError(`PagerDuty lists more than ${offsetLimit} incidents of service ${serviceId} within one second; cannot page through them`, 'pagerduty', false);
        walk = { ...w, until: mid };
        continue;
      }
      const events = page.incidents.map(toEvent).filter((e): e is IncidentEvent => e !== null);
      notePending(events);
      let next: NonNullable<IncidentsCursor['walk']>;
      const last = page.incidents[page.incidents.length - 1];
      if (page.more && page.incidents.length > 0 && w.offset + page.incidents.length + 1 <= offsetLimit) {
        next = { ...w, offset: w.offset + page.incidents.length };
      } else if (page.more && last && Date.parse(last.created_at) > w.since) {
        // Without `total` the split could not be planned: go on from the last incident's time
        // (the re-read incidents of that second are unchanged and not stored again).
        next = { ...w, since: Date.parse(last.created_at), offset: 0 };
      } else {
        const since = w.until;
        next = { end: w.end, since, until: Math.min(since + MAX_RANGE_MS, w.end), offset: 0 };
      }
      const done = next.since >= next.end;
      const nextCursor: IncidentsCursor = done ? { syncedTo: w.end, walk: null, log: logDone() } : { syncedTo: cursor.syncedTo, walk: next, log: logState };
      await store.putEvents(stream, 'incident', serviceId, events, nextCursor);
      for (const e of events) known.set(e.id, e);
      stored += events.length;
      walk = next;
    }
    // Also completes a walk that had nothing to list (since = end).
    if (walk.since >= walk.end) await store.setCursor(stream, { syncedTo: walk.end, walk: null, log: logDone() } satisfies IncidentsCursor);

    logger.debug({ service: serviceId, requests: counter.requests, stored }, 'PagerDuty incidents synced');
    return { stream, requests: counter.requests, notModified: 0, stored, rateLimitRemaining: counter.rateLimitRemaining };
  }

  return {
    source: 'pagerduty',
    async sync(stream: StreamKey): Promise<SyncReport> {
      if (stream.stream === 'incidents') return syncService(stream.key);
      throw new Error(`pagerduty connector has no stream "${stream.stream}"`);
    },
  };
}
