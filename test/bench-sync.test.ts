// `npm run bench:sync` in its small form (2 repositories, 30 days): the instrument's table has its
// shape, its per-endpoint counts are the simulators' own counts, and the key results it checks
// equal the independent computations. No timing is asserted (speed is what the bench prints).
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBench, type BenchResult } from '../bench/sync.js';
import { NEEDS } from '../bench/sync/minimum.js';

let result: BenchResult;

beforeAll(async () => {
  result = await runBench({ repos: 2, days: 30, realLimit: false, replay: true, print: () => undefined });
}, 240_000);

describe('bench:sync --repos 2 --days 30', () => {
  it('measures the first sync, a day of new activity and an unchanged re-sync', () => {
    expect(result.phases.map((p) => p.name)).toEqual(['first sync', 'sync after one day of new activity', 'unchanged re-sync (5 minutes later)']);
    const header = /^\| endpoint \(simulator route\) +\| requests \| 304s \| charged \| minimum \| +ratio \|$/m;
    expect(result.text.match(new RegExp(header.source, 'gm'))).toHaveLength(3);
    for (const label of ['GitHub total', 'PagerDuty total', 'all sources']) expect(result.text.match(new RegExp(`^\\| ${label} `, 'gm'))).toHaveLength(3);
    expect(result.text).toMatch(/^replay: \d+ requests with plain fetch, sequential, against fresh simulators.* = \d+\.\d\dx the replay \(CPU: replay [\d.]+ s, first sync without evaluation [\d.]+ s = \d+\.\d\dx\); load average [\d.]+ [\d.]+ [\d.]+$/m);
    expect(result.text).toMatch(/^peak RSS: \d+ MB$/m);
    expect(result.peakRssMb).toBeGreaterThan(0);
  });

  it('shows every need with its route and a minimum, and charges no more than it counts', () => {
    for (const phase of result.phases) {
      for (const need of NEEDS) {
        const row = phase.table.rows.find((r) => r.route === need.route);
        expect(row, `${phase.name}: ${need.route}`).toBeDefined();
        expect(row!.need).toBe(need.id);
        expect(row!.alternative).toBe(false);
        expect(row!.minimum).toBeGreaterThanOrEqual(0);
      }
      for (const r of phase.table.rows) {
        if (r.route !== 'POST /graphql') expect(r.charged, r.route).toBeLessThanOrEqual(r.requests - r.notModified);
      }
    }
    const first = result.phases[0]!;
    // A first sync must read something of everything the config needs.
    for (const need of NEEDS) expect(first.table.rows.find((r) => r.route === need.route)!.minimum, need.route).toBeGreaterThan(0);
    expect(first.table.totals.all.minimum).toBe(first.table.rows.filter((r) => !r.alternative && r.minimum !== null).reduce((n, r) => n + r.minimum!, 0));
    // Nothing new on GitHub: its minimum is zero; PagerDuty still costs its list pages.
    const unchanged = result.phases[2]!;
    expect(unchanged.table.totals.github.minimum).toBe(0);
    expect(unchanged.table.totals.pagerduty.minimum).toBeGreaterThan(0);
  });

  it('counts per endpoint exactly what the simulators counted', () => {
    for (const phase of result.phases) {
      const bySource = (source: 'github' | 'pagerduty') =>
        Object.fromEntries(phase.table.rows.filter((r) => r.source === source && r.requests > 0).map((r) => [r.route, r.requests]));
      expect(bySource('github'), phase.name).toEqual(phase.simulatorCounts.github);
      expect(bySource('pagerduty'), phase.name).toEqual(phase.simulatorCounts.pagerduty);
      expect(phase.table.totals.github.notModified, phase.name).toBe(phase.simulatorCounts.githubNotModified);
      const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
      expect(phase.table.totals.all.requests).toBe(sum(phase.simulatorCounts.github) + sum(phase.simulatorCounts.pagerduty));
      expect(phase.table.totals.github.requests, `${phase.name}: the sync asked GitHub something`).toBeGreaterThan(0);
    }
    // The replay sent each request of the first sync once more, GraphQL calls included (their logged bodies).
    const first = result.phases[0]!;
    expect(result.replay!.requests).toBe(first.table.totals.all.requests);
    expect(result.replay!.skipped).toBe(0);
    // ...against fresh simulators that answered each the way the sync's did (artifact blobs
    // included, through the fresh simulator's own signed URLs).
    expect(result.replay!.mismatched).toBe(0);
  });

  it('a day of new activity costs at most one page or point per changed group, as the simulators logged it', () => {
    const day = result.phases[1]!;
    const row = (route: string) => day.table.rows.find((r) => r.route === route);
    const min = (route: string) => row(route)!.minimum!;
    // Statuses of new and changed deployments over GraphQL (one point per stream), none over REST.
    expect(row('GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses')?.charged ?? 0).toBe(0);
    expect(row('POST /graphql')!.charged).toBeLessThanOrEqual(row('GET /repos/{owner}/{repo}/deployments')!.requests);
    // Runs: one page per workflow and branch; PagerDuty: one incident listing for all services.
    expect(row('GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs')!.charged).toBe(min('GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs'));
    expect(row('GET /incidents')!.charged).toBe(min('GET /incidents'));
    for (const route of ['GET /repos/{owner}/{repo}/deployments', 'GET /repos/{owner}/{repo}/commits', 'GET /repos/{owner}/{repo}/actions/artifacts', 'GET /log_entries']) {
      expect(row(route)!.charged, route).toBeLessThanOrEqual(min(route));
    }
    // Unchanged re-sync: GitHub only 304s, no statuses asked at all.
    const unchanged = result.phases[2]!;
    expect(unchanged.table.totals.github.charged).toBe(0);
    expect(unchanged.table.rows.find((r) => r.route === 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses')?.requests ?? 0).toBe(0);
  });

  it('lists the commit history from the key results\' windows, not from the oldest deployment', () => {
    const first = result.phases[0]!;
    const commits = first.table.rows.find((r) => r.route === 'GET /repos/{owner}/{repo}/commits')!;
    // The minimum plus, per repository, the 14-day margin before the window's base deployment.
    expect(commits.charged).toBeLessThanOrEqual(commits.minimum! + 2 * 2);
  });

  it('gives every key result the value computed independently from the generated data', () => {
    for (const phase of result.phases) {
      expect(phase.comparisons).toHaveLength(34);
      const bad = phase.comparisons.filter((c) => !c.equal).map((c) => `${c.id}: got ${c.got}, want ${c.want} (${c.error})`);
      expect(bad, phase.name).toEqual([]);
    }
    expect(result.text).toMatch(/^34\/34 key results equal to the independent computation/m);
  });

  it('rejects a bad option with the fix', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/sync.ts', '--repos', 'two'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--repos takes a positive integer, e.g. --repos 2; got two');
  });
});
