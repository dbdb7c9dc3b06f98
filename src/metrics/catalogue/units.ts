// The units metrics report in, and how each is shown: in sentences (lint findings, alerts), in the
// `krt run` table, in Grafana and in alert annotations. A key result's `unit` is one of these or,
// for promql, the user's own word (shown as a suffix).
import { humanSeconds, number, writtenDuration } from '../../lib/format.js';

export interface Unit {
  /** In a sentence: `85%`, `20 minutes`, `2 per day`, `6 per 28d` (windowMs: the KR's window). */
  text(value: number, windowMs: number): string;
  /** In the `krt run` table, `n` being the value already rounded for the column. */
  short(value: number, n: string): string;
  /** Grafana's unit id (grafana-data valueFormats/categories.ts). */
  grafana: string;
  /** How a Prometheus alert template prints it (a humanize function), when not `%.4g <unit>`. */
  alertTemplate: string | null;
}

export const UNITS = {
  per_day: { text: (v) => `${number(v)} per day`, short: (_v, n) => `${n}/day`, grafana: 'suffix: /day', alertTemplate: null },
  seconds: { text: (v) => humanSeconds(v), short: (_v, n) => `${n}s`, grafana: 's', alertTemplate: 'humanizeDuration' },
  ratio: { text: (v) => `${number(v * 100)}%`, short: (v) => `${(v * 100).toFixed(1)}%`, grafana: 'percentunit', alertTemplate: 'humanizePercentage' },
  count: { text: (v, w) => `${number(v)} per ${writtenDuration(w)}`, short: (_v, n) => `${n} count`, grafana: 'short', alertTemplate: null },
} as const satisfies Record<string, Unit>;

export type UnitName = keyof typeof UNITS;

/** The unit of a key result by name, or undefined for a unit of the user's own (promql). */
export function unitOf(unit: string): Unit | undefined {
  return Object.hasOwn(UNITS, unit) ? UNITS[unit as UnitName] : undefined;
}
