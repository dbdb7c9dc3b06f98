// The Prometheus exposition of key results and source health. The text is rendered straight from
// a snapshot of the store (results and source health) and the config, in the format prom-client
// writes (families in this order, HELP/TYPE, a blank line between families), without building a
// registry: 65k series render in tens of milliseconds. `/metrics` serves it from memory
// (served.ts); `render()` reads the store first.
// Naming follows https://prometheus.io/docs/practices/naming/ (units and _total suffixes).
import type { Config, KeyResult, Objective } from '../config/types.js';
import { STATUSES, type EvaluationResult, resultKey } from '../core/result.js';
import { rolledUpProgress } from '../engine/objective-progress.js';
import type { SourceHealth, Store } from '../core/store.js';
import type { CheckinStore } from '../checkins/checkin-store.js';
import type { Checkin } from '../checkins/checkin.js';
import type { Revision } from '../checkins/revisions.js';

export interface MetricsExporterOptions {
  store: Store;
  /** The config in force (it can change on reload): only its key results are exported. */
  config: () => Config;
  now: () => number;
  /** Check-ins and revisions (okr_objective_confidence_ratio, ...); none: those series are left out. */
  checkins?: CheckinStore;
}

/** What the exposition is made of: the latest results and source health read from the store. */
export interface Snapshot {
  /** By resultKey(objective, key result). */
  results: Map<string, EvaluationResult>;
  health: SourceHealth[];
  /** The latest check-in of each objective that has one. */
  checkins?: Map<string, Checkin>;
  /** The latest revision of each key result that has one, by `objective/kr`. */
  revisions?: Map<string, Revision>;
}

/** Reads what a snapshot is made of: results, source health and, with a check-in store, check-ins and revisions. */
export async function readSnapshot(store: Store, config: Config, checkins?: CheckinStore): Promise<Snapshot> {
  const [results, health, latest, revisions] = await Promise.all([
    store.getResults(),
    store.getSourceHealth(),
    checkins?.latest(config.objectives.map((o) => o.id)),
    checkins?.lastRevisions(config),
  ]);
  return snapshotOf(results, health, { checkins: latest, revisions });
}

export interface MetricsExporter {
  /** `text/plain; version=0.0.4; charset=utf-8` (the Prometheus text format). */
  contentType: string;
  /** The text exposition, read fresh from the store. */
  render(): Promise<string>;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface RenderedMetrics {
  text: string;
  /**
   * The text holds until this instant (epoch ms): after it, a key result's status turns
   * `no_data` (stale). Infinity when none can.
   */
  validUntil: number;
}

/** A result older than three evaluation intervals is stale: METRICS.md makes it `no_data`. */
export function effectiveStatus(r: EvaluationResult, now: number, evaluateMs: number): EvaluationResult['status'] {
  return now - r.evaluatedAt > 3 * evaluateMs ? 'no_data' : r.status;
}

/** Until when effectiveStatus(r, ·) stays what it is at `now` (Infinity once stale). */
export function statusValidUntil(r: EvaluationResult, now: number, evaluateMs: number): number {
  const staleAfter = r.evaluatedAt + 3 * evaluateMs;
  return now > staleAfter ? Infinity : staleAfter;
}

export function snapshotOf(results: readonly EvaluationResult[], health: SourceHealth[], extra: Pick<Snapshot, 'checkins' | 'revisions'> = {}): Snapshot {
  return { results: new Map(results.map((r) => [resultKey(r.objectiveId, r.keyResultId), r])), health, ...extra };
}

// prom-client's escaping (lib/registry.js): HELP escapes \ and newline, label values also ".
const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string) => (/[\\\n"]/.test(s) ? escapeHelp(s).replace(/"/g, '\\"') : s);
const valueText = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : `${v}`);

/** One family: its HELP and TYPE lines, then its samples. */
class Family {
  readonly lines: string[];
  constructor(
    readonly name: string,
    help: string,
    type: 'gauge' | 'counter',
  ) {
    this.lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
  }
  /** `labels` is the already formatted `{a="x",b="y"}` part. */
  add(labels: string, value: number): void {
    this.lines.push(`${this.name}${labels} ${valueText(value)}`);
  }
}

const labelsOf = (pairs: readonly (readonly [string, string])[]) => `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;

const KR_FAMILIES: readonly [string, string, (r: EvaluationResult) => number | null][] = [
  ['okr_key_result_value', 'Current value of the key result metric, in the unit of okr_key_result_info.', (r) => r.value],
  ['okr_key_result_target', 'Target of the key result, in the unit of okr_key_result_info.', (r) => r.target],
  ['okr_key_result_baseline', 'Baseline of the key result (value at the period start), in the unit of okr_key_result_info.', (r) => r.baseline],
  ['okr_key_result_progress_ratio', 'Progress from baseline to target, 0..1.', (r) => r.progress],
  ['okr_key_result_expected_progress_ratio', 'Progress expected by now on the straight trajectory to the deadline, 0..1.', (r) => r.expected],
  ['okr_key_result_forecast', 'Value forecast at the period end (least squares over the period), in the unit of okr_key_result_info.', (r) => r.forecast],
  ['okr_key_result_score', 'OKR grade 0.0-1.0 (progress rounded to one decimal), present once the period has ended.', (r) => r.score ?? null],
  ['okr_key_result_last_evaluation_timestamp_seconds', 'When the key result was last evaluated, Unix seconds.', (r) => r.evaluatedAt / 1000],
];

const HEALTH_COUNTERS: readonly [string, string, (h: SourceHealth) => number][] = [
  ['krt_source_requests_total', 'HTTP requests made to the source by syncs of the stream.', (h) => h.requests],
  ['krt_source_not_modified_responses_total', "Requests answered 304 Not Modified (free under GitHub's rate limit).", (h) => h.notModified],
  ['krt_source_sync_failures_total', 'Syncs of the stream that failed.', (h) => h.failures],
  ['krt_source_events_stored_total', 'Events written to the store by syncs of the stream.', (h) => h.eventsStored],
];
const HEALTH_GAUGES: readonly [string, string, (h: SourceHealth) => number | null][] = [
  ['krt_source_last_sync_success_timestamp_seconds', 'When the stream last synced successfully, Unix seconds.', (h) => (h.lastSuccessAt === null ? null : h.lastSuccessAt / 1000)],
  ['krt_source_last_sync_duration_seconds', 'Duration of the last sync attempt.', (h) => h.lastDurationMs / 1000],
  ['krt_source_sync_up', '1 when the last sync attempt of the stream succeeded, else 0.', (h) => (h.lastError === null && h.lastSuccessAt !== null ? 1 : 0)],
  ['krt_source_rate_limit_remaining', "Requests left in the source's rate-limit window, as it last reported.", (h) => h.rateLimitRemaining],
];

interface KrLines {
  key: string;
  /** The okr_key_result_info line. */
  info: string;
  /** `name{labels} ` of each KR_FAMILIES family, then of each status. */
  samples: string[];
  status: string[];
}

/** The label parts of a key result's lines, made once per config (the objects of a config do not change). */
const krLines = new WeakMap<KeyResult, KrLines>();
function labelsOfKr(o: Objective, kr: KeyResult): KrLines {
  let c = krLines.get(kr);
  if (c && c.key === resultKey(o.id, kr.id)) return c;
  const l = `{objective="${escapeLabel(o.id)}",key_result="${escapeLabel(kr.id)}"`;
  c = {
    key: resultKey(o.id, kr.id),
    info: `okr_key_result_info${l},title="${escapeLabel(kr.title)}",owner="${escapeLabel(o.owner)}",metric="${escapeLabel(kr.metric)}",unit="${escapeLabel(kr.unit)}"} 1`,
    samples: KR_FAMILIES.map(([name]) => `${name}${l}} `),
    status: STATUSES.map((s) => `okr_key_result_status${l},status="${s}"} `),
  };
  krLines.set(kr, c);
  return c;
}

/**
 * The exposition of the config's key results and objectives over `snap`, with statuses as of
 * `now` (a result older than three evaluation intervals is `no_data`), and until when it holds.
 */
export function renderMetrics(config: Config, snap: Snapshot, now: number): RenderedMetrics {
  const evaluateMs = config.schedule.evaluateMs;
  let validUntil = Infinity;
  const krFamilies = KR_FAMILIES.map(([name, help]) => new Family(name, help, 'gauge'));
  const status = new Family('okr_key_result_status', 'Status of the key result: 1 for the current state, 0 for the others.', 'gauge');
  // METRICS.md "Breakdowns": one series per repository (or service) of a key result over several,
  // at most `breakdowns.max` per key result (the worst), so that the series count stays bounded.
  const component = new Family(
    'okr_key_result_component_value',
    'Value of the key result metric over one repository (or PagerDuty service) alone, in the unit of okr_key_result_info; the worst breakdowns.max per key result.',
    'gauge',
  );
  const krInfo = new Family('okr_key_result_info', 'Key result metadata; always 1.', 'gauge');
  const objInfo = new Family('okr_objective_info', 'Objective metadata (parent: the objective it aligns to, e.g. company -> team); always 1.', 'gauge');
  const objProgress = new Family(
    'okr_objective_progress_ratio',
    'Progress of the objective, 0..1: the weighted mean over its key results that have one and, rolled up, its child objectives (parent links) that have one; those without data are left out (see okr_objective_key_results_without_data).',
    'gauge',
  );
  const objWithout = new Family('okr_objective_key_results_without_data', 'Key results of the objective without a progress (no value, no baseline, not evaluated), left out of okr_objective_progress_ratio.', 'gauge');
  const objChildrenWithout = new Family(
    'okr_objective_children_without_data',
    'Child objectives (whose parent is this one) without a progress, left out of okr_objective_progress_ratio; only for objectives with children.',
    'gauge',
  );
  const confidence = new Family('okr_objective_confidence_ratio', 'Confidence 0..1 given in the latest check-in on the objective (krt checkin).', 'gauge');
  const lastCheckin = new Family('okr_objective_last_checkin_timestamp_seconds', 'When the objective last had a check-in, Unix seconds.', 'gauge');
  const revision = new Family(
    'okr_key_result_revision_timestamp_seconds',
    "When the key result's target, baseline, kind or period was last revised mid-period, Unix seconds (dashboard annotations).",
    'gauge',
  );
  // Rolled up through parent links (docs/aligned-objectives.md); without children, the key results' weighted mean.
  const tree = rolledUpProgress(config.objectives, (o, kr) => snap.results.get(resultKey(o, kr))?.progress);

  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      const c = labelsOfKr(o, kr);
      krInfo.lines.push(c.info);
      const r = snap.results.get(c.key);
      if (!r) continue;
      for (let i = 0; i < KR_FAMILIES.length; i++) {
        const v = KR_FAMILIES[i]![2](r);
        if (v !== null && Number.isFinite(v)) krFamilies[i]!.lines.push(`${c.samples[i]}${valueText(v)}`);
      }
      for (const c of r.components ?? []) {
        if (c.value === null || !Number.isFinite(c.value)) continue;
        component.add(labelsOf([['objective', o.id], ['key_result', kr.id], c.repository !== undefined ? ['repository', c.repository] : ['service', c.service ?? '']]), c.value);
      }
      const current = effectiveStatus(r, now, evaluateMs);
      validUntil = Math.min(validUntil, statusValidUntil(r, now, evaluateMs));
      for (let i = 0; i < STATUSES.length; i++) status.lines.push(`${c.status[i]}${STATUSES[i] === current ? 1 : 0}`);
    }
    const objective = escapeLabel(o.id);
    objInfo.add(labelsOf([['objective', o.id], ['title', o.title], ['owner', o.owner], ['team', o.team ?? ''], ['parent', o.parent ?? '']]), 1);
    const p = tree.get(o.id)!;
    if (p.rollup !== null) objProgress.add(`{objective="${objective}"}`, p.rollup);
    objWithout.add(`{objective="${objective}"}`, p.withoutData);
    if (p.children.length > 0) objChildrenWithout.add(`{objective="${objective}"}`, p.childrenWithoutData);
    const c = snap.checkins?.get(o.id);
    if (c) {
      confidence.add(`{objective="${objective}"}`, c.confidence);
      lastCheckin.add(`{objective="${objective}"}`, c.at / 1000);
    }
    for (const kr of o.keyResults) {
      const r = snap.revisions?.get(resultKey(o.id, kr.id));
      if (r) revision.add(labelsOf([['objective', o.id], ['key_result', kr.id]]), r.at / 1000);
    }
  }

  const health = snap.health.map((h) => labelsOf([['source', h.stream.source], ['stream', h.stream.stream], ['key', h.stream.key]]));
  const healthFamilies = [
    ...HEALTH_COUNTERS.map(([name, help, pick]) => {
      const f = new Family(name, help, 'counter');
      snap.health.forEach((h, i) => f.add(health[i]!, pick(h)));
      return f;
    }),
    ...HEALTH_GAUGES.map(([name, help, pick]) => {
      const f = new Family(name, help, 'gauge');
      snap.health.forEach((h, i) => {
        const v = pick(h);
        if (v !== null) f.add(health[i]!, v);
      });
      return f;
    }),
  ];

  const families = [...krFamilies, status, component, krInfo, objInfo, objProgress, objWithout, objChildrenWithout, confidence, lastCheckin, revision, ...healthFamilies];
  return { text: `${families.map((f) => f.lines.join('\n')).join('\n\n')}\n`, validUntil };
}

export function createMetricsExporter({ store, config, now, checkins }: MetricsExporterOptions): MetricsExporter {
  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    async render() {
      const c = config();
      return renderMetrics(c, await readSnapshot(store, c, checkins), now()).text;
    },
  };
}
