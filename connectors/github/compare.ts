// The commits between consecutive successful deployments of one repository and environment, for
// lead time for changes (METRICS.md): what GET /repos/{owner}/{repo}/compare/{base}...{head} lists
// (https://docs.github.com/en/rest/commits/commits#compare-two-commits). They are computed from the
// default branch's history (./history.ts: about one request per 100 commits, once), and compare is
// asked only for a pair the history cannot connect (docs/lead-time.md).
// Without `per_page`/`page` GitHub lists only the last 250 commits and sends no `Link`, and
// `octokit.paginate` on it repeats them (../shared/TESTING.md), so pages are asked explicitly.
import { SourceError } from '../../src/core/errors.js';
import { successfulDeployments } from '../../src/core/deployments.js';
import type { CompareEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { streams, type StreamKey } from '../../src/core/stream.js';
import type { SyncReport } from '../../src/core/connector.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, type RequestCounter } from './conditional.js';
import { changesBetween, committedAt, generationsOf, syncHistory } from './history.js';

interface ApiCompare {
  total_commits: number;
  commits: { sha: string; commit: { committer: { date?: string } | null; author: { date?: string } | null } }[];
}

export interface CompareSyncOptions {
  client: GithubClient;
  store: Store;
  now: () => number;
  /** Commits per compare and history page (GitHub allows up to 100). */
  perPage?: number;
  /**
   * `history` (default): from the branch history, compare only where it does not connect;
   * `compare`: one compare per pair (the former way; tests check both agree).
   */
  mode?: 'history' | 'compare';
  /** How far before the oldest deployment the history is listed (default 14 days). */
  historyMarginMs?: number;
  /** Told how many pairs needed a compare because the history did not connect them. */
  onFallback?: (pairs: string[]) => void;
  /**
   * The earliest instant a key result reading this stream evaluates (`compareFrom`): only pairs
   * whose head was deployed from then on are computed (with the pair before, and back across
   * rollbacks), and the history is listed from there. Older pairs are computed when a later call
   * asks for an earlier `from` (`krt backfill`). Default: every pair.
   */
  from?: number | null;
}

export function compareStreamOf(repo: string, environment: string): StreamKey {
  return streams.compare(repo, environment);
}

/** The id of the compare between two deployed shas, as stored: `${base}...${head}`. */
export function compareId(base: string, head: string): string {
  return `${base}...${head}`;
}

/**
 * Stores, in partition `repo`, the compare of every consecutive pair of successful deployments of
 * the stored `deployment` events of `repo@environment` that is not stored yet. The compare of two
 * shas never changes, so a stored one is never computed again; a redeploy of the same sha is stored
 * as an empty compare. Pairs are computed from the default branch's history (listed when a pair is
 * missing: a free 304 when the branch did not move); a pair the history does not connect (a sha not
 * on the branch, a force-pushed history listed after the fact, commits older than the listing) is
 * asked from compare. Each result is stored on its own, so a sync that dies midway repeats little.
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

  // The first deployment that is a base of a needed pair: the one before the first deployed from
  // `from` on, moved back to the first deployment of any sha deployed again since (a rollback:
  // what a commit counts once at depends on the pairs before it; src/metrics/lead-time.ts).
  let start = 0;
  if (opts.from !== undefined && opts.from !== null) {
    const from = opts.from;
    const firstIn = deployments.findIndex((d) => d.deployedAt >= from);
    start = firstIn < 0 ? Math.max(0, deployments.length - 1) : Math.max(0, firstIn - 1);
    const firstSeen = new Map<string, number>();
    deployments.forEach((d, i) => {
      if (!firstSeen.has(d.sha)) firstSeen.set(d.sha, i);
    });
    for (let moved = true; moved; ) {
      moved = false;
      for (let i = start; i < deployments.length; i++) {
        const f = firstSeen.get(deployments[i]!.sha)!;
        if (f < start) {
          start = f;
          moved = true;
        }
      }
    }
  }

  const missing: { base: string; head: string; baseAt: number }[] = [];
  let prev: { sha: string; deployedAt: number } | null = null;
  for (const [i, d] of deployments.entries()) {
    const base = prev;
    prev = d;
    if (base === null || i <= start) continue;
    const id = compareId(base.sha, d.sha);
    if (known.has(id)) continue;
    known.add(id);
    missing.push({ base: base.sha, head: d.sha, baseAt: base.deployedAt });
  }

  const changed = missing.filter((p) => p.base !== p.head);
  let between: ((base: string, head: string) => CompareEvent['commits'] | null) | null = null;
  if ((opts.mode ?? 'history') === 'history' && changed.length > 0) {
    const since = Math.min(...changed.map((p) => p.baseAt)) - (opts.historyMarginMs ?? 14 * 86_400_000);
    const history = await syncHistory({ client, store, counter, perPage }, repo, since);
    stored += history.stored;
    const generations = generationsOf(history.graph);
    between = (base, head) => changesBetween(history.graph, generations, base, head);
  }
  const fallbacks: string[] = [];
  for (const { base, head } of missing) {
    let commits: CompareEvent['commits'] | null = base === head ? [] : (between?.(base, head) ?? null);
    if (commits === null) {
      if (between !== null) fallbacks.push(compareId(base, head));
      commits = await readCompare(base, head);
    }
    const event: CompareEvent = { repo, id: compareId(base, head), base, head, commits };
    await store.putEvents(stream, 'compare', repo, [event]);
    stored++;
  }
  if (fallbacks.length > 0) opts.onFallback?.(fallbacks);

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
