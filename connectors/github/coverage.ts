// Line coverage of a workflow's successful runs, read from a named artifact (METRICS.md
// `test_coverage`). For each stored successful run without coverage yet, newest first:
// GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts?name=... then
// GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/zip, which answers 302 to a short-lived
// storage URL that is fetched WITHOUT the token (the storage refuses it; ../shared/TESTING.md).
// https://docs.github.com/en/rest/actions/artifacts#download-an-artifact
//
// The archive is read with a small zip reader on node:zlib (no dependency), and the report with
// METRICS.md's precedence: `coverage-summary.json` (Istanbul total.lines.pct / 100), else
// `lcov.info` (sum LH / sum LF), else Cobertura XML (`line-rate` of the root `coverage` element).
import * as zlib from 'node:zlib';
import { SourceError } from '../../src/lib/errors.js';
import type { CoverageEvent, WorkflowRunEvent } from '../../src/store/events.js';
import type { Store, StreamKey } from '../../src/store/store.js';
import type { SyncReport } from '../types.js';
import { runsPartition } from './actions.js';
import type { GithubClient } from './client.js';
import { conditionalGet, toSourceError, type RequestCounter } from './conditional.js';

const DAY = 86_400_000;
const MB = 1024 * 1024;

export interface CoverageSyncOptions {
  client: GithubClient;
  store: Store;
  now: () => number;
  /** Runs created this long before now are considered (default 180 days, like the runs stream). */
  historyMs?: number;
  /** Runs looked at per sync (default 100); later syncs go on with older ones. */
  maxRunsPerSync?: number;
  /** Largest archive downloaded (default 20 MB); a larger one is a clear error. */
  maxArtifactBytes?: number;
  /** Largest report file inflated from the archive (default 200 MB: a guard against zip bombs). */
  maxReportBytes?: number;
  /** Runs worked on at once (default 4): each costs two API requests and a download. */
  concurrency?: number;
  /** For the storage download (default globalThis.fetch). */
  fetch?: typeof fetch;
}

/**
 * Runs that will never yield coverage, by run id, with the reason: no artifact of that name,
 * expired, or a report that could not be read (reported once, by the sync that met it). The
 * artifacts of a completed run do not change, so they are not asked again.
 */
export interface CoverageCursor {
  skipped: Record<string, string>;
}

export type CoverageFormat = CoverageEvent['format'];

export function coverageStreamOf(repo: string, workflow: string, branch: string, artifact: string): StreamKey {
  return { source: 'github', stream: 'coverage', key: `${runsPartition(repo, workflow, branch)}#${artifact}` };
}

/** `owner/name/workflow@branch#artifact` -> its parts (the artifact name follows the last `#`). */
export function parseCoverageKey(key: string): { repo: string; workflow: string; branch: string; artifact: string } {
  const m = /^([^/]+\/[^/]+)\/([^/@]+)@(.+)#([^#]+)$/.exec(key);
  if (!m) throw new Error(`github coverage stream key "${key}" is not owner/repo/workflow@branch#artifact (e.g. acme/payments/ci.yml@main#coverage)`);
  return { repo: m[1] as string, workflow: m[2] as string, branch: m[3] as string, artifact: m[4] as string };
}

// ---------------------------------------------------------------------------------------------
// Zip (PKWARE APPNOTE 6.3.10): the end of central directory record, the central directory, then
// each entry's local header and data. Stored (0) and deflated (8) entries; no zip64, no encryption.

/** An archive or report we cannot read: permanent for that artifact. */
export class UnreadableReportError extends Error {
  override readonly name = 'UnreadableReportError';
}

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export function listZip(buf: Buffer): ZipEntry[] {
  const bad = (why: string) => new UnreadableReportError(`not a readable zip archive: ${why}`);
  if (buf.length < 22) throw bad(`${buf.length} bytes`);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end of central directory record');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw bad('zip64 archives are not supported');
  if (cdOffset + cdSize > eocd) throw bad('the central directory lies outside the archive');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || buf.readUInt32LE(p) !== 0x02014b50) throw bad(`central directory entry ${i} is damaged`);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    entries.push({
      flags: buf.readUInt16LE(p + 8),
      method: buf.readUInt16LE(p + 10),
      crc: buf.readUInt32LE(p + 16),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localOffset: buf.readUInt32LE(p + 42),
      name: buf.toString('utf8', p + 46, p + 46 + nameLen),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

export function readZipEntry(buf: Buffer, e: ZipEntry, maxBytes: number): Buffer {
  const bad = (why: string) => new UnreadableReportError(`${e.name} in the zip archive: ${why}`);
  if (e.flags & 1) throw bad('encrypted');
  if (e.size > maxBytes) throw bad(`${e.size} bytes uncompressed, over the ${maxBytes}-byte limit`);
  const p = e.localOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== 0x04034b50) throw bad('damaged local header');
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  if (start + e.compressedSize > buf.length) throw bad('truncated');
  const raw = buf.subarray(start, start + e.compressedSize);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, maxBytes) });
    } catch (err) {
      throw bad(`does not inflate (${err instanceof Error ? err.message : String(err)})`);
    }
  } else throw bad(`compression method ${e.method} is not supported (only stored and deflate)`);
  if (data.length !== e.size) throw bad(`${data.length} bytes inflated, the directory says ${e.size}`);
  if (crc32(data) !== e.crc) throw bad('CRC-32 mismatch');
  return data;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** zlib.crc32 where Node has it (20.15+), else the table version. */
function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  let c = 0xffffffff;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Reports.

/** Istanbul `coverage-summary.json`: total.lines.pct / 100 (pct is "Unknown" when nothing was instrumented). */
export function parseIstanbulSummary(text: string): number {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UnreadableReportError(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const pct = (doc as { total?: { lines?: { pct?: unknown } } } | null)?.total?.lines?.pct;
  if (typeof pct !== 'number' || !Number.isFinite(pct) || pct < 0 || pct > 100) {
    throw new UnreadableReportError(`total.lines.pct is ${JSON.stringify(pct)}, not a percentage`);
  }
  return pct / 100;
}

/** lcov tracefile: sum of LH over sum of LF (every record). https://github.com/linux-test-project/lcov geninfo(1) */
export function parseLcov(text: string): number {
  let lf = 0;
  let lh = 0;
  let records = 0;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(LF|LH):\s*(\d+)\s*$/.exec(line);
    if (!m) continue;
    records++;
    if (m[1] === 'LF') lf += Number(m[2]);
    else lh += Number(m[2]);
  }
  if (records === 0) throw new UnreadableReportError('no LF/LH records');
  if (lf === 0) throw new UnreadableReportError('LF sums to 0: no instrumented lines');
  if (lh > lf) throw new UnreadableReportError(`LH sums to ${lh}, more than LF ${lf}`);
  return lh / lf;
}

/** Cobertura XML: the `line-rate` attribute of the root `coverage` element. */
export function parseCobertura(text: string): number {
  const m = /^\uFEFF?\s*(?:(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)\s*)*<coverage\b([^>]*)>/.exec(text);
  if (!m) throw new UnreadableReportError('the root element is not <coverage>');
  const attr = /\bline-rate\s*=\s*(["'])([^"']*)\1/.exec(m[1] as string);
  if (!attr) throw new UnreadableReportError('the root <coverage> element has no line-rate');
  const v = Number(attr[2]);
  if (attr[2]!.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) throw new UnreadableReportError(`line-rate="${attr[2]}" is not a ratio in 0..1`);
  return v;
}

const REPORTS: { format: CoverageFormat; names: string[]; parse: (text: string) => number }[] = [
  { format: 'istanbul-summary', names: ['coverage-summary.json'], parse: parseIstanbulSummary },
  { format: 'lcov', names: ['lcov.info'], parse: parseLcov },
  // coverage.py writes coverage.xml; Istanbul's cobertura reporter cobertura-coverage.xml.
  { format: 'cobertura', names: ['coverage.xml', 'cobertura.xml', 'cobertura-coverage.xml'], parse: parseCobertura },
];

/**
 * Line coverage from an artifact archive. The first format of METRICS.md's order that the archive
 * holds wins; among several files of that name, the one nearest the root. A file we cannot
 * read is an error naming it (no falling back to another format: that would hide a broken report).
 */
export function coverageFromZip(zip: Buffer, maxReportBytes = 200 * MB): { lineRate: number; format: CoverageFormat; file: string } {
  const files = listZip(zip).filter((e) => !e.name.endsWith('/'));
  const base = (n: string) => n.split('/').at(-1) ?? n;
  for (const r of REPORTS) {
    const hits = files
      .filter((e) => r.names.includes(base(e.name)))
      .sort((a, b) => a.name.split('/').length - b.name.split('/').length || (a.name < b.name ? -1 : 1));
    const hit = hits[0];
    if (!hit) continue;
    try {
      const text = readZipEntry(zip, hit, maxReportBytes).toString('utf8');
      return { lineRate: r.parse(text), format: r.format, file: hit.name };
    } catch (err) {
      if (err instanceof UnreadableReportError && !err.message.startsWith(hit.name)) throw new UnreadableReportError(`${hit.name}: ${err.message}`);
      throw err;
    }
  }
  const listed = files.map((e) => e.name).slice(0, 10).join(', ');
  throw new UnreadableReportError(`no coverage-summary.json, lcov.info or Cobertura coverage.xml in the archive (it holds: ${listed || 'nothing'})`);
}

// ---------------------------------------------------------------------------------------------
// Sync.

interface ApiArtifact {
  id: number;
  name: string;
  size_in_bytes: number;
  expired: boolean;
  created_at: string | null;
}

/** The archive bytes, or 'expired' (410). */
async function downloadArchive(
  opts: CoverageSyncOptions,
  counter: RequestCounter,
  owner: string,
  repo: string,
  artifactId: number,
  maxBytes: number,
): Promise<Buffer | 'expired'> {
  const { client } = opts;
  const route = 'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}';
  const params = { owner, repo, artifact_id: artifactId, archive_format: 'zip' };
  const apiUrl = client.request.endpoint(route, params).url;
  counter.requests++;
  let location: string;
  try {
    // `manual`: fetch would follow the 302 with our headers, Authorization included, when the
    // storage URL has the API's origin; it must get no token.
    const res = await client.request(route, { ...params, request: { redirect: 'manual' } });
    const remaining = res.headers['x-ratelimit-remaining'];
    if (remaining !== undefined) counter.rateLimitRemaining = Number(remaining);
    const loc = res.headers.location;
    if ((res.status as number) < 300 || (res.status as number) >= 400 || typeof loc !== 'string') {
      throw new SourceError(`GitHub GET ${apiUrl} answered ${res.status} without a Location to download from`, 'github', true, res.status);
    }
    location = new URL(loc, apiUrl).href;
  } catch (err) {
    if (err instanceof SourceError) throw err;
    const e = err as { status?: number; message: string; response?: { headers?: Record<string, string | number | undefined> } };
    if (e.status === 410) return 'expired';
    throw toSourceError(e, apiUrl);
  }

  const where = `the download of artifact ${artifactId} (${new URL(location).origin}${new URL(location).pathname})`;
  counter.requests++;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(location, { redirect: 'follow' });
  } catch (err) {
    throw new SourceError(`${where} failed: ${err instanceof Error ? err.message : String(err)}; will retry`, 'github', true);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    // 403: the short-lived URL expired before we used it; a new one will do.
    const retryable = res.status >= 500 || res.status === 403 || res.status === 429;
    throw new SourceError(`${where} answered ${res.status}${retryable ? '; will retry' : ''}`, 'github', retryable, res.status);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw new UnreadableReportError(`the archive is ${declared} bytes, over the ${maxBytes}-byte limit (maxArtifactBytes)`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw new UnreadableReportError(`the archive is over the ${maxBytes}-byte limit (maxArtifactBytes)`);
      }
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks);
}

export async function syncCoverage(opts: CoverageSyncOptions, repo: string, workflow: string, branch: string, artifactName: string): Promise<SyncReport> {
  const { client, store, now } = opts;
  const historyMs = opts.historyMs ?? 180 * DAY;
  const maxRuns = opts.maxRunsPerSync ?? 100;
  const maxBytes = opts.maxArtifactBytes ?? 20 * MB;
  const [owner, name] = repo.split('/') as [string, string];
  const stream = coverageStreamOf(repo, workflow, branch, artifactName);
  const partition = runsPartition(repo, workflow, branch);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  let stored = 0;

  const since = now() - historyMs;
  const runs = (await store.getEvents('workflow_run', partition))
    .filter((r) => r.status === 'completed' && r.conclusion === 'success' && r.createdAt >= since)
    .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
  const have = new Set((await store.getEvents('coverage', partition)).map((c) => c.id));
  const prev = (await store.getCursor<CoverageCursor>(stream)) ?? { skipped: {} };
  // Forget runs that left the history window.
  const inWindow = new Set(runs.map((r) => String(r.id)));
  const cursor: CoverageCursor = { skipped: Object.fromEntries(Object.entries(prev.skipped).filter(([id]) => inWindow.has(id))) };
  const todo = runs.filter((r) => !have.has(r.id) && cursor.skipped[String(r.id)] === undefined).slice(0, maxRuns);
  const unreadable: string[] = [];

  const skip = async (run: WorkflowRunEvent, why: string) => {
    cursor.skipped[String(run.id)] = why;
    await store.setCursor(stream, cursor);
  };

  const one = async (run: WorkflowRunEvent) => {
    const what = `${repo} run ${run.id} (${workflow}@${branch}, created ${new Date(run.createdAt).toISOString()})`;
    const listed = await conditionalGet<{ artifacts?: ApiArtifact[] }>(
      client,
      store,
      counter,
      '/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts',
      { owner, repo: name, run_id: run.id, name: artifactName, per_page: 100 },
      false,
    );
    if (listed.notModified) throw new Error('unreachable: unconditional request answered 304');
    // Several attempts may each have uploaded one: the newest.
    const candidates = (listed.data.artifacts ?? [])
      .filter((a) => a.name === artifactName)
      .sort((a, b) => Date.parse(b.created_at ?? '') - Date.parse(a.created_at ?? '') || b.id - a.id);
    const artifact = candidates.find((a) => !a.expired);
    if (!artifact) {
      await skip(run, candidates.length > 0 ? `artifact "${artifactName}" expired` : `no artifact named "${artifactName}"`);
      return;
    }
    const label = `${what}: artifact "${artifactName}" (id ${artifact.id})`;
    try {
      if (artifact.size_in_bytes > maxBytes) {
        throw new UnreadableReportError(`the archive is ${artifact.size_in_bytes} bytes, over the ${maxBytes}-byte limit (maxArtifactBytes)`);
      }
      const zip = await downloadArchive(opts, counter, owner, name, artifact.id, maxBytes);
      if (zip === 'expired') {
        await skip(run, `artifact "${artifactName}" expired`);
        return;
      }
      const report = coverageFromZip(zip, opts.maxReportBytes);
      const event: CoverageEvent = { repo, id: run.id, workflow, branch, runCreatedAt: run.createdAt, lineRate: report.lineRate, format: report.format };
      await store.putEvents(stream, 'coverage', partition, [event], cursor);
      stored++;
    } catch (err) {
      if (!(err instanceof UnreadableReportError)) throw err;
      const message = `${label}: ${err.message}`;
      unreadable.push(message);
      await skip(run, `unreadable: ${message}`);
    }
  };

  // A few runs at a time, newest first. The first error that is not about one report (network,
  // rate limit, auth) stops the others from starting new runs and is what the sync throws.
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < todo.length) {
      const run = todo[next++] as WorkflowRunEvent;
      try {
        await one(run);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;

  if (unreadable.length > 0) {
    // The readable ones are stored; these runs are not asked again (their artifacts cannot change).
    throw new SourceError(
      `${unreadable.length} coverage report${unreadable.length > 1 ? 's' : ''} could not be read: ${unreadable.slice(0, 3).join('; ')}${unreadable.length > 3 ? `; and ${unreadable.length - 3} more` : ''}`,
      'github',
      false,
    );
  }
  return { stream, requests: counter.requests, notModified: counter.notModified, stored, rateLimitRemaining: counter.rateLimitRemaining };
}
