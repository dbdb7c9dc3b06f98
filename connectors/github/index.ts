import type { Logger } from 'pino';
import type { GithubSource } from '../../src/core/sources.js';
import type { Store } from '../../src/core/store.js';
import { environmentPattern, parseStreamOf, type StreamKey } from '../../src/core/stream.js';
import type { Connector, SyncReport } from '../../src/core/connector.js';
import { parseRunsKey, syncWorkflowRuns, type RunsSyncOptions } from './actions.js';
import { boundedFetch, type RateBudget, type Sleep } from '../kit/index.js';
import { createGithubClient, type GithubClient } from './client.js';
import { syncCompares } from './compare.js';
import { parseCoverageKey, syncCoverage, type CoverageSyncOptions } from './coverage.js';
import { deploymentNodesBatcher, syncDeployments } from './deployments.js';
import { syncPatternCompares, syncPatternDeployments, withEnvironmentsNote } from './environments.js';
import { syncPathCommits } from './paths.js';
import { syncPulls } from './pulls.js';

export interface GithubConnectorOptions {
  source: GithubSource;
  store: Store;
  logger: Logger;
  now: () => number;
  retryBaseMs?: number;
  /** Retries of one request after a 5xx, a network error or a timeout (default 4). */
  retries?: number;
  maxRateLimitWaitMs?: number;
  /** Total deadline of each request and artifact download (default 30 s). */
  timeoutMs?: number;
  /** Largest JSON page accepted (default 50 MB). */
  maxBodyBytes?: number;
  /** The rate-limit budget shared by workers (the service keeps it in Redis). */
  budget?: RateBudget;
  sleep?: Sleep;
  /** Page size of list requests (GitHub allows up to 100). */
  perPage?: number;
  /** Workflow-run streams: history, settle margin, listing cap. */
  runs?: Pick<RunsSyncOptions, 'historyMs' | 'settleMs' | 'maxRunMs' | 'listCap'>;
  /** Compare streams: the earliest instant their key results evaluate (src/sync/compare-from.ts); default: every pair. */
  compare?: { from?: (key: string, now: number) => number | null };
  /** Coverage streams: history, download budget and size limits. */
  coverage?: Pick<CoverageSyncOptions, 'historyMs' | 'maxDailyDownloadsPerSync' | 'maxDownloadsPerSync' | 'maxArtifactBytes' | 'maxReportBytes' | 'perPage'> & {
    /** The instants a stream's values need (src/sync/coverage-instants.ts); default: now only. */
    instants?: (key: string, now: number) => { instants: number[]; daily: number[] };
  };
}

/**
 * Streams:
 * - `deployments`, key `owner/repo@environment`;
 * - `compare`, key `owner/repo@environment`: commits between its successful deployments (derived);
 * - `runs`, key `owner/repo/workflow@branch` (e.g. `acme/payments/ci.yml@main`): workflow runs;
 * - `coverage`, key `owner/repo/workflow@branch#artifact` (e.g. `acme/payments/ci.yml@main#coverage`):
 *   line coverage of the successful runs stored by the `runs` stream of the same key (derived: the
 *   sync plan runs it after that stream, src/sync/plan.ts `dependentStreams`);
 * - `pulls`, key `owner/repo`: pull requests merged into the default branch, with their first commit;
 * - `paths`, key `owner/repo/path`: default-branch commits touching a path (lead time with `paths:`).
 * A deployments or compare key whose environment is a pattern (`acme/mono@production-*`) syncs every
 * matching environment (./environments.ts).
 */
export function createGithubConnector(opts: GithubConnectorOptions): Connector {
  const client: GithubClient = createGithubClient({
    baseUrl: opts.source.baseUrl,
    token: opts.source.token?.reveal() ?? null,
    app: opts.source.app
      ? { appId: opts.source.app.appId, installationId: opts.source.app.installationId, privateKey: opts.source.app.privateKey.reveal() }
      : null,
    logger: opts.logger,
    retryBaseMs: opts.retryBaseMs,
    retries: opts.retries,
    maxRateLimitWaitMs: opts.maxRateLimitWaitMs,
    timeoutMs: opts.timeoutMs,
    maxBodyBytes: opts.maxBodyBytes,
    budget: opts.budget,
    sleep: opts.sleep,
  });
  // Artifact downloads (the storage URL behind the 302) get the same total deadline; coverage
  // caps their size itself (maxArtifactBytes).
  const downloadFetch = boundedFetch({ source: 'github', label: 'GitHub artifact download', timeoutMs: opts.timeoutMs, maxBytes: null });
  // Deployments streams syncing at the same time (run --once's streams in flight, a worker's
  // concurrent jobs) share their statuses reads: one `nodes(ids:)` point per 100 deployments.
  const deploymentNodes = deploymentNodesBatcher(client);
  const runsOptions: RunsSyncOptions = { client, store: opts.store, now: opts.now, perPage: opts.perPage, ...opts.runs };
  return {
    source: 'github',
    async sync(stream: StreamKey): Promise<SyncReport> {
      if (stream.stream === 'deployments') {
        const { repo, environment: env } = parseStreamOf(stream, 'deployments');
        const deploymentsOf = (e: string) => syncDeployments({ client, store: opts.store, now: opts.now, perPage: opts.perPage, logger: opts.logger, batcher: deploymentNodes }, repo, e);
        // A pattern: every matching environment of the repository, each as its own stream.
        if (environmentPattern(stream) !== null) return syncPatternDeployments(client, opts.store, repo, env, deploymentsOf);
        const first = (await opts.store.getCursor(stream)) === null;
        const report = await deploymentsOf(env);
        // A first sync that finds nothing asks which environments there are (one request), for the key result's reason.
        return first ? withEnvironmentsNote(client, report, repo, env) : report;
      }
      if (stream.stream === 'compare') {
        const { repo, environment } = parseStreamOf(stream, 'compare');
        // The key result's earliest instant is asked by the key as it writes it (the pattern).
        const from = opts.compare?.from?.(stream.key, opts.now()) ?? null;
        const comparesOf = (e: string) => syncCompares({ client, store: opts.store, now: opts.now, perPage: opts.perPage, from }, repo, e);
        if (environmentPattern(stream) !== null) return syncPatternCompares(opts.store, repo, environment, comparesOf);
        return comparesOf(environment);
      }
      if (stream.stream === 'paths') {
        const { repo, path } = parseStreamOf(stream, 'paths');
        return syncPathCommits({ client, store: opts.store, now: opts.now, perPage: opts.perPage, since: opts.compare?.from?.(stream.key, opts.now()) ?? null }, repo, path);
      }
      if (stream.stream === 'runs') {
        const k = parseRunsKey(stream.key);
        return syncWorkflowRuns(runsOptions, k.repo, k.workflow, k.branch);
      }
      if (stream.stream === 'coverage') {
        const k = parseCoverageKey(stream.key);
        const { instants, ...limits } = opts.coverage ?? {};
        const need = instants?.(stream.key, opts.now());
        return syncCoverage({ client, store: opts.store, now: opts.now, fetch: downloadFetch, ...limits, instants: need?.instants, dailyInstants: need?.daily }, k.repo, k.workflow, k.branch, k.artifact);
      }
      if (stream.stream === 'pulls') return syncPulls({ client, store: opts.store, now: opts.now, perPage: opts.perPage, logger: opts.logger }, stream.key);
      throw new Error(`github connector has no stream "${stream.stream}"`);
    },
  };
}
