// Months of PagerDuty incidents for the simulator (connectors/pagerduty/sim/server.ts): per service
// incidents with their log entries, as PagerDuty records them. Deterministic for a seed.
//
// What the generator guarantees (tests and the demo rely on it):
// - incidents are created in [from, to] (second precision, as PagerDuty's timestamps), more on
//   weekdays and in working hours; each service has its own rate (`incidentsPerDay` on average).
// - every incident's log entries are stored oldest first and start with its `trigger_log_entry` at
//   `created_at`; then notifications, escalations, acknowledgements and at most one resolve.
//   Entries may lie after `to`: the simulator shows an incident as it was at its clock's `now`,
//   so incidents created shortly before `to` are still open there and resolve as the clock moves.
// - ~10% are never acknowledged (resolved by the monitoring tool, agent a service); ~5% are
//   acknowledged, unacknowledged when the acknowledgement times out, then acknowledged again (the
//   first `acknowledge_log_entry` is what time_to_acknowledge measures); ~1% are never resolved.
// - ~1% are noisy: more than 100 notification entries, so their log entries take several pages.
// - acknowledgement takes minutes (high urgency median ~4 min, low ~25 min) and restoring takes
//   tens of minutes to hours (high ~45 min, low ~2 h after the acknowledgement); both improve over
//   the period to about half at `to`.
// - ~65% are high urgency. incident_number increases with created_at across all services.
// - special cases: the first service has a high-urgency incident created 20 minutes before `to`,
//   acknowledged 3 minutes later and resolved 60 minutes after `to`; the last service one created
//   5 minutes before `to`, acknowledged 10 minutes and resolved ~2 hours after `to`.
import { createHash } from 'node:crypto';
import { createRandom, type Random } from '../../sim/random.js';
import { DAY, HOUR, MIN, SEC } from '../../sim/time.js';

export type Urgency = 'high' | 'low';

export type SimLogEntryType =
  | 'trigger_log_entry'
  | 'notify_log_entry'
  | 'escalate_log_entry'
  | 'assign_log_entry'
  | 'acknowledge_log_entry'
  | 'unacknowledge_log_entry'
  | 'annotate_log_entry'
  | 'resolve_log_entry';

export interface SimAgent {
  id: string;
  type: 'user_reference' | 'service_reference';
  summary: string;
}

export interface SimLogEntry {
  id: string;
  type: SimLogEntryType;
  /** Second precision, `Z`. */
  created_at: string;
  agent: SimAgent;
  /** channel[type]: `api`, `auto`, `timeout` (service agents); `sms`, `website`, `web_trigger` (users); `notification`. */
  channel: string;
  /** The user a notify/assign entry is about. */
  user?: SimAgent;
  note?: string;
}

export interface SimIncident {
  id: string;
  incident_number: number;
  title: string;
  service_id: string;
  urgency: Urgency;
  created_at: string;
  incident_key: string;
  /** Oldest first; the first is the trigger_log_entry at created_at. */
  log_entries: SimLogEntry[];
}

export interface SimService {
  id: string;
  name: string;
  escalation_policy: { id: string; name: string };
  team: { id: string; name: string };
}

export interface SimUser {
  id: string;
  name: string;
  email: string;
}

export interface PagerDutyDataset {
  seed: number;
  from: string;
  to: string;
  /** The account's subdomain, for html_url: https://<subdomain>.pagerduty.com/... */
  subdomain: string;
  services: SimService[];
  users: SimUser[];
  /** Ordered by (created_at, incident_number). */
  incidents: SimIncident[];
}

export interface GeneratePagerDutyDatasetOptions {
  seed: number;
  /** PagerDuty service ids, e.g. `PSVC0PA`. */
  services: string[];
  from: Date;
  to: Date;
  /** Average incidents a day per service (default 3; each service gets 0.6x-1.4x of it). */
  incidentsPerDay?: number;
}

const SERVICE_NAMES = ['Payments API', 'Checkout', 'Search', 'Notifications', 'Identity', 'Inventory', 'Shipping', 'Reporting'];
const USER_NAMES = ['Amara Okafor', 'Bartek Kowalski', 'Chen Wei', 'Dmitri Volkov', 'Esther Mensah', 'Farid Karimi', 'Gloria Santos', 'Hiro Tanaka'];
const PROBLEMS = [
  'High error rate on',
  'Latency p99 above SLO on',
  'Disk usage above 90% on',
  'Health check failing for',
  'Queue backlog growing on',
  'Certificate expiring for',
  'Pod restarts on',
  'Database connections exhausted on',
  '5xx spike on',
  'Synthetic check failing for',
];

/** PagerDuty's timestamp format: second precision, `Z`. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / SEC) * SEC).toISOString().replace('.000Z', 'Z');
}

/** A PagerDuty-looking id: a letter then upper-case base-36 characters, derived from a label. */
export function pdId(prefix: string, length: number, label: string): string {
  const hex = createHash('sha1').update(label).digest('hex');
  return (prefix + BigInt(`0x${hex}`).toString(36).toUpperCase()).slice(0, length).padEnd(length, '0');
}

function normal(r: Random): number {
  const u = Math.max(r.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
}

/** Log-normal with the given median and spread. */
function logNormal(r: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(r));
}

interface Draft {
  serviceIndex: number;
  createdMs: number;
  urgency: Urgency;
  title: string;
  /** Log entries without id and time (those are in entryMs, parallel). */
  entries: Omit<SimLogEntry, 'id' | 'created_at'>[];
  entryMs: number[];
}

/** Generates the dataset. Same options, same dataset. */
export function generatePagerDutyDataset(opts: GeneratePagerDutyDatasetOptions): PagerDutyDataset {
  const fromMs = opts.from.getTime();
  const toMs = opts.to.getTime();
  if (!(toMs > fromMs)) throw new Error('generatePagerDutyDataset: `to` must be after `from`');
  if (opts.services.length === 0) throw new Error('generatePagerDutyDataset: no services');
  const root = createRandom(opts.seed >>> 0);
  const users: SimUser[] = USER_NAMES.map((name, i) => ({
    id: pdId('P', 7, `user:${opts.seed}:${i}`),
    name,
    email: `${name.toLowerCase().replace(/\s+/g, '.')}@example.com`,
  }));
  const services: SimService[] = opts.services.map((id, i) => ({
    id,
    name: SERVICE_NAMES[i % SERVICE_NAMES.length] + (i >= SERVICE_NAMES.length ? ` ${Math.floor(i / SERVICE_NAMES.length) + 1}` : ''),
    escalation_policy: { id: pdId('P', 7, `ep:${id}`), name: `${SERVICE_NAMES[i % SERVICE_NAMES.length]} on-call` },
    team: { id: pdId('P', 7, `team:${id}`), name: `Team ${SERVICE_NAMES[i % SERVICE_NAMES.length]}` },
  }));

  const drafts: Draft[] = [];
  services.forEach((svc, serviceIndex) => {
    const r = root.fork(`service:${svc.id}`);
    const rate = (opts.incidentsPerDay ?? 3) * r.float(0.6, 1.4);
    const oncall = [r.pick(users), r.pick(users), r.pick(users)];
    for (let day = Math.floor(fromMs / DAY) * DAY; day < toMs; day += DAY) {
      const weekday = new Date(day).getUTCDay();
      const weekend = weekday === 0 || weekday === 6;
      const n = r.poisson(rate * (weekend ? 0.5 : 1.2));
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        // Working hours (08-20 UTC) see two thirds of the incidents.
        const ms = r.chance(0.66) ? day + 8 * HOUR + r.float(0, 12 * HOUR) : day + r.float(0, DAY);
        const at = Math.floor(ms / SEC) * SEC;
        if (at >= fromMs && at <= toMs) times.push(at);
      }
      times.sort((a, b) => a - b);
      for (const createdMs of times) drafts.push(lifecycle(r, serviceIndex, svc, createdMs, (createdMs - fromMs) / (toMs - fromMs), oncall));
    }
    // Two incidents every test can count on around `to`: acknowledged but open at `to`, and just
    // triggered at `to`; both are acknowledged and resolved within hours after it.
    if (serviceIndex === 0 || serviceIndex === services.length - 1) {
      const user = userRef(oncall[0] as SimUser);
      const atTo = (createdBefore: number, ackAfter: number, resolveAfter: number): Draft => {
        const createdMs = Math.max(fromMs, Math.floor((toMs - createdBefore) / SEC) * SEC);
        return {
          serviceIndex,
          createdMs,
          urgency: 'high',
          title: `${PROBLEMS[0]} ${svc.name}`,
          entries: [
            { type: 'trigger_log_entry', agent: serviceRef(svc), channel: 'api' },
            { type: 'notify_log_entry', agent: serviceRef(svc), channel: 'notification', user },
            { type: 'acknowledge_log_entry', agent: user, channel: 'sms' },
            { type: 'resolve_log_entry', agent: user, channel: 'web_trigger' },
          ],
          entryMs: [createdMs, createdMs + 2 * SEC, createdMs + ackAfter, createdMs + resolveAfter],
        };
      };
      if (serviceIndex === 0) drafts.push(atTo(20 * MIN, 3 * MIN, 80 * MIN));
      if (serviceIndex === services.length - 1) drafts.push(atTo(5 * MIN, 15 * MIN, 2 * HOUR));
    }
  });

  drafts.sort((a, b) => a.createdMs - b.createdMs || a.serviceIndex - b.serviceIndex);
  const incidents = drafts.map((d, i) => materialize(opts.seed, services, d, 1000 + i));
  return { seed: opts.seed, from: isoSeconds(fromMs), to: isoSeconds(toMs), subdomain: 'acme', services, users, incidents };
}

function userRef(u: SimUser): SimAgent {
  return { id: u.id, type: 'user_reference', summary: u.name };
}

function serviceRef(s: SimService): SimAgent {
  return { id: s.id, type: 'service_reference', summary: s.name };
}

/** One incident's life: trigger, notifications, escalations, acknowledgements, resolve. */
function lifecycle(r: Random, serviceIndex: number, svc: SimService, createdMs: number, progress: number, oncall: SimUser[]): Draft {
  const urgency: Urgency = r.chance(0.65) ? 'high' : 'low';
  const improve = 1 - 0.5 * Math.min(Math.max(progress, 0), 1);
  const entries: Draft['entries'] = [];
  const entryMs: number[] = [];
  const add = (ms: number, e: Draft['entries'][number]) => {
    entries.push(e);
    entryMs.push(Math.floor(ms / SEC) * SEC);
  };
  const first = oncall[0] as SimUser;
  const second = oncall[1] as SimUser;
  add(createdMs, { type: 'trigger_log_entry', agent: serviceRef(svc), channel: 'api' });
  add(createdMs + 1 * SEC, { type: 'assign_log_entry', agent: serviceRef(svc), channel: 'auto', user: userRef(first) });
  add(createdMs + 2 * SEC, { type: 'notify_log_entry', agent: serviceRef(svc), channel: 'notification', user: userRef(first) });

  const neverAcked = r.chance(0.1);
  const neverResolved = r.chance(0.01);
  const noisy = r.chance(0.01);
  const flapping = !neverAcked && r.chance(0.05);
  let t = createdMs;

  if (noisy) {
    // A page that keeps re-notifying every minute before anyone answers.
    const n = r.int(105, 160);
    for (let i = 0; i < n; i++) add(createdMs + (3 + i) * MIN, { type: 'notify_log_entry', agent: serviceRef(svc), channel: 'notification', user: userRef(first) });
    t = createdMs + (3 + n) * MIN;
  }

  if (neverAcked) {
    // Resolved by the monitoring tool when the check recovered.
    const restore = Math.max(2 * MIN, logNormal(r, 12 * MIN * improve, 0.8));
    if (!neverResolved) add(Math.max(t, createdMs + restore) + SEC, { type: 'resolve_log_entry', agent: serviceRef(svc), channel: 'auto' });
  } else {
    const ackMedian = (urgency === 'high' ? 4 * MIN : 25 * MIN) * improve;
    let ackMs = Math.max(t, createdMs) + Math.max(20 * SEC, logNormal(r, ackMedian, 0.9));
    if (ackMs - createdMs > 15 * MIN) {
      add(createdMs + 15 * MIN, { type: 'escalate_log_entry', agent: serviceRef(svc), channel: 'timeout', user: userRef(second) });
      add(createdMs + 15 * MIN + SEC, { type: 'notify_log_entry', agent: serviceRef(svc), channel: 'notification', user: userRef(second) });
    }
    const acker = ackMs - createdMs > 15 * MIN && r.chance(0.5) ? second : first;
    add(ackMs, { type: 'acknowledge_log_entry', agent: userRef(acker), channel: r.pick(['website', 'sms', 'web_trigger']) });
    if (flapping) {
      // The acknowledgement timed out (30 min) and someone acknowledged again.
      add(ackMs + 30 * MIN, { type: 'unacknowledge_log_entry', agent: serviceRef(svc), channel: 'timeout' });
      add(ackMs + 30 * MIN + SEC, { type: 'notify_log_entry', agent: serviceRef(svc), channel: 'notification', user: userRef(acker) });
      ackMs = ackMs + 30 * MIN + r.float(1, 10) * MIN;
      add(ackMs, { type: 'acknowledge_log_entry', agent: userRef(acker), channel: 'sms' });
    }
    if (r.chance(0.3)) add(ackMs + r.float(1, 5) * MIN, { type: 'annotate_log_entry', agent: userRef(acker), channel: 'web_trigger', note: 'Looking into it' });
    const restoreMedian = (urgency === 'high' ? 45 * MIN : 2 * HOUR) * improve;
    const restore = Math.min(2 * DAY, Math.max(5 * MIN, logNormal(r, restoreMedian, 0.9)));
    if (!neverResolved) add(ackMs + restore, { type: 'resolve_log_entry', agent: userRef(acker), channel: 'web_trigger' });
  }
  const title = `${r.pick(PROBLEMS)} ${svc.name}`;
  return { serviceIndex, createdMs, urgency, title, entries, entryMs };
}

function materialize(seed: number, services: SimService[], d: Draft, number: number): SimIncident {
  const svc = services[d.serviceIndex] as SimService;
  const id = pdId('Q', 14, `incident:${seed}:${number}`);
  // Entries are generated in order except the odd annotation; keep them oldest first.
  const order = d.entries.map((_, i) => i).sort((a, b) => (d.entryMs[a] as number) - (d.entryMs[b] as number) || a - b);
  return {
    id,
    incident_number: number,
    title: d.title,
    service_id: svc.id,
    urgency: d.urgency,
    created_at: isoSeconds(d.createdMs),
    incident_key: createHash('md5').update(`key:${seed}:${number}`).digest('hex'),
    log_entries: order.map((i, k) => ({
      id: pdId('R', 26, `log:${seed}:${number}:${k}`),
      created_at: isoSeconds(d.entryMs[i] as number),
      ...(d.entries[i] as Draft['entries'][number]),
    })),
  };
}

/** An incident as it was at `at`: its log entries up to then and what they make of it. */
export interface IncidentState {
  status: 'triggered' | 'acknowledged' | 'resolved';
  /** created_at of the resolve entry, when resolved by `at`. */
  resolvedAt: number | null;
  /** created_at of the first acknowledge entry up to `at`. */
  firstAcknowledgedAt: number | null;
  /** The current acknowledgement (status acknowledged): its time and who. */
  acknowledgement: { at: number; by: SimAgent } | null;
  lastStatusChange: { at: number; by: SimAgent };
  updatedAt: number;
  entries: SimLogEntry[];
}

/** The incident's state at `at`; null when it was created after `at`. */
export function incidentStateAt(inc: SimIncident, at: number): IncidentState | null {
  const createdMs = Date.parse(inc.created_at);
  if (createdMs > at) return null;
  const entries = inc.log_entries.filter((e) => Date.parse(e.created_at) <= at);
  const trigger = entries[0] as SimLogEntry;
  let status: IncidentState['status'] = 'triggered';
  let resolvedAt: number | null = null;
  let firstAcknowledgedAt: number | null = null;
  let acknowledgement: IncidentState['acknowledgement'] = null;
  let lastStatusChange = { at: createdMs, by: trigger.agent };
  let updatedAt = createdMs;
  for (const e of entries) {
    const ms = Date.parse(e.created_at);
    updatedAt = Math.max(updatedAt, ms);
    if (status === 'resolved') continue;
    if (e.type === 'acknowledge_log_entry') {
      status = 'acknowledged';
      firstAcknowledgedAt ??= ms;
      acknowledgement = { at: ms, by: e.agent };
      lastStatusChange = { at: ms, by: e.agent };
    } else if (e.type === 'unacknowledge_log_entry') {
      status = 'triggered';
      acknowledgement = null;
      lastStatusChange = { at: ms, by: e.agent };
    } else if (e.type === 'resolve_log_entry') {
      status = 'resolved';
      resolvedAt = ms;
      acknowledgement = null;
      lastStatusChange = { at: ms, by: e.agent };
    }
  }
  return { status, resolvedAt, firstAcknowledgedAt, acknowledgement, lastStatusChange, updatedAt, entries };
}

export function findIncident(dataset: PagerDutyDataset, id: string): SimIncident | undefined {
  return dataset.incidents.find((i) => i.id === id);
}

export interface NewIncident {
  service_id: string;
  /** epoch ms */
  created_at: number;
  urgency?: Urgency;
  title?: string;
}

/** Adds an incident (just triggered) to a running simulator's dataset, with the next number. */
export function applyNewIncident(dataset: PagerDutyDataset, input: NewIncident): SimIncident {
  const svc = dataset.services.find((s) => s.id === input.service_id);
  if (!svc) throw new Error(`applyNewIncident: no service ${input.service_id}`);
  const number = dataset.incidents.reduce((m, i) => Math.max(m, i.incident_number), 999) + 1;
  const id = pdId('Q', 14, `incident:${dataset.seed}:${number}`);
  const inc: SimIncident = {
    id,
    incident_number: number,
    title: input.title ?? `Manual incident on ${svc.name}`,
    service_id: svc.id,
    urgency: input.urgency ?? 'high',
    created_at: isoSeconds(input.created_at),
    incident_key: createHash('md5').update(`key:${dataset.seed}:${number}`).digest('hex'),
    log_entries: [{ id: pdId('R', 26, `log:${dataset.seed}:${number}:0`), type: 'trigger_log_entry', created_at: isoSeconds(input.created_at), agent: serviceRef(svc), channel: 'api' }],
  };
  dataset.incidents.push(inc);
  dataset.incidents.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.incident_number - b.incident_number);
  return inc;
}

/** Appends a log entry (acknowledge, resolve, ...) at `at` (epoch ms) to an incident. */
export function applyLogEntry(dataset: PagerDutyDataset, incidentId: string, type: SimLogEntryType, at: number): SimLogEntry {
  const inc = findIncident(dataset, incidentId);
  if (!inc) throw new Error(`applyLogEntry: no incident ${incidentId}`);
  const svc = dataset.services.find((s) => s.id === inc.service_id) as SimService;
  const user = dataset.users[0] as SimUser;
  const byUser = type === 'acknowledge_log_entry' || type === 'resolve_log_entry' || type === 'annotate_log_entry';
  const e: SimLogEntry = {
    id: pdId('R', 26, `log:${dataset.seed}:${inc.incident_number}:${inc.log_entries.length}:${at}`),
    type,
    created_at: isoSeconds(at),
    agent: byUser ? userRef(user) : serviceRef(svc),
    channel: byUser ? 'web_trigger' : 'auto',
  };
  inc.log_entries.push(e);
  inc.log_entries.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
  return e;
}
