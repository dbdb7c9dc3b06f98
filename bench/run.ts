// `npm run bench`: speed of the hot paths, as ratios against a baseline measured in the same
// process (so machines of different speed give comparable numbers). Not run by the tests.
import { performance } from 'node:perf_hooks';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { deploymentFrequency } from '../src/metrics/deployment-frequency.js';
import { leadTimeForChanges } from '../src/metrics/lead-time.js';
import { statistic } from '../src/metrics/quantile.js';
import { successfulDeployments } from '../src/core/deployments.js';
import type { DeploymentEvent } from '../src/core/events.js';

const DAY = 86_400_000;

function time(fn: () => unknown, rounds = 20): number {
  fn(); // warm-up
  const t = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  return (performance.now() - t) / rounds;
}

const now = Date.parse('2026-11-25T00:00:00Z');
const dataset = generateGithubDataset({ seed: 1, repos: ['acme/a', 'acme/b', 'acme/c', 'acme/d'], from: new Date(now - 365 * DAY), to: new Date(now) });
const events: DeploymentEvent[] = dataset.repos.flatMap((r) =>
  r.deployments.map((d) => {
    const last = d.statuses.filter((s) => s.state !== 'inactive').at(-1);
    return { repo: r.fullName, id: d.id, sha: d.sha, environment: d.environment, createdAt: Date.parse(d.created_at), state: last?.state ?? null, statusAt: last ? Date.parse(last.created_at) : null, statusId: last?.id ?? null };
  }),
);
const deployments = successfulDeployments(events);
const values = deployments.map((d) => d.deployedAt % 100_000);

// Baseline: one pass over the events that touches each once (the least any metric can do).
const baseline = time(() => {
  let n = 0;
  for (const e of events) if (e.state === 'success') n++;
  return n;
}, 200);

const cases: [string, () => unknown][] = [
  ['successfulDeployments (normalize + sort)', () => successfulDeployments(events)],
  ['deploymentFrequency, 365 daily instants', () => { for (let d = 0; d < 365; d++) deploymentFrequency(deployments, { at: now - d * DAY, windowMs: 28 * DAY }); }],
  ['statistic p90 over all deployments', () => statistic(values, 'p90')],
  ['leadTimeForChanges without compares', () => leadTimeForChanges(deployments, [], { at: now, windowMs: 90 * DAY }, 'p50')],
];

console.log(`${events.length} deployment events, ${deployments.length} successful; baseline pass ${baseline.toFixed(4)} ms`);
for (const [name, fn] of cases) {
  const ms = time(fn);
  console.log(`${name.padEnd(45)} ${ms.toFixed(3).padStart(9)} ms  ${(ms / baseline).toFixed(1).padStart(8)}x baseline`);
}
