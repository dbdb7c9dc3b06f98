// GitHub GraphQL calls through the Octokit client (`client.graphql`), with their cost counted and
// their failures turned into the typed errors the workers act on.
// https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api
import { RateLimitError, SourceError } from '../../src/core/errors.js';
import type { GithubClient } from './client.js';
import { toSourceError } from './conditional.js';

export interface GraphqlCounter {
  /** GraphQL POSTs made. */
  requests: number;
  /** Points they cost (`rateLimit { cost }`, which every query asks for). */
  points: number;
  /** What remains of the GraphQL bucket (separate from REST's), when known. */
  remaining: number | null;
}

interface GraphqlErrorLike {
  message: string;
  status?: number;
  /** @octokit/graphql's GraphqlResponseError: the `errors` array, partial `data`, headers. */
  errors?: { type?: string; message: string; path?: (string | number)[] }[];
  data?: unknown;
  headers?: Record<string, string | number | undefined>;
  /** Thrown by plugin-throttling for RATE_LIMITED and by @octokit/request for HTTP errors. */
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** Appended to every query so that its cost is known. */
export const RATE_LIMIT_FIELDS = 'rateLimit { cost remaining resetAt }';

export interface GraphqlResult<T> {
  data: T;
  /** Errors GitHub reported next to partial data that the caller said it can live with. */
  errors: { type?: string; message: string; path?: (string | number)[] }[];
}

/**
 * Runs a query that selects `rateLimit { cost remaining resetAt }` at its top level.
 * `tolerate` decides which reported errors still leave the (partial) data usable, e.g. NOT_FOUND
 * for one id of `nodes(ids:)`; any other error throws. A spent bucket (HTTP 200 with
 * `errors: [{ type: "RATE_LIMITED" }]`), a 429 or a rate-limit 403 becomes a RateLimitError with
 * the reset time.
 */
export async function graphqlQuery<T extends { rateLimit?: { cost: number; remaining: number } | null }>(
  client: GithubClient,
  counter: GraphqlCounter,
  query: string,
  variables: Record<string, unknown>,
  tolerate: (error: { type?: string; path?: (string | number)[] }) => boolean = () => false,
): Promise<GraphqlResult<T>> {
  counter.requests++;
  const where = `GitHub POST /graphql`;
  let data: T;
  let errors: GraphqlResult<T>['errors'] = [];
  try {
    data = await client.graphql<T>(query, variables);
  } catch (err) {
    // The client's own verdicts (rate limit with its reset, timeout, auth) travel as they are.
    if (err instanceof SourceError) throw err;
    const e = err as GraphqlErrorLike;
    const headers = e.headers ?? e.response?.headers ?? {};
    const body = (e.response?.data ?? {}) as { errors?: GraphqlErrorLike['errors'] };
    const reported = e.errors ?? body.errors ?? [];
    if (reported.some((x) => x.type === 'RATE_LIMITED')) {
      const reset = Number(headers['x-ratelimit-reset']);
      const resetAt = Number.isFinite(reset) && reset > 0 ? reset * 1000 : Date.now() + 60_000;
      counter.remaining = 0;
      throw new RateLimitError(`${where}: GraphQL rate limit exceeded until ${new Date(resetAt).toISOString()} (${reported[0]?.message ?? e.message})`, 'github', resetAt);
    }
    if (e.status !== undefined) {
      const remaining = String(headers['x-ratelimit-remaining'] ?? '');
      const retryAfter = Number(headers['retry-after']);
      if (e.status === 429 || (e.status === 403 && (remaining === '0' || retryAfter > 0))) {
        const reset = Number(headers['x-ratelimit-reset']);
        const resetAt = retryAfter > 0 ? Date.now() + retryAfter * 1000 : reset > 0 ? reset * 1000 : Date.now() + 60_000;
        throw new RateLimitError(`${where}: rate limit exceeded until ${new Date(resetAt).toISOString()} (${e.message})`, 'github', resetAt);
      }
      throw toSourceError(e, '/graphql');
    }
    if (e.errors !== undefined && e.data !== undefined && e.data !== null && e.errors.every(tolerate)) {
      data = e.data as T;
      errors = e.errors;
    } else if (e.errors !== undefined) {
      const what = e.errors.slice(0, 3).map((x) => `${x.type ? `${x.type}: ` : ''}${x.message}`).join('; ');
      throw new SourceError(`${where} answered errors: ${what}`, 'github', false);
    } else {
      throw new SourceError(`${where} failed: ${e.message}; will retry`, 'github', true);
    }
  }
  if (data.rateLimit) {
    counter.points += data.rateLimit.cost;
    counter.remaining = data.rateLimit.remaining;
  }
  return { data, errors };
}

/**
 * The REST database id inside a GraphQL node id of `type`, or null when it cannot be read. Needed
 * where GraphQL offers no `databaseId` (DeploymentStatus). GitHub documents node ids as opaque; the
 * caller must fall back to REST on null. Two formats exist
 * (https://docs.github.com/en/graphql/guides/migrating-graphql-global-node-ids): the legacy
 * base64("0<len>:<Type><id>"), and `<PREFIX>_` + base64url(MessagePack array) whose last element is
 * the database id.
 */
export function databaseIdFromNodeId(nodeId: string, type: string): number | null {
  const legacy = /^0(\d+):(.+)$/.exec(Buffer.from(nodeId, 'base64').toString('latin1'));
  if (legacy && Number(legacy[1]) === type.length && legacy[2]!.startsWith(type)) {
    const rest = legacy[2]!.slice(type.length);
    return /^\d{1,15}$/.test(rest) ? Number(rest) : null;
  }
  const m = /^[A-Z]+_([A-Za-z0-9_-]+)$/.exec(nodeId);
  if (!m) return null;
  const ints = msgpackIntArray(Buffer.from(m[1]!, 'base64url'));
  const last = ints?.at(-1);
  return last !== undefined && Number.isSafeInteger(last) && last > 0 ? last : null;
}

/** A MessagePack array of non-negative integers (all that node ids hold), or null. */
function msgpackIntArray(buf: Buffer): number[] | null {
  if (buf.length === 0) return null;
  const head = buf[0]!;
  let n: number;
  let at = 1;
  if (head >= 0x90 && head <= 0x9f) n = head - 0x90;
  else if (head === 0xdc && buf.length >= 3) {
    n = buf.readUInt16BE(1);
    at = 3;
  } else return null;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (at >= buf.length) return null;
    const b = buf[at]!;
    if (b <= 0x7f) {
      out.push(b);
      at += 1;
    } else if (b === 0xcc && at + 2 <= buf.length) {
      out.push(buf.readUInt8(at + 1));
      at += 2;
    } else if (b === 0xcd && at + 3 <= buf.length) {
      out.push(buf.readUInt16BE(at + 1));
      at += 3;
    } else if (b === 0xce && at + 5 <= buf.length) {
      out.push(buf.readUInt32BE(at + 1));
      at += 5;
    } else if (b === 0xcf && at + 9 <= buf.length) {
      out.push(Number(buf.readBigUInt64BE(at + 1)));
      at += 9;
    } else return null;
  }
  return at === buf.length ? out : null;
}
