// `GET|POST /api/v1/objectives/{id}/checkins` and `GET /api/v1/objectives/{id}/revisions`.
//
// Writing is allowed only where it cannot come from a stranger: with server.auth configured (the
// HTTP server has checked the credentials before this runs), or, without auth, on a loopback
// listener and with a Host header naming this machine (so a web page cannot reach it through DNS
// rebinding). The body must be `application/json`, which a browser cannot send cross-origin
// without a CORS preflight that this server never grants. Everything else gets a JSON error
// naming the field, and nothing is stored.
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/types.js';
import { resultKey, type EvaluationResult } from '../core/result.js';
import type { Store } from '../core/store.js';
import { CheckinError, findObjective, parseCheckin, type Checkin, type CheckinProblem } from './checkin.js';
import type { CheckinStore } from './checkin-store.js';
import { definitionOf, describeChange, revisedScore } from './revisions.js';

/** A check-in is a few kilobytes at most (a 2,000-character note): larger bodies get 413. */
export const CHECKIN_MAX_BODY_BYTES = 16 * 1024;

/** A POST body past CHECKIN_MAX_BODY_BYTES. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

export interface CheckinPath {
  objectiveId: string;
  what: 'checkins' | 'revisions';
}

const PATH = /^\/api\/v1\/objectives\/([^/]+)\/(checkins|revisions)$/;

/** The route of a path, or null when it is not one of these. */
export function checkinRoute(path: string): CheckinPath | null {
  const m = PATH.exec(path);
  if (!m) return null;
  let id: string;
  try {
    id = decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
  return { objectiveId: id, what: m[2] as CheckinPath['what'] };
}

export interface CheckinRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: () => Promise<Buffer>;
  /** server.auth is configured (and the request passed it). */
  authenticated: boolean;
  /** The listener is on a loopback address. */
  loopback: boolean;
  config: Config;
  now: number;
}

export interface CheckinReply {
  status: number;
  body: unknown;
  allow?: string;
}

export interface CheckinRoutes {
  handle(route: CheckinPath, req: CheckinRequest): Promise<CheckinReply>;
}

const problemReply = (status: number, error: string, problems: CheckinProblem[] = []): CheckinReply => ({ status, body: { error, problems } });

const LOCAL_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

export function createCheckinRoutes({ checkins, store }: { checkins: CheckinStore; store: Pick<Store, 'getResults'> }): CheckinRoutes {
  async function post(route: CheckinPath, req: CheckinRequest): Promise<CheckinReply> {
    if (!req.authenticated) {
      if (!req.loopback) {
        return problemReply(403, 'check-ins need server.auth when the service listens beyond this machine; configure server.auth (bearerToken or basicAuth) and send its credentials');
      }
      if (!LOCAL_HOST.test(String(req.headers.host ?? ''))) {
        return problemReply(403, 'without server.auth, check-ins are taken only from this machine (Host: localhost or 127.0.0.1); configure server.auth to take them from elsewhere');
      }
    }
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      return { status: 415, body: { error: `send the check-in as JSON (Content-Type: application/json), not ${type || 'without a content type'}`, problems: [{ field: 'body', message: 'must be application/json' }] } };
    }
    let raw: Buffer;
    try {
      raw = await req.body();
    } catch (err) {
      if (err instanceof BodyTooLarge) return problemReply(413, `the body is larger than ${CHECKIN_MAX_BODY_BYTES} bytes; a check-in is a confidence and a note of at most 2,000 characters`, [{ field: 'body', message: 'too large' }]);
      throw err;
    }
    let input: unknown;
    try {
      input = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      return problemReply(400, `the body is not valid JSON (${err instanceof Error ? err.message.slice(0, 120) : 'parse error'}); send e.g. {"confidence": 0.6, "note": "...", "by": "ana"}`, [{ field: 'body', message: 'not JSON' }]);
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return problemReply(400, 'the body must be a JSON object such as {"confidence": 0.6, "note": "...", "by": "ana"}', [{ field: 'body', message: 'not an object' }]);
    }
    let checkin: Checkin;
    try {
      checkin = parseCheckin(route.objectiveId, input as Record<string, unknown>, req.now, req.config);
    } catch (err) {
      if (err instanceof CheckinError) return problemReply(err.status, `check-in refused: ${err.message}`, err.problems);
      throw err;
    }
    const objective = findObjective(req.config, route.objectiveId);
    await checkins.add(checkin, objective.keyResults.map((kr) => kr.id));
    return { status: 201, body: checkinView(checkin) };
  }

  async function revisionsOf(route: CheckinPath, config: Config): Promise<CheckinReply> {
    const objective = findObjective(config, route.objectiveId);
    const results = new Map((await store.getResults()).map((r) => [resultKey(r.objectiveId, r.keyResultId), r]));
    const keyResults = [];
    for (const kr of objective.keyResults) {
      const revisions = await checkins.revisions(objective.id, kr.id);
      const r: Pick<EvaluationResult, 'value' | 'baseline'> = results.get(resultKey(objective.id, kr.id)) ?? { value: null, baseline: kr.baseline };
      keyResults.push({
        id: kr.id,
        revisions: revisions.map((rev) => ({ at: new Date(rev.at).toISOString(), fields: rev.fields, change: describeChange(rev), note: rev.note, before: rev.before, after: rev.after })),
        scores: revisedScore(revisions, definitionOf(objective, kr), r),
      });
    }
    return { status: 200, body: { objective: objective.id, keyResults } };
  }

  return {
    async handle(route, req) {
      try {
        if (req.method === 'POST' && route.what === 'checkins') return await post(route, req);
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const allow = route.what === 'checkins' ? 'GET, HEAD, POST' : 'GET, HEAD';
          return { status: 405, allow, body: { error: `method not allowed; use ${allow}` } };
        }
        if (route.what === 'revisions') return await revisionsOf(route, req.config);
        findObjective(req.config, route.objectiveId);
        return { status: 200, body: { objective: route.objectiveId, checkins: (await checkins.list(route.objectiveId)).map(checkinView) } };
      } catch (err) {
        if (err instanceof CheckinError) return problemReply(err.status, err.message, err.problems);
        throw err;
      }
    },
  };
}

/** A check-in as the API shows it: the instant in ISO 8601. */
export function checkinView(c: Checkin) {
  return { objective: c.objectiveId, confidence: c.confidence, note: c.note, by: c.by, at: new Date(c.at).toISOString(), ...(c.revise ? { revise: c.revise } : {}) };
}
