// A small client for the Prometheus HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/):
// instant and range queries, sent as POST with a form-encoded body so that long queries do not
// hit URL length limits. It turns every failure into a SourceError that says whether a retry can
// help, and retries the retryable ones itself (twice, with backoff) before giving up.
import type { PrometheusSource } from '../../src/core/sources.js';
import { SourceError } from '../../src/core/errors.js';

const SOURCE = 'prometheus';

/** One series of an instant vector (a scalar comes back as one sample without labels). */
export interface PromSample {
  metric: Record<string, string>;
  /** Epoch ms of the evaluation. */
  timestamp: number;
  /** May be NaN or +-Infinity: Prometheus writes them as "NaN", "+Inf", "-Inf". */
  value: number;
}

/** One series of a range query: `[epoch ms, value]` pairs, oldest first. */
export interface PromSeries {
  metric: Record<string, string>;
  values: [number, number][];
}

/** An instant query's `data`, by `resultType`. */
export type PromInstantResult =
  | { resultType: 'vector'; samples: PromSample[] }
  | { resultType: 'scalar'; timestamp: number; value: number }
  | { resultType: 'matrix'; series: PromSeries[] }
  | { resultType: 'string'; timestamp: number; value: string };

export interface PrometheusClient {
  /** The instant query's result as Prometheus typed it (what measurePromql needs). */
  query(query: string, at: number): Promise<PromInstantResult>;
  /** Instant query at `at` (epoch ms): a vector's samples, or a scalar as one sample with no labels. */
  instantQuery(query: string, at: number): Promise<PromSample[]>;
  /** Range query over [start, end] (epoch ms) every `stepSeconds`. */
  rangeQuery(query: string, start: number, end: number, stepSeconds: number): Promise<PromSeries[]>;
}

export interface PrometheusClientOptions {
  source: PrometheusSource;
  /** Per attempt, including reading the body (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Retries of a retryable failure (default 2). */
  retries?: number;
  /** First backoff; it doubles with each retry (default 500 ms). */
  retryBaseMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface ApiBody {
  status?: unknown;
  data?: unknown;
  errorType?: unknown;
  error?: unknown;
}

export function createPrometheusClient(opts: PrometheusClientOptions): PrometheusClient {
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const retries = opts.retries ?? 2;
  const retryBaseMs = opts.retryBaseMs ?? 500;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const { base, userinfo } = splitUrl(opts.source.url);

  function headers(): Record<string, string> {
    // Secrets are revealed here, per request, and only into the request's headers.
    const h: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
    const { bearerToken, basicAuth } = opts.source;
    if (bearerToken) h.authorization = `Bearer ${bearerToken.reveal()}`;
    else if (basicAuth) h.authorization = `Basic ${Buffer.from(`${basicAuth.username}:${basicAuth.password.reveal()}`).toString('base64')}`;
    else if (userinfo) h.authorization = `Basic ${Buffer.from(userinfo).toString('base64')}`;
    // Lower-cased so that a configured header replaces ours instead of being joined to it.
    for (const [name, value] of Object.entries(opts.source.headers)) h[name.toLowerCase()] = value.reveal();
    return h;
  }

  /** One request; its errors say what happened but not the query, which `call` adds. */
  async function once(path: string, params: Record<string, string>): Promise<unknown> {
    const where = `Prometheus ${base}${path}`;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${base}${path}`, {
        method: 'POST',
        headers: headers(),
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      throw networkError(e, where, timeoutMs);
    }
    const status = res.status;
    if (status === 401 || status === 403) {
      throw new SourceError(
        `${where} answered ${status} ${status === 401 ? '(unauthenticated)' : '(forbidden)'}: check sources.prometheus.bearerToken, sources.prometheus.basicAuth or sources.prometheus.headers (and the environment variables they name)`,
        SOURCE,
        false,
        status,
      );
    }
    const body = parseJson(text);
    if (body === undefined || typeof body !== 'object' || body === null || !('status' in body)) {
      const type = res.headers.get('content-type') ?? 'no content type';
      const retryable = status >= 500 || status === 429;
      throw new SourceError(
        `${where} answered ${status} with ${type}, not the Prometheus API's JSON (${excerpt(text)})${retryable ? '' : '; check that sources.prometheus.url is the Prometheus base URL (e.g. http://localhost:9090)'}`,
        SOURCE,
        retryable,
        status,
      );
    }
    const api = body as ApiBody;
    if (api.status === 'success') return api.data;
    const errorType = typeof api.errorType === 'string' ? api.errorType : 'unknown';
    const error = typeof api.error === 'string' ? api.error : JSON.stringify(api.error);
    // https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview: 400 bad_data and
    // 422 execution are the query's fault; 503 timeout/canceled and 5xx are the server's moment.
    const retryable = status >= 500 || status === 429 || ['timeout', 'canceled', 'unavailable', 'internal'].includes(errorType);
    const what = errorType === 'bad_data' || errorType === 'execution' ? 'rejected the query' : 'failed';
    throw new SourceError(`${where} ${what} (${errorType}, ${status}): ${error}`, SOURCE, retryable, status);
  }

  async function call(path: string, params: Record<string, string>, query: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(path, params);
      } catch (e) {
        if (!(e instanceof SourceError)) throw e;
        if (e.retryable && attempt < retries) {
          await sleep(retryBaseMs * 2 ** attempt);
          continue;
        }
        const tries = attempt > 0 ? ` (gave up after ${attempt + 1} attempts)` : '';
        throw new SourceError(`${e.message}${tries}\n  query: ${query}`, SOURCE, e.retryable, e.status);
      }
    }
  }

  async function query(q: string, at: number): Promise<PromInstantResult> {
    const data = await call('/api/v1/query', { query: q, time: seconds(at) }, q);
    return parseInstant(data, q, base);
  }

  return {
    query,
    async instantQuery(q, at) {
      const r = await query(q, at);
      if (r.resultType === 'vector') return r.samples;
      if (r.resultType === 'scalar') return [{ metric: {}, timestamp: r.timestamp, value: r.value }];
      throw notInstant(r.resultType, q);
    },
    async rangeQuery(q, start, end, stepSeconds) {
      const data = await call('/api/v1/query_range', { query: q, start: seconds(start), end: seconds(end), step: String(stepSeconds) }, q);
      const d = data as { resultType?: unknown; result?: unknown };
      if (d?.resultType !== 'matrix' || !Array.isArray(d.result)) throw malformed(base, q, data);
      return d.result.map((s) => parseSeries(s, q, base));
    },
  };
}

/** A query whose result is a range vector or a string cannot give one number. */
export function notInstant(resultType: string, query: string): SourceError {
  return new SourceError(
    `Prometheus query returned a ${resultType === 'matrix' ? 'range vector (matrix)' : resultType}; use an instant-vector or scalar expression (e.g. rate(x[5m]) rather than x[5m])\n  query: ${query}`,
    SOURCE,
    false,
  );
}

/** Prometheus writes sample values as strings, including "NaN", "+Inf" and "-Inf". */
export function parsePromValue(v: unknown): number {
  if (typeof v !== 'string') return Number.NaN;
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

function parseInstant(data: unknown, q: string, shown: string): PromInstantResult {
  const d = data as { resultType?: unknown; result?: unknown } | null;
  switch (d?.resultType) {
    case 'vector':
      if (!Array.isArray(d.result)) break;
      return {
        resultType: 'vector',
        samples: d.result.map((s: { metric?: unknown; value?: unknown }) => {
          if (!Array.isArray(s?.value)) throw malformed(shown, q, data);
          return { metric: labels(s.metric), timestamp: Number(s.value[0]) * 1000, value: parsePromValue(s.value[1]) };
        }),
      };
    case 'scalar':
    case 'string':
      if (!Array.isArray(d.result)) break;
      return d.resultType === 'scalar'
        ? { resultType: 'scalar', timestamp: Number(d.result[0]) * 1000, value: parsePromValue(d.result[1]) }
        : { resultType: 'string', timestamp: Number(d.result[0]) * 1000, value: String(d.result[1]) };
    case 'matrix':
      if (!Array.isArray(d.result)) break;
      return { resultType: 'matrix', series: d.result.map((s) => parseSeries(s, q, shown)) };
  }
  throw malformed(shown, q, data);
}

function parseSeries(s: unknown, q: string, shown: string): PromSeries {
  const series = s as { metric?: unknown; values?: unknown };
  if (!Array.isArray(series?.values)) throw malformed(shown, q, s);
  return {
    metric: labels(series.metric),
    values: series.values.map((p: unknown) => {
      if (!Array.isArray(p)) throw malformed(shown, q, s);
      return [Number(p[0]) * 1000, parsePromValue(p[1])] as [number, number];
    }),
  };
}

function labels(m: unknown): Record<string, string> {
  return typeof m === 'object' && m !== null ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])) : {};
}

function malformed(shown: string, q: string, data: unknown): SourceError {
  return new SourceError(`Prometheus ${shown} answered success with an unexpected data shape (${excerpt(JSON.stringify(data) ?? 'undefined')})\n  query: ${q}`, SOURCE, false);
}

function networkError(e: unknown, where: string, timeoutMs: number): SourceError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return new SourceError(`${where} did not answer within ${timeoutMs} ms`, SOURCE, true);
  }
  const cause = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
  return new SourceError(`${where} could not be reached (${cause}); is Prometheus running at sources.prometheus.url?`, SOURCE, true);
}

function seconds(ms: number): string {
  // The API takes RFC 3339 or Unix seconds with decimals; ms precision keeps `at` exact.
  return (ms / 1000).toFixed(3);
}

/**
 * The base URL without a trailing slash or credentials (so messages can show it), and any
 * `user:password@` credentials (fetch refuses URLs that carry them; they become basic auth).
 */
function splitUrl(raw: string): { base: string; userinfo: string | null } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SourceError(`sources.prometheus.url is not a URL; write e.g. url: http://localhost:9090`, SOURCE, false);
  }
  const userinfo = url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : null;
  url.username = '';
  url.password = '';
  return { base: url.toString().replace(/\/+$/, ''), userinfo };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function excerpt(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 120 ? `${t.slice(0, 120)}...` : t || 'empty body';
}
