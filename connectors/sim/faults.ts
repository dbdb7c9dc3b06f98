// Injected faults of the simulators: the next n requests fail with a given status (`failNext`),
// and a share of all requests fail at random (`rate`), from a seeded generator so that a run
// can be repeated.
import { mulberry32 } from './random.js';

export interface Faults {
  /** The next n requests answer `status` (default 502). */
  failNext(n: number, status?: number): void;
  /**
   * The status the current request fails with, or null. A forced failure (failNext) first; else,
   * with probability `rate`, `randomStatus()`. With `drawAlways`, the random draw is made on
   * every request, a forced failure pending or not, and a random fault's status wins over it.
   */
  take(randomStatus?: () => number, opts?: { drawAlways?: boolean }): number | null;
}

export function createFaults(opts: { rate?: number; seed?: number } = {}): Faults {
  const rate = opts.rate ?? 0;
  const random = mulberry32(opts.seed ?? 1);
  let forced = 0;
  let forcedStatus = 502;
  const roll = () => rate > 0 && random() < rate;
  return {
    failNext(n, status = 502) {
      forced = n;
      forcedStatus = status;
    },
    take(randomStatus = () => 502, o = {}) {
      const drawn = o.drawAlways ? (roll() ? randomStatus() : null) : null;
      if (forced > 0) {
        forced--;
        return drawn ?? forcedStatus;
      }
      if (o.drawAlways) return drawn;
      return roll() ? randomStatus() : null;
    },
  };
}
