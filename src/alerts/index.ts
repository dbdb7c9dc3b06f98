// Alerting: drift detection after each evaluation, delivery through the `krt-alerts` queue, the
// periodic sweep (staleness, repeats), the weekly digest and `krt alerts test CHANNEL`.
//
//   onResult -> detectDrift (state in Redis) -> routeEvent -> message -> one job per channel
//   worker   -> channel send (Slack, e-mail, PagerDuty, webhook) with retries and backoff
import { rolledUpProgress } from '../engine/objective-progress.js';
import type { ConnectionOptions, Queue, Worker } from 'bullmq';
import type { RedisClient } from '../lib/redis.js';
import { resultKey, type EvaluationResult } from '../core/result.js';
import type { Config, KeyResult, Objective } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../core/store.js';
import { createSender, unknownChannel } from './channels/send.js';
import { createAlertQueue, createAlertWorker, enqueueDeliveries, DEFAULT_RETRY, type DeliverJob, type RetryOptions } from './deliver.js';
import { buildDigestMessage, digestCron, lastDigestAt, WEEK, type DigestTime } from './digest.js';
import { checkinDriftReason, detectDrift, type DriftOptions } from './drift.js';
import type { CheckinStore } from '../checkins/checkin-store.js';
import { DeliveryError } from './errors.js';
import { buildAlertMessage, buildRemovedMessage, buildTestMessage, type MessageContext } from './message.js';
import { secretRedactor } from './redact.js';
import { routeEvent } from './route.js';
import { createAlertStateStore } from './state.js';
import { DEFAULT_ALERT_SETTINGS, DEFAULT_PAGERDUTY_EVENTS_URL, type AlertEvent, type AlertSettings, type AlertState, type SmtpSettings } from './types.js';
import { assertAlerting, channelProblems } from './validate.js';

export { ALERTS_QUEUE, DEFAULT_RETRY, type RetryOptions } from './deliver.js';
export { nextDigestAt, lastDigestAt, digestCron } from './digest.js';
export { alertingProblems, channelProblems } from './validate.js';
export { webhookSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, IDEMPOTENCY_HEADER } from './channels/webhook.js';
export * from './types.js';

export interface AlertingOptions {
  /** BullMQ connection options (maxRetriesPerRequest: null). */
  connection: ConnectionOptions;
  /** BullMQ prefix of the `krt-alerts` queue, and of the alert state keys (`{prefix}:alerts:*`). */
  prefix: string;
  /** BullMQ prefix of the `krt-alerts` queue when it differs from `prefix` (a hash tag in a Redis Cluster). */
  queuePrefix?: string;
  /** For the alert state. Not closed by `close()`. */
  redis: RedisClient;
  config: () => Config;
  logger: Logger;
  now: () => number;
  dashboardUrl?: (objectiveId: string) => string;
  /** The API URL of a key result's explanation, linked from alerts and digests. */
  explainUrl?: (objectiveId: string, keyResultId: string) => string;
  smtp?: SmtpSettings | null;
  pagerDutyEventsUrl?: string;
  /** Alert rules, routing and digest settings; DEFAULT_ALERT_SETTINGS until the loader has them. */
  settings?: () => AlertSettings;
  /** Results and history for the weekly digest; without it no digest is scheduled. */
  store?: Pick<Store, 'getResults' | 'getHistory'>;
  /** Latest check-ins: shown in the digest, and an overdue one is a reason in drift alerts. */
  checkins?: Pick<CheckinStore, 'latest'>;
  retry?: RetryOptions;
  concurrency?: number;
  /** Per request to a receiver. */
  timeoutMs?: number;
}

export interface TestReply {
  ok: boolean;
  status: number | string;
  body: string;
}

export interface Alerting {
  /** Judges a new evaluation; enqueues what it fires, changes, repeats or resolves. */
  onResult(objective: Objective, kr: KeyResult, result: EvaluationResult): Promise<AlertEvent[]>;
  /** Starts the delivery worker (deliveries, digest and sweep jobs) in this process. */
  startWorker(): void;
  /** Makes the digest and sweep job schedulers match the settings (call on start and reload, once per deployment). */
  schedule(): Promise<void>;
  /** Judges every known key result without a new evaluation: staleness, repeats, maturing conditions. */
  sweep(): Promise<AlertEvent[]>;
  /** Enqueues the weekly digest of the latest check-in instant at or before now; returns the number of messages. */
  sendDigest(): Promise<number>;
  /** Sends a test message straight to the channel and tells what the receiver answered. */
  sendTest(channelName: string): Promise<TestReply>;
  close(): Promise<void>;
}

const DIGEST_SCHEDULER = 'alerts-digest';
const SWEEP_SCHEDULER = 'alerts-sweep';

export function createAlerting(opts: AlertingOptions): Alerting {
  const { connection, prefix, redis, config, now } = opts;
  const logger = opts.logger.child({ component: 'alerts' });
  const settings = opts.settings ?? (() => DEFAULT_ALERT_SETTINGS);
  const smtp = opts.smtp ?? null;
  const retry = opts.retry ?? DEFAULT_RETRY;
  assertAlerting(config(), settings(), smtp);

  // The config can be reloaded with new secrets: collect them from the config in force.
  let redactor: { config: Config; redact: (text: string) => string } | null = null;
  const scrub = (text: string) => {
    const c = config();
    if (redactor?.config !== c) redactor = { config: c, redact: secretRedactor(smtp, c) };
    return redactor.redact(text);
  };
  const states = createAlertStateStore({ redis, prefix });
  const queuePrefix = opts.queuePrefix ?? prefix;
  const queue: Queue = createAlertQueue({ connection, prefix: queuePrefix, retry });
  const sender = createSender({ config, smtp, pagerDutyEventsUrl: opts.pagerDutyEventsUrl ?? DEFAULT_PAGERDUTY_EVENTS_URL, timeoutMs: opts.timeoutMs });
  let worker: Worker | null = null;

  const context = (): MessageContext => ({ timezone: config().timezone, dashboardUrl: opts.dashboardUrl, explainUrl: opts.explainUrl, redact: scrub });
  const driftOptions = (): DriftOptions => {
    const s = settings();
    return { for: s.for, keepFiringFor: s.keepFiringFor, repeat: s.repeat, staleAfter: s.staleAfter ?? 3 * config().schedule.evaluateMs, severities: s.severities };
  };
  const find = (objectiveId: string, keyResultId: string) => {
    const objective = config().objectives.find((o) => o.id === objectiveId);
    const kr = objective?.keyResults.find((k) => k.id === keyResultId);
    return objective && kr ? { objective, kr } : null;
  };

  /**
   * Read state, detect, enqueue, then write state only if nobody else wrote it meanwhile. Jobs go
   * in before the state: a crash between the two re-detects the same events from the old state
   * on the next run, and their job ids make adding them again a no-op; the other order would lose
   * the alert.
   */
  async function judge(objectiveId: string, keyResultId: string, result: EvaluationResult | null, at: number): Promise<AlertEvent[]> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { raw, state: prev } = await states.get(objectiveId, keyResultId);
      if (!prev && !result) return [];
      const found = find(objectiveId, keyResultId);
      if (!found) {
        if (prev) await forget(prev);
        return [];
      }
      const drift = detectDrift(prev, result, at, driftOptions());
      if (drift.state === prev) return [];
      const state: AlertState = { ...drift.state, kinds: { ...drift.state.kinds } };
      const jobs: DeliverJob[] = [];
      const lastCheckin = drift.events.length && opts.checkins ? ((await opts.checkins.latest([objectiveId])).get(objectiveId) ?? null) : undefined;
      for (const e of drift.events) {
        const channels = routeEvent(e, found.kr, config(), settings());
        const message = buildAlertMessage(e, found.objective, found.kr, state.last, context());
        const overdue = lastCheckin === undefined || e.action === 'resolve' ? null : checkinDriftReason(found.objective, lastCheckin?.at ?? null, e.at);
        if (overdue) {
          message.sections[0]?.fields.push({ label: 'Check-in', value: overdue });
          message.details = { ...message.details, checkinOverdue: overdue };
        }
        jobs.push(...channels.map((channel) => ({ channel, message })));
        const ks = state.kinds[e.kind];
        if (ks.open && e.action === 'trigger') state.kinds[e.kind] = { ...ks, open: { ...ks.open, channels: [...new Set([...ks.open.channels, ...channels])] } };
        logger.info({ key: e.idempotencyKey, kind: e.kind, condition: e.condition, reason: e.reason, severity: e.severity, channels }, `alert ${e.reason}`);
      }
      await enqueueDeliveries(queue, jobs);
      if (await states.compareAndSet(objectiveId, keyResultId, raw, state)) return drift.events;
      logger.debug({ objectiveId, keyResultId, attempt }, 'alert state changed meanwhile; judging again');
    }
    throw new Error(`alert state of ${resultKey(objectiveId, keyResultId)} kept changing; giving up on this result`);
  }

  /** A key result that left the config: close its open alerts where they were sent, drop its state. */
  async function forget(state: AlertState): Promise<void> {
    const jobs: DeliverJob[] = [];
    for (const ks of Object.values(state.kinds)) {
      if (!ks.open) continue;
      const message = buildRemovedMessage(ks.open, state.objectiveId, state.keyResultId, now());
      for (const channel of ks.open.channels.filter((c) => c in config().alerts.channels)) jobs.push({ channel, message });
    }
    await enqueueDeliveries(queue, jobs);
    await states.delete(state.objectiveId, state.keyResultId);
  }

  async function sweep(): Promise<AlertEvent[]> {
    const events: AlertEvent[] = [];
    for (const s of await states.all()) events.push(...(await judge(s.objectiveId, s.keyResultId, null, now())));
    return events;
  }

  const digestTime = (): DigestTime => {
    const d = settings().digest;
    return { day: d.day, time: d.time, timezone: d.timezone ?? config().timezone };
  };

  async function sendDigest(): Promise<number> {
    if (!opts.store) throw new Error('the weekly digest needs a store (results and history)');
    const cfg = config();
    const digest = settings().digest;
    const at = lastDigestAt(now(), digestTime());
    const results = new Map((await opts.store.getResults()).map((r) => [resultKey(r.objectiveId, r.keyResultId), r]));
    const latest = await opts.checkins?.latest(cfg.objectives.map((o) => o.id));
    const tree = rolledUpProgress(cfg.objectives, (o, kr) => results.get(resultKey(o, kr))?.progress);
    const jobs: DeliverJob[] = [];
    for (const objective of cfg.objectives) {
      const mine = new Map<string, EvaluationResult>();
      const weekAgo = new Map<string, number | null>();
      for (const kr of objective.keyResults) {
        const r = results.get(resultKey(objective.id, kr.id));
        if (r) mine.set(kr.id, r);
        // The last value recorded in the day before "a week ago".
        const history = await opts.store.getHistory(objective.id, kr.id, at - WEEK - 86_400_000, at - WEEK);
        weekAgo.set(kr.id, history.at(-1)?.value ?? null);
      }
      const message = buildDigestMessage({ objective, results: mine, weekAgo, at, checkin: latest ? (latest.get(objective.id) ?? null) : undefined, rollup: tree.get(objective.id) }, context());
      // A digest is not an incident: PagerDuty channels do not get it.
      const channels = (digest.channels ?? objective.notify).filter((c) => cfg.alerts.channels[c] && cfg.alerts.channels[c].type !== 'pagerduty');
      jobs.push(...[...new Set(channels)].map((channel) => ({ channel, message })));
    }
    await enqueueDeliveries(queue, jobs);
    logger.info({ at: new Date(at).toISOString(), messages: jobs.length }, 'weekly digest enqueued');
    return jobs.length;
  }

  async function schedule(): Promise<void> {
    const jobOpts = { attempts: 3, backoff: { type: 'krt-capped-exponential', delay: retry.delayMs }, removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } };
    if (settings().digest.enabled && opts.store) {
      // BullMQ job schedulers read cron patterns in `tz` (https://docs.bullmq.io/guide/job-schedulers/repeat-strategies).
      await queue.upsertJobScheduler(DIGEST_SCHEDULER, digestCron(digestTime()), { name: 'digest', data: {}, opts: jobOpts });
    } else {
      await queue.removeJobScheduler(DIGEST_SCHEDULER);
    }
    await queue.upsertJobScheduler(SWEEP_SCHEDULER, { every: config().schedule.evaluateMs }, { name: 'sweep', data: {}, opts: jobOpts });
  }

  async function sendTest(channelName: string): Promise<TestReply> {
    const cfg = config();
    const channel = cfg.alerts.channels[channelName];
    if (!channel) throw unknownChannel(channelName, cfg);
    const problems = channelProblems(channelName, channel, smtp);
    if (problems.length) throw new ConfigError(`channel ${channelName} cannot be used`, problems);
    try {
      const reply = await sender.send(channelName, buildTestMessage(channelName, now(), cfg.timezone));
      logger.info({ channel: channelName, status: reply.status }, 'test message delivered');
      return { ok: true, status: reply.status, body: scrub(reply.body) };
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      logger.warn({ channel: channelName, status: err.status, err: scrub(err.message) }, 'test message not delivered');
      return { ok: false, status: err.status ?? 'no answer', body: scrub(err.body || err.message) };
    }
  }

  return {
    // The result's own evaluation time is the clock here, so that re-feeding the same results
    // after a restart gives the same alert keys (and so no second message).
    onResult: (objective, kr, result) => judge(objective.id, kr.id, result, result.evaluatedAt),
    startWorker() {
      worker ??= createAlertWorker({
        connection,
        prefix: queuePrefix,
        retry,
        concurrency: opts.concurrency,
        sender,
        states,
        logger,
        redact: scrub,
        digest: sendDigest,
        sweep,
      });
    },
    schedule,
    sweep,
    sendDigest,
    sendTest,
    async close() {
      // A BullMQ connection closed while it still initializes emits its init failure after its
      // listeners are gone ("Connection is closed", an uncaught error): let it finish first.
      await Promise.all([worker?.waitUntilReady(), queue.waitUntilReady()].map((p) => p?.catch(() => undefined)));
      await worker?.close();
      await queue.close();
      sender.close();
    },
  };
}
