import type { EventKind, EventKinds } from './events.js';
import type { EvaluationResult } from './result.js';
import type { StreamKey } from './stream.js';


/**
 * Where a stream stands: a sync in progress, the last one complete, waiting for a rate-limit
 * reset, or failed (`lastError` says why). See docs/sources-status.md.
 */
export type StreamState = 'syncing' | 'synced' | 'waiting' | 'failed';

/** What the last syncs of one stream did: the source-health metrics read it. */
export interface SourceHealth {
  stream: StreamKey;
  lastAttemptAt: number;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastDurationMs: number;
  /** Totals since the store was created. */
  requests: number;
  notModified: number;
  failures: number;
  eventsStored: number;
  rateLimitRemaining: number | null;
  /** Absent in health written before streams had states: derived from lastError (sources-view.ts). */
  state?: StreamState;
  /** Share of the current sync done (0..1) when the connector reports it; 1 once synced. */
  progress?: number | null;
  /** With state `waiting`: when the source's rate limit resets (epoch ms). */
  waitingUntil?: number | null;
  /** What the source said about an empty stream, e.g. the environments a repository does have. */
  note?: string | null;
}

/** The counters of SourceHealth: totals that every process of a deployment adds to. */
export const SOURCE_COUNTERS = ['requests', 'notModified', 'failures', 'eventsStored'] as const;
export type SourceCounts = Record<(typeof SOURCE_COUNTERS)[number], number>;

/** The health of a stream that has never been synced, as of `at`. */
export function newSourceHealth(stream: StreamKey, at: number): SourceHealth {
  return { stream, lastAttemptAt: at, lastSuccessAt: null, lastError: null, lastDurationMs: 0, requests: 0, notModified: 0, failures: 0, eventsStored: 0, rateLimitRemaining: null };
}

/**
 * Where events, sync cursors and evaluation results live. Two implementations: Redis (the
 * service; any number of processes agree) and memory (`krt run --once`, embedded demo).
 *
 * Events are kept by kind and partition (deployments of `acme/payments@production`, incidents of
 * service `PXXXX`), keyed by their source id. Writes of a page are atomic:
 * `putEvents(stream, kind, partition, events, cursor)` stores the events and moves the cursor in
 * one transaction, so a crash between pages loses nothing and replaying a page duplicates nothing.
 */
export interface Store {
  putEvents<K extends EventKind>(stream: StreamKey | null, kind: K, partition: string, events: EventKinds[K][], cursor?: unknown): Promise<void>;
  /** Every event of the partition (connectors: what is already stored). */
  getEvents<K extends EventKind>(kind: K, partition: string): Promise<EventKinds[K][]>;
  /**
   * The events of the partition whose time (`eventTime`) lies in [from, to], read through the
   * partition's time index without touching the others; from/to may be -Infinity/Infinity.
   */
  getEventsInRange<K extends EventKind>(kind: K, partition: string, from: number, to: number): Promise<EventKinds[K][]>;
  getCursor<T>(stream: StreamKey): Promise<T | null>;
  setCursor(stream: StreamKey, cursor: unknown): Promise<void>;
  /** ETags of GET requests by URL, for conditional requests. */
  getEtag(url: string): Promise<string | null>;
  setEtag(url: string, etag: string): Promise<void>;
  putResult(result: EvaluationResult): Promise<void>;
  getResults(): Promise<EvaluationResult[]>;
  /** Records past values of a KR without touching its latest result (`krt backfill`). */
  putHistory(objectiveId: string, keyResultId: string, points: { at: number; value: number }[]): Promise<void>;
  /** Values recorded for a KR in [from, to], oldest first. */
  getHistory(objectiveId: string, keyResultId: string, from: number, to: number): Promise<{ at: number; value: number }[]>;
  /** Drop results and history of KRs that left the config. */
  retainResults(keep: Set<string>): Promise<void>;
  getSourceHealth(): Promise<SourceHealth[]>;
  /** Writes a stream's health as given, counters included (tests, fixtures). */
  putSourceHealth(h: SourceHealth): Promise<void>;
  /**
   * Writes a stream's health and adds `added` to its counters atomically, so that concurrent
   * writers (several processes) lose no count. The counters of `h` are those read before; they
   * only start a stream that has none stored yet.
   */
  recordSourceHealth(h: SourceHealth, added: Partial<SourceCounts>): Promise<void>;
  close(): Promise<void>;
}
