// Why a deployments stream came back empty: the environments the repository does have, so that a
// key result reading `environment: prod` of a repository deploying to `production` says so instead
// of measuring zero. REST: GET /repos/{owner}/{repo}/environments ({ total_count, environments:
// [{ name, ... }] }; read access, Actions: read for fine-grained tokens),
// https://docs.github.com/en/rest/deployments/environments#list-environments
// Also how an environment pattern (`production-*`, one repository deploying several services) is
// resolved: the same listing, matched by src/core/glob.ts.
import type { SyncReport } from '../../src/core/connector.js';
import { SourceError } from '../../src/core/errors.js';
import { matchEnvironments } from '../../src/core/glob.js';
import type { Store } from '../../src/core/store.js';
import { streams, type PatternCursor } from '../../src/core/stream.js';
import type { GithubClient } from './client.js';
import { conditionalGet, type RequestCounter } from './conditional.js';

/** The note for a deployments stream of `repo`@`environment` that stored nothing; one request. */
export async function environmentsNote(client: GithubClient, repo: string, environment: string): Promise<string | null> {
  const [owner = '', name = ''] = repo.split('/');
  try {
    const res = await client.request('GET /repos/{owner}/{repo}/environments', { owner, repo: name, per_page: 100 });
    const names = (res.data.environments ?? []).map((e) => e.name).filter((n) => n !== environment).sort();
    const what = `no deployments in environment "${environment}"`;
    return names.length ? `${what}; this repository has: ${names.join(', ')}` : `${what}; this repository has no other environments`;
  } catch {
    // The note only explains an empty stream; a token that may not list environments is no reason
    // to fail a sync that succeeded.
    return null;
  }
}

/** `report` of a first deployments sync, with the note when it stored nothing. */
export async function withEnvironmentsNote(client: GithubClient, report: SyncReport, repo: string, environment: string): Promise<SyncReport> {
  if (report.stored > 0) return report;
  return { ...report, requests: report.requests + 1, note: await environmentsNote(client, repo, environment) };
}

/** The cursor of a pattern deployments stream: what it matched (read by the engine) and every name listed. */
export interface EnvironmentsCursor extends PatternCursor {
  /** Every environment of the repository at the last listing, for the note when nothing matches. */
  listed: string[];
}

/**
 * The environments of `repo` that `pattern` matches (src/core/glob.ts), listed with the ETag of the
 * last listing: a free 304 while the repository's environments did not change, then the names kept
 * in `cursorOf` are used. One page of 100 (GitHub lists them oldest first; a repository rarely has
 * more). An environment created later is matched at the next sync after it appears.
 */
export async function matchingEnvironments(
  client: GithubClient,
  store: Store,
  counter: RequestCounter,
  repo: string,
  pattern: string,
  previous: EnvironmentsCursor | null,
): Promise<EnvironmentsCursor> {
  const [owner = '', name = ''] = repo.split('/');
  const res = await conditionalGet<{ environments?: { name: string }[] }>(client, store, counter, '/repos/{owner}/{repo}/environments', { owner, repo: name, per_page: 100 }, previous !== null);
  if (res.notModified) return previous!;
  const listed = (res.data.environments ?? []).map((e) => e.name);
  if (res.etag) await store.setEtag(res.url, res.etag);
  return { environments: matchEnvironments([pattern], listed), listed };
}

/** The note of a pattern that matches none of the repository's environments. */
export function patternNote(pattern: string, listed: readonly string[]): string {
  const what = `no deployments in environment "${pattern}" (no environment matches it)`;
  return listed.length ? `${what}; this repository has: ${[...listed].sort().join(', ')}` : `${what}; this repository has no environments`;
}

/**
 * Syncs a deployments stream whose environment is a pattern (`acme/mono@production-*`): lists the
 * repository's environments (one request, usually a free 304) and syncs each matching one as its
 * own stream (`sync(environment)`: the deployments of `repo@environment`, into that partition, with
 * its own cursor), then keeps the matched names in the pattern stream's cursor, where the engine
 * finds which partitions to read. The report sums the syncs; it carries the note of a pattern that
 * matches nothing.
 */
export async function syncPatternDeployments(
  client: GithubClient,
  store: Store,
  repo: string,
  pattern: string,
  sync: (environment: string) => Promise<SyncReport>,
): Promise<SyncReport> {
  const stream = streams.deployments(repo, pattern);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  const previous = await store.getCursor<EnvironmentsCursor>(stream);
  let found: EnvironmentsCursor;
  try {
    found = await matchingEnvironments(client, store, counter, repo, pattern, previous);
  } catch (err) {
    // Without the list there is nothing to match: say why, and what else can be written.
    if (err instanceof SourceError && (err.status === 403 || err.status === 404)) {
      throw new SourceError(
        `${err.message}; an environment pattern ("${pattern}") is matched against the repository's environments, which needs read access to them (fine-grained token or App: Actions: read), or name the environments in the key result instead`,
        'github',
        false,
        err.status,
      );
    }
    throw err;
  }
  const report: SyncReport = { stream, requests: counter.requests, notModified: counter.notModified, stored: 0, rateLimitRemaining: counter.rateLimitRemaining };
  for (const env of found.environments) {
    const r = await sync(env);
    report.requests += r.requests;
    report.notModified += r.notModified;
    report.stored += r.stored;
    report.rateLimitRemaining = r.rateLimitRemaining ?? report.rateLimitRemaining;
  }
  await store.setCursor(stream, found);
  if (found.environments.length === 0) report.note = patternNote(pattern, found.listed);
  return report;
}

/**
 * Syncs the compare stream of a pattern (`acme/mono@production-*`): the compares of each
 * environment the pattern's deployments stream matched at its last sync (its cursor).
 */
export async function syncPatternCompares(store: Store, repo: string, pattern: string, sync: (environment: string) => Promise<SyncReport>): Promise<SyncReport> {
  const cursor = await store.getCursor<EnvironmentsCursor>(streams.deployments(repo, pattern));
  const report: SyncReport = { stream: streams.compare(repo, pattern), requests: 0, notModified: 0, stored: 0, rateLimitRemaining: null };
  for (const env of cursor?.environments ?? []) {
    const r = await sync(env);
    report.requests += r.requests;
    report.notModified += r.notModified;
    report.stored += r.stored;
    report.rateLimitRemaining = r.rateLimitRemaining ?? report.rateLimitRemaining;
  }
  return report;
}
