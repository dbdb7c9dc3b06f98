// GitHub deployments of one repository and environment, with their statuses, synced incrementally.
// REST: GET /repos/{owner}/{repo}/deployments (newest first, Link pagination) and
// GET /repos/{owner}/{repo}/deployments/{id}/statuses. https://docs.github.com/en/rest/deployments
// GraphQL: `nodes(ids:)` on the list's node ids, for the statuses of up to 100 new or changed
// deployments in one call (1 point instead of 100 REST requests), pooled with the other
// deployments streams syncing at the same time (node-batcher.ts); see docs/github-graphql.md.
import type { Logger } from 'pino';
import { z } from 'zod';
import { SourceError } from '../../src/core/errors.js';
import type { DeploymentEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { streams, type StreamKey } from '../../src/core/stream.js';
import type { SyncReport } from '../../src/core/connector.js';
import { mapPool } from '../kit/index.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, type RequestCounter } from './conditional.js';
import { databaseIdFromNodeId, graphqlQuery, RATE_LIMIT_FIELDS, type GraphqlCounter } from './graphql.js';
import { createNodeBatcher, type NodeBatcher } from './node-batcher.js';

/** GitHub's timestamps: ISO 8601 with a zone (`2026-11-20T10:00:00Z`). */
const timestamp = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'is not an ISO 8601 timestamp',
});

/** The fields of a listed deployment that the events rely on (parsed at the boundary). */
const apiDeployment = z.object({
  id: z.number().int().positive(),
  node_id: z.string().min(1),
  sha: z.string().min(1),
  environment: z.string(),
  created_at: timestamp,
  /** Moves when a status is added (the list's ETag with it): what tells a changed deployment. */
  updated_at: z.string().optional(),
});
type ApiDeployment = z.infer<typeof apiDeployment>;

const apiStatus = z.object({
  id: z.number().int().positive(),
  state: z.string().min(1),
  created_at: timestamp,
});
type ApiStatus = z.infer<typeof apiStatus>;

/**
 * Where the last walk got to. `newestId`: every deployment with an id up to it is stored (set when
 * a walk completes). `walk`: a walk in progress (top = newest id at its start, next page to read),
 * so that a sync that died midway resumes where it stopped instead of starting over.
 */
export interface DeploymentsCursor {
  newestId: number | null;
  walk: { top: number; nextPage: number } | null;
  /** `updated_at` (from the list) of each unsettled deployment when its statuses were read. */
  watch?: Record<string, string>;
  /** The oldest deployment id on page 1 at the last complete walk: a 304 on page 1 vouches for those from it up. */
  page1Oldest?: number | null;
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
  /** Warnings about items that were skipped (malformed); default: none logged. */
  logger?: Pick<Logger, 'warn'>;
  /**
   * Pools the statuses reads of the deployments streams syncing at once with this client
   * (`deploymentNodesBatcher`, one per credential); default: one of this sync's own.
   */
  batcher?: DeploymentNodesBatcher;
}

/** A SyncReport with what only this stream knows. */
export interface DeploymentsSyncReport extends SyncReport {
  /** GraphQL points spent (a separate bucket from REST's). */
  graphqlPoints: number;
  /** Malformed items that were skipped, each naming the deployment or status id and the problem. */
  skipped: string[];
}

const FINAL = new Set(['success', 'failure', 'error']);
/** Statuses asked per deployment in the batched GraphQL query; more are paged. */
const STATUSES_PER_DEPLOYMENT = 10;
/**
 * Status reads in flight at once within one page (the client's own pool caps the whole client at
 * its `concurrency`, 4 by default; GitHub advises few concurrent requests per token).
 */
const STATUS_READS_IN_FLIGHT = 4;

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
  return streams.deployments(repo, environment);
}

/** Parses list items one by one: a malformed one is reported and skipped, the others kept. */
function parseItems<T>(schema: z.ZodType<T>, items: unknown, what: string, where: string, skipped: string[]): T[] {
  if (!Array.isArray(items)) throw new SourceError(`${where} answered ${typeof items} instead of a list of ${what}es`, 'github', false);
  const out: T[] = [];
  for (const item of items) {
    const r = schema.safeParse(item);
    if (r.success) {
      out.push(r.data);
      continue;
    }
    const id = typeof item === 'object' && item !== null && 'id' in item ? JSON.stringify((item as { id: unknown }).id) : '(no id)';
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(item)'} ${i.message}${i.path.length > 0 ? ` (${JSON.stringify(pathValue(item, i.path))})` : ''}`).join('; ');
    skipped.push(`${where}: ${what} ${id} skipped: ${problems}`);
  }
  return out;
}

function pathValue(item: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = item;
  for (const k of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v ?? null;
}

const STATUSES_QUERY = `query($ids: [ID!]!, $n: Int!) {
  nodes(ids: $ids) { ... on Deployment { id statuses(first: $n) { pageInfo { hasNextPage endCursor } nodes { id state createdAt } } } }
  ${RATE_LIMIT_FIELDS}
}`;
const MORE_STATUSES_QUERY = `query($id: ID!, $after: String) {
  node(id: $id) { ... on Deployment { statuses(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id state createdAt } } } }
  ${RATE_LIMIT_FIELDS}
}`;

interface GqlStatuses {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: ({ id: string; state: string; createdAt: string } | null)[];
}

/** A deployment node as STATUSES_QUERY selects it. */
export interface GqlDeploymentNode {
  id: string;
  statuses: GqlStatuses | null;
}

export type DeploymentNodesBatcher = NodeBatcher<GqlDeploymentNode>;

/**
 * The batcher of deployment-status reads for one client (one credential): every deployments
 * stream syncing with it at the same time shares its `nodes(ids:)` calls, 100 ids (of any
 * repositories) to a point. Errors GitHub reports on one node go to that node's stream only.
 */
export function deploymentNodesBatcher(client: GithubClient, maxWaitMs?: number): DeploymentNodesBatcher {
  return createNodeBatcher<GqlDeploymentNode>({
    maxWaitMs,
    async query(ids) {
      const counter: GraphqlCounter = { requests: 0, points: 0, remaining: null };
      const { data, errors } = await graphqlQuery<{ nodes: (GqlDeploymentNode | null)[]; rateLimit: { cost: number; remaining: number } }>(
        client,
        counter,
        STATUSES_QUERY,
        { ids, n: STATUSES_PER_DEPLOYMENT },
        // Errors on one node (a deployment deleted since the list was read, a repository the
        // token no longer reads) belong to that node's stream, not to the whole query.
        (e) => e.path?.[0] === 'nodes' && typeof e.path[1] === 'number',
      );
      const results = ids.map((_, i) => ({ node: data.nodes?.[i] ?? null, errors: [] as { type?: string; message: string }[] }));
      for (const e of errors) {
        const i = e.path?.[1];
        if (typeof i === 'number' && results[i]) results[i].errors.push({ type: e.type, message: e.message });
      }
      return { results, points: counter.points };
    },
  });
}

export async function syncDeployments(opts: DeploymentsSyncOptions, repo: string, environment: string): Promise<DeploymentsSyncReport> {
  const nodes = (opts.batcher ?? deploymentNodesBatcher(opts.client)).join();
  try {
    return await syncJoined(opts, repo, environment, nodes);
  } finally {
    nodes.leave();
  }
}

async function syncJoined(opts: DeploymentsSyncOptions, repo: string, environment: string, nodes: ReturnType<DeploymentNodesBatcher['join']>): Promise<DeploymentsSyncReport> {
  const { client, store, now } = opts;
  const settleMs = opts.settleMs ?? 3 * 86_400_000;
  const perPage = opts.perPage ?? 100;
  const [owner, name] = repo.split('/') as [string, string];
  const stream = streamOf(repo, environment);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  const gql: GraphqlCounter = { requests: 0, points: 0, remaining: null };
  const skipped: string[] = [];
  let stored = 0;

  const known = new Map((await store.getEvents('deployment', `${repo}@${environment}`)).map((e) => [e.id, e]));
  const settled = (e: DeploymentEvent) => e.state !== null && FINAL.has(e.state) && now() - e.createdAt > settleMs;
  const touched = new Set<number>();

  const eventOf = (d: Pick<ApiDeployment, 'id' | 'sha' | 'environment' | 'created_at'>, statuses: readonly ApiStatus[]): DeploymentEvent => {
    const latest = latestStatus(statuses);
    return {
      repo,
      id: d.id,
      sha: d.sha,
      environment: d.environment,
      createdAt: Date.parse(d.created_at),
      state: latest?.state ?? null,
      statusAt: latest ? Date.parse(latest.created_at) : null,
      statusId: latest?.id ?? null,
    };
  };

  /** Reads a deployment's statuses over REST; null when unchanged since the stored ETag (304). */
  const readStatuses = async (d: Pick<ApiDeployment, 'id' | 'sha' | 'environment' | 'created_at'>, conditional: boolean) => {
    const route = '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
    const params = { owner, repo: name, deployment_id: d.id, per_page: 100 };
    const first = await conditionalGet<unknown>(client, store, counter, route, params, conditional);
    if (first.notModified) return null;
    let raw = first.data;
    if (hasNextPage(first.link)) {
      counter.requests++;
      raw = await client.paginate(`GET ${route}`, params);
    }
    const statuses = parseItems(apiStatus, raw, 'deployment status', `GitHub GET ${first.url}`, skipped);
    return { event: eventOf(d, statuses), etag: first.etag ? { url: first.url, etag: first.etag } : null };
  };

  /**
   * Statuses of up to 100 deployments in one GraphQL call, joined on the node id. A deployment
   * whose status ids cannot be read from their node ids (or that is gone) is left out: the caller
   * reads it over REST.
   */
  const readStatusesBatch = async (batch: readonly ApiDeployment[]): Promise<Map<number, DeploymentEvent>> => {
    const out = new Map<number, DeploymentEvent>();
    if (batch.length === 0) return out;
    const load = await nodes.load(batch.map((d) => d.node_id));
    gql.requests += load.queries;
    gql.points += load.points;
    for (const [i, r] of load.results.entries()) {
      const d = batch[i]!;
      // A deployment deleted since the list was read: NOT_FOUND on its slot (REST will say 404).
      // Any other error on its node is this stream's alone.
      const failure = r.errors.find((e) => e.type !== 'NOT_FOUND');
      if (failure) {
        throw new SourceError(`GitHub POST /graphql answered errors on deployment ${d.id} of ${repo}: ${failure.type ? `${failure.type}: ` : ''}${failure.message}`, 'github', false);
      }
      const node = r.errors.length > 0 ? null : r.node;
      if (!node || node.id !== d.node_id || !node.statuses) continue;
      const raw = [...node.statuses.nodes];
      let page = node.statuses.pageInfo;
      while (page.hasNextPage) {
        const more = await graphqlQuery<{ node: { statuses: GqlStatuses | null } | null; rateLimit: { cost: number; remaining: number } }>(client, gql, MORE_STATUSES_QUERY, {
          id: node.id,
          after: page.endCursor,
        });
        if (!more.data.node?.statuses) break;
        raw.push(...more.data.node.statuses.nodes);
        page = more.data.node.statuses.pageInfo;
      }
      if (page.hasNextPage) continue;
      const statuses: ApiStatus[] = [];
      let readable = true;
      for (const s of raw) {
        const id = s ? databaseIdFromNodeId(s.id, 'DeploymentStatus') : null;
        const parsed = s && id !== null ? apiStatus.safeParse({ id, state: typeof s.state === 'string' ? s.state.toLowerCase() : s.state, created_at: s.createdAt }) : null;
        if (!parsed?.success) {
          readable = false;
          break;
        }
        statuses.push(parsed.data);
      }
      if (!readable) continue;
      out.set(d.id, eventOf(d, statuses));
    }
    return out;
  };

  const cursor: DeploymentsCursor = (await store.getCursor<DeploymentsCursor>(stream)) ?? { newestId: null, walk: null };
  // `updated_at` of each unsettled deployment when its statuses were last read: GitHub moves it
  // when a status is added, so an unchanged value means nothing to read again.
  const watch = new Map<number, string>(Object.entries(cursor.watch ?? {}).map(([id, at]) => [Number(id), at]));
  const watchOf = () => Object.fromEntries([...watch].filter(([id]) => !isSettled(id)).map(([id, at]) => [String(id), at]));
  const isSettled = (id: number) => {
    const e = known.get(id);
    return e !== undefined && settled(e);
  };
  const listRoute = '/repos/{owner}/{repo}/deployments';
  const listParams = (page: number) => ({ owner, repo: name, environment, per_page: perPage, page });
  const listPage = async (page: number, conditional: boolean) => {
    const r = await conditionalGet<unknown>(client, store, counter, listRoute, listParams(page), conditional);
    if (r.notModified) return null;
    return { ...r, items: parseItems(apiDeployment, r.data, 'deployment', `GitHub GET ${r.url}`, skipped) };
  };
  // Page 1 is asked conditionally only between complete walks: its ETag is saved when a walk
  // ends, so a 304 means every deployment it lists, and every status of those, is as stored.
  const first = await listPage(1, cursor.walk === null);
  /** Deployments whose list entry was seen unchanged or read in this sync (not to re-check). */
  const seen = new Set<number>();
  let page1Oldest = cursor.page1Oldest ?? null;

  if (first) {
    const top = first.items[0]?.id ?? cursor.newestId ?? 0;
    page1Oldest = first.items.length > 0 ? Math.min(...first.items.map((d) => d.id)) : null;
    let page = cursor.walk && cursor.walk.top === top ? cursor.walk.nextPage : 1;
    let res = page === 1 ? first : await listPage(page, false);
    for (;;) {
      if (!res) throw new Error('unreachable: unconditional request answered 304');
      const events: DeploymentEvent[] = [];
      const etags: { url: string; etag: string }[] = [];
      let reachedKnown = false;
      const toRead: ApiDeployment[] = [];
      for (const d of res.items) {
        if (cursor.newestId !== null && d.id <= cursor.newestId) reachedKnown = true;
        seen.add(d.id);
        const prev = known.get(d.id);
        if (prev && settled(prev)) continue;
        // Known and not moved since its statuses were read: nothing new to read.
        if (prev && d.updated_at !== undefined && watch.get(d.id) === d.updated_at) continue;
        touched.add(d.id);
        toRead.push(d);
      }
      // New and changed deployments: their statuses over GraphQL, 100 to a point; the few that
      // GraphQL cannot give (unreadable node ids, gone) over REST. The reads of one page go out
      // together (bounded), and are stored with the page's cursor, in the page's order.
      // The batcher pools them with the other deployments streams syncing now (100 ids a query).
      const batchRead = await readStatusesBatch(toRead);
      const viaRest: ApiDeployment[] = [];
      for (const d of toRead) {
        const e = batchRead.get(d.id);
        // An unsettled deployment past page 1 is re-checked over REST in later syncs (page 1's
        // ETag does not cover it): read it there now, so those re-checks are free 304s.
        if (e && (page === 1 || settled(e))) events.push(e);
        else viaRest.push(d);
      }
      for (const read of await mapPool(viaRest, STATUS_READS_IN_FLIGHT, (d) => readStatuses(d, false))) {
        if (!read) continue;
        events.push(read.event);
        if (read.etag) etags.push(read.etag);
      }
      const listed = new Map(res.items.map((d) => [d.id, d]));
      for (const e of events) {
        known.set(e.id, e);
        const at = listed.get(e.id)?.updated_at;
        if (at !== undefined && !settled(e)) watch.set(e.id, at);
        else watch.delete(e.id);
      }
      const more = !reachedKnown && hasNextPage(res.link);
      await store.putEvents(stream, 'deployment', `${repo}@${environment}`, events, { ...cursor, watch: watchOf(), walk: more ? { top, nextPage: page + 1 } : null });
      stored += events.length;
      for (const e of etags) await store.setEtag(e.url, e.etag);
      if (!more) break;
      page++;
      res = await listPage(page, false);
    }
    const done: DeploymentsCursor = { newestId: Math.max(top, cursor.newestId ?? 0), walk: null, watch: watchOf(), page1Oldest };
    await store.setCursor(stream, done);
    if (first.etag) await store.setEtag(first.url, first.etag);
  } else if (page1Oldest !== null) {
    // Page 1 unchanged: every deployment on it is as it was.
    for (const id of known.keys()) if (id >= page1Oldest) seen.add(id);
  }

  // Unsettled deployments that page 1 no longer shows (rare: a deployment left pending while more
  // than a page of newer ones came): re-read over REST, conditionally (a 304 is free).
  // Each is stored as soon as it is read (a crash loses none already read; the rest are re-read).
  const pending = [...known.values()].filter((prev) => !touched.has(prev.id) && !seen.has(prev.id) && !settled(prev));
  await mapPool(pending, STATUS_READS_IN_FLIGHT, async (prev) => {
    const read = await readStatuses({ id: prev.id, sha: prev.sha, environment: prev.environment, created_at: new Date(prev.createdAt).toISOString() }, true);
    if (!read) return;
    await store.putEvents(stream, 'deployment', `${repo}@${environment}`, [read.event]);
    stored++;
    if (read.etag) await store.setEtag(read.etag.url, read.etag.etag);
  });

  for (const s of skipped) opts.logger?.warn({ stream: stream.key }, s);
  return {
    stream,
    requests: counter.requests + gql.requests,
    notModified: counter.notModified,
    stored,
    rateLimitRemaining: counter.rateLimitRemaining,
    graphqlPoints: gql.points,
    skipped,
  };
}
