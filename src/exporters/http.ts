import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/types.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import { objectivesDocument } from './objectives-view.js';
import type { MetricsExporter } from './metrics.js';

export interface HttpServerOptions {
  exporter: MetricsExporter;
  store: Store;
  config: () => Config;
  now: () => number;
  logger: Logger;
  /** Resolves when the service can serve current data (Redis answers, config loaded). */
  ready: () => Promise<boolean>;
  host?: string;
  port?: number;
}

export interface RunningHttpServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * GET /metrics (Prometheus text format), /healthz (the process answers), /readyz (the store
 * answers), /api/v1/objectives (JSON for `krt status`).
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, `method ${req.method} not allowed; use GET\n`);
    }
    const handle = async () => {
      switch (url.pathname) {
        case '/metrics':
          return send(200, await opts.exporter.render(), opts.exporter.registry.contentType);
        case '/healthz':
          return send(200, 'ok\n');
        case '/readyz':
          return (await opts.ready()) ? send(200, 'ready\n') : send(503, 'not ready: the store does not answer\n');
        case '/api/v1/objectives': {
          const doc = objectivesDocument(opts.config(), await opts.store.getResults(), opts.now());
          return send(200, JSON.stringify(doc, null, 2) + '\n', 'application/json; charset=utf-8');
        }
        default:
          return send(404, `not found: ${url.pathname}; try /metrics, /healthz, /readyz or /api/v1/objectives\n`);
      }
    };
    handle().catch((err: unknown) => {
      opts.logger.error({ err: err instanceof Error ? err.message : String(err), path: url.pathname }, 'request failed');
      if (!res.headersSent) send(503, 'the store did not answer; see the service log\n');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9464, opts.host ?? '0.0.0.0', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.address;
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
