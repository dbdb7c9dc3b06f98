// The PagerDuty incidents connector against the simulated REST API (in-process) and a real Redis
// store: what it stores, the metrics read from it, incremental syncs, splitting, failures.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPagerDutyConnector, incidentsStream, type IncidentsCursor, type PagerDutyConnectorOptions } from '../connectors/pagerduty/index.js';
import { applyLogEntry, applyNewIncident, generatePagerDutyDataset, type PagerDutyDataset, type SimIncident } from '../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator, type PagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import { Secret } from '../src/core/secret.js';
import type { Stat } from '../src/metrics/quantile.js';
import { RateLimitError, SourceError } from '../src/core/errors.js';
import { incidentCount } from '../src/metrics/incident-count.js';
import { timeToAcknowledge } from '../src/metrics/time-to-acknowledge.js';
import { timeToRestore } from '../src/metrics/time-to-restore.js';
import type { IncidentEvent } from '../src/core/events.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';
import { crashingStore } from './helpers/crashing-store.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TO = Date.parse('2026-11-25T00:00:00Z');
const HISTORY = 180 * DAY;
const SERVICES = ['PSVC0PA', 'PSVC0CK'];
const TOKEN = 'u+good-pagerduty-key';
const STATS: Stat[] = ['p50', 'p75', 'p90', 'p95', 'p99', 'mean'];
const logger = pino({ level: 'silent' });
const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
let clock = TO;
let dataset: PagerDutyDataset;
let sim: PagerDutySimulator;

beforeAll(async () => {
  dataset = generatePagerDutyDataset({ seed: 11, services: SERVICES, from: new Date(TO - 240 * DAY), to: new Date(TO) });
  sim = await startPagerDutySimulator({ dataset, token: TOKEN, now: () => clock });
});
afterAll(async () => {
  await sim.close();
  await cleanup();
  redis.disconnect();
});

let n = 0;
const freshStore = () => new RedisStore({ redis, prefix: `${prefix}-${n++}` });
const connector = (store: Store, o: Partial<PagerDutyConnectorOptions> & { baseUrl?: string; token?: string | null } = {}) => {
  const { baseUrl, token, ...rest } = o;
  return createPagerDutyConnector({
    source: { baseUrl: baseUrl ?? sim.url, token: token === null ? null : new Secret('PAGERDUTY_TOKEN', token ?? TOKEN) },
    store,
    logger,
    now: () => clock,
    retryBaseMs: 5,
    ...rest,
  });
};

// ----- expectations computed from the dataset alone (not through the connector or src/metrics) -----

interface Expected {
  id: string;
  service: string;
  createdAt: number;
  resolvedAt: number | null;
  acknowledgedAt: number | null;
  urgency: 'high' | 'low';
  status: string;
}

/** An incident as PagerDuty shows it at `at`, read from its raw log entries. */
function expectedAt(i: SimIncident, at: number): Expected {
  const entries = i.log_entries.filter((e) => Date.parse(e.created_at) <= at);
  const firstAck = entries.find((e) => e.type === 'acknowledge_log_entry');
  const resolve = entries.find((e) => e.type === 'resolve_log_entry');
  let status = 'triggered';
  for (const e of entries) {
    if (e.type === 'acknowledge_log_entry') status = 'acknowledged';
    if (e.type === 'unacknowledge_log_entry') status = 'triggered';
    if (e.type === 'resolve_log_entry') break;
  }
  return {
    id: i.id,
    service: i.service_id,
    createdAt: Date.parse(i.created_at),
    resolvedAt: resolve ? Date.parse(resolve.created_at) : null,
    acknowledgedAt: firstAck ? Date.parse(firstAck.created_at) : null,
    urgency: i.urgency,
    status: resolve ? 'resolved' : status,
  };
}

/** Incidents of the services created in [from, to), as they are at `at`. */
function expectedIncidents(services: string[], from: number, to: number, at = clock): Expected[] {
  return dataset.incidents
    .filter((i) => services.includes(i.service_id) && Date.parse(i.created_at) >= from && Date.parse(i.created_at) < to)
    .map((i) => expectedAt(i, at));
}

function type7(values: number[], stat: Stat): number | null {
  if (values.length === 0) return null;
  if (stat === 'mean') return values.reduce((a, b) => a + b, 0) / values.length;
  const xs = [...values].sort((a, b) => a - b);
  const h = (xs.length - 1) * (Number(stat.slice(1)) / 100);
  const lo = Math.floor(h);
  return xs[lo]! + (h - lo) * (xs[Math.min(lo + 1, xs.length - 1)]! - xs[lo]!);
}

const inW = (t: number, at: number, w: number) => t > at - w && t <= at;
const expectedTtr = (xs: Expected[], at: number, w: number, stat: Stat) =>
  type7(xs.filter((x) => x.resolvedAt !== null && inW(x.resolvedAt, at, w)).map((x) => (x.resolvedAt! - x.createdAt) / 1000), stat);
const expectedTta = (xs: Expected[], at: number, w: number, stat: Stat) =>
  type7(xs.filter((x) => x.acknowledgedAt !== null && inW(x.createdAt, at, w)).map((x) => (x.acknowledgedAt! - x.createdAt) / 1000), stat);
const expectedCount = (xs: Expected[], at: number, w: number, urgency: 'high' | 'low' | null) =>
  xs.filter((x) => inW(x.createdAt, at, w) && (urgency === null || x.urgency === urgency)).length;

async function storedOf(store: Store, services: string[]): Promise<IncidentEvent[]> {
  return (await Promise.all(services.map((s) => store.getEvents('incident', s)))).flat();
}

const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));
const requestsSince = (s: PagerDutySimulator, k: number) => s.requests.slice(k);
const listRequests = (rs: PagerDutySimulator['requests']) => rs.filter((r) => r.route === 'GET /incidents');

describe('PagerDuty incidents sync against the simulated REST API', () => {
  const store = freshStore();

  it('stores every incident of the last 180 days of each service once, with the times PagerDuty shows', async () => {
    for (const s of SERVICES) {
      const report = await connector(store).sync(incidentsStream(s));
      const want = expectedIncidents([s], TO - HISTORY, TO);
      expect(want.length).toBeGreaterThan(300);
      expect(report.stored).toBe(want.length);
      const got = await store.getEvents('incident', s);
      expect(byId(got)).toEqual(byId(want));
      const cursor = await store.getCursor<IncidentsCursor>(incidentsStream(s));
      expect(cursor).toMatchObject({ syncedTo: TO, walk: null, log: { syncedTo: TO } });
    }
    const stored = await storedOf(store, SERVICES);
    expect(stored.some((e) => e.status !== 'resolved')).toBe(true);
    expect(stored.some((e) => e.status === 'resolved' && e.acknowledgedAt === null)).toBe(true);
    // Every request was a valid one: no range over 6 months, no offset over the limit.
    expect(sim.requests.every((r) => r.status === 200)).toBe(true);
  });

  it('gives time_to_restore, time_to_acknowledge and incident_count equal to those computed from the dataset', async () => {
    const stored = await storedOf(store, SERVICES);
    const want = expectedIncidents(SERVICES, TO - HISTORY, TO);
    const W = 28 * DAY;
    for (const at of [TO, TO - 30 * DAY, TO - 100 * DAY]) {
      const w = { at, windowMs: W };
      for (const stat of STATS) {
        const ttr = timeToRestore(stored, w, stat);
        const tta = timeToAcknowledge(stored, w, stat);
        expect(ttr).not.toBeNull();
        expect(tta).not.toBeNull();
        expect(ttr).toBeCloseTo(expectedTtr(want, at, W, stat)!, 6);
        expect(tta).toBeCloseTo(expectedTta(want, at, W, stat)!, 6);
      }
      for (const u of [null, 'high', 'low'] as const) expect(incidentCount(stored, w, u)).toBe(expectedCount(want, at, W, u));
      // One service alone, as a KR naming only it would see.
      const one = stored.filter((e) => e.service === 'PSVC0CK');
      expect(timeToRestore(one, w, 'p90')).toBeCloseTo(expectedTtr(want.filter((x) => x.service === 'PSVC0CK'), at, W, 'p90')!, 6);
    }
  });

  it('a second sync adds nothing: it lists the last 7 days again and reads the account\'s log entries of the last hour only', async () => {
    const before = sim.requests.length;
    const storedBefore = byId(await storedOf(store, SERVICES));
    for (const s of SERVICES) {
      const report = await connector(store).sync(incidentsStream(s));
      expect(report.stored).toBe(0);
    }
    expect(byId(await storedOf(store, SERVICES))).toEqual(storedBefore);
    const made = requestsSince(sim, before);
    const lists = listRequests(made);
    expect(lists).toHaveLength(SERVICES.length);
    expect(lists.every((r) => new URL(r.path, 'http://x').searchParams.get('since') === new Date(TO - 7 * DAY).toISOString())).toBe(true);
    // Never-resolved incidents from months ago are watched through the account's log entries since
    // the last sync (an hour's margin), not one request each, nor by listing back to them.
    const oldOpen = storedBefore.filter((e) => e.status !== 'resolved' && e.createdAt < TO - 7 * DAY);
    expect(oldOpen.length).toBeGreaterThan(0);
    expect(made.filter((r) => r.route === 'GET /incidents/{id}/log_entries')).toEqual([]);
    const logReads = made.filter((r) => r.route === 'GET /log_entries');
    expect(logReads).toHaveLength(SERVICES.length);
    expect(logReads.every((r) => new URL(r.path, 'http://x').searchParams.get('since') === new Date(TO - HOUR).toISOString())).toBe(true);
    expect(made.length).toBe(lists.length + logReads.length);
  });

  it('a later sync picks up acknowledgements, resolutions and new incidents since the first', async () => {
    const openBefore = (await storedOf(store, SERVICES)).filter((e) => e.status !== 'resolved');
    expect(openBefore.length).toBeGreaterThan(0);
    const added = applyNewIncident(dataset, { service_id: 'PSVC0PA', created_at: TO + HOUR, urgency: 'low' });
    // A never-resolved incident from months ago, finally resolved: found through its log entries.
    const stuck = openBefore.filter((e) => e.createdAt < TO - 30 * DAY).sort((a, b) => a.createdAt - b.createdAt)[0]!;
    expect(stuck).toBeDefined();
    applyLogEntry(dataset, stuck.id, 'resolve_log_entry', TO + 2 * HOUR);
    clock = TO + 3 * HOUR;
    try {
      for (const s of SERVICES) await connector(store).sync(incidentsStream(s));
      const stored = await storedOf(store, SERVICES);
      const want = expectedIncidents(SERVICES, TO - HISTORY, clock);
      expect(byId(stored)).toEqual(byId(want));
      // The generator's incidents around `to` were open at the first sync and are resolved now.
      const nowResolved = openBefore.filter((e) => stored.find((x) => x.id === e.id)?.status === 'resolved');
      expect(nowResolved.length).toBeGreaterThanOrEqual(2);
      for (const e of nowResolved) expect(stored.find((x) => x.id === e.id)?.resolvedAt).toBe(expectedAt(dataset.incidents.find((i) => i.id === e.id)!, clock).resolvedAt);
      expect(stored.find((x) => x.id === stuck.id)).toMatchObject({ status: 'resolved', resolvedAt: TO + 2 * HOUR });
      expect(stored.find((x) => x.id === added.id)).toMatchObject({ status: 'triggered', urgency: 'low', resolvedAt: null, acknowledgedAt: null });
      const w = { at: clock, windowMs: 7 * DAY };
      expect(timeToRestore(stored, w, 'p50')).toBeCloseTo(expectedTtr(want, clock, 7 * DAY, 'p50')!, 6);
      expect(timeToAcknowledge(stored, w, 'mean')).toBeCloseTo(expectedTta(want, clock, 7 * DAY, 'mean')!, 6);
      expect(incidentCount(stored, w, null)).toBe(expectedCount(want, clock, 7 * DAY, null));
    } finally {
      clock = TO;
    }
  });
});

describe('paging and configuration', () => {
  it('splits a window whose total would pass the offset limit into smaller time ranges', async () => {
    const small = await startPagerDutySimulator({ dataset, token: TOKEN, now: () => clock, offsetLimit: 150 });
    try {
      const store = freshStore();
      await connector(store, { baseUrl: small.url, offsetLimit: 150 }).sync(incidentsStream('PSVC0CK'));
      const want = expectedIncidents(['PSVC0CK'], TO - HISTORY, TO);
      expect(want.length).toBeGreaterThan(4 * 150);
      expect(byId(await store.getEvents('incident', 'PSVC0CK'))).toEqual(byId(want));
      expect(small.requests.every((r) => r.status === 200)).toBe(true);
      const lists = listRequests(small.requests).map((r) => new URL(r.path, 'http://x').searchParams);
      const ranges = new Set(lists.map((p) => `${p.get('since')}..${p.get('until')}`));
      expect(ranges.size).toBeGreaterThan(4);
      expect(lists.every((p) => Number(p.get('offset')) + Number(p.get('limit')) <= 150)).toBe(true);
    } finally {
      await small.close();
    }
  });

  it('reads an EU-style base URL from configuration and walks a history over 6 months in windows', async () => {
    const eu = await startPagerDutySimulator({ dataset, token: TOKEN, now: () => clock, pathPrefix: '/api.eu.pagerduty.com' });
    try {
      const store = freshStore();
      const history = 235 * DAY;
      await connector(store, { baseUrl: `${eu.url}/`, historyMs: history }).sync(incidentsStream('PSVC0PA'));
      expect(eu.url).toMatch(/\/api\.eu\.pagerduty\.com$/);
      expect(eu.requests.length).toBeGreaterThan(0);
      expect(eu.requests.every((r) => r.status === 200 && /^\/api\.eu\.pagerduty\.com\/(incidents|log_entries)\?/.test(r.path))).toBe(true);
      expect(byId(await store.getEvents('incident', 'PSVC0PA'))).toEqual(byId(expectedIncidents(['PSVC0PA'], TO - history, TO)));
      const windows = new Set(listRequests(eu.requests).map((r) => new URL(r.path, 'http://x').searchParams.get('since')));
      expect(windows.size).toBe(2);
    } finally {
      await eu.close();
    }
  });

  it('reads the resolve log entry where incidents lack resolved_at', async () => {
    const legacy = await startPagerDutySimulator({ dataset, token: TOKEN, now: () => clock, omitResolvedAt: true });
    try {
      const store = freshStore();
      await connector(store, { baseUrl: legacy.url, historyMs: 60 * DAY }).sync(incidentsStream('PSVC0PA'));
      const want = expectedIncidents(['PSVC0PA'], TO - 60 * DAY, TO);
      expect(byId(await store.getEvents('incident', 'PSVC0PA'))).toEqual(byId(want));
      expect(want.filter((x) => x.resolvedAt !== null).length).toBeGreaterThan(100);
    } finally {
      await legacy.close();
    }
  });
});

describe('failures', () => {
  it('a crash between pages resumes at the page it had not stored, without loss', async () => {
    const inner = freshStore();
    // A store that dies on page write 3, as a process killed mid-sync would.
    const crashing = crashingStore(inner, 3);
    const stream = incidentsStream('PSVC0PA');
    await expect(connector(crashing, { historyMs: 120 * DAY }).sync(stream)).rejects.toThrow('killed');
    const cursor = await inner.getCursor<IncidentsCursor>(stream);
    expect(cursor?.syncedTo).toBeNull();
    expect(cursor?.walk).toMatchObject({ offset: 200, end: TO });
    expect((await inner.getEvents('incident', 'PSVC0PA')).length).toBe(200);

    const before = sim.requests.length;
    await connector(inner, { historyMs: 120 * DAY }).sync(stream);
    const firstList = listRequests(requestsSince(sim, before))[0]!;
    expect(new URL(firstList.path, 'http://x').searchParams.get('offset')).toBe('200');
    expect(byId(await inner.getEvents('incident', 'PSVC0PA'))).toEqual(byId(expectedIncidents(['PSVC0PA'], TO - 120 * DAY, TO)));
    expect(await inner.getCursor<IncidentsCursor>(stream)).toMatchObject({ syncedTo: TO, walk: null, log: { syncedTo: TO } });
  });

  it('retries server errors and dropped connections, then succeeds', async () => {
    const store = freshStore();
    sim.failNext(2, 502);
    const report = await connector(store, { historyMs: 20 * DAY }).sync(incidentsStream('PSVC0CK'));
    expect(report.stored).toBe(expectedIncidents(['PSVC0CK'], TO - 20 * DAY, TO).length);
    sim.failNext(1, 0);
    const again = await connector(freshStore(), { historyMs: 20 * DAY }).sync(incidentsStream('PSVC0CK'));
    expect(again.stored).toBe(report.stored);
  });

  it('a server error that persists is a retryable SourceError', async () => {
    sim.failNext(10, 500);
    try {
      const err = await connector(freshStore(), { historyMs: 20 * DAY, maxRetries: 2 }).sync(incidentsStream('PSVC0CK')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect(err).not.toBeInstanceOf(RateLimitError);
      expect((err as SourceError).retryable).toBe(true);
      expect((err as SourceError).status).toBe(500);
    } finally {
      sim.failNext(0);
    }
  });

  it('a bad or missing token is a clear error that is not retried and never shows the token', async () => {
    const before = sim.requests.length;
    const err = await connector(freshStore(), { token: 'wrong-secret-key' }).sync(incidentsStream('PSVC0CK')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(false);
    expect((err as SourceError).status).toBe(401);
    expect((err as SourceError).message).toMatch(/401.*sources\.pagerduty\.token.*read-only API key/);
    expect((err as SourceError).message).not.toContain('wrong-secret-key');
    expect(requestsSince(sim, before)).toHaveLength(1);
    const missing = await connector(freshStore(), { token: null }).sync(incidentsStream('PSVC0CK')).catch((e: unknown) => e);
    expect((missing as SourceError).retryable).toBe(false);
    expect((missing as SourceError).message).toMatch(/sources\.pagerduty\.token is not set/);
  });

  it('a spent rate limit becomes a RateLimitError with the reset time', async () => {
    sim.setRateLimit(900, 0);
    try {
      const err = await connector(freshStore(), { historyMs: 20 * DAY }).sync(incidentsStream('PSVC0CK')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as RateLimitError).resetAt).toBeGreaterThan(clock);
      expect((err as RateLimitError).resetAt).toBeLessThanOrEqual(clock + 60_000);
      expect(sim.requests.at(-1)?.status).toBe(429);
    } finally {
      sim.setRateLimit(null);
    }
  });

  it('reports the rate-limit budget left', async () => {
    sim.setRateLimit(900);
    try {
      const report = await connector(freshStore(), { historyMs: 10 * DAY }).sync(incidentsStream('PSVC0CK'));
      expect(report.rateLimitRemaining).toBe(900 - report.requests);
    } finally {
      sim.setRateLimit(null);
    }
  });
});

describe('one incident listing for every configured service', () => {
  it('lists the incidents of all services once per window (service_ids[] of them all), stores each service exactly, and a day later reads one page for all', async () => {
    const store = freshStore();
    const c = connector(store, { services: SERVICES });
    const before = sim.requests.length;
    for (const s of SERVICES) await c.sync(incidentsStream(s));
    const lists = sim.requests.slice(before).filter((r) => r.path.startsWith('/incidents?'));
    // 180 days of history: one window; a page per 100 incidents of both services together.
    const both = expectedIncidents(SERVICES, TO - HISTORY, TO);
    expect(lists).toHaveLength(Math.max(1, Math.ceil(both.length / 100)));
    for (const r of lists) expect(new URL(r.path, 'http://x').searchParams.getAll('service_ids[]').sort()).toEqual([...SERVICES].sort());
    for (const s of SERVICES) {
      const got = (await store.getEvents('incident', s)).map(({ service, id, createdAt, resolvedAt, acknowledgedAt, urgency, status }) => ({ id, service, createdAt, resolvedAt, acknowledgedAt, urgency, status }));
      expect(got.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))).toEqual(expectedIncidents([s], TO - HISTORY, TO));
    }
    // A day later, one new incident per service: one listing page in all (not one per service).
    const saved = clock;
    try {
      for (const [k, s] of SERVICES.entries()) applyNewIncident(dataset, { service_id: s, created_at: TO + 2 * HOUR + k * 60_000, urgency: 'high', title: `shared listing ${k}` });
      clock = TO + DAY;
      const mark = sim.requests.length;
      for (const s of SERVICES) await c.sync(incidentsStream(s));
      expect(sim.requests.slice(mark).filter((r) => r.path.startsWith('/incidents?'))).toHaveLength(1);
      for (const s of SERVICES) expect((await store.getEvents('incident', s)).some((e) => e.createdAt === TO + 2 * HOUR + SERVICES.indexOf(s) * 60_000)).toBe(true);
    } finally {
      clock = saved;
    }
  });
});
