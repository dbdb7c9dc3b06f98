// A fixed rate-limit window of the simulators: `limit` requests (or points) per window; what is
// left resets to the limit when the window ends. GitHub counts its reset in epoch seconds (a
// window from the current second, `x-ratelimit-reset`), PagerDuty here in milliseconds.

export interface RateWindow {
  limit: number;
  remaining: number;
  /** When the window ends: epoch seconds (`unit: 's'`) or milliseconds. */
  resetAt: number;
  /** Starts a new window when the current one has ended. */
  refresh(): void;
  /** Sets the limit and what remains of it (default: all), clamped to [0, limit]; `restart` opens a new window. */
  set(limit: number, remaining?: number, opts?: { restart?: boolean }): void;
}

export function createRateWindow(opts: { limit: number; windowMs: number; now: () => number; unit?: 's' | 'ms' }): RateWindow {
  const seconds = opts.unit === 's';
  const clock = () => (seconds ? opts.now() / 1000 : opts.now());
  const end = () => (seconds ? Math.floor(opts.now() / 1000) + opts.windowMs / 1000 : opts.now() + opts.windowMs);
  const w: RateWindow = {
    limit: opts.limit,
    remaining: opts.limit,
    resetAt: end(),
    refresh() {
      if (clock() >= w.resetAt) {
        w.remaining = w.limit;
        w.resetAt = end();
      }
    },
    set(limit, remaining, o = {}) {
      w.limit = limit;
      w.remaining = Math.max(0, Math.min(limit, remaining ?? limit));
      if (o.restart) w.resetAt = end();
    },
  };
  return w;
}
