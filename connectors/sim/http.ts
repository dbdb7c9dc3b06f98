// The HTTP shell of the simulators: the server with its crash guard, listen/close, the request
// log's common fields, the credential in the Authorization header, and weak ETags with
// If-None-Match.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listen } from '../../src/lib/net.js';

/** What every simulator logs of a request; each adds its own fields. */
export interface SimRequestBase {
  method: string;
  /** Path with query string, as requested. */
  path: string;
  /** The answer's status; 0 when the connection was dropped. */
  status: number;
  /** The route's label, e.g. `GET /incidents/{id}`; `unknown` when no route matched. */
  route: string;
  at: number;
}

/** Requests per route label, and how many answered 304. */
export function countRoutes(requests: readonly SimRequestBase[]): { total: number; notModified: number; byRoute: Record<string, number> } {
  const byRoute: Record<string, number> = {};
  let notModified = 0;
  for (const r of requests) {
    byRoute[r.route] = (byRoute[r.route] ?? 0) + 1;
    if (r.status === 304) notModified++;
  }
  return { total: requests.length, notModified, byRoute };
}

/** The credential of an Authorization header by `scheme` (its capture group 1), or null. */
export function credential(header: string | undefined, scheme: RegExp): string | null {
  const m = typeof header === 'string' ? scheme.exec(header) : null;
  return m ? (m[1] as string) : null;
}

/** A weak ETag of a payload, as GitHub sends them: `W/"<sha1>"`. */
export function weakEtag(payload: string): string {
  return `W/"${createHash('sha1').update(payload).digest('hex')}"`;
}

/** `If-None-Match` weak comparison: a list of tags or `*`. */
export function etagMatches(header: string, etag: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  const want = strip(etag);
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === want);
}

export interface SimServer {
  /** http://host:port, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `handle` on host:port (port 0: a free one). A handler that throws answers 500 with
 * `errorBody(message)` (when nothing was sent yet) and `onError` logs it; the process goes on.
 */
export async function startSimServer(opts: {
  port?: number;
  host?: string;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  errorBody: (message: string) => unknown;
  onError: (req: IncomingMessage) => void;
}): Promise<SimServer> {
  const server = createServer((req, res) => {
    try {
      opts.handle(req, res);
    } catch (err) {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(opts.errorBody(`simulator error: ${err instanceof Error ? err.message : String(err)}`)));
        opts.onError(req);
      }
    }
  });
  const url = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  return { url, close: () => closeServer(server) };
}
