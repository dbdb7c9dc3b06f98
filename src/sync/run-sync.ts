import type { SyncReport } from '../../connectors/types.js';
import type { Logger } from '../lib/logger.js';
import type { SourceHealth, Store, StreamKey } from '../store/store.js';
import { streamId } from '../store/store.js';
import type { Connectors } from './connectors.js';
import { startStreamState } from './stream-state.js';

export interface RunSyncOptions {
  connectors: Connectors;
  store: Store;
  logger: Logger;
  now: () => number;
}

/**
 * Syncs one stream and records its health (last success, errors, requests, rate limit), which the
 * exporter publishes and the engine reads to tell "no deployments" from "never synced".
 * Errors are rethrown after they are recorded, for the queue's retry policy.
 */
export async function runSync(stream: StreamKey, { connectors, store, logger, now }: RunSyncOptions): Promise<SyncReport> {
  const started = now();
  const prev = (await store.getSourceHealth()).find((h) => streamId(h.stream) === streamId(stream));
  const base: SourceHealth = prev ?? {
    stream,
    lastAttemptAt: started,
    lastSuccessAt: null,
    lastError: null,
    lastDurationMs: 0,
    requests: 0,
    notModified: 0,
    failures: 0,
    eventsStored: 0,
    rateLimitRemaining: null,
  };
  const tracker = await startStreamState(base, started, { store, logger, now });
  try {
    const report = await connectors.sync(stream, tracker.hooks);
    const end = now();
    await store.putSourceHealth({
      ...base,
      lastAttemptAt: started,
      lastSuccessAt: end,
      lastError: null,
      lastDurationMs: end - started,
      requests: base.requests + report.requests,
      notModified: base.notModified + report.notModified,
      eventsStored: base.eventsStored + report.stored,
      rateLimitRemaining: report.rateLimitRemaining ?? base.rateLimitRemaining,
      ...(await tracker.settle({ report })),
    });
    logger.info(
      { stream: streamId(stream), requests: report.requests, notModified: report.notModified, stored: report.stored, ms: end - started },
      'sync done',
    );
    return report;
  } catch (err) {
    const end = now();
    const message = err instanceof Error ? err.message : String(err);
    await store.putSourceHealth({
      ...base,
      lastAttemptAt: started,
      lastError: message,
      lastDurationMs: end - started,
      failures: base.failures + 1,
      ...(await tracker.settle({ error: err })),
    });
    logger.warn({ stream: streamId(stream), err: message }, 'sync failed');
    throw err;
  }
}
