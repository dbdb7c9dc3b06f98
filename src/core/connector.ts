// What a connector is: it pages through one source and writes normalized events to the store.
import type { StreamKey } from './stream.js';

/** What one sync of one stream did, for logs and source-health metrics. */
export interface SyncReport {
  stream: StreamKey;
  /** HTTP requests made, and how many were answered 304 (free under GitHub's rate limit). */
  requests: number;
  notModified: number;
  /** Events written (new or changed). */
  stored: number;
  /** Rate-limit budget left after the sync, when the source reports one. */
  rateLimitRemaining: number | null;
  /**
   * Why a stream came back empty, when the source can tell (e.g. `no deployments in environment
   * "prod"; this repository has: production, staging`); kept in the stream's health for the
   * key results' reasons.
   */
  note?: string | null;
}

/** How much of a sync is done: a fraction 0..1, or pages (items) done of a known total. */
export type SyncProgress = number | { done: number; total: number };

/**
 * Callbacks a connector may call during a sync. `progress` is shown by `krt status` and
 * `/api/v1/sources` as "42%"; call it as often as convenient (writes to the store are throttled),
 * e.g. after each stored page when the number of pages is known (`Link: rel="last"`, PagerDuty's
 * `total`). A connector that never calls it shows "syncing" until it finishes.
 */
export interface SyncHooks {
  progress?(p: SyncProgress): void;
}

/** A connector pages through one source and writes normalized events to the store. */
export interface Connector {
  readonly source: string;
  /** `hooks` is optional: a connector may ignore it. */
  sync(stream: StreamKey, hooks?: SyncHooks): Promise<SyncReport>;
}
