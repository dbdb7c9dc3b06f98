import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { Logger } from 'pino';
import { RateLimitError, SourceError } from '../../src/core/errors.js';
import {
  boundedFetch,
  budgetFromHeaders,
  createPool,
  DEFAULT_TIMEOUT_MS,
  installationBudgetKey,
  MemoryBudget,
  realSleep,
  tokenBudgetKey,
  type RateBudget,
  type Sleep,
} from '../kit/index.js';

export type GithubClient = Octokit;

export interface GithubAppCredentials {
  appId: string;
  privateKey: string;
  installationId: string;
}

/** `GET /repos/acme/payments/deployments - 304 with id ABC in 3ms`: Octokit's log line of a 304. */
export const NOT_MODIFIED_LINE = / - 304 (with id|in) /;

export interface GithubClientOptions {
  baseUrl: string;
  token: string | null;
  /** GitHub App installation credentials instead of a token. */
  app?: GithubAppCredentials | null;
  logger: Logger;
  /** Longest wait for a rate-limit reset inside one request; longer waits go back to the queue. */
  maxRateLimitWaitMs?: number;
  /** Base of the exponential backoff on 5xx and network errors (base, 2·base, 4·base, ...). */
  retryBaseMs?: number;
  /** Retries of one request after a 5xx, a network error or a timeout (default 4). */
  retries?: number;
  /** Total deadline of one request: connect, headers and body (default 30 s). */
  timeoutMs?: number;
  /** Largest JSON answer accepted (default 50 MB). */
  maxBodyBytes?: number;
  /** Requests in flight at once from this client (default 4; GitHub advises few per token). */
  concurrency?: number;
  /** The rate-limit budget shared by workers (default: one in memory). */
  budget?: RateBudget;
  sleep?: Sleep;
  now?: () => number;
  userAgent?: string;
  /** The fetch under the deadline and cap (tests). */
  fetch?: typeof fetch;
}

export const DEFAULT_MAX_BODY_BYTES = 50 * 1024 * 1024;
const SECONDARY_DEFAULT_WAIT_MS = 60_000;

interface RequestErrorLike {
  status?: number;
  message: string;
  cause?: unknown;
  response?: { headers?: Record<string, unknown>; data?: unknown };
}

/** GitHub's message for secondary rate limits (403 or 429), with or without `retry-after`. */
function isSecondaryLimit(status: number | undefined, headers: Record<string, unknown>, data: unknown): boolean {
  if (status !== 403 && status !== 429) return false;
  if (headers['retry-after'] !== undefined) return true;
  const message = typeof data === 'object' && data !== null && 'message' in data ? String((data as { message: unknown }).message) : '';
  return /secondary rate limit|abuse detection/i.test(message);
}

function isPrimaryLimit(status: number | undefined, headers: Record<string, unknown>): boolean {
  return (status === 403 || status === 429) && String(headers['x-ratelimit-remaining']) === '0';
}

/** GraphQL answers a spent budget with 200 and `errors: [{ type: 'RATE_LIMITED' }]`. */
function isGraphqlRateLimited(data: unknown): boolean {
  const errors = (data as { errors?: Array<{ type?: string }> } | null)?.errors;
  return Array.isArray(errors) && errors.some((e) => e?.type === 'RATE_LIMITED');
}

/**
 * Octokit with one `hook.wrap('request')` of our own instead of the throttling and retry plugins
 * (which queue every request through Bottleneck: 15 ms each, against 1 ms for a bare Octokit):
 * - the rate-limit budget shared by workers is reserved before each request and learned from each
 *   answer's `x-ratelimit-*` headers (REST core and GraphQL separately);
 * - primary limit (403/429 with `x-ratelimit-remaining: 0`, or GraphQL `RATE_LIMITED`): waits for
 *   `x-ratelimit-reset` when that is within `maxRateLimitWaitMs`, else a RateLimitError with resetAt
 *   for the queue to hand the job back until then;
 * - secondary limit (403/429 with `retry-after`, or the "secondary rate limit" message): waits
 *   `retry-after` seconds, or 60 s without it, as GitHub documents; a RateLimitError when that is
 *   longer than `maxRateLimitWaitMs` — never "the token lacks permission";
 * - 5xx, network errors and timeouts: a few retries with exponential backoff;
 * - every request has a total deadline and a body cap (boundedFetch), with errors naming the URL.
 * https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
 * https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately
 */
export function createGithubClient(opts: GithubClientOptions): GithubClient {
  const maxWait = opts.maxRateLimitWaitMs ?? 60_000;
  const base = opts.retryBaseMs ?? 200;
  const retries = opts.retries ?? 4;
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const shared = opts.budget ?? new MemoryBudget();
  // The budget only saves GitHub from requests it would refuse: when it cannot be read (Redis
  // away), requests go ahead and GitHub's own answers still rule.
  const safely = async <T>(what: string, f: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, `rate-limit budget ${what} failed; going on without it`);
      return fallback;
    }
  };
  const budget: RateBudget = {
    take: (k, r, t) => safely('read', () => shared.take(k, r, t), null),
    learn: (k, r, st) => safely('update', () => shared.learn(k, r, st), undefined),
    refund: (k, r, t) => safely('update', () => shared.refund(k, r, t), undefined),
    get: (k, r) => safely('read', () => shared.get(k, r), null),
  };
  const pool = createPool(opts.concurrency ?? 4);
  const app = opts.app ?? null;
  const budgetKey = app ? installationBudgetKey(app.appId, app.installationId) : opts.token ? tokenBudgetKey(opts.token) : 'anonymous';
  const log = opts.logger;

  const fetchImpl = boundedFetch({
    source: 'github',
    label: 'GitHub',
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxBytesOption: 'maxBodyBytes',
    fetch: opts.fetch,
  });

  const octokit = new Octokit({
    ...(app
      ? { authStrategy: createAppAuth, auth: { appId: app.appId, privateKey: app.privateKey, installationId: app.installationId, cache: installationTokenCache(now) } }
      : { auth: opts.token ?? undefined }),
    baseUrl: opts.baseUrl,
    userAgent: opts.userAgent ?? 'kr-tracker',
    // Success bodies come as streams and are parsed in the hook below (successBody).
    request: { fetch: fetchImpl, parseSuccessResponseBody: false },
    // Octokit's request log reports every non-2xx answer through log.error, 304 Not Modified
    // included: that is the ETag cache working (and free of rate limit), so it goes to debug.
    log: {
      debug: () => {},
      info: () => {},
      warn: (m: string) => log.warn(m),
      error: (m: string) => (NOT_MODIFIED_LINE.test(m) ? log.debug(m) : log.error(m)),
    },
  });

  const learn = async (headers: Record<string, unknown> | undefined, fallbackResource: string) => {
    const b = headers ? budgetFromHeaders(headers) : null;
    if (b) await budget.learn(budgetKey, headers?.['x-ratelimit-resource'] ? b.resource : fallbackResource, b.state);
  };

  octokit.hook.wrap('request', async (request, options) => {
    const resource = options.url === '/graphql' || String(options.url).endsWith('/graphql') ? 'graphql' : 'core';
    const url = octokit.request.endpoint.parse(options).url;
    const where = `GitHub ${options.method} ${url}`;
    let failures = 0;
    let limited = 0;
    for (;;) {
      const resetAt = await budget.take(budgetKey, resource, now());
      if (resetAt !== null) {
        const wait = resetAt - now();
        if (wait > maxWait) {
          throw new RateLimitError(`${where}: the ${resource} rate limit of this credential is spent until ${new Date(resetAt).toISOString()} (shared budget)`, 'github', resetAt);
        }
        log.warn({ resource, waitMs: wait, url }, 'GitHub rate-limit budget spent; waiting for the reset');
        await sleep(wait + 1000);
        continue;
      }
      try {
        // Success bodies are parsed here with JSON.parse: Octokit's own parser (json-with-bigint)
        // took ~1/6 of a first sync's CPU, and the ids it would turn into BigInts fail our schemas.
        const res = await pool.run(async () => {
          const r = await request(options);
          r.data = await successBody(r.headers as Record<string, unknown>, r.data);
          return r;
        });
        await learn(res.headers as Record<string, unknown>, resource);
        if (resource === 'graphql' && isGraphqlRateLimited(res.data)) {
          const reset = budgetFromHeaders(res.headers as Record<string, unknown>)?.state.resetAt ?? now() + SECONDARY_DEFAULT_WAIT_MS;
          await budget.learn(budgetKey, 'graphql', { limit: 0, remaining: 0, resetAt: reset });
          if (reset - now() > maxWait || limited >= 2) throw new RateLimitError(`${where}: GraphQL rate limit exceeded until ${new Date(reset).toISOString()}`, 'github', reset);
          limited++;
          await sleep(Math.max(0, reset - now()) + 1000);
          continue;
        }
        return res;
      } catch (err) {
        if (err instanceof SourceError) throw err;
        const e = err as RequestErrorLike;
        const headers = e.response?.headers ?? {};
        // A 304 does not count against GitHub's limit; a request without an answer did not either.
        // Learn first: within one window the lower count wins, and the refund is on top.
        await learn(e.response?.headers, resource);
        if (e.status === 304 || !e.response) await budget.refund(budgetKey, resource, now());
        // Our own errors (timeout, body cap, connection) travel as the cause of Octokit's error.
        const typed = e.cause instanceof SourceError ? e.cause : null;
        const authUrl = (err as { request?: { url?: string } }).request?.url ?? '';
        if (app && e.status !== undefined && e.status < 500 && /\/app\/installations\/[^/]+\/access_tokens/.test(authUrl)) {
          const apiMessage = typeof e.response?.data === 'object' && e.response.data !== null && 'message' in e.response.data ? String((e.response.data as { message: unknown }).message) : e.message;
          const fix =
            e.status === 404
              ? `installation ${app.installationId} of App ${app.appId} does not exist; check sources.github.app.installationId (the number in the App installation's settings URL)`
              : `check that sources.github.app.privateKey is a current private key of App ${app.appId} (sources.github.app.appId) and that the machine's clock is right`;
          throw new SourceError(`GitHub App authentication failed: POST ${authUrl} answered ${e.status} (${apiMessage}); ${fix}`, 'github', false, e.status);
        }
        if (typed && !typed.retryable) throw typed;
        if (isSecondaryLimit(e.status, headers, e.response?.data)) {
          const after = Number(headers['retry-after']);
          const wait = Number.isFinite(after) && after >= 0 ? after * 1000 : SECONDARY_DEFAULT_WAIT_MS;
          limited++;
          if (wait > maxWait || limited > 5) {
            throw new RateLimitError(`${where} hit a secondary rate limit; retry after ${new Date(now() + wait).toISOString()}`, 'github', now() + wait);
          }
          log.warn({ kind: 'secondary', waitMs: wait, url }, 'GitHub secondary rate limit; waiting');
          await sleep(wait);
          continue;
        }
        if (isPrimaryLimit(e.status, headers)) {
          const reset = Number(headers['x-ratelimit-reset']);
          const resetMs = Number.isFinite(reset) && reset > 0 ? reset * 1000 : now() + SECONDARY_DEFAULT_WAIT_MS;
          limited++;
          if (resetMs - now() > maxWait || limited > 2) {
            throw new RateLimitError(`${where}: rate limit exceeded until ${new Date(resetMs).toISOString()}`, 'github', resetMs);
          }
          log.warn({ kind: 'primary', waitMs: resetMs - now(), url }, 'GitHub rate limit; waiting for the reset');
          await sleep(Math.max(0, resetMs - now()) + 1000);
          continue;
        }
        const transient = typed !== null || e.status === undefined || e.status >= 500;
        if (!transient || failures >= retries) throw typed ?? err;
        failures++;
        const wait = Math.min(30_000, base * 2 ** (failures - 1));
        log.debug?.({ url, status: e.status, attempt: failures, waitMs: wait }, 'GitHub request failed; retrying');
        await sleep(wait);
      }
    }
  });
  return octokit;
}

/**
 * A success answer's body as Octokit's own parsing gives it (JSON as objects, text as a string,
 * anything else as an ArrayBuffer), from the stream `parseSuccessResponseBody: false` leaves; JSON
 * is parsed with JSON.parse. https://github.com/octokit/request.js#request
 */
async function successBody(headers: Record<string, unknown>, body: unknown): Promise<unknown> {
  if (!(body instanceof ReadableStream)) return body;
  const res = new Response(body);
  const type = typeof headers['content-type'] === 'string' ? (headers['content-type'] as string).toLowerCase() : null;
  const mime = type?.split(';')[0]?.trim() ?? null;
  if (mime === 'application/json' || mime === 'application/scim+json') {
    const text = await res.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (mime === null || mime.startsWith('text/') || (/;\s*charset="?utf-8"?/.test(type ?? '') && mime !== 'application/octet-stream')) return res.text();
  return res.arrayBuffer();
}

/**
 * @octokit/auth-app keeps installation tokens for 59 minutes whatever their `expires_at`; this
 * cache gives a token back only while more than a margin of its life is left (5 minutes, or half
 * its life for short-lived ones), so a fresh one is asked for before the old one expires.
 * The cached value is auth-app's `token|createdAt|expiresAt|...` string.
 */
function installationTokenCache(now: () => number): { get(key: string): string | undefined; set(key: string, value: string): void } {
  const entries = new Map<string, string>();
  return {
    get(key) {
      const value = entries.get(key);
      if (!value) return undefined;
      const [, createdAt, expiresAt] = value.split('|');
      const created = Date.parse(createdAt ?? '');
      const expires = Date.parse(expiresAt ?? '');
      if (!Number.isFinite(expires)) return undefined;
      const margin = Math.min(5 * 60_000, Number.isFinite(created) ? (expires - created) / 2 : 0);
      if (expires - now() <= margin) {
        entries.delete(key);
        return undefined;
      }
      return value;
    },
    set(key, value) {
      entries.set(key, value);
    },
  };
}
