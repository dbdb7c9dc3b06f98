import { Queue, type ConnectionOptions } from 'bullmq';
import type { Config } from '../config/types.js';
import type { StreamKey } from '../store/store.js';
import { planStreams } from '../sync/plan.js';

export const SYNC_QUEUE = 'krt-sync';
export const EVALUATE_QUEUE = 'krt-evaluate';

export interface SyncJob {
  stream: StreamKey;
}
export interface EvaluateJob {
  objectiveId: string;
  keyResultId: string;
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
  return {
    sync,
    evaluate,
    async close() {
      await Promise.all([sync.close(), evaluate.close()]);
    },
  };
}

// Scheduler ids avoid ':' (BullMQ builds job ids `repeat:<scheduler>:<time>` from them).
export const syncSchedulerId = (s: StreamKey) => `sync/${s.source}/${s.stream}/${s.key}`;
export const evaluateSchedulerId = (objectiveId: string, keyResultId: string) => `evaluate/${objectiveId}/${keyResultId}`;

export interface ReconcileReport {
  upserted: string[];
  removed: string[];
}

/**
 * Makes the queues' job schedulers exactly those the config asks for: one per source stream
 * (every `schedule.sync`) and one per key result (every `schedule.evaluate`); schedulers of
 * streams and key results that left the config are removed.
 */
export async function reconcileSchedulers(queues: Queues, config: Config): Promise<ReconcileReport> {
  const report: ReconcileReport = { upserted: [], removed: [] };
  const wantSync = new Map(planStreams(config).map((s) => [syncSchedulerId(s), s]));
  const wantEval = new Map<string, EvaluateJob>();
  for (const o of config.objectives) {
    for (const kr of o.keyResults) wantEval.set(evaluateSchedulerId(o.id, kr.id), { objectiveId: o.id, keyResultId: kr.id });
  }
  for (const [queue, want, every, name] of [
    [queues.sync, wantSync, config.schedule.syncMs, 'sync'],
    [queues.evaluate, wantEval, config.schedule.evaluateMs, 'evaluate'],
  ] as const) {
    const existing = await (queue as Queue).getJobSchedulers(0, -1);
    for (const s of existing) {
      if (!want.has(s.key)) {
        await (queue as Queue).removeJobScheduler(s.key);
        report.removed.push(s.key);
      }
    }
    for (const [id, data] of want) {
      const payload = name === 'sync' ? { stream: data } : data;
      await (queue as Queue).upsertJobScheduler(id, { every }, { name, data: payload, opts: JOB_OPTIONS });
      report.upserted.push(id);
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
