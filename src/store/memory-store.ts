import type { EvaluationResult } from '../core/result.js';
import { resultKey } from '../core/result.js';
import { eventTime, type EventKind, type EventKinds } from '../core/events.js';
import { SOURCE_COUNTERS, type SourceCounts, type SourceHealth, type Store } from '../core/store.js';
import { streamId, type StreamKey } from '../core/stream.js';

/** The in-process store of `krt run --once` and the embedded demo: same contract as Redis. */
export class MemoryStore implements Store {
  readonly #events = new Map<string, Map<string, unknown>>();
  readonly #cursors = new Map<string, string>();
  readonly #etags = new Map<string, string>();
  readonly #results = new Map<string, EvaluationResult>();
  readonly #history = new Map<string, { at: number; value: number }[]>();
  readonly #health = new Map<string, SourceHealth>();

  async putEvents<K extends EventKind>(stream: StreamKey | null, kind: K, partition: string, events: EventKinds[K][], cursor?: unknown): Promise<void> {
    const k = `${kind}:${partition}`;
    let m = this.#events.get(k);
    if (!m) this.#events.set(k, (m = new Map()));
    for (const e of events) m.set(String(e.id), structuredClone(e));
    if (stream && cursor !== undefined) await this.setCursor(stream, cursor);
  }

  async getEvents<K extends EventKind>(kind: K, partition: string): Promise<EventKinds[K][]> {
    const out = [...(this.#events.get(`${kind}:${partition}`)?.values() ?? [])].map((e) => structuredClone(e) as EventKinds[K]);
    this.eventsRead += out.length;
    return out;
  }

  async getEventsInRange<K extends EventKind>(kind: K, partition: string, from: number, to: number): Promise<EventKinds[K][]> {
    const out: EventKinds[K][] = [];
    for (const e of this.#events.get(`${kind}:${partition}`)?.values() ?? []) {
      const t = eventTime(kind, e as EventKinds[K]);
      if (t >= from && t <= to) out.push(structuredClone(e) as EventKinds[K]);
    }
    this.eventsRead += out.length;
    return out;
  }

  /** Events returned by getEvents and getEventsInRange since the store was created (tests and benchmarks). */
  eventsRead = 0;

  async getCursor<T>(stream: StreamKey): Promise<T | null> {
    const v = this.#cursors.get(streamId(stream));
    return v === undefined ? null : (JSON.parse(v) as T);
  }

  async setCursor(stream: StreamKey, cursor: unknown): Promise<void> {
    this.#cursors.set(streamId(stream), JSON.stringify(cursor));
  }

  async getEtag(url: string): Promise<string | null> {
    return this.#etags.get(url) ?? null;
  }

  async setEtag(url: string, etag: string): Promise<void> {
    this.#etags.set(url, etag);
  }

  async putResult(result: EvaluationResult): Promise<void> {
    this.#results.set(resultKey(result.objectiveId, result.keyResultId), result);
    if (result.value !== null) await this.putHistory(result.objectiveId, result.keyResultId, [{ at: result.at, value: result.value }]);
  }

  async putHistory(objectiveId: string, keyResultId: string, points: { at: number; value: number }[]): Promise<void> {
    const k = resultKey(objectiveId, keyResultId);
    const ats = new Set(points.map((p) => p.at));
    const h = (this.#history.get(k) ?? []).filter((p) => !ats.has(p.at)).concat(points.map((p) => ({ ...p })));
    h.sort((a, b) => a.at - b.at);
    this.#history.set(k, h);
  }

  async getResults(): Promise<EvaluationResult[]> {
    return [...this.#results.values()];
  }

  async getHistory(objectiveId: string, keyResultId: string, from: number, to: number) {
    return (this.#history.get(resultKey(objectiveId, keyResultId)) ?? []).filter((p) => p.at >= from && p.at <= to);
  }

  async retainResults(keep: Set<string>): Promise<void> {
    for (const k of [...this.#results.keys()]) if (!keep.has(k)) this.#results.delete(k);
    for (const k of [...this.#history.keys()]) if (!keep.has(k)) this.#history.delete(k);
  }

  async getSourceHealth(): Promise<SourceHealth[]> {
    return [...this.#health.values()].map((h) => structuredClone(h));
  }

  async putSourceHealth(h: SourceHealth): Promise<void> {
    this.#health.set(streamId(h.stream), structuredClone(h));
  }

  async recordSourceHealth(h: SourceHealth, added: Partial<SourceCounts>): Promise<void> {
    const prev = this.#health.get(streamId(h.stream));
    const next = structuredClone(h);
    for (const c of SOURCE_COUNTERS) next[c] = (prev ?? h)[c] + (added[c] ?? 0);
    this.#health.set(streamId(h.stream), next);
  }

  async close(): Promise<void> {}
}
