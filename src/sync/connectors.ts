import { compareFrom } from './compare-from.js';
import { coverageInstants } from './coverage-instants.js';
import { createGithubConnector, type GithubConnectorOptions } from '../../connectors/github/index.js';
import { createPagerDutyConnector } from '../../connectors/pagerduty/index.js';
import type { Connector, SyncHooks, SyncReport } from '../core/connector.js';
import { createPrometheusClient } from '../../connectors/prometheus/client.js';
import { measurePromql } from '../../connectors/prometheus/promql.js';
import type { Config } from '../config/types.js';
import type { LiveSources } from '../engine/measure.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../core/store.js';
import type { StreamKey } from '../core/stream.js';

export interface Connectors {
  sync(stream: StreamKey, hooks?: SyncHooks): Promise<SyncReport>;
  /** Sources asked at evaluation time (PromQL), not synced into the store. */
  live: LiveSources;
}

export interface ConnectorOptions {
  config: Config;
  store: Store;
  logger: Logger;
  now: () => number;
  retryBaseMs?: number;
  /** The instant `krt run --once --at` evaluates (coverage downloads the report valid then). */
  at?: number;
  /** `krt backfill`'s days (YYYY-MM-DD): coverage downloads the report valid at the end of each. */
  coverageDays?: { from: string; to: string };
  /** Retries of a request after a 5xx or network error (PagerDuty). */
  maxRetries?: number;
  /** GitHub client settings: the shared rate-limit budget, deadlines, retries. */
  github?: Pick<GithubConnectorOptions, 'budget' | 'maxRateLimitWaitMs' | 'timeoutMs' | 'maxBodyBytes' | 'retries' | 'sleep'>;
}

/** The configured sources' connectors, by source name. */
export function createConnectors(opts: ConnectorOptions): Connectors {
  const map = new Map<string, Connector>();
  const gh = opts.config.sources.github;
  if (gh) {
    const days = opts.coverageDays;
    const coverage = {
      instants: (key: string, now: number) => coverageInstants(opts.config, key, now, opts.at, days),
      // A backfill asks for the report of each of its days at once.
      ...(days ? { maxDailyDownloadsPerSync: Number.MAX_SAFE_INTEGER, maxDownloadsPerSync: Number.MAX_SAFE_INTEGER } : {}),
    };
    // Lead time: pairs (and history) from the key results' windows on; a backfill reaches further.
    const compare = { from: (key: string, now: number) => compareFrom(opts.config, key, now, opts.at, days) };
    map.set('github', createGithubConnector({ source: gh, store: opts.store, logger: opts.logger, now: opts.now, retryBaseMs: opts.retryBaseMs, coverage, compare, ...opts.github }));
  }
  const pd = opts.config.sources.pagerduty;
  // One incident listing for every service of the config (service_ids[] of them all).
  const services = [...new Set(opts.config.objectives.flatMap((o) => o.keyResults.flatMap((k) => k.services)))];
  if (pd) map.set('pagerduty', createPagerDutyConnector({ source: pd, store: opts.store, logger: opts.logger, now: opts.now, retryBaseMs: opts.retryBaseMs, maxRetries: opts.maxRetries, services }));
  const prom = opts.config.sources.prometheus;
  const promClient = prom ? createPrometheusClient({ source: prom }) : null;
  const live: LiveSources = promClient
    ? { promql: (kr, at) => measurePromql(promClient, kr.query ?? '', kr.aggregate, at) }
    : {};
  return {
    live,
    async sync(stream, hooks) {
      const c = map.get(stream.source);
      if (!c) throw new Error(`no connector for source "${stream.source}": configure sources.${stream.source} in the OKR file`);
      return c.sync(stream, hooks);
    },
  };
}
