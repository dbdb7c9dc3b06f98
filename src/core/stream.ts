// Streams: what a connector syncs, one incremental listing of one source. A stream travels and is
// stored as a StreamKey `{ source, stream, key }` (sync jobs, cursors, source health); its parts
// (repository, environment, workflow, ...) are read from the typed Stream, never by matching the
// key string elsewhere. This file is the one place that knows how a key is spelt.
import type { EventKind } from './events.js';
import { isGlob } from './glob.js';

/** One incremental stream of one source, e.g. github deployments of acme/payments in production. */
export interface StreamKey {
  source: string;
  stream: string;
  /** Stable key within the source: `acme/payments@production`. */
  key: string;
}

/** A stream with its parts, as the connectors and the sync plan use it. */
export type Stream =
  /**
   * GitHub deployments of one environment; key `owner/repo@environment`. The environment may be a
   * pattern (`production-*`, src/core/glob.ts): the stream then syncs every matching environment of
   * the repository, each into its own partition `owner/repo@name` (`expandsPattern`).
   */
  | { source: 'github'; stream: 'deployments'; repo: string; environment: string }
  /** The commits between consecutive successful deployments of one environment (derived); key `owner/repo@environment`. */
  | { source: 'github'; stream: 'compare'; repo: string; environment: string }
  /** Runs of one workflow on one branch; key `owner/repo/workflow@branch` (the branch may hold `/` and `@`). */
  | { source: 'github'; stream: 'runs'; repo: string; workflow: string; branch: string }
  /** Coverage of the successful runs of the `runs` stream of the same workflow (derived); key `owner/repo/workflow@branch#artifact`. */
  | { source: 'github'; stream: 'coverage'; repo: string; workflow: string; branch: string; artifact: string }
  /** The default-branch history of a repository; key `owner/repo`. */
  | { source: 'github'; stream: 'history'; repo: string }
  /** Pull requests merged into the default branch, with their first commit; key `owner/repo`. */
  | { source: 'github'; stream: 'pulls'; repo: string }
  /**
   * The default-branch commits touching one path (a file or directory, `services/payments/`), as
   * GET /repos/{o}/{r}/commits?path= lists them (lead time with `paths:`); key `owner/repo/path`.
   */
  | { source: 'github'; stream: 'paths'; repo: string; path: string }
  /** PagerDuty incidents of one service; key: the service id. */
  | { source: 'pagerduty'; stream: 'incidents'; service: string };

export type StreamName = Stream['stream'];

/** The identity of a stream: `github:deployments:acme/payments@production`. */
export function streamId(s: StreamKey | Stream): string {
  const k = 'key' in s ? s : streamKey(s);
  return `${k.source}:${k.stream}:${k.key}`;
}

/** `owner/repo/workflow@branch`: the key of a runs stream, and the partition its runs are stored in. */
const runsKey = (repo: string, workflow: string, branch: string): string => `${repo}/${workflow}@${branch}`;

/** The key a stream travels and is stored under. */
export function streamKey(s: Stream): StreamKey {
  const key = (k: string): StreamKey => ({ source: s.source, stream: s.stream, key: k });
  switch (s.stream) {
    case 'deployments':
    case 'compare':
      return key(`${s.repo}@${s.environment}`);
    case 'runs':
      return key(runsKey(s.repo, s.workflow, s.branch));
    case 'coverage':
      return key(`${runsKey(s.repo, s.workflow, s.branch)}#${s.artifact}`);
    case 'history':
    case 'pulls':
      return key(s.repo);
    case 'paths':
      return key(`${s.repo}/${s.path}`);
    case 'incidents':
      return key(s.service);
  }
}

/** Thrown for a stream key that does not name one of the streams above; says what was expected. */
export class StreamKeyError extends Error {
  override readonly name = 'StreamKeyError';
}

// The workflow file name comes before the first `@` after the repository; a branch may hold `/`,
// `@` and `#`; an environment is what follows the last `@`.
const KEY_FORMS: Record<string, { pattern: RegExp; example: string }> = {
  'github:deployments': { pattern: /^(.+)@([^@]+)$/, example: 'owner/repo@environment (e.g. acme/payments@production)' },
  'github:compare': { pattern: /^(.+)@([^@]+)$/, example: 'owner/repo@environment (e.g. acme/payments@production)' },
  'github:runs': { pattern: /^([^/]+\/[^/]+)\/([^/@]+)@(.+)$/, example: 'owner/repo/workflow@branch (e.g. acme/payments/ci.yml@main)' },
  'github:coverage': { pattern: /^([^/]+\/[^/]+)\/([^/@]+)@(.+)#([^#]+)$/, example: 'owner/repo/workflow@branch#artifact (e.g. acme/payments/ci.yml@main#coverage)' },
  'github:history': { pattern: /^([^/]+\/[^/]+)$/, example: 'owner/repo (e.g. acme/payments)' },
  'github:pulls': { pattern: /^([^/]+\/[^/]+)$/, example: 'owner/repo (e.g. acme/payments)' },
  'github:paths': { pattern: /^([^/]+\/[^/]+)\/(.+)$/, example: 'owner/repo/path (e.g. acme/monorepo/services/payments/)' },
  'pagerduty:incidents': { pattern: /^(.+)$/, example: 'a PagerDuty service id (e.g. PXXXXXX)' },
};

/**
 * The stream a key names, with its parts. A key that is not spelt as its stream's keys are
 * throws StreamKeyError naming the stream and the expected form.
 */
export function parseStream(k: StreamKey): Stream {
  const form = KEY_FORMS[`${k.source}:${k.stream}`];
  if (!form) throw new StreamKeyError(`${k.source} has no stream "${k.stream}"; streams: ${Object.keys(KEY_FORMS).join(', ')}`);
  const m = form.pattern.exec(k.key);
  if (!m) throw new StreamKeyError(`${k.source} ${k.stream} stream key "${k.key}" is not ${form.example}`);
  const p = m.slice(1) as string[];
  switch (`${k.source}:${k.stream}`) {
    case 'github:deployments':
      return { source: 'github', stream: 'deployments', repo: p[0]!, environment: p[1]! };
    case 'github:compare':
      return { source: 'github', stream: 'compare', repo: p[0]!, environment: p[1]! };
    case 'github:runs':
      return { source: 'github', stream: 'runs', repo: p[0]!, workflow: p[1]!, branch: p[2]! };
    case 'github:coverage':
      return { source: 'github', stream: 'coverage', repo: p[0]!, workflow: p[1]!, branch: p[2]!, artifact: p[3]! };
    case 'github:history':
      return { source: 'github', stream: 'history', repo: p[0]! };
    case 'github:pulls':
      return { source: 'github', stream: 'pulls', repo: p[0]! };
    case 'github:paths':
      return { source: 'github', stream: 'paths', repo: p[0]!, path: p[1]! };
    default:
      return { source: 'pagerduty', stream: 'incidents', service: p[0]! };
  }
}

/** The stream a key names, which must be a `name` stream (a connector's dispatch, tests). */
export function parseStreamOf<N extends StreamName>(k: StreamKey, name: N): Extract<Stream, { stream: N }> {
  const s = parseStream(k);
  if (s.stream !== name) throw new StreamKeyError(`${streamId(k)} is not a ${name} stream`);
  return s as Extract<Stream, { stream: N }>;
}

/** The store partition a stream's events are written to, and their kind. */
export function partitionOf(s: StreamKey | Stream): { kind: EventKind; partition: string } {
  const t = 'key' in s ? parseStream(s) : s;
  switch (t.stream) {
    case 'deployments':
      return { kind: 'deployment', partition: `${t.repo}@${t.environment}` };
    case 'compare':
      return { kind: 'compare', partition: t.repo };
    case 'runs':
      return { kind: 'workflow_run', partition: runsKey(t.repo, t.workflow, t.branch) };
    case 'coverage':
      return { kind: 'coverage', partition: runsKey(t.repo, t.workflow, t.branch) };
    case 'history':
      return { kind: 'commit', partition: t.repo };
    case 'pulls':
      return { kind: 'pull_request', partition: t.repo };
    case 'paths':
      return { kind: 'commit', partition: `${t.repo}/${t.path}` };
    case 'incidents':
      return { kind: 'incident', partition: t.service };
  }
}

/**
 * The stream a derived stream is computed from (compares from the deployments of the same
 * environment, coverage from the runs of the same workflow), to sync after it; null for a stream
 * read from the source itself.
 */
export function derivedFrom(s: StreamKey | Stream): StreamKey | null {
  if (s.stream !== 'compare' && s.stream !== 'coverage') return null;
  const t = 'key' in s ? parseStream(s) : s;
  if (t.stream === 'compare') return streams.deployments(t.repo, t.environment);
  if (t.stream === 'coverage') return streams.runs(t.repo, t.workflow, t.branch);
  return null;
}

/** The repository (GitHub) or service (PagerDuty) a stream belongs to, for messages. */
export function ownerOf(s: StreamKey | Stream): string {
  const t = 'key' in s ? parseStream(s) : s;
  return t.source === 'pagerduty' ? t.service : t.repo;
}

/**
 * The environment pattern of a deployments or compare stream (`production-*`), or null when it
 * names one environment. A pattern stream's events live in the partitions of the environments it
 * matched (`patternPartitions`); the connector keeps which ones in the stream's cursor.
 */
export function environmentPattern(s: StreamKey | Stream): string | null {
  if (s.stream !== 'deployments' && s.stream !== 'compare') return null;
  const t = 'key' in s ? parseStream(s) : s;
  return (t.stream === 'deployments' || t.stream === 'compare') && isGlob(t.environment) ? t.environment : null;
}

/** What the GitHub connector keeps in the cursor of a pattern deployments stream: the environments it matched. */
export interface PatternCursor {
  /** Matching environment names, as the repository spells them. */
  environments: string[];
}

/** The deployment partitions of the environments a pattern stream matched (from its cursor). */
export function patternPartitions(repo: string, cursor: PatternCursor | null): string[] {
  return (cursor?.environments ?? []).map((e) => `${repo}@${e}`);
}

/** Constructors of the StreamKey of each stream. */
export const streams = {
  deployments: (repo: string, environment: string): StreamKey => streamKey({ source: 'github', stream: 'deployments', repo, environment }),
  compare: (repo: string, environment: string): StreamKey => streamKey({ source: 'github', stream: 'compare', repo, environment }),
  runs: (repo: string, workflow: string, branch: string): StreamKey => streamKey({ source: 'github', stream: 'runs', repo, workflow, branch }),
  coverage: (repo: string, workflow: string, branch: string, artifact: string): StreamKey =>
    streamKey({ source: 'github', stream: 'coverage', repo, workflow, branch, artifact }),
  history: (repo: string): StreamKey => streamKey({ source: 'github', stream: 'history', repo }),
  pulls: (repo: string): StreamKey => streamKey({ source: 'github', stream: 'pulls', repo }),
  paths: (repo: string, path: string): StreamKey => streamKey({ source: 'github', stream: 'paths', repo, path }),
  incidents: (service: string): StreamKey => streamKey({ source: 'pagerduty', stream: 'incidents', service }),
};
