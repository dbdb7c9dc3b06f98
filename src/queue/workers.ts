import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { z } from 'zod';
import type { Config, KeyResult, Objective } from '../config/types.js';
import type { EvaluationResult } from '../core/result.js';
import { evaluateKeyResult, failedResult, planRound } from '../engine/evaluate.js';
import { RoundReader } from '../engine/round.js';
import { RateLimitError, SourceError } from '../core/errors.js';
import type { Logger } from '../lib/logger.js';
import { streamId } from '../core/stream.js';
import { type Store } from '../core/store.js';
import type { Connectors } from '../sync/connectors.js';
import { dependentStreams, streamsOf } from '../sync/plan.js';
import { runSync } from '../sync/run-sync.js';
import { dueAt, EVALUATE_QUEUE, SYNC_QUEUE, SYNC_SKIPPED, type EvaluateJob, type Queues, type SyncGate, type SyncJob } from './queues.js';
import type { BatchPlan, DirtyState, EvaluationBatches } from './batches.js';

// Job data is parsed at the boundary: a job written by another version of kr-tracker, or by
// hand, fails clearly instead of deep inside a connector.
const SyncJobSchema = z.object({ stream: z.object({ source: z.string(), stream: z.string(), key: z.string() }) });
const EvaluateJobSchema = z.object({ objectiveId: z.string(), dirty: z.boolean().optional(), keyResultId: z.string().optional() });

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
  /** Dirty marks and batch jobs of evaluation (batches.ts). */
  batches: EvaluationBatches;
}

export interface Workers {
  sync: Worker<SyncJob>;
  evaluate: Worker<EvaluateJob>;
  /** Waits for in-flight jobs to finish, then disconnects. */
  close(): Promise<void>;
}

/** For each stream id, the key results reading it, by objective; made once per config. */
function readersOf(config: () => Config): () => Map<string, [string, string[]][]> {
  let made: { config: Config; map: Map<string, [string, string[]][]> } | null = null;
  return () => {
    const c = config();
    if (made?.config === c) return made.map;
    const map = new Map<string, Map<string, string[]>>();
    for (const o of c.objectives) {
      for (const kr of o.keyResults) {
        for (const s of streamsOf(kr)) {
          const id = streamId(s);
          const byObjective = map.get(id) ?? new Map<string, string[]>();
          map.set(id, byObjective);
          byObjective.set(o.id, [...(byObjective.get(o.id) ?? []), kr.id]);
        }
      }
    }
    made = { config: c, map: new Map([...map].map(([id, byO]) => [id, [...byO]])) };
    return made.map;
  };
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
        if (report === SYNC_SKIPPED) return { skipped: 'a sync of the stream that started after this job was due covered it', covered: true };
        // Streams derived from this one (compares from deployments, coverage from runs) go next.
        for (const d of dependentStreams(opts.config(), stream)) {
          await opts.queues.sync.add('sync', { stream: d }, { deduplication: { id: `after-sync/${streamId(d)}` } });
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

  // Fresh data: the key results that read a stream are marked dirty once its sync job has
  // finished (completed, failed: their results say why, or skipped because another sync covered
  // it), so that a batch evaluates them now rather than at their next tick. Every job marks once
  // it has left `active`: a batch leaves a key result alone while a sync job of its streams is
  // waiting or running, counting on that job's mark.
  const readers = readersOf(opts.config);
  const markReaders = (job: Job<SyncJob> | undefined) => {
    const r = job ? SyncJobSchema.safeParse(job.data) : null;
    if (!r?.success) return;
    for (const [objectiveId, ids] of readers().get(streamId(r.data.stream)) ?? []) {
      opts.batches.markDirty(objectiveId, ids).catch((err: unknown) => logger.warn({ objective: objectiveId, err: err instanceof Error ? err.message : String(err) }, 'could not mark key results for evaluation; they are evaluated at their next tick'));
    }
  };
  sync.on('completed', (job) => markReaders(job));
  sync.on('failed', (job) => markReaders(job));

  /** Streams with a sync waiting or running now (not delayed: a rate-limit wait or the next tick). */
  const syncing = async (): Promise<Set<string>> => {
    const jobs = await opts.queues.sync.getJobs(['waiting', 'active', 'prioritized'], 0, -1);
    const out = new Set<string>();
    for (const j of jobs) {
      const r = SyncJobSchema.safeParse(j?.data);
      if (r.success) out.add(streamId(r.data.stream));
    }
    return out;
  };

  const evaluate = new Worker<EvaluateJob>(
    EVALUATE_QUEUE,
    async (job) => {
      const data = parse(EvaluateJobSchema, job);
      const objective = opts.config().objectives.find((o) => o.id === data.objectiveId);
      if (!objective) {
        await opts.batches.forget(data.objectiveId);
        return { skipped: 'objective no longer in the config' };
      }
      // A scheduled job asks for every key result of the objective; an older job for one.
      const asked = data.dirty ? [] : data.keyResultId !== undefined ? [data.keyResultId] : objective.keyResults.map((kr) => kr.id);
      await opts.batches.markDirty(objective.id, asked, { arm: false });
      // Marks are stamped with the wall clock (batches.ts).
      const evaluateMs = opts.config().schedule.evaluateMs;
      const plan = async ({ marks }: DirtyState): Promise<BatchPlan> => {
        const busy = marks.size ? await syncing() : new Set<string>();
        const out: BatchPlan = { evaluate: [], deferred: [] };
        for (const kr of objective.keyResults) {
          const m = marks.get(kr.id);
          if (!m) continue;
          const waits = Date.now() - m[1] < evaluateMs && streamsOf(kr).some((s) => busy.has(streamId(s)));
          (waits ? out.deferred : out.evaluate).push(kr.id);
        }
        return out;
      };
      const run = await opts.batches.run(objective, plan, (ids) => evaluateBatch(objective, ids));
      if (run.failed.length) throw new Error(`${run.failed.length} of ${run.done.length + run.failed.length} key results of ${objective.id} could not be evaluated (first: ${run.firstError}); retrying them`);
      return { evaluated: run.done.length, deferred: run.deferred.length };
    },
    { connection, prefix, concurrency },
  );

  /** Evaluates key results of one objective in one round; those that threw stay dirty for the job's retry. */
  async function evaluateBatch(objective: Objective, ids: string[]) {
    const krs = ids.map((id) => objective.keyResults.find((k) => k.id === id)).filter((k): k is KeyResult => k !== undefined);
    const done: string[] = [];
    const failed: string[] = [];
    let firstError = '';
    let known: Set<string> | null = null;
    const at = now();
    const round = new RoundReader(store);
    const live = opts.connectors().live;
    await planRound(round, krs.map((kr) => ({ objective, kr })), at).catch(() => {
      // A failed read ahead (Redis down) is met again, per key result, below.
    });
    for (const kr of krs) {
      try {
        const result = await evaluateKeyResult(objective, kr, { store, at, now, live, round });
        await store.putResult(result);
        done.push(kr.id);
        await opts.onResult?.(objective, kr, result);
      } catch (err) {
        // A source that is down: the job is retried with backoff. A key result that has never had
        // a value shows why meanwhile; one that has keeps it until it goes stale.
        failed.push(kr.id);
        firstError ||= err instanceof Error ? err.message : String(err);
        known ??= await store.getResults().then(
          (rs) => new Set(rs.filter((r) => r.objectiveId === objective.id).map((r) => r.keyResultId)),
          () => new Set(ids),
        );
        if (!known.has(kr.id)) await store.putResult(failedResult(objective, kr, at, now(), err)).catch(() => undefined);
      }
    }
    return { done, failed, firstError };
  }

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
