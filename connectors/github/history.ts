// A repository's default-branch history with parents, listed once and then incrementally, and the
// commits between two deployed shas computed from it: what `compare/{base}...{head}` would list
// (commits reachable from head and not from base, merge commits and merged branches included),
// without one request per pair. docs/lead-time.md explains the costs and when compare is still used.
// REST: GET /repos/{owner}/{repo}/commits https://docs.github.com/en/rest/commits/commits#list-commits
import { SourceError } from '../../src/core/errors.js';
import type { CommitEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { streams, type StreamKey } from '../../src/core/stream.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, type RequestCounter } from './conditional.js';

interface ApiListedCommit {
  sha: string;
  parents: { sha: string }[];
  commit: { committer: { date?: string } | null; author: { date?: string } | null };
}

/**
 * The listing the stored commits come from: `since` (ISO) is the `since` parameter, fixed so that
 * page 1 keeps one URL and its ETag answers a free 304 while the branch does not move; `head` is
 * the newest commit listed.
 */
export interface HistoryCursor {
  since: string;
  head: string | null;
}

/** Where the history's cursor lives (not a planned stream: the compare streams keep it current). */
export function historyStreamOf(repo: string): StreamKey {
  return streams.history(repo);
}

export interface HistorySyncOptions {
  client: GithubClient;
  store: Store;
  counter: RequestCounter;
  /** Commits per page (GitHub allows up to 100). */
  perPage?: number;
  /**
   * Pages an incremental listing reads at most (default 10). Commits it leaves out are parents
   * missing from the graph: the pairs that need them fall back to compare.
   */
  maxIncrementalPages?: number;
}

/** The stored commits of a repository by sha. */
export type CommitGraph = Map<string, CommitEvent>;

/**
 * Brings the stored history of `repo`'s default branch up to date and returns it. The first time
 * it lists every commit since `sinceMs`, 100 a page; when older commits are needed later, only the
 * older range (`since` = the new start, `until` = the former one). Otherwise page 1 is asked with
 * the ETag of the last listing (a 304 when the branch did not move) and only as many pages are read
 * as hold the new commits: until every parent of a new commit is known.
 */
export async function syncHistory(opts: HistorySyncOptions, repo: string, sinceMs: number): Promise<{ graph: CommitGraph; stored: number }> {
  const { client, store, counter } = opts;
  const perPage = opts.perPage ?? 100;
  const [owner, name] = repo.split('/') as [string, string];
  const stream = historyStreamOf(repo);
  const graph: CommitGraph = new Map((await store.getEvents('commit', repo)).map((c) => [c.id, c]));
  const cursor = await store.getCursor<HistoryCursor>(stream);
  const wanted = new Date(Math.floor(sinceMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const full = cursor === null;
  const extend = cursor !== null && sinceMs < Date.parse(cursor.since);
  const since = cursor === null || extend ? wanted : cursor.since;
  const route = '/repos/{owner}/{repo}/commits';
  const params = (page: number, until?: string) => ({ owner, repo: name, since, ...(until ? { until } : {}), per_page: perPage, page });

  // Parents that an earlier listing left out (older than `since`): no reason to read on for them.
  const missing = new Set<string>();
  for (const c of graph.values()) for (const p of c.parents) if (!graph.has(p)) missing.add(p);

  let stored = 0;
  if (extend) {
    // The older range alone; what is newer than the former start is stored already.
    for (let page = 1; ; page++) {
      const r = await conditionalGet<ApiListedCommit[]>(client, store, counter, route, params(page, cursor.since), false);
      if (r.notModified) throw new Error('unreachable: unconditional request answered 304');
      const events = r.data.map((c): CommitEvent => ({ repo, id: c.sha, parents: c.parents.map((p) => p.sha), committedAt: committedAt(c, r.url) }));
      for (const e of events) graph.set(e.id, e);
      if (events.length > 0) await store.putEvents(stream, 'commit', repo, events);
      stored += events.length;
      if (!hasNextPage(r.link) || r.data.length === 0) break;
    }
    await store.setCursor(stream, { since, head: cursor.head } satisfies HistoryCursor);
    missing.clear();
    for (const c of graph.values()) for (const p of c.parents) if (!graph.has(p)) missing.add(p);
  }

  const first = await conditionalGet<ApiListedCommit[]>(client, store, counter, route, params(1), !full);
  if (first.notModified) return { graph, stored };
  const pending = new Set<string>();
  let res = first;
  for (let page = 1; ; ) {
    const events: CommitEvent[] = [];
    for (const c of res.data) {
      pending.delete(c.sha);
      const known = graph.get(c.sha);
      const event: CommitEvent = { repo, id: c.sha, parents: c.parents.map((p) => p.sha), committedAt: committedAt(c, res.url) };
      if (known && known.committedAt === event.committedAt && known.parents.join() === event.parents.join()) continue;
      events.push(event);
      graph.set(c.sha, event);
      for (const p of event.parents) if (!graph.has(p) && !missing.has(p)) pending.add(p);
    }
    if (events.length > 0) await store.putEvents(stream, 'commit', repo, events);
    stored += events.length;
    // Incrementally, the new commits are complete once none of their parents is still unknown.
    if (!hasNextPage(res.link) || res.data.length === 0 || (!full && (pending.size === 0 || page >= (opts.maxIncrementalPages ?? 10)))) break;
    page++;
    const next = await conditionalGet<ApiListedCommit[]>(client, store, counter, route, params(page), false);
    if (next.notModified) throw new Error('unreachable: unconditional request answered 304');
    res = next;
  }
  const done: HistoryCursor = { since, head: first.data[0]?.sha ?? cursor?.head ?? null };
  await store.setCursor(stream, done);
  if (first.etag) await store.setEtag(first.url, first.etag);
  return { graph, stored };
}

/**
 * The commits reachable from `head` and not from `base` over the stored graph, in the order
 * GitHub's compare lists them (chronological: the reverse of `git log base..head`), or null when
 * the graph cannot tell: either sha is not in it, or the walk from head reaches a commit whose
 * parents were not listed (older than the listed range). Then the caller asks compare.
 *
 * The walk visits commits by generation (1 + the highest generation of the parents in the graph),
 * highest first, so that a commit is taken only once every descendant that could mark it as
 * reachable from `base` has been seen; it stops when nothing reachable from head alone is left in
 * the queue. It relies, as `git log --since` does, on committer dates not decreasing from parent
 * to child across the listing's lower edge.
 */
export function changesBetween(graph: CommitGraph, generations: Map<string, number>, base: string, head: string): { sha: string; committedAt: number }[] | null {
  if (!graph.has(base) || !graph.has(head)) return null;
  const OUT = 1;
  const IN = 2;
  const flag = new Map<string, number>();
  const queue = new Heap<string>((a, b) => (generations.get(a) ?? 0) > (generations.get(b) ?? 0));
  let inQueued = 0;
  flag.set(base, OUT);
  queue.push(base);
  if (head !== base) {
    flag.set(head, IN);
    queue.push(head);
    inQueued++;
  }
  const result = new Set<string>();
  while (inQueued > 0) {
    const sha = queue.pop() as string;
    const c = graph.get(sha) as CommitEvent;
    if (flag.get(sha) === OUT) {
      for (const p of c.parents) {
        if (!graph.has(p)) continue;
        const f = flag.get(p);
        if (f === OUT) continue;
        flag.set(p, OUT);
        if (f === IN) inQueued--;
        else queue.push(p);
      }
      continue;
    }
    inQueued--;
    result.add(sha);
    for (const p of c.parents) {
      if (!graph.has(p)) return null;
      if (flag.has(p)) continue;
      flag.set(p, IN);
      queue.push(p);
      inQueued++;
    }
  }
  return chronological(graph, head, result);
}

/** Generation numbers of the graph: 1 + the highest of the parents in it (0 for parents outside). */
export function generationsOf(graph: CommitGraph): Map<string, number> {
  const gen = new Map<string, number>();
  for (const start of graph.keys()) {
    if (gen.has(start)) continue;
    // Iterative post-order: histories are deeper than the call stack.
    const stack: string[] = [start];
    while (stack.length > 0) {
      const sha = stack[stack.length - 1] as string;
      if (gen.has(sha)) {
        stack.pop();
        continue;
      }
      const parents = (graph.get(sha) as CommitEvent).parents.filter((p) => graph.has(p));
      const todo = parents.filter((p) => !gen.has(p));
      if (todo.length > 0) {
        stack.push(...todo);
        continue;
      }
      gen.set(sha, 1 + Math.max(0, ...parents.map((p) => gen.get(p) as number)));
      stack.pop();
    }
  }
  return gen;
}

/** `git log` order (newest committer date first, equal dates as reached) of `set` from head, reversed. */
function chronological(graph: CommitGraph, head: string, set: Set<string>): { sha: string; committedAt: number }[] {
  let arrivals = 0;
  const order = new Map<string, number>();
  const queue = new Heap<string>((a, b) => {
    const da = (graph.get(a) as CommitEvent).committedAt;
    const db = (graph.get(b) as CommitEvent).committedAt;
    return da > db || (da === db && (order.get(a) as number) < (order.get(b) as number));
  });
  const push = (sha: string) => {
    if (!set.has(sha) || order.has(sha)) return;
    order.set(sha, arrivals++);
    queue.push(sha);
  };
  push(head);
  const out: { sha: string; committedAt: number }[] = [];
  for (let sha = queue.pop(); sha !== undefined; sha = queue.pop()) {
    const c = graph.get(sha) as CommitEvent;
    out.push({ sha, committedAt: c.committedAt });
    for (const p of c.parents) push(p);
  }
  return out.reverse();
}

/** A binary heap; `before(a, b)`: a comes out first. */
class Heap<T> {
  readonly #items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  push(x: T): void {
    const h = this.#items;
    h.push(x);
    for (let i = h.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!this.before(h[i] as T, h[up] as T)) break;
      [h[i], h[up]] = [h[up] as T, h[i] as T];
      i = up;
    }
  }

  pop(): T | undefined {
    const h = this.#items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l] as T, h[m] as T)) m = l;
        if (r < h.length && this.before(h[r] as T, h[m] as T)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as T, h[i] as T];
        i = m;
      }
    }
    return top;
  }
}

/** METRICS.md uses `commit.committer.date`; the API types it nullable: then the author date. */
export function committedAt(c: { sha: string; commit: { committer: { date?: string } | null; author: { date?: string } | null } }, url: string): number {
  const date = c.commit.committer?.date ?? c.commit.author?.date;
  const ms = date === undefined ? NaN : Date.parse(date);
  if (Number.isNaN(ms)) {
    throw new SourceError(`GitHub GET ${url}: commit ${c.sha} has no committer or author date`, 'github', false);
  }
  return ms;
}
