// Issue 13, monorepos, the collection and engine side: one repository deploying two services
// through `production-payments` and `production-search`. Environment patterns and lists sync every
// matching environment (each its own sequence of deployments), `paths:` keeps the changes touching
// them; `krt run --once --json` against the simulated GitHub equals the independent computation
// of test/helpers/expected-monorepo.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubConnector } from '../connectors/github/index.js';
import { applyNewCommit, applyNewDeployment, generateGithubDataset, type GithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import type { CommitEvent, Deployment } from '../src/core/events.js';
import { environmentPattern, parseStream, partitionOf, streamId, streams, type PatternCursor } from '../src/core/stream.js';
import type { KeyResult } from '../src/config/types.js';
import { parseConfig, formatProblem } from '../src/config/load.js';
import { measurer, readsOf } from '../src/engine/measure.js';
import { deploymentChanges, touchingChanges } from '../src/metrics/lead-time.js';
import { rollbackFlags } from '../src/metrics/rollbacks.js';
import { changeFailureRate } from '../src/metrics/change-failure-rate.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { streamsOf } from '../src/sync/plan.js';
import { expectedStatistic, successesOf } from './helpers/expected.js';
import { commitsTouching, environmentsMatching, expectedMonorepoFrequency, expectedMonorepoLeadTimes, expectedMonorepoRollbackRate } from './helpers/expected-monorepo.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const REPO = 'acme/monorepo';
const PATHS = ['services/payments/', 'services/search/'];
const ENVS = ['production-payments', 'production-search', 'staging'];
const logger = pino({ level: 'silent' });

describe('several environments of one repository', () => {
  const T0 = Date.parse('2026-11-01T00:00:00Z');
  const dep = (id: number, environment: string, sha: string, hours: number): Deployment => ({ repo: REPO, environment, id, sha, deployedAt: T0 + hours * HOUR });
  // Interleaved: payments a, b, a (a rollback); search a, a, b (a redeploy, then new: no rollback).
  const list = [
    dep(1, 'production-payments', 'a', 1),
    dep(2, 'production-search', 'a', 2),
    dep(3, 'production-payments', 'b', 3),
    dep(4, 'production-search', 'a', 4),
    dep(5, 'production-payments', 'a', 5),
    dep(6, 'production-search', 'b', 6),
  ];

  it('takes previous, next and rollbacks within each environment', () => {
    const flags = rollbackFlags(list);
    // Pooled per repository, 4 (a after payments' b) would be the rollback and 5 (a after a) not.
    expect([...flags.entries()].filter(([, v]) => v).map(([k]) => k)).toEqual([`${REPO}#5`]);
    // Deployment 3 failed (the next payments deployment rolls it back); the search ones did not.
    expect(changeFailureRate(list, null, { at: T0 + 10 * HOUR, windowMs: DAY }, DAY)).toBeCloseTo(1 / 6, 12);
  });

  it('finds each environment\'s changes, and keeps those touching the paths', () => {
    const compare = (base: string, head: string, shas: string[]) => ({ repo: REPO, id: `${base}...${head}`, base, head, commits: shas.map((sha, i) => ({ sha, committedAt: T0 + i * 60_000 })) });
    const changes = deploymentChanges(list, [compare('a', 'b', ['x', 'y', 'b'])]);
    // Each environment ships x, y, b once (payments at 3, search at 6), in that order of sequences.
    expect(changes.map((c) => c.shas)).toEqual([[], ['x', 'y', 'b'], [], [], [], ['x', 'y', 'b']]);
    expect(changes.map((c) => c.deployedAt)).toEqual([1, 3, 5, 2, 4, 6].map((h) => T0 + h * HOUR));
    const touching = touchingChanges(changes, new Set([`${REPO}\ny`, `other/repo\nx`]));
    expect(touching.map((c) => c.shas)).toEqual([[], ['y'], [], [], [], ['y']]);
    expect(touching[1]!.committedAt).toEqual([T0 + 60_000]);
  });
});

describe('the streams of a monorepo key result', () => {
  const { config, problems } = parseConfig(
    `version: 1
sources:
  github: { token: x }
objectives:
  - id: o
    title: Ship
    owner: me
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - { id: lead, title: Cut the median lead time to a day, metric: lead_time_for_changes, repos: [${REPO}, acme/other], paths: [services/payments/, libs/money], environment: ["production-pay*", production-eu, "production-pay*"], target: 86400 }
      - { id: rework, title: Keep the rework rate under 10%, metric: deployment_rework_rate, repos: [${REPO}], environment: "production-*", kind: maintain_below, target: 0.1 }
`,
    'okrs.yaml',
    {},
  );
  const [lead, rework] = config!.objectives[0]!.keyResults as [KeyResult, KeyResult];

  it('syncs each repository x environment entry (a pattern is one stream), its compares, and each repository x path', () => {
    expect(problems.map(formatProblem)).toEqual([]);
    expect(streamsOf(lead).map(streamId)).toEqual([
      `github:deployments:${REPO}@production-pay*`,
      `github:deployments:${REPO}@production-eu`,
      'github:deployments:acme/other@production-pay*',
      'github:deployments:acme/other@production-eu',
      `github:compare:${REPO}@production-pay*`,
      `github:compare:${REPO}@production-eu`,
      'github:compare:acme/other@production-pay*',
      'github:compare:acme/other@production-eu',
      `github:paths:${REPO}/services/payments/`,
      `github:paths:${REPO}/libs/money`,
      'github:paths:acme/other/services/payments/',
      'github:paths:acme/other/libs/money',
    ]);
    expect(streamsOf(rework).map(streamId)).toEqual([`github:deployments:${REPO}@production-*`]);
  });

  it('reads only partitions of the streams it syncs, and the commits of each path apart', () => {
    const synced = new Set(streamsOf(lead).map((x) => JSON.stringify(partitionOf(x))));
    const reads = readsOf(lead, [Date.parse('2026-11-20T00:00:00Z')]);
    for (const r of reads) expect(synced, `${r.kind} ${r.partition}`).toContain(JSON.stringify({ kind: r.kind, partition: r.partition }));
    expect(reads.filter((r) => r.kind === 'commit').map((r) => r.partition)).toEqual([`${REPO}/services/payments/`, `${REPO}/libs/money`, 'acme/other/services/payments/', 'acme/other/libs/money']);
  });

  it('spells a paths stream as owner/repo/path and reads it back; tells a pattern from a name', () => {
    const k = streams.paths(REPO, 'services/payments/');
    expect(k.key).toBe(`${REPO}/services/payments/`);
    expect(parseStream(k)).toEqual({ source: 'github', stream: 'paths', repo: REPO, path: 'services/payments/' });
    expect(environmentPattern(streams.deployments(REPO, 'production-*'))).toBe('production-*');
    expect(environmentPattern(streams.compare(REPO, 'production-[ab]'))).toBe('production-[ab]');
    expect(environmentPattern(streams.deployments(REPO, 'production'))).toBeNull();
  });
});

describe('the GitHub connector on a monorepo', () => {
  const TO = Date.parse('2026-11-20T00:00:00Z');
  let sim: GithubSimulator;
  let dataset: GithubDataset;
  let now = TO;
  const store = new MemoryStore();
  const connector = () => createGithubConnector({ source: { baseUrl: sim.url, token: { reveal: () => 'good-token' } } as never, store, logger, now: () => now, retryBaseMs: 5 });

  beforeAll(async () => {
    dataset = generateGithubDataset({ seed: 13, repos: [REPO], from: new Date(TO - 60 * DAY), to: new Date(TO), environments: ENVS, paths: PATHS });
    sim = await startGithubSimulator({ dataset, token: 'good-token' });
  });
  afterAll(async () => sim?.close());

  it('syncs every environment a pattern matches into its own partition, then asks only a free 304', async () => {
    const stream = streams.deployments(REPO, 'production-*');
    const first = await connector().sync(stream);
    const cursor = await store.getCursor<PatternCursor>(stream);
    expect(cursor?.environments.sort()).toEqual(['production-payments', 'production-search']);
    for (const env of cursor!.environments) {
      const stored = await store.getEvents('deployment', `${REPO}@${env}`);
      expect(stored.length, env).toBe(dataset.repos[0]!.deployments.filter((d) => d.environment === env).length);
    }
    expect(first.stored).toBeGreaterThan(0);
    expect(first.note ?? null).toBeNull();
    const before = sim.counts().byRoute['GET /repos/{owner}/{repo}/environments'] ?? 0;
    const again = await connector().sync(stream);
    expect(sim.counts().byRoute['GET /repos/{owner}/{repo}/environments']).toBe(before + 1);
    expect(again.notModified).toBeGreaterThanOrEqual(1);
    expect(again.stored).toBe(0);
  });

  it('picks up an environment created after the first sync', async () => {
    const stream = streams.deployments(REPO, 'production-*');
    now = TO + HOUR;
    const d = applyNewDeployment(dataset, REPO, { environment: 'production-billing', created_at: TO + 30 * 60_000, statuses: [{ state: 'success' }] });
    const r = await connector().sync(stream);
    expect(r.stored).toBeGreaterThanOrEqual(1);
    expect((await store.getCursor<PatternCursor>(stream))?.environments.sort()).toEqual(['production-billing', 'production-payments', 'production-search']);
    expect((await store.getEvents('deployment', `${REPO}@production-billing`)).map((e) => e.id)).toEqual([d.id]);
  });

  it('says which environments there are when a pattern matches none', async () => {
    const r = await connector().sync(streams.deployments(REPO, 'canary-*'));
    expect(r.stored).toBe(0);
    expect(r.note).toBe('no deployments in environment "canary-*" (no environment matches it); this repository has: production-billing, production-payments, production-search, staging');
  });

  it('fails a pattern whose environments cannot be listed, saying what access it needs or what to write instead', async () => {
    sim.failNext(1, 403);
    const err = await connector().sync(streams.deployments(REPO, 'production-*')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/environments\?per_page=100 answered 403 .*; an environment pattern \("production-\*"\) is matched against the repository's environments, which needs read access to them \(fine-grained token or App: Actions: read\), or name the environments in the key result instead/);
  });

  it('lists the commits touching a path (merge commits as git log -- path), then incrementally', async () => {
    const stream = streams.paths(REPO, 'services/payments/');
    const first = await connector().sync(stream);
    const stored = new Set((await store.getEvents('commit', `${REPO}/services/payments/`)).map((c: CommitEvent) => c.id));
    const since = Date.parse((await store.getCursor<{ since: string }>(stream))!.since);
    const repo = dataset.repos[0]!;
    const onBranch = new Set([...repo.commits, ...repo.branchCommits].filter((c) => Date.parse(c.date) >= since).map((c) => c.sha));
    const want = [...commitsTouching(dataset, REPO, ['services/payments/'])].filter((s) => onBranch.has(s));
    expect([...stored].sort()).toEqual(want.sort());
    expect(first.stored).toBe(want.length);
    // Both kinds of merge commit are in the data: listed (both sides touched the path) and left out.
    const merges = repo.commits.filter((c) => c.parents.length > 1 && onBranch.has(c.sha));
    expect(merges.some((m) => stored.has(m.sha))).toBe(true);
    expect(merges.some((m) => !stored.has(m.sha))).toBe(true);

    // Nothing new: one request, a 304.
    const idle = await connector().sync(stream);
    expect([idle.requests, idle.notModified, idle.stored]).toEqual([1, 1, 0]);
    // A commit elsewhere changes page 1 of the full history, not of the path's listing.
    applyNewCommit(dataset, REPO, { date: TO + 2 * HOUR, files: ['services/search/new.ts'] });
    now = TO + 3 * HOUR;
    const other = await connector().sync(stream);
    expect([other.requests, other.notModified, other.stored]).toEqual([1, 1, 0]);
    const c = applyNewCommit(dataset, REPO, { date: TO + 4 * HOUR, files: ['services/payments/new.ts'] });
    now = TO + 5 * HOUR;
    const next = await connector().sync(stream);
    expect([next.requests, next.stored]).toEqual([1, 1]);
    expect((await store.getEvents('commit', `${REPO}/services/payments/`)).some((e) => e.id === c.sha)).toBe(true);
  });

  it('measures the deployments of a pattern from the partitions it matched', async () => {
    const { config, problems } = parseConfig(
      `version: 1
sources:
  github: { token: x }
objectives:
  - id: o
    title: Ship
    owner: me
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - { id: all, title: Deploy daily, metric: deployment_frequency, repos: [${REPO}], environment: "production-*", window: 7d, target: 2 }
`,
      'okrs.yaml',
      {},
    );
    expect(problems.map(formatProblem)).toEqual([]);
    const kr = config!.objectives[0]!.keyResults[0]!;
    expect(streamsOf(kr).map((s) => s.key)).toEqual([`${REPO}@production-*`]);
    const value = await (await measurer(kr, store))(TO + 5 * HOUR);
    expect(value).toBeCloseTo(expectedMonorepoFrequency(dataset, REPO, ['production-billing', 'production-payments', 'production-search'], TO + 5 * HOUR, 7), 12);
  });
});

// ----- end to end -----
const NOW = Math.floor(Date.now() / 1000) * 1000;
const AT = NOW - 2 * DAY;
let github: GithubSimulator;
let configFile: string;

const CONFIG = `version: 1
timezone: UTC
sources:
  github: { token: \${GITHUB_TOKEN}, baseUrl: \${GITHUB_API_URL} }
objectives:
  - id: payments
    title: Ship payments changes fast
    owner: payments-team
    period: { start: ${new Date(AT - 20 * DAY).toISOString().slice(0, 10)}, end: ${new Date(AT + 60 * DAY).toISOString().slice(0, 10)} }
    keyResults:
      - { id: payments-frequency, title: Deploy payments three times a day, metric: deployment_frequency, repos: [${REPO}], environment: "production-pay*", window: 28d, baseline: 1, target: 3 }
      - { id: payments-lead-time, title: Cut the median payments lead time to 4 hours, metric: lead_time_for_changes, repos: [${REPO}], paths: [services/payments/], deployments: { source: deployments, environment: "production-payments*" }, window: 28d, baseline: 200000, target: 14400 }
  - id: search
    title: Ship search changes fast
    owner: search-team
    period: { start: ${new Date(AT - 20 * DAY).toISOString().slice(0, 10)}, end: ${new Date(AT + 60 * DAY).toISOString().slice(0, 10)} }
    keyResults:
      - { id: search-frequency, title: Deploy search three times a day, metric: deployment_frequency, repos: [${REPO}], environment: [production-search], window: 28d, baseline: 1, target: 3 }
      - { id: search-lead-time, title: Cut the p90 search lead time to 8 hours, metric: lead_time_for_changes, stat: p90, repos: [${REPO}], paths: [services/search], environment: "production-search", window: 28d, baseline: 300000, target: 28800 }
  - id: platform
    title: Keep the monorepo stable
    owner: platform-team
    period: { start: ${new Date(AT - 20 * DAY).toISOString().slice(0, 10)}, end: ${new Date(AT + 60 * DAY).toISOString().slice(0, 10)} }
    keyResults:
      - { id: all-frequency, title: Deploy five times a day, metric: deployment_frequency, repos: [${REPO}], environment: [production-payments, "production-s*"], window: 28d, baseline: 2, target: 5 }
      - { id: all-lead-time, title: Cut the median lead time to 4 hours, metric: lead_time_for_changes, repos: [${REPO}], environment: "production-*", window: 28d, baseline: 200000, target: 14400 }
      - { id: all-rollbacks, title: Keep rollbacks under 10%, metric: rollback_rate, repos: [${REPO}], environment: "production-*", window: 28d, kind: maintain_below, target: 0.1 }
      - { id: canary, title: Deploy canaries daily, metric: deployment_frequency, repos: [${REPO}], environment: "canary-*", window: 28d, baseline: 0, target: 1 }
`;

beforeAll(async () => {
  const ds = generateGithubDataset({ seed: 29, repos: [REPO], from: new Date(NOW - 90 * DAY), to: new Date(NOW), environments: ENVS, paths: PATHS, rateScale: 0.6 });
  // The generator rolls back only `production`: a rollback of search in the window, to the sha it
  // ran before its last deployment (an older sha that payments may run too, which must not matter).
  const search = successesOf(ds, REPO, 'production-search');
  const i = search.findIndex((d, k) => k > 1 && d.deployedAt > AT - 5 * DAY && search[k - 1]!.sha !== d.sha);
  applyNewDeployment(ds, REPO, { environment: 'production-search', sha: search[i - 1]!.sha, created_at: search[i]!.deployedAt + 60_000, statuses: [{ state: 'success' }] });
  github = await startGithubSimulator({ dataset: ds, token: 'e2e-token' });
  configFile = join(mkdtempSync(join(tmpdir(), 'krt-monorepo-')), 'okrs.yaml');
  writeFileSync(configFile, CONFIG);
}, 60_000);
afterAll(async () => {
  await github?.close();
});

interface KrOut { id: string; value: number | null; error: string | null }

function runOnce(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['bin/krt.js', 'run', '--once', '--json', '--at', new Date(AT).toISOString(), '--config', configFile], {
      env: { ...process.env, LOG_LEVEL: 'silent', GITHUB_TOKEN: 'e2e-token', GITHUB_API_URL: github.url },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('krt run --once --json on a monorepo: one key result per service', () => {
  it('equals the independent computation per service, and the lead times differ', async () => {
    const out = await runOnce();
    expect(out.code, out.stderr).toBe(0);
    const krs = new Map((JSON.parse(out.stdout) as { objectives: { keyResults: KrOut[] }[] }).objectives.flatMap((o) => o.keyResults).map((k) => [k.id, k]));
    const value = (id: string) => {
      const kr = krs.get(id)!;
      expect(kr.error, `${id}: ${kr.error}`).toBeNull();
      return kr.value;
    };
    const ds = github.dataset;
    const prod = environmentsMatching(ds, REPO, ['production-*']);
    expect(prod).toEqual(['production-payments', 'production-search']);
    const rollbacks = expectedMonorepoRollbackRate(ds, REPO, prod, AT, 28);
    expect(rollbacks.rollbacks, 'rollbacks in the window').toBeGreaterThan(0);
    const lead = (envs: string[], paths: string[] | null, stat: 'p50' | 'p90') => expectedStatistic(expectedMonorepoLeadTimes(ds, REPO, envs, paths, AT, 28), stat);
    const expected: Record<string, number | null> = {
      'payments-frequency': expectedMonorepoFrequency(ds, REPO, environmentsMatching(ds, REPO, ['production-pay*']), AT, 28),
      'search-frequency': expectedMonorepoFrequency(ds, REPO, ['production-search'], AT, 28),
      'all-frequency': expectedMonorepoFrequency(ds, REPO, prod, AT, 28),
      'payments-lead-time': lead(['production-payments'], ['services/payments/'], 'p50'),
      'search-lead-time': lead(['production-search'], ['services/search'], 'p90'),
      'all-lead-time': lead(prod, null, 'p50'),
      'all-rollbacks': rollbacks.rate,
    };
    for (const [id, want] of Object.entries(expected)) {
      expect(want, `${id}: the generated data should give a value`).not.toBeNull();
      expect(value(id), id).toBeCloseTo(want!, 6);
    }
    // The path filter matters: each service's lead time differs from the unfiltered one of its environment.
    const payments = value('payments-lead-time')!;
    expect(payments).not.toBeCloseTo(lead(['production-payments'], null, 'p50')!, 0);
    expect(payments).not.toBeCloseTo(value('search-lead-time')!, 0);
    expect(value('payments-frequency')).not.toBeCloseTo(value('search-frequency')!, 6);

    const canary = krs.get('canary')!;
    expect(canary.error).toBe(`${REPO}: no deployments in environment "canary-*" (no environment matches it); this repository has: production-payments, production-search, staging`);
    // The paths were listed with GitHub's path filter, one listing per path.
    expect(github.counts().byRoute['GET /repos/{owner}/{repo}/commits']).toBeGreaterThan(0);
  }, 120_000);
});
