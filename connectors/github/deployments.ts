// GitHub deployments of one repository and environment, with their statuses, synced incrementally.
// REST: GET /repos/{owner}/{repo}/deployments (newest first, Link pagination) and
// GET /repos/{owner}/{repo}/deployments/{id}/statuses. https://docs.github.com/en/rest/deployments
import type { DeploymentEvent } from '../../src/store/events.js';
import type { Store, StreamKey } from '../../src/store/store.js';
import type { SyncReport } from '../types.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, type RequestCounter } from './conditional.js';

interface ApiDeployment {
  id: number;
  sha: string;
  environment: string;
  created_at: string;
}

interface ApiStatus {
  id: number;
  state: string;
  created_at: string;
}

/**
 * Where the last walk got to. `newestId`: every deployment with an id up to it is stored (set when
 * a walk completes). `walk`: a walk in progress (top = newest id at its start, next page to read),
 * so that a sync that died midway resumes where it stopped instead of starting over.
 */
export interface DeploymentsCursor {
  newestId: number | null;
  walk: { top: number; nextPage: number } | null;
}

export interface DeploymentsSyncOptions {
  client: GithubClient;
  store: Store;
  now: () => number;
  /**
   * Deployments younger than this, or whose last status is not final, get their statuses
   * re-read (conditionally: a 304 is free) because GitHub lets statuses be added at any time.
   */
  settleMs?: number;
  perPage?: number;
}

const FINAL = new Set(['success', 'failure', 'error']);

/** The most recent status by (created_at, id), ignoring `inactive` (see README, "Deviations"). */
export function latestStatus(statuses: readonly ApiStatus[]): ApiStatus | null {
  let best: ApiStatus | null = null;
  let bestAt = -Infinity;
  for (const s of statuses) {
    if (s.state === 'inactive') continue;
    const at = Date.parse(s.created_at);
    if (best === null || at > bestAt || (at === bestAt && s.id > best.id)) {
      best = s;
      bestAt = at;
    }
  }
  return best;
}

export function streamOf(repo: string, environment: string): StreamKey {
  return { source: 'github', stream: 'deployments', key: `${repo}@${environment}` };
}

export async function syncDeployments(
  opts: DeploymentsSyncOptions,
  repo: string,
  environment: string,
): Promise<SyncReport> {
  const { client, store, now } = opts;
  const settleMs = opts.settleMs ?? 3 * 86_400_000;
  const perPage = opts.perPage ?? 100;
  const [owner, name] = repo.split('/') as [string, string];
  const stream = streamOf(repo, environment);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  let stored = 0;

  const known = new Map((await store.getEvents('deployment', `${repo}@${environment}`)).map((e) => [e.id, e]));
  const settled = (e: DeploymentEvent) => e.state !== null && FINAL.has(e.state) && now() - e.createdAt > settleMs;
  const touched = new Set<number>();

  /** Reads a deployment's statuses; null when unchanged since the stored ETag (304). */
  const readStatuses = async (d: ApiDeployment, prev: DeploymentEvent | undefined) => {
    const route = '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
    const params = { owner, repo: name, deployment_id: d.id, per_page: 100 };
    const first = await conditionalGet<ApiStatus[]>(client, store, counter, route, params, prev !== undefined);
    if (first.notModified) return null;
    let statuses = first.data;
    if (hasNextPage(first.link)) {
      counter.requests++;
      statuses = await client.paginate(`GET ${route}`, params);
    }
    const latest = latestStatus(statuses);
    const event: DeploymentEvent = {
      repo,
      id: d.id,
      sha: d.sha,
      environment: d.environment,
      createdAt: Date.parse(d.created_at),
      state: latest?.state ?? null,
      statusAt: latest ? Date.parse(latest.created_at) : null,
      statusId: latest?.id ?? null,
    };
    return { event, etag: first.etag ? { url: first.url, etag: first.etag } : null };
  };

  const cursor: DeploymentsCursor = (await store.getCursor<DeploymentsCursor>(stream)) ?? { newestId: null, walk: null };
  const listRoute = '/repos/{owner}/{repo}/deployments';
  const listParams = (page: number) => ({ owner, repo: name, environment, per_page: perPage, page });
  // Page 1 is asked conditionally only between complete walks: its ETag is saved when a walk
  // ends, so a 304 means every deployment it lists is already stored.
  const first = await conditionalGet<ApiDeployment[]>(client, store, counter, listRoute, listParams(1), cursor.walk === null);

  if (!first.notModified) {
    const top = first.data[0]?.id ?? cursor.newestId ?? 0;
    let page = cursor.walk && cursor.walk.top === top ? cursor.walk.nextPage : 1;
    let res = first;
    if (page !== 1) {
      const r = await conditionalGet<ApiDeployment[]>(client, store, counter, listRoute, listParams(page), false);
      if (r.notModified) throw new Error('unreachable: unconditional request answered 304');
      res = r;
    }
    for (;;) {
      const events: DeploymentEvent[] = [];
      const etags: { url: string; etag: string }[] = [];
      let reachedKnown = false;
      for (const d of res.data) {
        if (cursor.newestId !== null && d.id <= cursor.newestId) reachedKnown = true;
        const prev = known.get(d.id);
        if (prev && settled(prev)) continue;
        touched.add(d.id);
        const read = await readStatuses(d, prev);
        if (!read) continue;
        events.push(read.event);
        if (read.etag) etags.push(read.etag);
      }
      const more = !reachedKnown && hasNextPage(res.link);
      await store.putEvents(stream, 'deployment', `${repo}@${environment}`, events, { ...cursor, walk: more ? { top, nextPage: page + 1 } : null });
      stored += events.length;
      for (const e of etags) await store.setEtag(e.url, e.etag);
      if (!more) break;
      page++;
      const r = await conditionalGet<ApiDeployment[]>(client, store, counter, listRoute, listParams(page), false);
      if (r.notModified) throw new Error('unreachable: unconditional request answered 304');
      res = r;
    }
    const done: DeploymentsCursor = { newestId: Math.max(top, cursor.newestId ?? 0), walk: null };
    await store.setCursor(stream, done);
    if (first.etag) await store.setEtag(first.url, first.etag);
  }

  // Statuses of recent or unfinished deployments that the walk did not reach.
  for (const prev of known.values()) {
    if (touched.has(prev.id) || settled(prev)) continue;
    const read = await readStatuses(
      { id: prev.id, sha: prev.sha, environment: prev.environment, created_at: new Date(prev.createdAt).toISOString() },
      prev,
    );
    if (!read) continue;
    await store.putEvents(stream, 'deployment', `${repo}@${environment}`, [read.event]);
    stored++;
    if (read.etag) await store.setEtag(read.etag.url, read.etag.etag);
  }

  return { stream, requests: counter.requests, notModified: counter.notModified, stored, rateLimitRemaining: counter.rateLimitRemaining };
}
