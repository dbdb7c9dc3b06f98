import type { Config } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import { nextDay, startOfDay } from '../config/timezone.js';
import type { Store } from '../core/store.js';
import { evaluateOrReport, planRound } from './evaluate.js';
import { RoundReader } from './round.js';
import type { LiveSources } from './measure.js';

export interface BackfillOptions {
  config: Config;
  store: Store;
  /** First and last day (YYYY-MM-DD, in the config's time zone), inclusive. */
  from: string;
  to: string;
  now: () => number;
  /** Sources asked at evaluation time (PromQL at each past instant). */
  live?: LiveSources;
  /** Called after each day with (done, total). */
  onProgress?: (done: number, total: number, day: string) => void;
}

export interface BackfillReport {
  days: number;
  resumedAt: number;
  points: number;
}

/**
 * The instants backfill evaluates: the end of each day from `from` to `to` (00:00 of the next
 * day in the config's time zone), so a day's value covers the whole day.
 */
export function backfillInstants(from: string, to: string, timeZone: string): { day: string; at: number }[] {
  const out: { day: string; at: number }[] = [];
  for (let d = from; d <= to; d = nextDay(d)) out.push({ day: d, at: startOfDay(nextDay(d), timeZone) });
  return out;
}

/**
 * Computes each key result's daily values from the stored events and records them as history,
 * so dashboards show the trajectory and forecasts have points from the first day. Resumable: the
 * last finished day is kept in the store, and a re-run of the same range goes on from there.
 */
export async function backfill(opts: BackfillOptions): Promise<BackfillReport> {
  const { config, store, now } = opts;
  if (opts.to < opts.from) throw new ConfigError(`--from ${opts.from} is after --to ${opts.to}; give the first day first`);
  const instants = backfillInstants(opts.from, opts.to, config.timezone).filter((i) => i.at <= now());
  const stream = { source: 'krt', stream: 'backfill', key: `${opts.from}..${opts.to}` };
  const cursor = await store.getCursor<{ done: number }>(stream);
  const start = cursor?.done ?? 0;
  let points = 0;
  for (let i = start; i < instants.length; i++) {
    const { day, at } = instants[i]!;
    // One round per day: the day's key results share one read of each partition.
    const round = new RoundReader(store);
    await planRound(round, config.objectives.flatMap((objective) => objective.keyResults.map((kr) => ({ objective, kr }))), at).catch(() => {
      // Met again, and reported per key result, below.
    });
    for (const o of config.objectives) {
      for (const kr of o.keyResults) {
        const r = await evaluateOrReport(o, kr, { store, at, now, live: opts.live, round, components: false });
        if (r.value !== null) {
          await store.putHistory(o.id, kr.id, [{ at, value: r.value }]);
          points++;
        }
      }
    }
    await store.setCursor(stream, { done: i + 1 });
    opts.onProgress?.(i + 1, instants.length, day);
  }
  return { days: instants.length, resumedAt: start, points };
}
