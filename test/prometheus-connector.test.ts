import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusClient, type PrometheusClient } from '../connectors/prometheus/client.js';
import { cumulativeFractions, DEFAULT_BUCKETS } from '../connectors/prometheus/sim/latency-history.js';
import { measurePromql } from '../connectors/prometheus/promql.js';
import type { PrometheusSource } from '../src/core/sources.js';
import { Secret } from '../src/core/secret.js';
import { SourceError } from '../src/core/errors.js';
import { freePort } from './helpers/net.js';
import { bucketQuantile, startPrometheusWithHistory, type PrometheusWithHistory } from './helpers/prometheus-history.js';

const DAY = 86_400_000;
// Q1 2025: the example KR's P99 goes from 0.5 s to 0.35 s (-30%) over the quarter.
const FROM = Date.UTC(2025, 0, 1);
const TO = Date.UTC(2025, 3, 1);
const P99 = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="payments"}[5m])))';

const source = (url: string, more: Partial<PrometheusSource> = {}): PrometheusSource => ({ url, bearerToken: null, basicAuth: null, headers: {}, ...more });

async function sourceError(p: Promise<unknown>): Promise<SourceError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SourceError);
  return e as SourceError;
}

describe('latency history generator', () => {
  it('builds each interval so that histogram_quantile gives the target exactly', () => {
    for (const target of [0.0501, 0.07, 0.1, 0.25, 0.3, 0.35, 0.42, 0.5, 0.9, 2.5]) {
      const f = cumulativeFractions(DEFAULT_BUCKETS, 0.99, target);
      expect(f.every((x, i) => x > 0 && x <= 1 && (i === 0 || x >= f[i - 1]!))).toBe(true);
      const buckets = [...DEFAULT_BUCKETS, Infinity].map((upperBound, i) => ({ upperBound, count: f[i]! * 1e6 }));
      expect(bucketQuantile(0.99, buckets)).toBeCloseTo(target, 12);
    }
    for (const outside of [0.01, 0.05, 3]) expect(() => cumulativeFractions(DEFAULT_BUCKETS, 0.99, outside)).toThrow(/must lie in \(0.05, 2.5\]/);
  });
});

describe('promql against a real Prometheus with a quarter of latency history', () => {
  let prom: PrometheusWithHistory;
  let client: PrometheusClient;

  beforeAll(async () => {
    prom = await startPrometheusWithHistory({
      from: FROM,
      to: TO,
      // At most 150 s, so that every 5-minute rate window holds two samples (see the helper).
      stepSeconds: 120,
      series: [
        { labels: { service: 'payments' }, requestsPerSecond: 20, quantileAt: { from: 0.5, to: 0.35 } },
        { labels: { service: 'checkout' }, requestsPerSecond: 8, quantileAt: { from: 0.3, to: 0.3 } },
      ],
    });
    client = createPrometheusClient({ source: source(prom.url) });
  }, 120_000);
  afterAll(async () => prom?.stop());

  it('measures the example P99 query as histogram_quantile over the generated buckets', async () => {
    // Off the 2-minute sample grid and on it, early, middle and late in the quarter.
    const instants = [FROM + DAY + 30_000, FROM + 17 * DAY + 3_600_000 + 45_000, FROM + 45 * DAY, FROM + 45 * DAY + 61_000, FROM + 70 * DAY + 7_777, TO - DAY - 90_000, TO];
    for (const at of instants) {
      const expected = prom.expectedP99(at);
      expect(expected, new Date(at).toISOString()).not.toBeNull();
      const measured = await measurePromql(client, P99, null, at);
      expect(measured).not.toBeNull();
      // Same counts, same formula: they differ only by float rounding in rate()'s scaling.
      expect(Math.abs(measured! - expected!), `${new Date(at).toISOString()}: ${measured} vs ${expected}`).toBeLessThan(1e-9);
      // And the data shows the trend it was built for (rounding to whole requests moves it a little).
      expect(Math.abs(measured! - prom.history.targetQuantile(0, at))).toBeLessThan(0.01);
    }
    expect(await measurePromql(client, P99, null, FROM + DAY)).toBeCloseTo(0.5, 1);
    expect(await measurePromql(client, P99, null, TO)).toBeCloseTo(0.35, 1);
  });

  it('reads the same values through a range query', async () => {
    const start = FROM + 10 * DAY;
    const series = await client.rangeQuery(P99, start, start + 3_600_000, 600);
    expect(series).toHaveLength(1);
    expect(series[0]!.values).toHaveLength(7);
    for (const [t, v] of series[0]!.values) expect(Math.abs(v - prom.expectedP99(t)!)).toBeLessThan(1e-9);
  });

  it('is no data when the query matches no series', async () => {
    expect(await measurePromql(client, 'http_request_duration_seconds_count{service="nope"}', null, FROM + 10 * DAY)).toBeNull();
    expect(await measurePromql(client, P99, null, FROM - DAY)).toBeNull();
    expect(prom.expectedP99(FROM - DAY)).toBeNull();
  });

  it('rejects several series unless the key result names an aggregation', async () => {
    const at = FROM + 30 * DAY + 1_000;
    const e = await sourceError(measurePromql(client, 'http_request_duration_seconds_count', null, at));
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/returned 2 series/);
    expect(e.message).toContain('http_request_duration_seconds_count{service="payments"}');
    expect(e.message).toContain('http_request_duration_seconds_count{service="checkout"}');
    expect(e.message).toContain('aggregate: sum');
    expect(e.message).toContain('query: http_request_duration_seconds_count');

    const seven = await sourceError(measurePromql(client, 'http_request_duration_seconds_bucket{service="payments"}', null, at));
    expect(seven.message).toMatch(/returned 7 series \(.*le="0\.05".*\.\.\. \(4 more\)\)/);

    // An instant vector selector reads each series' latest sample at or before `at`.
    const i = prom.history.sampleIndexAtOrBefore(at);
    const payments = prom.history.countAt(0, i);
    const checkout = prom.history.countAt(1, i);
    expect(await measurePromql(client, 'http_request_duration_seconds_count', 'sum', at)).toBe(payments + checkout);
    expect(await measurePromql(client, 'http_request_duration_seconds_count', 'avg', at)).toBe((payments + checkout) / 2);
    expect(await measurePromql(client, 'http_request_duration_seconds_count', 'min', at)).toBe(checkout);
    expect(await measurePromql(client, 'http_request_duration_seconds_count', 'max', at)).toBe(payments);
  });

  it('takes scalars, and reports NaN and Inf as no data', async () => {
    const at = FROM + 30 * DAY;
    const i = prom.history.sampleIndexAtOrBefore(at);
    expect(await measurePromql(client, 'scalar(http_request_duration_seconds_count{service="checkout"})', null, at)).toBe(prom.history.countAt(1, i));
    expect(await measurePromql(client, '0/0', null, at)).toBeNull();
    expect(await measurePromql(client, '1/0', null, at)).toBeNull();
    expect(await measurePromql(client, 'vector(1)/0', null, at)).toBeNull();
    expect(await measurePromql(client, 'http_request_duration_seconds_count/0', 'sum', at)).toBeNull();
  });

  it('asks for an instant-vector or scalar expression when the result is a matrix or a string', async () => {
    for (const q of ['http_request_duration_seconds_count{service="payments"}[5m]', '"hello"']) {
      const e = await sourceError(measurePromql(client, q, null, FROM + 30 * DAY));
      expect(e.retryable).toBe(false);
      expect(e.message).toContain('use an instant-vector or scalar expression');
      expect(e.message).toContain(q);
    }
  });

  it('quotes Prometheus on a PromQL syntax error and does not retry', async () => {
    const q = 'sum(rate(http_request_duration_seconds_bucket[5m])';
    const e = await sourceError(measurePromql(client, q, null, FROM + 30 * DAY));
    expect(e.retryable).toBe(false);
    expect(e.status).toBe(400);
    expect(e.message).toContain('bad_data');
    expect(e.message).toMatch(/parse error/);
    expect(e.message).toContain(`query: ${q}`);
  });
});

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A tiny stand-in for Prometheus that records requests and answers with `answer(n)` for the n-th. */
async function recordingServer(answer: (n: number, req: Recorded, res: ServerResponse) => void): Promise<{ url: string; requests: Recorded[]; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(r);
      answer(requests.length, r, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests, server };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const vector = (value: string) => ({ status: 'success', data: { resultType: 'vector', result: [{ metric: { service: 'payments' }, value: [1735689600.123, value] }] } });

describe('Prometheus client over HTTP', () => {
  const servers: Server[] = [];
  const serve = async (answer: Parameters<typeof recordingServer>[0]) => {
    const s = await recordingServer(answer);
    servers.push(s.server);
    return s;
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('POSTs a form-encoded query with the bearer token, custom headers, and the time in seconds', async () => {
    const s = await serve((_n, _r, res) => json(res, 200, vector('0.42')));
    const token = new Secret('PROMETHEUS_TOKEN', 's3cret-token');
    const long = `sum(${Array.from({ length: 400 }, (_, i) => `up{job="j${i}"}`).join(' or ')})`;
    const client = createPrometheusClient({ source: source(`${s.url}/`, { bearerToken: token, headers: { 'X-Scope-OrgID': new Secret('TENANT', 'team-a') } }) });
    expect(await client.instantQuery(long, 1735689600123)).toEqual([{ metric: { service: 'payments' }, timestamp: 1735689600123, value: 0.42 }]);
    const [r] = s.requests;
    expect(r!.method).toBe('POST');
    expect(r!.url).toBe('/api/v1/query');
    expect(r!.headers.authorization).toBe('Bearer s3cret-token');
    expect(r!.headers['x-scope-orgid']).toBe('team-a');
    expect(r!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(r!.body);
    expect(form.get('query')).toBe(long);
    expect(form.get('time')).toBe('1735689600.123');
  });

  it('sends basic auth', async () => {
    const s = await serve((_n, _r, res) => json(res, 200, vector('1')));
    const client = createPrometheusClient({ source: source(s.url, { basicAuth: { username: 'krt', password: new Secret('PROMETHEUS_PASSWORD', 'pa:ss') } }) });
    expect(await measurePromql(client, 'up', null, 0)).toBe(1);
    expect(s.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('krt:pa:ss').toString('base64')}`);
  });

  it('range queries send start, end and step', async () => {
    const s = await serve((_n, _r, res) =>
      json(res, 200, { status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1735689600, '1'], [1735689660, '+Inf']] }] } }),
    );
    const client = createPrometheusClient({ source: source(s.url) });
    expect(await client.rangeQuery('up', 1735689600000, 1735689660000, 60)).toEqual([{ metric: {}, values: [[1735689600000, 1], [1735689660000, Infinity]] }]);
    expect(s.requests[0]!.url).toBe('/api/v1/query_range');
    expect(Object.fromEntries(new URLSearchParams(s.requests[0]!.body))).toEqual({ query: 'up', start: '1735689600.000', end: '1735689660.000', step: '60' });
  });

  it('does not retry 401/403 and names the auth fields without showing the secret', async () => {
    for (const status of [401, 403]) {
      const s = await serve((_n, _r, res) => {
        res.writeHead(status);
        res.end('no');
      });
      const client = createPrometheusClient({ source: source(s.url, { bearerToken: new Secret('PROMETHEUS_TOKEN', 'wrong-token') }), retryBaseMs: 1 });
      const e = await sourceError(client.instantQuery('up', 0));
      expect(e.retryable).toBe(false);
      expect(e.status).toBe(status);
      expect(e.message).toContain('sources.prometheus.bearerToken');
      expect(e.message).toContain('sources.prometheus.basicAuth');
      expect(e.message).not.toContain('wrong-token');
      expect(s.requests).toHaveLength(1);
    }
  });

  it('retries 5xx with backoff and succeeds when Prometheus recovers', async () => {
    const s = await serve((n, _r, res) => (n < 3 ? json(res, 503, { status: 'error', errorType: 'unavailable', error: 'starting up' }) : json(res, 200, vector('2'))));
    const waits: number[] = [];
    const client = createPrometheusClient({ source: source(s.url), retryBaseMs: 100, sleep: async (ms) => void waits.push(ms) });
    expect(await measurePromql(client, 'up', null, 0)).toBe(2);
    expect(s.requests).toHaveLength(3);
    expect(waits).toEqual([100, 200]);
  });

  it('gives up after two retries with a retryable error', async () => {
    const s = await serve((_n, _r, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
    });
    const client = createPrometheusClient({ source: source(s.url), retryBaseMs: 1 });
    const e = await sourceError(client.instantQuery('up', 0));
    expect(e.retryable).toBe(true);
    expect(e.status).toBe(502);
    expect(e.message).toContain('gave up after 3 attempts');
    expect(s.requests).toHaveLength(3);
  });

  it('explains a non-JSON answer', async () => {
    const s = await serve((_n, _r, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Grafana login</body></html>');
    });
    const client = createPrometheusClient({ source: source(s.url), retryBaseMs: 1 });
    const e = await sourceError(client.instantQuery('up', 0));
    expect(e.retryable).toBe(false);
    expect(e.message).toContain("not the Prometheus API's JSON");
    expect(e.message).toContain('Grafana login');
    expect(e.message).toContain('sources.prometheus.url');
    expect(s.requests).toHaveLength(1);
  });

  it('times out a silent server with a retryable error', async () => {
    const s = await serve(() => {});
    const client = createPrometheusClient({ source: source(s.url), timeoutMs: 200, retries: 1, retryBaseMs: 1 });
    const e = await sourceError(client.instantQuery('up', 0));
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('did not answer within 200 ms');
    expect(s.requests).toHaveLength(2);
  });

  it('reports a Prometheus that is down as retryable after retrying', async () => {
    const port = await freePort(); // nothing listens there
    const waits: number[] = [];
    const client = createPrometheusClient({ source: source(`http://127.0.0.1:${port}`), sleep: async (ms) => void waits.push(ms) });
    const e = await sourceError(measurePromql(client, P99, null, Date.UTC(2025, 0, 2)));
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.message).toContain('gave up after 3 attempts');
    expect(waits).toEqual([500, 1000]);
  });
});
