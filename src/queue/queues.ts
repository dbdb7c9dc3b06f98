import { randomUUID } from 'node:crypto';
import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import type { RedisClient } from '../lib/redis.js';
import type { Config } from '../config/types.js';
import { streamId, type StreamKey } from '../core/stream.js';
import { planStreams } from '../sync/plan.js';

export const SYNC_QUEUE = 'krt-sync';
export const EVALUATE_QUEUE = 'krt-evaluate';

export interface SyncJob {
  stream: StreamKey;
}
/**
 * An evaluation of an objective's key results in one round (batches.ts). From its scheduler: all
 * of them; `dirty`: those marked since the last batch; `keyResultId` (jobs of kr-tracker before
 * batches): that one.
 */
export interface EvaluateJob {
  objectiveId: string;
  dirty?: boolean;
  keyResultId?: string;
}

export interface QueueOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix; tests use `test-<uuid>`. */
  prefix: string;
}

/** Retries with exponential backoff (2s, 4s, 8s, 16s) before a job is marked failed. */
export const JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { count: 200 },
  removeOnFail: { count: 1000 },
} as const;

export interface Queues {
  sync: Queue<SyncJob>;
  evaluate: Queue<EvaluateJob>;
  close(): Promise<void>;
}

export function createQueues({ connection, prefix }: QueueOptions): Queues {
  const sync = new Queue<SyncJob>(SYNC_QUEUE, { connection, prefix, defaultJobOptions: JOB_OPTIONS });
  const evaluate = new Queue<EvaluateJob>(EVALUATE_QUEUE, { connection, prefix, defaultJobOptions: JOB_OPTIONS });
  // A queue re-emits its connection's errors; without a listener Node ends the process on the
  // first one (e.g. "Connection is closed" while stopping). The workers log connection trouble.
  for (const q of [sync, evaluate]) q.on('error', () => {});
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

// Scheduler ids avoid ':' (BullMQ builds job ids `repeat:<scheduler>:<time>` from them).
export const syncSchedulerId = (s: StreamKey) => `sync/${s.source}/${s.stream}/${s.key}`;
export const evaluateSchedulerId = (objectiveId: string) => `evaluate/${objectiveId}`;

export interface ReconcileReport {
  /** Every scheduler the config asks for. */
  upserted: string[];
  /** Those that were missing or different, and were (re)created now. */
  created: string[];
  removed: string[];
}

/**
 * Makes the queues' job schedulers exactly those the config asks for: one per source stream
 * (every `schedule.sync`) and one per objective (every `schedule.evaluate`, evaluating its key
 * results in one batch); schedulers of streams and objectives that left the config, and those of
 * single key results kr-tracker made before batches, are removed.
 */
export async function reconcileSchedulers(queues: Queues, config: Config): Promise<ReconcileReport> {
  const report: ReconcileReport = { upserted: [], created: [], removed: [] };
  const wantSync = new Map(planStreams(config).map((s) => [syncSchedulerId(s), s]));
  const wantEval = new Map<string, EvaluateJob>();
  for (const o of config.objectives) wantEval.set(evaluateSchedulerId(o.id), { objectiveId: o.id });
  for (const [queue, want, every, name] of [
    [queues.sync, wantSync, config.schedule.syncMs, 'sync'],
    [queues.evaluate, wantEval, config.schedule.evaluateMs, 'evaluate'],
  ] as const) {
    const existing = await (queue as Queue).getJobSchedulers(0, -1);
    const current = new Map<string, number | null | undefined>();
    for (const s of existing) {
      current.set(s.key, s.every);
      if (!want.has(s.key)) {
        await (queue as Queue).removeJobScheduler(s.key);
        report.removed.push(s.key);
      }
    }
    for (const [id, data] of want) {
      report.upserted.push(id);
      // An unchanged scheduler keeps its rhythm (and its next job): reconciling is cheap and
      // can run every few minutes, which repopulates a Redis that lost its keys.
      if (Number(current.get(id)) === every) continue;
      const payload = name === 'sync' ? { stream: data } : data;
      await (queue as Queue).upsertJobScheduler(id, { every }, { name, data: payload, opts: JOB_OPTIONS });
      report.created.push(id);
    }
  }
  return report;
}

/** Asks for a sync of every stream now (deduplicated: one waiting job per stream at most). */
export async function syncNow(queues: Queues, config: Config): Promise<void> {
  for (const s of planStreams(config)) {
    await queues.sync.add('sync', { stream: s }, { deduplication: { id: `now/${syncSchedulerId(s)}` } });
  }
}

/** When a job became due: its creation, plus its delay (the next run of a job scheduler). */
export function dueAt(job: Pick<Job, 'timestamp' | 'delay' | 'opts'>): number {
  return job.timestamp + (job.delay ?? job.opts?.delay ?? 0);
}

/** What a gated sync returns when another sync already covered its job. */
export const SYNC_SKIPPED = Symbol('sync skipped');

/**
 * Runs `sync` for a stream, at most one at a time for that stream across every process (a Redis
 * lock, renewed while it runs, released by its owner or after LOCK_MS when the process died), and
 * not at all when a successful sync of the stream started after the job became due: that one already fetched
 * everything the job was asked to fetch. So the scheduler's first job, `syncNow` and a reload
 * arriving together make one sync, not three in parallel.
 */
export type SyncGate = <T>(stream: StreamKey, due: number, sync: () => Promise<T>) => Promise<T | typeof SYNC_SKIPPED>;

const LOCK_MS = 60_000;
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

export function createSyncGate(redis: RedisClient, prefix: string, opts: { waitMs?: number; pollMs?: number } = {}): SyncGate {
  const waitMs = opts.waitMs ?? 10 * 60_000;
  const pollMs = opts.pollMs ?? 200;
  return async (stream, due, sync) => {
    const id = streamId(stream);
    const lock = `${prefix}:sync-lock:${id}`;
    const token = randomUUID();
    const giveUp = Date.now() + waitMs;
    while ((await redis.set(lock, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      if (Date.now() > giveUp) throw new Error(`a sync of ${id} has been running for more than ${Math.round(waitMs / 60_000)} minutes; this job tries again later`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
    const renew = setInterval(() => void redis.eval(RENEW, 1, lock, token, String(LOCK_MS)).catch(() => undefined), LOCK_MS / 3);
    try {
      // When the last successful sync of the stream started (a failed one covers nothing, so
      // that the job's retries run).
      const covered = Number(await redis.hget(`${prefix}:sync-covered`, id));
      if (covered >= due) return SYNC_SKIPPED;
      const started = Date.now();
      const result = await sync();
      await redis.hset(`${prefix}:sync-covered`, id, String(started));
      return result;
    } finally {
      clearInterval(renew);
      await redis.eval(RELEASE, 1, lock, token).catch(() => undefined);
    }
  };
}
