// The simulated GitHub's GraphQL endpoint (`POST /graphql`): queries run with graphql-js against
// GitHub's real public schema (@octokit/graphql-schema), with resolvers for the part kr-tracker
// reads: `repository { deployments, pullRequest }`, `node`/`nodes` on deployments, deployment statuses
// and pull requests (with their `commits`), and
// `rateLimit`. Like GitHub (https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api):
// - every connection needs `first` or `last` (1..100), else MISSING_PAGINATION_BOUNDARIES /
//   EXCESSIVE_PAGINATION; a call may ask for at most 500,000 nodes;
// - a query costs the requests needed to fill its connections (a connection needs one request per
//   node of the connections above it; `nodes(ids:)` counts as a list of that many), divided by 100,
//   rounded, at least 1 point; a separate bucket of points per hour;
// - a spent bucket answers HTTP 200 with `errors: [{ type: "RATE_LIMITED" }]`;
// - `Deployment.databaseId` is a 32-bit Int, so ids past 2^31-1 fail with graphql-js's own
//   "Int cannot represent non 32-bit signed integer value" (as on GitHub).
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  buildSchema,
  executeSync,
  getArgumentValues,
  getNamedType,
  getVariableValues,
  GraphQLError,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { createRateWindow, credential } from '../../sim/index.js';
import { findRepo, type GithubDataset, type SimDeployment, type SimPull, type SimRepo, type SimStatus } from './dataset.js';

export const GRAPHQL_ROUTE = 'POST /graphql';
const DOCS = 'https://docs.github.com/graphql';
const MAX_NODES = 500_000;

let cachedSchema: GraphQLSchema | null = null;
/**
 * GitHub's schema, built on the first GraphQL request (~0.7 s) and kept. The SDL file is read
 * directly: importing the package would parse its 5 MB schema.json on every CLI start. The SDL
 * defines two fields twice, hence assumeValidSDL.
 */
export function githubGraphqlSchema(): GraphQLSchema {
  cachedSchema ??= buildSchema(readFileSync(new URL('./schema.graphql', import.meta.resolve('@octokit/graphql-schema')), 'utf8'), { assumeValidSDL: true });
  return cachedSchema;
}

/** GitHub's legacy global node id: base64("0<len>:<Type><id>") (same as the REST `node_id`). */
function nodeId(type: string, id: number | string): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}

function parseNodeId(id: string): { type: string; id: string } | null {
  const m = /^0(\d+):(.+)$/.exec(Buffer.from(id, 'base64').toString('utf8'));
  if (!m) return null;
  const len = Number(m[1]);
  const rest = m[2] as string;
  return { type: rest.slice(0, len), id: rest.slice(len) };
}

/** An error GitHub reports with a top-level `type`. */
class TypedError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface GraphqlCost {
  /** Requests needed to fill every connection. */
  requests: number;
  nodes: number;
  points: number;
}

/**
 * The rate-limit cost of an operation, or the pagination errors it has. Walks the selections with
 * their schema types (fragments inlined); a connection is a field whose type has `pageInfo`.
 */
export function queryCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  op: OperationDefinitionNode,
  variables: Record<string, unknown>,
): { cost: GraphqlCost; errors: TypedError[] } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const errors: TypedError[] = [];
  let requests = 0;
  let nodes = 0;
  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType, mult: number) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        if (t && isCompositeType(t)) walk(sel.selectionSet, t, mult);
        continue;
      }
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        const t = f ? schema.getType(f.typeCondition.name.value) : null;
        if (f && t && isCompositeType(t)) walk(f.selectionSet, t, mult);
        continue;
      }
      if (sel.name.value.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) continue;
      const def = parent.getFields()[sel.name.value];
      if (!def) continue;
      const type = getNamedType(def.type);
      const args = getArgumentValues(def, sel, variables);
      let childMult = mult;
      if (isObjectType(type) && type.getFields().pageInfo !== undefined) {
        const limit = (args.first ?? args.last) as number | null | undefined;
        if (limit === undefined || limit === null) {
          errors.push(new TypedError('MISSING_PAGINATION_BOUNDARIES', `You must provide a \`first\` or \`last\` value to properly paginate the \`${sel.name.value}\` connection.`));
          continue;
        }
        for (const k of ['first', 'last'] as const) {
          const v = args[k] as number | null | undefined;
          if (typeof v === 'number' && (v < 1 || v > 100)) {
            errors.push(
              new TypedError(
                'EXCESSIVE_PAGINATION',
                v > 100
                  ? `Requesting ${v} records on the \`${sel.name.value}\` connection exceeds the \`${k}\` limit of 100 records.`
                  : `\`${k}\` on the \`${sel.name.value}\` connection cannot be less than 1.`,
              ),
            );
          }
        }
        requests += mult;
        nodes += mult * limit;
        childMult = mult * limit;
      } else if (parent === schema.getQueryType() && sel.name.value === 'nodes' && Array.isArray(args.ids)) {
        childMult = mult * Math.max(1, args.ids.length);
      }
      if (sel.selectionSet && isCompositeType(type)) walk(sel.selectionSet, type, childMult);
    }
  };
  const root = op.operation === 'query' ? schema.getQueryType() : op.operation === 'mutation' ? schema.getMutationType() : null;
  if (root) walk(op.selectionSet, root, 1);
  if (nodes > MAX_NODES) errors.push(new TypedError('MAX_NODE_LIMIT_EXCEEDED', `This query requests up to ${nodes.toLocaleString('en-US')} possible nodes which exceeds the maximum limit of ${MAX_NODES.toLocaleString('en-US')}.`));
  return { cost: { requests, nodes, points: Math.max(1, Math.round(requests / 100)) }, errors };
}

/** Relay pagination over a list already in connection order; cursors encode the position. */
function connection<T, U>(items: readonly T[], args: Record<string, unknown>, map: (x: T) => U) {
  const cursor = (i: number) => Buffer.from(`cursor:v2:${i}`).toString('base64');
  const index = (c: unknown) => {
    const m = typeof c === 'string' ? /^cursor:v2:(\d+)$/.exec(Buffer.from(c, 'base64').toString('utf8')) : null;
    if (!m) throw new GraphQLError(`\`${String(c)}\` does not appear to be a valid cursor.`);
    return Number(m[1]);
  };
  let start = 0;
  let end = items.length;
  if (args.after !== undefined && args.after !== null) start = Math.max(start, index(args.after) + 1);
  if (args.before !== undefined && args.before !== null) end = Math.min(end, index(args.before));
  if (typeof args.first === 'number') end = Math.min(end, start + args.first);
  if (typeof args.last === 'number') start = Math.max(start, end - args.last);
  const idx = [];
  for (let i = start; i < end; i++) idx.push(i);
  return {
    totalCount: items.length,
    nodes: idx.map((i) => map(items[i] as T)),
    edges: idx.map((i) => ({ cursor: cursor(i), node: map(items[i] as T) })),
    pageInfo: {
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      startCursor: idx.length > 0 ? cursor(start) : null,
      endCursor: idx.length > 0 ? cursor(end - 1) : null,
    },
  };
}

const byNewest = (a: SimStatus, b: SimStatus) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id;

/** Fields a test made the simulator serve malformed (`corrupt('status', id, fields)`), by status id. */
type StatusOverrides = (id: number) => Record<string, unknown> | undefined;
let statusOverrides: StatusOverrides = () => undefined;

function statusObject(r: SimRepo, d: SimDeployment, s: SimStatus): Record<string, unknown> {
  const over = statusOverrides(s.id);
  return {
    __typename: 'DeploymentStatus',
    id: nodeId('DeploymentStatus', s.id),
    state: s.state.toUpperCase(),
    createdAt: over && 'created_at' in over ? over.created_at : s.created_at,
    updatedAt: s.created_at,
    description: s.description,
    environment: s.environment,
    deployment: () => deploymentObject(r, d),
  };
}

function deploymentObject(r: SimRepo, d: SimDeployment): Record<string, unknown> {
  // Newest first, as the REST list of statuses.
  const statuses = () => [...d.statuses].sort(byNewest);
  const latest = () => statuses()[0];
  return {
    __typename: 'Deployment',
    id: nodeId('Deployment', d.id),
    databaseId: d.id,
    commitOid: d.sha,
    environment: d.environment,
    originalEnvironment: d.environment,
    latestEnvironment: d.environment,
    createdAt: d.created_at,
    updatedAt: d.updated_at,
    description: d.description,
    task: 'deploy',
    payload: '{}',
    // A deployment whose latest status is success is ACTIVE; without a status it is PENDING.
    state: () => {
      const s = latest();
      return s === undefined ? 'PENDING' : s.state === 'success' ? 'ACTIVE' : s.state.toUpperCase();
    },
    latestStatus: () => {
      const s = latest();
      return s ? statusObject(r, d, s) : null;
    },
    statuses: (args: Record<string, unknown>) => connection(statuses(), args, (s) => statusObject(r, d, s)),
  };
}

/** A pull request; `commits` lists its own commits in PR order, at most 250 as on GitHub. */
function pullObject(r: SimRepo, p: SimPull): Record<string, unknown> {
  return {
    __typename: 'PullRequest',
    id: nodeId('PullRequest', p.id),
    databaseId: p.id,
    number: p.number,
    title: p.title,
    createdAt: p.created_at,
    updatedAt: p.updated_at,
    closedAt: p.closed_at,
    mergedAt: p.merged_at,
    merged: p.merged_at !== null,
    state: p.merged_at !== null ? 'MERGED' : p.state === 'open' ? 'OPEN' : 'CLOSED',
    baseRefName: p.base,
    headRefName: p.head,
    commits: (args: Record<string, unknown>) =>
      connection(p.commits.slice(0, 250), args, (c) => ({
        __typename: 'PullRequestCommit',
        id: nodeId('PullRequestCommit', `${p.id}:${c.sha}`),
        commit: { __typename: 'Commit', id: nodeId('Commit', `${r.fullName}:${c.sha}`), oid: c.sha, authoredDate: c.authorDate, committedDate: c.date, message: c.message },
      })),
  };
}

export interface GraphqlEndpointOptions {
  dataset: GithubDataset;
  token: string;
  now: () => number;
  /** Points per hour (GitHub: 5,000 for a user token). */
  rateLimit: number;
  /** Appends to the simulator's request log. */
  log: (entry: { method: string; path: string; status: number; route: string; ifNoneMatch: boolean; authorization: boolean; at: number; points?: number; body?: string }) => void;
  /** A pending injected failure status (the simulator's failNext), or null. */
  takeFailure: () => number | null;
  /** Whether a token may call the API (the user token, or an App installation's token). */
  authorized: (token: string) => boolean;
  /** Status fields served malformed (REST's `corrupt('status', ...)`; `created_at` maps to `createdAt`). */
  statusOverrides?: StatusOverrides;
  /** Repositories whose nodes answer FORBIDDEN (SAML enforcement); default none. */
  forbidden?: (repo: string) => boolean;
}

export interface GraphqlEndpoint {
  serve(req: IncomingMessage, res: ServerResponse): void;
  setRateLimit(limit: number, remaining?: number): void;
  /** The bucket as `GET /rate_limit` shows it under `resources.graphql`. */
  bucket(): { limit: number; used: number; remaining: number; reset: number };
}

export function createGraphqlEndpoint(opts: GraphqlEndpointOptions): GraphqlEndpoint {
  const { dataset, now } = opts;
  /** The points of the hour (a bucket of its own, as on GitHub); reset in epoch seconds. */
  const rate = createRateWindow({ limit: opts.rateLimit, windowMs: 3_600_000, now, unit: 's' });

  const guard = <H extends readonly [SimRepo, ...unknown[]]>(hit: H): H => {
    if (opts.forbidden?.(hit[0].fullName)) {
      throw new TypedError('FORBIDDEN', 'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.');
    }
    return hit;
  };
  /** Resolves node ids against the dataset as it is now (it changes live). */
  const lookupIn = () => {
    let deployments: Map<number, [SimRepo, SimDeployment]> | null = null;
    let statuses: Map<number, [SimRepo, SimDeployment, SimStatus]> | null = null;
    let pulls: Map<number, [SimRepo, SimPull]> | null = null;
    return (id: string): Record<string, unknown> => {
      const p = parseNodeId(id);
      if (p && /^\d+$/.test(p.id)) {
        if (p.type === 'Deployment') {
          deployments ??= new Map(dataset.repos.flatMap((r) => r.deployments.map((d) => [d.id, [r, d]] as const)));
          const hit = deployments.get(Number(p.id));
          if (hit) return deploymentObject(...guard(hit));
        }
        if (p.type === 'PullRequest') {
          pulls ??= new Map(dataset.repos.flatMap((r) => (r.pulls ?? []).map((x) => [x.id, [r, x]] as const)));
          const hit = pulls.get(Number(p.id));
          if (hit) return pullObject(...hit);
        }
        if (p.type === 'DeploymentStatus') {
          statuses ??= new Map(dataset.repos.flatMap((r) => r.deployments.flatMap((d) => d.statuses.map((s) => [s.id, [r, d, s]] as const))));
          const hit = statuses.get(Number(p.id));
          if (hit) return statusObject(...guard(hit));
        }
      }
      throw new TypedError('NOT_FOUND', `Could not resolve to a node with the global id of '${id}'`);
    };
  };

  const run = (query: string, variables: Record<string, unknown>, operationName: string | undefined): { body: Record<string, unknown>; points: number } => {
    const schema = githubGraphqlSchema();
    let doc: DocumentNode;
    try {
      doc = parse(query);
    } catch (err) {
      return { body: { errors: [(err as GraphQLError).toJSON()] }, points: 0 };
    }
    const invalid = validate(schema, doc);
    if (invalid.length > 0) return { body: { errors: invalid.map((e) => e.toJSON()) }, points: 0 };
    const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const op = operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
    if (!op) return { body: { errors: [{ message: `No operation named "${operationName}"` }] }, points: 0 };
    const coerced = getVariableValues(schema, op.variableDefinitions ?? [], variables);
    if (coerced.errors) return { body: { errors: coerced.errors.map((e) => e.toJSON()) }, points: 0 };
    const { cost, errors } = queryCost(schema, doc, op, coerced.coerced);
    if (errors.length > 0) return { body: { errors: errors.map((e) => ({ type: e.type, message: e.message })) }, points: 0 };
    if (cost.points > rate.remaining) {
      return { body: { errors: [{ type: 'RATE_LIMITED', code: 'graphql_rate_limit', message: `API rate limit already exceeded for user ID 41898282.` }] }, points: 0 };
    }
    rate.remaining -= cost.points;
    const lookup = lookupIn();
    const root = {
      repository: (args: { owner: string; name: string }) => {
        const r = findRepo(dataset, `${args.owner}/${args.name}`);
        if (!r) throw new TypedError('NOT_FOUND', `Could not resolve to a Repository with the name '${args.owner}/${args.name}'.`);
        return {
          __typename: 'Repository',
          nameWithOwner: r.fullName,
          name: args.name,
          pullRequest: (a: { number: number }) => {
            const hit = r.pulls?.find((x) => x.number === a.number);
            if (!hit) throw new TypedError('NOT_FOUND', `Could not resolve to a PullRequest with the number of ${a.number}.`);
            return pullObject(r, hit);
          },
          deployments: (a: { environments?: string[] | null; orderBy?: { field: string; direction: string } } & Record<string, unknown>) => {
            const envs = a.environments ?? null;
            const list = r.deployments
              .filter((d) => envs === null || envs.includes(d.environment))
              .sort((x, y) => Date.parse(x.created_at) - Date.parse(y.created_at) || x.id - y.id);
            if (a.orderBy?.direction === 'DESC') list.reverse();
            return connection(list, a, (d) => deploymentObject(r, d));
          },
        };
      },
      node: (args: { id: string }) => lookup(args.id),
      // An Error as a list item becomes null there plus an error with its path (graphql-js).
      nodes: (args: { ids: string[] }) =>
        args.ids.map((id) => {
          try {
            return lookup(id);
          } catch (err) {
            return err as Error;
          }
        }),
      rateLimit: () => ({ cost: cost.points, limit: rate.limit, nodeCount: cost.nodes, remaining: rate.remaining, resetAt: new Date(rate.resetAt * 1000).toISOString().replace('.000Z', 'Z'), used: rate.limit - rate.remaining }),
    };
    // executeSync runs the resolvers now: the overrides of this simulator hold for exactly them.
    statusOverrides = opts.statusOverrides ?? (() => undefined);
    let result: ReturnType<typeof executeSync>;
    try {
      result = executeSync({ schema, document: doc, rootValue: root, variableValues: coerced.coerced, operationName: op.name?.value });
    } finally {
      statusOverrides = () => undefined;
    }
    const body: Record<string, unknown> = { data: result.data ?? null };
    if (result.errors && result.errors.length > 0) {
      body.errors = result.errors.map((e) => {
        const typed = e.originalError instanceof TypedError ? { type: e.originalError.type } : {};
        return { ...typed, path: e.path, locations: e.locations, message: e.message };
      });
    }
    return { body, points: cost.points };
  };

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      rate.refresh();
      const authorization = req.headers.authorization !== undefined;
      const send = (status: number, body: unknown, points?: number) => {
        const payload = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(Buffer.byteLength(payload)),
          'x-github-media-type': 'github.v4; format=json',
          'x-ratelimit-limit': String(rate.limit),
          'x-ratelimit-remaining': String(rate.remaining),
          'x-ratelimit-used': String(rate.limit - rate.remaining),
          'x-ratelimit-reset': String(rate.resetAt),
          'x-ratelimit-resource': 'graphql',
        });
        res.end(payload);
        opts.log({ method: 'POST', path: req.url ?? '/graphql', status, route: GRAPHQL_ROUTE, ifNoneMatch: false, authorization, at: now(), ...(points !== undefined ? { points } : {}), body: Buffer.concat(chunks).toString('utf8') });
      };
      const failure = opts.takeFailure();
      if (failure !== null) return send(failure, { message: 'Server Error', documentation_url: DOCS });
      const auth = req.headers.authorization;
      const token = credential(auth, /^(?:token|bearer)\s+(\S+)\s*$/i);
      if (token === null || !opts.authorized(token)) {
        return send(401, { message: auth ? 'Bad credentials' : 'This endpoint requires you to be authenticated.', documentation_url: DOCS });
      }
      let input: { query?: unknown; variables?: unknown; operationName?: unknown };
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof input;
      } catch {
        return send(400, { message: 'Problems parsing JSON', documentation_url: DOCS });
      }
      if (typeof input.query !== 'string') return send(200, { errors: [{ message: 'A query attribute must be specified and must be a string.' }] }, 0);
      const variables = typeof input.variables === 'object' && input.variables !== null ? (input.variables as Record<string, unknown>) : {};
      const out = run(input.query, variables, typeof input.operationName === 'string' ? input.operationName : undefined);
      send(200, out.body, out.points);
    });
  };

  return {
    serve,
    setRateLimit: (l: number, rem?: number) => rate.set(l, rem),
    bucket: () => {
      rate.refresh();
      return { limit: rate.limit, used: rate.limit - rate.remaining, remaining: rate.remaining, reset: rate.resetAt };
    },
  };
}
