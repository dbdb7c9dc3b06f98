// `target: 1` (absolute) or `target: -30%` (relative to the baseline).
import type { TargetSpec } from './types.js';

const ABSOLUTE = /^[+-]?\d+(?:\.\d+)?$/;
const RELATIVE = /^([+-])\s*(\d+(?:\.\d+)?)\s*%$/;
const UNSIGNED_PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

export const TARGET_HELP =
  'write a number (an absolute target such as 0.85) or a signed percentage of the baseline such as -30% or +50%';

/** The target, or what is wrong with it (the message starts with a verb: `is "x", ...`). */
export function readTarget(value: number | string): { target: TargetSpec } | { error: string } {
  if (typeof value === 'number') return { target: { type: 'absolute', value } };
  const text = value.trim();
  // A number that came in through ${VAR} substitution arrives as text.
  if (ABSOLUTE.test(text)) return { target: { type: 'absolute', value: Number(text) } };
  const relative = RELATIVE.exec(text);
  if (relative) {
    const ratio = (relative[1] === '-' ? -1 : 1) * (Number(relative[2]) / 100);
    if (ratio < -1) {
      return { error: `is ${JSON.stringify(value)}, a decrease of more than 100%; a target below zero cannot be reached, use at most -100%` };
    }
    return { target: { type: 'relative', ratio } };
  }
  const unsigned = UNSIGNED_PERCENT.exec(text);
  if (unsigned) {
    const pct = unsigned[1]!;
    return {
      error: `is ${JSON.stringify(value)}, which is ambiguous; write +${pct}% for a change relative to the baseline, or ${Number(pct) / 100} for an absolute ratio`,
    };
  }
  return { error: `is ${JSON.stringify(value)}, not a target; ${TARGET_HELP}` };
}
