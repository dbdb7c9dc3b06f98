import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { z } from 'zod';
import type { Config, KeyResult, Objective } from '../config/types.js';
import type { EvaluationResult } from '../core/result.js';
import { evaluateKeyResult, failedResult } from '../engine/evaluate.js';
import { RateLimitError, SourceError } from '../core/errors.js';
import type { Logger } from '../lib/logger.js';
import { streamId } from '../core/stream.js';
import { type Store } from '../core/store.js';
import type { Connectors } from '../sync/connectors.js';
import { dependentStreams, streamsOf } from '../sync/plan.js';
import { runSync } from '../sync/run-sync.js';
import { dueAt, EVALUATE_QUEUE, SYNC_QUEUE, SYNC_SKIPPED, type EvaluateJob, type Queues, type SyncGate, type SyncJob } from './queues.js';

// Job data is parsed at the boundary: a job written by another version of kr-tracker, or by
// hand, fails clearly instead of deep inside a connector.
const SyncJobSchema = z.object({ stream: z.object({ source: z.string(), stream: z.string(), key: z.string() }) });
const EvaluateJobSchema = z.object({ objectiveId: z.string(), keyResultId: z.string() });

export interface WorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  queues: Queues;
  store: Store;
  connectors: () => Connectors;
  config: () => Config;
  logger: Logger;
  now: () => number;
  concurrency?: number;
  /** Called with every new evaluation (drift alerts). */
  onResult?: (objective: Objective, kr: KeyResult, result: EvaluationResult) => Promise<unknown>;
  /** One sync of a stream at a time across every process (createSyncGate); none: no lock. */
  syncGate?: SyncGate;
}

export interface Workers {
  sync: Worker<SyncJob>;
  evaluate: Worker<EvaluateJob>;
  /** Waits for in-flight jobs to finish, then disconnects. */
  close(): Promise<void>;
}

function parse<T>(schema: z.ZodType<T>, job: Job): T {
  const r = schema.safeParse(job.data);
  if (!r.success) throw new UnrecoverableError(`job ${job.name}#${job.id} has bad data: ${z.prettifyError(r.error)}`);
  return r.data;
}

export function createWorkers(opts: WorkerOptions): Workers {
  const { connection, prefix, store, logger, now } = opts;
  const concurrency = opts.concurrency ?? 4;

  const sync: Worker<SyncJob> = new Worker<SyncJob>(
    SYNC_QUEUE,
    async (job, token) => {
      const { stream } = parse(SyncJobSchema, job);
      try {
        const run = () => runSync(stream, { connectors: opts.connectors(), store, logger, now });
        const report = opts.syncGate ? await opts.syncGate(stream, dueAt(job), run) : await run();
        if (report === SYNC_SKIPPED) return { skipped: 'a sync of the stream that started after this job was due covered it' };
        // Streams derived from this one (compares from deployments, coverage from runs) go next.
        for (const d of dependentStreams(opts.config(), stream)) {
          await opts.queues.sync.add('sync', { stream: d }, { deduplication: { id: `after-sync/${streamId(d)}` } });
        }
        // Fresh data: evaluate the key results that read this stream now rather than at their
        // next tick (deduplicated, so a burst of syncs makes one evaluation per key result).
        const id = streamId(stream);
        for (const o of opts.config().objectives) {
          for (const kr of o.keyResults) {
            if (!streamsOf(kr).some((s) => streamId(s) === id)) continue;
            await opts.queues.evaluate.add('evaluate', { objectiveId: o.id, keyResultId: kr.id }, { deduplication: { id: `after-sync/${o.id}/${kr.id}` } });
          }
        }
        return report;
      } catch (err) {
        if (err instanceof RateLimitError) {
          // The credential's budget is spent: the job waits in Redis's delayed set until the reset
          // (surviving a worker restart) without using up an attempt; other streams, possibly on
          // other credentials, go on. https://docs.bullmq.io/patterns/process-step-jobs#delaying
          const until = Math.max(err.resetAt, now() + 1000);
          logger.warn({ stream: streamId(stream), until: new Date(until).toISOString() }, 'rate limit spent; sync job delayed until the reset');
          await job.moveToDelayed(until, token);
          throw new DelayedError();
        }
        if (err instanceof SourceError && !err.retryable) throw new UnrecoverableError(err.message);
        throw err;
      }
    },
    { connection, prefix, concurrency, autorun: true },
  );

  const evaluate = new Worker<EvaluateJob>(
    EVALUATE_QUEUE,
    async (job) => {
      const { objectiveId, keyResultId } = parse(EvaluateJobSchema, job);
      const objective = opts.config().objectives.find((o) => o.id === objectiveId);
      const kr = objective?.keyResults.find((k) => k.id === keyResultId);
      if (!objective || !kr) return { skipped: 'key result no longer in the config' };
      const at = now();
      let result;
      try {
        result = await evaluateKeyResult(objective, kr, { store, at, now, live: opts.connectors().live });
      } catch (err) {
        // A source that is down: the job is retried with backoff. A key result that has never had
        // a value shows why meanwhile; one that has keeps it until it goes stale.
        const known = (await store.getResults()).some((r) => r.objectiveId === objectiveId && r.keyResultId === keyResultId);
        if (!known) await store.putResult(failedResult(objective, kr, at, now(), err));
        throw err;
      }
      await store.putResult(result);
      await opts.onResult?.(objective, kr, result);
      return { status: result.status, value: result.value };
    },
    { connection, prefix, concurrency },
  );

  for (const w of [sync, evaluate] as Worker[]) {
    w.on('failed', (job, err) => logger.warn({ queue: w.name, job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'));
    w.on('error', (err) => logger.error({ queue: w.name, err: err.message }, 'worker error'));
  }

  return {
    sync,
    evaluate,
    async close() {
      // See createAlerting's close(): a connection still initializing must finish before it closes.
      await Promise.all([sync.waitUntilReady(), evaluate.waitUntilReady()].map((p) => p.catch(() => undefined)));
      await Promise.all([sync.close(), evaluate.close()]);
    },
  };
}
