// Pull requests merged into a repository's default branch, with the first commit of each: what
// `pr_cycle_time` (METRICS.md) reads. Synced incrementally.
// REST: GET /repos/{owner}/{repo}/pulls?state=closed&base={default}&sort=updated&direction=desc
// (https://docs.github.com/en/rest/pulls/pulls#list-pull-requests), newest update first, Link
// pagination; page 1 asked with its ETag between complete walks (a free 304 while nothing moved).
// First commit: the earliest `commit.author.date` among the PR's own commits. A PR's commits are
// listed in order, but after a rebase or a reordering the first one is not always the oldest, so
// every commit's author date is read (GitHub lists at most 250 per PR): GraphQL
// `nodes(ids:) { ... on PullRequest { commits(first: 100) { nodes { commit { authoredDate } } } } }`
// for up to 100 PRs a query (1 point: docs/metrics.md "API cost"), REST
// GET /repos/{owner}/{repo}/pulls/{n}/commits for a PR the query could not answer.
import type { Logger } from 'pino';
import { z } from 'zod';
import { SourceError } from '../../src/core/errors.js';
import type { PullRequestEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { streams, type StreamKey } from '../../src/core/stream.js';
import type { SyncReport } from '../../src/core/connector.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, type RequestCounter } from './conditional.js';
import { graphqlQuery, RATE_LIMIT_FIELDS, type GraphqlCounter } from './graphql.js';

const DAY = 86_400_000;

/** GitHub's timestamps: ISO 8601 with a zone (`2026-11-20T10:00:00Z`). */
const timestamp = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'is not an ISO 8601 timestamp',
});

/** The fields of a listed pull request that the events rely on (parsed at the boundary). */
const apiPull = z.object({
  number: z.number().int().positive(),
  node_id: z.string().min(1),
  created_at: timestamp,
  updated_at: timestamp,
  merged_at: timestamp.nullable(),
  merge_commit_sha: z.string().regex(/^[0-9a-f]{40}$/, 'is not a commit sha').nullable(),
  base: z.object({ ref: z.string().min(1) }),
});
type ApiPull = z.infer<typeof apiPull>;

const apiPullCommit = z.object({
  sha: z.string().min(1),
  commit: z.object({ author: z.object({ date: timestamp }) }),
});

const apiRepo = z.object({ default_branch: z.string().min(1) });

/**
 * Where the last walk got to. `since`: the newest `updated_at` a complete walk saw; the next walk
 * reads until it passes below it. `walk`: a walk in progress (its page-1 top and the next page), so
 * that a sync that died midway resumes there. `defaultBranch`: read once from the repository.
 */
export interface PullsCursor {
  since: string | null;
  defaultBranch: string | null;
  walk: { top: string; nextPage: number } | null;
}

export interface PullsSyncOptions {
  client: GithubClient;
  store: Store;
  now: () => number;
  /** Page size of the list (GitHub allows up to 100). */
  perPage?: number;
  /** How far back the first walk goes, by `updated_at` (default 180 days). */
  historyMs?: number;
  /** `graphql` (default): batched author dates; `rest`: one commits listing per PR. */
  commits?: 'graphql' | 'rest';
  /** Warnings about items that were skipped (malformed). */
  logger?: Pick<Logger, 'warn'>;
}

export interface PullsSyncReport extends SyncReport {
  /** GraphQL points spent (a separate bucket from REST's). */
  graphqlPoints: number;
  /** Malformed items that were skipped, each naming the pull request or commit and the problem. */
  skipped: string[];
}

export function pullsStreamOf(repo: string): StreamKey {
  return streams.pulls(repo);
}

/** PRs asked per GraphQL query: `commits(first: 100)` under 100 ids costs 100 requests = 1 point. */
const PULLS_PER_QUERY = 100;
/** GitHub lists at most this many commits of a pull request (REST and GraphQL). */
const MAX_PULL_COMMITS = 250;

const FIRST_COMMITS_QUERY = `query($ids: [ID!]!) {
  nodes(ids: $ids) { ... on PullRequest { id number commits(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { commit { authoredDate } } } } }
  ${RATE_LIMIT_FIELDS}
}`;
const MORE_COMMITS_QUERY = `query($id: ID!, $after: String) {
  node(id: $id) { ... on PullRequest { commits(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { commit { authoredDate } } } } }
  ${RATE_LIMIT_FIELDS}
}`;

interface GqlCommits {
  totalCount?: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: ({ commit: { authoredDate: unknown } | null } | null)[];
}
type RateLimited = { rateLimit: { cost: number; remaining: number } };

/** The earliest of ISO times, or null for none. */
function earliest(dates: readonly string[]): number | null {
  let min: number | null = null;
  for (const d of dates) {
    const ms = Date.parse(d);
    if (min === null || ms < min) min = ms;
  }
  return min;
}

export async function syncPulls(opts: PullsSyncOptions, repo: string): Promise<PullsSyncReport> {
  const { client, store, now } = opts;
  const perPage = opts.perPage ?? 100;
  const [owner, name] = repo.split('/') as [string, string];
  const stream = pullsStreamOf(repo);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  const gql: GraphqlCounter = { requests: 0, points: 0, remaining: null };
  const skipped: string[] = [];
  let stored = 0;
  const report = (): PullsSyncReport => {
    for (const s of skipped) opts.logger?.warn({ stream: stream.key }, s);
    return { stream, requests: counter.requests + gql.requests, notModified: counter.notModified, stored, rateLimitRemaining: counter.rateLimitRemaining, graphqlPoints: gql.points, skipped };
  };

  let cursor: PullsCursor = (await store.getCursor<PullsCursor>(stream)) ?? { since: null, defaultBranch: null, walk: null };
  if (cursor.defaultBranch === null) {
    const r = await conditionalGet<unknown>(client, store, counter, '/repos/{owner}/{repo}', { owner, repo: name }, false);
    if (r.notModified) throw new Error('unreachable: unconditional request answered 304');
    const parsed = apiRepo.safeParse(r.data);
    if (!parsed.success) throw new SourceError(`GitHub GET ${r.url} answered no default_branch; cannot tell which pull requests reach the default branch`, 'github', false);
    cursor = { ...cursor, defaultBranch: parsed.data.default_branch };
  }
  const base = cursor.defaultBranch as string;
  const known = new Map((await store.getEvents('pull_request', repo)).map((e) => [e.id, e]));
  // A walk reads down to the newest update of the last one (the first walk: its history).
  const stopBelow = cursor.since !== null ? Date.parse(cursor.since) : now() - (opts.historyMs ?? 180 * DAY);

  const route = '/repos/{owner}/{repo}/pulls';
  const params = (page: number) => ({ owner, repo: name, state: 'closed', base, sort: 'updated', direction: 'desc', per_page: perPage, page });
  const listPage = async (page: number, conditional: boolean) => {
    const r = await conditionalGet<unknown>(client, store, counter, route, params(page), conditional);
    if (r.notModified) return null;
    return { ...r, items: parseItems(r.data, `GitHub GET ${r.url}`, skipped) };
  };

  const first = await listPage(1, cursor.walk === null && cursor.since !== null);
  if (first === null) {
    await store.setCursor(stream, cursor);
    return report();
  }
  const top = first.items[0]?.updated_at ?? cursor.since ?? new Date(stopBelow).toISOString();
  let page = cursor.walk && cursor.walk.top === top ? cursor.walk.nextPage : 1;
  let res = page === 1 ? first : await listPage(page, false);
  for (;;) {
    if (!res) throw new Error('unreachable: unconditional request answered 304');
    let reachedEnd = false;
    const wanted: ApiPull[] = [];
    for (const p of res.items) {
      if (Date.parse(p.updated_at) < stopBelow) {
        reachedEnd = true;
        continue;
      }
      if (p.merged_at === null || p.base.ref !== base) continue;
      if (p.merge_commit_sha === null) {
        skipped.push(`GitHub GET ${res.url}: pull request #${p.number} skipped: merged without a merge_commit_sha`);
        continue;
      }
      const prev = known.get(p.number);
      // Once merged, a PR's commits, merge time and merge commit do not change.
      if (prev && prev.mergedAt === Date.parse(p.merged_at) && prev.mergeCommitSha === p.merge_commit_sha) continue;
      wanted.push(p);
    }
    const firsts = await firstCommits(wanted);
    const events = wanted.map(
      (p): PullRequestEvent => ({
        repo,
        id: p.number,
        createdAt: Date.parse(p.created_at),
        mergedAt: Date.parse(p.merged_at as string),
        mergeCommitSha: p.merge_commit_sha as string,
        firstCommitAt: firsts.get(p.number)?.at ?? null,
        commits: firsts.get(p.number)?.count ?? 0,
      }),
    );
    const more = !reachedEnd && hasNextPage(res.link) && res.items.length > 0;
    await store.putEvents(stream, 'pull_request', repo, events, { ...cursor, walk: more ? { top, nextPage: page + 1 } : null } satisfies PullsCursor);
    for (const e of events) known.set(e.id, e);
    stored += events.length;
    if (!more) break;
    page++;
    res = await listPage(page, false);
  }
  const done: PullsCursor = { since: cursor.since === null || Date.parse(top) > Date.parse(cursor.since) ? top : cursor.since, defaultBranch: base, walk: null };
  await store.setCursor(stream, done);
  if (first.etag) await store.setEtag(first.url, first.etag);
  return report();

  /** The first commit (earliest author date) and commit count of each PR, by number. */
  async function firstCommits(pulls: readonly ApiPull[]): Promise<Map<number, { at: number | null; count: number }>> {
    const out = new Map<number, { at: number | null; count: number }>();
    const viaRest: ApiPull[] = [];
    if ((opts.commits ?? 'graphql') === 'rest') viaRest.push(...pulls);
    else {
      for (let i = 0; i < pulls.length; i += PULLS_PER_QUERY) {
        const batch = pulls.slice(i, i + PULLS_PER_QUERY);
        const got = await firstCommitsGraphql(batch);
        for (const p of batch) {
          const hit = got.get(p.node_id);
          if (hit) out.set(p.number, hit);
          else viaRest.push(p);
        }
      }
    }
    for (const p of viaRest) out.set(p.number, await firstCommitRest(p));
    return out;
  }

  /** Author dates of up to 100 PRs in one query, joined on the node id; a PR it cannot read is left out. */
  async function firstCommitsGraphql(batch: readonly ApiPull[]): Promise<Map<string, { at: number | null; count: number }>> {
    const out = new Map<string, { at: number | null; count: number }>();
    const { data } = await graphqlQuery<{ nodes: ({ id?: string; commits?: GqlCommits } | null)[] } & RateLimited>(
      client,
      gql,
      FIRST_COMMITS_QUERY,
      { ids: batch.map((p) => p.node_id) },
      // A PR whose node cannot be resolved: its slot is null; REST answers for it.
      (e) => e.type === 'NOT_FOUND' && e.path?.[0] === 'nodes',
    );
    for (const node of data.nodes) {
      if (!node?.id || !node.commits) continue;
      const dates: string[] = [];
      let conn: GqlCommits | undefined = node.commits;
      let readable = true;
      for (;;) {
        for (const n of conn.nodes) {
          const d = timestamp.safeParse(n?.commit?.authoredDate);
          if (!d.success) readable = false;
          else dates.push(d.data);
        }
        if (!readable || !conn.pageInfo.hasNextPage || dates.length >= MAX_PULL_COMMITS) break;
        const more: { data: { node: { commits?: GqlCommits } | null } & RateLimited } = await graphqlQuery(client, gql, MORE_COMMITS_QUERY, { id: node.id, after: conn.pageInfo.endCursor });
        if (!more.data.node?.commits) {
          readable = false;
          break;
        }
        conn = more.data.node.commits;
      }
      if (readable) out.set(node.id, { at: earliest(dates), count: dates.length });
    }
    return out;
  }

  /** GET /pulls/{n}/commits, 100 a page; a malformed commit is skipped and named. */
  async function firstCommitRest(p: ApiPull): Promise<{ at: number | null; count: number }> {
    const dates: string[] = [];
    for (let page = 1; ; page++) {
      const r = await conditionalGet<unknown>(client, store, counter, '/repos/{owner}/{repo}/pulls/{pull_number}/commits', { owner, repo: name, pull_number: p.number, per_page: 100, page }, false);
      if (r.notModified) throw new Error('unreachable: unconditional request answered 304');
      if (!Array.isArray(r.data)) throw new SourceError(`GitHub GET ${r.url} answered ${typeof r.data} instead of a list of commits`, 'github', false);
      for (const item of r.data) {
        const c = apiPullCommit.safeParse(item);
        if (c.success) dates.push(c.data.commit.author.date);
        else skipped.push(`GitHub GET ${r.url}: commit ${describeId(item, 'sha')} of pull request #${p.number} skipped: ${problems(c.error, item)}`);
      }
      if (!hasNextPage(r.link) || r.data.length === 0 || page * 100 >= MAX_PULL_COMMITS) break;
    }
    return { at: earliest(dates), count: dates.length };
  }
}

/** Parses a listed page one item at a time: a malformed PR is reported (by number) and skipped. */
function parseItems(items: unknown, where: string, skipped: string[]): ApiPull[] {
  if (!Array.isArray(items)) throw new SourceError(`${where} answered ${typeof items} instead of a list of pull requests`, 'github', false);
  const out: ApiPull[] = [];
  for (const item of items) {
    const r = apiPull.safeParse(item);
    if (r.success) out.push(r.data);
    else skipped.push(`${where}: pull request ${describeId(item, 'number')} skipped: ${problems(r.error, item)}`);
  }
  return out;
}

function describeId(item: unknown, key: 'number' | 'sha'): string {
  if (typeof item !== 'object' || item === null) return '(not an object)';
  const v = (item as Record<string, unknown>)[key];
  if (key === 'number' && typeof v === 'number') return `#${v}`;
  if (v !== undefined) return JSON.stringify(v);
  const id = (item as Record<string, unknown>).id;
  return id !== undefined ? `id ${JSON.stringify(id)}` : '(no id)';
}

function problems(error: z.ZodError, item: unknown): string {
  return error.issues
    .map((i) => {
      let v: unknown = item;
      for (const k of i.path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
      return `${i.path.join('.') || '(item)'} ${i.message}${i.path.length > 0 ? ` (${JSON.stringify(v ?? null)})` : ''}`;
    })
    .join('; ');
}
