// A simulated GitHub REST API (node:http only) serving a GithubDataset live, for tests and
// `krt demo`. It speaks the real API: paths, JSON shapes and field names, `Link` pagination,
// weak ETags with `If-None-Match` -> 304 (not counted against the rate limit), the primary rate
// limit headers and its 403, 401 on bad credentials, 404 bodies. Reference:
// https://docs.github.com/en/rest/deployments, https://docs.github.com/en/rest/commits/commits#compare-two-commits,
// https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api,
// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hashString } from './random.js';
import { findRepo, type GithubDataset, type SimCommit, type SimDeployment, type SimRepo, type SimStatus } from './dataset.js';

export interface SimRequestLog {
  method: string;
  /** Path with query string, as requested. */
  path: string;
  status: number;
  /** e.g. `GET /repos/{owner}/{repo}/deployments`; `unknown` when no route matched. */
  route: string;
  ifNoneMatch: boolean;
  at: number;
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
}

const DOCS = 'https://docs.github.com/rest';
const API_VERSION = '2022-11-28';
/** Compare without per_page/page lists at most this many commits (the newest ones). */
const COMPARE_UNPAGED_MAX = 250;
const KNOWN_USER_IDS: Record<string, number> = { 'github-actions[bot]': 41898282, 'web-flow': 19864447 };

interface Answer {
  status: number;
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

/** Starts the simulator; `close()` stops it. */
export async function startGithubSimulator(opts: GithubSimulatorOptions): Promise<GithubSimulator> {
  const now = opts.now ?? Date.now;
  const dataset = opts.dataset;
  const requests: SimRequestLog[] = [];
  let limit = opts.rateLimit ?? 5000;
  let remaining = limit;
  let resetAt = Math.floor(now() / 1000) + 3600;
  let failures = 0;
  let failStatus = 502;
  let requestSeq = 0;
  let rateLimitedCount = 0;
  let base = '';

  const refreshWindow = () => {
    if (now() / 1000 >= resetAt) {
      remaining = limit;
      resetAt = Math.floor(now() / 1000) + 3600;
    }
  };

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
    };
  };

  const commitJson = (r: SimRepo, c: SimCommit, parent: SimCommit | undefined) => {
    const u = repoUrl(r);
    // Authored a while before it landed on the default branch (the PR's life), 5 min to 3 days.
    const authoredMs = Date.parse(c.date) - (5 * 60 + (parseInt(c.sha.slice(0, 8), 16) % (3 * 86_400 - 5 * 60))) * 1000;
    const authoredAt = new Date(authoredMs).toISOString().replace('.000Z', 'Z');
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
      parents: parent ? [{ sha: parent.sha, url: `${u}/commits/${parent.sha}`, html_url: `https://github.com/${r.fullName}/commit/${parent.sha}` }] : [],
    };
  };

  // ----- routes -----
  const resolveRef = (r: SimRepo, ref: string): number => {
    let x = ref;
    const owner = r.fullName.split('/')[0] ?? '';
    if (x.toLowerCase().startsWith(`${owner.toLowerCase()}:`)) x = x.slice(owner.length + 1);
    if (x === r.defaultBranch || x === 'HEAD') return r.commits.length - 1;
    const lower = x.toLowerCase();
    if (/^[0-9a-f]{40}$/.test(lower)) return r.commits.findIndex((c) => c.sha === lower);
    if (/^[0-9a-f]{7,39}$/.test(lower)) {
      const hits = r.commits.flatMap((c, i) => (c.sha.startsWith(lower) ? [i] : []));
      return hits.length === 1 ? (hits[0] as number) : -1;
    }
    return -1;
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

  const compare = (r: SimRepo, basehead: string, url: URL): Answer => {
    const m = /^(.+?)\.\.\.(.+)$/.exec(basehead);
    if (!m) return notFound();
    const bi = resolveRef(r, m[1] as string);
    const hi = resolveRef(r, m[2] as string);
    if (bi < 0 || hi < 0) return notFound();
    const baseCommit = r.commits[bi] as SimCommit;
    const mergeBase = r.commits[Math.min(bi, hi)] as SimCommit;
    const range = hi > bi ? r.commits.slice(bi + 1, hi + 1) : [];
    const withParent = (c: SimCommit) => commitJson(r, c, r.commits[r.commits.indexOf(c) - 1]);
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
    return {
      status: 200,
      link,
      body: {
        url: `${u}/compare/${basehead}`,
        html_url: `https://github.com/${r.fullName}/compare/${basehead}`,
        permalink_url: `https://github.com/${r.fullName}/compare/${r.fullName.split('/')[0]}:${baseCommit.sha}...${r.fullName.split('/')[0]}:${(r.commits[hi] as SimCommit).sha}`,
        diff_url: `https://github.com/${r.fullName}/compare/${basehead}.diff`,
        patch_url: `https://github.com/${r.fullName}/compare/${basehead}.patch`,
        base_commit: withParent(baseCommit),
        merge_base_commit: withParent(mergeBase),
        status: hi > bi ? 'ahead' : hi < bi ? 'behind' : 'identical',
        ahead_by: Math.max(0, hi - bi),
        behind_by: Math.max(0, bi - hi),
        total_commits: range.length,
        commits: commits.map(withParent),
        files: [],
      },
    };
  };

  const rateLimitBody = () => {
    const core = { limit, used: limit - remaining, remaining, reset: resetAt };
    const other = (l: number) => ({ limit: l, used: 0, remaining: l, reset: resetAt });
    return {
      resources: { core, search: { ...other(30), reset: Math.floor(now() / 1000) + 60 }, graphql: other(5000), integration_manifest: other(5000), code_search: other(10) },
      rate: core,
    };
  };

  /** Route label and handler for a path, or null. */
  const route = (method: string, path: string): { label: string; handler: Handler } | null => {
    if (method !== 'GET' && method !== 'HEAD') return null;
    const seg = path.split('/').slice(1).map((s) => decodeURIComponent(s));
    if (seg.length > 1 && seg[seg.length - 1] === '') seg.pop();
    if (seg.length === 1 && seg[0] === 'rate_limit') return { label: 'GET /rate_limit', handler: () => ({ status: 200, body: rateLimitBody() }) };
    if (seg[0] !== 'repos' || seg.length < 3) return null;
    const repoName = `${seg[1]}/${seg[2]}`;
    const withRepo = (label: string, f: (r: SimRepo, url: URL) => Answer) => ({
      label: `GET ${label}`,
      handler: (url: URL) => {
        const r = findRepo(dataset, repoName);
        return r ? f(r, url) : notFound();
      },
    });
    const rest = seg.slice(3);
    if (rest.length === 0) return withRepo('/repos/{owner}/{repo}', (r) => ({ status: 200, body: repoJson(r) }));
    if (rest[0] === 'deployments') {
      if (rest.length === 1) return withRepo('/repos/{owner}/{repo}/deployments', listDeployments);
      const id = rest[1] as string;
      if (rest.length === 2) {
        return withRepo('/repos/{owner}/{repo}/deployments/{deployment_id}', (r) => {
          const d = findDeployment(r, id);
          return d ? { status: 200, body: deploymentJson(r, d) } : notFound();
        });
      }
      if (rest[2] === 'statuses' && rest.length === 3) {
        return withRepo('/repos/{owner}/{repo}/deployments/{deployment_id}/statuses', (r, url) => {
          const d = findDeployment(r, id);
          if (!d) return notFound();
          const page = paginate([...d.statuses].sort(byNewest), url);
          return { status: 200, body: page.items.map((s) => statusJson(r, d, s)), link: page.link };
        });
      }
      if (rest[2] === 'statuses' && rest.length === 4) {
        return withRepo('/repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id}', (r) => {
          const d = findDeployment(r, id);
          const s = d?.statuses.find((x) => String(x.id) === rest[3]);
          return d && s ? { status: 200, body: statusJson(r, d, s) } : notFound();
        });
      }
      return null;
    }
    if (rest[0] === 'compare' && rest.length >= 2) {
      const basehead = rest.slice(1).join('/');
      return withRepo('/repos/{owner}/{repo}/compare/{basehead}', (r, url) => compare(r, basehead, url));
    }
    if (rest[0] === 'commits' && rest.length >= 2) {
      const ref = rest.slice(1).join('/');
      return withRepo('/repos/{owner}/{repo}/commits/{ref}', (r) => {
        const i = resolveRef(r, ref);
        if (i < 0) return { status: 422, body: { message: `No commit found for SHA: ${ref}`, documentation_url: DOCS } };
        return { status: 200, body: { ...commitJson(r, r.commits[i] as SimCommit, r.commits[i - 1]), stats: { total: 0, additions: 0, deletions: 0 }, files: [] } };
      });
    }
    return null;
  };

  // ----- HTTP -----
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawPath = req.url ?? '/';
    const url = new URL(rawPath, base);
    const inm = req.headers['if-none-match'];
    const ifNoneMatch = typeof inm === 'string' && inm.length > 0;
    refreshWindow();
    const matched = route(method, url.pathname);
    const label = matched?.label ?? 'unknown';
    const requestId = requestIdFor(++requestSeq);

    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const headers: Record<string, string> = {
        'x-github-api-version-selected': API_VERSION,
        'x-github-media-type': 'github.v3; format=json',
        'x-github-request-id': requestId,
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(remaining),
        'x-ratelimit-used': String(limit - remaining),
        'x-ratelimit-reset': String(resetAt),
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
      requests.push({ method, path: rawPath, status, route: label, ifNoneMatch, at: now() });
    };

    if (failures > 0) {
      failures--;
      const message = failStatus === 502 ? 'Server Error' : failStatus === 503 ? 'Service Unavailable' : 'Internal Server Error';
      send(failStatus, { message, documentation_url: DOCS });
      return;
    }

    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^(?:token|bearer)\s+(\S+)\s*$/i.exec(auth) : null;
    if (!m || m[1] !== opts.token) {
      send(401, { message: auth ? 'Bad credentials' : 'Requires authentication', documentation_url: DOCS });
      return;
    }

    const isRateLimitRoute = label === 'GET /rate_limit';
    if (!isRateLimitRoute && remaining <= 0) {
      remaining = 0;
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
      const etag = `W/"${createHash('sha1').update(payload).digest('hex')}"`;
      const extra: Record<string, string> = { etag, 'cache-control': 'private, max-age=60, s-maxage=60', ...answer.headers };
      if (answer.link) extra.link = answer.link;
      if (ifNoneMatch && etagMatches(inm as string, etag)) {
        send(304, undefined, extra);
        return;
      }
      if (!isRateLimitRoute) remaining--;
      send(200, answer.body, extra);
      return;
    }
    if (!isRateLimitRoute) remaining--;
    send(answer.status, answer.body, answer.headers);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ message: `simulator error: ${err instanceof Error ? err.message : String(err)}`, documentation_url: DOCS }));
        requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', status: 500, route: 'unknown', ifNoneMatch: false, at: now() });
      }
    }
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  base = `http://${urlHost}:${port}`;

  return {
    url: base,
    dataset,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    counts: () => {
      const byRoute: Record<string, number> = {};
      let notModified = 0;
      for (const r of requests) {
        byRoute[r.route] = (byRoute[r.route] ?? 0) + 1;
        if (r.status === 304) notModified++;
      }
      return { total: requests.length, notModified, rateLimited: rateLimitedCount, byRoute };
    },
    setRateLimit: (l: number, rem?: number) => {
      limit = l;
      remaining = Math.max(0, Math.min(l, rem ?? l));
    },
    failNext: (n: number, status = 502) => {
      failures = n;
      failStatus = status;
    },
  };
}

/** `If-None-Match` weak comparison: a list of tags or `*`. */
function etagMatches(header: string, etag: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  const want = strip(etag);
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === want);
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
