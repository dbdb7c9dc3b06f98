// Alert delivery end to end on the real Redis and BullMQ, to real local receivers: HTTP servers
// standing in for Slack, PagerDuty and a webhook, and an SMTP server. Each test has its own
// `test-<uuid>` prefix and its own receivers.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ALERTS_QUEUE, createAlerting, DEFAULT_ALERT_SETTINGS, nextDigestAt, webhookSignature, type AlertSettings, type Alerting, type SmtpSettings } from '../src/alerts/index.js';
import { Secret } from '../src/core/secret.js';
import type { Config } from '../src/config/types.js';
import { parseConfig } from '../src/config/load.js';
import { ConfigError } from '../src/core/errors.js';
import { redisOptions } from '../src/lib/redis.js';
import type { EvaluationResult, Status } from '../src/core/result.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { config as makeConfig, keyResult, objective } from './helpers/config.js';
import { until } from './helpers/net.js';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from './helpers/receivers.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-02T08:00:00Z');
const SLACK_PATH = '/services/T0SECRET/B0SECRET/slack-path-secret-4b1d';
const PD_KEY = 'pd-routing-secret-0f0f0f0f0f0f';
const HOOK_SECRET = 'hook-signing-secret-9c9c9c';
const GITHUB_TOKEN = 'ghp-github-token-secret-77';
const SECRETS = [SLACK_PATH, 'slack-path-secret-4b1d', PD_KEY, HOOK_SECRET, GITHUB_TOKEN];
const CHANNELS = ['leads', 'mail', 'oncall', 'audit'];

const SETTINGS: AlertSettings = {
  ...DEFAULT_ALERT_SETTINGS,
  for: { status: 0, stale: 0, forecast_miss: 0 },
  keepFiringFor: 0,
  staleAfter: 10 * MIN,
};

const connection = redisOptions(REDIS_URL);
const redis = new Redis(REDIS_URL);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  slack: HttpReceiver;
  pd: HttpReceiver;
  hook: HttpReceiver;
  smtp: SmtpReceiver;
  config: Config;
  prefix: string;
  queue: Queue;
  logs: string[];
  clock: { t: number };
  create(over?: Partial<Parameters<typeof createAlerting>[0]>): Alerting;
  /** Resolves when the alerts queue has nothing waiting, active or delayed. */
  idle(): Promise<void>;
  feed(a: Alerting, status: Status, at: number, over?: Partial<EvaluationResult>): Promise<void>;
}

async function harness(): Promise<Harness> {
  const { prefix, cleanup } = testPrefix();
  const [slack, pd, hook, smtp] = await Promise.all([
    startHttpReceiver(),
    startHttpReceiver(() => ({ status: 202, body: JSON.stringify({ status: 'success', message: 'Event processed' }), headers: { 'content-type': 'application/json' } })),
    startHttpReceiver(),
    startSmtpReceiver(),
  ]);
  const config = makeConfig(
    {
      alerts: {
        ...makeConfig().alerts,
        channels: {
          leads: { type: 'slack', webhookUrl: new Secret('SLACK_WEBHOOK_URL', `${slack.url}${SLACK_PATH}`) },
          mail: { type: 'email', to: ['eng-managers@example.com'] },
          oncall: { type: 'pagerduty', routingKey: new Secret('PD_ROUTING_KEY', PD_KEY) },
          audit: { type: 'webhook', url: `${hook.url}/okr`, secret: new Secret('HOOK_SECRET', HOOK_SECRET) },
        },
      },
      objectives: [objective({ notify: CHANNELS, keyResults: [keyResult({ notify: CHANNELS })] })],
    },
    'http://127.0.0.1:1',
    GITHUB_TOKEN,
  );
  const logs: string[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const clock = { t: T0 };
  const smtpSettings: SmtpSettings = { host: '127.0.0.1', port: smtp.port, secure: false, auth: null, from: 'kr-tracker <okr@example.com>' };
  const queue = new Queue(ALERTS_QUEUE, { connection, prefix });
  const made: Alerting[] = [];
  const h: Harness = {
    slack,
    pd,
    hook,
    smtp,
    config,
    prefix,
    queue,
    logs,
    clock,
    create(over = {}) {
      const a = createAlerting({
        connection,
        prefix,
        redis,
        config: () => config,
        logger,
        now: () => clock.t,
        dashboardUrl: (id) => `https://grafana.example.com/d/krt-${id}`,
        smtp: smtpSettings,
        pagerDutyEventsUrl: `${pd.url}/v2/enqueue`,
        settings: () => SETTINGS,
        retry: { attempts: 30, delayMs: 50, maxDelayMs: 300 },
        timeoutMs: 2_000,
        ...over,
      });
      made.push(a);
      return a;
    },
    async idle() {
      await until('the alerts queue to drain', async () => {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        return Object.values(c).every((n) => n === 0) ? true : undefined;
      }, 30_000, 50);
    },
    async feed(a, status, at, over = {}) {
      await a.onResult(config.objectives[0]!, config.objectives[0]!.keyResults[0]!, result(status, at, over));
    },
  };
  cleanups.push(async () => {
    for (const a of made) await a.close();
    await queue.close();
    await Promise.all([slack.close(), pd.close(), hook.close(), smtp.close()]);
    await cleanup();
  });
  return h;
}

function result(status: Status, evaluatedAt: number, over: Partial<EvaluationResult> = {}): EvaluationResult {
  const noData = status === 'no_data';
  return {
    objectiveId: 'cicd',
    keyResultId: 'deploy-frequency',
    metric: 'deployment_frequency',
    unit: 'per_day',
    at: evaluatedAt,
    evaluatedAt,
    value: noData ? null : 0.3,
    baseline: 0.2,
    target: 1,
    kind: 'increase',
    progress: noData ? null : 0.125,
    expected: 0.35,
    status,
    // Reaching the target: these tests drift on status alone unless they say otherwise.
    forecast: noData ? null : 1.05,
    score: null,
    error: null,
    ...over,
  };
}

/** Counts of accepted messages per channel. */
function delivered(h: Harness) {
  return { leads: h.slack.accepted().length, mail: h.smtp.messages.length, oncall: h.pd.accepted().length, audit: h.hook.accepted().length };
}
const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

/** The Events API v2 request schema (test/fixtures/pagerduty-schemas, from PagerDuty/api-schema). */
function pagerDutyEventSchema(): ValidateFunction {
  const doc = JSON.parse(readFileSync('test/fixtures/pagerduty-schemas/events-v2-openapiv3.json', 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, formats: { 'date-time': true, url: true } });
  ajv.addSchema(doc, 'events');
  return ajv.getSchema('events#/paths/~1enqueue/post/requestBody/content/application~1json/schema') as ValidateFunction;
}

function expectNoSecrets(h: Harness) {
  const seen = [
    ...h.logs,
    ...h.slack.requests.map((r) => r.body),
    ...h.hook.requests.map((r) => r.body + JSON.stringify(r.headers)),
    // The routing key is how PagerDuty knows the service: it must be in `routing_key`, nowhere else.
    ...h.pd.requests.map((r) => JSON.stringify({ ...json(r.body), routing_key: undefined })),
    ...h.smtp.messages.map((m) => m.decoded),
  ].join('\n');
  for (const s of SECRETS) expect(seen).not.toContain(s);
}

describe('alert delivery to real receivers', () => {
  it('delivers one message per channel per drift, and one resolve with the same keys when it recovers', async () => {
    const h = await harness();
    const a = h.create();
    a.startWorker();
    await h.feed(a, 'on_track', T0);
    await h.feed(a, 'off_track', T0 + 5 * MIN);
    await h.feed(a, 'off_track', T0 + 10 * MIN);
    await h.feed(a, 'off_track', T0 + 15 * MIN);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 1, audit: 1 });
    const alertKey = `cicd/deploy-frequency/status/${T0 + 5 * MIN}`;

    // Slack: Block Kit with the key result, value against target, progress against expected,
    // forecast and the dashboard link, posted to the webhook's path.
    const slackReq = h.slack.accepted()[0]!;
    expect(slackReq.path).toBe(SLACK_PATH);
    const slack = json(slackReq.body) as { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[] };
    expect(slack.text).toBe('Off track: Increase deployment frequency to daily');
    expect(slack.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Off track: Increase deployment frequency to daily' } });
    const fields = slack.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    expect(fields).toEqual(
      expect.arrayContaining([
        '*Key result*\nIncrease deployment frequency to daily (cicd/deploy-frequency)',
        '*Value*\n0.3 per day (target 1 per day, baseline 0.2 per day)',
        '*Progress*\n12.5% (expected 35%)',
        '*Forecast*\n1.05 per day by 2026-12-31',
      ]),
    );
    expect(slackReq.body).toContain('<https://grafana.example.com/d/krt-cicd|Open the dashboard>');

    // PagerDuty: a valid Events API v2 trigger, dedup_key = the alert key, the routing key from the config.
    const validate = pagerDutyEventSchema();
    const trigger = json(h.pd.accepted()[0]!.body);
    expect(h.pd.accepted()[0]!.path).toBe('/v2/enqueue');
    expect(validate(trigger), JSON.stringify(validate.errors)).toBe(true);
    expect(trigger).toMatchObject({ routing_key: PD_KEY, event_action: 'trigger', dedup_key: alertKey, payload: { severity: 'critical', source: 'kr-tracker' } });

    // Webhook: JSON with the idempotency key in a header and in the body, signed over `${timestamp}.${body}`.
    const hookReq = h.hook.accepted()[0]!;
    const body = json(hookReq.body);
    expect(hookReq.headers['idempotency-key']).toBe(`${alertKey}/1`);
    expect(body).toMatchObject({ idempotencyKey: `${alertKey}/1`, alertKey, action: 'trigger', severity: 'critical' });
    const timestamp = Number(hookReq.headers['x-krt-timestamp']);
    expect(Math.abs(timestamp * 1000 - Date.now())).toBeLessThan(60_000);
    expect(hookReq.headers['x-krt-signature']).toBe(webhookSignature(HOOK_SECRET, timestamp, hookReq.body));
    expect(hookReq.headers['x-krt-signature']).not.toBe(webhookSignature('another secret', timestamp, hookReq.body));

    // E-mail: text and HTML parts, Message-ID and idempotency header.
    const mail = h.smtp.messages[0]!;
    expect(mail.to).toEqual(['eng-managers@example.com']);
    expect(mail.headers.subject).toBe('Off track: Increase deployment frequency to daily');
    expect(mail.headers['x-krt-idempotency-key']).toBe(`${alertKey}/1`);
    expect(mail.headers['message-id']).toMatch(/^<[0-9a-f]{32}@kr-tracker>$/);
    expect(mail.raw).toContain('text/plain');
    expect(mail.raw).toContain('text/html');
    expect(mail.decoded).toContain('Progress: 12.5% (expected 35%)');
    expect(mail.decoded).toContain('<th align="left" valign="top">Forecast</th><td>1.05 per day by 2026-12-31</td>');

    // Recovery: exactly one resolve per channel; PagerDuty resolves the same dedup_key.
    await h.feed(a, 'on_track', T0 + 20 * MIN);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 2, mail: 2, oncall: 2, audit: 2 });
    const resolve = json(h.pd.accepted()[1]!.body);
    expect(validate(resolve), JSON.stringify(validate.errors)).toBe(true);
    expect(resolve).toEqual({ routing_key: PD_KEY, event_action: 'resolve', dedup_key: alertKey });
    expect(json(h.hook.accepted()[1]!.body)).toMatchObject({ action: 'resolve', alertKey, idempotencyKey: `${alertKey}/2` });
    expect(json(h.slack.accepted()[1]!.body).text).toBe('Resolved, no longer off track: Increase deployment frequency to daily');
    expectNoSecrets(h);
  });

  it('routes by severity: at risk stays off PagerDuty, and the escalation to off track pages it', async () => {
    const h = await harness();
    const a = h.create();
    a.startWorker();
    await h.feed(a, 'at_risk', T0);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 0, audit: 1 });
    await h.feed(a, 'off_track', T0 + 5 * MIN);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 2, mail: 2, oncall: 1, audit: 2 });
    await h.feed(a, 'on_track', T0 + 10 * MIN);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 3, mail: 3, oncall: 2, audit: 3 });
    expect(h.pd.accepted().map((r) => json(r.body).dedup_key)).toEqual([`cicd/deploy-frequency/status/${T0}`, `cicd/deploy-frequency/status/${T0}`]);
  });

  it('closes the open alerts of a key result that left the config, where they were sent', async () => {
    const h = await harness();
    const a = h.create();
    a.startWorker();
    await h.feed(a, 'off_track', T0);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 1, audit: 1 });
    h.config.objectives[0]!.keyResults = [];
    await a.sweep();
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 2, mail: 2, oncall: 2, audit: 2 });
    expect(json(h.pd.accepted()[1]!.body)).toEqual({ routing_key: PD_KEY, event_action: 'resolve', dedup_key: `cicd/deploy-frequency/status/${T0}` });
    expect(await redis.hget(`${h.prefix}:alerts:state`, 'cicd/deploy-frequency')).toBeNull();
  });

  it('delivers to receivers that were down, once, after they come back', async () => {
    const h = await harness();
    h.slack.answer(() => ({ status: 500, body: 'internal error' }));
    h.smtp.refuse(451);
    await Promise.all([h.pd.stop(), h.hook.stop()]);
    const a = h.create();
    a.startWorker();
    await h.feed(a, 'off_track', T0);
    // Each channel has failed at least twice (and so is being retried) before anything comes back.
    const retries = (channel: string) => h.logs.filter((l) => l.includes('will retry') && l.includes(`"channel":"${channel}"`)).length;
    await until('two failed attempts per channel', async () => (CHANNELS.every((c) => retries(c) >= 2) ? true : undefined), 20_000, 50);
    expect(h.slack.requests.length).toBeGreaterThanOrEqual(2);
    expect(h.smtp.refused).toBeGreaterThanOrEqual(2);
    expect(delivered(h)).toEqual({ leads: 0, mail: 0, oncall: 0, audit: 0 });

    h.slack.answer(() => ({ status: 200, body: 'ok' }));
    h.smtp.refuse(null);
    await Promise.all([h.pd.start(), h.hook.start()]);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 1, audit: 1 });
    expectNoSecrets(h);
  });

  it('gives up at once on an answer that cannot get better (PagerDuty 400, SMTP 550)', async () => {
    const h = await harness();
    h.pd.answer(() => ({ status: 400, body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid' }) }));
    h.smtp.refuse(550);
    const a = h.create();
    a.startWorker();
    await h.feed(a, 'off_track', T0);
    await h.idle();
    expect(h.pd.requests).toHaveLength(1);
    expect(h.smtp.refused).toBe(1);
    expect(delivered(h)).toEqual({ leads: 1, mail: 0, oncall: 0, audit: 1 });
    expect(h.logs.filter((l) => l.includes('failed for good'))).toHaveLength(2);
  });

  it('sends nothing twice across a restart in the middle of delivery, or a lost alert state', async () => {
    const h = await harness();
    h.slack.answer(() => ({ status: 503, body: 'busy' }));
    const first = h.create();
    first.startWorker();
    await h.feed(first, 'on_track', T0);
    await h.feed(first, 'off_track', T0 + 5 * MIN);
    await until('others delivered while Slack is failing', async () => {
      const d = delivered(h);
      return d.mail === 1 && d.oncall === 1 && d.audit === 1 && h.slack.requests.length >= 1 ? true : undefined;
    });
    // The service stops with Slack's message still waiting for a retry.
    await first.close();

    const second = h.create();
    // The evaluations are fed again after the restart (same results), and a new one arrives.
    await h.feed(second, 'on_track', T0);
    await h.feed(second, 'off_track', T0 + 5 * MIN);
    await h.feed(second, 'off_track', T0 + 10 * MIN);
    h.slack.answer(() => ({ status: 200, body: 'ok' }));
    second.startWorker();
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 1, audit: 1 });

    // A crash after the jobs were added but before the state was written: the state is gone, the
    // same results come again and are detected again, and still nothing is sent twice (here even
    // with the finished jobs cleaned away, so only the delivered-markers stand in the way).
    await redis.del(`${h.prefix}:alerts:state`);
    expect(await h.queue.clean(0, 1000, 'completed')).toHaveLength(4);
    const third = h.create();
    third.startWorker();
    const again = [];
    again.push(...(await third.onResult(h.config.objectives[0]!, h.config.objectives[0]!.keyResults[0]!, result('on_track', T0))));
    again.push(...(await third.onResult(h.config.objectives[0]!, h.config.objectives[0]!.keyResults[0]!, result('off_track', T0 + 5 * MIN))));
    expect(again.map((e) => e.idempotencyKey)).toEqual([`cicd/deploy-frequency/status/${T0 + 5 * MIN}/1`]);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 1, audit: 1 });

    // The recovery is still one message per channel.
    await h.feed(third, 'on_track', T0 + 15 * MIN);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 2, mail: 2, oncall: 2, audit: 2 });
    expectNoSecrets(h);
  });

  it('repeats an open alert from the sweep and alerts on stale data, with secrets scrubbed from source errors', async () => {
    const h = await harness();
    const a = h.create();
    a.startWorker();
    await h.feed(a, 'on_track', T0);
    const leak = `GET https://api.github.com/repos/acme/payments/deployments?access_token=${GITHUB_TOKEN}: 401`;
    await h.feed(a, 'no_data', T0 + 5 * MIN, { error: leak });
    await h.feed(a, 'no_data', T0 + 10 * MIN, { error: leak });
    expect(delivered(h)).toEqual({ leads: 0, mail: 0, oncall: 0, audit: 0 });
    await h.feed(a, 'no_data', T0 + 15 * MIN, { error: leak });
    await h.idle();
    // Stale is a warning: PagerDuty (critical only by default) is not paged.
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 0, audit: 1 });
    const hook = json(h.hook.accepted()[0]!.body) as { title: string; sections: { fields: { label: string; value: string }[] }[] };
    expect(hook.title).toBe('Without fresh data: Increase deployment frequency to daily');
    expect(hook.sections[0]!.fields).toContainEqual({ label: 'Reason', value: leak.replace(GITHUB_TOKEN, '[secret GITHUB_TOKEN]') });

    // No more evaluations; a day later the sweep repeats the open alert, once.
    h.clock.t = T0 + 15 * MIN + 24 * 60 * MIN;
    await a.sweep();
    await a.sweep();
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 2, mail: 2, oncall: 0, audit: 2 });
    expect(json(h.hook.accepted()[1]!.body).title).toBe('Still without fresh data: Increase deployment frequency to daily');
    expectNoSecrets(h);
  });
});

describe('channel checks and krt alerts test', () => {
  it('reports what each receiver answered to a test message', async () => {
    const h = await harness();
    const a = h.create();
    await expect(a.sendTest('leads')).resolves.toEqual({ ok: true, status: 200, body: 'ok' });
    await expect(a.sendTest('oncall')).resolves.toMatchObject({ ok: true, status: 202, body: expect.stringContaining('Event processed') });
    await expect(a.sendTest('audit')).resolves.toEqual({ ok: true, status: 200, body: 'ok' });
    await expect(a.sendTest('mail')).resolves.toMatchObject({ ok: true, status: 250 });
    // A PagerDuty test triggers and resolves at once, so nobody is left with an incident.
    expect(h.pd.requests.map((r) => json(r.body).event_action)).toEqual(['trigger', 'resolve']);
    expect(json(h.slack.requests[0]!.body).text).toBe('kr-tracker test message for channel leads');

    h.slack.answer(() => ({ status: 404, body: 'no_service' }));
    await expect(a.sendTest('leads')).resolves.toMatchObject({ ok: false, status: 404, body: 'no_service' });
    await h.hook.stop();
    // No HTTP answer: the network error's code (refused, or the kept-alive socket closed).
    await expect(a.sendTest('audit')).resolves.toMatchObject({ ok: false, status: expect.stringMatching(/^(ECONNREFUSED|UND_ERR_SOCKET)$/) });
    await expect(a.sendTest('lead')).rejects.toThrow(/channel "lead" is not in alerts.channels; did you mean leads\?/);
    expectNoSecrets(h);
  });

  it('turns a bad channel config into a clear validation error that names the field and hides the secret', async () => {
    const h = await harness();
    const bad: Config = {
      ...h.config,
      alerts: {
        ...h.config.alerts,
        channels: {
          leads: { type: 'slack', webhookUrl: new Secret('SLACK_WEBHOOK_URL', 'hooks.slack.com/services/no-scheme-secret') },
          audit: { type: 'webhook', url: 'ftp://hooks.example.com/okr', secret: null },
          mail: { type: 'email', to: ['eng-managers@example.com'] },
        },
      },
    };
    let error: unknown;
    try {
      h.create({ config: () => bad, smtp: null, settings: () => ({ ...SETTINGS, digest: { ...SETTINGS.digest, time: '9am' } }) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems).toEqual([
      'alerts.channels.leads.webhookUrl ([secret SLACK_WEBHOOK_URL]) is not an http(s) URL; set SLACK_WEBHOOK_URL to the incoming webhook URL Slack gave you (https://hooks.slack.com/services/...)',
      'alerts.channels.audit.url is "ftp://hooks.example.com/okr", not an http(s) URL; write e.g. url: https://hooks.example.com/okr',
      'alerts.channels.mail is an e-mail channel but no SMTP server is configured; add alerts.smtp: { host: smtp.example.com, port: 587, from: okr@example.com }',
      'alerts.digest.time is "9am"; write a 24-hour time HH:MM, e.g. time: "09:00"',
    ]);
    expect(message).not.toContain('no-scheme-secret');

    // The written shape is checked by the config loader, with file:line:column.
    const yaml = ['version: 1', 'alerts:', '  channels:', '    leads: { type: slak, webhookUrl: x }', '    oncall: { type: pagerduty }', 'objectives: []', ''].join('\n');
    const messages = parseConfig(yaml, 'okrs.yaml', {}).problems.map((p) => `${p.path} ${p.message}`);
    expect(messages).toContain('alerts.channels.leads.type is "slak"; did you mean slack? (one of slack, email, pagerduty, webhook)');
    expect(messages).toContain('alerts.channels.oncall.routingKey is required; add routingKey: ${PD_ROUTING_KEY}');
  });
});

describe('weekly digest', () => {
  it('sends one check-in per objective to its channels (not PagerDuty), once per week, on a time-zone-aware schedule', async () => {
    const h = await harness();
    const store = new MemoryStore();
    const weekAgo = Date.parse('2026-10-26T08:00:00Z');
    await store.putHistory('cicd', 'deploy-frequency', [{ at: weekAgo - 3 * 3_600_000, value: 0.25 }]);
    await store.putResult(result('at_risk', Date.parse('2026-11-02T07:55:00Z'), { value: 0.3, progress: 0.125, forecast: 0.9 }));
    const berlin: AlertSettings = { ...SETTINGS, digest: { enabled: true, day: 'monday', time: '09:00', timezone: 'Europe/Berlin', channels: null } };
    // Monday 2026-11-02 09:00:30 in Berlin (CET, UTC+1).
    h.clock.t = Date.parse('2026-11-02T08:00:30Z');
    const a = h.create({ store, settings: () => berlin });
    a.startWorker();
    await expect(a.sendDigest()).resolves.toBe(3);
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 0, audit: 1 });
    const digest = json(h.hook.accepted()[0]!.body) as { title: string; summary: string; idempotencyKey: string; sections: { title: string; fields: { label: string; value: string }[] }[] };
    expect(digest.title).toBe('Weekly check-in: Establish a world-class CI/CD pipeline');
    expect(digest.idempotencyKey).toBe(`digest/cicd/${Date.parse('2026-11-02T08:00:00Z')}`);
    expect(digest.sections[0]).toEqual({ title: 'At risk', fields: [{ label: 'Increase deployment frequency to daily', value: 'at risk; 0.3 per day against a target of 1 per day; forecast 0.9 per day misses the target' }] });
    expect(digest.sections[1]!.fields[0]!.value).toBe('at risk: 12.5% (expected 35%); +6.3 pts, 0.25 per day → 0.3 per day since last week');

    // The same week's digest again (a retried scheduler job, a second process): nothing new.
    h.clock.t += 3_600_000;
    await a.sendDigest();
    await h.idle();
    expect(delivered(h)).toEqual({ leads: 1, mail: 1, oncall: 0, audit: 1 });

    // The job scheduler: a cron pattern read in the digest's time zone, next run where nextDigestAt says.
    await a.schedule();
    const queue = new Queue(ALERTS_QUEUE, { connection, prefix: h.prefix });
    try {
      const schedulers = await queue.getJobSchedulers(0, -1);
      const digestScheduler = schedulers.find((s) => s.key === 'alerts-digest');
      expect(digestScheduler).toMatchObject({ pattern: '0 9 * * 1', tz: 'Europe/Berlin' });
      const when = { day: 'monday' as const, time: '09:00', timezone: 'Europe/Berlin' };
      expect(digestScheduler!.next).toBe(nextDigestAt(Date.now(), when));
      expect(schedulers.find((s) => s.key === 'alerts-sweep')).toMatchObject({ every: 300_000 });
    } finally {
      await queue.close();
    }
  });
});
