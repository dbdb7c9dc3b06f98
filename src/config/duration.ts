// Durations as users write them: `90s`, `5m`, `24h`, `28d`, `1w`, or a sum such as `1h30m`.
import { ConfigError } from '../core/errors.js';

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const WHOLE = /^(?:\d+[smhdw])+$/;
const PART = /(\d+)([smhdw])/g;

/** The longest duration accepted anywhere: ten years (no OKR window or schedule is longer). */
export const MAX_DURATION_MS = 3653 * UNIT_MS.d!;

export const DURATION_HELP = 'write a whole number followed by s, m, h, d or w, e.g. 90s, 5m, 24h, 28d or 1w';

/**
 * The duration in milliseconds, or what is wrong with the text (without the field's name).
 * `allowZero` accepts `0s` where zero means "at once" (e.g. `alerts.for.stale`).
 */
export function readDuration(text: string, { allowZero = false }: { allowZero?: boolean } = {}): { ms: number } | { error: string } {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) return { error: `is ${JSON.stringify(text)}, not a duration; ${DURATION_HELP}` };
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  if (!(ms <= MAX_DURATION_MS)) return { error: `is ${JSON.stringify(text)}, longer than ten years; give at most 3653d (or 521w)` };
  if (ms <= 0 && !allowZero) return { error: `is ${JSON.stringify(text)}, an empty duration; give a length above zero, e.g. 5m` };
  return { ms };
}

/** `parseDuration('28d') === 2_419_200_000`; throws a ConfigError saying how to write one. */
export function parseDuration(text: string): number {
  const result = readDuration(text);
  if ('error' in result) throw new ConfigError(`duration ${result.error}`);
  return result.ms;
}
