// Issue "every source and every metric": `krt run --once --json` against the simulated GitHub and
// PagerDuty and a real Prometheus holding latency history gives, for every key result of the
// example config, the value computed independently here from the generated data.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { generatePagerDutyDataset } from '../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import type { GithubDataset } from '../connectors/github/sim/dataset.js';
import {
  expectedChangeFailureRate,
  expectedCiDuration,
  expectedCoverage,
  expectedDeploymentFrequency,
  expectedLeadTimes,
  expectedRollbackRate,
  expectedStatistic,
  expectedTimeToRestore,
} from './helpers/expected.js';
import { expectedRework, expectedShippedPulls, expectedStageSeconds, incidentIntervals } from './helpers/expected-pulls.js';
import { startPrometheusWithHistory, type PrometheusWithHistory } from './helpers/prometheus-history.js';

const DAY = 86_400_000;
const REPOS = ['acme/payments', 'acme/checkout'];
const NOW = Math.floor(Date.now() / 1000) * 1000;
const AT = NOW - 3 * DAY; // evaluate in the past: nothing generated later may count
let github: GithubSimulator;
let pagerduty: Awaited<ReturnType<typeof startPagerDutySimulator>>;
let prometheus: PrometheusWithHistory;

beforeAll(async () => {
  github = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 17, repos: REPOS, from: new Date(NOW - 150 * DAY), to: new Date(NOW), rateScale: 0.3 }),
    token: 'all-token',
  });
  pagerduty = await startPagerDutySimulator({
    dataset: generatePagerDutyDataset({ seed: 17, services: ['PXXXXXX'], from: new Date(NOW - 150 * DAY), to: new Date(NOW) }),
    token: 'all-token',
  });
  prometheus = await startPrometheusWithHistory({
    series: [{ labels: { service: 'payments' }, requestsPerSecond: 30, quantileAt: { from: 0.48, to: 0.4 } }],
    from: NOW - 10 * DAY,
    to: NOW,
    stepSeconds: 120,
  });
}, 120_000);
afterAll(async () => {
  await github?.close();
  await pagerduty?.close();
  await prometheus?.stop();
});

/** METRICS.md ci_success_rate from the simulated runs (each run holds its latest attempt). */
function expectedCiSuccessRate(dataset: GithubDataset, repos: string[], workflow: string, branch: string, at: number, windowDays: number): number | null {
  const from = at - windowDays * DAY;
  const counted = dataset.repos
    .filter((r) => repos.includes(r.fullName))
    .flatMap((r) => r.runs)
    .filter((run) => run.workflow === workflow && run.head_branch === branch && run.status === 'completed')
    .filter((run) => Date.parse(run.created_at) > from && Date.parse(run.created_at) <= at)
    .filter((run) => run.conclusion === 'success' || run.conclusion === 'failure' || run.conclusion === 'timed_out');
  return counted.length === 0 ? null : counted.filter((run) => run.conclusion === 'success').length / counted.length;
}

interface KrOut { id: string; value: number | null; status: string; error: string | null }

describe('krt run --once --json on every source', () => {
  it('gives every key result of the example config its independently computed value', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, ['bin/krt.js', 'run', '--once', '--json', '--at', new Date(AT).toISOString(), '--config', 'config/okrs.example.yaml'], {
        env: {
          ...process.env,
          LOG_LEVEL: 'silent',
          GITHUB_TOKEN: 'all-token',
          GITHUB_API_URL: github.url,
          PAGERDUTY_TOKEN: 'all-token',
          PAGERDUTY_API_URL: pagerduty.url,
          PROMETHEUS_URL: prometheus.url,
          SLACK_WEBHOOK_URL: 'https://hooks.example.com/x',
          PD_ROUTING_KEY: 'k',
          HOOK_SECRET: 's',
        },
      });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.code, out.stderr).toBe(0);
    const krs = new Map(
      (JSON.parse(out.stdout) as { objectives: { keyResults: KrOut[] }[] }).objectives.flatMap((o) => o.keyResults).map((k) => [k.id, k]),
    );
    const value = (id: string) => {
      const kr = krs.get(id)!;
      expect(kr.error, `${id}: ${kr.error}`).toBeNull();
      return kr.value;
    };
    const expected: Record<string, number | null> = {
      'deploy-time': expectedCiDuration(github.dataset, ['acme/payments'], 'deploy.yml', 'main', AT, 28, 0.5),
      'deploy-frequency': expectedDeploymentFrequency(github.dataset, REPOS, 'production', AT, 28),
      'rollback-rate': expectedRollbackRate(github.dataset, REPOS, 'production', AT, 90),
      'payments-p99': prometheus.expectedP99(AT),
      'payments-restore': expectedTimeToRestore(pagerduty.dataset, ['PXXXXXX'], AT, 28, 0.5, NOW),
      coverage: expectedCoverage(github.dataset, 'acme/payments', 'ci.yml', 'main', AT, NOW),
      'lead-time': expectedStatistic(expectedLeadTimes(github.dataset, REPOS, 'production', AT, 28), 'p50'),
      'ci-success': expectedCiSuccessRate(github.dataset, REPOS, 'ci.yml', 'main', AT, 28),
      'change-failure-rate': expectedChangeFailureRate(
        github.dataset,
        REPOS,
        'production',
        pagerduty.dataset.incidents.filter((i) => i.service_id === 'PXXXXXX').map((i) => Date.parse(i.created_at)),
        AT,
        28,
        4 * 3_600_000,
      ),
      'rework-rate': expectedRework(github.dataset, REPOS, 'production', incidentIntervals(pagerduty.dataset, ['PXXXXXX'], NOW), AT, 28).rate,
      'review-time': expectedStatistic(expectedStageSeconds(expectedShippedPulls(github.dataset, REPOS, 'production', AT, 28), 'review'), 'p50'),
    };
    expect([...krs.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [id, want] of Object.entries(expected)) {
      expect(want, `${id}: the generated data should give a value`).not.toBeNull();
      expect(value(id), id).toBeCloseTo(want!, 9);
    }
  }, 120_000);
});
