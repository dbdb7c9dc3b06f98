import type { StreamKey } from '../src/store/store.js';

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
}

/** A connector pages through one source and writes normalized events to the store. */
export interface Connector {
  readonly source: string;
  sync(stream: StreamKey): Promise<SyncReport>;
}
