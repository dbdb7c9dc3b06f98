// A check-in: a person's confidence (0..1) that an objective will be met, with a note, recorded
// weekly (CONFIG.md "Check-ins"). Parsed here at the boundary (CLI flags, the HTTP body), so the
// store and the views trust the shape.
import type { Config, Objective } from '../config/types.js';

/** Notes longer than this are refused, not cut: a check-in is a paragraph, not a document. */
export const MAX_NOTE_CHARS = 2000;
/** Names longer than this are refused. */
export const MAX_BY_CHARS = 200;

export interface Checkin {
  objectiveId: string;
  /** 0..1: how sure the person is that the objective will be met. */
  confidence: number;
  note: string;
  /** Who checked in (a name, a login); `unknown` when not given. */
  by: string;
  /** When, epoch ms. */
  at: number;
  /** With `krt checkin --revise`: the reason for a change of the OKR file, kept with the revision. */
  revise?: string | null;
}

/** One problem with a check-in, naming the field. */
export interface CheckinProblem {
  field: 'objective' | 'confidence' | 'note' | 'by' | 'revise' | 'body';
  message: string;
}

export class CheckinError extends Error {
  override readonly name = 'CheckinError';
  constructor(readonly problems: CheckinProblem[], readonly status: 400 | 404 = 400) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }
}

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? `the text ${JSON.stringify(v.slice(0, 40))}` : typeof v);

/** The objective with this id, or a CheckinError (404) that lists the ones there are. */
export function findObjective(config: Config, id: string): Objective {
  const o = config.objectives.find((x) => x.id === id);
  if (!o) {
    const known = config.objectives.map((x) => x.id).join(', ');
    throw new CheckinError([{ field: 'objective', message: `no objective "${id.slice(0, 100)}" in the OKR file; known: ${known}` }], 404);
  }
  return o;
}

/**
 * Validates a check-in as sent (CLI or JSON body): every problem at once, each naming its field.
 * `confidence` may be a number or numeric text (the CLI passes text); nothing else is coerced.
 */
export function parseCheckin(objectiveId: string, input: Record<string, unknown>, at: number, config: Config): Checkin {
  const problems: CheckinProblem[] = [];
  const objective = config.objectives.find((x) => x.id === objectiveId);
  const known = new Set(['confidence', 'note', 'by', 'revise']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) problems.push({ field: 'body', message: `unknown field "${key.slice(0, 40)}"; send confidence, note, by (and revise)` });
  }
  let confidence = NaN;
  const c = input.confidence;
  if (c === undefined) problems.push({ field: 'confidence', message: 'is required; give a number from 0 to 1, e.g. 0.6' });
  else {
    confidence = typeof c === 'number' ? c : typeof c === 'string' && c.trim() !== '' ? Number(c) : NaN;
    if (!Number.isFinite(confidence)) problems.push({ field: 'confidence', message: `is ${kindOf(c)}, not a number; give a number from 0 to 1, e.g. 0.6` });
    else if (confidence < 0 || confidence > 1) problems.push({ field: 'confidence', message: `is ${confidence}, outside 0..1; give a number from 0 to 1, e.g. 0.6 (not 60)` });
  }
  const text = (field: 'note' | 'by' | 'revise', max: number): string | null => {
    const v = input[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') {
      problems.push({ field, message: `is ${kindOf(v)}, not text` });
      return null;
    }
    if ([...v].length > max) problems.push({ field, message: `has ${[...v].length} characters; at most ${max} are kept, so shorten it` });
    return v.trim();
  };
  const note = text('note', MAX_NOTE_CHARS) ?? '';
  const by = text('by', MAX_BY_CHARS) || 'unknown';
  const revise = text('revise', MAX_NOTE_CHARS);
  if (!objective) {
    const list = config.objectives.map((x) => x.id).join(', ');
    // An unknown objective is a 404 on its own; the other problems come with it.
    throw new CheckinError([{ field: 'objective', message: `no objective "${objectiveId.slice(0, 100)}" in the OKR file; known: ${list}` }, ...problems], 404);
  }
  if (problems.length) throw new CheckinError(problems);
  return { objectiveId, confidence, note, by, at, ...(revise ? { revise } : {}) };
}
