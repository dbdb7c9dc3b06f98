// The state of one stream while and after it syncs (syncing, 42%, synced, waiting for the rate
// limit, failed), kept in its source health for `krt status`, `/api/v1/sources` and
// `krt run --once`. See docs/sources-status.md.
import type { SyncHooks, SyncProgress, SyncReport } from '../core/connector.js';
import { RateLimitError } from '../core/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SourceHealth, Store } from '../core/store.js';

/** The fraction a progress report stands for, within 0..1; null when it says nothing (no total). */
export function progressFraction(p: SyncProgress): number | null {
  const f = typeof p === 'number' ? p : p.total > 0 ? p.done / p.total : null;
  return f === null || !Number.isFinite(f) ? null : Math.min(1, Math.max(0, f));
}

export interface StreamStateTracker {
  /** Handed to the connector: its `progress` calls are written to the store, throttled. */
  hooks: SyncHooks;
  /**
   * The state fields of the health record written when the sync ends; after this, progress
   * calls are ignored, so a late progress write never lands on top of the final record.
   */
  settle(outcome: { report: SyncReport } | { error: unknown }): Promise<Partial<SourceHealth>>;
}

export interface StreamStateOptions {
  store: Store;
  logger: Logger;
  now: () => number;
  /** At most one progress write per stream this often (default 1 s), and only for a change of 1% or more. */
  minIntervalMs?: number;
}

/**
 * Marks the stream `syncing` (one write) and returns the hooks and the final state. Progress
 * writes are informational: one that fails is logged and the sync goes on.
 */
export async function startStreamState(base: SourceHealth, started: number, opts: StreamStateOptions): Promise<StreamStateTracker> {
  const { store, logger, now } = opts;
  const minInterval = opts.minIntervalMs ?? 1000;
  const syncing: SourceHealth = { ...base, lastAttemptAt: started, state: 'syncing', progress: null, waitingUntil: null };
  await store.recordSourceHealth(syncing, {});
  let fraction: number | null = null;
  let written: number | null = null;
  let writtenAt = started;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();

  const hooks: SyncHooks = {
    progress(p) {
      const f = progressFraction(p);
      if (closed || f === null) return;
      fraction = f;
      if ((written !== null && Math.abs(f - written) < 0.01) || now() - writtenAt < minInterval) return;
      written = f;
      writtenAt = now();
      chain = chain
        .then(() => (closed ? undefined : store.recordSourceHealth({ ...syncing, progress: f }, {})))
        .catch((err: unknown) => logger.warn({ stream: base.stream, err: err instanceof Error ? err.message : String(err) }, 'could not record sync progress'));
    },
  };

  return {
    hooks,
    async settle(outcome) {
      closed = true;
      await chain;
      if ('report' in outcome) {
        const { report } = outcome;
        // A stream that finally has events no longer needs the note about why it had none.
        const note = report.note !== undefined ? report.note : report.stored > 0 ? null : (base.note ?? null);
        return { state: 'synced', progress: 1, waitingUntil: null, note };
      }
      const err = outcome.error;
      if (err instanceof RateLimitError) return { state: 'waiting', progress: fraction, waitingUntil: err.resetAt };
      return { state: 'failed', progress: fraction, waitingUntil: null };
    },
  };
}
