// The simulated PagerDuty (connectors/pagerduty/sim): its dataset and its REST API v2, checked with
// plain fetch, against the OpenAPI description (shared/apis/pagerduty/rest-openapiv3.json) and
// with @pagerduty/pdjs, the client the connector uses.
import { readFileSync } from 'node:fs';
import { api } from '@pagerduty/pdjs';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLogEntry, generatePagerDutyDataset, incidentStateAt, type PagerDutyDataset } from '../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator, type PagerDutySimulator } from '../connectors/pagerduty/sim/server.js';

const TOKEN = 'u+simulated_pagerduty_key';
const SERVICES = ['PSVC0PA', 'PSVC0CK'];
const FROM = new Date('2026-03-01T00:00:00Z');
const TO = Date.parse('2026-11-25T00:00:00Z');
const DAY = 86_400_000;
const MIN = 60_000;
const gen = (seed = 42) => generatePagerDutyDataset({ seed, services: SERVICES, from: FROM, to: new Date(TO) });
const V2 = 'application/vnd.pagerduty+json;version=2';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

describe('generatePagerDutyDataset', () => {
  const ds = gen();
  const states = ds.incidents.map((i) => ({ i, s: incidentStateAt(i, TO)! }));

  it('is deterministic for a seed and differs between seeds', () => {
    expect(JSON.stringify(gen())).toBe(JSON.stringify(ds));
    expect(JSON.stringify(gen(43))).not.toBe(JSON.stringify(ds));
  });

  it('creates months of incidents for every service, ordered, numbered and in [from, to]', () => {
    for (const s of SERVICES) expect(ds.incidents.filter((i) => i.service_id === s).length).toBeGreaterThan(400);
    const created = ds.incidents.map((i) => Date.parse(i.created_at));
    expect(created.every((t, k) => t >= FROM.getTime() && t <= TO && (k === 0 || t >= (created[k - 1] as number)))).toBe(true);
    const numbers = ds.incidents.map((i) => i.incident_number);
    expect(numbers.every((n, k) => k === 0 || n > (numbers[k - 1] as number))).toBe(true);
    expect(new Set(ds.incidents.map((i) => i.id)).size).toBe(ds.incidents.length);
    expect(ds.incidents.every((i) => /^Q[0-9A-Z]{13}$/.test(i.id) && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(i.created_at))).toBe(true);
    const high = ds.incidents.filter((i) => i.urgency === 'high').length / ds.incidents.length;
    expect(high).toBeGreaterThan(0.55);
    expect(high).toBeLessThan(0.75);
  });

  it('records log entries oldest first, starting with the trigger at created_at', () => {
    for (const i of ds.incidents) {
      expect(i.log_entries[0]?.type).toBe('trigger_log_entry');
      expect(i.log_entries[0]?.created_at).toBe(i.created_at);
      const t = i.log_entries.map((e) => Date.parse(e.created_at));
      expect(t.every((x, k) => k === 0 || x >= (t[k - 1] as number))).toBe(true);
      expect(i.log_entries.filter((e) => e.type === 'resolve_log_entry').length).toBeLessThanOrEqual(1);
    }
  });

  it('has incidents never acknowledged, acknowledged twice, still open at `to`, and with many log entries', () => {
    const neverAcked = states.filter(({ s }) => s.status === 'resolved' && s.firstAcknowledgedAt === null);
    expect(neverAcked.length / states.length).toBeGreaterThan(0.05);
    expect(ds.incidents.some((i) => i.log_entries.filter((e) => e.type === 'acknowledge_log_entry').length > 1)).toBe(true);
    expect(states.some(({ s }) => s.status === 'triggered')).toBe(true);
    expect(states.some(({ s }) => s.status === 'acknowledged')).toBe(true);
    expect(ds.incidents.some((i) => i.log_entries.length > 100)).toBe(true);
    // Open at `to` but resolved later: the simulator resolves them as its clock moves on.
    expect(states.some(({ i, s }) => s.status !== 'resolved' && incidentStateAt(i, TO + 2 * DAY)?.status === 'resolved')).toBe(true);
  });

  it('acknowledges in minutes and restores in tens of minutes to hours, faster towards the end', () => {
    const tta = (xs: typeof states) => median(xs.filter(({ s }) => s.firstAcknowledgedAt !== null).map(({ i, s }) => (s.firstAcknowledgedAt! - Date.parse(i.created_at)) / MIN));
    const ttr = (xs: typeof states) => median(xs.filter(({ s }) => s.resolvedAt !== null).map(({ i, s }) => (s.resolvedAt! - Date.parse(i.created_at)) / MIN));
    const firstMonths = states.filter(({ i }) => Date.parse(i.created_at) < FROM.getTime() + 60 * DAY);
    const lastMonths = states.filter(({ i }) => Date.parse(i.created_at) > TO - 60 * DAY);
    expect(tta(states)).toBeGreaterThan(1);
    expect(tta(states)).toBeLessThan(15);
    expect(ttr(states)).toBeGreaterThan(20);
    expect(ttr(states)).toBeLessThan(180);
    expect(tta(lastMonths)).toBeLessThan(tta(firstMonths));
    expect(ttr(lastMonths)).toBeLessThan(ttr(firstMonths) * 0.8);
  });
});

// ----- the HTTP API -----

/** The OpenAPI description with `oneOf` read as `anyOf` (a reference and a full object both match a bare reference). */
function openApiValidator(): (ref: string) => ValidateFunction {
  const doc = JSON.parse(readFileSync('test/fixtures/pagerduty-schemas/rest-openapiv3.subset.json', 'utf8').replaceAll('"oneOf"', '"anyOf"')) as {
    components: { schemas: Record<string, { allOf?: { properties?: Record<string, Record<string, unknown>> }[] }> };
  };
  // Null where the description (or its own example) says so though the schema has no `nullable`:
  // resolved_at ("or null if the incident is not resolved"), alert_grouping ("null if the incident
  // has no alerts"), priority (no priority set) and resolve_reason (null in the example).
  const props = doc.components.schemas.Incident?.allOf?.[1]?.properties ?? {};
  for (const k of ['resolved_at', 'alert_grouping', 'priority', 'resolve_reason']) {
    if (props[k]) props[k] = { anyOf: [{ type: 'null' }, props[k]] };
  }
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, formats: { 'date-time': true, url: true, uri: true, email: true, tzinfo: true, uuid: true } });
  ajv.addSchema(doc, 'pd');
  return (ref) => ajv.getSchema(`pd#/components/${ref}`) as ValidateFunction;
}

describe('startPagerDutySimulator', () => {
  let sim: PagerDutySimulator;
  let clock = TO;
  let validator: (ref: string) => ValidateFunction;
  const ds: PagerDutyDataset = gen();

  beforeAll(async () => {
    sim = await startPagerDutySimulator({ dataset: ds, token: TOKEN, now: () => clock });
    validator = openApiValidator();
  });
  afterAll(() => sim.close());

  const get = async (path: string, headers: Record<string, string> = { authorization: `Token token=${TOKEN}`, accept: V2 }) => {
    const res = await fetch(`${sim.url}${path}`, { headers });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  const conforms = (ref: string, body: unknown) => {
    const v = validator(ref);
    const ok = v(body);
    expect(ok, JSON.stringify(v.errors?.slice(0, 5))).toBe(true);
  };
  const q = (params: Record<string, string | string[]>) => {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.append(k, x);
    return u.toString();
  };

  it('needs `Authorization: Token token=<key>` and answers 401 in PagerDuty\'s error shape', async () => {
    for (const headers of [{}, { authorization: 'Token token=wrong' }, { authorization: TOKEN }] as Record<string, string>[]) {
      const r = await get('/incidents', headers);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: { message: 'Unauthorized', code: 2006 } });
    }
    expect((await get('/incidents', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  it('honours the Accept version header', async () => {
    expect((await get('/incidents', { authorization: `Token token=${TOKEN}`, accept: 'application/vnd.pagerduty+json;version=1' })).status).toBe(406);
    expect((await get('/incidents', { authorization: `Token token=${TOKEN}`, accept: V2 })).status).toBe(200);
  });

  it('lists incidents in the API\'s shape, oldest first, 25 by default, and only the last month without since/until', async () => {
    const r = await get('/incidents?total=true');
    expect(r.status).toBe(200);
    conforms('schemas/Incident', (r.body.incidents as unknown[])[0]);
    const monthAgo = new Date(TO);
    monthAgo.setUTCMonth(monthAgo.getUTCMonth() - 1);
    const want = ds.incidents.filter((i) => Date.parse(i.created_at) >= monthAgo.getTime() && Date.parse(i.created_at) < TO);
    expect(r.body).toMatchObject({ limit: 25, offset: 0, total: want.length, more: true });
    const incidents = r.body.incidents as { id: string; created_at: string; service: { type: string }; status: string }[];
    expect(incidents.map((i) => i.id)).toEqual(want.slice(0, 25).map((i) => i.id));
    expect(incidents[0]?.service.type).toBe('service_reference');
    expect((await get('/incidents')).body.total).toBeNull(); // only with total=true
  });

  it('conforms to the OpenAPI description: incidents, log entries and errors', async () => {
    const since = new Date(TO - 2 * DAY).toISOString();
    const list = await get(`/incidents?${q({ since, until: new Date(TO).toISOString(), limit: '100', total: 'true' })}`);
    const incidents = list.body.incidents as { id: string; status: string }[];
    for (const inc of incidents) conforms('schemas/Incident', inc);
    expect(new Set(incidents.map((i) => i.status))).toEqual(new Set(['resolved', 'acknowledged', 'triggered']));
    const logs = await get(`/incidents/${incidents[0]!.id}/log_entries`);
    for (const e of logs.body.log_entries as unknown[]) conforms('schemas/LogEntry', e);
    conforms('schemas/Pagination', { ...logs.body, log_entries: undefined });
    conforms('responses/Conflict/content/application~1json/schema', (await get('/incidents', {})).body);
  });

  it('pages with offset/limit (max 100) and filters by service, status and urgency', async () => {
    const since = new Date(TO - 150 * DAY).toISOString();
    const until = new Date(TO).toISOString();
    const base = { 'service_ids[]': 'PSVC0PA', since, until, total: 'true' };
    const want = ds.incidents.filter((i) => i.service_id === 'PSVC0PA' && Date.parse(i.created_at) >= Date.parse(since) && Date.parse(i.created_at) < TO);
    const got: string[] = [];
    let offset = 0;
    for (;;) {
      const r = await get(`/incidents?${q({ ...base, offset: String(offset), limit: '500' })}`);
      expect(r.body.limit).toBe(100);
      const page = r.body.incidents as { id: string }[];
      got.push(...page.map((i) => i.id));
      expect(r.body.total).toBe(want.length);
      if (!r.body.more) break;
      offset += page.length;
    }
    expect(got).toEqual(want.map((i) => i.id));

    const open = await get(`/incidents?${q({ ...base, 'statuses[]': ['triggered', 'acknowledged'] })}`);
    const wantOpen = want.filter((i) => incidentStateAt(i, TO)!.status !== 'resolved');
    expect(open.body.total).toBe(wantOpen.length);
    expect(wantOpen.length).toBeGreaterThan(0);
    const low = await get(`/incidents?${q({ ...base, 'urgencies[]': 'low' })}`);
    expect(low.body.total).toBe(want.filter((i) => i.urgency === 'low').length);
    const desc = await get(`/incidents?${q({ ...base, sort_by: 'created_at:desc', limit: '3' })}`);
    expect((desc.body.incidents as { id: string }[]).map((i) => i.id)).toEqual(want.slice(-3).reverse().map((i) => i.id));
  });

  it('refuses a range over 6 months and offset + limit over 10,000 with 400 and code 2001', async () => {
    const tooLong = await get(`/incidents?${q({ since: new Date(TO - 200 * DAY).toISOString(), until: new Date(TO).toISOString() })}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ error: { message: 'Invalid Input Provided', code: 2001 } });
    expect((tooLong.body.error as { errors: string[] }).errors[0]).toMatch(/6 months/);
    expect((await get(`/incidents?${q({ since: new Date(TO - 180 * DAY).toISOString(), until: new Date(TO).toISOString() })}`)).status).toBe(200);
    const deep = await get('/incidents?offset=9950&limit=100');
    expect(deep.status).toBe(400);
    expect(deep.body).toMatchObject({ error: { code: 2001 } });
    expect((await get('/incidents?offset=9900&limit=100')).status).toBe(200);
    expect((await get('/incidents?date_range=all&limit=1&total=true')).body.total).toBe(ds.incidents.length);
  });

  it('lists an incident\'s log entries newest first with offset pagination; unknown incidents are 404', async () => {
    const noisy = ds.incidents.find((i) => i.log_entries.length > 100 && incidentStateAt(i, TO)!.status === 'resolved')!;
    const got: { id: string; type: string; created_at: string; incident: { id: string } }[] = [];
    let offset = 0;
    for (;;) {
      const r = await get(`/incidents/${noisy.id}/log_entries?offset=${offset}&limit=100`);
      expect(r.status).toBe(200);
      const page = r.body.log_entries as typeof got;
      got.push(...page);
      if (!r.body.more) break;
      offset += page.length;
    }
    expect(got.map((e) => e.id)).toEqual([...noisy.log_entries].reverse().map((e) => e.id));
    expect(got.every((e) => e.incident.id === noisy.id)).toBe(true);
    expect(new Set(got.map((e) => e.type))).toContain('resolve_log_entry');
    expect((await get('/incidents/QNOSUCHINCIDENT/log_entries')).body).toEqual({ error: { message: 'Not Found', code: 2100 } });
    const account = await get(`/log_entries?${q({ since: new Date(TO - DAY).toISOString(), until: new Date(TO).toISOString(), total: 'true', limit: '1' })}`);
    expect(account.body.total).toBe(ds.incidents.flatMap((i) => i.log_entries).filter((e) => Date.parse(e.created_at) >= TO - DAY && Date.parse(e.created_at) < TO).length);
    // The account's overview entries of a week, paged: every incident-changing entry once, newest
    // first, without notifications (what the connector reads acknowledge/resolve times from).
    const since = TO - 7 * DAY;
    const seen: { id: string; type: string; created_at: string }[] = [];
    for (let off = 0; ; ) {
      const r = await get(`/log_entries?${q({ since: new Date(since).toISOString(), until: new Date(TO).toISOString(), is_overview: 'true', offset: String(off), limit: '100' })}`);
      expect(r.status).toBe(200);
      const page = r.body.log_entries as typeof seen;
      seen.push(...page);
      if (!r.body.more) break;
      off += page.length;
    }
    const want = ds.incidents.flatMap((i) => i.log_entries).filter((e) => Date.parse(e.created_at) >= since && Date.parse(e.created_at) < TO && e.type !== 'notify_log_entry');
    expect(seen.length).toBe(want.length);
    expect(new Set(seen.map((e) => e.id))).toEqual(new Set(want.map((e) => e.id)));
    expect(seen.every((e, k) => k === 0 || Date.parse(seen[k - 1]!.created_at) >= Date.parse(e.created_at))).toBe(true);
    expect(seen.some((e) => e.type === 'acknowledge_log_entry') && seen.some((e) => e.type === 'resolve_log_entry')).toBe(true);
  });

  it('shows incidents as they are at its clock: later acknowledgements and resolutions appear as time moves', async () => {
    const open = ds.incidents.find((i) => incidentStateAt(i, TO)!.status === 'triggered' && i.log_entries.every((e) => e.type !== 'acknowledge_log_entry'))
      ?? ds.incidents.find((i) => incidentStateAt(i, TO)!.status !== 'resolved')!;
    const show = async () => (await get(`/incidents/${open.id}`)).body.incident as { status: string; resolved_at: string | null; acknowledgements: unknown[] };
    expect((await show()).resolved_at).toBeNull();
    applyLogEntry(ds, open.id, 'acknowledge_log_entry', TO + 5 * MIN);
    applyLogEntry(ds, open.id, 'resolve_log_entry', TO + 50 * MIN);
    clock = TO + 10 * MIN;
    expect((await show()).status).toBe('acknowledged');
    expect((await show()).acknowledgements).toHaveLength(1);
    clock = TO + 3 * DAY;
    expect(await show()).toMatchObject({ status: 'resolved', resolved_at: new Date(TO + 50 * MIN).toISOString().replace('.000Z', 'Z'), acknowledgements: [] });
    clock = TO;
  });

  it('answers 429 with ratelimit-* and retry-after headers once a configured limit is spent', async () => {
    sim.setRateLimit(3);
    try {
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof get>> | null = null;
      for (let k = 0; k < 4; k++) {
        last = await get('/incidents?limit=1');
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(last!.body).toEqual({ error: { message: 'Rate Limit Exceeded', code: 2020 } });
      expect(last!.headers.get('ratelimit-limit')).toBe('3');
      expect(last!.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(last!.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      sim.setRateLimit(null);
    }
  });

  it('logs every request with its status and Accept header; failNext answers server errors', async () => {
    sim.failNext(1, 502);
    const r = await fetch(`${sim.url}/incidents`, { headers: { authorization: `Token token=${TOKEN}` } });
    expect(r.status).toBe(502);
    expect(r.headers.get('content-type')).toMatch(/html/);
    sim.failNext(1, 500);
    expect((await get('/incidents')).body).toMatchObject({ error: { message: 'Internal Server Error' } });
    const log = sim.requests.at(-1)!;
    expect(log).toMatchObject({ method: 'GET', path: '/incidents', status: 500, accept: V2 });
  });

  it('works with @pagerduty/pdjs: its Accept and Authorization headers, and all() under a `.com/` path', async () => {
    const prefixed = await startPagerDutySimulator({ dataset: ds, token: TOKEN, now: () => TO, pathPrefix: '/api.pagerduty.com' });
    try {
      const pd = api({ token: TOKEN });
      const since = new Date(TO - 20 * DAY).toISOString();
      const until = new Date(TO).toISOString();
      const want = ds.incidents.filter((i) => i.service_id === 'PSVC0CK' && Date.parse(i.created_at) >= Date.parse(since) && Date.parse(i.created_at) < TO);
      // pdjs' all() follows `more` with offset/limit and picks the resource from the URL after `.com/`.
      const all = await pd.all('incidents', { url: `${prefixed.url}/incidents`, data: { 'service_ids[]': ['PSVC0CK'], since, until, limit: 10 }, requestTimeout: 0 });
      expect((all.resource as { id: string }[]).map((i) => i.id)).toEqual(want.map((i) => i.id));
      expect(prefixed.requests.every((r) => r.status === 200 && r.accept === V2 && r.path.startsWith('/api.pagerduty.com/incidents'))).toBe(true);
      expect(prefixed.requests.length).toBe(Math.ceil(want.length / 10));
      const outside = await fetch(prefixed.url.replace('/api.pagerduty.com', '') + '/incidents', { headers: { authorization: `Token token=${TOKEN}` } });
      expect(outside.status).toBe(404);
    } finally {
      await prefixed.close();
    }
  });
});
