// The commits between consecutive successful deployments of one repository and environment, for
// lead time for changes (METRICS.md). REST: GET /repos/{owner}/{repo}/compare/{base}...{head}
// https://docs.github.com/en/rest/commits/commits#compare-two-commits
// Without `per_page`/`page` GitHub lists only the last 250 commits and sends no `Link`, and
// `octokit.paginate` on it repeats them (../shared/TESTING.md), so pages are asked explicitly.
import { SourceError } from '../../src/lib/errors.js';
import { successfulDeployments } from '../../src/metrics/successful-deployments.js';
import type { CompareEvent } from '../../src/store/events.js';
import type { Store, StreamKey } from '../../src/store/store.js';
import type { SyncReport } from '../types.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, type RequestCounter } from './conditional.js';

interface ApiCompare {
  total_commits: number;
  commits: { sha: string; commit: { committer: { date?: string } | null; author: { date?: string } | null } }[];
}

export interface CompareSyncOptions {
  client: GithubClient;
  store: Store;
  now: () => number;
  /** Commits per compare page (GitHub allows up to 100). */
  perPage?: number;
}

export function compareStreamOf(repo: string, environment: string): StreamKey {
  return { source: 'github', stream: 'compare', key: `${repo}@${environment}` };
}

/** The id of the compare between two deployed shas, as stored: `${base}...${head}`. */
export function compareId(base: string, head: string): string {
  return `${base}...${head}`;
}

/**
 * Stores, in partition `repo`, the compare of every consecutive pair of successful deployments of
 * the stored `deployment` events of `repo@environment` that is not stored yet. The compare of two
 * shas never changes, so a stored one is never asked again (and needs no ETag); a redeploy of the
 * same sha is stored as an empty compare without a request. Each compare is stored once all its
 * pages are read, so a sync that dies midway repeats at most the one compare it was reading.
 */
export async function syncCompares(opts: CompareSyncOptions, repo: string, environment: string): Promise<SyncReport> {
  const { client, store } = opts;
  const perPage = opts.perPage ?? 100;
  const [owner, name] = repo.split('/') as [string, string];
  const stream = compareStreamOf(repo, environment);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  let stored = 0;

  const deployments = successfulDeployments(await store.getEvents('deployment', `${repo}@${environment}`));
  // Compares are kept per repository: two environments deploying the same pair share one.
  const known = new Set((await store.getEvents('compare', repo)).map((c) => c.id));

  let prev: string | null = null;
  for (const { sha: head } of deployments) {
    const base = prev;
    prev = head;
    if (base === null) continue;
    const id = compareId(base, head);
    if (known.has(id)) continue;
    const commits = base === head ? [] : await readCompare(base, head);
    const event: CompareEvent = { repo, id, base, head, commits };
    await store.putEvents(stream, 'compare', repo, [event]);
    known.add(id);
    stored++;
  }

  return { stream, requests: counter.requests, notModified: counter.notModified, stored, rateLimitRemaining: counter.rateLimitRemaining };

  async function readCompare(base: string, head: string): Promise<CompareEvent['commits']> {
    const route = '/repos/{owner}/{repo}/compare/{basehead}';
    const commits: CompareEvent['commits'] = [];
    let total = 0;
    for (let page = 1; ; page++) {
      const params = { owner, repo: name, basehead: `${base}...${head}`, per_page: perPage, page };
      const res = await conditionalGet<ApiCompare>(client, store, counter, route, params, false);
      if (res.notModified) throw new Error('unreachable: unconditional request answered 304');
      total = res.data.total_commits;
      for (const c of res.data.commits) commits.push({ sha: c.sha, committedAt: committedAt(c, res.url) });
      if (!hasNextPage(res.link) || res.data.commits.length === 0) {
        // A short list would make lead times wrong without a trace; the next sync asks again.
        if (commits.length !== total) {
          throw new SourceError(`GitHub GET ${res.url} listed ${commits.length} of total_commits ${total} commits; will retry`, 'github', true);
        }
        return commits;
      }
    }
  }
}

/**
 * METRICS.md uses `commit.committer.date` (when the change landed). The API types the git
 * committer as nullable; then the author date is the best we have rather than a stuck stream.
 */
function committedAt(c: ApiCompare['commits'][number], url: string): number {
  const date = c.commit.committer?.date ?? c.commit.author?.date;
  const ms = date === undefined ? NaN : Date.parse(date);
  if (Number.isNaN(ms)) {
    throw new SourceError(`GitHub GET ${url}: commit ${c.sha} has no committer or author date`, 'github', false);
  }
  return ms;
}
