import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config, ServerAuth } from '../config/types.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../core/store.js';
import { objectivesDocument } from './objectives-view.js';
import { sourcesView } from './sources-view.js';
import { planStreams } from '../sync/plan.js';
import type { MetricsExporter } from './metrics.js';
import { explainRoute, type ExplainHandler } from './explain-route.js';
import { BodyTooLarge, checkinRoute, CHECKIN_MAX_BODY_BYTES, type CheckinRoutes } from '../checkins/http-route.js';

export interface HttpServerOptions {
  exporter: MetricsExporter;
  store: Store;
  config: () => Config;
  now: () => number;
  logger: Logger;
  /** Resolves when the service can serve current data (Redis answers, config loaded); must not hang. */
  ready: () => Promise<boolean>;
  /** Default 127.0.0.1: reachable from this machine only. */
  host?: string;
  port?: number;
  /** Open connections at most; more are refused at once (default 1024). */
  maxConnections?: number;
  /** Check-ins and revisions (`/api/v1/objectives/{id}/checkins`); without it those paths are 404. */
  checkins?: CheckinRoutes;
  /** GET /api/v1/key-results/{objective}/{kr}/explain; without it that path is 404. */
  explain?: ExplainHandler;
}

export interface RunningHttpServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Time limits of a connection: a client that sends nothing, or sends slowly, is cut off. */
export const HTTP_LIMITS = {
  maxConnections: 1024,
  /** The whole request head must arrive within this (slowloris). */
  headersTimeoutMs: 10_000,
  /** The whole request, body included. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** A socket with no traffic at all is closed after this. */
  idleTimeoutMs: 30_000,
  /** Request bodies are not read; one larger than this closes the connection. */
  maxBodyBytes: 64 * 1024,
};

const ROUTES = '/metrics, /healthz, /readyz, /api/v1/objectives or /api/v1/sources';

/** URLs (internal hosts, API paths) in a text shown to a client that did not authenticate. */
export function redactUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()]+/gi, '[url hidden: configure server.auth and authenticate to see it]');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares in constant time (through hashes, so the lengths do not leak either). */
function same(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function authenticated(auth: ServerAuth, header: string | undefined): boolean {
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (auth.type === 'bearer') return scheme === 'bearer' && same(value, auth.token.reveal());
  if (scheme !== 'basic') return false;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both compared, always: no early exit that tells a right user from a wrong one.
  const userOk = same(decoded.slice(0, colon), auth.user);
  const passwordOk = same(decoded.slice(colon + 1), auth.password.reveal());
  return userOk && passwordOk;
}

/** The path of a request target, or null when it is not one (`//[`, `*`, an absolute URL to elsewhere). */
function pathOf(target: string | undefined): string | null {
  if (!target || !target.startsWith('/')) return null;
  try {
    return new URL(target, 'http://localhost').pathname;
  } catch {
    return null;
  }
}

/**
 * GET /metrics (Prometheus text format), /healthz (the process answers), /readyz (the store
 * answers), /api/v1/objectives and /api/v1/sources (JSON for `krt status`). Every request runs inside one error
 * boundary: whatever a client sends, it gets an answer (400 for a malformed request) and the
 * process stays up.
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  // The last exposition read from the store: served, marked stale, while Redis does not answer.
  let lastMetrics: { text: string; at: number } | null = null;

  const metricsText = async (): Promise<{ status: number; body: string }> => {
    let fresh: string | null = null;
    try {
      fresh = await opts.exporter.render();
      lastMetrics = { text: fresh, at: opts.now() };
    } catch (err) {
      opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, '/metrics: the store did not answer; serving the last values read');
    }
    const up = fresh !== null ? 1 : 0;
    const age = lastMetrics ? Math.max(0, (opts.now() - lastMetrics.at) / 1000) : null;
    const own = [
      '# HELP krt_redis_up 1 when the values of this scrape were read from Redis just now; 0 when Redis does not answer and they are the last ones read.',
      '# TYPE krt_redis_up gauge',
      `krt_redis_up ${up}`,
      ...(age === null
        ? []
        : [
            '# HELP krt_metrics_data_age_seconds How long ago the values of this scrape were read from Redis (0 while it answers).',
            '# TYPE krt_metrics_data_age_seconds gauge',
            `krt_metrics_data_age_seconds ${age}`,
          ]),
    ].join('\n');
    if (!lastMetrics) return { status: 503, body: `${own}\n` };
    return { status: 200, body: `${lastMetrics.text}${own}\n` };
  };

  // Set once listening: whether only this machine can reach the listener.
  let loopback = false;
  const handle = async (req: IncomingMessage, res: ServerResponse, send: (status: number, body: string, type?: string) => void, body: () => Promise<Buffer>) => {
    const path = pathOf(req.url);
    if (path === null) return send(400, `bad request target; ask for a path such as ${ROUTES}\n`);
    const checkin = opts.checkins ? checkinRoute(path) : null;
    if (checkin) {
      // Its own methods (POST too) and checks; authentication below applies as to every /api/ path.
      const auth = opts.config().server?.auth ?? null;
      if (auth && !authenticated(auth, req.headers.authorization)) {
        res.setHeader('www-authenticate', auth.type === 'bearer' ? 'Bearer realm="kr-tracker"' : 'Basic realm="kr-tracker", charset="UTF-8"');
        return send(401, JSON.stringify({ error: `authentication required; send ${auth.type === 'bearer' ? 'Authorization: Bearer <token>' : 'HTTP basic auth'} (server.auth)` }) + '\n', 'application/json; charset=utf-8');
      }
      const reply = await opts.checkins!.handle(checkin, { method: req.method ?? '', headers: req.headers, body, authenticated: auth !== null, loopback, config: opts.config(), now: opts.now() });
      if (reply.allow) res.setHeader('allow', reply.allow);
      return send(reply.status, JSON.stringify(reply.body, null, 2) + '\n', 'application/json; charset=utf-8');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, `method not allowed; use GET\n`);
    }
    const auth = opts.config().server?.auth ?? null;
    const protectedPath = path.startsWith('/api/') || (path === '/metrics' && auth?.metrics === true);
    if (auth && protectedPath && !authenticated(auth, req.headers.authorization)) {
      res.setHeader('www-authenticate', auth.type === 'bearer' ? 'Bearer realm="kr-tracker"' : 'Basic realm="kr-tracker", charset="UTF-8"');
      return send(401, `authentication required; send ${auth.type === 'bearer' ? 'Authorization: Bearer <token>' : 'HTTP basic auth'} (server.auth)\n`);
    }
    const explain = opts.explain ? explainRoute(path) : null;
    if (explain) {
      const reply = await opts.explain!(explain, new URL(req.url ?? '/', 'http://localhost').searchParams);
      if (reply.status === 429) res.setHeader('retry-after', '5');
      return send(reply.status, JSON.stringify(reply.body, null, 2) + '\n', 'application/json; charset=utf-8');
    }
    switch (path) {
      case '/metrics': {
        const { status, body } = await metricsText();
        return send(status, body, opts.exporter.registry.contentType);
      }
      case '/healthz':
        return send(200, 'ok\n');
      case '/readyz':
        return (await opts.ready()) ? send(200, 'ready\n') : send(503, 'not ready: the store does not answer\n');
      case '/api/v1/objectives': {
        const doc = objectivesDocument(opts.config(), await opts.store.getResults(), opts.now());
        // Errors name the URLs of internal sources: only for a client that has authenticated.
        if (!auth) doc.objectives = doc.objectives.map((o) => ({ ...o, keyResults: o.keyResults.map((kr) => (kr.error ? { ...kr, error: redactUrls(kr.error) } : kr)) }));
        return send(200, JSON.stringify(doc, null, 2) + '\n', 'application/json; charset=utf-8');
      }
      case '/api/v1/sources': {
        let view = sourcesView(planStreams(opts.config()), await opts.store.getSourceHealth());
        if (!auth) view = view.map((s) => (s.lastError ? { ...s, lastError: redactUrls(s.lastError) } : s));
        return send(200, JSON.stringify(view, null, 2) + '\n', 'application/json; charset=utf-8');
      }
      default:
        return send(404, `not found; try ${ROUTES}\n`);
    }
  };

  const server = createServer(
    {
      headersTimeout: HTTP_LIMITS.headersTimeoutMs,
      requestTimeout: HTTP_LIMITS.requestTimeoutMs,
      keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1_000,
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
        if (res.headersSent || res.writableEnded) return;
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      // A body is only read by POST check-ins (at most CHECKIN_MAX_BODY_BYTES, answered 413 past
      // that); elsewhere a small one is drained and a large one cut off.
      let body = 0;
      const chunks: Buffer[] = [];
      const keep = req.method === 'POST';
      let ended = false;
      let tooLarge = false;
      const waiting: (() => void)[] = [];
      const settle = () => waiting.splice(0).forEach((f) => f());
      req.on('data', (chunk: Buffer) => {
        body += chunk.length;
        if (keep && body <= CHECKIN_MAX_BODY_BYTES) chunks.push(chunk);
        else if (keep && !tooLarge) {
          tooLarge = true;
          chunks.length = 0;
          settle();
        }
        if (body > HTTP_LIMITS.maxBodyBytes) {
          send(413, 'request body too large; these endpoints take none\n');
          req.socket.destroy();
        }
      });
      req.on('end', () => {
        ended = true;
        settle();
      });
      const readBody = () =>
        new Promise<Buffer>((resolve, reject) => {
          const done = () => (tooLarge ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks)));
          if (ended || tooLarge) return done();
          waiting.push(done);
          req.once('close', () => (ended ? undefined : reject(new Error('the client went away'))));
        });
      req.on('error', () => req.socket.destroy());
      const fail = (err: unknown) => {
        opts.logger.error({ err: err instanceof Error ? err.message : String(err), method: String(req.method).slice(0, 16) }, 'request failed');
        if (!res.headersSent) send(503, 'the store did not answer; see the service log\n');
        else res.destroy();
      };
      try {
        handle(req, res, send, readBody).catch(fail);
      } catch (err) {
        fail(err);
      }
    },
  );
  server.maxConnections = opts.maxConnections ?? HTTP_LIMITS.maxConnections;
  server.setTimeout(HTTP_LIMITS.idleTimeoutMs, (socket) => socket.destroy());
  // Malformed HTTP (bad request line, bad headers, oversized head): answer 400 and close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9464, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, a server error (e.g. EMFILE on accept) is logged, never thrown.
  server.on('error', (err) => opts.logger.error({ err: err.message }, 'HTTP server error'));
  const addr = server.address() as AddressInfo;
  loopback = /^(127\.|::1$|::ffff:127\.)/.test(addr.address);
  const host = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '[::1]' : addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
