import type { KeyResult, Objective } from '../config/types.js';
import { parseStream, streamId, type Stream, type StreamKey } from '../core/stream.js';
import { metricOf } from '../metrics/catalogue/index.js';
import { type SourceHealth, type Store } from '../core/store.js';
import { streamsOf } from '../sync/plan.js';
import { SourceError } from '../core/errors.js';
import { measurer, NotMeasuredError, readsOf, type LiveSources } from './measure.js';
import { RoundReader } from './round.js';
import { componentsOf, DEFAULT_MAX_COMPONENTS } from './components.js';
import {
  expectedProgress,
  forecastAt,
  progressOf,
  resolveKind,
  resolveTarget,
  scoreOf,
  statusOf,
} from './progress.js';
import type { EvaluationResult } from '../core/result.js';

export interface EvaluateOptions {
  store: Store;
  /** The instant evaluated. */
  at: number;
  /** Wall clock, for `evaluatedAt`. */
  now: () => number;
  /** Sources asked at evaluation time (PromQL). */
  live?: LiveSources;
  /**
   * The round this evaluation is part of (run --once, a backfill day, a batch of jobs): its key
   * results share one read of each partition and of the source health. None: a round of its own.
   */
  round?: RoundReader;
  /**
   * Whether a key result over several repositories (services) gets its per-repository values
   * (METRICS.md "Breakdowns"); default true. Backfill, which keeps values only, turns it off.
   */
  components?: boolean;
}

/** The instants a KR is measured at when evaluated at `at`: `at`, and the period start when the baseline is measured. */
export function instantsOf(objective: Objective, kr: KeyResult, at: number): number[] {
  return kr.baseline === null ? [at, objective.period.start] : [at];
}

/** Reads ahead everything the key results need at `at`, one read per partition. */
export async function planRound(round: RoundReader, krs: readonly { objective: Objective; kr: KeyResult }[], at: number): Promise<void> {
  await round.plan(krs.flatMap(({ objective, kr }) => readsOf(kr, instantsOf(objective, kr, at))));
}

/**
 * Evaluates one key result at `at`: its metric value, then the OKR semantics of METRICS.md.
 * A metric that cannot be measured becomes a `no_data` result with the reason, so that one broken
 * key result never hides the others.
 */
export async function evaluateKeyResult(
  objective: Objective,
  kr: KeyResult,
  { store, at, now, live, round = new RoundReader(store), components = true }: EvaluateOptions,
): Promise<EvaluationResult> {
  const base = emptyResult(objective, kr, at, now());
  const expected = base.expected;
  // "No deployments" and "never synced" are different things: a stream that has not synced once
  // gives no value at all rather than a count of zero.
  const health = await round.health();
  for (const s of streamsOf(kr)) {
    const h = health.get(streamId(s));
    if (!h || h.lastSuccessAt === null) {
      return { ...base, error: `${streamId(s)} has not synced yet${h?.lastError ? `: ${h.lastError}` : ''}` };
    }
  }
  // Streams that synced but matched nothing, with the source's word on why (e.g. the environments
  // a repository does have): the key result says so rather than showing a bare zero.
  const why = emptyStreamNotes(kr, health);
  const because = (msg: string | null) => (why && msg ? `${why}; ${msg}` : (why ?? msg));
  try {
    const metricAt = await measurer(kr, round, live, instantsOf(objective, kr, at));
    const value = await metricAt(at);
    const baseline = kr.baseline ?? (await metricAt(objective.period.start));
    const target = resolveTarget(kr.target, baseline);
    const kind = resolveKind(kr.kind, baseline, target);
    const parts = components && value !== null ? await componentsOf(kr, round, at, kr.breakdownMax ?? DEFAULT_MAX_COMPONENTS, live) : null;
    const result = { ...base, value, baseline, target, kind, ...(parts ? { components: parts } : {}) };
    if (value === null) return { ...result, error: why ?? noValueReason(kr) };
    if (target === null || kind === null) {
      return { ...result, error: because('no baseline: none configured and none measurable at the period start') };
    }
    const progress = progressOf(kind, value, baseline, target);
    const status = statusOf({
      kind,
      progress,
      expected,
      bands: kr.bands,
      periodEnded: at >= objective.period.end,
    });
    const history = await store.getHistory(objective.id, kr.id, objective.period.start, Math.min(at, objective.period.end));
    const points = [...history.filter((p) => p.at < at), { at, value }];
    const score = at >= objective.period.end && progress !== null ? scoreOf(progress) : null;
    return { ...result, progress, status, forecast: forecastAt(points, objective.period.end), score, error: why };
  } catch (err) {
    // A metric that cannot be measured (not supported, a source refusing for good) is reported
    // on the key result; anything else (Redis down, a source timing out) is thrown for a retry.
    if (err instanceof NotMeasuredError || (err instanceof SourceError && !err.retryable)) {
      return { ...base, error: err.message };
    }
    throw err;
  }
}

/**
 * The notes of the KR's streams that synced and stored nothing, each after its repository (the
 * stream key up to `@`): `acme/payments: no deployments in environment "prod"; this repository
 * has: production, staging`. Null when there are none.
 */
function emptyStreamNotes(kr: KeyResult, health: ReadonlyMap<string, SourceHealth>): string | null {
  const notes: string[] = [];
  for (const s of streamsOf(kr)) {
    const h = health.get(streamId(s));
    if (!h?.note || h.eventsStored > 0) continue;
    notes.push(`${noteOwner(s)}: ${h.note}`);
  }
  return notes.length ? notes.join('; ') : null;
}

/** What a stream's note is said of: its repository (with the workflow for runs), or its service. */
function noteOwner(k: StreamKey): string {
  let s: Stream;
  try {
    s = parseStream(k);
  } catch {
    return k.key;
  }
  if (s.source === 'pagerduty') return s.service;
  return s.stream === 'runs' || s.stream === 'coverage' ? `${s.repo}/${s.workflow}` : s.repo;
}

/** Why a metric gave no value, in the source's own terms. */
export function noValueReason(kr: KeyResult): string {
  return metricOf(kr.metric).wording.noValue ?? 'no events in the window to measure';
}

/** A result with no value yet: the shape every evaluation starts from. */
function emptyResult(objective: Objective, kr: KeyResult, at: number, evaluatedAt: number): EvaluationResult {
  return {
    objectiveId: objective.id,
    keyResultId: kr.id,
    metric: kr.metric,
    unit: kr.unit,
    at,
    evaluatedAt,
    value: null,
    baseline: kr.baseline,
    target: resolveTarget(kr.target, kr.baseline),
    kind: kr.kind,
    progress: null,
    expected: expectedProgress(objective.period, at),
    status: 'no_data',
    forecast: null,
    score: null,
    error: null,
  };
}

/** The `no_data` result of an evaluation that failed, carrying the reason for people to read. */
export function failedResult(objective: Objective, kr: KeyResult, at: number, evaluatedAt: number, err: unknown): EvaluationResult {
  return { ...emptyResult(objective, kr, at, evaluatedAt), error: err instanceof Error ? err.message : String(err) };
}

/** evaluateKeyResult that never throws: a failure is a `no_data` result with its reason (run --once, backfill). */
export async function evaluateOrReport(objective: Objective, kr: KeyResult, opts: EvaluateOptions): Promise<EvaluationResult> {
  try {
    return await evaluateKeyResult(objective, kr, opts);
  } catch (err) {
    return failedResult(objective, kr, opts.at, opts.now(), err);
  }
}
