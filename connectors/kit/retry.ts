// Retries with exponential backoff, for every source client. Sleep and clock are injectable so
// tests can run a schedule without waiting and assert the waits it asked for.

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export interface RetryOptions {
  /** Retries after the first attempt (0: none). */
  retries: number;
  /** First wait; each next one doubles (base, 2·base, 4·base, ...), capped by `maxDelayMs`. */
  baseMs: number;
  maxDelayMs?: number;
  /**
   * Longest time, from the first attempt, worth spending: a retry whose wait would end past it is
   * not made (one-shot runs keep this to a few seconds so an unreachable source fails fast).
   */
  maxTotalMs?: number;
  /** Whether to retry after this error: false, true (the backoff's wait) or a wait in ms. */
  shouldRetry: (err: unknown, attempt: number) => boolean | number;
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  sleep?: Sleep;
  now?: () => number;
}

/** The backoff's wait before retry `attempt` (1-based). */
export function backoffMs(attempt: number, baseMs: number, maxDelayMs = 30_000): number {
  return Math.min(maxDelayMs, baseMs * 2 ** (attempt - 1));
}

/** Runs `fn` until it resolves, `shouldRetry` says no, or the retries or time run out. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const started = now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= opts.retries) throw err;
      const verdict = opts.shouldRetry(err, attempt + 1);
      if (verdict === false) throw err;
      const wait = typeof verdict === 'number' ? verdict : backoffMs(attempt + 1, opts.baseMs, opts.maxDelayMs);
      if (opts.maxTotalMs !== undefined && now() + wait - started > opts.maxTotalMs) throw err;
      opts.onRetry?.(err, attempt + 1, wait);
      await sleep(wait);
    }
  }
}
