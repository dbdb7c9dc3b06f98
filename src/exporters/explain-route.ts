// GET /api/v1/key-results/{objective}/{kr}/explain[?at=ISO]: the inputs behind one value
// (METRICS.md "Explanations"), computed from the stored events at the instant asked for.
import type { Config } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import { explainKeyResult, findKeyResult } from '../engine/explain.js';
import type { LiveSources } from '../engine/measure.js';

const PATH = /^\/api\/v1\/key-results\/([^/]+)\/([^/]+)\/explain$/;

/** The objective and key result ids of an explain path, or null when the path is not one. */
export function explainRoute(path: string): { objective: string; keyResult: string } | null {
  const m = PATH.exec(path);
  if (!m) return null;
  try {
    return { objective: decodeURIComponent(m[1]!), keyResult: decodeURIComponent(m[2]!) };
  } catch {
    return null;
  }
}

/** The link to a key result's explanation, from the service's base URL (or relative without one). */
export function explainPath(objectiveId: string, keyResultId: string, base = ''): string {
  return `${base.replace(/\/$/, '')}/api/v1/key-results/${encodeURIComponent(objectiveId)}/${encodeURIComponent(keyResultId)}/explain`;
}

export interface ExplainRouteOptions {
  store: Store;
  config: () => Config;
  now: () => number;
  live?: () => LiveSources;
  /** Explanations computed at once (each reads a key result's whole streams); more are answered 429. Default 4. */
  maxInFlight?: number;
}

export type ExplainHandler = (route: { objective: string; keyResult: string }, query: URLSearchParams) => Promise<{ status: number; body: unknown }>;

/** Answers an explain request: 200 with the explanation, 404 for an unknown key result, 400 for a bad `at`. */
export function createExplainHandler(opts: ExplainRouteOptions): ExplainHandler {
  const max = opts.maxInFlight ?? 4;
  let inFlight = 0;
  return async (route, query) => {
    const config = opts.config();
    let found;
    try {
      found = findKeyResult(config, `${route.objective}/${route.keyResult}`);
    } catch (err) {
      if (err instanceof ConfigError) return { status: 404, body: { error: err.message.replace(` in ${config.file}`, '') } };
      throw err;
    }
    const atText = query.get('at');
    const at = atText === null ? opts.now() : Date.parse(atText);
    if (Number.isNaN(at)) return { status: 400, body: { error: `at=${atText} is not an ISO date or date-time; write e.g. ?at=2026-11-20T12:00:00Z` } };
    // Each explanation reads the key result's streams whole: a few at a time, so that a burst of
    // requests cannot crowd out the evaluations.
    if (inFlight >= max) return { status: 429, body: { error: `${max} explanations are being computed; try again in a few seconds` } };
    inFlight++;
    try {
      return { status: 200, body: await explainKeyResult(found.objective, found.kr, { store: opts.store, at, live: opts.live?.() }) };
    } finally {
      inFlight--;
    }
  };
}
