import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config, ServerAuth } from '../config/types.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../core/store.js';
import { acceptsGzip } from './gzip.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { ownMetrics, ServedView, type Body } from './served.js';
import { explainRoute, type ExplainHandler } from './explain-route.js';
import { BodyTooLarge, checkinRoute, CHECKIN_MAX_BODY_BYTES, type CheckinRoutes } from '../checkins/http-route.js';
import type { CheckinStore } from '../checkins/checkin-store.js';

export interface HttpServerOptions {
  store: Store;
  /**
   * The store's change counter (queue/changes.ts): /metrics and /api are then served from memory
   * and read again only when it moves. None: the store is read for every request.
   */
  version?: () => Promise<number>;
  /** How often the counter is checked in the background (default 1 s). */
  pollMs?: number;
  /** The store is read again at least this often, moved counter or not (default 60 s). */
  maxAgeMs?: number;
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
  /** Where check-ins and revisions are kept, for their series on /metrics. */
  checkinStore?: CheckinStore;
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
  const view = new ServedView({ store: opts.store, config: opts.config, now: opts.now, logger: opts.logger, version: opts.version, pollMs: opts.pollMs, maxAgeMs: opts.maxAgeMs, redact: redactUrls, checkins: opts.checkinStore });
  const JSON_TYPE = 'application/json; charset=utf-8';

  /** Several buffers are written one after the other (no copy of a large body per request). */
  type Send = (status: number, body: string | Buffer | Buffer[], type?: string, headers?: Record<string, string>) => void;
  /** A body in the encoding the client accepts. */
  const sendBody = (req: IncomingMessage, send: Send, status: number, body: Body, type: string) =>
    acceptsGzip(req.headers['accept-encoding']) ? send(status, body.gzip(), type, { 'content-encoding': 'gzip', vary: 'accept-encoding' }) : send(status, body.text, type, { vary: 'accept-encoding' });

  // Set once listening: whether only this machine can reach the listener.
  let loopback = false;
  const handle = async (req: IncomingMessage, res: ServerResponse, send: Send, body: () => Promise<Buffer>) => {
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
        const gzip = acceptsGzip(req.headers['accept-encoding']);
        const served = await view.current({ gzip });
        const own = ownMetrics(served, served.view !== null);
        if (!served.view) return send(503, own, PROMETHEUS_CONTENT_TYPE);
        const out = await served.view.metrics(own, gzip);
        return 'gzip' in out
          ? send(200, out.gzip, PROMETHEUS_CONTENT_TYPE, { 'content-encoding': 'gzip', vary: 'accept-encoding' })
          : send(200, out.plain, PROMETHEUS_CONTENT_TYPE, { vary: 'accept-encoding' });
      }
      case '/healthz':
        return send(200, 'ok\n');
      case '/readyz':
        return (await opts.ready()) ? send(200, 'ready\n') : send(503, 'not ready: the store does not answer\n');
      case '/api/v1/objectives':
      case '/api/v1/sources': {
        const served = await view.current();
        // The API is for reading current state: while Redis does not answer it says so.
        if (!served.view || !served.up) return send(503, 'the store did not answer; see the service log\n');
        // Errors name the URLs of internal sources: only for a client that has authenticated.
        const body = path === '/api/v1/objectives' ? served.view.objectives(opts.now(), !auth) : served.view.sources(!auth);
        return sendBody(req, send, 200, body, JSON_TYPE);
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
      const send: Send = (status, body, type = 'text/plain; charset=utf-8', headers = {}) => {
        if (res.headersSent || res.writableEnded) return;
        const parts = Array.isArray(body) ? body : [body];
        const length = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-length': String(length), ...headers });
        if (req.method === 'HEAD') return void res.end();
        for (const p of parts.slice(0, -1)) res.write(p);
        res.end(parts[parts.length - 1]);
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
        view.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
