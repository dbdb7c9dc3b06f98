// A bounded-concurrency pool: at most `size` tasks run at once, the rest wait in FIFO order.
// GitHub advises against many concurrent requests per token (secondary rate limits), so source
// clients keep this small (4). https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#avoid-concurrent-requests

export interface Pool {
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly size: number;
  /** Tasks running now. */
  active(): number;
}

export function createPool(size: number): Pool {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, not ${size}`);
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    running--;
    const next = waiting.shift();
    if (next) {
      running++;
      next();
    }
  };
  return {
    size,
    active: () => running,
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running < size) running++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}

/** `fn` over `items` with at most `size` at once; results in the order of `items`. */
export async function mapPool<T, R>(items: readonly T[], size: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const pool = createPool(size);
  return Promise.all(items.map((item, i) => pool.run(() => fn(item, i))));
}
