// One evaluation round: every key result evaluated at one instant shares one read of each
// partition it needs and one read of the source health.
import { eventTime, type EventKind, type EventKinds } from '../core/events.js';
import { environmentPattern, patternPartitions, streamId, streams, type PatternCursor } from '../core/stream.js';
import { type SourceHealth, type Store } from '../core/store.js';

/** Events of one partition whose time (eventTime) lies in [from, to]. */
export interface Read {
  kind: EventKind;
  partition: string;
  from: number;
  to: number;
}

interface Partition {
  /** Disjoint inclusive ranges already read, in order. */
  covered: [number, number][];
  /** Event id -> [time, event]. */
  events: Map<string, [number, unknown]>;
  /** Reads of this partition run one after the other, so that ranges are never read twice. */
  busy: Promise<unknown>;
}

/**
 * A per-round cache in front of the store: `read` serves what an earlier read of the round
 * covered and asks the store only for the rest of the range (through its time index), and
 * `plan` reads, for each partition, the union of the ranges the round's key results need in one
 * go. Events are parsed once and shared: metric functions never modify their input.
 */
export class RoundReader {
  readonly #store: Store;
  readonly #partitions = new Map<string, Partition>();
  #health: Promise<Map<string, SourceHealth>> | null = null;
  readonly #memo = new Map<string, Promise<unknown>>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** The source health by stream id, read once per round. */
  health(): Promise<Map<string, SourceHealth>> {
    this.#health ??= this.#store.getSourceHealth().then(
      (all) => new Map(all.map((h) => [streamId(h.stream), h])),
      (err: unknown) => {
        this.#health = null; // the next key result asks again
        throw err;
      },
    );
    return this.#health;
  }

  /**
   * What `derive` makes of the round's events, made once per round for each key: key results
   * reading the same partitions over the same ranges share their deployments, rollback flags,
   * lead-time walk.
   */
  memo<T>(key: string, derive: () => Promise<T>): Promise<T> {
    let p = this.#memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = derive();
      this.#memo.set(key, p);
      p.catch(() => this.#memo.delete(key));
    }
    return p;
  }

  /** Reads ahead, for each partition, every range of `reads` (merged), so later reads hit the cache. */
  async plan(reads: readonly Read[]): Promise<void> {
    const byPartition = new Map<string, Read[]>();
    for (const r of reads) {
      const k = `${r.kind}:${r.partition}`;
      const list = byPartition.get(k);
      if (list) list.push(r);
      else byPartition.set(k, [r]);
    }
    await Promise.all(
      [...byPartition.values()].map(async (list) => {
        const first = list[0] as Read;
        for (const [from, to] of merge(list.map((r) => [r.from, r.to]))) await this.#ensure(first.kind, first.partition, from, to);
      }),
    );
  }

  /** The partition's events with time in [from, to]. */
  async read<K extends EventKind>(kind: K, partition: string, from: number, to: number): Promise<EventKinds[K][]> {
    const p = await this.#ensure(kind, partition, from, to);
    const out: EventKinds[K][] = [];
    for (const [t, e] of p.events.values()) if (t >= from && t <= to) out.push(e as EventKinds[K]);
    return out;
  }

  async #ensure(kind: EventKind, partition: string, from: number, to: number): Promise<Partition> {
    const key = `${kind}:${partition}`;
    let p = this.#partitions.get(key);
    if (!p) this.#partitions.set(key, (p = { covered: [], events: new Map(), busy: Promise.resolve() }));
    const part = p;
    const run = part.busy.then(async () => {
      for (const [a, b] of gaps(part.covered, from, to)) {
        for (const stored of await this.#storedPartitions(kind, partition)) {
          for (const e of await this.#store.getEventsInRange(kind, stored, a, b)) part.events.set(String(e.id), [eventTime(kind, e), e]);
        }
        part.covered = merge([...part.covered, [a, b]]);
      }
    });
    part.busy = run.catch(() => undefined);
    await run;
    return part;
  }

  /**
   * Where a partition's events are stored: itself, or for the deployments of an environment
   * pattern (`acme/mono@production-*`) the partitions of the environments its last sync matched
   * (the stream's cursor; none before its first sync), read once per round.
   */
  #storedPartitions(kind: EventKind, partition: string): Promise<string[]> {
    const at = partition.lastIndexOf('@');
    if (kind !== 'deployment' || at < 0) return Promise.resolve([partition]);
    const stream = streams.deployments(partition.slice(0, at), partition.slice(at + 1));
    if (environmentPattern(stream) === null) return Promise.resolve([partition]);
    return this.memo(`pattern:${partition}`, async () => patternPartitions(partition.slice(0, at), await this.#store.getCursor<PatternCursor>(stream)));
  }
}

/** Sorted, merged union of inclusive ranges. */
function merge(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The parts of [from, to] that `covered` (sorted, disjoint) leaves out; a boundary may be read again (ids dedupe). */
function gaps(covered: readonly [number, number][], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let start = from;
  let startCovered = false;
  for (const [a, b] of covered) {
    if (b < start) continue;
    if (a > to) break;
    if (a > start) out.push([start, a]);
    start = b;
    startCovered = true;
    if (start >= to) return out;
  }
  if (start < to || !startCovered) out.push([start, to]);
  return out;
}
