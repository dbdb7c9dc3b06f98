// IANA time zones without a dependency: Intl knows the names and the offsets (ECMA-402
// DateTimeFormat with `timeZone`), which is all the period boundaries need.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl accepts the name (`UTC`, `Europe/Berlin`); `Europe/Berln` is not one. */
export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** Every name Intl lists, for "did you mean" hints. */
export function timeZoneNames(): string[] {
  return ['UTC', ...Intl.supportedValuesOf('timeZone')];
}

/** The wall clock in `timeZone` at `instant`, read as if it were UTC (epoch ms). */
function wallClock(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** Offset of `timeZone` from UTC at `instant`, in ms (Europe/Berlin in winter: +3_600_000). */
export function offsetAt(instant: number, timeZone: string): number {
  return wallClock(Math.floor(instant / 1000) * 1000, timeZone) - Math.floor(instant / 1000) * 1000;
}

const DAY = 86_400_000;

/**
 * The first instant of calendar day `date` (`YYYY-MM-DD`) in `timeZone`, epoch ms. Usually local
 * 00:00; where a DST change skips midnight (e.g. America/Santiago) the day starts at the change.
 */
export function startOfDay(date: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const utcMidnight = Date.UTC(y, m - 1, d);
  // Local midnight is utcMidnight minus the offset in force then; the offset is one of those seen
  // a day either side (one change at most around a given midnight).
  const candidates = [-DAY, 0, DAY].map((shift) => utcMidnight - offsetAt(utcMidnight + shift, timeZone));
  const sameDay = candidates.filter((t) => {
    const wall = wallClock(t, timeZone);
    return wall >= utcMidnight && wall < utcMidnight + DAY;
  });
  return Math.min(...(sameDay.length ? sameDay : candidates));
}

/** `2026-12-31` -> `2027-01-01`. */
export function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** True for a real calendar date written `YYYY-MM-DD` (not 2026-02-30). */
export function isIsoDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
