// Delivery as BullMQ jobs: one job per (message, channel) whose id is derived from the message's
// idempotency key, so adding it again (a re-fed result after a restart) is a no-op; retries with
// capped exponential backoff carry a message past a receiver that is down; a marker written after
// a receiver took a message keeps a re-added job from sending it twice. The same worker runs the
// digest and the sweep (staleness, repeats) from their job schedulers.
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { Sender } from './channels/send.js';
import { DeliveryError } from './errors.js';
import type { AlertStateStore } from './state.js';
import { SEVERITIES, type Message } from './types.js';

export const ALERTS_QUEUE = 'krt-alerts';
const BACKOFF = 'krt-capped-exponential';

export interface RetryOptions {
  attempts: number;
  /** First retry after this long, doubling each time ... */
  delayMs: number;
  /** ... up to this long. */
  maxDelayMs: number;
}

/** About two hours of tries before a message is given up (2 s, 4 s, ... 10 min, 10 min ...). */
export const DEFAULT_RETRY: RetryOptions = { attempts: 20, delayMs: 2_000, maxDelayMs: 600_000 };

export interface DeliverJob {
  channel: string;
  message: Message;
}

// Job data is parsed at the boundary (a job written by another version, or by hand).
const MessageSchema = z.object({
  type: z.enum(['alert', 'digest', 'test']),
  idempotencyKey: z.string().min(1),
  alertKey: z.string().min(1),
  action: z.enum(['trigger', 'resolve', 'notify']),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  summary: z.string(),
  sections: z.array(z.object({ title: z.string(), fields: z.array(z.object({ label: z.string(), value: z.string() })) })),
  link: z.object({ url: z.string(), text: z.string() }).nullable(),
  at: z.number(),
  details: z.record(z.string(), z.unknown()),
});
const DeliverJobSchema = z.object({ channel: z.string().min(1), message: MessageSchema });

/** BullMQ ids may not contain `:` and may not be integers; an encoded `key@channel` is neither. */
export function deliveryJobId(idempotencyKey: string, channel: string): string {
  return encodeURIComponent(`${idempotencyKey}@${channel}`);
}

export function createAlertQueue({ connection, prefix, retry = DEFAULT_RETRY }: { connection: ConnectionOptions; prefix: string; retry?: RetryOptions }): Queue {
  const queue = new Queue(ALERTS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: retry.attempts,
      backoff: { type: BACKOFF, delay: retry.delayMs },
      // Finished jobs are kept for a month: while a job exists, adding its id again is a no-op.
      removeOnComplete: { age: 30 * 86_400 },
      removeOnFail: { age: 30 * 86_400 },
    },
  });
  // Connection errors are re-emitted here; without a listener they would end the process (the
  // alert worker logs connection trouble).
  queue.on('error', () => {});
  return queue;
}

export async function enqueueDeliveries(queue: Queue, items: DeliverJob[]): Promise<void> {
  if (items.length === 0) return;
  await queue.addBulk(items.map((data) => ({ name: 'deliver', data, opts: { jobId: deliveryJobId(data.message.idempotencyKey, data.channel) } })));
}

export interface AlertWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  retry?: RetryOptions;
  concurrency?: number;
  sender: Sender;
  states: AlertStateStore;
  logger: Logger;
  redact: (text: string) => string;
  /** Runs the weekly digest (job `digest`). */
  digest: () => Promise<unknown>;
  /** Runs the sweep (job `sweep`). */
  sweep: () => Promise<unknown>;
}

export function createAlertWorker(opts: AlertWorkerOptions): Worker {
  const { sender, states, logger, redact } = opts;
  const retry = opts.retry ?? DEFAULT_RETRY;

  const deliver = async (job: Job) => {
    const parsed = DeliverJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`job ${job.id} has bad data: ${z.prettifyError(parsed.error)}`);
    const { channel, message } = parsed.data as DeliverJob;
    const id = job.id!;
    if (await states.wasSent(id)) return { skipped: 'already delivered' };
    try {
      const reply = await sender.send(channel, message);
      await states.markSent(id);
      logger.info({ channel, type: message.type, action: message.action, key: message.idempotencyKey, status: reply.status }, 'alert delivered');
      return { status: reply.status, body: redact(reply.body).slice(0, 500) };
    } catch (err) {
      const text = redact(err instanceof Error ? err.message : String(err));
      if (err instanceof DeliveryError && !err.retryable) throw new UnrecoverableError(text);
      throw new Error(text);
    }
  };

  const worker = new Worker(
    ALERTS_QUEUE,
    async (job) => {
      switch (job.name) {
        case 'deliver':
          return deliver(job);
        case 'digest':
          return opts.digest();
        case 'sweep':
          return opts.sweep();
        default:
          throw new UnrecoverableError(`unknown alerts job ${job.name}`);
      }
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 4,
      settings: {
        backoffStrategy: (attemptsMade: number) => Math.min(retry.maxDelayMs, retry.delayMs * 2 ** Math.max(0, attemptsMade - 1)),
      },
    },
  );
  worker.on('failed', (job, err) => {
    const data = job?.data as Partial<DeliverJob> | undefined;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || (job?.attemptsMade ?? 0) >= (job?.opts.attempts ?? 1);
    logger.warn(
      { job: job?.name, channel: data?.channel, key: data?.message?.idempotencyKey, attempts: job?.attemptsMade, final, err: redact(err.message) },
      final ? 'alert job failed for good' : 'alert job failed; will retry',
    );
  });
  worker.on('error', (err) => logger.error({ err: redact(err.message) }, 'alert worker error'));
  return worker;
}
