// From stored events to a metric value: reads what the metric's descriptor (src/metrics/catalogue)
// asks for through the round's reader, shared by the round's key results, and hands it the events.
import type { KeyResult } from '../config/types.js';
import type { Deployment, EventKind, EventKinds } from '../core/events.js';
import { successfulDeployments } from '../core/deployments.js';
import type { Store } from '../core/store.js';
import { metricOf, NotMeasuredError } from '../metrics/catalogue/index.js';
import type { MeasureContext, ValueAt } from '../metrics/catalogue/types.js';
import { deploymentsFromRuns } from '../metrics/deployments-from-runs.js';
import { rollbackFlags } from '../metrics/rollbacks.js';
import { RoundReader, type Read } from './round.js';

export { NotMeasuredError };

/** Sources read live at evaluation time rather than from stored events. */
export interface LiveSources {
  promql?: (kr: KeyResult, at: number) => Promise<number | null>;
}

/**
 * What a KR reads to be measured at the instants `ats`: for each partition, the range of event
 * times (eventTime) its definition looks at, so that cost follows the window, not the history
 * (each metric's descriptor says which, `reads` in src/metrics/catalogue):
 *   - a window (at - W, at] of the event time the metric filters on;
 *   - plus what the definition needs beyond it (the incidents after each deployment of the window);
 *   - the history up to the instant where the definition walks it (rollback flags, lead time, the
 *     latest coverage report, incidents indexed by creation and counted at resolution).
 * Each range is inclusive; the metric functions keep applying their own (at - W, at] filter.
 */
export function readsOf(kr: KeyResult, ats: readonly number[]): Read[] {
  const out: Read[] = [];
  metricOf(kr.metric).reads(kr, {
    ats,
    lo: Math.min(...ats),
    hi: Math.max(...ats),
    windows: () => ats.map((t) => [t - kr.windowMs, t]),
    add(kind, partitions, ranges) {
      for (const partition of partitions) for (const [from, to] of ranges) out.push({ kind, partition, from, to });
    },
  });
  return out;
}

/** The round's memo key of what is derived from these reads of these kinds. */
function keyOf(what: string, reads: readonly Read[], kinds: readonly EventKind[]): string {
  return `${what}|${reads
    .filter((r) => kinds.includes(r.kind))
    .map((r) => `${r.kind}:${r.partition}:${r.from}:${r.to}`)
    .join('|')}`;
}

/** The events of `reads` of one kind, each once; shared by the round's key results making the same reads. */
function eventsOf<K extends EventKind>(reader: RoundReader, reads: readonly Read[], kind: K): Promise<EventKinds[K][]> {
  return reader.memo(keyOf('events', reads, [kind]), async () => {
    const mine = reads.filter((r) => r.kind === kind);
    return dedupe((await Promise.all(mine.map((r) => reader.read(kind, r.partition, r.from, r.to)))).flat());
  });
}

/** Successful deployments of the KR's repositories, from either deployment source of METRICS.md. */
function deploymentsOf(kr: KeyResult, reader: RoundReader, reads: readonly Read[]): Promise<Deployment[]> {
  const d = kr.deployments;
  return reader.memo(keyOf(`deployments:${d.source === 'deployments' ? '' : `${d.workflow}@${d.branch}`}`, reads, ['deployment', 'workflow_run']), async () => {
    if (d.source === 'deployments') return successfulDeployments(await eventsOf(reader, reads, 'deployment'));
    return deploymentsFromRuns(await eventsOf(reader, reads, 'workflow_run'), { workflow: d.workflow, branch: d.branch });
  });
}

/** Rollback flags of the KR's deployments, once per round for the same reads. */
function flagsOf(kr: KeyResult, reader: RoundReader, reads: readonly Read[], d: Deployment[]): Promise<Map<string, boolean>> {
  return reader.memo(keyOf(`flags:${kr.deployments.source}`, reads, ['deployment', 'workflow_run']), async () => rollbackFlags(d));
}

/**
 * Events read for several ranges of one partition (a window now and one at the period start) may
 * overlap: each event once, as a whole-partition read gave them.
 */
function dedupe<E extends { id: string | number; repo?: string; service?: string }>(events: E[]): E[] {
  const seen = new Set<unknown>();
  return events.filter((e) => {
    const k = `${e.repo ?? e.service ?? ''}\u0000${e.id}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The metric as a function of the instant; null when there is nothing to measure (METRICS.md: never 0 for rates). */
export type Measurer = ValueAt;

/**
 * Reads the KR's events once and returns its metric as a function of the instant, so that an
 * evaluation measuring now and at the period start (the baseline) reads the store once. `ats`:
 * the instants it will be asked for (the reads are bounded by them, see readsOf); without them,
 * every event is read. `source`: the round's reader, shared by the round's key results, or a
 * store (a reader of its own).
 */
export async function measurer(kr: KeyResult, source: Store | RoundReader, live: LiveSources = {}, ats?: readonly number[]): Promise<Measurer> {
  return metricOf(kr.metric).measure(kr, measureContext(kr, source, live, ats));
}

/**
 * What a descriptor's `measure` (and `explain`) reads through: the events of the KR's reads at
 * `ats` (every event of its partitions without them), through the round's reader.
 */
export function measureContext(kr: KeyResult, source: Store | RoundReader, live: LiveSources = {}, ats?: readonly number[]): MeasureContext {
  const reader = source instanceof RoundReader ? source : new RoundReader(source);
  const reads = ats && ats.length > 0 ? readsOf(kr, ats) : readsOf(kr, [Infinity]).map((r) => ({ ...r, from: -Infinity, to: Infinity }));
  return {
    events: (kind) => eventsOf(reader, reads, kind),
    deployments: () => deploymentsOf(kr, reader, reads),
    rollbackFlags: async () => flagsOf(kr, reader, reads, await deploymentsOf(kr, reader, reads)),
    memo: (what, kinds, derive) => reader.memo(keyOf(what, reads, kinds), derive),
    promql: live.promql ? (at) => live.promql!(kr, at) : null,
  };
}
