import { streamId, type StreamKey } from '../core/stream.js';
import { type SourceHealth, type StreamState } from '../core/store.js';

/** One stream as `/api/v1/sources`, `krt status` and `krt run --once` show it (docs/sources-status.md). */
export interface SourceView {
  source: string;
  stream: string;
  key: string;
  /** `pending`: the config needs the stream and it has not been tried yet. */
  state: StreamState | 'pending';
  /** 0..1 of the current sync when its connector reports it; 1 once synced. */
  progress: number | null;
  /** With state `waiting`: when the rate limit resets (ISO). */
  waitingUntil: string | null;
  lastAttemptAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  /** Why the stream is empty, when the source said (e.g. the environments a repository has). */
  note: string | null;
  requests: number;
  notModified: number;
  failures: number;
  eventsStored: number;
  rateLimitRemaining: number | null;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** The state of a health record, also for records written before streams had one. */
export function stateOf(h: SourceHealth): StreamState {
  if (h.state) return h.state;
  return h.lastError !== null ? 'failed' : 'synced';
}

/**
 * The streams the config needs, in its order, each with its health; streams without health yet
 * are `pending`. Health of streams the config no longer reads is left out.
 */
export function sourcesView(streams: readonly StreamKey[], health: readonly SourceHealth[]): SourceView[] {
  const byId = new Map(health.map((h) => [streamId(h.stream), h]));
  return streams.map((s): SourceView => {
    const h = byId.get(streamId(s));
    const base = { source: s.source, stream: s.stream, key: s.key };
    if (!h) {
      return { ...base, state: 'pending', progress: null, waitingUntil: null, lastAttemptAt: null, lastSuccessAt: null, lastError: null, note: null, requests: 0, notModified: 0, failures: 0, eventsStored: 0, rateLimitRemaining: null };
    }
    const state = stateOf(h);
    return {
      ...base,
      state,
      progress: h.progress ?? (state === 'synced' ? 1 : null),
      waitingUntil: state === 'waiting' ? iso(h.waitingUntil) : null,
      lastAttemptAt: iso(h.lastAttemptAt),
      lastSuccessAt: iso(h.lastSuccessAt),
      lastError: h.lastError,
      note: h.note ?? null,
      requests: h.requests,
      notModified: h.notModified,
      failures: h.failures,
      eventsStored: h.eventsStored,
      rateLimitRemaining: h.rateLimitRemaining,
    };
  });
}
