// Months of GitHub history for the simulator (connectors/github/sim/server.ts): per repository a
// linear commit history on the default branch and deployments of several environments with their
// statuses, as GitHub records them. Deterministic for a seed.
//
// What the generator guarantees (tests and the demo rely on it):
// - commits: `commits` is the default branch's first-parent line, dates strictly increasing; it
//   starts 7 days before `from` so that the first deployments have some history; several commits a
//   weekday, few on weekends. Every commit has `parents`. About `mergeCommitRate` (0.3) of the
//   pull-request commits on it are merge commits: first parent the previous commit of the line,
//   second parent the tip of a feature branch of 1-4 commits (in `branchCommits`) forked from the
//   line 30 minutes to 3 days earlier, dated between the fork and the merge. The line's shas, dates
//   and messages do not depend on the merges (a merge commit keeps the pull request's title, as
//   with GitHub's "merge commit message: pull request title" setting).
// - deployments are created in [from, to]; in one environment of one repository they never overlap
//   (each starts after the previous one's final status), so creation order = deployed order.
// - statuses of a deployment are stored oldest first: `queued` (most), `in_progress`, then
//   `success` (~88%), `failure` or `error`. GitHub's `auto_inactive`: when a deployment succeeds,
//   the previously active (last successful) deployment of the same repository and environment gets
//   an `inactive` status with the same `created_at`.
// - ordinary deployments only move forward: each deploys a commit newer than any commit that was
//   successfully deployed before in that environment. The only deployments of an older commit are
//   the intentional rollbacks (production, ~3% of successes, ref = the sha, creator a human) that
//   redeploy the sha of the last successful deployment before the one being rolled back. Failed
//   deployments are often retried with the same sha; a few successful ones are redeployed (same sha).
// - production deploys get more frequent over the period (a per-repository rate from ~0.5-1.3 to
//   ~1.5-3 a weekday, before skips), staging is 2-3x as frequent; weekends see few deployments.
// - special cases: two deployments without any status (the first repository's first environment at
//   ~40% of the period; the last repository's last environment at ~65%), and the newest deployment
//   of the first repository's first environment (production by default), created 7 minutes before
//   `to`, whose only status is `pending` (still running).
// - deployment ids and status ids increase with `created_at` and are unique across repositories;
//   they have gaps (as on GitHub, where ids are global) and exceed 2^31.
// - GitHub Actions (see `generateActions` below): workflows `ci.yml` (push on main for every commit
//   that lands, pull_request on feature branches, a few workflow_dispatch) and `deploy.yml` (main),
//   their runs with attempts, and artifacts (`coverage` zips on successful ci.yml runs on main).
// - pull requests (`pulls`, ./pulls.ts): each pull-request commit of the line comes from merging
//   one, with a merge commit, a squash or a rebase; plus PRs that did not land on the line.
import { createHash } from 'node:crypto';
import { createRandom, hashString, type Random } from '../../sim/random.js';
import { zipFiles } from '../../sim/zip.js';
import { DAY, HOUR, MIN, SEC } from '../../sim/time.js';
import { generatePulls, mergeNewPull, type SimPull } from './pulls.js';

export { crc32, zipFiles } from '../../sim/zip.js';
export type { SimMergeMethod, SimPull, SimPullCommit } from './pulls.js';

export type SimStatusState = 'queued' | 'in_progress' | 'pending' | 'success' | 'failure' | 'error' | 'inactive';

export interface SimStatus {
  id: number;
  state: SimStatusState;
  created_at: string;
  description: string;
  environment: string;
}

export interface SimDeployment {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  created_at: string;
  updated_at: string;
  /** Oldest first (the API lists them newest first). */
  statuses: SimStatus[];
  creator_login: string;
  description: string | null;
}

export interface SimCommit {
  sha: string;
  /** Committer date (when it landed on the default branch; for a feature-branch commit, when it was made). */
  date: string;
  message: string;
  /** GitHub login of the author. */
  author: string;
  /** Parent shas, first parent first (two for a merge commit, none for a root commit). */
  parents: string[];
  /** `commit.author.date` where the dataset fixes it (squash and rebase merges, ./pulls.ts). */
  authorDate?: string;
  /**
   * Files the commit adds (`GenerateGithubDatasetOptions.paths`; absent otherwise: the path filter
   * then matches every commit). Each file is added once and never changed, so a clean merge's tree
   * is the union of its parents'; a merge commit's own files are what it added resolving a conflict.
   */
  files?: string[];
}

export interface SimRepo {
  fullName: string;
  defaultBranch: string;
  deployments: SimDeployment[];
  /** The default branch's first-parent line, oldest first: its last commit is the branch head. */
  commits: SimCommit[];
  /**
   * Every other commit the repository holds, oldest first: feature-branch commits brought in by
   * merge commits, and the old line of a rewritten (force-pushed) history. All of them can be
   * asked for by sha, as on GitHub (which keeps unreachable commits until garbage collection).
   */
  branchCommits: SimCommit[];
  /** Branches other than the default one: name -> head sha (e.g. the old line after a force-push). */
  refs: Record<string, string>;
  /** GitHub Actions workflows (`ci.yml`, `deploy.yml`). */
  workflows: SimWorkflow[];
  /** Their runs, oldest first (ids increase with `created_at`). */
  runs: SimWorkflowRun[];
  /** Pull requests by number (./pulls.ts): how the line's commits got there. */
  pulls?: SimPull[];
}

export interface GithubDataset {
  repos: SimRepo[];
}

export interface GenerateGithubDatasetOptions {
  seed: number;
  repos: string[];
  from: Date;
  to: Date;
  /** Default ['production', 'staging']. `production` gets production rates and rollbacks. */
  environments?: string[];
  /**
   * Multiplies every deployment rate (default 1: ~0.5-1.3 rising to ~1.5-3 production deployments
   * a weekday per repository). The demo uses 0.3 so that two repositories pooled climb towards
   * the example's "daily" target during the quarter instead of starting above it.
   */
  rateScale?: number;
  /** Days an artifact is kept (GitHub's default 90): older ones are `expired` at `to`. */
  artifactRetentionDays?: number;
  /** Fraction of the pull-request commits of the default branch that are merge commits (default 0.3). */
  mergeCommitRate?: number;
  /**
   * A monorepo: directories (`services/payments/`) the commits add files to (`SimCommit.files`):
   * each commit touches one of them, sometimes two, sometimes none (a file at the root); one merge
   * commit in ten adds a file of its own (a conflict resolution). Default: no files.
   */
  paths?: string[];
}

export const DEPLOY_BOT = 'github-actions[bot]';
const FIRST_DEPLOYMENT_ID = 2_400_000_000;
const FIRST_STATUS_ID = 5_100_000_000;

const AUTHORS = ['amara-okafor', 'bkowalski', 'chen-wei', 'dmitri-v', 'esther-m', 'farid-k', 'gloria-santos', 'hiro-tanaka', 'ines-r', 'jules-b'];
const TYPES = ['feat', 'fix', 'fix', 'chore', 'refactor', 'perf', 'test', 'docs', 'build', 'ci'];
const PHRASES = [
  'handle timeouts from the card processor',
  'add idempotency keys to refunds',
  'retry webhook deliveries with backoff',
  'bump dependencies',
  'split the settlement job',
  'cache currency rates',
  'log request ids',
  'validate postal codes',
  'remove the legacy tax endpoint',
  'speed up the cart query',
  'tighten CSP headers',
  'add metrics for queue depth',
  'fix flaky integration test',
  'migrate to the new feature flags',
  'paginate the orders export',
  'guard against empty baskets',
  'update the README',
  'reduce image size',
  'rotate signing keys',
  'trim payload logging',
];

/** GitHub's timestamp format: second precision, `Z`. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / SEC) * SEC).toISOString().replace('.000Z', 'Z');
}

/** Gives each commit the files it adds under `paths` (see GenerateGithubDatasetOptions.paths). */
function assignFiles(rnd: Random, paths: readonly string[], commits: SimCommit[]): void {
  const dir = (p: string) => (p.endsWith('/') ? p : `${p}/`);
  for (const c of commits) {
    const file = (d: string) => `${d}${c.sha.slice(0, 10)}.ts`;
    if (c.parents.length > 1) {
      c.files = rnd.chance(0.1) ? [file(dir(rnd.pick(paths)))] : [];
      continue;
    }
    const r = rnd.next();
    if (r < 0.1) c.files = [`${c.sha.slice(0, 10)}.md`];
    else if (r < 0.2 && paths.length > 1) c.files = [...new Set([rnd.pick(paths), rnd.pick(paths)])].map((p) => file(dir(p)));
    else c.files = [file(dir(rnd.pick(paths)))];
  }
}

/** Whether a file lies under `path`: the file itself, or a directory holding it (`services/payments` or `services/payments/`). */
export function fileUnder(path: string, file: string): boolean {
  const p = path.replace(/\/+$/, '');
  return p === '' || file === p || file.startsWith(`${p}/`);
}

/**
 * The commits reachable from `head` that `git log -- path` lists with its default history
 * simplification (what GitHub's `path` filter lists): a commit whose tree under `path` differs from
 * that of every parent. With files only ever added, a non-merge commit qualifies when it adds a file
 * under `path`; a merge commit when it adds one itself, or when each parent's side (the commits
 * reachable from that parent and not from the other) added one. A clean merge taking the path from
 * one side only is left out. (git also skips the side branches of merges it follows through one
 * parent; those never add files under `path`, so the set is the same.) Datasets without files: every commit.
 */
export function touchingPath(repo: SimRepo, path: string): Set<string> {
  const all = [...repo.commits, ...repo.branchCommits];
  const out = new Set<string>();
  if (all.every((c) => c.files === undefined)) {
    for (const c of all) out.add(c.sha);
    return out;
  }
  const bySha = new Map(all.map((c) => [c.sha, c]));
  const adds = (c: SimCommit) => (c.files ?? []).some((f) => fileUnder(path, f));
  const ancestry = (sha: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [sha];
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      for (const p of bySha.get(x)?.parents ?? []) stack.push(p);
    }
    return seen;
  };
  for (const c of all) {
    if (adds(c)) out.add(c.sha);
    else if (c.parents.length > 1) {
      const sides = c.parents.map(ancestry);
      const sideAdds = sides.map((mine, i) => [...mine].some((x) => sides.every((other, j) => j === i || !other.has(x)) && adds(bySha.get(x)!)));
      if (sideAdds.every(Boolean)) out.add(c.sha);
    }
  }
  return out;
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

interface PendingDeployment {
  repoIndex: number;
  seq: number;
  d: SimDeployment;
  createdMs: number;
  /** created_at of each status, parallel to d.statuses. */
  statusMs: number[];
}

type Outcome = 'success' | 'failure' | 'error';

interface Extra {
  at: number;
  kind: 'retry' | 'redeploy' | 'rollback';
  sha: string;
  /** rollback/redeploy: only while this deployment is still the active one. */
  whileActive?: SimDeployment;
}

/** Generates the dataset. Same options, same dataset. */
export function generateGithubDataset(opts: GenerateGithubDatasetOptions): GithubDataset {
  const fromMs = opts.from.getTime();
  const toMs = opts.to.getTime();
  if (!(toMs > fromMs)) throw new Error('generateGithubDataset: `to` must be after `from`');
  if (opts.repos.length === 0) throw new Error('generateGithubDataset: no repositories');
  const environments = opts.environments && opts.environments.length > 0 ? opts.environments : ['production', 'staging'];
  const root = createRandom(opts.seed >>> 0);
  const all: PendingDeployment[] = [];
  let seq = 0;
  const allRuns: { repoIndex: number; seq: number; run: SimWorkflowRun; createdMs: number }[] = [];

  const repos: SimRepo[] = opts.repos.map((fullName, repoIndex) => {
    const rnd = root.fork(`repo:${fullName}`);
    const commits = generateCommits(rnd.fork('commits'), opts.seed, fullName, fromMs - 7 * DAY, toMs);
    const branchCommits = generateMerges(rnd.fork('merges'), opts.seed, fullName, commits, opts.mergeCommitRate ?? 0.3);
    const repo: SimRepo = { fullName, defaultBranch: 'main', deployments: [], commits, branchCommits, refs: {}, workflows: [], runs: [] };
    repo.pulls = generatePulls(rnd.fork('pulls'), opts.seed, fullName, repoIndex, commits, branchCommits, toMs, repo.defaultBranch);
    if (opts.paths && opts.paths.length > 0) assignFiles(rnd.fork('files'), opts.paths, [...commits, ...branchCommits]);
    const commitMs = commits.map((c) => Date.parse(c.date));
    const prodStart = rnd.float(0.5, 1.3);
    const prodEnd = Math.min(3, prodStart + rnd.float(1.0, 2.0));
    const stagingFactor = rnd.float(2, 3);

    environments.forEach((env, envIndex) => {
      const erand = rnd.fork(`env:${env}`);
      const isProd = env === 'production';
      const rateAt = (ms: number) => {
        const f = (ms - fromMs) / (toMs - fromMs);
        const r = (prodStart + (prodEnd - prodStart) * f) * (opts.rateScale ?? 1);
        return isProd ? r : r * stagingFactor;
      };
      const made = generateEnvironment(erand, {
        env,
        isProd,
        fromMs,
        toMs,
        rateAt,
        commits,
        commitMs,
      });
      for (const m of made) all.push({ repoIndex, seq: seq++, ...m });

      // Deployments that never got a status (a pipeline that died before reporting).
      const noStatusAt: number[] = [];
      if (repoIndex === 0 && envIndex === 0) noStatusAt.push(0.4);
      if (repoIndex === opts.repos.length - 1 && envIndex === environments.length - 1) noStatusAt.push(0.65);
      for (const f of noStatusAt) {
        const day = Math.floor((fromMs + f * (toMs - fromMs)) / DAY) * DAY;
        const at = Math.min(Math.max(day + 11 * HOUR + erand.int(0, 120) * MIN, fromMs), toMs);
        const head = headIndexAt(commitMs, at);
        const commit = commits[Math.max(head, 0)] as SimCommit;
        all.push({ repoIndex, seq: seq++, ...newDeployment(commit.sha, 'main', env, at, DEPLOY_BOT, `Deploy ${commit.sha.slice(0, 7)}`, []) });
      }
      // The newest deployment of the first repository's first environment is still running.
      if (repoIndex === 0 && envIndex === 0) {
        const at = toMs - 7 * MIN;
        const commit = commits[Math.max(headIndexAt(commitMs, at - 5 * MIN), 0)] as SimCommit;
        all.push({
          repoIndex,
          seq: seq++,
          ...newDeployment(commit.sha, 'main', env, at, DEPLOY_BOT, `Deploy ${commit.sha.slice(0, 7)}`, [
            { state: 'pending', at: at + 40 * SEC, description: 'Waiting for the deployment to start' },
          ]),
        });
      }
    });

    // Forked generators draw nothing from `rnd`, so the deployments above do not depend on this.
    const actions = generateActions(rnd.fork('actions'), {
      fullName,
      repoIndex,
      fromMs,
      toMs,
      commits,
      commitMs,
      deployRateAt: (ms) => (prodStart + (prodEnd - prodStart) * ((ms - fromMs) / (toMs - fromMs))) * (opts.rateScale ?? 1),
      retentionMs: (opts.artifactRetentionDays ?? 90) * DAY,
    });
    repo.workflows = actions.workflows;
    actions.runs.forEach((run, i) => allRuns.push({ repoIndex, seq: i, run, createdMs: Date.parse(run.created_at) }));
    return repo;
  });

  // Deployment ids in creation order across repositories, with gaps.
  const idRand = root.fork('ids');
  all.sort((a, b) => a.createdMs - b.createdMs || a.repoIndex - b.repoIndex || a.seq - b.seq);
  let nextId = FIRST_DEPLOYMENT_ID;
  for (const p of all) {
    p.d.id = nextId;
    nextId += idRand.int(1, 40);
  }

  // GitHub's auto_inactive, per repository and environment, in the order of the successes.
  const inactiveAdds: { p: PendingDeployment; at: number }[] = [];
  const groups = new Map<string, { p: PendingDeployment; at: number; order: number }[]>();
  for (const p of all) {
    p.d.statuses.forEach((s, i) => {
      if (s.state !== 'success') return;
      const key = `${p.repoIndex}\u0000${p.d.environment}`;
      const list = groups.get(key) ?? [];
      list.push({ p, at: p.statusMs[i] as number, order: p.d.id });
      groups.set(key, list);
    });
  }
  for (const list of groups.values()) {
    list.sort((a, b) => a.at - b.at || a.order - b.order);
    let active: PendingDeployment | null = null;
    for (const s of list) {
      if (active !== null && active !== s.p) inactiveAdds.push({ p: active, at: s.at });
      active = s.p;
    }
  }
  for (const { p, at } of inactiveAdds) {
    p.d.statuses.push({ id: 0, state: 'inactive', created_at: isoSeconds(at), description: '', environment: p.d.environment });
    p.statusMs.push(at);
  }

  // Status ids in creation order across repositories (within one instant: by deployment, then
  // the order in which they were added), with gaps.
  const statusRefs: { s: SimStatus; at: number; depId: number; idx: number }[] = [];
  for (const p of all) p.d.statuses.forEach((s, idx) => statusRefs.push({ s, at: p.statusMs[idx] as number, depId: p.d.id, idx }));
  statusRefs.sort((a, b) => a.at - b.at || a.depId - b.depId || a.idx - b.idx);
  let nextStatusId = FIRST_STATUS_ID;
  for (const r of statusRefs) {
    r.s.id = nextStatusId;
    nextStatusId += idRand.int(1, 60);
  }

  for (const p of all) {
    const last = p.statusMs.length > 0 ? Math.max(...p.statusMs) : p.createdMs;
    p.d.updated_at = isoSeconds(last);
    (repos[p.repoIndex] as SimRepo).deployments.push(p.d);
  }
  for (const r of repos) r.deployments.sort((a, b) => a.id - b.id);
  assignActionIds(root.fork('run-ids'), repos, allRuns);
  return { repos };
}

function generateCommits(rnd: Random, seed: number, fullName: string, startMs: number, endMs: number): SimCommit[] {
  const commits: SimCommit[] = [];
  const perWeekday = rnd.float(3, 8);
  let pr = rnd.int(120, 900);
  let last = startMs;
  const push = (ms: number, message: string, author: string) => {
    const at = Math.max(ms, last + SEC);
    if (at > endMs) return;
    last = at;
    const sha = sha1(`${seed}:${fullName}:${commits.length}:${message}:${at}`);
    const parent = commits[commits.length - 1];
    commits.push({ sha, date: isoSeconds(at), message, author, parents: parent ? [parent.sha] : [] });
  };
  push(startMs, 'Initial commit', rnd.pick(AUTHORS));
  for (let day = Math.floor(startMs / DAY) * DAY; day < endMs; day += DAY) {
    const dow = new Date(day).getUTCDay();
    const weekend = dow === 0 || dow === 6;
    const n = weekend ? rnd.poisson(0.5) : rnd.poisson(perWeekday);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      times.push(weekend ? day + rnd.int(10 * 60, 22 * 60) * MIN + rnd.int(0, 59) * SEC : day + rnd.int(7 * 60, 20 * 60) * MIN + rnd.int(0, 59) * SEC);
    }
    times.sort((a, b) => a - b);
    for (const t of times) {
      if (t <= startMs) continue;
      const type = rnd.pick(TYPES);
      const scope = rnd.chance(0.5) ? `(${fullName.split('/')[1] ?? 'core'})` : '';
      push(t, `${type}${scope}: ${rnd.pick(PHRASES)} (#${pr++})`, rnd.pick(AUTHORS));
    }
  }
  return commits;
}

/**
 * Turns some pull-request commits of the line into merge commits of a feature branch (returned,
 * oldest first). Draws only from `rnd`, changes only `parents` of the line.
 */
function generateMerges(rnd: Random, seed: number, fullName: string, line: SimCommit[], rate: number): SimCommit[] {
  const out: SimCommit[] = [];
  if (rate <= 0) return out;
  const lineMs = line.map((c) => Date.parse(c.date));
  for (let i = 1; i < line.length; i++) {
    const c = line[i] as SimCommit;
    const pr = /\(#(\d+)\)$/.exec(c.message);
    if (!pr || !rnd.chance(rate)) continue;
    const mergedMs = lineMs[i] as number;
    const fork = Math.min(headIndexAt(lineMs, mergedMs - rnd.int(30, 3 * 24 * 60) * MIN), i - 1);
    const n = 1 + Math.min(3, rnd.poisson(1.2));
    if (fork < 0) continue;
    const forkMs = lineMs[fork] as number;
    const room = Math.floor((mergedMs - MIN - forkMs) / SEC);
    if (room < n + 1) continue;
    const times = Array.from({ length: n }, () => forkMs + rnd.int(1, room) * SEC).sort((a, b) => a - b);
    let parent = (line[fork] as SimCommit).sha;
    let last = forkMs;
    times.forEach((t, k) => {
      const at = Math.max(t, last + SEC);
      last = at;
      const sha = sha1(`${seed}:${fullName}:pr-${pr[1]}:${k}:${at}`);
      out.push({ sha, date: isoSeconds(at), message: k === 0 ? `wip: ${c.message.replace(/ \(#\d+\)$/, '')}` : `address review comments (${k})`, author: c.author, parents: [parent] });
      parent = sha;
    });
    c.parents = [(line[i - 1] as SimCommit).sha, parent];
  }
  return out.sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
}

/** Index of the newest commit with date <= ms, or -1. */
function headIndexAt(commitMs: readonly number[], ms: number): number {
  let lo = 0;
  let hi = commitMs.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((commitMs[mid] as number) <= ms) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

function newDeployment(
  sha: string,
  ref: string,
  env: string,
  createdMs: number,
  creator: string,
  description: string | null,
  statuses: { state: SimStatusState; at: number; description: string }[],
): { d: SimDeployment; createdMs: number; statusMs: number[] } {
  const d: SimDeployment = {
    id: 0,
    sha,
    ref,
    environment: env,
    created_at: isoSeconds(createdMs),
    updated_at: isoSeconds(createdMs),
    statuses: statuses.map((s) => ({ id: 0, state: s.state, created_at: isoSeconds(s.at), description: s.description, environment: env })),
    creator_login: creator,
    description,
  };
  return { d, createdMs: Math.floor(createdMs / SEC) * SEC, statusMs: statuses.map((s) => Math.floor(s.at / SEC) * SEC) };
}

const FINAL_DESCRIPTION: Record<Outcome, string> = {
  success: 'Deployment finished successfully.',
  failure: 'Deployment failed: health checks did not pass',
  error: 'Deployment errored: the runner lost communication with the server',
};

interface EnvInput {
  env: string;
  isProd: boolean;
  fromMs: number;
  toMs: number;
  rateAt: (ms: number) => number;
  commits: readonly SimCommit[];
  commitMs: readonly number[];
}

function generateEnvironment(rnd: Random, e: EnvInput): { d: SimDeployment; createdMs: number; statusMs: number[] }[] {
  const out: { d: SimDeployment; createdMs: number; statusMs: number[] }[] = [];
  // Deployments are planned up to 45 minutes before `to` so that they finish before it.
  const lastStart = e.toMs - 45 * MIN;
  const planned: number[] = [];
  for (let day = Math.floor(e.fromMs / DAY) * DAY; day < e.toMs; day += DAY) {
    const dow = new Date(day).getUTCDay();
    const weekend = dow === 0 || dow === 6;
    const rate = e.rateAt(day + 12 * HOUR);
    const n = rnd.poisson(weekend ? rate * 0.08 : rate);
    for (let i = 0; i < n; i++) {
      const at = day + rnd.int(8 * 60, 18 * 60 + 30) * MIN + rnd.int(0, 59) * SEC;
      if (at >= e.fromMs && at <= lastStart) planned.push(at);
    }
  }
  planned.sort((a, b) => a - b);

  const extras: Extra[] = [];
  const commitIndex = new Map(e.commits.map((c, i) => [c.sha, i]));
  let lastEnd = -Infinity;
  let maxDeployedIndex = -1; // newest commit ever deployed successfully
  let active: SimDeployment | null = null; // the last successful deployment
  const successShas: string[] = []; // shas of the successful deployments, in order
  let pi = 0;

  for (;;) {
    extras.sort((a, b) => a.at - b.at);
    const nextPlanned = planned[pi];
    const nextExtra = extras[0];
    if (nextPlanned === undefined && nextExtra === undefined) break;
    let kind: 'normal' | Extra['kind'];
    let at: number;
    let extra: Extra | undefined;
    if (nextExtra !== undefined && (nextPlanned === undefined || nextExtra.at <= nextPlanned)) {
      extra = extras.shift() as Extra;
      kind = extra.kind;
      at = extra.at;
    } else {
      kind = 'normal';
      at = nextPlanned as number;
      pi++;
    }
    const t = Math.max(at, lastEnd + rnd.int(60, 240) * SEC);
    if (t > lastStart) continue;

    let sha: string;
    let ref = 'main';
    let creator = DEPLOY_BOT;
    let description: string | null;
    let outcome: Outcome;
    if (kind === 'normal') {
      const idx = headIndexAt(e.commitMs, t - rnd.int(0, 90) * MIN);
      if (idx < 0 || idx <= maxDeployedIndex) continue; // nothing new to deploy
      sha = (e.commits[idx] as SimCommit).sha;
      description = rnd.chance(0.3) ? null : `Deploy ${sha.slice(0, 7)} to ${e.env}`;
      outcome = drawOutcome(rnd);
    } else if (kind === 'retry') {
      const idx = commitIndex.get(extra!.sha) ?? -1;
      if (idx <= maxDeployedIndex) continue; // something newer went out meanwhile
      sha = extra!.sha;
      description = `Retry deploy of ${sha.slice(0, 7)} to ${e.env}`;
      outcome = drawOutcome(rnd);
    } else if (kind === 'redeploy') {
      if (active !== extra!.whileActive) continue;
      sha = extra!.sha;
      description = `Redeploy ${sha.slice(0, 7)} to ${e.env}`;
      outcome = drawOutcome(rnd);
    } else {
      if (active !== extra!.whileActive) continue;
      sha = extra!.sha;
      ref = sha;
      creator = rnd.pick(AUTHORS);
      description = `Rollback to ${sha.slice(0, 7)}`;
      outcome = 'success';
    }

    const statuses: { state: SimStatusState; at: number; description: string }[] = [];
    let s = t + rnd.int(1, 5) * SEC;
    if (rnd.chance(0.9)) {
      statuses.push({ state: 'queued', at: s, description: 'Deployment queued' });
      s += rnd.int(5, 90) * SEC;
    }
    statuses.push({ state: 'in_progress', at: s, description: 'Deployment started' });
    s += (outcome === 'success' ? rnd.int(90, 900) : rnd.int(30, 600)) * SEC;
    statuses.push({ state: outcome, at: s, description: FINAL_DESCRIPTION[outcome] });
    const made = newDeployment(sha, ref, e.env, t, creator, description, statuses);
    out.push(made);
    lastEnd = s;

    if (outcome === 'success') {
      const idx = commitIndex.get(sha) ?? -1;
      maxDeployedIndex = Math.max(maxDeployedIndex, idx);
      const previousSha = active?.sha;
      active = made.d;
      successShas.push(sha);
      if (kind !== 'rollback' && e.isProd && rnd.chance(0.03)) {
        // Roll back to the last successful deployment before this one with another sha.
        const target = [...successShas].reverse().find((x) => x !== sha);
        if (target !== undefined && previousSha !== undefined) {
          extras.push({ at: s + rnd.int(10, 120) * MIN, kind: 'rollback', sha: target, whileActive: made.d });
        }
      } else if (kind !== 'rollback' && rnd.chance(0.02)) {
        extras.push({ at: s + rnd.int(60, 360) * MIN, kind: 'redeploy', sha, whileActive: made.d });
      }
    } else if (kind !== 'rollback' && rnd.chance(0.6)) {
      extras.push({ at: s + rnd.int(5, 40) * MIN, kind: 'retry', sha });
    }
  }
  return out;
}

function drawOutcome(rnd: Random): Outcome {
  const r = rnd.next();
  return r < 0.88 ? 'success' : r < 0.96 ? 'failure' : 'error';
}

// ---------------------------------------------------------------------------------------------
// Changing the dataset while a simulator serves it (the simulator reads it on every request).

export interface NewStatus {
  state: SimStatusState;
  /** Default: one minute after the newest timestamp in the dataset. */
  created_at?: string | Date | number;
  description?: string;
  /** On `success`, mark the previously active deployment of the environment `inactive` (default true). */
  autoInactive?: boolean;
}

export interface NewDeployment {
  /** Default: the head of the default branch. */
  sha?: string;
  ref?: string;
  environment?: string;
  /** Default: one minute after the newest timestamp in the dataset. */
  created_at?: string | Date | number;
  creator_login?: string;
  description?: string | null;
  /** Added in order through `applyNewStatus` (so `auto_inactive` applies). */
  statuses?: NewStatus[];
}

export function findRepo(dataset: GithubDataset, fullName: string): SimRepo | undefined {
  const want = fullName.toLowerCase();
  return dataset.repos.find((r) => r.fullName.toLowerCase() === want);
}

function repoOrThrow(dataset: GithubDataset, fullName: string): SimRepo {
  const repo = findRepo(dataset, fullName);
  if (!repo) throw new Error(`simulated dataset has no repository ${fullName}`);
  return repo;
}

/** The newest timestamp anywhere in the dataset (commits, deployments, statuses), in ms. */
export function latestEventTime(dataset: GithubDataset): number {
  let max = -Infinity;
  for (const r of dataset.repos) {
    const c = r.commits[r.commits.length - 1];
    if (c) max = Math.max(max, Date.parse(c.date));
    for (const d of r.deployments) {
      max = Math.max(max, Date.parse(d.created_at), Date.parse(d.updated_at));
      for (const s of d.statuses) max = Math.max(max, Date.parse(s.created_at));
    }
  }
  return max;
}

function toMs(v: string | Date | number | undefined, dataset: GithubDataset): number {
  if (v === undefined) return Math.floor(latestEventTime(dataset) / SEC) * SEC + MIN;
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new Error(`not a date: ${v}`);
  return ms;
}

function maxId(dataset: GithubDataset, of: 'deployment' | 'status'): number {
  let max = of === 'deployment' ? FIRST_DEPLOYMENT_ID - 1 : FIRST_STATUS_ID - 1;
  for (const r of dataset.repos) {
    for (const d of r.deployments) {
      if (of === 'deployment') max = Math.max(max, d.id);
      else for (const s of d.statuses) max = Math.max(max, s.id);
    }
  }
  return max;
}

/** Adds a deployment (and optionally statuses) to a repository; ids continue the dataset's. */
export function applyNewDeployment(dataset: GithubDataset, repoName: string, input: NewDeployment = {}): SimDeployment {
  const repo = repoOrThrow(dataset, repoName);
  const at = toMs(input.created_at, dataset);
  const head = repo.commits[repo.commits.length - 1];
  const sha = input.sha ?? head?.sha;
  if (sha === undefined) throw new Error(`${repoName} has no commits; pass a sha`);
  const d: SimDeployment = {
    id: maxId(dataset, 'deployment') + 1,
    sha,
    ref: input.ref ?? repo.defaultBranch,
    environment: input.environment ?? 'production',
    created_at: isoSeconds(at),
    updated_at: isoSeconds(at),
    statuses: [],
    creator_login: input.creator_login ?? DEPLOY_BOT,
    description: input.description === undefined ? `Deploy ${sha.slice(0, 7)}` : input.description,
  };
  repo.deployments.push(d);
  let statusAt = at;
  for (const s of input.statuses ?? []) {
    statusAt = s.created_at === undefined ? statusAt + 30 * SEC : toMs(s.created_at, dataset);
    applyNewStatus(dataset, repo.fullName, d.id, { ...s, created_at: statusAt });
  }
  return d;
}

/** Adds a status to a deployment, with GitHub's `auto_inactive` on success (unless turned off). */
export function applyNewStatus(dataset: GithubDataset, repoName: string, deploymentId: number, input: NewStatus): SimStatus {
  const repo = repoOrThrow(dataset, repoName);
  const d = repo.deployments.find((x) => x.id === deploymentId);
  if (!d) throw new Error(`${repoName} has no deployment ${deploymentId}`);
  const at = toMs(input.created_at, dataset);
  const created_at = isoSeconds(at);
  const status: SimStatus = {
    id: maxId(dataset, 'status') + 1,
    state: input.state,
    created_at,
    description: input.description ?? (input.state === 'inactive' ? '' : `Deployment ${input.state.replace('_', ' ')}`),
    environment: d.environment,
  };
  d.statuses.push(status);
  let nextId = status.id;
  if (input.state === 'success' && input.autoInactive !== false) {
    for (const other of repo.deployments) {
      if (other === d || other.environment !== d.environment) continue;
      if (lastStatus(other)?.state !== 'success') continue;
      other.statuses.push({ id: ++nextId, state: 'inactive', created_at, description: '', environment: other.environment });
      other.updated_at = created_at;
    }
  }
  d.updated_at = created_at;
  return status;
}

/** The latest status by (created_at, id), or undefined. */
export function lastStatus(d: SimDeployment): SimStatus | undefined {
  let best: SimStatus | undefined;
  for (const s of d.statuses) {
    if (!best || s.created_at > best.created_at || (s.created_at === best.created_at && s.id > best.id)) best = s;
  }
  return best;
}

/** Adds a commit on top of the default branch (adding `files`, in a dataset with files). */
export function applyNewCommit(
  dataset: GithubDataset,
  repoName: string,
  input: { sha?: string; date?: string | Date | number; message?: string; author?: string; files?: string[] } = {},
): SimCommit {
  const repo = repoOrThrow(dataset, repoName);
  const at = toMs(input.date, dataset);
  const message = input.message ?? 'chore: simulated commit';
  const head = repo.commits[repo.commits.length - 1];
  const commit: SimCommit = {
    sha: input.sha ?? sha1(`${repo.fullName}:${repo.commits.length}:${message}:${at}`),
    date: isoSeconds(at),
    message,
    author: input.author ?? AUTHORS[0]!,
    parents: head ? [head.sha] : [],
    ...(input.files ? { files: input.files } : {}),
  };
  repo.commits.push(commit);
  return commit;
}

/**
 * Merges a feature branch into the default branch with a merge commit: `branch` commits (default
 * 2) forked from `forkFrom` (default: the head), dated `branchDates` (default: a minute apart
 * before the merge), then the merge commit (first parent the head, second the branch tip) at `date`.
 */
export function applyNewMerge(
  dataset: GithubDataset,
  repoName: string,
  input: { forkFrom?: string; branch?: number; branchDates?: (string | Date | number)[]; date?: string | Date | number; message?: string } = {},
): { merge: SimCommit; branch: SimCommit[] } {
  const repo = repoOrThrow(dataset, repoName);
  const at = toMs(input.date, dataset);
  const head = repo.commits[repo.commits.length - 1];
  if (!head) throw new Error(`${repoName} has no commits to merge into`);
  let parent = input.forkFrom ?? head.sha;
  if (!commitsBySha(repo).has(parent)) throw new Error(`${repoName} has no commit ${parent}`);
  const n = input.branchDates?.length ?? input.branch ?? 2;
  const branch: SimCommit[] = [];
  for (let k = 0; k < n; k++) {
    const d = input.branchDates?.[k];
    const ms = d === undefined ? at - (n - k) * MIN : toMs(d, dataset);
    const c: SimCommit = { sha: sha1(`${repo.fullName}:branch:${parent}:${k}:${ms}`), date: isoSeconds(ms), message: `feat: branch commit ${k + 1}`, author: AUTHORS[2]!, parents: [parent] };
    branch.push(c);
    repo.branchCommits.push(c);
    parent = c.sha;
  }
  const message = input.message ?? 'Merge pull request from acme/feature';
  const merge: SimCommit = { sha: sha1(`${repo.fullName}:merge:${head.sha}:${parent}:${at}`), date: isoSeconds(at), message, author: AUTHORS[2]!, parents: [head.sha, parent] };
  repo.commits.push(merge);
  return { merge, branch };
}

/**
 * Rewrites the default branch's history, as `git rebase` + `git push --force` does: the line is
 * cut back to `keep` commits (default: all but the last `rewrite`), and `rewrite` (default 2) new
 * commits follow, carrying the dropped commits' messages with new shas and committer dates from
 * `date` on (a minute apart). The dropped commits stay addressable by sha (as on GitHub) and, when
 * `oldRef` is given, reachable through that branch.
 */
export function applyForcePush(
  dataset: GithubDataset,
  repoName: string,
  input: { keep?: number; rewrite?: number; date?: string | Date | number; oldRef?: string } = {},
): { dropped: SimCommit[]; added: SimCommit[] } {
  const repo = repoOrThrow(dataset, repoName);
  const rewrite = input.rewrite ?? 2;
  const keep = input.keep ?? Math.max(1, repo.commits.length - rewrite);
  if (keep < 1 || keep > repo.commits.length) throw new Error(`applyForcePush: keep must be in 1..${repo.commits.length}`);
  const oldHead = repo.commits[repo.commits.length - 1] as SimCommit;
  const dropped = repo.commits.splice(keep);
  repo.branchCommits.push(...dropped);
  if (input.oldRef) repo.refs[input.oldRef] = oldHead.sha;
  const start = toMs(input.date, dataset);
  const added: SimCommit[] = [];
  for (let k = 0; k < rewrite; k++) {
    const from = dropped[k];
    added.push(applyNewCommit(dataset, repo.fullName, { date: start + k * MIN, message: from?.message ?? `chore: rewritten ${k + 1}`, author: from?.author }));
  }
  return { dropped, added };
}

const graphCache = new WeakMap<SimRepo, { key: string; bySha: Map<string, SimCommit> }>();

/** Every commit of the repository by sha (the line and the other commits), cached until either changes. */
export function commitsBySha(repo: SimRepo): Map<string, SimCommit> {
  const key = `${repo.commits.length}:${repo.branchCommits.length}:${repo.commits.at(-1)?.sha}:${repo.branchCommits.at(-1)?.sha}`;
  let cached = graphCache.get(repo);
  if (!cached || cached.key !== key) {
    const bySha = new Map<string, SimCommit>();
    for (const c of repo.branchCommits) bySha.set(c.sha, c);
    for (const c of repo.commits) bySha.set(c.sha, c);
    cached = { key, bySha };
    graphCache.set(repo, cached);
  }
  return cached.bySha;
}

/** The sha itself and every commit reachable from it through parents. */
export function ancestorsOf(repo: SimRepo, sha: string): Set<string> {
  const bySha = commitsBySha(repo);
  const seen = new Set<string>();
  const stack = [sha];
  while (stack.length > 0) {
    const x = stack.pop() as string;
    if (seen.has(x)) continue;
    seen.add(x);
    for (const p of bySha.get(x)?.parents ?? []) if (!seen.has(p)) stack.push(p);
  }
  return seen;
}

/**
 * `git log` order from `head`: newest committer date first, walking parents (a commit is shown
 * once; equal dates in the order they were reached). `skip(c)`: not shown and its parents not
 * followed (`git log base..head` hides base's ancestors; `--since` prunes older commits).
 */
export function gitLogOrder(repo: SimRepo, head: string, skip: (c: SimCommit) => boolean = () => false): SimCommit[] {
  const bySha = commitsBySha(repo);
  const out: SimCommit[] = [];
  const queued = new Set<string>();
  // A binary max-heap on (date, -arrival).
  const heap: { c: SimCommit; ms: number; n: number }[] = [];
  let arrivals = 0;
  const before = (a: { ms: number; n: number }, b: { ms: number; n: number }) => a.ms > b.ms || (a.ms === b.ms && a.n < b.n);
  const push = (sha: string) => {
    const c = bySha.get(sha);
    if (!c || queued.has(sha)) return;
    queued.add(sha);
    if (skip(c)) return;
    heap.push({ c, ms: Date.parse(c.date), n: arrivals++ });
    for (let i = heap.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!before(heap[i]!, heap[up]!)) break;
      [heap[i], heap[up]] = [heap[up]!, heap[i]!];
      i = up;
    }
  };
  push(head);
  while (heap.length > 0) {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    out.push(top.c);
    for (const p of top.c.parents) push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions: workflows, runs and artifacts.
// https://docs.github.com/en/rest/actions/workflow-runs, https://docs.github.com/en/rest/actions/artifacts
//
// What the generator guarantees:
// - per repository two workflows: `ci.yml` ("CI") and `deploy.yml` ("Deploy").
// - ci.yml on main: a `push` run for every commit that lands on main in [from, to], a few seconds
//   after the commit date, plus a few `workflow_dispatch` runs; ci.yml on feature branches
//   (`fix/...-123`): 1-4 `pull_request` runs on the PR's branch before its merge commit lands
//   (the last one succeeds: branch protection). deploy.yml on main: `push` and `workflow_dispatch`
//   runs at the production deployment rate of the repository (times `rateScale`).
// - durations (`updated_at - run_started_at` of the latest attempt): ci ~6-15 min getting a bit
//   faster, deploy ~19-25 min early to ~15-19 min late; `timed_out` runs hit the timeout (30/45
//   min), cancelled ones stop early, skipped ones last seconds and start at `created_at`.
// - conclusions: ci ~86% success, failure, cancelled, timed_out, skipped; deploy ~90% success.
//   About a third of failed/timed-out/cancelled runs are re-run: `run_attempt` 2 (sometimes 3),
//   `run_started_at` and `updated_at` move to the new attempt, `created_at` stays.
// - runs still going at `to` are `in_progress` (started) or `queued`, with `conclusion` null; the
//   first repository's newest ci.yml run on main (workflow_dispatch, 4 minutes before `to`) is one.
// - artifacts: `test-results` on every ci attempt that ran the tests (success/failure), and
//   `coverage` on every successful ci.yml run on main, with line coverage rising from ~0.60 to
//   ~0.80 over [from, to] and the report format changing once: repository i starts with
//   FORMATS[i % 3] and switches to FORMATS[(i + 1) % 3] at 60-80% of the period (istanbul
//   artifacts carry `coverage-summary.json` and `lcov.info`; lcov ones `lcov.info`; cobertura
//   ones `coverage.xml`). Artifacts older than the retention at `to` are `expired`.
// - run ids, check suite ids and artifact ids increase with creation time across repositories,
//   with gaps, and exceed 2^31; run_number counts per workflow from 1 in creation order.

export type SimRunStatus = 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
export type SimRunConclusion = 'success' | 'failure' | 'cancelled' | 'skipped' | 'timed_out' | 'neutral' | 'action_required' | 'startup_failure';

export interface SimWorkflow {
  id: number;
  name: string;
  /** The file name, e.g. `ci.yml`. */
  file: string;
  /** `.github/workflows/ci.yml` */
  path: string;
  created_at: string;
}

export interface SimWorkflowRun {
  id: number;
  /** The workflow file name, e.g. `ci.yml`. */
  workflow: string;
  run_number: number;
  run_attempt: number;
  head_branch: string;
  head_sha: string;
  event: string;
  status: SimRunStatus;
  conclusion: SimRunConclusion | null;
  created_at: string;
  /** Start of the latest attempt. */
  run_started_at: string;
  updated_at: string;
  actor: string;
  display_title: string;
  /** The pull request number of `pull_request` runs. */
  pull_request: number | null;
  check_suite_id: number;
  artifacts: SimArtifact[];
}

export type SimCoverageFormat = 'istanbul-summary' | 'lcov' | 'cobertura';
export const COVERAGE_FORMATS: readonly SimCoverageFormat[] = ['istanbul-summary', 'lcov', 'cobertura'];

export interface SimCoverageFile {
  path: string;
  lines: number;
  covered: number;
}

/**
 * A coverage report, rendered into the artifact's files by `artifactFiles`:
 * - `istanbul-summary`: `coverage-summary.json` with Istanbul's `pct` = floor(10000 * covered / total) / 100
 *   (istanbul-lib-coverage `percent`), plus `lcov.info` and an HTML index, as `jest --coverage` writes;
 * - `lcov`: `lcov.info` with `DA`, `LF` and `LH` records per file;
 * - `cobertura`: `coverage.xml` whose root `line-rate` has 4 significant digits (as coverage.py writes it).
 */
export interface SimCoverage {
  format: SimCoverageFormat;
  files: SimCoverageFile[];
}

export interface SimArtifact {
  id: number;
  name: string;
  created_at: string;
  expires_at: string;
  expired: boolean;
  /** The report of a `coverage` artifact. */
  coverage?: SimCoverage;
  /** Other files of the archive (path -> text). */
  files?: Record<string, string>;
  /** Served as the archive instead of the rendered one (tests: corrupt or oversized archives). */
  raw?: Uint8Array;
}

const FIRST_RUN_ID = 9_200_000_000;
const FIRST_CHECK_SUITE_ID = 26_500_000_000;
const FIRST_ARTIFACT_ID = 1_950_000_000;
const CI_TIMEOUT = 30 * MIN;
const DEPLOY_TIMEOUT = 45 * MIN;

const MODULES = [
  'api/handlers',
  'api/middleware',
  'api/validation',
  'core/ledger',
  'core/refunds',
  'core/settlement',
  'core/currency',
  'clients/card-processor',
  'clients/webhooks',
  'db/orders',
  'db/migrations',
  'jobs/export',
  'jobs/retry-queue',
  'lib/feature-flags',
  'lib/logging',
  'lib/metrics',
];

interface ActionsInput {
  fullName: string;
  repoIndex: number;
  fromMs: number;
  toMs: number;
  commits: readonly SimCommit[];
  commitMs: readonly number[];
  /** Deploy workflow runs a weekday at an instant. */
  deployRateAt: (ms: number) => number;
  retentionMs: number;
}

interface Attempt {
  startedMs: number;
  endMs: number;
  conclusion: SimRunConclusion;
}

/** A workflow's numeric id, stable for a repository and file. */
export function workflowId(fullName: string, file: string): number {
  return 30_000_000 + (hashString(`${fullName}:${file}`) % 200_000_000);
}

function generateActions(rnd: Random, a: ActionsInput): { workflows: SimWorkflow[]; runs: SimWorkflowRun[] } {
  const wf = (file: string, name: string): SimWorkflow => ({
    id: workflowId(a.fullName, file),
    name,
    file,
    path: `.github/workflows/${file}`,
    created_at: isoSeconds(a.fromMs - 400 * DAY),
  });
  const workflows = [wf('ci.yml', 'CI'), wf('deploy.yml', 'Deploy')];
  const runs: SimWorkflowRun[] = [];
  const frac = (ms: number) => Math.min(1, Math.max(0, (ms - a.fromMs) / (a.toMs - a.fromMs)));
  const coverageAt = coverageModel(rnd.fork('coverage'), a.repoIndex, frac);

  const add = (r: Random, s: { workflow: 'ci.yml' | 'deploy.yml'; branch: string; sha: string; event: string; createdMs: number; title: string; actor: string; pr: number | null; mustSucceed?: boolean; first?: SimRunConclusion }) => {
    const createdMs = Math.floor(s.createdMs / SEC) * SEC;
    if (createdMs < a.fromMs || createdMs > a.toMs) return;
    const attempts = runAttempts(r, s.workflow, createdMs, frac(createdMs), a.toMs, s.mustSucceed ?? false, s.first);
    const last = attempts[attempts.length - 1] as Attempt;
    const running = last.endMs > a.toMs;
    const run: SimWorkflowRun = {
      id: 0,
      workflow: s.workflow,
      run_number: 0,
      run_attempt: attempts.length,
      head_branch: s.branch,
      head_sha: s.sha,
      event: s.event,
      status: running ? (last.startedMs <= a.toMs ? 'in_progress' : 'queued') : 'completed',
      conclusion: running ? null : last.conclusion,
      created_at: isoSeconds(createdMs),
      run_started_at: isoSeconds(last.startedMs > a.toMs ? createdMs : last.startedMs),
      updated_at: isoSeconds(running ? (last.startedMs > a.toMs ? createdMs : last.startedMs) : last.endMs),
      actor: s.actor,
      display_title: s.title,
      pull_request: s.pr,
      check_suite_id: 0,
      artifacts: [],
    };
    if (s.workflow === 'ci.yml') {
      for (const at of attempts) {
        if (at.endMs > a.toMs || (at.conclusion !== 'success' && at.conclusion !== 'failure')) continue;
        const created = at.endMs - r.int(25, 60) * SEC;
        run.artifacts.push(newArtifact('test-results', created, a, { files: { 'junit.xml': junitXml(r, at.conclusion === 'failure') } }));
      }
      if (s.branch === 'main' && run.conclusion === 'success') {
        run.artifacts.push(newArtifact('coverage', last.endMs - r.int(10, 24) * SEC, a, { coverage: coverageAt(createdMs) }));
      }
    }
    runs.push(run);
  };

  // ci.yml on main: every commit that lands.
  const mainRand = rnd.fork('ci-main');
  for (const c of a.commits) {
    add(mainRand, { workflow: 'ci.yml', branch: 'main', sha: c.sha, event: 'push', createdMs: Date.parse(c.date) + mainRand.int(3, 25) * SEC, title: firstLine(c.message), actor: c.author, pr: null });
  }
  // ci.yml runs started by hand, and deploy.yml runs.
  const dispatchRand = rnd.fork('ci-dispatch');
  const deployRand = rnd.fork('deploy');
  for (let day = Math.floor(a.fromMs / DAY) * DAY; day < a.toMs; day += DAY) {
    const dow = new Date(day).getUTCDay();
    const weekend = dow === 0 || dow === 6;
    const n = dispatchRand.poisson(weekend ? 0.02 : 0.15);
    for (let i = 0; i < n; i++) {
      const at = day + dispatchRand.int(8 * 60, 19 * 60) * MIN + dispatchRand.int(0, 59) * SEC;
      const head = a.commits[Math.max(headIndexAt(a.commitMs, at), 0)] as SimCommit;
      add(dispatchRand, { workflow: 'ci.yml', branch: 'main', sha: head.sha, event: 'workflow_dispatch', createdMs: at, title: 'CI', actor: dispatchRand.pick(AUTHORS), pr: null });
    }
    const rate = a.deployRateAt(day + 12 * HOUR);
    const m = deployRand.poisson(weekend ? rate * 0.08 : rate);
    for (let i = 0; i < m; i++) {
      const at = day + deployRand.int(8 * 60, 18 * 60 + 30) * MIN + deployRand.int(0, 59) * SEC;
      const head = a.commits[Math.max(headIndexAt(a.commitMs, at), 0)] as SimCommit;
      const manual = deployRand.chance(0.3);
      add(deployRand, {
        workflow: 'deploy.yml',
        branch: 'main',
        sha: head.sha,
        event: manual ? 'workflow_dispatch' : 'push',
        createdMs: at,
        title: manual ? 'Deploy' : firstLine(head.message),
        actor: manual ? deployRand.pick(AUTHORS) : head.author,
        pr: null,
      });
    }
  }
  // The first repository's CI is still running at `to`.
  if (a.repoIndex === 0) {
    const at = a.toMs - 4 * MIN;
    const head = a.commits[Math.max(headIndexAt(a.commitMs, at), 0)] as SimCommit;
    add(dispatchRand.fork('running'), { workflow: 'ci.yml', branch: 'main', sha: head.sha, event: 'workflow_dispatch', createdMs: at, title: 'CI', actor: AUTHORS[1] as string, pr: null, first: 'success' });
  }
  // ci.yml on the feature branch of every pull request that was merged.
  const prRand = rnd.fork('ci-prs');
  for (const c of a.commits) {
    const m = /^(\w+)(?:\([^)]*\))?: (.*) \(#(\d+)\)$/.exec(c.message);
    if (!m) continue;
    const [, type, subject, num] = m as unknown as [string, string, string, string];
    const branch = `${type}/${subject.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}-${num}`;
    const merged = Date.parse(c.date);
    const span = prRand.int(10, 3 * 24 * 60) * MIN;
    const pushes = 1 + Math.min(3, prRand.poisson(1.2));
    const times: number[] = [];
    for (let i = 0; i < pushes; i++) times.push(merged - 2 * MIN - prRand.int(0, span / SEC) * SEC);
    times.sort((x, y) => x - y);
    times.forEach((t, i) => {
      add(prRand, {
        workflow: 'ci.yml',
        branch,
        sha: sha1(`${a.fullName}:${branch}:${i}`),
        event: 'pull_request',
        createdMs: t,
        title: `${type}: ${subject}`,
        actor: c.author,
        pr: Number(num),
        mustSucceed: i === times.length - 1,
      });
    });
  }
  return { workflows, runs };
}

/** The attempts of one run, oldest first. */
function runAttempts(rnd: Random, workflow: 'ci.yml' | 'deploy.yml', createdMs: number, f: number, toMs: number, mustSucceed: boolean, forced?: SimRunConclusion): Attempt[] {
  const deploy = workflow === 'deploy.yml';
  const draw = (): SimRunConclusion => {
    const x = rnd.next();
    if (deploy) return x < 0.9 ? 'success' : x < 0.96 ? 'failure' : x < 0.98 ? 'cancelled' : x < 0.99 ? 'timed_out' : 'skipped';
    return x < 0.86 ? 'success' : x < 0.94 ? 'failure' : x < 0.975 ? 'cancelled' : x < 0.985 ? 'timed_out' : 'skipped';
  };
  const attempt = (startMs: number, conclusion: SimRunConclusion): Attempt => {
    const full = deploy ? rnd.float(19 - 4 * f, 25 - 6 * f) * MIN : rnd.float(7 - f, 15 - 3 * f) * MIN;
    let d: number;
    if (conclusion === 'success') d = full;
    else if (conclusion === 'failure') d = full * rnd.float(0.2, 1);
    else if (conclusion === 'cancelled') d = full * rnd.float(0.05, 0.6);
    else if (conclusion === 'timed_out') d = (deploy ? DEPLOY_TIMEOUT : CI_TIMEOUT) + rnd.int(2, 20) * SEC;
    else d = rnd.int(1, 3) * SEC;
    return { startedMs: startMs, endMs: startMs + Math.round(d / SEC) * SEC, conclusion };
  };
  let first = forced ?? draw();
  if (mustSucceed && first === 'skipped') first = 'success';
  const attempts: Attempt[] = [first === 'skipped' ? attempt(createdMs, 'skipped') : attempt(createdMs + rnd.int(2, 45) * SEC, first)];
  for (;;) {
    const prev = attempts[attempts.length - 1] as Attempt;
    const failed = prev.conclusion === 'failure' || prev.conclusion === 'timed_out' || prev.conclusion === 'cancelled';
    const again = mustSucceed ? failed : failed && attempts.length < 3 && rnd.chance(attempts.length === 1 ? 0.35 : 0.3);
    if (!again) break;
    const start = prev.endMs + rnd.int(2, 60) * MIN;
    if (start > toMs) break; // a re-run that did not happen yet
    attempts.push(attempt(start, mustSucceed || rnd.chance(0.8) ? 'success' : 'failure'));
  }
  return attempts;
}

function newArtifact(name: string, createdMs: number, a: { retentionMs: number; toMs: number }, content: Pick<SimArtifact, 'coverage' | 'files'>): SimArtifact {
  const created = Math.floor(createdMs / SEC) * SEC;
  const expires = created + a.retentionMs;
  return { id: 0, name, created_at: isoSeconds(created), expires_at: isoSeconds(expires), expired: expires <= a.toMs, ...content };
}

/** Coverage of a repository at an instant: rising from ~0.60 to ~0.80, the format changing once. */
function coverageModel(rnd: Random, repoIndex: number, frac: (ms: number) => number): (ms: number) => SimCoverage {
  const first = COVERAGE_FORMATS[repoIndex % 3] as SimCoverageFormat;
  const second = COVERAGE_FORMATS[(repoIndex + 1) % 3] as SimCoverageFormat;
  const switchAt = rnd.float(0.6, 0.8);
  const start = rnd.float(0.58, 0.63);
  const end = rnd.float(0.78, 0.82);
  const n = rnd.int(8, 14);
  const names = [...MODULES].sort((x, y) => hashString(`${repoIndex}:${x}`) - hashString(`${repoIndex}:${y}`)).slice(0, n);
  const mods = names.map((name) => ({ name, base: rnd.int(120, 900), offset: rnd.float(-0.15, 0.15) }));
  // Centre the offsets (weighted by size) so that the total follows the trend.
  const mean = mods.reduce((s, m) => s + m.offset * m.base, 0) / mods.reduce((s, m) => s + m.base, 0);
  for (const m of mods) m.offset -= mean;
  return (ms) => {
    const f = frac(ms);
    const r = rnd.fork(`cov:${ms}`);
    const rate = start + (end - start) * f + r.float(-0.01, 0.01);
    const files = mods.map((m) => {
      const lines = Math.max(10, Math.round(m.base * (1 + 0.4 * f)));
      const fileRate = Math.min(1, Math.max(0.05, rate + m.offset + r.float(-0.02, 0.02)));
      return { path: `src/${m.name}.ts`, lines, covered: Math.round(fileRate * lines) };
    });
    return { format: f < switchAt ? first : second, files };
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function junitXml(rnd: Random, failed: boolean): string {
  const tests = rnd.int(180, 420);
  const failures = failed ? rnd.int(1, 4) : 0;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="jest tests" tests="${tests}" failures="${failures}" errors="0" time="${rnd.float(40, 200).toFixed(3)}">\n</testsuites>\n`;
}

function assignActionIds(rnd: Random, repos: SimRepo[], all: { repoIndex: number; seq: number; run: SimWorkflowRun; createdMs: number }[]): void {
  all.sort((x, y) => x.createdMs - y.createdMs || x.repoIndex - y.repoIndex || x.seq - y.seq);
  let runId = FIRST_RUN_ID;
  let suiteId = FIRST_CHECK_SUITE_ID;
  const numbers = new Map<string, number>();
  for (const p of all) {
    p.run.id = runId;
    runId += rnd.int(1, 300);
    p.run.check_suite_id = suiteId;
    suiteId += rnd.int(1, 900);
    const key = `${p.repoIndex}:${p.run.workflow}`;
    const next = (numbers.get(key) ?? 0) + 1;
    numbers.set(key, next);
    p.run.run_number = next;
    (repos[p.repoIndex] as SimRepo).runs.push(p.run);
  }
  const artifacts = all.flatMap((p) => p.run.artifacts.map((x, i) => ({ x, at: Date.parse(x.created_at), runId: p.run.id, i })));
  artifacts.sort((u, v) => u.at - v.at || u.runId - v.runId || u.i - v.i);
  let artifactId = FIRST_ARTIFACT_ID;
  for (const { x } of artifacts) {
    x.id = artifactId;
    artifactId += rnd.int(1, 50);
  }
}

// ----- live changes to runs -----

export interface NewWorkflowRun {
  workflow?: string;
  branch?: string;
  event?: string;
  /** Default: the head of the default branch. */
  head_sha?: string;
  /** Default: one minute after the newest timestamp in the dataset. */
  created_at?: string | Date | number;
  status?: SimRunStatus;
  conclusion?: SimRunConclusion | null;
  /** Default `created_at` + 20 s. */
  run_started_at?: string | Date | number;
  /** Default: `run_started_at` + 9 min when completed, else `run_started_at`. */
  updated_at?: string | Date | number;
  run_attempt?: number;
  /** Adds a `coverage` artifact with this report. */
  coverage?: SimCoverage;
}

/** Adds a workflow run; its id continues the dataset's. */
export function applyNewWorkflowRun(dataset: GithubDataset, repoName: string, input: NewWorkflowRun = {}): SimWorkflowRun {
  const repo = repoOrThrow(dataset, repoName);
  const workflow = input.workflow ?? 'ci.yml';
  if (!repo.workflows.some((w) => w.file === workflow)) {
    repo.workflows.push({ id: workflowId(repo.fullName, workflow), name: workflow.replace(/\.ya?ml$/, ''), file: workflow, path: `.github/workflows/${workflow}`, created_at: isoSeconds(toMs(undefined, dataset)) });
  }
  const created = toMs(input.created_at, dataset);
  const started = input.run_started_at === undefined ? created + 20 * SEC : toMs(input.run_started_at, dataset);
  const status = input.status ?? 'completed';
  const conclusion = input.conclusion === undefined ? (status === 'completed' ? 'success' : null) : input.conclusion;
  const updated = input.updated_at === undefined ? (status === 'completed' ? started + 9 * MIN : started) : toMs(input.updated_at, dataset);
  const head = repo.commits[repo.commits.length - 1];
  const maxRun = Math.max(FIRST_RUN_ID - 1, ...dataset.repos.flatMap((r) => r.runs.map((x) => x.id)));
  const run: SimWorkflowRun = {
    id: maxRun + 1,
    workflow,
    run_number: Math.max(0, ...repo.runs.filter((x) => x.workflow === workflow).map((x) => x.run_number)) + 1,
    run_attempt: input.run_attempt ?? 1,
    head_branch: input.branch ?? repo.defaultBranch,
    head_sha: input.head_sha ?? head?.sha ?? sha1(`${repo.fullName}:${created}`),
    event: input.event ?? 'push',
    status,
    conclusion,
    created_at: isoSeconds(created),
    run_started_at: isoSeconds(started),
    updated_at: isoSeconds(updated),
    actor: AUTHORS[0] as string,
    display_title: head ? firstLine(head.message) : workflow,
    pull_request: null,
    check_suite_id: Math.max(FIRST_CHECK_SUITE_ID - 1, ...dataset.repos.flatMap((r) => r.runs.map((x) => x.check_suite_id))) + 1,
    artifacts: [],
  };
  repo.runs.push(run);
  if (input.coverage) applyNewArtifact(dataset, repo.fullName, run.id, { name: 'coverage', coverage: input.coverage, created_at: updated - 15 * SEC });
  return run;
}

/** Changes a run as GitHub would (e.g. it completes): the given fields are replaced. */
export function applyRunUpdate(
  dataset: GithubDataset,
  repoName: string,
  runId: number,
  patch: { status?: SimRunStatus; conclusion?: SimRunConclusion | null; run_started_at?: string | Date | number; updated_at?: string | Date | number; run_attempt?: number },
): SimWorkflowRun {
  const run = repoOrThrow(dataset, repoName).runs.find((r) => r.id === runId);
  if (!run) throw new Error(`${repoName} has no workflow run ${runId}`);
  if (patch.status !== undefined) run.status = patch.status;
  if (patch.conclusion !== undefined) run.conclusion = patch.conclusion;
  if (patch.run_started_at !== undefined) run.run_started_at = isoSeconds(toMs(patch.run_started_at, dataset));
  if (patch.updated_at !== undefined) run.updated_at = isoSeconds(toMs(patch.updated_at, dataset));
  if (patch.run_attempt !== undefined) run.run_attempt = patch.run_attempt;
  return run;
}

/** Adds an artifact to a run; its id continues the dataset's. */
export function applyNewArtifact(
  dataset: GithubDataset,
  repoName: string,
  runId: number,
  input: { name: string; created_at?: string | Date | number; coverage?: SimCoverage; files?: Record<string, string>; raw?: Uint8Array; expired?: boolean },
): SimArtifact {
  const run = repoOrThrow(dataset, repoName).runs.find((r) => r.id === runId);
  if (!run) throw new Error(`${repoName} has no workflow run ${runId}`);
  const created = toMs(input.created_at ?? run.updated_at, dataset);
  const maxId = Math.max(FIRST_ARTIFACT_ID - 1, ...dataset.repos.flatMap((r) => r.runs.flatMap((x) => x.artifacts.map((y) => y.id))));
  const artifact: SimArtifact = {
    id: maxId + 1,
    name: input.name,
    created_at: isoSeconds(created),
    expires_at: isoSeconds(created + 90 * DAY),
    expired: input.expired ?? false,
    ...(input.coverage ? { coverage: input.coverage } : {}),
    ...(input.files ? { files: input.files } : {}),
    ...(input.raw ? { raw: input.raw } : {}),
  };
  run.artifacts.push(artifact);
  return artifact;
}

// ----- artifact archives -----

/** Istanbul's `percent` (istanbul-lib-coverage): two decimals, rounded down. */
function istanbulPct(covered: number, total: number): number {
  return total > 0 ? Math.floor((1000 * 100 * covered) / total / 10) / 100 : 100;
}

/** Which lines of a file are covered: `covered` of them, spread evenly. */
function isCovered(line: number, f: SimCoverageFile): boolean {
  return Math.floor((line * f.covered) / f.lines) > Math.floor(((line - 1) * f.covered) / f.lines);
}

function lcovInfo(files: readonly SimCoverageFile[], root: string): string {
  const out: string[] = [];
  for (const f of files) {
    out.push('TN:', `SF:${root}/${f.path}`);
    for (let i = 1; i <= f.lines; i++) out.push(`DA:${i},${isCovered(i, f) ? 1 + (i % 17) : 0}`);
    out.push(`LF:${f.lines}`, `LH:${f.covered}`, 'end_of_record');
  }
  return out.join('\n') + '\n';
}

function istanbulSummary(files: readonly SimCoverageFile[], root: string): string {
  const metric = (total: number, covered: number) => ({ total, covered, skipped: 0, pct: istanbulPct(covered, total) });
  const lines = files.reduce((s, f) => s + f.lines, 0);
  const covered = files.reduce((s, f) => s + f.covered, 0);
  // Statements track lines closely in TypeScript code; functions and branches are rougher.
  const entry = (l: number, c: number) => ({
    lines: metric(l, c),
    statements: metric(Math.round(l * 1.08), Math.round(c * 1.08)),
    functions: metric(Math.max(1, Math.round(l / 9)), Math.round(c / 10)),
    branches: metric(Math.max(1, Math.round(l / 4)), Math.round(c / 5)),
    branchesTrue: { total: 0, covered: 0, skipped: 0, pct: 100 },
  });
  const body: Record<string, unknown> = { total: entry(lines, covered) };
  for (const f of files) body[`${root}/${f.path}`] = entry(f.lines, f.covered);
  return JSON.stringify(body);
}

function coberturaXml(files: readonly SimCoverageFile[], root: string, timestampMs: number): string {
  const rate = (c: number, t: number) => String(t > 0 ? Number((c / t).toPrecision(4)) : 1);
  const lines = files.reduce((s, f) => s + f.lines, 0);
  const covered = files.reduce((s, f) => s + f.covered, 0);
  const out = [
    '<?xml version="1.0" ?>',
    '<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">',
    `<coverage version="7.4.0" timestamp="${timestampMs}" lines-valid="${lines}" lines-covered="${covered}" line-rate="${rate(covered, lines)}" branches-covered="0" branches-valid="0" branch-rate="0" complexity="0">`,
    '\t<!-- Generated by coverage.py: https://coverage.readthedocs.io/en/7.4.0 -->',
    `\t<sources>\n\t\t<source>${root}</source>\n\t</sources>`,
    '\t<packages>',
  ];
  const byPackage = new Map<string, SimCoverageFile[]>();
  for (const f of files) {
    const pkg = f.path.split('/').slice(0, -1).join('.');
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), f]);
  }
  for (const [pkg, fs] of byPackage) {
    const pl = fs.reduce((s, f) => s + f.lines, 0);
    const pc = fs.reduce((s, f) => s + f.covered, 0);
    out.push(`\t\t<package name="${pkg}" line-rate="${rate(pc, pl)}" branch-rate="0" complexity="0">`, '\t\t\t<classes>');
    for (const f of fs) {
      const name = f.path.split('/').at(-1) as string;
      out.push(`\t\t\t\t<class name="${name}" filename="${f.path}" complexity="0" line-rate="${rate(f.covered, f.lines)}" branch-rate="0">`, '\t\t\t\t\t<methods/>', '\t\t\t\t\t<lines>');
      for (let i = 1; i <= f.lines; i++) out.push(`\t\t\t\t\t\t<line number="${i}" hits="${isCovered(i, f) ? 1 + (i % 17) : 0}"/>`);
      out.push('\t\t\t\t\t</lines>', '\t\t\t\t</class>');
    }
    out.push('\t\t\t</classes>', '\t\t</package>');
  }
  out.push('\t</packages>', '</coverage>');
  return out.join('\n') + '\n';
}

/** The files of an artifact's archive, as the workflow uploaded them. */
export function artifactFiles(repoName: string, artifact: SimArtifact): { name: string; data: Buffer }[] {
  const short = repoName.split('/')[1] ?? repoName;
  const root = `/home/runner/work/${short}/${short}`;
  const out: { name: string; data: Buffer }[] = [];
  const cov = artifact.coverage;
  if (cov) {
    if (cov.format === 'istanbul-summary') {
      out.push({ name: 'coverage-summary.json', data: Buffer.from(istanbulSummary(cov.files, root)) });
      out.push({ name: 'lcov.info', data: Buffer.from(lcovInfo(cov.files, root)) });
      out.push({ name: 'lcov-report/index.html', data: Buffer.from('<!doctype html>\n<html lang="en"><head><title>Code coverage report for All files</title></head><body></body></html>\n') });
    } else if (cov.format === 'lcov') {
      out.push({ name: 'lcov.info', data: Buffer.from(lcovInfo(cov.files, root)) });
    } else {
      out.push({ name: 'coverage.xml', data: Buffer.from(coberturaXml(cov.files, root, Date.parse(artifact.created_at))) });
    }
  }
  for (const [name, text] of Object.entries(artifact.files ?? {})) out.push({ name, data: Buffer.from(text) });
  return out;
}

/** The archive GitHub serves for an artifact (its `raw` bytes when set). */
export function artifactZip(repoName: string, artifact: SimArtifact): Buffer {
  if (artifact.raw) return Buffer.from(artifact.raw);
  return zipFiles(artifactFiles(repoName, artifact), Date.parse(artifact.created_at));
}

/**
 * Merges a new pull request into the default branch now (tests of incremental syncs): `method`
 * merge, squash or rebase, its own commits authored at `commits` (ms, PR order), opened at
 * `createdAt`, merged at `mergedAt` (default: a minute after the newest event). Returns the PR.
 */
export function applyNewPull(
  dataset: GithubDataset,
  repoName: string,
  input: { method: SimPull['method'] & string; commits: (string | Date | number)[]; createdAt: string | Date | number; mergedAt?: string | Date | number; number?: number; title?: string },
): SimPull {
  const repo = repoOrThrow(dataset, repoName);
  const pulls = (repo.pulls ??= []);
  const number = input.number ?? Math.max(0, ...pulls.map((p) => p.number)) + 1;
  const mergedAt = toMs(input.mergedAt, dataset);
  return mergeNewPull(repo.commits, repo.branchCommits, pulls, {
    number,
    method: input.method,
    createdAt: toMs(input.createdAt, dataset),
    mergedAt,
    commits: input.commits.map((c) => toMs(c, dataset)),
    title: input.title,
    fullName: repo.fullName,
    repoIndex: dataset.repos.indexOf(repo),
  });
}
