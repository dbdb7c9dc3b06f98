import { readdirSync, readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/config/duration.js';
import { formatProblem, loadConfig, parseConfig, type ConfigProblem } from '../src/config/load.js';
import { Secret } from '../src/config/secret.js';
import { startOfDay } from '../src/config/timezone.js';
import type { Config, KeyResult } from '../src/config/types.js';
import { ConfigError } from '../src/lib/errors.js';

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

    expect(config.objectives.map((o) => [o.id, o.keyResults.map((k) => k.id)])).toEqual([
      ['cicd', ['deploy-time', 'deploy-frequency', 'rollback-rate']],
      ['payments-reliability', ['payments-p99', 'payments-restore', 'coverage']],
    ]);
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
      deployments: { source: 'deployments', environment: 'production' },
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

  it('reports every unset variable when the environment is empty', () => {
    expect(problemsOf(readFileSync(EXAMPLE, 'utf8'), {})).toEqual([
      'okrs.yaml:12:12 sources.github.token environment variable GITHUB_TOKEN is not set (sources.github.token); export it or write ${GITHUB_TOKEN:-...}',
      'okrs.yaml:15:12 sources.pagerduty.token environment variable PAGERDUTY_TOKEN is not set (sources.pagerduty.token); export it or write ${PAGERDUTY_TOKEN:-...}',
      'okrs.yaml:25:48 alerts.channels.platform-leads.webhookUrl environment variable SLACK_WEBHOOK_URL is not set (alerts.channels.platform-leads.webhookUrl); export it or write ${SLACK_WEBHOOK_URL:-...}',
      'okrs.yaml:27:52 alerts.channels.oncall.routingKey environment variable PD_ROUTING_KEY is not set (alerts.channels.oncall.routingKey); export it or write ${PD_ROUTING_KEY:-...}',
      'okrs.yaml:28:82 alerts.channels.audit.secret environment variable HOOK_SECRET is not set (alerts.channels.audit.secret); export it or write ${HOOK_SECRET:-...}',
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
    expect(config.alerts).toEqual({ channels: {} });
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
    leads: { type: slack, webhookUrl: \${SLACK_WEBHOOK_URL} }
    managers: { type: email, to: [a@example.com, b@example.com] }
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
    const config = parseOk(text, { ...SECRETS, PROM_TOKEN: 'prom_token_secret', PROM_PASSWORD: 'prom_password_secret' });
    expect(config.schedule).toEqual({ syncMs: 60_000, evaluateMs: 90_000 });
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

  it('treats an empty optional token as none', () => {
    const config = parseOk(MINIMAL.replace('${GITHUB_TOKEN}', '${GITHUB_TOKEN:-}'), {});
    expect(config.sources.github?.token).toBeNull();
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
