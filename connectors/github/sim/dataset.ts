// Months of GitHub history for the simulator (connectors/github/sim/server.ts): per repository a
// linear commit history on the default branch and deployments of several environments with their
// statuses, as GitHub records them. Deterministic for a seed.
//
// What the generator guarantees (tests and the demo rely on it):
// - commits: one linear history, dates strictly increasing; it starts 7 days before `from` so that
//   the first deployments have some history; several commits a weekday, few on weekends.
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
import { createHash } from 'node:crypto';
import { createRandom, type Random } from './random.js';

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
  /** Committer date (when it landed on the default branch). */
  date: string;
  message: string;
  /** GitHub login of the author. */
  author: string;
}

export interface SimRepo {
  fullName: string;
  defaultBranch: string;
  deployments: SimDeployment[];
  /** The default branch's linear history, oldest first. */
  commits: SimCommit[];
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
}

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

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

  const repos: SimRepo[] = opts.repos.map((fullName, repoIndex) => {
    const rnd = root.fork(`repo:${fullName}`);
    const commits = generateCommits(rnd.fork('commits'), opts.seed, fullName, fromMs - 7 * DAY, toMs);
    const repo: SimRepo = { fullName, defaultBranch: 'main', deployments: [], commits };
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
    commits.push({ sha, date: isoSeconds(at), message, author });
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

/** Adds a commit on top of the default branch. */
export function applyNewCommit(
  dataset: GithubDataset,
  repoName: string,
  input: { sha?: string; date?: string | Date | number; message?: string; author?: string } = {},
): SimCommit {
  const repo = repoOrThrow(dataset, repoName);
  const at = toMs(input.date, dataset);
  const message = input.message ?? 'chore: simulated commit';
  const commit: SimCommit = {
    sha: input.sha ?? sha1(`${repo.fullName}:${repo.commits.length}:${message}:${at}`),
    date: isoSeconds(at),
    message,
    author: input.author ?? AUTHORS[0]!,
  };
  repo.commits.push(commit);
  return commit;
}
