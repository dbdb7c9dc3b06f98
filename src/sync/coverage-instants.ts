// Which instants a coverage stream must download reports for: a question about the config (which
// key results read the stream, and when their values are asked), answered here for the GitHub
// connector, which is handed the answer (connectors read nothing of src/ but src/core).
import type { Config } from '../config/types.js';
import { nextDay, startOfDay } from '../config/timezone.js';
import { streamId, type StreamKey } from '../core/stream.js';
import { streamsOf } from './plan.js';

const DAY = 86_400_000;

/**
 * The instants a coverage stream's values need, from the key results that read it: the evaluation
 * instant (`at`, else now) and the period start of each key result whose baseline is measured;
 * `daily`: only when `days` is given (`krt backfill --from --to`), the end of each of those days in
 * the config's time zone (00:00 of the next day, the instants backfill evaluates), newest first.
 * A regular sync asks for no day ends: their reports would cost rate limit for values nobody reads.
 */
export function coverageInstants(config: Config, key: string, now: number, at?: number, days?: { from: string; to: string }): { instants: number[]; daily: number[] } {
  const id = streamId({ source: 'github', stream: 'coverage', key } satisfies StreamKey);
  const instants = new Set<number>([at ?? now]);
  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      const reads = streamsOf(kr).some((s) => streamId(s) === id);
      if (reads && (kr.baseline === undefined || kr.baseline === null) && o.period.start <= now) instants.add(o.period.start);
    }
  }
  const daily: number[] = [];
  if (days) {
    for (let d = days.to; d >= days.from; d = new Date(Date.parse(`${d}T00:00:00Z`) - DAY).toISOString().slice(0, 10)) {
      const end = startOfDay(nextDay(d), config.timezone);
      if (end <= now) daily.push(end);
    }
  }
  return { instants: [...instants], daily };
}
