// A simulated GitHub REST API (node:http only) serving a GithubDataset live, for tests and
// `krt demo`. It speaks the real API: paths, JSON shapes and field names, `Link` pagination,
// weak ETags with `If-None-Match` -> 304 (not counted against the rate limit), the primary rate
// limit headers and its 403, 401 on bad credentials, 404 bodies. Reference:
// https://docs.github.com/en/rest/deployments, https://docs.github.com/en/rest/commits/commits#compare-two-commits,
// https://docs.github.com/en/rest/actions/workflow-runs, https://docs.github.com/en/rest/actions/artifacts,
// https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api,
// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSimApp, type SimApp, type SimAppOptions, type SimRateBucket } from './app-auth.js';
import { countRoutes, createFaults, createRateWindow, credential, etagMatches, hashString, routeTable, startSimServer, weakEtag, type Route, type SimRequestBase } from '../../sim/index.js';
import {
  ancestorsOf,
  artifactZip,
  commitsBySha,
  findRepo,
  gitLogOrder,
  touchingPath,
  type GithubDataset,
  type SimArtifact,
  type SimCommit,
  type SimDeployment,
  type SimPull,
  type SimPullCommit,
  type SimRepo,
  type SimStatus,
  type SimWorkflow,
  type SimWorkflowRun,
} from './dataset.js';
import { createGraphqlEndpoint, GRAPHQL_ROUTE } from './graphql.js';

/** `route` e.g. `GET /repos/{owner}/{repo}/deployments`. */
export interface SimRequestLog extends SimRequestBase {
  ifNoneMatch: boolean;
  /** Whether the request carried an Authorization header. */
  authorization: boolean;
  at: number;
  /** `POST /graphql`: the points the query cost (0 when it failed before running). */
  points?: number;
  /** POST /graphql: the request body as sent (to replay it). */
  body?: string;
}

export interface GithubSimulator {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:41234 (use as Octokit `baseUrl`). */
  url: string;
  close(): Promise<void>;
  requests: SimRequestLog[];
  counts(): { total: number; notModified: number; rateLimited: number; byRoute: Record<string, number> };
  dataset: GithubDataset;
  /** Sets the primary (core) limit and what remains of it in the current window (default: all). */
  setRateLimit(limit: number, remaining?: number): void;
  /** The next n requests answer `status` (default 502) before anything else is checked. */
  failNext(n: number, status?: number): void;
  /** Sets the GraphQL points per hour and what remains of them in the current window. */
  setGraphqlRateLimit(limit: number, remaining?: number): void;
  /**
   * Serves a deployment or deployment status (by id) with these fields replaced in REST answers,
   * e.g. `{ created_at: 'garbage' }`, to test what a client does with a malformed item.
   */
  corrupt(kind: 'deployment' | 'status' | 'pull', id: number, fields: Record<string, unknown>): void;
  /**
   * GraphQL nodes of this repository (its deployments and their statuses) answer FORBIDDEN, as
   * GitHub does for an organisation with SAML single sign-on the token is not authorised for.
   */
  samlProtect(repo: string): void;
  /** GitHub App installations (when `app` is set): token issuing and per-installation limits. */
  app: SimApp | null;
}

export interface GithubSimulatorOptions {
  dataset: GithubDataset;
  token: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Core requests per hour, default 5000. */
  rateLimit?: number;
  /** Clock for the rate-limit window and the request log (ms). Default Date.now. */
  now?: () => number;
  /**
   * Workflow-run lists filtered by actor, branch, check_suite_id, created, event, head_sha or
   * status reach only this many results (GitHub: 1,000); default 1000.
   */
  runListCap?: number;
  /** Lifetime of the artifact download URLs the 302 points to (GitHub: 1 minute). */
  artifactUrlTtlMs?: number;
  /** GraphQL points per hour, default 5000 (a separate bucket, as on GitHub). */
  graphqlRateLimit?: number;
  /** Share of requests (0..1) answered 502/503/500 at random, seeded by `faultSeed` (default 1). */
  faultRate?: number;
  faultSeed?: number;
  /** A GitHub App whose installations may call the API with installation tokens (app-auth.ts). */
  app?: Omit<SimAppOptions, 'now'>;
}

const DOCS = 'https://docs.github.com/rest';
const API_VERSION = '2022-11-28';
/** Compare without per_page/page lists at most this many commits (the newest ones). */
const COMPARE_UNPAGED_MAX = 250;
export { GRAPHQL_ROUTE };
const KNOWN_USER_IDS: Record<string, number> = { 'github-actions[bot]': 41898282, 'web-flow': 19864447 };

interface Answer {
  status: number;
  /** undefined: no body (a redirect). */
  body: unknown;
  link?: string | null;
  headers?: Record<string, string>;
}

type Handler = (url: URL) => Answer;

/** GitHub's legacy global node id: base64("0<len>:<Type><id>"). */
function nodeId(type: string, id: number | string): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}

function userId(login: string): number {
  return KNOWN_USER_IDS[login] ?? 1_000_000 + (hashString(login) % 150_000_000);
}

function notFound(): Answer {
  return { status: 404, body: { message: 'Not Found', documentation_url: DOCS } };
}

function intParam(url: URL, name: string): number | null {
  const v = url.searchParams.get(name);
  if (v === null || !/^\d+$/.test(v.trim())) return null;
  return Number(v);
}

/** The `Link` header GitHub sends: prev, next, last, first; absolute URLs with `page` replaced. */
function linkHeader(url: URL, page: number, lastPage: number): string | null {
  const at = (p: number) => {
    const u = new URL(url.href);
    u.searchParams.set('page', String(p));
    return `<${u.href}>`;
  };
  const parts: string[] = [];
  if (page > 1) parts.push(`${at(Math.min(page - 1, lastPage))}; rel="prev"`);
  if (page < lastPage) {
    parts.push(`${at(page + 1)}; rel="next"`);
    parts.push(`${at(lastPage)}; rel="last"`);
  }
  if (page > 1) parts.push(`${at(1)}; rel="first"`);
  return parts.length > 0 ? parts.join(', ') : null;
}

function gone(message: string): Answer {
  return { status: 410, body: { message, documentation_url: DOCS } };
}

/** Query parameters that turn a workflow-run list into a search limited to the first 1,000 results. */
const RUN_SEARCH_PARAMS = ['actor', 'branch', 'check_suite_id', 'created', 'event', 'head_sha', 'status'];
/** `status=` values that are run statuses; the others name conclusions. */
const RUN_STATUSES = new Set(['queued', 'in_progress', 'completed', 'requested', 'waiting', 'pending']);

/**
 * GitHub's search date qualifier as the `created` parameter takes it: `2026-01-01`, `>=2026-01-01`,
 * `<2026-02-01T12:00:00Z`, `2026-01-01..2026-02-01`, `2026-01-01..*`, `*..2026-02-01`, with optional
 * times `THH:MM[:SS]` and offsets `Z` / `+HH:MM` (UTC when absent). A date or time stands for its
 * whole day, minute or second. https://docs.github.com/en/search-github/getting-started-with-searching-on-github/understanding-the-search-syntax#query-for-dates
 * Returns a predicate on epoch ms, or null when the value is malformed.
 */
export function parseCreatedFilter(value: string): ((ms: number) => boolean) | null {
  const bound = (raw: string): { start: number; end: number } | null => {
    // An unencoded `+` in a query string arrives as a space.
    const s = raw.trim().replace(/ (\d{2}:?\d{2})$/, '+$1');
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
    if (!m) return null;
    const [, y, mo, d, h, mi, sec, tz] = m;
    if (h === undefined) {
      const start = Date.UTC(Number(y), Number(mo) - 1, Number(d));
      if (new Date(start).getUTCDate() !== Number(d) || new Date(start).getUTCMonth() !== Number(mo) - 1) return null;
      return { start, end: start + 86_400_000 - 1 };
    }
    const zone = tz === undefined || tz === 'Z' ? 'Z' : tz.includes(':') ? tz : `${tz.slice(0, 3)}:${tz.slice(3)}`;
    const start = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec ?? '00'}${zone}`);
    if (Number.isNaN(start)) return null;
    return { start, end: start + (sec === undefined ? 60_000 : 1000) - 1 };
  };
  const v = value.trim();
  const cmp = /^(>=|<=|>|<)(.+)$/.exec(v);
  if (cmp) {
    const b = bound(cmp[2] as string);
    if (!b) return null;
    if (cmp[1] === '>=') return (ms) => ms >= b.start;
    if (cmp[1] === '>') return (ms) => ms > b.end;
    if (cmp[1] === '<=') return (ms) => ms <= b.end;
    return (ms) => ms < b.start;
  }
  const parts = v.split('..');
  if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    const lo = a.trim() === '*' ? -Infinity : bound(a)?.start;
    const hi = b.trim() === '*' ? Infinity : bound(b)?.end;
    if (lo === undefined || hi === undefined) return null;
    return (ms) => ms >= lo && ms <= hi;
  }
  const b = bound(v);
  return b ? (ms) => ms >= b.start && ms <= b.end : null;
}

/** One page of a list, `per_page` default 30, max 100, as GitHub pages lists. */
function paginate<T>(items: readonly T[], url: URL): { items: T[]; link: string | null } {
  const asked = intParam(url, 'per_page');
  const perPage = asked === null || asked < 1 ? 30 : Math.min(asked, 100);
  const page = Math.max(1, intParam(url, 'page') ?? 1);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return { items: slice, link: items.length === 0 ? null : linkHeader(url, page, lastPage) };
}

function byNewest<T extends { created_at: string; id: number }>(a: T, b: T): number {
  const d = Date.parse(b.created_at) - Date.parse(a.created_at);
  return d !== 0 ? d : b.id - a.id;
}

/** Where a 302 sends artifact downloads: the simulator's stand-in for GitHub's blob storage. */
const BLOB_PREFIX = '/_blob/artifacts/';
const BLOB_ROUTE = 'GET /_blob/artifacts/{artifact_id}.zip';

/** Starts the simulator; `close()` stops it. */
export async function startGithubSimulator(opts: GithubSimulatorOptions): Promise<GithubSimulator> {
  const now = opts.now ?? Date.now;
  const dataset = opts.dataset;
  const requests: SimRequestLog[] = [];
  /** The token's core window (epoch seconds, like `x-ratelimit-reset`). */
  const rate = createRateWindow({ limit: opts.rateLimit ?? 5000, windowMs: 3_600_000, now, unit: 's' });
  /** REST and GraphQL share the injected faults (one seeded sequence). */
  const faults = createFaults({ rate: opts.faultRate, seed: opts.faultSeed });
  const app = opts.app ? createSimApp({ ...opts.app, now }) : null;
  /** The rate-limit window of the current request's installation; null: the token's. */
  let bucket: SimRateBucket | null = null;
  let requestSeq = 0;
  let rateLimitedCount = 0;
  let base = '';
  const runListCap = opts.runListCap ?? 1000;
  const artifactUrlTtlMs = opts.artifactUrlTtlMs ?? 60_000;
  /** Signs the download URLs, as a SAS token would; a fresh key per simulator. */
  const blobKey = randomBytes(32);
  const samlProtected = new Set<string>();
  const corrupted = { deployment: new Map<number, Record<string, unknown>>(), status: new Map<number, Record<string, unknown>>(), pull: new Map<number, Record<string, unknown>>() };
  const graphql = createGraphqlEndpoint({
    dataset,
    token: opts.token,
    now,
    rateLimit: opts.graphqlRateLimit ?? 5000,
    log: (entry) => requests.push(entry),
    takeFailure: () => faults.take(),
    authorized: (token) => token === opts.token || (app?.installationOf(token) ?? null) !== null,
    statusOverrides: (id) => corrupted.status.get(id),
    forbidden: (repo) => samlProtected.has(repo),
  });

  // ----- JSON shapes -----
  const user = (login: string) => {
    const id = userId(login);
    const bot = login.endsWith('[bot]');
    const u = `${base}/users/${encodeURIComponent(login)}`;
    return {
      login,
      id,
      node_id: nodeId(bot ? 'Bot' : 'User', id),
      avatar_url: `https://avatars.githubusercontent.com/${bot ? 'in/15368' : `u/${id}`}?v=4`,
      gravatar_id: '',
      url: u,
      html_url: bot ? `https://github.com/apps/${login.replace('[bot]', '')}` : `https://github.com/${login}`,
      followers_url: `${u}/followers`,
      following_url: `${u}/following{/other_user}`,
      gists_url: `${u}/gists{/gist_id}`,
      starred_url: `${u}/starred{/owner}{/repo}`,
      subscriptions_url: `${u}/subscriptions`,
      organizations_url: `${u}/orgs`,
      repos_url: `${u}/repos`,
      events_url: `${u}/events{/privacy}`,
      received_events_url: `${u}/received_events`,
      type: bot ? 'Bot' : 'User',
      user_view_type: 'public',
      site_admin: false,
    };
  };
  const repoUrl = (r: SimRepo) => `${base}/repos/${r.fullName}`;
  const repoId = (r: SimRepo) => 100_000_000 + (hashString(r.fullName) % 800_000_000);

  const repoJson = (r: SimRepo) => {
    const [owner = '', name = ''] = r.fullName.split('/');
    const u = repoUrl(r);
    const ownerId = 10_000_000 + (hashString(owner) % 90_000_000);
    const first = r.commits[0];
    const last = r.commits[r.commits.length - 1];
    return {
      id: repoId(r),
      node_id: nodeId('Repository', repoId(r)),
      name,
      full_name: r.fullName,
      private: true,
      owner: { ...user(owner), id: ownerId, node_id: nodeId('Organization', ownerId), type: 'Organization' },
      html_url: `https://github.com/${r.fullName}`,
      description: `${name} service`,
      fork: false,
      url: u,
      commits_url: `${u}/commits{/sha}`,
      compare_url: `${u}/compare/{base}...{head}`,
      deployments_url: `${u}/deployments`,
      created_at: first?.date ?? null,
      updated_at: last?.date ?? null,
      pushed_at: last?.date ?? null,
      default_branch: r.defaultBranch,
      visibility: 'private',
      archived: false,
      disabled: false,
      permissions: { admin: false, maintain: false, push: false, triage: false, pull: true },
    };
  };

  const deploymentJson = (r: SimRepo, d: SimDeployment) => {
    const u = repoUrl(r);
    return {
      url: `${u}/deployments/${d.id}`,
      id: d.id,
      node_id: nodeId('Deployment', d.id),
      task: 'deploy',
      original_environment: d.environment,
      environment: d.environment,
      description: d.description,
      created_at: d.created_at,
      updated_at: d.updated_at,
      statuses_url: `${u}/deployments/${d.id}/statuses`,
      repository_url: u,
      creator: user(d.creator_login),
      sha: d.sha,
      ref: d.ref,
      payload: {},
      transient_environment: false,
      production_environment: d.environment === 'production',
      performed_via_github_app: null,
      ...corrupted.deployment.get(d.id),
    };
  };

  const statusJson = (r: SimRepo, d: SimDeployment, s: SimStatus) => {
    const u = repoUrl(r);
    const log = s.state === 'inactive' ? '' : `https://github.com/${r.fullName}/actions/runs/${d.id + 7_000_000_000}`;
    return {
      url: `${u}/deployments/${d.id}/statuses/${s.id}`,
      id: s.id,
      node_id: nodeId('DeploymentStatus', s.id),
      state: s.state,
      creator: user(d.creator_login),
      description: s.description,
      environment: s.environment,
      target_url: log,
      created_at: s.created_at,
      updated_at: s.created_at,
      deployment_url: `${u}/deployments/${d.id}`,
      repository_url: u,
      environment_url: '',
      log_url: log,
      performed_via_github_app: null,
      ...corrupted.status.get(s.id),
    };
  };

  const commitJson = (r: SimRepo, c: SimCommit) => {
    const u = repoUrl(r);
    // Authored a while before it landed on the default branch (the PR's life), 5 min to 3 days.
    const authoredMs = Date.parse(c.date) - (5 * 60 + (parseInt(c.sha.slice(0, 8), 16) % (3 * 86_400 - 5 * 60))) * 1000;
    const authoredAt = c.authorDate ?? new Date(authoredMs).toISOString().replace('.000Z', 'Z');
    const tree = createHash('sha1').update(`tree:${c.sha}`).digest('hex');
    return {
      sha: c.sha,
      node_id: nodeId('Commit', `${repoId(r)}:${c.sha}`),
      commit: {
        author: { name: displayName(c.author), email: `${userId(c.author)}+${c.author}@users.noreply.github.com`, date: authoredAt },
        committer: { name: 'GitHub', email: 'noreply@github.com', date: c.date },
        message: c.message,
        tree: { sha: tree, url: `${u}/git/trees/${tree}` },
        url: `${u}/git/commits/${c.sha}`,
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
      },
      url: `${u}/commits/${c.sha}`,
      html_url: `https://github.com/${r.fullName}/commit/${c.sha}`,
      comments_url: `${u}/commits/${c.sha}/comments`,
      author: user(c.author),
      committer: user('web-flow'),
      parents: c.parents.map((p) => ({ sha: p, url: `${u}/commits/${p}`, html_url: `https://github.com/${r.fullName}/commit/${p}` })),
    };
  };

  // ----- routes -----
  /** A branch name (the default one, or one of `refs`), `HEAD`, a full sha or an unambiguous prefix. */
  const resolveRef = (r: SimRepo, ref: string): SimCommit | undefined => {
    let x = ref;
    const owner = r.fullName.split('/')[0] ?? '';
    if (x.toLowerCase().startsWith(`${owner.toLowerCase()}:`)) x = x.slice(owner.length + 1);
    const bySha = commitsBySha(r);
    if (x === r.defaultBranch || x === 'HEAD') return r.commits[r.commits.length - 1];
    const branch = r.refs[x];
    if (branch !== undefined) return bySha.get(branch);
    const lower = x.toLowerCase();
    if (/^[0-9a-f]{40}$/.test(lower)) return bySha.get(lower);
    if (/^[0-9a-f]{7,39}$/.test(lower)) {
      const hits = [...bySha.keys()].filter((sha) => sha.startsWith(lower));
      return hits.length === 1 ? bySha.get(hits[0] as string) : undefined;
    }
    return undefined;
  };

  const listDeployments = (r: SimRepo, url: URL): Answer => {
    const q = (n: string) => url.searchParams.get(n);
    const env = q('environment');
    const sha = q('sha');
    const ref = q('ref');
    const task = q('task');
    const matching = r.deployments
      .filter((d) => (env === null || d.environment === env) && (sha === null || d.sha === sha) && (ref === null || d.ref === ref) && (task === null || task === 'deploy'))
      .sort(byNewest);
    const page = paginate(matching, url);
    return { status: 200, body: page.items.map((d) => deploymentJson(r, d)), link: page.link };
  };

  const findDeployment = (r: SimRepo, id: string) => (/^\d+$/.test(id) ? r.deployments.find((d) => d.id === Number(id)) : undefined);

  /**
   * Like `git log base..head` (commits reachable from head and not from base), in chronological
   * order: the reverse of git log's newest-first date order. Merge base: the newest common ancestor.
   */
  const compare = (r: SimRepo, basehead: string, url: URL): Answer => {
    const m = /^(.+?)\.\.\.(.+)$/.exec(basehead);
    if (!m) return notFound();
    const baseCommit = resolveRef(r, m[1] as string);
    const headCommit = resolveRef(r, m[2] as string);
    if (!baseCommit || !headCommit) return notFound();
    const ofBase = ancestorsOf(r, baseCommit.sha);
    const ofHead = ancestorsOf(r, headCommit.sha);
    const range = gitLogOrder(r, headCommit.sha, (c) => ofBase.has(c.sha)).reverse();
    const behind = [...ofBase].filter((sha) => !ofHead.has(sha)).length;
    let mergeBase: SimCommit = baseCommit;
    for (const c of gitLogOrder(r, baseCommit.sha)) {
      if (ofHead.has(c.sha)) {
        mergeBase = c;
        break;
      }
    }
    const paged = url.searchParams.has('per_page') || url.searchParams.has('page');
    let commits: SimCommit[];
    let link: string | null = null;
    if (paged) {
      const p = paginate(range, url);
      commits = p.items;
      link = p.link;
    } else {
      commits = range.slice(-COMPARE_UNPAGED_MAX);
    }
    const u = repoUrl(r);
    const owner = r.fullName.split('/')[0];
    return {
      status: 200,
      link,
      body: {
        url: `${u}/compare/${basehead}`,
        html_url: `https://github.com/${r.fullName}/compare/${basehead}`,
        permalink_url: `https://github.com/${r.fullName}/compare/${owner}:${baseCommit.sha}...${owner}:${headCommit.sha}`,
        diff_url: `https://github.com/${r.fullName}/compare/${basehead}.diff`,
        patch_url: `https://github.com/${r.fullName}/compare/${basehead}.patch`,
        base_commit: commitJson(r, baseCommit),
        merge_base_commit: commitJson(r, mergeBase),
        status: range.length === 0 && behind === 0 ? 'identical' : behind === 0 ? 'ahead' : range.length === 0 ? 'behind' : 'diverged',
        ahead_by: range.length,
        behind_by: behind,
        total_commits: range.length,
        commits: commits.map((c) => commitJson(r, c)),
        files: [],
      },
    };
  };

  /**
   * GET /repos/{owner}/{repo}/commits: `git log` of `sha` (a branch or sha, default the default
   * branch), newest first; `since` prunes older commits like `git log --since` (their parents are not
   * followed), `until` hides newer ones; `author` filters by login; `path` keeps the commits
   * `git log -- path` lists (dataset.ts `touchingPath`; a dataset without files: every commit).
   * 404 for an unknown sha, as GitHub answers.
   */
  // The commits touching a path, per repository and path; computed again when the history grows.
  const touchingMemo = new Map<string, { size: number; set: Set<string> }>();
  const touchingOf = (r: SimRepo, path: string): Set<string> => {
    const key = `${r.fullName}\u0000${path}`;
    const size = r.commits.length + r.branchCommits.length;
    const hit = touchingMemo.get(key);
    if (hit && hit.size === size) return hit.set;
    const set = touchingPath(r, path);
    touchingMemo.set(key, { size, set });
    return set;
  };

  const listCommits = (r: SimRepo, url: URL): Answer => {
    const q = (n: string) => url.searchParams.get(n);
    const head = resolveRef(r, q('sha') ?? r.defaultBranch);
    if (!head) return notFound();
    const bound = (n: string): number | null | 'bad' => {
      const v = q(n);
      if (v === null || v === '') return null;
      const ms = Date.parse(v);
      return Number.isNaN(ms) ? 'bad' : ms;
    };
    const since = bound('since');
    const until = bound('until');
    if (since === 'bad' || until === 'bad') {
      return { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'Commit', field: since === 'bad' ? 'since' : 'until', code: 'invalid' }], documentation_url: DOCS } };
    }
    const author = q('author');
    const path = q('path');
    const touching = path === null || path === '' ? null : touchingOf(r, path);
    const log = gitLogOrder(r, head.sha, (c) => since !== null && Date.parse(c.date) < since).filter(
      (c) => (until === null || Date.parse(c.date) <= until) && (author === null || c.author === author) && (touching === null || touching.has(c.sha)),
    );
    const page = paginate(log, url);
    return { status: 200, body: page.items.map((c) => commitJson(r, c)), link: page.link };
  };

  // ----- Pull requests (https://docs.github.com/en/rest/pulls/pulls) -----
  const pullJson = (r: SimRepo, p: SimPull) => {
    const u = repoUrl(r);
    const repository = repoJson(r);
    const headSha = p.commits[p.commits.length - 1]?.sha ?? '';
    const link = (href: string) => ({ href });
    const base = p.merged_at ?? p.created_at;
    return {
      url: `${u}/pulls/${p.number}`,
      id: p.id,
      node_id: nodeId('PullRequest', p.id),
      html_url: `https://github.com/${r.fullName}/pull/${p.number}`,
      diff_url: `https://github.com/${r.fullName}/pull/${p.number}.diff`,
      patch_url: `https://github.com/${r.fullName}/pull/${p.number}.patch`,
      issue_url: `${u}/issues/${p.number}`,
      commits_url: `${u}/pulls/${p.number}/commits`,
      review_comments_url: `${u}/pulls/${p.number}/comments`,
      review_comment_url: `${u}/pulls/comments{/number}`,
      comments_url: `${u}/issues/${p.number}/comments`,
      statuses_url: `${u}/statuses/${headSha}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: user(p.author),
      body: null,
      labels: [],
      milestone: null,
      active_lock_reason: null,
      created_at: p.created_at,
      updated_at: p.updated_at,
      closed_at: p.closed_at,
      merged_at: p.merged_at,
      merge_commit_sha: p.merge_commit_sha,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: { label: `${r.fullName.split('/')[0]}:${p.head}`, ref: p.head, sha: headSha, user: user(p.author), repo: repository },
      base: { label: `${r.fullName.split('/')[0]}:${p.base}`, ref: p.base, sha: mainShaAt(r, base), user: repository.owner, repo: repository },
      _links: {
        self: link(`${u}/pulls/${p.number}`),
        html: link(`https://github.com/${r.fullName}/pull/${p.number}`),
        issue: link(`${u}/issues/${p.number}`),
        comments: link(`${u}/issues/${p.number}/comments`),
        review_comments: link(`${u}/pulls/${p.number}/comments`),
        review_comment: link(`${u}/pulls/comments{/number}`),
        commits: link(`${u}/pulls/${p.number}/commits`),
        statuses: link(`${u}/statuses/${headSha}`),
      },
      author_association: 'MEMBER',
      auto_merge: null,
      draft: false,
      ...corrupted.pull.get(p.number),
    };
  };

  /** A PR's own commit: authored and committed by its author (not web-flow, as merges are). */
  const pullCommitJson = (r: SimRepo, c: SimPullCommit) => {
    const u = repoUrl(r);
    const tree = createHash('sha1').update(`tree:${c.sha}`).digest('hex');
    const who = { name: displayName(c.author), email: `${userId(c.author)}+${c.author}@users.noreply.github.com` };
    return {
      sha: c.sha,
      node_id: nodeId('Commit', `${repoId(r)}:${c.sha}`),
      commit: {
        author: { ...who, date: c.authorDate },
        committer: { ...who, date: c.date },
        message: c.message,
        tree: { sha: tree, url: `${u}/git/trees/${tree}` },
        url: `${u}/git/commits/${c.sha}`,
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
      },
      url: `${u}/commits/${c.sha}`,
      html_url: `https://github.com/${r.fullName}/commit/${c.sha}`,
      comments_url: `${u}/commits/${c.sha}/comments`,
      author: user(c.author),
      committer: user(c.author),
      parents: c.parents.map((p) => ({ sha: p, url: `${u}/commits/${p}`, html_url: `https://github.com/${r.fullName}/commit/${p}` })),
    };
  };

  /**
   * GET /repos/{owner}/{repo}/pulls: `state` open (default) | closed | all, `base`, `head`
   * (`owner:branch`), `sort` created (default) | updated | popularity | long-running, `direction`
   * (desc by default when sorting by created, else asc). Ties by number.
   */
  const listPulls = (r: SimRepo, url: URL): Answer => {
    const q = (n: string) => url.searchParams.get(n);
    const state = q('state') ?? 'open';
    if (!['open', 'closed', 'all'].includes(state)) {
      return { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'Issue', field: 'state', code: 'invalid' }], documentation_url: DOCS } };
    }
    const sort = q('sort') ?? 'created';
    const direction = q('direction') ?? (sort === 'created' ? 'desc' : 'asc');
    const baseRef = q('base');
    const head = q('head');
    const owner = r.fullName.split('/')[0] ?? '';
    const key = (p: SimPull) => (sort === 'updated' ? p.updated_at : p.created_at);
    const list = (r.pulls ?? [])
      .filter((p) => (state === 'all' || p.state === state) && (baseRef === null || p.base === baseRef) && (head === null || head === `${owner}:${p.head}`))
      .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.number - b.number));
    if (direction === 'desc') list.reverse();
    const page = paginate(list, url);
    return { status: 200, body: page.items.map((p) => pullJson(r, p)), link: page.link };
  };
  const findPull = (r: SimRepo, n: string) => (/^\d+$/.test(n) ? (r.pulls ?? []).find((p) => p.number === Number(n)) : undefined);
  /** GitHub lists at most 250 commits of a pull request. */
  const PULL_COMMITS_MAX = 250;

  // ----- GitHub Actions -----
  const workflowJson = (r: SimRepo, w: SimWorkflow) => ({
    id: w.id,
    node_id: nodeId('Workflow', w.id),
    name: w.name,
    path: w.path,
    state: 'active',
    created_at: w.created_at,
    updated_at: w.created_at,
    url: `${repoUrl(r)}/actions/workflows/${w.id}`,
    html_url: `https://github.com/${r.fullName}/blob/${r.defaultBranch}/${w.path}`,
    badge_url: `https://github.com/${r.fullName}/workflows/${encodeURIComponent(w.name)}/badge.svg`,
  });

  const workflowOf = (r: SimRepo, run: SimWorkflowRun): SimWorkflow =>
    r.workflows.find((w) => w.file === run.workflow) ?? { id: 0, name: run.workflow, file: run.workflow, path: `.github/workflows/${run.workflow}`, created_at: run.created_at };

  /** Commits by sha, rebuilt when the history grows (the dataset changes live). */
  const commitIndex = new WeakMap<SimRepo, { size: number; bySha: Map<string, SimCommit> }>();
  const commitBySha = (r: SimRepo, sha: string): SimCommit | undefined => {
    let idx = commitIndex.get(r);
    if (!idx || idx.size !== r.commits.length) {
      idx = { size: r.commits.length, bySha: new Map(r.commits.map((c) => [c.sha, c])) };
      commitIndex.set(r, idx);
    }
    return idx.bySha.get(sha);
  };

  /** The default branch's head at an ISO instant (dates compare as strings: same format). */
  const mainShaAt = (r: SimRepo, iso: string): string => {
    let lo = 0;
    let hi = r.commits.length - 1;
    let ans = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((r.commits[mid] as SimCommit).date <= iso) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return r.commits[ans]?.sha ?? '';
  };

  const runJson = (r: SimRepo, run: SimWorkflowRun, withPullRequests: boolean, repository: ReturnType<typeof repoJson> = repoJson(r)) => {
    const u = repoUrl(r);
    const w = workflowOf(r, run);
    const runUrl = `${u}/actions/runs/${run.id}`;
    const commit = commitBySha(r, run.head_sha);
    const author = commit?.author ?? run.actor;
    const minimal = { id: repoId(r), url: u, name: r.fullName.split('/')[1] ?? r.fullName };
    return {
      id: run.id,
      name: w.name,
      node_id: nodeId('WorkflowRun', run.id),
      head_branch: run.head_branch,
      head_sha: run.head_sha,
      path: w.path,
      display_title: run.display_title,
      run_number: run.run_number,
      event: run.event,
      status: run.status,
      conclusion: run.conclusion,
      workflow_id: w.id,
      check_suite_id: run.check_suite_id,
      check_suite_node_id: nodeId('CheckSuite', run.check_suite_id),
      url: runUrl,
      html_url: `https://github.com/${r.fullName}/actions/runs/${run.id}`,
      pull_requests:
        withPullRequests && run.pull_request !== null
          ? [
              {
                url: `${u}/pulls/${run.pull_request}`,
                id: 1_500_000_000 + run.pull_request,
                number: run.pull_request,
                head: { ref: run.head_branch, sha: run.head_sha, repo: minimal },
                base: { ref: r.defaultBranch, sha: mainShaAt(r, run.created_at), repo: minimal },
              },
            ]
          : [],
      created_at: run.created_at,
      updated_at: run.updated_at,
      actor: user(run.actor),
      run_attempt: run.run_attempt,
      referenced_workflows: [],
      run_started_at: run.run_started_at,
      triggering_actor: user(run.actor),
      jobs_url: `${runUrl}/jobs`,
      logs_url: `${runUrl}/logs`,
      check_suite_url: `${u}/check-suites/${run.check_suite_id}`,
      artifacts_url: `${runUrl}/artifacts`,
      cancel_url: `${runUrl}/cancel`,
      rerun_url: `${runUrl}/rerun`,
      previous_attempt_url: run.run_attempt > 1 ? `${runUrl}/attempts/${run.run_attempt - 1}` : null,
      workflow_url: `${u}/actions/workflows/${w.id}`,
      head_commit: {
        id: run.head_sha,
        tree_id: createHash('sha1').update(`tree:${run.head_sha}`).digest('hex'),
        message: commit?.message ?? run.display_title,
        timestamp: commit?.date ?? run.created_at,
        author: { name: displayName(author), email: `${userId(author)}+${author}@users.noreply.github.com` },
        committer: { name: 'GitHub', email: 'noreply@github.com' },
      },
      repository,
      head_repository: repository,
    };
  };

  /** `GET .../actions/runs` and `GET .../actions/workflows/{workflow_id}/runs`. */
  const listRuns = (r: SimRepo, workflow: SimWorkflow | null, url: URL): Answer => {
    const q = (n: string) => url.searchParams.get(n);
    const created = q('created');
    const inCreated = created === null ? null : parseCreatedFilter(created);
    if (created !== null && inCreated === null) {
      return {
        status: 422,
        body: { message: 'Validation Failed', errors: [{ resource: 'WorkflowRun', field: 'created', code: 'invalid', value: created }], documentation_url: DOCS },
      };
    }
    const [status, branch, event, actor, headSha, suite] = ['status', 'branch', 'event', 'actor', 'head_sha', 'check_suite_id'].map(q);
    const byStatus = status !== null && status !== undefined && RUN_STATUSES.has(status);
    const matching = r.runs
      .filter(
        (run) =>
          (workflow === null || run.workflow === workflow.file) &&
          (branch === null || run.head_branch === branch) &&
          (event === null || run.event === event) &&
          (actor === null || run.actor === actor) &&
          (headSha === null || run.head_sha === headSha) &&
          (suite === null || String(run.check_suite_id) === suite) &&
          (status === null || (byStatus ? run.status === status : run.conclusion === status)) &&
          (inCreated === null || inCreated(Date.parse(run.created_at))),
      )
      // Newest first (created_at, then id). Timestamps share one format: compare them as strings.
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id));
    // "This endpoint will return up to 1,000 results for each search when using the following
    // parameters: actor, branch, check_suite_id, created, event, head_sha, status." total_count
    // still counts every match: clients see that they must split the search.
    const searched = RUN_SEARCH_PARAMS.some((p) => url.searchParams.has(p));
    const reachable = searched ? matching.slice(0, runListCap) : matching;
    const page = paginate(reachable, url);
    const withPullRequests = q('exclude_pull_requests') !== 'true';
    const repository = repoJson(r);
    return { status: 200, body: { total_count: matching.length, workflow_runs: page.items.map((run) => runJson(r, run, withPullRequests, repository)) }, link: page.link };
  };

  /** Rendered archives (listings show every artifact's size and digest), by artifact. */
  const zips = new WeakMap<SimArtifact, { raw: Uint8Array | undefined; repo: string; zip: Buffer }>();
  const zipOf = (repo: string, a: SimArtifact): Buffer => {
    const hit = zips.get(a);
    if (hit && hit.raw === a.raw && hit.repo === repo) return hit.zip;
    const zip = artifactZip(repo, a);
    zips.set(a, { raw: a.raw, repo, zip });
    return zip;
  };
  const artifactJson = (r: SimRepo, run: SimWorkflowRun, a: SimArtifact) => {
    const u = repoUrl(r);
    const zip = zipOf(r.fullName, a);
    return {
      id: a.id,
      node_id: nodeId('Artifact', a.id),
      name: a.name,
      size_in_bytes: zip.length,
      url: `${u}/actions/artifacts/${a.id}`,
      archive_download_url: `${u}/actions/artifacts/${a.id}/zip`,
      expired: a.expired,
      digest: `sha256:${createHash('sha256').update(zip).digest('hex')}`,
      created_at: a.created_at,
      updated_at: a.created_at,
      expires_at: a.expires_at,
      workflow_run: { id: run.id, repository_id: repoId(r), head_repository_id: repoId(r), head_branch: run.head_branch, head_sha: run.head_sha },
    };
  };

  const findWorkflow = (r: SimRepo, idOrFile: string) => r.workflows.find((w) => w.file === idOrFile || String(w.id) === idOrFile);
  const findRun = (r: SimRepo, id: string) => (/^\d+$/.test(id) ? r.runs.find((run) => run.id === Number(id)) : undefined);
  const findArtifact = (r: SimRepo, id: string) => {
    if (!/^\d+$/.test(id)) return undefined;
    for (const run of r.runs) for (const a of run.artifacts) if (a.id === Number(id)) return { run, a };
    return undefined;
  };

  /** The short-lived, signed download URL a 302 points to (like GitHub's blob storage SAS URLs). */
  const signBlob = (artifactId: number, expiresIso: string) => createHmac('sha256', blobKey).update(`${artifactId}\n${expiresIso}`).digest('base64url');
  const blobUrl = (artifactId: number) => {
    const se = new Date(now() + artifactUrlTtlMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return `${base}${BLOB_PREFIX}${artifactId}.zip?sv=2025-01-05&sr=b&sp=r&se=${encodeURIComponent(se)}&sig=${signBlob(artifactId, se)}`;
  };

  /** The blob store behind the 302: signed URL, no GitHub token wanted (it refuses one). */
  const serveBlob = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const requestId = randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    const authorization = req.headers.authorization !== undefined;
    const finish = (status: number, headers: Record<string, string>, body: Buffer | string) => {
      const payload = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(status, { 'x-ms-request-id': requestId, 'x-ms-version': '2025-01-05', 'content-length': String(payload.length), ...headers });
      res.end(req.method === 'HEAD' ? undefined : payload);
      requests.push({ method: (req.method ?? 'GET').toUpperCase(), path: req.url ?? '/', status, route: BLOB_ROUTE, ifNoneMatch: false, authorization, at: now() });
    };
    const azureError = (status: number, code: string, message: string) =>
      finish(status, { 'content-type': 'application/xml' }, `\uFEFF<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${requestId}\nTime:${new Date(now()).toISOString()}</Message></Error>`);
    const m = /^(\d+)\.zip$/.exec(url.pathname.slice(BLOB_PREFIX.length));
    const se = url.searchParams.get('se') ?? '';
    if (!m || url.searchParams.get('sig') !== signBlob(Number(m[1]), se)) {
      return azureError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.');
    }
    if (authorization) {
      // A GitHub token forwarded to the storage URL (a client that followed the redirect with
      // its headers): the signed URL is the only credential the store takes.
      return azureError(400, 'InvalidAuthenticationInfo', 'Authentication information is not given in the correct format. Check the value of Authorization header.');
    }
    if (now() > Date.parse(se)) return azureError(403, 'AuthenticationFailed', 'Signed expiry time has passed: request a new download URL.');
    for (const r of dataset.repos) {
      for (const run of r.runs) {
        const a = run.artifacts.find((x) => x.id === Number(m[1]));
        if (!a) continue;
        const zip = zipOf(r.fullName, a);
        return finish(
          200,
          {
            'content-type': 'application/zip',
            'content-disposition': `attachment; filename=${a.name}.zip; filename*=UTF-8''${encodeURIComponent(a.name)}.zip`,
            etag: `"0x${createHash('md5').update(zip).digest('hex').slice(0, 15).toUpperCase()}"`,
            'last-modified': new Date(Date.parse(a.created_at)).toUTCString(),
          },
          zip,
        );
      }
    }
    return azureError(404, 'BlobNotFound', 'The specified blob does not exist.');
  };

  const rateLimitBody = () => {
    const core = { limit: rate.limit, used: rate.limit - rate.remaining, remaining: rate.remaining, reset: rate.resetAt };
    const other = (l: number) => ({ limit: l, used: 0, remaining: l, reset: rate.resetAt });
    return {
      resources: { core, search: { ...other(30), reset: Math.floor(now() / 1000) + 60 }, graphql: graphql.bucket(), integration_manifest: other(5000), code_search: other(10) },
      rate: core,
    };
  };

  // ----- routes -----
  const GET = ['GET', 'HEAD'];
  /** A route under /repos/{owner}/{repo}: 404 when the dataset has no such repository. */
  const repoRoute = (pattern: string, f: (p: Record<string, string>) => (r: SimRepo, url: URL) => Answer): Route<Handler> => ({
    methods: GET,
    pattern: `/repos/{owner}/{repo}${pattern}`,
    handler: (p) => (url) => {
      const r = findRepo(dataset, `${p.owner}/${p.repo}`);
      return r ? f(p)(r, url) : notFound();
    },
  });
  /** Route label and handler for a path, or null. */
  const route = routeTable<Handler>([
    { methods: GET, pattern: '/rate_limit', handler: () => () => ({ status: 200, body: rateLimitBody() }) },
    repoRoute('', () => (r) => ({ status: 200, body: repoJson(r) })),
    repoRoute('/deployments', () => listDeployments),
    repoRoute('/deployments/{deployment_id}', (p) => (r) => {
      const d = findDeployment(r, p.deployment_id as string);
      return d ? { status: 200, body: deploymentJson(r, d) } : notFound();
    }),
    repoRoute('/deployments/{deployment_id}/statuses', (p) => (r, url) => {
      const d = findDeployment(r, p.deployment_id as string);
      if (!d) return notFound();
      const page = paginate([...d.statuses].sort(byNewest), url);
      return { status: 200, body: page.items.map((s) => statusJson(r, d, s)), link: page.link };
    }),
    repoRoute('/deployments/{deployment_id}/statuses/{status_id}', (p) => (r) => {
      const d = findDeployment(r, p.deployment_id as string);
      const s = d?.statuses.find((x) => String(x.id) === p.status_id);
      return d && s ? { status: 200, body: statusJson(r, d, s) } : notFound();
    }),
    // GitHub creates an environment on the first deployment to it; oldest first, like deployments' creation.
    repoRoute('/environments', () => (r, url) => {
      const first = new Map<string, string>();
      for (const d of [...r.deployments].sort((a, b) => -byNewest(a, b))) if (!first.has(d.environment)) first.set(d.environment, d.created_at);
      const all = [...first].map(([name, at], i) => {
        const id = 1_000_000 + (hashString(`${r.fullName}/${name}`) % 900_000_000) + i;
        return { id, node_id: nodeId('Environment', id), name, url: `${repoUrl(r)}/environments/${encodeURIComponent(name)}`, html_url: `https://github.com/${r.fullName}/deployments/activity_log?environments_filter=${encodeURIComponent(name)}`, created_at: at, updated_at: at, protection_rules: [], deployment_branch_policy: null };
      });
      const page = paginate(all, url);
      return { status: 200, body: { total_count: all.length, environments: page.items }, link: page.link };
    }),
    repoRoute('/actions/workflows', () => (r, url) => {
      const page = paginate(r.workflows, url);
      return { status: 200, body: { total_count: r.workflows.length, workflows: page.items.map((w) => workflowJson(r, w)) }, link: page.link };
    }),
    repoRoute('/actions/workflows/{workflow_id}', (p) => (r) => {
      const w = findWorkflow(r, p.workflow_id as string);
      return w ? { status: 200, body: workflowJson(r, w) } : notFound();
    }),
    repoRoute('/actions/workflows/{workflow_id}/runs', (p) => (r, url) => {
      const w = findWorkflow(r, p.workflow_id as string);
      return w ? listRuns(r, w, url) : notFound();
    }),
    repoRoute('/actions/runs', () => (r, url) => listRuns(r, null, url)),
    repoRoute('/actions/runs/{run_id}', (p) => (r, url) => {
      const run = findRun(r, p.run_id as string);
      return run ? { status: 200, body: runJson(r, run, url.searchParams.get('exclude_pull_requests') !== 'true') } : notFound();
    }),
    repoRoute('/actions/runs/{run_id}/artifacts', (p) => (r, url) => {
      const run = findRun(r, p.run_id as string);
      if (!run) return notFound();
      const name = url.searchParams.get('name');
      const asc = url.searchParams.get('direction') === 'asc';
      const list = run.artifacts.filter((a) => name === null || a.name === name).sort((a, b) => (asc ? -byNewest(a, b) : byNewest(a, b)));
      const page = paginate(list, url);
      return { status: 200, body: { total_count: list.length, artifacts: page.items.map((a) => artifactJson(r, run, a)) }, link: page.link };
    }),
    // List artifacts for a repository: every run's, newest first, `name` an exact filter.
    repoRoute('/actions/artifacts', () => (r, url) => {
      const name = url.searchParams.get('name');
      const list = r.runs
        .flatMap((run) => run.artifacts.filter((a) => name === null || a.name === name).map((a) => ({ run, a })))
        .sort((x, y) => byNewest(x.a, y.a));
      const page = paginate(list, url);
      return { status: 200, body: { total_count: list.length, artifacts: page.items.map(({ run, a }) => artifactJson(r, run, a)) }, link: page.link };
    }),
    repoRoute('/actions/artifacts/{artifact_id}', (p) => (r) => {
      const hit = findArtifact(r, p.artifact_id as string);
      return hit ? { status: 200, body: artifactJson(r, hit.run, hit.a) } : notFound();
    }),
    // "Gets a redirect URL to download an archive for a repository. This URL expires after
    // 1 minute. Look for Location: in the response header to find the URL for the download."
    repoRoute('/actions/artifacts/{artifact_id}/{archive_format}', (p) => (r) => {
      const hit = findArtifact(r, p.artifact_id as string);
      if (!hit || p.archive_format !== 'zip') return notFound();
      if (hit.a.expired) return gone('Artifact has expired');
      return { status: 302, body: undefined, headers: { location: blobUrl(hit.a.id) } };
    }),
    repoRoute('/pulls', () => listPulls),
    repoRoute('/pulls/{pull_number}', (p) => (r) => {
      const pull = findPull(r, p.pull_number as string);
      return pull ? { status: 200, body: pullJson(r, pull) } : notFound();
    }),
    repoRoute('/pulls/{pull_number}/commits', (p) => (r, url) => {
      const pull = findPull(r, p.pull_number as string);
      if (!pull) return notFound();
      const page = paginate(pull.commits.slice(0, PULL_COMMITS_MAX), url);
      return { status: 200, body: page.items.map((c) => pullCommitJson(r, c)), link: page.link };
    }),
    repoRoute('/compare/{basehead+}', (p) => (r, url) => compare(r, p.basehead as string, url)),
    repoRoute('/commits', () => listCommits),
    repoRoute('/commits/{ref+}', (p) => (r) => {
      const ref = p.ref as string;
      const c = resolveRef(r, ref);
      if (!c) return { status: 422, body: { message: `No commit found for SHA: ${ref}`, documentation_url: DOCS } };
      const files = (c.files ?? []).map((filename) => ({ sha: createHash('sha1').update(`${c.sha}:${filename}`).digest('hex'), filename, status: 'added', additions: 1, deletions: 0, changes: 1, blob_url: `https://github.com/${r.fullName}/blob/${c.sha}/${filename}`, raw_url: `https://github.com/${r.fullName}/raw/${c.sha}/${filename}`, contents_url: `${repoUrl(r)}/contents/${filename}?ref=${c.sha}`, patch: '@@ -0,0 +1 @@\n+export {};' }));
      return { status: 200, body: { ...commitJson(r, c), stats: { total: files.length, additions: files.length, deletions: 0 }, files } };
    }),
  ]);

  // ----- HTTP -----
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawPath = req.url ?? '/';
    const url = new URL(rawPath, base);
    const inm = req.headers['if-none-match'];
    const ifNoneMatch = typeof inm === 'string' && inm.length > 0;
    const authorization = req.headers.authorization !== undefined;
    rate.refresh();
    const isBlob = (method === 'GET' || method === 'HEAD') && url.pathname.startsWith(BLOB_PREFIX);
    const matched = isBlob ? null : route(method, url.pathname);
    const label = matched?.label ?? 'unknown';
    const requestId = requestIdFor(++requestSeq);

    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const headers: Record<string, string> = {
        'x-github-api-version-selected': API_VERSION,
        'x-github-media-type': 'github.v3; format=json',
        'x-github-request-id': requestId,
        'x-ratelimit-limit': String(current().limit),
        'x-ratelimit-remaining': String(current().remaining),
        'x-ratelimit-used': String(current().limit - current().remaining),
        'x-ratelimit-reset': String(current().resetAt),
        'x-ratelimit-resource': 'core',
        'access-control-expose-headers':
          'ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset',
        vary: 'Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding',
        ...extra,
      };
      let payload = '';
      if (status !== 304 && body !== undefined) {
        payload = JSON.stringify(body);
        headers['content-type'] = 'application/json; charset=utf-8';
        headers['content-length'] = String(Buffer.byteLength(payload));
      }
      res.writeHead(status, headers);
      res.end(method === 'HEAD' || status === 304 ? undefined : payload);
      requests.push({ method, path: rawPath, status, route: isBlob ? BLOB_ROUTE : label, ifNoneMatch, authorization, at: now() });
    };

    bucket = null;
    const failStatus = faults.take(() => [502, 503, 500][requestSeq % 3] as number, { drawAlways: true });
    if (failStatus !== null) {
      const message = failStatus === 502 ? 'Server Error' : failStatus === 503 ? 'Service Unavailable' : 'Internal Server Error';
      send(failStatus, { message, documentation_url: DOCS });
      return;
    }

    // Artifact downloads: not the API, no token, no rate limit.
    if (isBlob) {
      serveBlob(req, res, url);
      return;
    }

    const auth = req.headers.authorization;
    const appAnswer = app?.handle(method, url.pathname, auth) ?? null;
    if (appAnswer) {
      send(appAnswer.status, appAnswer.body, appAnswer.headers);
      return;
    }
    const token = credential(auth, /^(?:token|bearer)\s+(\S+)\s*$/i);
    const installation = token !== null && app ? app.installationOf(token) : null;
    if (installation !== null) bucket = app?.bucket(installation) ?? null;
    if (token === null || (token !== opts.token && installation === null)) {
      send(401, { message: auth ? 'Bad credentials' : 'Requires authentication', documentation_url: DOCS });
      return;
    }

    const isRateLimitRoute = label === 'GET /rate_limit';
    if (!isRateLimitRoute && current().remaining <= 0) {
      current().remaining = 0;
      rateLimitedCount++;
      send(403, {
        message: `API rate limit exceeded for user ID ${userId('kr-tracker')}. If you reach out to GitHub Support for help, please include the request ID ${requestId} and timestamp ${new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z').replace('T', ' ')} UTC.`,
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      });
      return;
    }

    const answer = matched ? matched.handler(url) : notFound();
    if (answer.status === 200) {
      const payload = JSON.stringify(answer.body);
      const etag = weakEtag(payload);
      const extra: Record<string, string> = { etag, 'cache-control': 'private, max-age=60, s-maxage=60', ...answer.headers };
      if (answer.link) extra.link = answer.link;
      if (ifNoneMatch && etagMatches(inm as string, etag)) {
        send(304, undefined, extra);
        return;
      }
      if (!isRateLimitRoute) spend();
      send(200, answer.body, extra);
      return;
    }
    if (!isRateLimitRoute) spend();
    send(answer.status, answer.body, answer.headers);
  };

  /** The window of the current request: its installation's, or the token's. */
  const current = () => bucket ?? rate;
  const spend = () => {
    current().remaining--;
  };

  const server = await startSimServer({
    port: opts.port,
    host: opts.host,
    handle: (req, res) => {
      if (req.method === 'POST' && (req.url ?? '').split('?')[0] === '/graphql') graphql.serve(req, res);
      else handle(req, res);
    },
    errorBody: (message) => ({ message, documentation_url: DOCS }),
    onError: (req) => requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', status: 500, route: 'unknown', ifNoneMatch: false, authorization: req.headers.authorization !== undefined, at: now() }),
  });
  base = server.url;

  return {
    url: base,
    dataset,
    requests,
    close: server.close,
    counts: () => ({ ...countRoutes(requests), rateLimited: rateLimitedCount }),
    setRateLimit: (l: number, rem?: number) => rate.set(l, rem),
    app,
    failNext: (n: number, status = 502) => faults.failNext(n, status),
    setGraphqlRateLimit: (l: number, rem?: number) => graphql.setRateLimit(l, rem),
    corrupt: (kind, id, fields) => corrupted[kind].set(id, fields),
    samlProtect: (repo) => samlProtected.add(repo),
  };
}

function requestIdFor(n: number): string {
  const h = createHash('sha1').update(`req:${n}`).digest('hex').toUpperCase();
  return `${h.slice(0, 4)}:${h.slice(4, 8)}:${h.slice(8, 14)}:${h.slice(14, 21)}:${(0x65000000 + n).toString(16).toUpperCase()}`;
}

function displayName(login: string): string {
  return login
    .split(/[-_]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join(' ');
}
