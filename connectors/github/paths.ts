// The default-branch commits touching one path of a repository (a monorepo's `services/payments/`),
// for lead time with `paths:`: GET /repos/{owner}/{repo}/commits?path=...&since=... lists them,
// newest first, one path per listing (https://docs.github.com/en/rest/commits/commits#list-commits).
// Listed once from `since`, then incrementally like the branch history (./history.ts): page 1 with
// the ETag of the last listing (a free 304 while no new commit touches the path), and only the pages
// that hold new commits. The lead-time metric keeps a deployment's changes that are listed here.
//
// Which commits GitHub lists for a path is `git log -- path` with its default history
// simplification: a commit whose diff against its parent touches the path; a merge commit only when
// it differs under the path from every one of its parents (a conflict resolved there); a clean
// merge is left out, and the commits it brought in are listed when they touch the path
// (docs/lead-time.md "Monorepos").
import type { SyncReport } from '../../src/core/connector.js';
import type { CommitEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { partitionOf, streams } from '../../src/core/stream.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, type RequestCounter } from './conditional.js';
import { committedAt, historyStreamOf, type HistoryCursor } from './history.js';

interface ApiListedCommit {
  sha: string;
  parents: { sha: string }[];
  commit: { committer: { date?: string } | null; author: { date?: string } | null };
}

/** Where the listing starts (`since`, ISO, fixed so that page 1 keeps one URL and its ETag) and its newest commit. */
export interface PathCursor {
  since: string;
  head: string | null;
}

export interface PathSyncOptions {
  client: GithubClient;
  store: Store;
  now: () => number;
  perPage?: number;
  /**
   * The earliest instant a key result reading the path evaluates (src/sync/compare-from.ts); the
   * listing starts `marginMs` before it, or at the branch history's start when that is earlier, so
   * that every change the history finds can be looked up. Default: a year back.
   */
  since?: number | null;
  /** How far before `since` the listing starts (default 30 days: changes are committed before they deploy). */
  marginMs?: number;
}

const iso = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The path as GitHub's `path` parameter takes it: without a trailing `/` (a directory matches all under it). */
export function pathParam(path: string): string {
  return path.replace(/\/+$/, '');
}

/**
 * Brings the stored commits touching `path` in `repo` up to date (partition `owner/repo/path`).
 * Costs: the first listing one request per 100 commits touching the path since the start; then one
 * request per sync (a 304 that does not count against the rate limit while nothing new touches the
 * path), plus one per further 100 new commits.
 */
export async function syncPathCommits(opts: PathSyncOptions, repo: string, path: string): Promise<SyncReport> {
  const { client, store } = opts;
  const perPage = opts.perPage ?? 100;
  const [owner, name] = repo.split('/') as [string, string];
  const stream = streams.paths(repo, path);
  const { partition } = partitionOf(stream);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  const known = new Set((await store.getEvents('commit', partition)).map((c) => c.id));
  const cursor = await store.getCursor<PathCursor>(stream);
  const history = await store.getCursor<HistoryCursor>(historyStreamOf(repo));
  const fromKr = (opts.since ?? opts.now() - 365 * 86_400_000) - (opts.marginMs ?? 30 * 86_400_000);
  const wantedMs = Math.min(fromKr, history ? Date.parse(history.since) : Infinity);
  const route = '/repos/{owner}/{repo}/commits';
  const params = (since: string, page: number, until?: string) => ({ owner, repo: name, path: pathParam(path), since, ...(until ? { until } : {}), per_page: perPage, page });
  let stored = 0;

  const store1 = async (data: ApiListedCommit[], url: string): Promise<boolean> => {
    let sawKnown = false;
    const events: CommitEvent[] = [];
    for (const c of data) {
      if (known.has(c.sha)) {
        sawKnown = true;
        continue;
      }
      known.add(c.sha);
      events.push({ repo, id: c.sha, parents: c.parents.map((p) => p.sha), committedAt: committedAt(c, url) });
    }
    if (events.length > 0) await store.putEvents(stream, 'commit', partition, events);
    stored += events.length;
    return sawKnown;
  };

  // Listed from `since` (every page), or only the older range when an earlier start is needed.
  // Page 1's ETag is saved once every page the listing read is stored, so a listing that fails
  // midway is asked again in full rather than answered 304.
  const listAll = async (since: string, until?: string): Promise<void> => {
    let etag: [string, string] | null = null;
    for (let page = 1; ; page++) {
      const r = await conditionalGet<ApiListedCommit[]>(client, store, counter, route, params(since, page, until), false);
      if (r.notModified) throw new Error('unreachable: unconditional request answered 304');
      await store1(r.data, r.url);
      if (page === 1 && !until && r.etag) etag = [r.url, r.etag];
      if (!hasNextPage(r.link) || r.data.length === 0) break;
    }
    if (etag) await store.setEtag(...etag);
  };

  if (cursor === null) {
    const since = iso(wantedMs);
    await listAll(since);
    await store.setCursor(stream, { since, head: null } satisfies PathCursor);
    return { stream, requests: counter.requests, notModified: counter.notModified, stored, rateLimitRemaining: counter.rateLimitRemaining };
  }
  let since = cursor.since;
  if (wantedMs < Date.parse(cursor.since)) {
    since = iso(wantedMs);
    await listAll(since, cursor.since);
    await store.setCursor(stream, { since, head: cursor.head } satisfies PathCursor);
  }
  // New commits come first: read pages until one lists a commit stored already.
  let etag: [string, string] | null = null;
  for (let page = 1; ; page++) {
    const r = await conditionalGet<ApiListedCommit[]>(client, store, counter, route, params(since, page), page === 1);
    if (r.notModified) break;
    const sawKnown = await store1(r.data, r.url);
    if (page === 1 && r.etag) etag = [r.url, r.etag];
    if (sawKnown || !hasNextPage(r.link) || r.data.length === 0) break;
  }
  if (etag) await store.setEtag(...etag);
  return { stream, requests: counter.requests, notModified: counter.notModified, stored, rateLimitRemaining: counter.rateLimitRemaining };
}
