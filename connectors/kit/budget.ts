// The rate-limit budget of one credential (a token, by its hash, or an App installation), shared
// by every worker: learned from the `x-ratelimit-*` headers GitHub sends with each answer, and
// one unit reserved before each request, so that workers on several machines stop together when
// the window is spent and wait for its reset instead of collecting 403s.
// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#checking-the-status-of-your-rate-limit
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

export interface BudgetState {
  limit: number;
  remaining: number;
  /** When the window resets, epoch ms. */
  resetAt: number;
}

export interface RateBudget {
  /**
   * Reserves one request of `resource` (`core`, `graphql`, ...) for `key`. Returns null when it
   * may go ahead (or nothing is known yet), else the reset time (epoch ms) to wait for.
   */
  take(key: string, resource: string, now: number): Promise<number | null>;
  /** Gives back a reserved unit the request did not spend (a 304, or no answer at all). */
  refund(key: string, resource: string, now: number): Promise<void>;
  /** Records what an answer's headers said. A later window wins; within one, the lower count. */
  learn(key: string, resource: string, state: BudgetState): Promise<void>;
  get(key: string, resource: string): Promise<BudgetState | null>;
}

/** A budget key for a token that holds no secret: a short hash of it. */
export function tokenBudgetKey(token: string): string {
  return 'token:' + createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export function installationBudgetKey(appId: string | number, installationId: string | number): string {
  return `app:${appId}:installation:${installationId}`;
}

/** `x-ratelimit-*` headers as a budget state, or null when they are missing. */
export function budgetFromHeaders(headers: Record<string, unknown>): { resource: string; state: BudgetState } | null {
  const limit = Number(headers['x-ratelimit-limit']);
  const remaining = Number(headers['x-ratelimit-remaining']);
  const reset = Number(headers['x-ratelimit-reset']);
  if (headers['x-ratelimit-remaining'] === undefined || !Number.isFinite(remaining) || !Number.isFinite(reset)) return null;
  const resource = typeof headers['x-ratelimit-resource'] === 'string' ? headers['x-ratelimit-resource'] : 'core';
  return { resource, state: { limit: Number.isFinite(limit) ? limit : remaining, remaining, resetAt: reset * 1000 } };
}

/** For one process (`krt run --once`). */
export class MemoryBudget implements RateBudget {
  readonly #states = new Map<string, BudgetState>();

  async take(key: string, resource: string, now: number): Promise<number | null> {
    const s = this.#states.get(`${key}|${resource}`);
    if (!s || now >= s.resetAt) return null;
    if (s.remaining <= 0) return s.resetAt;
    s.remaining--;
    return null;
  }

  async refund(key: string, resource: string, now: number): Promise<void> {
    const s = this.#states.get(`${key}|${resource}`);
    if (s && now < s.resetAt && s.remaining < s.limit) s.remaining++;
  }

  async learn(key: string, resource: string, state: BudgetState): Promise<void> {
    const id = `${key}|${resource}`;
    const s = this.#states.get(id);
    if (!s || state.resetAt > s.resetAt) this.#states.set(id, { ...state });
    else if (state.resetAt === s.resetAt) s.remaining = Math.min(s.remaining, state.remaining);
  }

  async get(key: string, resource: string): Promise<BudgetState | null> {
    const s = this.#states.get(`${key}|${resource}`);
    return s ? { ...s } : null;
  }
}

// KEYS[1] the budget hash; ARGV[1] now (ms). Returns -1 (go ahead) or the reset time (ms).
const TAKE = `
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset'))
if not reset or tonumber(ARGV[1]) >= reset then return -1 end
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
if remaining <= 0 then return reset end
redis.call('HINCRBY', KEYS[1], 'remaining', -1)
return -1
`;

// KEYS[1] the budget hash; ARGV[1] now (ms).
const REFUND = `
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset'))
if not reset or tonumber(ARGV[1]) >= reset then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'remaining')) < tonumber(redis.call('HGET', KEYS[1], 'limit')) then
  redis.call('HINCRBY', KEYS[1], 'remaining', 1)
end
return 1
`;

// KEYS[1] the budget hash; ARGV limit, remaining, reset (ms).
const LEARN = `
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset'))
local newReset = tonumber(ARGV[3])
if not reset or newReset > reset then
  redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'remaining', ARGV[2], 'reset', ARGV[3])
elseif newReset == reset then
  local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
  if tonumber(ARGV[2]) < remaining then redis.call('HSET', KEYS[1], 'remaining', ARGV[2]) end
end
redis.call('PEXPIREAT', KEYS[1], math.max(newReset, reset or 0) + 3600000)
return 1
`;

/**
 * Kept in Redis: `{prefix}:budget:{key}:{resource}` is a hash {limit, remaining, reset (ms)}
 * that expires an hour after its reset. Reserving is one Lua script (atomic across workers).
 */
export class RedisBudget implements RateBudget {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  #key(key: string, resource: string): string {
    return `${this.prefix}:budget:${key}:${resource}`;
  }

  async take(key: string, resource: string, now: number): Promise<number | null> {
    const r = Number(await this.redis.eval(TAKE, 1, this.#key(key, resource), String(now)));
    return r < 0 ? null : r;
  }

  async refund(key: string, resource: string, now: number): Promise<void> {
    await this.redis.eval(REFUND, 1, this.#key(key, resource), String(now));
  }

  async learn(key: string, resource: string, state: BudgetState): Promise<void> {
    await this.redis.eval(LEARN, 1, this.#key(key, resource), String(state.limit), String(state.remaining), String(state.resetAt));
  }

  async get(key: string, resource: string): Promise<BudgetState | null> {
    const h = await this.redis.hgetall(this.#key(key, resource));
    if (!h.reset) return null;
    return { limit: Number(h.limit), remaining: Number(h.remaining), resetAt: Number(h.reset) };
  }
}
