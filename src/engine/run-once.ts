import type { Config } from '../config/types.js';
import { RateLimitError, SourceError } from '../core/errors.js';
import type { Logger } from '../lib/logger.js';
import { newSourceHealth, type Store } from '../core/store.js';
import { streamId, type StreamKey } from '../core/stream.js';
import type { Connectors } from '../sync/connectors.js';
import { dependentStreams, planStreams } from '../sync/plan.js';
import { runSync } from '../sync/run-sync.js';
import { evaluateOrReport, planRound } from './evaluate.js';
import { RoundReader } from './round.js';
import type { EvaluationResult } from '../core/result.js';

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

/**
 * Streams of one source synced at once, once the source has answered one sync: requests of a
 * token are capped by its client (GitHub: 4 in flight) anyway, and an unreachable source is found
 * out by one stream at a time (see FAILURES_BEFORE_SKIPPING), not by several at once.
 */
const STREAMS_IN_FLIGHT = 4;

/** Records a stream not tried because its source is down, as a failure with the reason. */
async function recordSkipped(store: Store, stream: StreamKey, reason: string, at: number): Promise<void> {
  const prev = (await store.getSourceHealth()).find((h) => streamId(h.stream) === streamId(stream));
  await store.recordSourceHealth(
    { ...(prev ?? newSourceHealth(stream, at)), lastAttemptAt: at, lastError: reason, state: 'failed', progress: null, waitingUntil: null },
    { failures: 1 },
  );
}

/**
 * Syncs the streams, each source on its own, a derived stream (compare, coverage) only after the
 * streams it is computed from. Failures are recorded in the source health, not thrown.
 */
async function syncStreams(opts: RunOnceOptions, streams: StreamKey[]): Promise<void> {
  const { config, store, logger, now } = opts;
  const finished = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  for (const s of streams) {
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    finished.set(streamId(s), { promise, resolve });
  }
  const after = new Map<string, string[]>();
  for (const s of streams) {
    for (const d of dependentStreams(config, s)) after.set(streamId(d), [...(after.get(streamId(d)) ?? []), streamId(s)]);
  }

  /** Syncs one stream (waiting out rate limits with `waitForRateLimit`); whether it succeeded. */
  const waitForRateLimit = opts.waitForRateLimit ? { times: MAX_WAITS, onWait: opts.onWait } : undefined;
  const syncOne = async (stream: StreamKey): Promise<{ ok: boolean; err: unknown }> => {
    const err = await runSync(stream, { connectors: opts.connectors, store, logger, now, sleep: opts.sleep, waitForRateLimit }).then(
      () => null,
      (e: unknown) => e,
    );
    return { ok: err === null, err };
  };

  const bySource = new Map<string, StreamKey[]>();
  for (const s of streams) bySource.set(s.source, [...(bySource.get(s.source) ?? []), s]);
  await Promise.all(
    [...bySource.values()].map(async (list) => {
      let next = 0;
      let answered = false;
      let down: { count: number; last: string } | null = null;
      const take = async (): Promise<void> => {
        const stream = list[next++] as StreamKey;
        const id = streamId(stream);
        try {
          for (const dep of after.get(id) ?? []) await finished.get(dep)?.promise;
          if (down && down.count >= FAILURES_BEFORE_SKIPPING) {
            await recordSkipped(store, stream, `not tried: the last ${down.count} streams of ${stream.source} failed (${down.last})`, now());
            return;
          }
          const { ok, err } = await syncOne(stream);
          if (ok) answered = true;
          // Decided by the error's type: a retryable source error that is not a rate limit.
          if (err instanceof SourceError && err.retryable && !(err instanceof RateLimitError)) {
            down = { count: (down?.count ?? 0) + 1, last: err.message };
          } else {
            down = null;
          }
        } finally {
          finished.get(id)?.resolve();
        }
      };
      // One stream at a time until the source has answered, then several.
      while (!answered && next < list.length) await take();
      await Promise.all(
        Array.from({ length: STREAMS_IN_FLIGHT }, async () => {
          while (next < list.length) await take();
        }),
      );
    }),
  );
}

/**
 * Syncs every stream the config needs, then evaluates every key result at `at`. A stream that
 * fails is recorded (its state in the source health says why) and its key results come out as
 * `no_data` with the reason; the others go on.
 */
export async function runOnce(opts: RunOnceOptions): Promise<EvaluationResult[]> {
  const { config, store, now } = opts;
  await syncStreams(opts, planStreams(config));
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
