// One toolkit for source clients: retries with backoff, a bounded-concurrency pool, fetch with a
// total deadline and a body cap, zod-checked bodies, and the shared rate-limit budget.
export { backoffMs, realSleep, retry, type RetryOptions, type Sleep } from './retry.js';
export { createPool, mapPool, type Pool } from './pool.js';
export { boundedFetch, DEFAULT_TIMEOUT_MS, networkError, readCapped, type BoundedFetchOptions } from './bounded-fetch.js';
export { parseBody } from './json.js';
export {
  budgetFromHeaders,
  installationBudgetKey,
  MemoryBudget,
  RedisBudget,
  tokenBudgetKey,
  type BudgetState,
  type RateBudget,
} from './budget.js';
