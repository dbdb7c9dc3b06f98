import type { Config } from '../config/types.js';
import { RateLimitError, SourceError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { streamId, type Store, type StreamKey } from '../store/store.js';
import type { Connectors } from '../sync/connectors.js';
import { planStreams } from '../sync/plan.js';
import { runSync } from '../sync/run-sync.js';
import { evaluateOrReport, planRound } from './evaluate.js';
import { RoundReader } from './round.js';
import type { EvaluationResult } from './result.js';

export interface RunOnceOptions {
  config: Config;
  store: Store;
  connectors: Connectors;
  logger: Logger;
  /** The instant evaluated (default: now). */
  at?: number;
  now: () => number;
  /**
   * When a stream hits a source's rate limit, wait for the reset and sync it again (`--wait`).
   * Without it the stream stays `waiting` and the caller reports it.
   */
  waitForRateLimit?: boolean;
  /** Told before each wait, e.g. to say so on stderr. */
  onWait?: (stream: StreamKey, until: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** Rate-limit resets waited for per stream with `waitForRateLimit`: a source that keeps refusing is not waited on forever. */
const MAX_WAITS = 3;

/**
 * After this many streams of a source in a row fail with an error worth retrying (no answer, a
 * 5xx), its remaining streams are not tried: each would spend its retries on the same outage, and
 * a one-shot run against an unreachable source should end in seconds, not minutes.
 */
const FAILURES_BEFORE_SKIPPING = 2;

/** Records a stream not tried because its source is down, as a failure with the reason. */
async function recordSkipped(store: Store, stream: StreamKey, reason: string, at: number): Promise<void> {
  const prev = (await store.getSourceHealth()).find((h) => streamId(h.stream) === streamId(stream));
  await store.putSourceHealth({
    stream,
    lastSuccessAt: null,
    lastDurationMs: 0,
    requests: 0,
    notModified: 0,
    eventsStored: 0,
    rateLimitRemaining: null,
    ...prev,
    lastAttemptAt: at,
    lastError: reason,
    failures: (prev?.failures ?? 0) + 1,
    state: 'failed',
    progress: null,
    waitingUntil: null,
  });
}

/**
 * Syncs every stream the config needs, then evaluates every key result at `at`. A stream that
 * fails is recorded (its state in the source health says why) and its key results come out as
 * `no_data` with the reason; the others go on.
 */
export async function runOnce(opts: RunOnceOptions): Promise<EvaluationResult[]> {
  const { config, store, logger, now } = opts;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const failuresInARow = new Map<string, { count: number; last: string }>();
  for (const stream of planStreams(config)) {
    const down = failuresInARow.get(stream.source);
    if (down && down.count >= FAILURES_BEFORE_SKIPPING) {
      await recordSkipped(store, stream, `not tried: the last ${down.count} streams of ${stream.source} failed (${down.last})`, now());
      continue;
    }
    let err: unknown = null;
    for (let waits = 0; ; waits++) {
      err = await runSync(stream, { connectors: opts.connectors, store, logger, now }).then(
        () => null,
        (e: unknown) => e,
      );
      if (!(err instanceof RateLimitError) || !opts.waitForRateLimit || waits >= MAX_WAITS) break;
      opts.onWait?.(stream, err.resetAt);
      // A second past the reset: the source's clock and ours may differ by a little.
      await sleep(Math.max(0, err.resetAt - now()) + 1000);
    }
    // Decided by the error's type: a retryable source error that is not a rate limit.
    if (err instanceof SourceError && err.retryable && !(err instanceof RateLimitError)) {
      failuresInARow.set(stream.source, { count: (down?.count ?? 0) + 1, last: err.message });
    } else {
      failuresInARow.delete(stream.source);
    }
  }
  const at = opts.at ?? now();
  const results: EvaluationResult[] = [];
  // One round: every key result shares one read of each partition and of the source health.
  const round = new RoundReader(store);
  await planRound(round, config.objectives.flatMap((objective) => objective.keyResults.map((kr) => ({ objective, kr }))), at).catch(() => {
    // A failed read ahead (Redis down) is met again, and reported per key result, below.
  });
  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      const r = await evaluateOrReport(o, kr, { store, at, now, live: opts.connectors.live, round });
      await store.putResult(r);
      results.push(r);
    }
  }
  return results;
}
