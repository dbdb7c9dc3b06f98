// GitHub Actions runs and coverage, synced from the simulated REST API into a real Redis, checked
// against computations made straight from the simulated dataset (no product code in them).
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunsKey, runsStreamOf, type RunsCursor } from '../connectors/github/actions.js';
import { createGithubClient } from '../connectors/github/client.js';
import { coverageStreamOf, parseCoverageKey, syncCoverage } from '../connectors/github/coverage.js';
import { createGithubConnector, type GithubConnectorOptions } from '../connectors/github/index.js';
import {
  applyNewArtifact,
  applyNewWorkflowRun,
  applyRunUpdate,
  generateGithubDataset,
  zipFiles,
  type GithubDataset,
  type SimArtifact,
  type SimWorkflowRun,
} from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { Secret } from '../src/core/secret.js';
import { SourceError } from '../src/core/errors.js';
import { ciDuration } from '../src/metrics/ci-duration.js';
import { ciSuccessRate } from '../src/metrics/ci-success-rate.js';
import { testCoverage } from '../src/metrics/test-coverage.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';
import { crashingStore } from './helpers/crashing-store.js';

const MIN = 60_000;
const DAY = 86_400_000;
const TO = Date.parse('2026-11-20T00:00:00Z');
const REPOS = ['acme/payments', 'acme/checkout'];
const TOKEN = 'good-token';
const logger = pino({ level: 'silent' });
const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
const RUNS_ROUTE = 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs';
const BLOB_ROUTE = 'GET /_blob/artifacts/{artifact_id}.zip';
const DOWNLOAD_ROUTE = 'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}';
const LIST_ROUTE = 'GET /repos/{owner}/{repo}/actions/artifacts';

let n = 0;
const freshStore = () => new RedisStore({ redis, prefix: `${prefix}-${n++}` });
const connector = (sim: GithubSimulator, store: Store, now: number, extra: Partial<GithubConnectorOptions> = {}) =>
  createGithubConnector({
    source: { baseUrl: sim.url, token: new Secret('GITHUB_TOKEN', TOKEN) },
    store,
    logger,
    now: () => now,
    retryBaseMs: 5,
    runs: { historyMs: 400 * DAY },
    coverage: {},
    ...extra,
  });

// ----- independent computations from the dataset -----
const ms = (iso: string) => Date.parse(iso);
const simRuns = (ds: GithubDataset, repo: string, workflow: string, branch: string) =>
  ds.repos.find((r) => r.fullName === repo)!.runs.filter((r) => r.workflow === workflow && r.head_branch === branch);

function expectedSuccessRate(runs: SimWorkflowRun[], at: number, windowMs: number): number | null {
  const counted = runs.filter((r) => r.status === 'completed' && ['success', 'failure', 'timed_out'].includes(r.conclusion ?? '') && ms(r.created_at) > at - windowMs && ms(r.created_at) <= at);
  return counted.length === 0 ? null : counted.filter((r) => r.conclusion === 'success').length / counted.length;
}

function expectedMedianDuration(runs: SimWorkflowRun[], at: number, windowMs: number): number | null {
  const xs = runs
    .filter((r) => r.status === 'completed' && r.conclusion === 'success' && ms(r.created_at) > at - windowMs && ms(r.created_at) <= at)
    .map((r) => (ms(r.updated_at) - ms(r.run_started_at)) / 1000)
    .sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const h = (xs.length - 1) / 2;
  const lo = Math.floor(h);
  return xs[lo]! + (h - lo) * (xs[Math.min(lo + 1, xs.length - 1)]! - xs[lo]!);
}

/** What the report in the archive says, by METRICS.md's reading of each format. */
function expectedLineRate(a: SimArtifact): number {
  const lines = a.coverage!.files.reduce((s, f) => s + f.lines, 0);
  const covered = a.coverage!.files.reduce((s, f) => s + f.covered, 0);
  if (a.coverage!.format === 'istanbul-summary') return Math.floor((100_000 * covered) / lines / 10) / 100 / 100; // pct, 2 decimals down
  if (a.coverage!.format === 'lcov') return covered / lines;
  return Number((covered / lines).toPrecision(4)); // line-rate as coverage.py writes it
}

afterAll(async () => {
  await cleanup();
  redis.disconnect();
});

describe('workflow runs', () => {
  let sim: GithubSimulator;
  beforeAll(async () => {
    const dataset = generateGithubDataset({ seed: 7, repos: REPOS, from: new Date(TO - 400 * DAY), to: new Date(TO) });
    sim = await startGithubSimulator({ dataset, token: TOKEN });
  });
  afterAll(async () => {
    await sim.close();
  });
  const store = freshStore();
  const since = () => sim.requests.length;

  it('stores every run of a listing larger than GitHub\'s 1,000-result cap once, by created ranges', async () => {
    const want = simRuns(sim.dataset, 'acme/payments', 'ci.yml', 'main');
    expect(want.length).toBeGreaterThan(2000);
    const before = since();
    const report = await connector(sim, store, TO).sync(runsStreamOf('acme/payments', 'ci.yml', 'main'));
    const got = await store.getEvents('workflow_run', 'acme/payments/ci.yml@main');
    expect(got.length).toBe(want.length);
    expect(new Set(got.map((e) => e.id))).toEqual(new Set(want.map((r) => r.id)));
    expect(report.stored).toBe(want.length);
    const byId = new Map(got.map((e) => [e.id, e]));
    for (const r of want) {
      expect(byId.get(r.id)).toEqual({
        repo: 'acme/payments',
        id: r.id,
        workflow: 'ci.yml',
        branch: 'main',
        event: r.event,
        status: r.status,
        conclusion: r.conclusion,
        headSha: r.head_sha,
        createdAt: ms(r.created_at),
        updatedAt: ms(r.updated_at),
        runStartedAt: ms(r.run_started_at),
        runAttempt: r.run_attempt,
      });
    }
    // Every listing asked a created range; none could have been cut at 1,000 (each was paged to its end).
    const lists = sim.requests.slice(before).filter((r) => r.route === RUNS_ROUTE);
    const created = lists.map((r) => new URL(r.path, 'http://x').searchParams.get('created'));
    expect(created.every((c) => c !== null)).toBe(true);
    expect(new Set(created).size).toBeGreaterThanOrEqual(3);
    expect(lists.every((r) => Number(new URL(r.path, 'http://x').searchParams.get('page')) <= 10)).toBe(true);
    expect((await store.getCursor<RunsCursor>(runsStreamOf('acme/payments', 'ci.yml', 'main')))).toMatchObject({ syncedThrough: TO, walk: null, tail: { from: TO - 3 * DAY } });
  });

  it('gives ci_success_rate and ci_duration equal to the dataset\'s own numbers', async () => {
    const runs = await store.getEvents('workflow_run', 'acme/payments/ci.yml@main');
    const want = simRuns(sim.dataset, 'acme/payments', 'ci.yml', 'main');
    for (const at of [TO, TO - 30 * DAY, TO - 200 * DAY, TO - 390 * DAY]) {
      for (const windowMs of [7 * DAY, 28 * DAY]) {
        const w = { at, windowMs };
        expect(ciSuccessRate(runs, w)).toBeCloseTo(expectedSuccessRate(want, at, windowMs)!, 12);
        expect(ciDuration(runs, w, 'p50')).toBeCloseTo(expectedMedianDuration(want, at, windowMs)!, 9);
      }
    }
    expect(ciSuccessRate(runs, { at: TO - 500 * DAY, windowMs: 28 * DAY })).toBeNull();
  });

  it('a second sync of unchanged runs makes only 304s, which cost no rate limit', async () => {
    const before = since();
    const report = await connector(sim, store, TO + 10 * MIN).sync(runsStreamOf('acme/payments', 'ci.yml', 'main'));
    const second = sim.requests.slice(before);
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((r) => r.status === 304 && r.ifNoneMatch)).toBe(true);
    expect(report).toMatchObject({ stored: 0, notModified: second.length, requests: second.length });
  });

  it('picks up a run that finished and a new one; unchanged pages stay 304', async () => {
    const running = simRuns(sim.dataset, 'acme/payments', 'ci.yml', 'main').find((r) => r.status === 'in_progress')!;
    expect((await store.getEvents('workflow_run', 'acme/payments/ci.yml@main')).find((e) => e.id === running.id)).toMatchObject({ status: 'in_progress', conclusion: null });
    applyRunUpdate(sim.dataset, 'acme/payments', running.id, { status: 'completed', conclusion: 'success', updated_at: TO + 5 * MIN });
    const before = since();
    const r1 = await connector(sim, store, TO + 20 * MIN).sync(runsStreamOf('acme/payments', 'ci.yml', 'main'));
    const made = sim.requests.slice(before);
    expect(made.filter((r) => r.status === 200).length).toBe(1); // page 1, where the run is
    expect(made.filter((r) => r.status === 304).length).toBe(made.length - 1);
    expect(r1.stored).toBe(1);
    expect((await store.getEvents('workflow_run', 'acme/payments/ci.yml@main')).find((e) => e.id === running.id)).toMatchObject({ status: 'completed', conclusion: 'success', updatedAt: TO + 5 * MIN });

    const added = applyNewWorkflowRun(sim.dataset, 'acme/payments', { created_at: TO + 30 * MIN, status: 'completed', conclusion: 'failure' });
    const r2 = await connector(sim, store, TO + 50 * MIN).sync(runsStreamOf('acme/payments', 'ci.yml', 'main'));
    expect(r2.stored).toBe(1);
    const all = await store.getEvents('workflow_run', 'acme/payments/ci.yml@main');
    expect(all.find((e) => e.id === added.id)).toMatchObject({ conclusion: 'failure', runAttempt: 1 });
    expect(all.length).toBe(simRuns(sim.dataset, 'acme/payments', 'ci.yml', 'main').length);
  });

  it('a later day reads again from the cursor minus the settle margin in one open range (one page), and sees a re-run', async () => {
    // A run of two days ago is re-run and fails: run_attempt 2, same id, new conclusion.
    const old = simRuns(sim.dataset, 'acme/payments', 'ci.yml', 'main').find((r) => r.conclusion === 'success' && ms(r.created_at) < TO - 2 * DAY && ms(r.created_at) > TO - 2.5 * DAY)!;
    applyRunUpdate(sim.dataset, 'acme/payments', old.id, { run_attempt: 2, run_started_at: TO + 22 * 60 * MIN, updated_at: TO + 22 * 60 * MIN + 8 * MIN, conclusion: 'failure' });
    const before = since();
    await connector(sim, store, TO + DAY + 60 * MIN).sync(runsStreamOf('acme/payments', 'ci.yml', 'main'));
    const created = sim.requests.slice(before).filter((r) => r.route === RUNS_ROUTE).map((r) => new URL(r.path, 'http://x').searchParams.get('created'));
    // One open range since the last sync less the settle margin: a day of new runs is one page.
    expect(created).toEqual([`>=${new Date(TO - 3 * DAY).toISOString().replace('.000Z', '+00:00')}`]);
    expect((await store.getEvents('workflow_run', 'acme/payments/ci.yml@main')).find((e) => e.id === old.id)).toMatchObject({ runAttempt: 2, conclusion: 'failure' });
  });

  it('splits deeper under a lower cap (simulator and connector at 50) and still stores each run once', async () => {
    const low = await startGithubSimulator({ dataset: sim.dataset, token: TOKEN, runListCap: 50 });
    try {
      const s = freshStore();
      for (const [repo, wf] of [['acme/checkout', 'deploy.yml'], ['acme/payments', 'deploy.yml']] as const) {
        await connector(low, s, TO, { runs: { historyMs: 400 * DAY, listCap: 50 } }).sync(runsStreamOf(repo, wf, 'main'));
        const want = simRuns(sim.dataset, repo, wf, 'main');
        expect(want.length).toBeGreaterThan(500);
        const got = await s.getEvents('workflow_run', `${repo}/${wf}@main`);
        expect(got.map((e) => e.id).sort()).toEqual(want.map((r) => r.id).sort());
        for (const at of [TO, TO - 100 * DAY]) {
          expect(ciSuccessRate(got, { at, windowMs: 28 * DAY })).toBeCloseTo(expectedSuccessRate(want, at, 28 * DAY)!, 12);
          expect(ciDuration(got, { at, windowMs: 28 * DAY }, 'p50')).toBeCloseTo(expectedMedianDuration(want, at, 28 * DAY)!, 9);
        }
      }
      const lists = low.requests.filter((r) => r.route === RUNS_ROUTE);
      expect(lists.every((r) => Number(new URL(r.path, 'http://x').searchParams.get('page') ?? 1) === 1)).toBe(true); // never past 50
      expect(lists.length).toBeGreaterThan(20);
    } finally {
      await low.close();
    }
  });

  it('routes every GitHub stream kind; keys hold branches with / @ #', async () => {
    expect(parseRunsKey('acme/payments/ci.yml@release/2026@q4')).toEqual({ repo: 'acme/payments', workflow: 'ci.yml', branch: 'release/2026@q4' });
    expect(parseCoverageKey('acme/payments/ci.yml@fix/#12#coverage-report')).toEqual({ repo: 'acme/payments', workflow: 'ci.yml', branch: 'fix/#12', artifact: 'coverage-report' });
    expect(() => parseRunsKey('acme/payments@main')).toThrow(/owner\/repo\/workflow@branch/);
    expect(runsStreamOf('acme/payments', 'ci.yml', 'main')).toEqual({ source: 'github', stream: 'runs', key: 'acme/payments/ci.yml@main' });
    expect(coverageStreamOf('acme/payments', 'ci.yml', 'main', 'coverage')).toEqual({ source: 'github', stream: 'coverage', key: 'acme/payments/ci.yml@main#coverage' });

    const s = freshStore();
    const c = connector(sim, s, TO);
    const feature = sim.dataset.repos[1]!.runs.find((r) => r.event === 'pull_request')!.head_branch;
    expect(feature).toContain('/');
    await c.sync(runsStreamOf('acme/checkout', 'ci.yml', feature));
    expect((await s.getEvents('workflow_run', `acme/checkout/ci.yml@${feature}`)).map((e) => e.id).sort()).toEqual(simRuns(sim.dataset, 'acme/checkout', 'ci.yml', feature).map((r) => r.id).sort());
    // compare (connectors/github/compare.ts) derives from stored deployments: none here, no requests.
    expect(await c.sync({ source: 'github', stream: 'compare', key: 'acme/checkout@production' })).toMatchObject({ stream: { stream: 'compare' }, requests: 0 });
    await expect(c.sync({ source: 'github', stream: 'issues', key: 'x' })).rejects.toThrow('github connector has no stream "issues"');
  });

  it('resumes a walk that died between pages without loss or duplicates', async () => {
    const inner = freshStore();
    // A store that dies on page write 4, as a process killed mid-sync would.
    const crashing = crashingStore(inner, 4);
    const stream = runsStreamOf('acme/checkout', 'ci.yml', 'main');
    await expect(connector(sim, crashing, TO, { perPage: 100 }).sync(stream)).rejects.toThrow('killed');
    const cursor = await inner.getCursor<RunsCursor>(stream);
    expect(cursor?.walk?.page).toBeGreaterThan(1);
    expect(cursor?.syncedThrough).toBeNull();
    expect((await inner.getEvents('workflow_run', 'acme/checkout/ci.yml@main')).length).toBe(300);
    await connector(sim, inner, TO, { perPage: 100 }).sync(stream);
    const want = simRuns(sim.dataset, 'acme/checkout', 'ci.yml', 'main');
    const got = await inner.getEvents('workflow_run', 'acme/checkout/ci.yml@main');
    expect(got.map((e) => e.id).sort()).toEqual(want.map((r) => r.id).sort());
    expect((await inner.getCursor<RunsCursor>(stream))?.walk).toBeNull();
  });
});

describe('coverage', () => {
  let sim: GithubSimulator;
  // 120 days with the format switch at 60-80% and 90-day retention: the last 45 days hold
  // istanbul + lcov reports (payments) and lcov + cobertura (checkout), ~370 downloads.
  const FROM = TO - 120 * DAY;
  const HISTORY = 45 * DAY;
  beforeAll(async () => {
    const dataset = generateGithubDataset({ seed: 7, repos: REPOS, from: new Date(FROM), to: new Date(TO) });
    // A few artifacts expired early (a shorter retention setting): listed with expired: true.
    for (const repo of dataset.repos) {
      const recent = repo.runs.filter((r) => r.artifacts.some((a) => a.name === 'coverage') && ms(r.created_at) > TO - 30 * DAY);
      for (const r of recent.slice(0, 3)) r.artifacts.find((a) => a.name === 'coverage')!.expired = true;
    }
    sim = await startGithubSimulator({ dataset, token: TOKEN });
  });
  afterAll(async () => {
    await sim.close();
  });
  const store = freshStore();
  // The evaluation instant and the end of each of the last 45 days (UTC), every day downloaded at once.
  const dayEnds = (now: number) => Array.from({ length: 45 }, (_, i) => Math.floor(now / DAY) * DAY - i * DAY);
  const instants = (_key: string, now: number) => ({ instants: [now], daily: dayEnds(now) });
  const covConnector = (s: Store, now: number, extra: Partial<GithubConnectorOptions> = {}) =>
    connector(sim, s, now, { runs: { historyMs: 120 * DAY }, coverage: { historyMs: HISTORY, maxDailyDownloadsPerSync: 1000, maxDownloadsPerSync: 1000, instants }, ...extra });
  /** The runs stream, then the coverage stream derived from it (the sync plan's order). */
  const syncBoth = async (s: Store, repo: string, now: number, extra: Partial<GithubConnectorOptions> = {}) => {
    const c = covConnector(s, now, extra);
    const runs = await c.sync(runsStreamOf(repo, 'ci.yml', 'main'));
    const cov = await c.sync(coverageStreamOf(repo, 'ci.yml', 'main', 'coverage'));
    return [runs, cov];
  };

  it('reads coverage of every format from the repository\'s artifact list, downloading only what the values need, without the token', async () => {
    const before = sim.requests.length;
    // Coverage reads the stored runs: none yet, nothing to do.
    expect(await covConnector(store, TO).sync(coverageStreamOf('acme/payments', 'ci.yml', 'main', 'coverage'))).toMatchObject({ requests: 0, stored: 0 });
    for (const repo of REPOS) await syncBoth(store, repo, TO);
    const formats = new Set<string>();
    for (const repo of REPOS) {
      const runs = simRuns(sim.dataset, repo, 'ci.yml', 'main').filter((r) => r.conclusion === 'success' && ms(r.created_at) >= TO - HISTORY);
      const withReport = runs.filter((r) => r.artifacts.some((a) => a.name === 'coverage' && !a.expired));
      expect(runs.length - withReport.length).toBe(3); // the expired ones are skipped
      const got = await store.getEvents('coverage', `${repo}/ci.yml@main`);
      const byId = new Map(got.map((c) => [c.id, c]));
      // Only the reports a value needs: far fewer than the runs.
      expect(got.length).toBeLessThanOrEqual(46);
      expect(got.length).toBeLessThan(withReport.length / 3);
      const readable = new Map(withReport.map((r) => [r.id, r]));
      for (const c of got) {
        const r = readable.get(c.id)!;
        const a = r.artifacts.find((x) => x.name === 'coverage')!;
        expect(c.format).toBe(a.coverage!.format);
        expect(c.lineRate).toBeCloseTo(expectedLineRate(a), 12);
        expect(c.runCreatedAt).toBe(ms(r.created_at));
        formats.add(c.format);
      }
      // test_coverage from the store, at now and at every day end: the newest successful run with a
      // readable report at or before t, as when every report was downloaded.
      for (const at of dayEnds(TO)) {
        const latest = withReport.filter((r) => ms(r.created_at) <= at).sort((x, y) => ms(y.created_at) - ms(x.created_at) || y.id - x.id)[0]!;
        expect(byId.has(latest.id)).toBe(true);
        expect(testCoverage(got, at)).toBeCloseTo(expectedLineRate(latest.artifacts.find((x) => x.name === 'coverage')!), 12);
      }
      expect(testCoverage(got, TO - HISTORY - DAY)).toBeNull(); // older runs are outside the coverage history
    }
    expect(formats).toEqual(new Set(['istanbul-summary', 'lcov', 'cobertura']));

    const made = sim.requests.slice(before);
    const listings = made.filter((r) => r.route === LIST_ROUTE);
    const downloads = made.filter((r) => r.route === DOWNLOAD_ROUTE);
    const blobs = made.filter((r) => r.route === BLOB_ROUTE);
    expect(made.filter((r) => r.route === 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts')).toEqual([]);
    // One listing of the repository's coverage artifacts, a few pages deep (45 days of them).
    expect(listings.length).toBeGreaterThanOrEqual(2 * 2);
    expect(listings.length).toBeLessThanOrEqual(2 * 5);
    expect(downloads.length).toBeGreaterThan(40);
    expect(downloads.length).toBeLessThanOrEqual(2 * 46 + 6);
    expect(downloads.every((r) => r.status === 302 && r.authorization)).toBe(true);
    expect(blobs.length).toBe(downloads.length);
    expect(blobs.every((r) => r.status === 200 && !r.authorization)).toBe(true);
  }, 90_000);

  it('a second sync asks nothing that costs rate limit: runs and the artifact list are 304s, coverage already stored', async () => {
    const before = sim.requests.length;
    const reports = [];
    for (const repo of REPOS) reports.push(...(await syncBoth(store, repo, TO + 10 * MIN)));
    const second = sim.requests.slice(before);
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((r) => r.status === 304)).toBe(true);
    expect(reports.every((r) => r.stored === 0 && r.notModified === r.requests)).toBe(true);
    // Coverage: page 1 of the artifact list, unchanged.
    expect(reports.filter((r) => r.stream.stream === 'coverage').map((r) => r.requests)).toEqual([1, 1]);
    expect(second.filter((r) => r.route === LIST_ROUTE).length).toBe(2);
  });

  it('a corrupt archive, an unreadable report and an oversized archive are clear errors; the rest is stored', async () => {
    const ds = sim.dataset;
    const at = TO + 60 * MIN;
    const good = applyNewWorkflowRun(ds, 'acme/payments', { created_at: at, coverage: { format: 'lcov', files: [{ path: 'src/a.ts', lines: 200, covered: 150 }] } });
    const corrupt = applyNewWorkflowRun(ds, 'acme/payments', { created_at: at + MIN });
    const corruptArtifact = applyNewArtifact(ds, 'acme/payments', corrupt.id, { name: 'coverage', raw: Buffer.from('PK\u0003\u0004 this is not really a zip archive') });
    const badReport = applyNewWorkflowRun(ds, 'acme/payments', { created_at: at + 2 * MIN });
    applyNewArtifact(ds, 'acme/payments', badReport.id, { name: 'coverage', raw: zipFiles([{ name: 'coverage/lcov.info', data: Buffer.from('TN:\nSF:src/a.ts\nend_of_record\n') }]) });
    const none = applyNewWorkflowRun(ds, 'acme/payments', { created_at: at + 3 * MIN });

    const err = await syncBoth(store, 'acme/payments', at + 30 * MIN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(false);
    const message = (err as SourceError).message;
    expect(message).toMatch(/^2 coverage reports could not be read/);
    expect(message).toContain(`acme/payments run ${corrupt.id} (ci.yml@main`);
    expect(message).toContain(`artifact "coverage" (id ${corruptArtifact.id}): not a readable zip archive`);
    expect(message).toContain(`acme/payments run ${badReport.id} (ci.yml@main`);
    expect(message).toContain('coverage/lcov.info: no LF/LH records');
    const got = await store.getEvents('coverage', 'acme/payments/ci.yml@main');
    expect(got.find((c) => c.id === good.id)).toMatchObject({ lineRate: 0.75, format: 'lcov' });
    expect(got.some((c) => c.id === corrupt.id || c.id === badReport.id || c.id === none.id)).toBe(false);
    expect(testCoverage(got, at + 30 * MIN)).toBe(0.75);

    // They are not asked again (a finished run's artifacts do not change): the next sync is clean.
    const before = sim.requests.length;
    await syncBoth(store, 'acme/payments', at + 40 * MIN);
    expect(sim.requests.slice(before).filter((r) => r.route !== RUNS_ROUTE).map((r) => [r.route, r.status])).toEqual([[LIST_ROUTE, 304]]);

    // Over the size limit: refused from the listed size, and from the bytes when the listing lies.
    const small = freshStore();
    const tiny = await syncBoth(small, 'acme/checkout', at + 30 * MIN, { coverage: { historyMs: 2 * DAY, maxArtifactBytes: 1000 } }).catch((e: unknown) => e);
    expect(tiny).toBeInstanceOf(SourceError);
    expect((tiny as SourceError).message).toMatch(/acme\/checkout run \d+ \(ci\.yml@main, created [^)]+\): artifact "coverage" \(id \d+\): the archive is \d+ bytes, over the 1000-byte limit \(maxArtifactBytes\)/);

    // A download larger than its listing said (no Content-Length): cut off while streaming.
    const lying = freshStore();
    await covConnector(lying, at + 30 * MIN).sync({ source: 'github', stream: 'runs', key: 'acme/checkout/ci.yml@main' });
    const client = createGithubClient({ baseUrl: sim.url, token: TOKEN, logger, retryBaseMs: 5 });
    const seen: string[] = [];
    const padded: typeof fetch = async (input, init) => {
      seen.push(String(input));
      expect(new Headers(init?.headers).has('authorization')).toBe(false);
      const real = Buffer.from(await (await fetch(input, init)).arrayBuffer());
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(real);
          for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(64 * 1024));
          c.close();
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/zip' } });
    };
    const cut = await syncCoverage({ client, store: lying, now: () => at + 30 * MIN, historyMs: 2 * DAY, maxArtifactBytes: 500_000, fetch: padded }, 'acme/checkout', 'ci.yml', 'main', 'coverage').catch((e: unknown) => e);
    expect(seen.length).toBeGreaterThan(0);
    expect((cut as SourceError).message).toMatch(/the archive is over the 500000-byte limit \(maxArtifactBytes\)/);
  });
});
