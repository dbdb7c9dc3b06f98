import type { Config, KeyResult, Objective } from '../../src/config/types.js';
import { Secret } from '../../src/core/secret.js';
import { DEFAULT_ALERT_SETTINGS, DEFAULT_PAGERDUTY_EVENTS_URL } from '../../src/alerts/types.js';

/** A normalized config built in code, for tests that do not exercise the YAML loader. */
export function keyResult(over: Partial<KeyResult> = {}): KeyResult {
  return {
    id: 'deploy-frequency',
    objectiveId: 'cicd',
    title: 'Increase deployment frequency to daily',
    metric: 'deployment_frequency',
    unit: 'per_day',
    repos: ['acme/payments', 'acme/checkout'],
    services: [],
    deployments: { source: 'deployments', environment: 'production' },
    workflow: null,
    branch: 'main',
    windowMs: 28 * 86_400_000,
    stat: 'p50',
    attributionMs: 86_400_000,
    urgency: null,
    artifact: 'coverage',
    query: null,
    aggregate: null,
    baseline: null,
    target: { type: 'absolute', value: 1 },
    kind: null,
    bands: { atRisk: 0.1, offTrack: 0.25 },
    weight: 1,
    notify: [],
    revisionNote: null,
    ...over,
  };
}

export function objective(over: Partial<Objective> = {}): Objective {
  return {
    id: 'cicd',
    title: 'Establish a world-class CI/CD pipeline',
    owner: 'platform-team',
    team: null,
    parent: null,
    period: { start: Date.parse('2026-10-01T00:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z') },
    notify: [],
    checkinEveryMs: 7 * 86_400_000,
    keyResults: [keyResult()],
    ...over,
  };
}

export function config(over: Partial<Config> = {}, githubUrl = 'http://127.0.0.1:1', token = 'test-token'): Config {
  return {
    version: 1,
    file: 'test.yaml',
    timezone: 'UTC',
    sources: { github: { baseUrl: githubUrl, token: new Secret('GITHUB_TOKEN', token) }, pagerduty: null, prometheus: null },
    schedule: { syncMs: 300_000, evaluateMs: 300_000 },
    alerts: { channels: {}, settings: DEFAULT_ALERT_SETTINGS, smtp: null, pagerDutyEventsUrl: DEFAULT_PAGERDUTY_EVENTS_URL },
    objectives: [objective()],
    ...over,
  };
}
