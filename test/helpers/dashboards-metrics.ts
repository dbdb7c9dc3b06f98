// What the dashboard query test feeds a real Prometheus: evaluation results and source health for
// a config, served by the real exporter over HTTP, and Prometheus's range-query API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config, KeyResult } from '../../src/config/types.js';
import { breakdownParts } from '../../src/engine/components.js';
import { resolveKind, resolveTarget } from '../../src/engine/progress.js';
import type { EvaluationResult, Status } from '../../src/core/result.js';
import { createMetricsExporter } from '../../src/exporters/metrics.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { SourceHealth } from '../../src/core/store.js';
import { planStreams } from '../../src/sync/plan.js';

/** Statuses handed out in turn, so every status the dashboards colour appears (no_data has no value to show). */
export const STATUS_CYCLE: readonly Status[] = ['off_track', 'at_risk', 'on_track', 'achieved'];
const PROGRESS: Record<Status, number> = { off_track: 0.1, at_risk: 0.35, on_track: 0.55, achieved: 1, no_data: 0 };

/** One result per key result of the config, every number present, statuses in STATUS_CYCLE order. */
export function evaluationResults(config: Config, at: number): EvaluationResult[] {
  const krs = config.objectives.flatMap((o) => o.keyResults);
  return krs.map((kr, i) => {
    const status = STATUS_CYCLE[i % STATUS_CYCLE.length]!;
    const baseline = kr.baseline ?? (kr.unit === 'ratio' ? 0.2 : 10);
    const target = resolveTarget(kr.target, baseline) ?? baseline * 2;
    const progress = PROGRESS[status];
    const value = baseline + (target - baseline) * progress;
    return {
      objectiveId: kr.objectiveId,
      keyResultId: kr.id,
      metric: kr.metric,
      unit: kr.unit,
      at,
      evaluatedAt: at,
      value,
      baseline,
      target,
      kind: resolveKind(kr.kind, baseline, target),
      progress,
      expected: 0.5,
      status,
      forecast: value * 1.1,
      score: null,
      error: null,
      // A key result over several repositories (services): one value each, differing.
      ...componentsOf(kr, value),
    };
  });
}

function componentsOf(kr: KeyResult, value: number): Pick<EvaluationResult, 'components'> {
  const parts = breakdownParts(kr);
  if (!parts) return {};
  return { components: parts.keys.map((key, j) => (parts.by === 'repository' ? { repository: key, value: value * (1 + 0.25 * j) } : { service: key, value: value * (1 + 0.25 * j) })) };
}

/** The health of every stream the config syncs: the first one failing, PagerDuty reporting no rate limit. */
export function sourceHealth(config: Config, at: number): SourceHealth[] {
  return planStreams(config).map((stream, i) => ({
    stream,
    lastAttemptAt: at - 1_000,
    lastSuccessAt: at - (i + 1) * 60_000,
    lastError: i === 0 ? 'HTTP 502 from the source' : null,
    lastDurationMs: 800 + 300 * i,
    requests: 100 * (i + 1),
    notModified: 40 * (i + 1),
    failures: i === 0 ? 3 : 0,
    eventsStored: 500 * (i + 1),
    rateLimitRemaining: stream.source === 'github' ? 4_000 - 100 * i : null,
  }));
}

/** Advances the counters of a health entry as one more sync would. */
function synced(h: SourceHealth, first: boolean): SourceHealth {
  return {
    ...h,
    requests: h.requests + 5,
    notModified: h.notModified + 2,
    failures: h.failures + (first ? 1 : 0),
    eventsStored: h.eventsStored + 20,
    rateLimitRemaining: h.rateLimitRemaining === null ? null : h.rateLimitRemaining - 5,
  };
}

export interface ExpositionServer {
  /** `127.0.0.1:port`, a scrape target. */
  target: string;
  /** Scrapes served so far. */
  scrapes(): number;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` from the real exporter over a MemoryStore holding `results` and `health`.
 * Each scrape first advances the health counters, as syncs between scrapes would, so rates are
 * not zero.
 */
export async function serveExposition(config: Config, results: EvaluationResult[], health: SourceHealth[]): Promise<ExpositionServer> {
  const store = new MemoryStore();
  for (const r of results) await store.putResult(r);
  for (const h of health) await store.putSourceHealth(h);
  const exporter = createMetricsExporter({ store, config: () => config, now: Date.now });
  let scrapes = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      const current = await store.getSourceHealth();
      await Promise.all(current.map((h, i) => store.putSourceHealth(synced(h, i === 0))));
      const body = await exporter.render();
      scrapes++;
      res.writeHead(200, { 'content-type': exporter.contentType }).end(body);
    })().catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    scrapes: () => scrapes,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** `GET /api/v1/query_range`; throws with Prometheus's error for a query it rejects. */
export async function queryRange(url: string, expr: string, range: { start: number; end: number; stepSeconds: number }): Promise<RangeSeries[]> {
  const params = new URLSearchParams({ query: expr, start: String(range.start), end: String(range.end), step: String(range.stepSeconds) });
  const res = await fetch(`${url}/api/v1/query_range?${params}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: RangeSeries[] } };
  if (body.status !== 'success' || !body.data) throw new Error(`query_range ${expr}: ${body.error ?? res.status}`);
  return body.data.result;
}
