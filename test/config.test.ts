import { readdirSync, readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_SETTINGS, DEFAULT_PAGERDUTY_EVENTS_URL } from '../src/alerts/types.js';
import { alertingProblems } from '../src/alerts/validate.js';
import { parseDuration } from '../src/config/duration.js';
import { formatProblem, loadConfig, parseConfig, type ConfigProblem } from '../src/config/load.js';
import { Secret } from '../src/core/secret.js';
import { startOfDay } from '../src/config/timezone.js';
import type { Config, KeyResult } from '../src/config/types.js';
import { ConfigError } from '../src/core/errors.js';

const EXAMPLE = 'config/okrs.example.yaml';
const BAD = 'test/fixtures/config/bad';

const SECRETS = {
  GITHUB_TOKEN: 'ghp_example_secret_1',
  PAGERDUTY_TOKEN: 'pd_example_secret_2',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/example_secret_3',
  PD_ROUTING_KEY: 'routing_example_secret_4',
  HOOK_SECRET: 'hook_example_secret_5',
};

/** The env the bad fixtures are checked with; their .expected files assume exactly this. */
const FIXTURE_ENV = {
  GITHUB_TOKEN: 'ghp_fixture_secret',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/fixture-secret',
};

const DAY = 86_400_000;

function parseOk(text: string, env: NodeJS.ProcessEnv = SECRETS): Config {
  const { config, problems } = parseConfig(text, 'okrs.yaml', env);
  expect(problems.map(formatProblem)).toEqual([]);
  return config!;
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = SECRETS): string[] {
  const { config, problems } = parseConfig(text, 'okrs.yaml', env);
  expect(config).toBeNull();
  return problems.map(formatProblem);
}

function kr(config: Config, objectiveId: string, id: string): KeyResult {
  const found = config.objectives.find((o) => o.id === objectiveId)?.keyResults.find((k) => k.id === id);
  if (!found) throw new Error(`no key result ${objectiveId}/${id}`);
  return found;
}

/** A small valid file; tests replace parts of it. */
const MINIMAL = `version: 1
sources:
  github:
    token: \${GITHUB_TOKEN}
objectives:
  - id: cicd
    title: Ship more often
    owner: platform-team
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - id: deploy-frequency
        title: Deploy daily
        metric: deployment_frequency
        repos: [acme/payments]
        target: 1
`;

describe('the example config', () => {
  it('loads and normalizes to the documented defaults', async () => {
    const config = await loadConfig(EXAMPLE, SECRETS);
    expect(config.version).toBe(1);
    expect(config.file).toBe(EXAMPLE);
    expect(config.timezone).toBe('UTC');
    expect(config.sources.github?.baseUrl).toBe('https://api.github.com');
    expect(config.sources.github?.token?.name).toBe('GITHUB_TOKEN');
    expect(config.sources.github?.token?.reveal()).toBe(SECRETS.GITHUB_TOKEN);
    expect(config.sources.pagerduty?.baseUrl).toBe('https://api.pagerduty.com');
    expect(config.sources.pagerduty?.token?.reveal()).toBe(SECRETS.PAGERDUTY_TOKEN);
    expect(config.sources.prometheus).toEqual({ url: 'http://localhost:9090', bearerToken: null, basicAuth: null, headers: {} });
    expect(config.schedule).toEqual({ syncMs: 5 * 60_000, evaluateMs: 5 * 60_000 });

    const { channels } = config.alerts;
    expect(Object.keys(channels)).toEqual(['platform-leads', 'eng-managers', 'oncall', 'audit']);
    expect(channels['eng-managers']).toEqual({ type: 'email', to: ['eng-managers@example.com'] });
    const slack = channels['platform-leads'];
    expect(slack?.type === 'slack' && slack.webhookUrl.reveal()).toBe(SECRETS.SLACK_WEBHOOK_URL);
    const audit = channels.audit;
    expect(audit?.type === 'webhook' && [audit.url, audit.secret?.name, audit.secret?.reveal()]).toEqual([
      'https://hooks.example.com/okr',
      'HOOK_SECRET',
      SECRETS.HOOK_SECRET,
    ]);
    const oncall = channels.oncall;
    expect(oncall?.type === 'pagerduty' && oncall.routingKey.name).toBe('PD_ROUTING_KEY');
    expect(config.alerts.settings).toEqual({
      for: { status: 15 * 60_000, stale: 0, forecast_miss: 3_600_000 },
      keepFiringFor: 15 * 60_000,
      repeat: DAY,
      staleAfter: null,
      severities: { at_risk: 'warning', off_track: 'critical', stale: 'warning', forecast_miss: 'warning' },
      minSeverity: {},
      digest: { enabled: true, day: 'monday', time: '09:00', timezone: null, channels: null },
    });
    // ${SMTP_PORT:-25} is text after substitution; the port is a number all the same.
    expect(config.alerts.smtp).toEqual({ host: 'localhost', port: 25, secure: false, auth: null, from: 'kr-tracker@example.com' });
    expect(config.alerts.pagerDutyEventsUrl).toBe('https://events.pagerduty.com/v2/enqueue');
    // What the alerting module checks again when it starts.
    expect(alertingProblems(config, config.alerts.settings, config.alerts.smtp)).toEqual([]);

    expect(config.objectives.map((o) => [o.id, o.keyResults.map((k) => k.id)])).toEqual([
      ['cicd', ['deploy-time', 'deploy-frequency', 'rollback-rate', 'rework-rate']],
      ['payments-reliability', ['payments-p99', 'payments-restore', 'coverage']],
      ['developer-feedback', ['lead-time', 'ci-success', 'change-failure-rate', 'review-time']],
    ]);
    // One team's quarter: 3 objectives of one owner, as lint's objectives-per-owner asks.
    expect(new Set(config.objectives.map((o) => o.owner))).toEqual(new Set(['platform-team']));
    const cicd = config.objectives[0]!;
    expect(cicd).toMatchObject({ owner: 'platform-team', team: null, parent: null, notify: ['platform-leads'] });
    // End day included: the period runs to the start of 2027-01-01.
    expect(cicd.period).toEqual({ start: Date.UTC(2026, 9, 1), end: Date.UTC(2027, 0, 1) });

    expect(kr(config, 'cicd', 'deploy-time')).toEqual({
      id: 'deploy-time',
      objectiveId: 'cicd',
      title: 'Reduce deployment time by 50%',
      metric: 'ci_duration',
      unit: 'seconds',
      repos: ['acme/payments'],
      services: [],
      paths: [],
      deployments: { source: 'deployments', environment: 'production', environments: ['production'] },
      workflow: 'deploy.yml',
      branch: 'main',
      windowMs: 28 * DAY,
      stat: 'p50',
      attributionMs: 24 * 3_600_000,
      urgency: null,
      artifact: 'coverage',
      query: null,
      aggregate: null,
      baseline: 1200,
      target: { type: 'relative', ratio: -0.5 },
      kind: null,
      bands: { atRisk: 0.1, offTrack: 0.25 },
      weight: 1,
      notify: ['platform-leads'],
      revisionNote: null,
    } satisfies KeyResult);

    expect(kr(config, 'cicd', 'deploy-frequency')).toMatchObject({
      unit: 'per_day',
      repos: ['acme/payments', 'acme/checkout'],
      deployments: { source: 'deployments', environment: 'production' },
      workflow: null,
      baseline: null,
      target: { type: 'absolute', value: 1 },
    });
    expect(kr(config, 'cicd', 'rollback-rate')).toMatchObject({
      unit: 'ratio',
      windowMs: 90 * DAY,
      kind: 'maintain_below',
      target: { type: 'absolute', value: 0.01 },
    });
    expect(kr(config, 'payments-reliability', 'payments-p99')).toMatchObject({
      metric: 'promql',
      unit: 'seconds',
      query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="payments"}[5m])))',
      baseline: 0.5,
      target: { type: 'relative', ratio: -0.3 },
      windowMs: 28 * DAY,
      notify: ['eng-managers', 'oncall'],
    });
    expect(kr(config, 'payments-reliability', 'payments-restore')).toMatchObject({
      unit: 'seconds',
      services: ['PXXXXXX'],
      baseline: 7200,
      target: { type: 'absolute', value: 3600 },
    });
    expect(kr(config, 'payments-reliability', 'coverage')).toMatchObject({
      unit: 'ratio',
      workflow: 'ci.yml',
      artifact: 'coverage',
      baseline: 0.6,
      target: { type: 'absolute', value: 0.85 },
    });
  });

  it('takes the API URLs from the environment, without trailing slashes', () => {
    const config = parseOk(readFileSync(EXAMPLE, 'utf8'), {
      ...SECRETS,
      GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
      PAGERDUTY_API_URL: 'https://api.eu.pagerduty.com',
      PROMETHEUS_URL: 'http://prometheus:9090/',
    });
    expect(config.sources.github?.baseUrl).toBe('https://ghe.example.com/api/v3');
    expect(config.sources.pagerduty?.baseUrl).toBe('https://api.eu.pagerduty.com');
    expect(config.sources.prometheus?.url).toBe('http://prometheus:9090');
  });

  it('takes the SMTP server from the environment', () => {
    const config = parseOk(readFileSync(EXAMPLE, 'utf8'), { ...SECRETS, SMTP_HOST: 'mail.internal', SMTP_PORT: '2525' });
    expect(config.alerts.smtp).toMatchObject({ host: 'mail.internal', port: 2525 });
    expect(problemsOf(readFileSync(EXAMPLE, 'utf8'), { ...SECRETS, SMTP_PORT: '25a' })).toEqual([
      'okrs.yaml:35:48 alerts.smtp.port is "25a", not a port number; write port: 587',
    ]);
  });

  it('reports every unset variable when the environment is empty', () => {
    expect(problemsOf(readFileSync(EXAMPLE, 'utf8'), {})).toEqual([
      'okrs.yaml:17:12 sources.github.token environment variable GITHUB_TOKEN is not set (sources.github.token); export it or write ${GITHUB_TOKEN:-...}',
      'okrs.yaml:20:12 sources.pagerduty.token environment variable PAGERDUTY_TOKEN is not set (sources.pagerduty.token); export it or write ${PAGERDUTY_TOKEN:-...}',
      'okrs.yaml:30:48 alerts.channels.platform-leads.webhookUrl environment variable SLACK_WEBHOOK_URL is not set (alerts.channels.platform-leads.webhookUrl); export it or write ${SLACK_WEBHOOK_URL:-...}',
      'okrs.yaml:32:52 alerts.channels.oncall.routingKey environment variable PD_ROUTING_KEY is not set (alerts.channels.oncall.routingKey); export it or write ${PD_ROUTING_KEY:-...}',
      'okrs.yaml:33:82 alerts.channels.audit.secret environment variable HOOK_SECRET is not set (alerts.channels.audit.secret); export it or write ${HOOK_SECRET:-...}',
    ]);
  });
});

describe('periods', () => {
  const withTimezone = (tz: string) => readFileSync(EXAMPLE, 'utf8').replace('timezone: UTC', `timezone: ${tz}`);

  it('start at midnight of the start day and end at midnight after the end day, in the time zone', () => {
    const berlin = parseOk(withTimezone('Europe/Berlin'));
    expect(berlin.timezone).toBe('Europe/Berlin');
    // 2026-10-01 is summer time (UTC+2); 2027-01-01 is winter time (UTC+1).
    expect(berlin.objectives[0]!.period).toEqual({ start: Date.UTC(2026, 8, 30, 22), end: Date.UTC(2026, 11, 31, 23) });

    const kolkata = parseOk(withTimezone('Asia/Kolkata'));
    expect(kolkata.objectives[0]!.period.start).toBe(Date.UTC(2026, 8, 30, 18, 30));

    const newYork = parseOk(withTimezone('America/New_York'));
    expect(newYork.objectives[0]!.period).toEqual({ start: Date.UTC(2026, 9, 1, 4), end: Date.UTC(2027, 0, 1, 5) });
  });

  it('start a day that skips midnight (DST) at the change', () => {
    // Chile moves from UTC-4 to UTC-3 at local midnight: 2026-09-06 begins at 01:00 (04:00Z).
    expect(startOfDay('2026-09-06', 'America/Santiago')).toBe(Date.UTC(2026, 8, 6, 4));
    expect(startOfDay('2026-09-07', 'America/Santiago')).toBe(Date.UTC(2026, 8, 7, 3));
    // Europe/Berlin changes at 02:00, so midnight exists on both sides of the change.
    expect(startOfDay('2026-03-29', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 28, 23));
    expect(startOfDay('2026-03-30', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 22));
  });

  it('accept a one-day period', () => {
    const config = parseOk(MINIMAL.replace('end: 2026-12-31', 'end: 2026-10-01'));
    expect(config.objectives[0]!.period).toEqual({ start: Date.UTC(2026, 9, 1), end: Date.UTC(2026, 9, 2) });
  });
});

describe('durations', () => {
  it('parses s, m, h, d and w, and sums of them', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('24h')).toBe(DAY);
    expect(parseDuration('28d')).toBe(28 * DAY);
    expect(parseDuration('1w')).toBe(7 * DAY);
    expect(parseDuration('1h30m')).toBe(5_400_000);
  });

  it('says how to write one', () => {
    expect(() => parseDuration('5 minutes')).toThrow(ConfigError);
    expect(() => parseDuration('5 minutes')).toThrow(
      'duration is "5 minutes", not a duration; write a whole number followed by s, m, h, d or w, e.g. 90s, 5m, 24h, 28d or 1w',
    );
    expect(() => parseDuration('0d')).toThrow('above zero');
    expect(() => parseDuration('1.5h')).toThrow('not a duration');
  });
});

describe('environment substitution and defaults', () => {
  it('substitutes ${NAME} and ${NAME:-default} in any string, and $${ stays literal', () => {
    // A function as replacement: in a replacement string `$$` would mean `$`.
    const text = MINIMAL.replace('title: Ship more often', () => 'title: Ship ${WHAT:-more} often $${NOT_A_VAR}')
      .replace('repos: [acme/payments]', 'repos: ["${ORG}/payments", "${ORG:-none}/checkout"]')
      .replace('owner: platform-team', 'owner: ${OWNER:-platform-team}')
      .replace('        target: 1\n', '        target: 1\n        window: ${WINDOW:-7d}\n        environment: ${DEPLOY_ENV}\n');
    const config = parseOk(text, { ...SECRETS, ORG: 'acme', OWNER: '', DEPLOY_ENV: 'prod-eu', WINDOW: '14d' });
    const objective = config.objectives[0]!;
    expect(objective.title).toBe('Ship more often ${NOT_A_VAR}');
    // `:-` also replaces a variable that is set but empty, like the shell.
    expect(objective.owner).toBe('platform-team');
    expect(objective.keyResults[0]).toMatchObject({
      repos: ['acme/payments', 'acme/checkout'],
      windowMs: 14 * DAY,
      deployments: { source: 'deployments', environment: 'prod-eu' },
    });
  });

  it('fills in every default', () => {
    const config = parseOk(MINIMAL);
    expect(config.timezone).toBe('UTC');
    expect(config.sources).toMatchObject({ github: { baseUrl: 'https://api.github.com' }, pagerduty: null, prometheus: null });
    expect(config.schedule).toEqual({ syncMs: 300_000, evaluateMs: 300_000 });
    expect(config.alerts).toEqual({
      channels: {},
      settings: DEFAULT_ALERT_SETTINGS,
      smtp: null,
      pagerDutyEventsUrl: DEFAULT_PAGERDUTY_EVENTS_URL,
    });
    // A copy: changing one config's settings changes no other.
    expect(config.alerts.settings.minSeverity).not.toBe(DEFAULT_ALERT_SETTINGS.minSeverity);
    expect(config.objectives[0]).toMatchObject({ team: null, parent: null, notify: [] });
    expect(config.objectives[0]!.keyResults[0]).toMatchObject({
      unit: 'per_day',
      windowMs: 28 * DAY,
      stat: 'p50',
      deployments: { source: 'deployments', environment: 'production' },
      branch: 'main',
      attributionMs: DAY,
      artifact: 'coverage',
      urgency: null,
      aggregate: null,
      baseline: null,
      kind: null,
      bands: { atRisk: 0.1, offTrack: 0.25 },
      weight: 1,
      notify: [],
    });
  });

  it('reads the optional fields and the per-key-result overrides', () => {
    const text = `version: 1
timezone: Europe/Berlin
sources:
  github: {}
  pagerduty:
    token: \${PAGERDUTY_TOKEN}
    baseUrl: https://api.eu.pagerduty.com/
  prometheus:
    url: https://prometheus.example.com
    bearerToken: \${PROM_TOKEN}
    basicAuth: { username: krt, password: \${PROM_PASSWORD} }
    headers: { X-Scope-OrgID: tenant-1 }
schedule: { sync: 1m, evaluate: 90s }
alerts:
  channels:
    leads: { type: slack, webhookUrl: \${SLACK_WEBHOOK_URL}, minSeverity: warning }
    managers: { type: email, to: [a@example.com, b@example.com] }
    pager: { type: pagerduty, routingKey: \${PD_ROUTING_KEY}, minSeverity: info }
  for: { status: 30m, stale: 1h }
  keepFiringFor: 0s
  repeat: 12h
  staleAfter: 1h
  severities: { at_risk: info, stale: critical }
  digest: { enabled: \${DIGEST:-false}, day: friday, time: "7:30", timezone: America/New_York, channels: [managers] }
  smtp:
    host: smtp.example.com
    port: \${SMTP_PORT}
    secure: true
    user: \${SMTP_USER:-}
    password: \${SMTP_PASSWORD:-}
    from: kr-tracker <okr@example.com>
  pagerdutyEventsUrl: https://events.eu.pagerduty.com/v2/enqueue/
objectives:
  - id: company
    title: Company goal
    owner: cto
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - id: incidents
        title: Fewer high-urgency incidents
        metric: incident_count
        services: [PABC123]
        urgency: high
        kind: decrease
        target: -20%
  - id: delivery
    title: Delivery
    owner: platform-team
    team: platform
    parent: company
    period: { start: 2026-10-01, end: 2026-12-31 }
    notify: [leads]
    keyResults:
      - id: cfr
        title: Halve the change failure rate
        metric: change_failure_rate
        repos: [acme/payments]
        services: [PABC123]
        deployments: { source: workflow, workflow: deploy.yml }
        branch: release
        attribution: 12h
        stat: p90
        bands: { atRisk: 0.05 }
        weight: 2
        notify: [managers]
        target: -50%
      - id: latency
        title: Lower latency
        metric: promql
        query: sum(rate(x[5m]))
        aggregate: max
        target: 0.2
`;
    const config = parseOk(text, {
      ...SECRETS,
      PROM_TOKEN: 'prom_token_secret',
      PROM_PASSWORD: 'prom_password_secret',
      SMTP_PORT: '465',
      SMTP_USER: 'kr-tracker',
      SMTP_PASSWORD: 'smtp_password_secret',
    });
    expect(config.schedule).toEqual({ syncMs: 60_000, evaluateMs: 90_000 });
    expect(config.alerts.settings).toEqual({
      // Unset kinds and conditions keep their defaults.
      for: { status: 30 * 60_000, stale: 3_600_000, forecast_miss: 3_600_000 },
      keepFiringFor: 0,
      repeat: 12 * 3_600_000,
      staleAfter: 3_600_000,
      severities: { at_risk: 'info', off_track: 'critical', stale: 'critical', forecast_miss: 'warning' },
      // Only the channels that set it; the alerting module has the defaults per channel type.
      minSeverity: { leads: 'warning', pager: 'info' },
      digest: { enabled: false, day: 'friday', time: '07:30', timezone: 'America/New_York', channels: ['managers'] },
    });
    const smtp = config.alerts.smtp!;
    expect(smtp).toMatchObject({ host: 'smtp.example.com', port: 465, secure: true, from: 'kr-tracker <okr@example.com>' });
    expect(smtp.auth?.user).toBe('kr-tracker');
    expect(smtp.auth?.password).toBeInstanceOf(Secret);
    expect(smtp.auth?.password.name).toBe('SMTP_PASSWORD');
    expect(smtp.auth?.password.reveal()).toBe('smtp_password_secret');
    expect(config.alerts.pagerDutyEventsUrl).toBe('https://events.eu.pagerduty.com/v2/enqueue');
    expect(alertingProblems(config, config.alerts.settings, smtp)).toEqual([]);
    // An empty user (`${SMTP_USER:-}` unset) is a server without login.
    const anonymous = parseOk(text, { ...SECRETS, PROM_TOKEN: 'x', PROM_PASSWORD: 'y', SMTP_PORT: '25' });
    expect(anonymous.alerts.smtp).toMatchObject({ port: 25, auth: null });
    expect(config.sources.github).toEqual({ token: null, baseUrl: 'https://api.github.com' });
    expect(config.sources.pagerduty?.baseUrl).toBe('https://api.eu.pagerduty.com');
    const prometheus = config.sources.prometheus!;
    expect(prometheus.bearerToken?.reveal()).toBe('prom_token_secret');
    expect(prometheus.basicAuth?.username).toBe('krt');
    expect(prometheus.basicAuth?.password.name).toBe('PROM_PASSWORD');
    // Written literally: allowed, labelled `inline`.
    expect(prometheus.headers['X-Scope-OrgID']?.name).toBe('inline');
    expect(prometheus.headers['X-Scope-OrgID']?.reveal()).toBe('tenant-1');

    const [company, delivery] = config.objectives;
    expect(company!.keyResults[0]).toMatchObject({ unit: 'count', urgency: 'high', kind: 'decrease', notify: [] });
    expect(delivery).toMatchObject({ team: 'platform', parent: 'company', notify: ['leads'] });
    expect(delivery!.keyResults[0]).toMatchObject({
      unit: 'ratio',
      services: ['PABC123'],
      deployments: { source: 'workflow', workflow: 'deploy.yml', branch: 'release' },
      branch: 'release',
      attributionMs: 12 * 3_600_000,
      stat: 'p90',
      bands: { atRisk: 0.05, offTrack: 0.25 },
      weight: 2,
      notify: ['managers'],
    });
    expect(delivery!.keyResults[1]).toMatchObject({ unit: '', aggregate: 'max', notify: ['leads'], query: 'sum(rate(x[5m]))' });
  });

  it('ignores top-level x- keys, where anchors for merge keys can live', () => {
    const text = MINIMAL.replace('objectives:', 'x-github-kr: &github\n  repos: [acme/web]\n  window: 14d\nobjectives:').replace(
      '        repos: [acme/payments]\n',
      '        <<: *github\n',
    );
    expect(parseOk(text).objectives[0]!.keyResults[0]).toMatchObject({ repos: ['acme/web'], windowMs: 14 * DAY });
  });

  it('can give unset variables without a default a placeholder, and keeps the defaults', () => {
    const placeholder = 'http://placeholder.invalid';
    const { config, problems } = parseConfig(readFileSync(EXAMPLE, 'utf8'), 'okrs.yaml', {}, { placeholder });
    expect(problems).toEqual([]);
    expect(config!.sources.github?.token?.reveal()).toBe(placeholder);
    expect(config!.sources.github?.baseUrl).toBe('https://api.github.com');
    expect(config!.alerts.smtp).toMatchObject({ host: 'localhost', port: 25 });
  });

  it('treats an empty optional token as none', () => {
    const config = parseOk(MINIMAL.replace('${GITHUB_TOKEN}', '${GITHUB_TOKEN:-}'), {});
    expect(config.sources.github?.token).toBeNull();
  });
});

describe('alert settings', () => {
  const withAlerts = (alerts: string) => MINIMAL.replace('objectives:', `alerts:\n${alerts}\nobjectives:`);

  it('are all defaults for an empty alerts, for, severities or digest', () => {
    for (const alerts of ['', '  for:', '  severities: {}\n  digest:']) {
      expect(parseOk(withAlerts(alerts)).alerts.settings).toEqual(DEFAULT_ALERT_SETTINGS);
    }
  });

  it('take 0s where it means at once, and nowhere else', () => {
    const config = parseOk(withAlerts('  for: { status: 0s, stale: 0s, forecast_miss: 0s }\n  keepFiringFor: 0s'));
    expect(config.alerts.settings.for).toEqual({ status: 0, stale: 0, forecast_miss: 0 });
    expect(config.alerts.settings.keepFiringFor).toBe(0);
    expect(problemsOf(withAlerts('  repeat: 0m\n  staleAfter: 0s'))).toEqual([
      'okrs.yaml:6:11 alerts.repeat is "0m", an empty duration; give a length above zero, e.g. 5m',
      'okrs.yaml:7:15 alerts.staleAfter is "0s", an empty duration; give a length above zero, e.g. 5m',
    ]);
  });

  it('need staleAfter above schedule.evaluate, and take true/false from the environment', () => {
    const text = withAlerts('  staleAfter: 10m\n  digest: { enabled: ${DIGEST_ENABLED:-true} }').replace(
      'objectives:',
      'schedule: { evaluate: 10m }\nobjectives:',
    );
    expect(problemsOf(text)).toEqual([
      'okrs.yaml:6:15 alerts.staleAfter is 10m, not longer than schedule.evaluate 10m, so key results would go stale between two evaluations; write more than 10m, or remove it for the default of three evaluate intervals (30m)',
    ]);
    const config = parseOk(text.replace('staleAfter: 10m', 'staleAfter: 11m'), { ...SECRETS, DIGEST_ENABLED: 'false' });
    expect(config.alerts.settings).toMatchObject({ staleAfter: 11 * 60_000, digest: { enabled: false } });
  });
});

describe('secrets', () => {
  const values = [...Object.values(SECRETS), 'inline_literal_secret_6'];
  const leaks = (text: string) => values.filter((value) => text.includes(value));

  it('never appear in JSON or util.inspect of the config', () => {
    const text = readFileSync(EXAMPLE, 'utf8').replace(
      '# bearerToken / basicAuth / headers optional',
      'bearerToken: inline_literal_secret_6',
    );
    const config = parseOk(text);
    expect(config.sources.prometheus?.bearerToken).toBeInstanceOf(Secret);
    expect(config.sources.prometheus?.bearerToken?.name).toBe('inline');
    expect(leaks(JSON.stringify(config))).toEqual([]);
    expect(leaks(inspect(config, { depth: Infinity }))).toEqual([]);
    expect(leaks(String(config.sources.github?.token))).toEqual([]);
    expect(JSON.stringify(config.sources.github)).toContain('[secret GITHUB_TOKEN]');
  });

  it('never appear in problems, even next to mistakes', () => {
    const text = `version: 1
sources:
  github:
    token: [inline_literal_secret_6]
  prometheus:
    url: http://localhost:9090
    bearerToken: \${PROM_TOKEN:-inline_literal_secret_6}
    basicAuth: { username: krt, password: \${HOOK_SECRET}, extra: \${PD_ROUTING_KEY} }
alerts:
  channels:
    leads: { type: slack, webhookUrl: inline_literal_secret_6 }
    hook: { type: slack, webhookUrl: "\${GITHUB_TOKEN}" }
    pager: { type: pagerduty, routingKey: \${PAGERDUTY_TOKEN}, secret: \${SLACK_WEBHOOK_URL} }
objectives: []
`;
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThanOrEqual(5);
    expect(leaks(problems.join('\n'))).toEqual([]);
  });

  it('include the SMTP password, which never appears either', () => {
    const password = 'smtp_password_secret_7';
    const withLogin = (user: string) =>
      readFileSync(EXAMPLE, 'utf8').replace(
        'from: kr-tracker@example.com }',
        `from: kr-tracker@example.com, user: ${user}, password: \${SMTP_PASSWORD} }`,
      );
    const config = parseOk(withLogin('kr-tracker'), { ...SECRETS, SMTP_PASSWORD: password });
    expect(config.alerts.smtp?.auth?.password.reveal()).toBe(password);
    expect(JSON.stringify(config)).not.toContain(password);
    expect(inspect(config, { depth: Infinity })).not.toContain(password);
    expect(JSON.stringify(config.alerts.smtp)).toContain('[secret SMTP_PASSWORD]');
    // A password without a user is a mistake, reported without the password.
    const problems = problemsOf(withLogin('""'), { ...SECRETS, SMTP_PASSWORD: password });
    expect(problems).toEqual([
      'okrs.yaml:35:102 alerts.smtp.user is empty when a password is given; write user: ${SMTP_USER}, or remove password',
    ]);
  });

  it('never appear in YAML syntax errors', () => {
    const problems = problemsOf('version: 1\nsources:\n  github:\n    token: inline_literal_secret_6: x\n    baseUrl: [inline_literal_secret_6\n');
    expect(problems.length).toBeGreaterThan(0);
    expect(leaks(problems.join('\n'))).toEqual([]);
  });
});

describe('loadConfig', () => {
  it('throws one ConfigError listing every problem', async () => {
    const file = `${BAD}/17-several-problems.yaml`;
    const error = await loadConfig(file, FIXTURE_ENV).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    const expected = readFileSync(file.replace(/\.yaml$/, '.expected'), 'utf8').trimEnd().split('\n');
    expect(problems).toEqual(expected);
    expect(message.split('\n')[0]).toBe(`${file}: ${expected.length} problems`);
  });

  it('says when the file is missing', async () => {
    await expect(loadConfig('config/nope.yaml', {})).rejects.toThrow('config/nope.yaml: file not found');
  });
});

describe('bad configs', () => {
  const fixtures = readdirSync(BAD)
    .filter((name) => name.endsWith('.yaml'))
    .sort();

  it('cover at least 14 mistakes, each with its .expected', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(14);
    for (const name of fixtures) expect(readdirSync(BAD)).toContain(name.replace(/\.yaml$/, '.expected'));
  });

  it.each(fixtures)('%s gives exactly the expected problems', (name) => {
    const file = `${BAD}/${name}`;
    const { config, problems } = parseConfig(readFileSync(file, 'utf8'), file, FIXTURE_ENV);
    const expected = readFileSync(file.replace(/\.yaml$/, '.expected'), 'utf8').trimEnd().split('\n');
    expect(config).toBeNull();
    expect(problems.map(formatProblem)).toEqual(expected);
    for (const problem of problems) checkShape(problem);
    const text = problems.map(formatProblem).join('\n');
    for (const secret of Object.values(FIXTURE_ENV)) expect(text).not.toContain(secret);
  });
});

function checkShape(problem: ConfigProblem): void {
  expect(problem.line).toBeGreaterThanOrEqual(1);
  expect(problem.column).toBeGreaterThanOrEqual(1);
  // What is wrong; how to fix it.
  expect(problem.message).toMatch(/; /);
}

describe('limits that keep a hostile file harmless', () => {
  it('refuses a file above 1 MB with its location, without reading it whole', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'krt-big-')), 'okrs.yaml');
    writeFileSync(file, MINIMAL + `x-padding: "${'x'.repeat(5 * 1024 * 1024)}"\n`);
    const error = (await loadConfig(file, SECRETS).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([`${file}:1:1 the file is 5.0 MB; an OKR file may be at most 1 MB, so split it or remove what is not needed`]);
    expect(problemsOf(MINIMAL + `x-padding: "${'x'.repeat(1024 * 1024)}"\n`)).toEqual([
      'okrs.yaml:1:1 the file is 1.0 MB; an OKR file may be at most 1 MB, so split it or remove what is not needed',
    ]);
  });

  it('refuses too many aliases, even when each expands to little', () => {
    const aliases = Array.from({ length: 101 }, (_, i) => `x-${i}: *a`).join('\n');
    expect(problemsOf(`x-a: &a 1\n${aliases}\n${MINIMAL}`)).toEqual([
      'okrs.yaml:102:8 the file uses more than 100 YAML aliases (*name); write the values out, or use fewer anchors',
    ]);
  });

  it('refuses nesting deeper than 64 levels but takes 60', () => {
    const nest = (d: number) => `x-deep: ${'['.repeat(d)}1${']'.repeat(d)}\n`;
    expect(problemsOf(nest(65) + MINIMAL)).toEqual([
      'okrs.yaml:1:72 mappings and lists are nested more than 64 levels deep here; the OKR file needs far fewer, so flatten this part',
    ]);
    parseOk(nest(60) + MINIMAL);
    // Deep enough to exhaust the parser's stack: still a located problem, not a crash.
    const [problem, ...rest] = problemsOf(`x-deep: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}\n${MINIMAL}`);
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^okrs\.yaml:\d+:\d+ .*nested (more than 64 levels|too deep)/);
  });

  it('bounds durations at ten years', () => {
    expect(parseDuration('3653d')).toBe(3653 * DAY);
    expect(() => parseDuration('3654d')).toThrow('longer than ten years');
    expect(() => parseDuration('99999999999999999999d')).toThrow('longer than ten years');
  });
});

describe('server', () => {
  it('listens on loopback without auth by default', () => {
    expect(parseOk(MINIMAL).server).toEqual({ host: '127.0.0.1', port: 9464, auth: null });
  });

  it('reads listen and a bearer token or basic auth from the environment', () => {
    const env = { ...SECRETS, KRT_API_TOKEN: 'a-long-random-token-0123456789', KRT_API_PASSWORD: 'pw' };
    const bearer = parseOk(`server:\n  listen: 0.0.0.0:9000\n  auth: { bearerToken: \${KRT_API_TOKEN}, metrics: true }\n${MINIMAL}`, env).server!;
    expect(bearer.host).toBe('0.0.0.0');
    expect(bearer.port).toBe(9000);
    expect(bearer.auth).toMatchObject({ type: 'bearer', metrics: true });
    expect(String(bearer.auth?.type === 'bearer' && bearer.auth.token)).toBe('[secret KRT_API_TOKEN]');
    const basic = parseOk(`server:\n  listen: "[::1]:9464"\n  auth: { basicAuth: { user: krt, password: \${KRT_API_PASSWORD} } }\n${MINIMAL}`, env).server!;
    expect(basic.host).toBe('::1');
    expect(basic.auth).toMatchObject({ type: 'basic', user: 'krt', metrics: false });
    expect(inspect(basic)).not.toContain('pw\'');
  });
});
