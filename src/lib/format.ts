// Numbers and durations in words, as messages, lint findings and alerts print them.

/** A number without float noise: 0.6 * 100 -> `60`. */
export function number(value: number): string {
  return String(+value.toFixed(4));
}

const DURATION_UNITS: Array<[number, string]> = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** Seconds in words: 1200 -> `20 minutes`, 5400 -> `1.5 hours`, 0.35 -> `350 ms`. */
export function humanSeconds(seconds: number): string {
  if (seconds > 0 && seconds < 1) return `${number(seconds * 1000)} ms`;
  const plural = (n: number, unit: string): string => `${number(n)} ${unit}${n === 1 ? '' : 's'}`;
  // The largest unit that gives a whole or half number; else the largest that fits, rounded.
  for (const [size, unit] of DURATION_UNITS) {
    if (seconds >= size && Number.isInteger((seconds / size) * 2)) return plural(seconds / size, unit);
  }
  const [size, unit] = DURATION_UNITS.find(([s]) => seconds >= s) ?? [1, 'second'];
  return plural(+(seconds / size).toFixed(1), unit);
}

/** A window in days or hours as users write it: `28d`, `12h`. */
export function writtenDuration(ms: number): string {
  for (const [size, unit] of [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
