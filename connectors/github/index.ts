import type { Logger } from 'pino';
import type { GithubSource } from '../../src/config/types.js';
import type { Store, StreamKey } from '../../src/store/store.js';
import type { Connector, SyncReport } from '../types.js';
import { createGithubClient, type GithubClient } from './client.js';
import { syncDeployments } from './deployments.js';

export interface GithubConnectorOptions {
  source: GithubSource;
  store: Store;
  logger: Logger;
  now: () => number;
  retryBaseMs?: number;
  maxRateLimitWaitMs?: number;
  /** Page size of list requests (GitHub allows up to 100). */
  perPage?: number;
}

export function createGithubConnector(opts: GithubConnectorOptions): Connector {
  const client: GithubClient = createGithubClient({
    baseUrl: opts.source.baseUrl,
    token: opts.source.token?.reveal() ?? null,
    logger: opts.logger,
    retryBaseMs: opts.retryBaseMs,
    maxRateLimitWaitMs: opts.maxRateLimitWaitMs,
  });
  return {
    source: 'github',
    async sync(stream: StreamKey): Promise<SyncReport> {
      if (stream.stream === 'deployments') {
        const at = stream.key.lastIndexOf('@');
        return syncDeployments({ client, store: opts.store, now: opts.now, perPage: opts.perPage }, stream.key.slice(0, at), stream.key.slice(at + 1));
      }
      throw new Error(`github connector has no stream "${stream.stream}"`);
    },
  };
}
