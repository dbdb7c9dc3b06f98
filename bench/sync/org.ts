// The organisation `npm run bench:sync` measures: N repositories over D days of GitHub history
// (deployments of production and staging, ci.yml/deploy.yml runs, coverage artifacts), a few
// PagerDuty services with their incidents, the mixed 34-key-result OKR file that reads them, and
// "one day of new activity" applied to both datasets.
import {
  applyNewArtifact,
  applyNewCommit,
  applyNewDeployment,
  applyNewStatus,
  applyNewWorkflowRun,
  generateGithubDataset,
  type GithubDataset,
  type SimCoverage,
} from '../../connectors/github/sim/dataset.js';
import { applyLogEntry, applyNewIncident, generatePagerDutyDataset, type PagerDutyDataset } from '../../connectors/pagerduty/sim/dataset.js';

export const DAY = 86_400_000;
const MIN = 60_000;

/** The bench's fixed "now": the end of the generated history. */
export const NOW = Date.parse('2026-11-25T00:00:00Z');
/** The quarter every objective of the bench config is measured over. */
export const PERIOD = { start: '2026-10-01', end: '2026-12-31' };
export const TOKEN = 'bench-token';

const NAMES = [
  'payments', 'checkout', 'search', 'notifications', 'identity', 'inventory', 'shipping', 'reporting', 'billing', 'catalog',
  'pricing', 'orders', 'gateway', 'ledger', 'fraud', 'emails', 'mobile-api', 'admin', 'webhooks', 'analytics',
];

export function repoNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `acme/${NAMES[i] ?? `service-${i + 1}`}`);
}

export const SERVICES = ['PSVC0PA', 'PSVC0CK', 'PSVC0SE', 'PSVC0ID'];

export interface Org {
  repos: string[];
  services: string[];
  github: GithubDataset;
  pagerduty: PagerDutyDataset;
  from: number;
  to: number;
}

/**
 * GitHub: `repos` repositories over `days` days ending at NOW (seed 1, default rates, production +
 * staging, GitHub's 90-day artifact retention). PagerDuty: 4 services, ~0.44 incidents a day each
 * (~640 over 365 days).
 */
export function generateOrg(repos: number, days: number): Org {
  const names = repoNames(repos);
  const from = NOW - days * DAY;
  const github = generateGithubDataset({ seed: 1, repos: names, from: new Date(from), to: new Date(NOW), environments: ['production', 'staging'] });
  const pagerduty = generatePagerDutyDataset({ seed: 1, services: SERVICES, from: new Date(from), to: new Date(NOW), incidentsPerDay: 0.44 });
  return { repos: names, services: SERVICES, github, pagerduty, from, to: NOW };
}

// ----- the OKR file -----

interface KrSpec {
  id: string;
  metric: string;
  lines: string[];
}

const list = (xs: string[]) => `[${xs.join(', ')}]`;

/**
 * The mixed 34-KR OKR file (YAML, through the product's loader). Repository i of a KR is
 * `repos[i % n]`, so that smaller organisations (`--repos 2`) keep the same 34 key results.
 *   8 deployment KRs: deployment_frequency (all, 7d on 5), lead_time_for_changes (all p50 90d,
 *     3 repos p90 28d), change_failure_rate (all + all services 28d, 5 repos + one service 90d),
 *     rollback_rate (all 90d, 5 repos 28d);
 *   14 CI KRs: ci_success_rate on repos 0-5 (28d), ci_duration on repos 6-9 (ci.yml p50 28d,
 *     deploy.yml p90 90d alternately), test_coverage on repos 10-13;
 *   12 PagerDuty KRs: time_to_restore (28d p50), time_to_acknowledge (7d p90), incident_count
 *     (90d, high urgency) per service.
 */
export function benchConfigYaml(repos: string[], services: string[], githubUrl: string, pagerdutyUrl: string): string {
  const r = (i: number) => repos[i % repos.length] as string;
  const range = (a: number, b: number) => [...new Set(Array.from({ length: b - a }, (_, k) => r(a + k)))];
  const deployKrs: KrSpec[] = [
    { id: 'df-all-28d', metric: 'deployment_frequency', lines: [`repos: ${list(repos)}`, 'window: 28d', 'target: 30'] },
    { id: 'df-5-7d', metric: 'deployment_frequency', lines: [`repos: ${list(range(0, 5))}`, 'window: 7d', 'target: 10'] },
    { id: 'lt-all-90d', metric: 'lead_time_for_changes', lines: [`repos: ${list(repos)}`, 'window: 90d', 'stat: p50', 'target: 3600'] },
    { id: 'lt-3-28d', metric: 'lead_time_for_changes', lines: [`repos: ${list(range(0, 3))}`, 'window: 28d', 'stat: p90', 'target: 7200'] },
    { id: 'cfr-all-28d', metric: 'change_failure_rate', lines: [`repos: ${list(repos)}`, `services: ${list(services)}`, 'window: 28d', 'target: 0.05'] },
    { id: 'cfr-5-90d', metric: 'change_failure_rate', lines: [`repos: ${list(range(5, 10))}`, `services: [${services[0]}]`, 'window: 90d', 'target: 0.05'] },
    { id: 'rb-all-90d', metric: 'rollback_rate', lines: [`repos: ${list(repos)}`, 'window: 90d', 'target: 0.005'] },
    { id: 'rb-5-28d', metric: 'rollback_rate', lines: [`repos: ${list(range(10, 15))}`, 'window: 28d', 'target: 0.005'] },
  ].map((k) => ({ ...k, lines: [...k.lines, 'deployments: { source: deployments, environment: production }'] }));
  const ciKrs: KrSpec[] = [];
  for (let i = 0; i < 6; i++) ciKrs.push({ id: `ci-success-${i + 1}`, metric: 'ci_success_rate', lines: [`repos: [${r(i)}]`, 'workflow: ci.yml', 'branch: main', 'window: 28d', 'target: 0.95'] });
  for (let i = 6; i < 10; i++) {
    const deploy = i % 2 === 1;
    ciKrs.push({
      id: `ci-duration-${i + 1}`,
      metric: 'ci_duration',
      lines: [`repos: [${r(i)}]`, `workflow: ${deploy ? 'deploy.yml' : 'ci.yml'}`, 'branch: main', deploy ? 'window: 90d' : 'window: 28d', deploy ? 'stat: p90' : 'stat: p50', 'target: 300'],
    });
  }
  for (let i = 10; i < 14; i++) ciKrs.push({ id: `coverage-${i + 1}`, metric: 'test_coverage', lines: [`repos: [${r(i)}]`, 'workflow: ci.yml', 'branch: main', 'target: 0.9'] });
  const pdKrs: KrSpec[] = services.flatMap((s, i) => [
    { id: `ttr-${i + 1}`, metric: 'time_to_restore', lines: [`services: [${s}]`, 'window: 28d', 'stat: p50', 'target: 1800'] },
    { id: `tta-${i + 1}`, metric: 'time_to_acknowledge', lines: [`services: [${s}]`, 'window: 7d', 'stat: p90', 'target: 120'] },
    { id: `incidents-${i + 1}`, metric: 'incident_count', lines: [`services: [${s}]`, 'window: 90d', 'urgency: high', 'target: 5'] },
  ]);
  const objective = (id: string, title: string, krs: KrSpec[]) => [
    `  - id: ${id}`,
    `    title: ${title}`,
    '    owner: platform-team',
    `    period: { start: ${PERIOD.start}, end: ${PERIOD.end} }`,
    '    keyResults:',
    ...krs.flatMap((k) => [`      - id: ${k.id}`, `        title: ${k.id}`, `        metric: ${k.metric}`, ...k.lines.map((l) => `        ${l}`)]),
  ];
  return [
    'version: 1',
    'timezone: UTC',
    'sources:',
    `  github: { token: ${TOKEN}, baseUrl: "${githubUrl}" }`,
    `  pagerduty: { token: ${TOKEN}, baseUrl: "${pagerdutyUrl}" }`,
    'objectives:',
    ...objective('delivery', 'Ship small changes safely', deployKrs),
    ...objective('ci', 'Keep CI fast and green', ciKrs),
    ...objective('reliability', 'Restore service quickly', pdKrs),
    '',
  ].join('\n');
}

// ----- one day of new activity -----

export interface DayOfActivity {
  commits: number;
  deployments: number;
  runs: number;
  artifacts: number;
  incidents: number;
}

/**
 * One working day after `start` (ms), applied to the datasets the simulators serve: per
 * repository 5 commits on main, each with a successful ci.yml push run carrying a `coverage`
 * artifact (the repository's last report, one line more covered); 2 production and 4 staging
 * deployments (queued, in_progress, success, with GitHub's auto_inactive); 2 deploy.yml runs.
 * PagerDuty: one high-urgency incident per service, acknowledged after 4 min, resolved after 40.
 * Everything lies in (start, start + 1 day).
 */
export function applyDayOfActivity(org: Org, start: number): DayOfActivity {
  const out: DayOfActivity = { commits: 0, deployments: 0, runs: 0, artifacts: 0, incidents: 0 };
  const at = (h: number, m = 0) => start + h * 3_600_000 + m * MIN;
  for (const name of org.repos) {
    const repo = org.github.repos.find((x) => x.fullName === name)!;
    const lastCoverage = [...repo.runs].reverse().flatMap((run) => run.artifacts).find((a) => a.name === 'coverage' && a.coverage)?.coverage;
    const landed: { sha: string; t: number }[] = [];
    const headAt = (t: number) => [...landed].reverse().find((c) => c.t <= t)?.sha ?? repo.commits[repo.commits.length - 1]?.sha;
    for (let k = 0; k < 5; k++) {
      const t = at(8 + 2 * k, 7);
      const c = applyNewCommit(org.github, name, { date: t, message: `feat: day-after change ${k + 1}` });
      landed.push({ sha: c.sha, t });
      out.commits++;
      const coverage: SimCoverage | undefined = lastCoverage
        ? { format: lastCoverage.format, files: lastCoverage.files.map((f, i) => ({ ...f, covered: Math.min(f.lines, f.covered + (i === 0 ? k + 1 : 0)) })) }
        : undefined;
      const run = applyNewWorkflowRun(org.github, name, { workflow: 'ci.yml', branch: 'main', event: 'push', head_sha: c.sha, created_at: t + 10_000, status: 'completed', conclusion: 'success' });
      out.runs++;
      if (coverage) {
        applyNewArtifact(org.github, name, run.id, { name: 'coverage', coverage, created_at: Date.parse(run.updated_at) - 15_000 });
        out.artifacts++;
      }
    }
    const deploy = (env: string, t: number) => {
      const d = applyNewDeployment(org.github, name, { environment: env, created_at: t, sha: headAt(t) });
      applyNewStatus(org.github, name, d.id, { state: 'queued', created_at: t + 5_000 });
      applyNewStatus(org.github, name, d.id, { state: 'in_progress', created_at: t + 30_000 });
      applyNewStatus(org.github, name, d.id, { state: 'success', created_at: t + 6 * MIN });
      out.deployments++;
    };
    for (const h of [10, 16]) {
      deploy('production', at(h, 30));
      applyNewWorkflowRun(org.github, name, { workflow: 'deploy.yml', branch: 'main', event: 'push', head_sha: headAt(at(h, 25)), created_at: at(h, 25), status: 'completed', conclusion: 'success' });
      out.runs++;
    }
    for (const h of [9, 11, 13, 15]) deploy('staging', at(h, 45));
  }
  org.services.forEach((service, i) => {
    const t = at(12, 3 * i);
    const inc = applyNewIncident(org.pagerduty, { service_id: service, created_at: t, urgency: 'high', title: `Bench incident ${i + 1}` });
    applyLogEntry(org.pagerduty, inc.id, 'acknowledge_log_entry', t + 4 * MIN);
    applyLogEntry(org.pagerduty, inc.id, 'resolve_log_entry', t + 40 * MIN);
    out.incidents++;
  });
  return out;
}
