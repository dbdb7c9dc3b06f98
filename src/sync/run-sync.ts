import { realSleep, retry, type Sleep } from '../../connectors/kit/retry.js';
import type { SyncHooks, SyncReport } from '../core/connector.js';
import { RateLimitError, SourceError } from '../core/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SourceHealth, Store } from '../core/store.js';
import type { StreamKey } from '../core/stream.js';
import { newSourceHealth } from '../core/store.js';
import { streamId } from '../core/stream.js';
import type { Connectors } from './connectors.js';
import { startStreamState } from './stream-state.js';

export interface RunSyncOptions {
  connectors: Connectors;
  store: Store;
  logger: Logger;
  now: () => number;
  /**
   * Stream-level retries after a retryable source error (5xx, network, timeout), on top of the
   * client's own: the stream resumes from its stored cursor. Default: 3 retries with backoff from
   * 250 ms, at most 5 s in all, so a one-shot run against an unreachable source fails fast.
   */
  retry?: { retries?: number; baseMs?: number; maxTotalMs?: number };
  /**
   * A RateLimitError: wait for its reset (told to `onWait` first) and go on, at most `times` times;
   * without it, fail at once with the reset time (the service's queue moves the job to delayed).
   */
  waitForRateLimit?: { times: number; onWait?: (stream: StreamKey, until: number) => void };
  sleep?: Sleep;
}

/** Whether trying the stream again can help: typed source errors say so; HTTP-like ones by status. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RateLimitError) return false;
  if (err instanceof SourceError) return err.retryable;
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof SourceError) return cause.retryable && !(cause instanceof RateLimitError);
  const status = (err as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 500;
}

/**
 * Syncs one stream and records its health (last success, errors, requests, rate limit), which the
 * exporter publishes and the engine reads to tell "no deployments" from "never synced".
 * Errors are rethrown after they are recorded, for the queue's retry policy.
 */
export async function runSync(stream: StreamKey, opts: RunSyncOptions): Promise<SyncReport> {
  const { store, logger, now } = opts;
  const started = now();
  const prev = (await store.getSourceHealth()).find((h) => streamId(h.stream) === streamId(stream));
  const base: SourceHealth = prev ?? newSourceHealth(stream, started);
  const tracker = await startStreamState(base, started, { store, logger, now });
  try {
    const report = await syncWithRetries(stream, opts, tracker.hooks);
    const end = now();
    await store.recordSourceHealth(
      {
        ...base,
        lastAttemptAt: started,
        lastSuccessAt: end,
        lastError: null,
        lastDurationMs: end - started,
        rateLimitRemaining: report.rateLimitRemaining ?? base.rateLimitRemaining,
        ...(await tracker.settle({ report })),
      },
      { requests: report.requests, notModified: report.notModified, eventsStored: report.stored },
    );
    logger.info(
      { stream: streamId(stream), requests: report.requests, notModified: report.notModified, stored: report.stored, ms: end - started },
      'sync done',
    );
    return report;
  } catch (err) {
    const end = now();
    const message = err instanceof Error ? err.message : String(err);
    await store.recordSourceHealth(
      { ...base, lastAttemptAt: started, lastError: message, lastDurationMs: end - started, ...(await tracker.settle({ error: err })) },
      { failures: 1 },
    );
    logger.warn({ stream: streamId(stream), err: message }, 'sync failed');
    throw err;
  }
}

async function syncWithRetries(stream: StreamKey, opts: RunSyncOptions, hooks?: SyncHooks): Promise<SyncReport> {
  const { connectors, logger, now } = opts;
  const sleep = opts.sleep ?? realSleep;
  const r = opts.retry ?? {};
  for (let waits = 0; ; waits++) {
    try {
      return await retry(() => connectors.sync(stream, hooks), {
        retries: r.retries ?? 3,
        baseMs: r.baseMs ?? 250,
        maxTotalMs: r.maxTotalMs ?? 5000,
        sleep,
        now,
        shouldRetry: isRetryable,
        onRetry: (err, attempt, waitMs) =>
          logger.warn({ stream: streamId(stream), attempt, waitMs, err: err instanceof Error ? err.message : String(err) }, 'sync failed; retrying the stream'),
      });
    } catch (err) {
      const wait = opts.waitForRateLimit;
      if (!(err instanceof RateLimitError) || !wait || waits >= wait.times) throw err;
      wait.onWait?.(stream, err.resetAt);
      // A second past the reset: the source's clock and ours may differ by a little.
      const waitMs = Math.max(0, err.resetAt - now()) + 1000;
      logger.warn({ stream: streamId(stream), resetAt: new Date(err.resetAt).toISOString(), waitMs }, 'rate limit spent; waiting for the reset');
      await sleep(waitMs);
    }
  }
}
