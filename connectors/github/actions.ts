// GitHub Actions runs of one workflow on one branch, synced incrementally.
// REST: GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs (newest first, Link
// pagination). https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow
//
// "This endpoint will return up to 1,000 results for each search when using the following
// parameters: actor, branch, check_suite_id, created, event, head_sha, status." We always filter
// by branch, so every listing is read as `created` ranges small enough to stay under that cap
// (../shared/TESTING.md): a range whose total_count reaches the cap is halved and asked again.
import { SourceError } from '../../src/core/errors.js';
import type { WorkflowRunEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { parseStreamOf, partitionOf, streams, type StreamKey } from '../../src/core/stream.js';
import type { SyncReport } from '../../src/core/connector.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, type RequestCounter } from './conditional.js';

const SEC = 1000;
const DAY = 86_400_000;
const ROUTE = '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs';

interface ApiRun {
  id: number;
  head_branch: string | null;
  head_sha: string;
  event: string;
  status: string | null;
  conclusion: string | null;
  created_at: string;
  updated_at: string;
  run_started_at?: string;
  run_attempt?: number;
}

interface ApiRunList {
  total_count: number;
  workflow_runs: ApiRun[];
}

/** One `created` range of a walk: [from, to] inclusive, second precision; `to` null: open-ended. */
interface Segment {
  from: number;
  to: number | null;
}

/**
 * Where the sync got to.
 * - `syncedThrough`: a walk that started at this instant completed; every run created before it
 *   is stored (as it was then: runs of the settle margin and unfinished ones are read again).
 * - `tail`: the open-ended range `created>=from` that ended the last walk and its total_count.
 *   The next walk asks the same URL page by page with ETags; when page 1 answers 304 the count
 *   is unchanged (it is part of every page), which says how many pages there are.
 * - `walk`: a walk in progress (its segment and the next page), so that a sync that died midway
 *   resumes there.
 */
export interface RunsCursor {
  syncedThrough: number | null;
  tail: { from: number; total: number } | null;
  walk: RunsWalk | null;
}

export interface RunsWalk {
  /** now() when the walk started. */
  end: number;
  /** Ranges from here on are read with ETags (they are asked again by the next sync). */
  tailStart: number;
  segment: Segment;
  page: number;
  /** total_count of the segment, from its last 200 answer (null before one). */
  total: number | null;
  /** Length of the last closed segment that fit under the cap (the next one tries twice that). */
  span: number;
}

export interface RunsSyncOptions {
  client: GithubClient;
  store: Store;
  now: () => number;
  /** How far back the first sync reads (default 180 days). */
  historyMs?: number;
  /**
   * Runs created this close to the last sync are read again (default 3 days): they may still be
   * running or be re-run (a re-run keeps the run id and moves `run_attempt`, `run_started_at`,
   * `updated_at` and the conclusion). Re-runs of older runs are not seen.
   */
  settleMs?: number;
  /** Unfinished stored runs younger than this are read again until they finish (GitHub stops runs after 35 days). */
  maxRunMs?: number;
  /** Page size (GitHub allows up to 100). */
  perPage?: number;
  /** GitHub's limit on filtered listings (1,000); lowered only in tests. */
  listCap?: number;
}

export function runsPartition(repo: string, workflow: string, branch: string): string {
  return partitionOf(streams.runs(repo, workflow, branch)).partition;
}

export function runsStreamOf(repo: string, workflow: string, branch: string): StreamKey {
  return streams.runs(repo, workflow, branch);
}

/** `owner/name/workflow@branch` -> its parts (src/core/stream.ts knows the spelling). */
export function parseRunsKey(key: string): { repo: string; workflow: string; branch: string } {
  const { repo, workflow, branch } = parseStreamOf({ source: 'github', stream: 'runs', key }, 'runs');
  return { repo, workflow, branch };
}

/** GitHub's search date syntax with an explicit offset, second precision. */
function isoUtc(ms: number): string {
  return new Date(Math.floor(ms / SEC) * SEC).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

function createdParam(s: Segment): string {
  return s.to === null ? `>=${isoUtc(s.from)}` : `${isoUtc(s.from)}..${isoUtc(s.to)}`;
}

function dayStart(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

/** Parse at the boundary: the fields the metrics rely on, or a clear error. */
function parseRunList(data: unknown, url: string): ApiRunList {
  const bad = (why: string) => new SourceError(`GitHub GET ${url} answered an unexpected body: ${why}`, 'github', false);
  if (typeof data !== 'object' || data === null) throw bad('not an object');
  const d = data as Partial<ApiRunList>;
  if (typeof d.total_count !== 'number' || !Array.isArray(d.workflow_runs)) throw bad('no total_count / workflow_runs');
  for (const r of d.workflow_runs) {
    if (typeof r?.id !== 'number' || Number.isNaN(Date.parse(r.created_at)) || Number.isNaN(Date.parse(r.updated_at))) {
      throw bad(`a run without id, created_at or updated_at: ${JSON.stringify(r).slice(0, 200)}`);
    }
  }
  return d as ApiRunList;
}

function sameRun(a: WorkflowRunEvent, b: WorkflowRunEvent): boolean {
  return (
    a.status === b.status &&
    a.conclusion === b.conclusion &&
    a.updatedAt === b.updatedAt &&
    a.runStartedAt === b.runStartedAt &&
    a.runAttempt === b.runAttempt &&
    a.createdAt === b.createdAt &&
    a.headSha === b.headSha &&
    a.branch === b.branch &&
    a.event === b.event
  );
}

export async function syncWorkflowRuns(opts: RunsSyncOptions, repo: string, workflow: string, branch: string): Promise<SyncReport> {
  const { client, store, now } = opts;
  const historyMs = opts.historyMs ?? 180 * DAY;
  const settleMs = opts.settleMs ?? 3 * DAY;
  const maxRunMs = opts.maxRunMs ?? 35 * DAY;
  const perPage = opts.perPage ?? 100;
  const cap = opts.listCap ?? 1000;
  const [owner, name] = repo.split('/') as [string, string];
  const stream = runsStreamOf(repo, workflow, branch);
  const partition = runsPartition(repo, workflow, branch);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  let stored = 0;

  const known = new Map((await store.getEvents('workflow_run', partition)).map((e) => [e.id, e]));
  const cursor: RunsCursor = (await store.getCursor<RunsCursor>(stream)) ?? { syncedThrough: null, tail: null, walk: null };

  let walk: RunsWalk;
  if (cursor.walk) {
    walk = cursor.walk;
  } else {
    const end = now();
    const oldest = dayStart(end - historyMs);
    let start = cursor.syncedThrough === null ? oldest : dayStart(cursor.syncedThrough - settleMs);
    // Runs stored unfinished finish later, however long ago they started: read from the oldest.
    for (const e of known.values()) {
      if (e.status !== 'completed' && e.createdAt >= end - maxRunMs) start = Math.min(start, dayStart(e.createdAt));
    }
    start = Math.max(start, oldest);
    // Keep the last open range's start while it is at most a day older than needed: the same URL
    // again, so an unchanged re-sync is a free 304 (the range moves on once a day).
    const prevTail = cursor.tail?.from;
    if (cursor.syncedThrough !== null && prevTail !== undefined && prevTail <= start && prevTail >= dayStart(end - settleMs) - DAY) start = prevTail;
    // Day-aligned, so that syncs of the same day ask the same URL and get 304s. A first sync reads
    // the history as closed ranges and the settle margin as the open tail; a later sync reads
    // everything since it last read (less the settle margin) as one open range: the next sync asks
    // the same URL, and a day of new runs costs one page, not one per range.
    const tailStart = cursor.syncedThrough === null ? Math.max(start, dayStart(end - settleMs)) : start;
    const segment: Segment = start < tailStart ? { from: start, to: tailStart - SEC } : { from: tailStart, to: null };
    walk = { end, tailStart, segment, page: 1, total: null, span: tailStart - start };
  }

  /** The segment after `s` (closed ones grow while they fit; the last one is open). */
  const advance = (w: RunsWalk, s: Segment): RunsWalk | null => {
    if (s.to === null) return null;
    const from = s.to + SEC;
    const span = s.to + SEC - s.from;
    if (from >= w.tailStart) return { ...w, segment: { from, to: null }, page: 1, total: null, span };
    return { ...w, segment: { from, to: Math.min(from + 2 * span, w.tailStart) - SEC }, page: 1, total: null, span };
  };

  /** Halves a segment whose listing reached the cap. */
  const split = (w: RunsWalk, s: Segment): RunsWalk => {
    const until = s.to === null ? Math.max(w.end, s.from + SEC) : s.to + SEC;
    const half = Math.floor((until - s.from) / 2 / SEC) * SEC;
    if (half < SEC) {
      throw new SourceError(
        `GitHub lists ${cap} or more runs of ${workflow} on ${branch} in ${repo} created within one second (${isoUtc(s.from)}); a created range cannot split them under the listing cap`,
        'github',
        false,
      );
    }
    return { ...w, segment: { from: s.from, to: s.from + half - SEC }, page: 1, total: null, span: half };
  };

  const finished = (w: RunsWalk, tail: Segment, total: number | null): RunsCursor => ({
    syncedThrough: w.end,
    tail: { from: tail.from, total: total ?? 0 },
    walk: null,
  });

  for (;;) {
    const seg = walk.segment;
    // The open tail is asked again by the next sync with the same URL: read it with ETags.
    const useEtag = seg.to === null;
    const params = (page: number) => ({ owner, repo: name, workflow_id: workflow, branch, created: createdParam(seg), per_page: perPage, page });
    let page = walk.page;
    let total = walk.total;
    let tooMany = false;
    for (;;) {
      let res = await conditionalGet<unknown>(client, store, counter, ROUTE, params(page), useEtag);
      if (res.notModified) {
        if (total === null && page === 1 && cursor.tail?.from === seg.from) total = cursor.tail.total;
        if (total !== null) {
          // Unchanged since stored; total_count (in every page) says whether pages follow.
          if (page * perPage >= total) break;
          page++;
          continue;
        }
        res = await conditionalGet<unknown>(client, store, counter, ROUTE, params(page), false);
        if (res.notModified) throw new Error('unreachable: unconditional request answered 304');
      }
      const body = parseRunList(res.data, res.url);
      if (body.total_count >= cap) {
        tooMany = true;
        break;
      }
      total = body.total_count;
      const events: WorkflowRunEvent[] = [];
      for (const r of body.workflow_runs) {
        const e: WorkflowRunEvent = {
          repo,
          id: r.id,
          workflow,
          branch: r.head_branch ?? branch,
          event: r.event,
          status: r.status ?? 'unknown',
          conclusion: r.conclusion ?? null,
          headSha: r.head_sha,
          createdAt: Date.parse(r.created_at),
          updatedAt: Date.parse(r.updated_at),
          runStartedAt: Date.parse(r.run_started_at ?? r.created_at),
          runAttempt: r.run_attempt ?? 1,
        };
        const prev = known.get(e.id);
        if (prev && sameRun(prev, e)) continue;
        events.push(e);
        known.set(e.id, e);
      }
      const more = hasNextPage(res.link);
      const next = more ? { ...walk, page: page + 1, total } : advance(walk, seg);
      // The page's runs and the cursor that points past them, in one write.
      await store.putEvents(stream, 'workflow_run', partition, events, next ? { ...cursor, walk: next } : finished(walk, seg, total));
      stored += events.length;
      if (useEtag && res.etag) await store.setEtag(res.url, res.etag);
      if (!more) break;
      page++;
    }
    if (tooMany) {
      walk = split(walk, seg);
      continue;
    }
    const next = advance(walk, seg);
    if (next === null) {
      // (Already written with the last page unless that page answered 304.)
      await store.setCursor(stream, finished(walk, seg, total));
      break;
    }
    walk = next;
  }

  return { stream, requests: counter.requests, notModified: counter.notModified, stored, rateLimitRemaining: counter.rateLimitRemaining };
}
