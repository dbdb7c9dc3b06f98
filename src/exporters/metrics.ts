// The Prometheus exposition of key results and source health. Values are read from the store
// at scrape time, so any number of worker processes writing to one Redis agree on what is shown.
// Naming follows https://prometheus.io/docs/practices/naming/ (units and _total suffixes).
import { Counter, Gauge, Registry } from 'prom-client';
import type { Config } from '../config/types.js';
import { STATUSES, type EvaluationResult, resultKey } from '../core/result.js';
import { objectiveProgressOf } from '../engine/objective-progress.js';
import type { SourceHealth, Store } from '../core/store.js';
import type { CheckinStore } from '../checkins/checkin-store.js';
import type { Checkin } from '../checkins/checkin.js';
import type { Revision } from '../checkins/revisions.js';

export interface MetricsExporterOptions {
  store: Store;
  /** The config in force (it can change on reload): only its key results are exported. */
  config: () => Config;
  now: () => number;
  /** Check-ins and revisions (Redis); without it their gauges are empty. */
  checkins?: Pick<CheckinStore, 'latest' | 'lastRevisions'>;
}

interface Snapshot {
  results: Map<string, EvaluationResult>;
  health: SourceHealth[];
  now: number;
  checkins?: Map<string, Checkin>;
  revisions?: Map<string, Revision>;
}

export interface MetricsExporter {
  registry: Registry;
  /** The text exposition, read fresh from the store. */
  render(): Promise<string>;
}

const KR = ['objective', 'key_result'] as const;
const SRC = ['source', 'stream', 'key'] as const;

/** A result older than three evaluation intervals is stale: METRICS.md makes it `no_data`. */
export function effectiveStatus(r: EvaluationResult, now: number, evaluateMs: number): EvaluationResult['status'] {
  return now - r.evaluatedAt > 3 * evaluateMs ? 'no_data' : r.status;
}

export function createMetricsExporter({ store, config, now, checkins }: MetricsExporterOptions): MetricsExporter {
  const registry = new Registry();
  let snap: Snapshot = { results: new Map(), health: [], now: 0 };

  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>) => void) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (c: Counter<L>) => void) =>
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });

  /** Calls `f` for each key result of the config that has a result. */
  const eachKr = (f: (r: EvaluationResult, labels: { objective: string; key_result: string }) => void) => {
    for (const o of config().objectives) {
      for (const kr of o.keyResults) {
        const r = snap.results.get(resultKey(o.id, kr.id));
        if (r) f(r, { objective: o.id, key_result: kr.id });
      }
    }
  };
  const krGauge = (name: string, help: string, pick: (r: EvaluationResult) => number | null) =>
    gauge(name, help, KR, (g) =>
      eachKr((r, l) => {
        const v = pick(r);
        if (v !== null && Number.isFinite(v)) g.set(l, v);
      }),
    );

  krGauge('okr_key_result_value', 'Current value of the key result metric, in the unit of okr_key_result_info.', (r) => r.value);
  krGauge('okr_key_result_target', 'Target of the key result, in the unit of okr_key_result_info.', (r) => r.target);
  krGauge('okr_key_result_baseline', 'Baseline of the key result (value at the period start), in the unit of okr_key_result_info.', (r) => r.baseline);
  krGauge('okr_key_result_progress_ratio', 'Progress from baseline to target, 0..1.', (r) => r.progress);
  krGauge('okr_key_result_expected_progress_ratio', 'Progress expected by now on the straight trajectory to the deadline, 0..1.', (r) => r.expected);
  krGauge('okr_key_result_forecast', 'Value forecast at the period end (least squares over the period), in the unit of okr_key_result_info.', (r) => r.forecast);
  krGauge('okr_key_result_score', 'OKR grade 0.0-1.0 (progress rounded to one decimal), present once the period has ended.', (r) => r.score ?? null);
  krGauge('okr_key_result_last_evaluation_timestamp_seconds', 'When the key result was last evaluated, Unix seconds.', (r) => r.evaluatedAt / 1000);

  gauge('okr_key_result_status', 'Status of the key result: 1 for the current state, 0 for the others.', [...KR, 'status'], (g) => {
    const evaluateMs = config().schedule.evaluateMs;
    eachKr((r, l) => {
      const current = effectiveStatus(r, snap.now, evaluateMs);
      for (const s of STATUSES) g.set({ ...l, status: s }, s === current ? 1 : 0);
    });
  });

  // METRICS.md "Breakdowns": one series per repository (or service) of a key result over several,
  // at most `breakdowns.max` per key result (the worst), so that the series count stays bounded.
  gauge('okr_key_result_component_value', 'Value of the key result metric over one repository (or PagerDuty service) alone, in the unit of okr_key_result_info; the worst breakdowns.max per key result.', [...KR, 'repository', 'service'], (g) =>
    eachKr((r, l) => {
      for (const c of r.components ?? []) {
        if (c.value !== null && Number.isFinite(c.value)) g.set({ ...l, ...(c.repository !== undefined ? { repository: c.repository } : { service: c.service ?? '' }) }, c.value);
      }
    }),
  );

  gauge('okr_key_result_info', 'Key result metadata; always 1.', [...KR, 'title', 'owner', 'metric', 'unit'], (g) => {
    for (const o of config().objectives) {
      for (const kr of o.keyResults) {
        g.set({ objective: o.id, key_result: kr.id, title: kr.title, owner: o.owner, metric: kr.metric, unit: kr.unit }, 1);
      }
    }
  });

  gauge('okr_objective_info', 'Objective metadata (parent: the objective it aligns to, e.g. company -> team); always 1.', ['objective', 'title', 'owner', 'team', 'parent'], (g) => {
    for (const o of config().objectives) g.set({ objective: o.id, title: o.title, owner: o.owner, team: o.team ?? '', parent: o.parent ?? '' }, 1);
  });

  const objectiveProgresses = () => config().objectives.map((o) => ({ o, p: objectiveProgressOf(o, (kr) => snap.results.get(resultKey(o.id, kr))?.progress) }));
  gauge(
    'okr_objective_progress_ratio',
    'Weighted mean progress of the objective\'s key results that have one, 0..1; those without data are left out (see okr_objective_key_results_without_data).',
    ['objective'],
    (g) => {
      for (const { o, p } of objectiveProgresses()) if (p.progress !== null) g.set({ objective: o.id }, p.progress);
    },
  );
  gauge('okr_objective_key_results_without_data', 'Key results of the objective without a progress (no value, no baseline, not evaluated), left out of okr_objective_progress_ratio.', ['objective'], (g) => {
    for (const { o, p } of objectiveProgresses()) g.set({ objective: o.id }, p.withoutData);
  });

  gauge('okr_objective_confidence_ratio', 'Confidence 0..1 given in the latest check-in on the objective (krt checkin).', ['objective'], (g) => {
    for (const [id, c] of snap.checkins ?? []) g.set({ objective: id }, c.confidence);
  });
  gauge('okr_objective_last_checkin_timestamp_seconds', 'When the objective last had a check-in, Unix seconds.', ['objective'], (g) => {
    for (const [id, c] of snap.checkins ?? []) g.set({ objective: id }, c.at / 1000);
  });
  gauge('okr_key_result_revision_timestamp_seconds', 'When the key result\'s target, baseline, kind or period was last revised mid-period, Unix seconds (dashboard annotations).', KR, (g) => {
    for (const r of snap.revisions?.values() ?? []) g.set({ objective: r.objectiveId, key_result: r.keyResultId }, r.at / 1000);
  });

  const healthLabels = (h: SourceHealth) => ({ source: h.stream.source, stream: h.stream.stream, key: h.stream.key });
  const healthCounter = (name: string, help: string, pick: (h: SourceHealth) => number) =>
    counter(name, help, SRC, (c) => {
      for (const h of snap.health) c.inc(healthLabels(h), pick(h));
    });
  const healthGauge = (name: string, help: string, pick: (h: SourceHealth) => number | null) =>
    gauge(name, help, SRC, (g) => {
      for (const h of snap.health) {
        const v = pick(h);
        if (v !== null) g.set(healthLabels(h), v);
      }
    });

  healthCounter('krt_source_requests_total', 'HTTP requests made to the source by syncs of the stream.', (h) => h.requests);
  healthCounter('krt_source_not_modified_responses_total', 'Requests answered 304 Not Modified (free under GitHub\'s rate limit).', (h) => h.notModified);
  healthCounter('krt_source_sync_failures_total', 'Syncs of the stream that failed.', (h) => h.failures);
  healthCounter('krt_source_events_stored_total', 'Events written to the store by syncs of the stream.', (h) => h.eventsStored);
  healthGauge('krt_source_last_sync_success_timestamp_seconds', 'When the stream last synced successfully, Unix seconds.', (h) => (h.lastSuccessAt === null ? null : h.lastSuccessAt / 1000));
  healthGauge('krt_source_last_sync_duration_seconds', 'Duration of the last sync attempt.', (h) => h.lastDurationMs / 1000);
  healthGauge('krt_source_sync_up', '1 when the last sync attempt of the stream succeeded, else 0.', (h) => (h.lastError === null && h.lastSuccessAt !== null ? 1 : 0));
  healthGauge('krt_source_rate_limit_remaining', 'Requests left in the source\'s rate-limit window, as it last reported.', (h) => h.rateLimitRemaining);

  return {
    registry,
    async render() {
      const c = config();
      const [results, health, latest, revisions] = await Promise.all([
        store.getResults(),
        store.getSourceHealth(),
        checkins?.latest(c.objectives.map((o) => o.id)),
        checkins?.lastRevisions(c),
      ]);
      // The collect() hooks run synchronously inside registry.metrics(), right after this
      // assignment, so concurrent scrapes each see a consistent snapshot.
      snap = { results: new Map(results.map((r) => [resultKey(r.objectiveId, r.keyResultId), r])), health, now: now(), checkins: latest, revisions };
      return registry.metrics();
    },
  };
}
