// Line coverage of a workflow's successful runs, read from a named artifact (METRICS.md
// `test_coverage`); docs/coverage-and-incidents.md explains what is downloaded and what it costs.
//
// Listing: GET /repos/{owner}/{repo}/actions/artifacts?name=<artifact>&per_page=100, newest
// first, once per repository instead of once per run; every artifact names its
// `workflow_run.id`, matched against the successful runs the `runs` stream of the same key stored.
// Page 1 is asked with its ETag (an unchanged repository answers one free 304); new artifacts cost
// the pages down to the first known one. https://docs.github.com/en/rest/actions/artifacts#list-artifacts-for-a-repository
//
// Downloads: only the artifacts a value needs. For each instant of `instants` (the evaluation
// instant, the period start of every key result measuring its baseline) the newest run created at
// or before it whose report can be read; for `dailyInstants` (the ends of the last days, for
// `krt backfill`) the same, at most `maxDailyDownloadsPerSync` new downloads a sync (later syncs go
// on). GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/zip answers 302 to a short-lived
// storage URL that is fetched WITHOUT the token (the storage refuses it; ../shared/TESTING.md).
//
// The archive (at most maxArtifactBytes, checked from the listing and while streaming) is read
// with a small zip reader: the central directory, then the report entry inflated with an async
// zlib stream in 64 KiB pieces (the event loop stays free) and cut off past maxReportBytes. The
// report is read with METRICS.md's precedence: `coverage-summary.json` (Istanbul total.lines.pct
// / 100), else `lcov.info` (sum LH / sum LF, read line by line as it inflates), else Cobertura XML
// (`line-rate` of the root `coverage` element, read from the first bytes).
import { StringDecoder } from 'node:string_decoder';
import * as zlib from 'node:zlib';
import { SourceError } from '../../src/core/errors.js';
import type { CoverageEvent, WorkflowRunEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { parseStreamOf, streams, type StreamKey } from '../../src/core/stream.js';
import type { SyncReport } from '../../src/core/connector.js';
import { mapPool, readCapped } from '../kit/index.js';
import { runsPartition } from './actions.js';
import type { GithubClient } from './client.js';
import { conditionalGet, hasNextPage, toSourceError, type RequestCounter } from './conditional.js';

const DAY = 86_400_000;
const MB = 1024 * 1024;
const CHUNK = 64 * 1024;
const LIST_ROUTE = '/repos/{owner}/{repo}/actions/artifacts';
/** Artifact downloads in flight at once (the client's pool caps the whole client too). */
const DOWNLOADS_IN_FLIGHT = 4;

export interface CoverageSyncOptions {
  client: GithubClient;
  store: Store;
  now: () => number;
  /** Runs created this long before now are considered (default 180 days, like the runs stream). */
  historyMs?: number;
  /** Instants whose value must be exact (default: now): the evaluation instant, period starts. */
  instants?: number[];
  /** Instants worth a point when cheap (day ends for `krt backfill`); default none. */
  dailyInstants?: number[];
  /** New downloads a sync for `dailyInstants` (default 4); later syncs go on with the rest. */
  maxDailyDownloadsPerSync?: number;
  /** Downloads a sync at most, all instants together (default 50: a guard against a row of broken artifacts). */
  maxDownloadsPerSync?: number;
  /** Largest archive downloaded (default 20 MB); a larger one is a clear error. */
  maxArtifactBytes?: number;
  /** Largest report file inflated from the archive (default 200 MB: a guard against zip bombs). */
  maxReportBytes?: number;
  /** Page size of the artifact listing (GitHub allows up to 100). */
  perPage?: number;
  /** For the storage download (default globalThis.fetch). */
  fetch?: typeof fetch;
}

/** One listed artifact: [artifact id, run id, created_at, expires_at (0: unknown), size_in_bytes, expired (0/1)]. */
export type IndexedArtifact = [number, number, number, number, number, number];

/**
 * What the listing showed and what could not be read.
 * - `artifacts`: the artifacts of that name listed so far (within the history), any workflow;
 * - `listedDownTo`: every artifact created at or after it (up to the newest) is in `artifacts`
 *   (null: nothing listed yet); `reachedEnd`: nothing older is worth listing (the list ended, an
 *   artifact older than the history, or a page of expired artifacts only);
 * - `skipped`: artifacts that will never yield coverage, by artifact id, with the reason (expired on
 *   download, or unreadable: reported once, by the sync that met it; an artifact does not change).
 */
export interface CoverageCursor {
  v: 2;
  artifacts: IndexedArtifact[];
  listedDownTo: number | null;
  reachedEnd: boolean;
  skipped: Record<string, string>;
}

export type CoverageFormat = CoverageEvent['format'];

export function coverageStreamOf(repo: string, workflow: string, branch: string, artifact: string): StreamKey {
  return streams.coverage(repo, workflow, branch, artifact);
}

/** `owner/name/workflow@branch#artifact` -> its parts (the artifact name follows the last `#`). */
export function parseCoverageKey(key: string): { repo: string; workflow: string; branch: string; artifact: string } {
  const { repo, workflow, branch, artifact } = parseStreamOf({ source: 'github', stream: 'coverage', key }, 'coverage');
  return { repo, workflow, branch, artifact };
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
  if (eocd < 0) {
    const head = buf.subarray(0, 2).toString('latin1') === 'PK' ? 'it starts like one but has no end of central directory record (truncated or damaged)' : `it starts with ${JSON.stringify(buf.subarray(0, 16).toString('latin1'))}`;
    throw bad(head);
  }
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

/**
 * Inflates an entry in pieces of at most 64 KiB with an async zlib stream (the work runs on libuv's
 * thread pool, the event loop only sees the pieces), handing each to `onChunk`; `onChunk` answers
 * false when it has read enough (the rest is not inflated, nor checked). Past `maxBytes` inflated
 * bytes the inflation is aborted with an error naming the limit; the directory's size and CRC-32
 * are checked when the entry is read to its end.
 */
export async function inflateZipEntry(buf: Buffer, e: ZipEntry, maxBytes: number, onChunk: (chunk: Buffer) => boolean): Promise<{ complete: boolean; bytes: number }> {
  const bad = (why: string) => new UnreadableReportError(`${e.name} in the zip archive: ${why}`);
  if (e.flags & 1) throw bad('encrypted');
  if (e.size > maxBytes) throw bad(`${e.size} bytes uncompressed, over the ${maxBytes}-byte limit (maxReportBytes)`);
  const p = e.localOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== 0x04034b50) throw bad('damaged local header');
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  if (start + e.compressedSize > buf.length) throw bad('truncated');
  const raw = buf.subarray(start, start + e.compressedSize);
  let bytes = 0;
  let crc = 0;
  const take = (chunk: Buffer): boolean => {
    bytes += chunk.length;
    if (bytes > maxBytes) throw bad(`inflates to more than the ${maxBytes}-byte limit (maxReportBytes); aborted (a zip bomb, or raise maxReportBytes)`);
    crc = zlib.crc32(chunk, crc);
    return onChunk(chunk);
  };
  if (e.method === 0) {
    for (let i = 0; i < raw.length; i += CHUNK) {
      if (!take(raw.subarray(i, i + CHUNK))) return { complete: false, bytes };
      await new Promise<void>((r) => setImmediate(r));
    }
  } else if (e.method === 8) {
    const inflate = zlib.createInflateRaw({ chunkSize: CHUNK });
    inflate.end(raw);
    try {
      for await (const chunk of inflate as AsyncIterable<Buffer>) {
        if (!take(chunk)) return { complete: false, bytes };
      }
    } catch (err) {
      if (err instanceof UnreadableReportError) throw err;
      throw bad(`does not inflate (${err instanceof Error ? err.message : String(err)})`);
    } finally {
      inflate.destroy();
    }
  } else throw bad(`compression method ${e.method} is not supported (only stored and deflate)`);
  if (bytes !== e.size) throw bad(`${bytes} bytes inflated, the directory says ${e.size}`);
  if (crc >>> 0 !== e.crc) throw bad('CRC-32 mismatch');
  return { complete: true, bytes };
}

/** A whole entry, inflated as above (for small files and tests). */
export async function readZipEntry(buf: Buffer, e: ZipEntry, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  await inflateZipEntry(buf, e, maxBytes, (c) => {
    parts.push(c);
    return true;
  });
  return Buffer.concat(parts);
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

// ---------------------------------------------------------------------------------------------
// Report readers fed with inflated pieces.

interface ReportReader {
  /** false: enough read, stop inflating. */
  push(chunk: Buffer): boolean;
  finish(): number;
}

/** lcov read line by line as it inflates: memory is one piece plus one line (lines past 64 KiB are ignored). */
function lcovReader(): ReportReader {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let overlong = false;
  let lf = 0;
  let lh = 0;
  let records = 0;
  const line = (l: string) => {
    const m = /^\s*(LF|LH):\s*(\d+)\s*$/.exec(l);
    if (!m) return;
    records++;
    if (m[1] === 'LF') lf += Number(m[2]);
    else lh += Number(m[2]);
  };
  const feed = (text: string) => {
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      if (!overlong) line(carry + text.slice(from, nl));
      carry = '';
      overlong = false;
      from = nl + 1;
    }
    if (!overlong) {
      carry += text.slice(from);
      if (carry.length > CHUNK) {
        carry = '';
        overlong = true;
      }
    }
  };
  return {
    push(chunk) {
      feed(decoder.write(chunk));
      return true;
    },
    finish() {
      feed(decoder.end());
      if (!overlong && carry) line(carry);
      if (records === 0) throw new UnreadableReportError('no LF/LH records');
      if (lf === 0) throw new UnreadableReportError('LF sums to 0: no instrumented lines');
      if (lh > lf) throw new UnreadableReportError(`LH sums to ${lh}, more than LF ${lf}`);
      return lh / lf;
    },
  };
}

/** Cobertura: only the root element matters; reading stops once it is seen (at most 1 MiB). */
function coberturaReader(): ReportReader {
  const decoder = new StringDecoder('utf8');
  let text = '';
  return {
    push(chunk) {
      text += decoder.write(chunk);
      if (/<coverage\b[^>]*>/.test(text)) return false;
      return text.length < MB;
    },
    finish: () => parseCobertura(text + decoder.end()),
  };
}

/** Istanbul's summary is one JSON document: kept whole (at most maxReportBytes), then parsed. */
function bufferedReader(parse: (text: string) => number): ReportReader {
  let parts: Buffer[] = [];
  return {
    push(chunk) {
      parts.push(chunk);
      return true;
    },
    finish() {
      const all = Buffer.concat(parts);
      parts = [];
      return parse(all.toString('utf8'));
    },
  };
}

const REPORTS: { format: CoverageFormat; names: string[]; reader: () => ReportReader }[] = [
  { format: 'istanbul-summary', names: ['coverage-summary.json'], reader: () => bufferedReader(parseIstanbulSummary) },
  { format: 'lcov', names: ['lcov.info'], reader: lcovReader },
  // coverage.py writes coverage.xml; Istanbul's cobertura reporter cobertura-coverage.xml.
  { format: 'cobertura', names: ['coverage.xml', 'cobertura.xml', 'cobertura-coverage.xml'], reader: coberturaReader },
];

/**
 * Line coverage from an artifact archive. The first format of METRICS.md's order that the archive
 * holds wins; among several files of that name, the one nearest the root. A file we cannot
 * read is an error naming it (no falling back to another format: that would hide a broken report).
 */
export async function coverageFromZip(zip: Buffer, maxReportBytes = 200 * MB): Promise<{ lineRate: number; format: CoverageFormat; file: string }> {
  const files = listZip(zip).filter((e) => !e.name.endsWith('/'));
  const base = (n: string) => n.split('/').at(-1) ?? n;
  for (const r of REPORTS) {
    const hits = files
      .filter((e) => r.names.includes(base(e.name)))
      .sort((a, b) => a.name.split('/').length - b.name.split('/').length || (a.name < b.name ? -1 : 1));
    const hit = hits[0];
    if (!hit) continue;
    try {
      const reader = r.reader();
      await inflateZipEntry(zip, hit, maxReportBytes, (c) => reader.push(c));
      return { lineRate: reader.finish(), format: r.format, file: hit.name };
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
  expires_at?: string | null;
  workflow_run?: { id?: number | null } | null;
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
  return readCapped(res, maxBytes, (declared) =>
    declared !== null
      ? new UnreadableReportError(`the archive is ${declared} bytes, over the ${maxBytes}-byte limit (maxArtifactBytes)`)
      : new UnreadableReportError(`the archive is over the ${maxBytes}-byte limit (maxArtifactBytes); the download was cut off there`),
  );
}

function emptyCursor(): CoverageCursor {
  return { v: 2, artifacts: [], listedDownTo: null, reachedEnd: false, skipped: {} };
}

export async function syncCoverage(opts: CoverageSyncOptions, repo: string, workflow: string, branch: string, artifactName: string): Promise<SyncReport> {
  const { client, store, now } = opts;
  const t0 = now();
  const historyMs = opts.historyMs ?? 180 * DAY;
  const maxBytes = opts.maxArtifactBytes ?? 20 * MB;
  const maxDaily = opts.maxDailyDownloadsPerSync ?? 4;
  const maxDownloads = opts.maxDownloadsPerSync ?? 50;
  const perPage = Math.min(opts.perPage ?? 100, 100);
  const [owner, name] = repo.split('/') as [string, string];
  const stream = coverageStreamOf(repo, workflow, branch, artifactName);
  const partition = runsPartition(repo, workflow, branch);
  const counter: RequestCounter = { requests: 0, notModified: 0, rateLimitRemaining: null };
  let stored = 0;
  const floor = t0 - historyMs;

  const runs = new Map(
    (await store.getEvents('workflow_run', partition))
      .filter((r) => r.status === 'completed' && r.conclusion === 'success' && r.createdAt >= floor)
      .map((r) => [r.id, r]),
  );
  const have = new Map((await store.getEvents('coverage', partition)).map((c) => [c.id, c]));
  if (runs.size === 0 && have.size === 0) {
    // No successful run stored yet: nothing to match artifacts with.
    return { stream, requests: 0, notModified: 0, stored: 0, rateLimitRemaining: null };
  }
  const raw = await store.getCursor<CoverageCursor | { skipped?: Record<string, string> }>(stream);
  const prev: CoverageCursor = raw && 'v' in raw && raw.v === 2 ? raw : emptyCursor();
  const index = new Map<number, IndexedArtifact>(prev.artifacts.filter((a) => a[2] >= floor).map((a) => [a[0], a]));
  const cursor: CoverageCursor = { ...prev, artifacts: [], skipped: { ...prev.skipped } };

  // ----- listing, newest first -----
  let page = 0;
  let walkLow: number | null = null;
  let metKnown = false;
  let walkEnded = false;
  let pageOneEtag: { url: string; etag: string } | null = null;
  /** Lower bound of what is surely listed (every artifact created at or after it is in `index`). */
  const listedDownTo = (): number | null => (metKnown ? Math.min(walkLow ?? Infinity, prev.listedDownTo ?? Infinity) : walkLow);
  const reachedEnd = () => walkEnded || (metKnown && prev.reachedEnd);
  const listMore = async (): Promise<boolean> => {
    if (reachedEnd()) return false;
    page++;
    const params = { owner, repo: name, name: artifactName, per_page: perPage, page };
    // Page 1 with its ETag when what it described is in the cursor.
    const res = await conditionalGet<{ artifacts?: ApiArtifact[] }>(client, store, counter, LIST_ROUTE, params, page === 1 && prev.listedDownTo !== null);
    if (res.notModified) {
      // Unchanged since the last sync: its artifacts are in the index; older ones follow on page 2.
      metKnown = true;
      return true;
    }
    if (!Array.isArray(res.data.artifacts)) throw new SourceError(`GitHub GET ${res.url} answered an unexpected body: no artifacts array`, 'github', false);
    const list = res.data.artifacts.filter((a) => a.name === artifactName);
    for (const a of list) {
      const created = Date.parse(a.created_at ?? '');
      if (typeof a.id !== 'number' || Number.isNaN(created)) continue;
      if (index.has(a.id) && created >= (prev.listedDownTo ?? Infinity)) metKnown = true;
      walkLow = walkLow === null ? created : Math.min(walkLow, created);
      const runId = a.workflow_run?.id;
      if (created < floor || typeof runId !== 'number') continue;
      const expires = Date.parse(a.expires_at ?? '');
      index.set(a.id, [a.id, runId, created, Number.isNaN(expires) ? 0 : expires, a.size_in_bytes, a.expired ? 1 : 0]);
    }
    if (page === 1 && res.etag) pageOneEtag = { url: res.url, etag: res.etag };
    if (!hasNextPage(res.link) || res.data.artifacts.length === 0) walkEnded = true;
    // Older than the history: not wanted. A page of expired artifacts only: older ones are too.
    else if (walkLow !== null && walkLow < floor) walkEnded = true;
    else if (list.length > 0 && list.every((a) => a.expired)) walkEnded = true;
    return true;
  };

  const saveCursor = async () => {
    cursor.artifacts = [...index.values()].sort((a, b) => b[2] - a[2] || b[0] - a[0]);
    cursor.listedDownTo = listedDownTo();
    cursor.reachedEnd = reachedEnd();
    const ids = new Set(index.keys());
    cursor.skipped = Object.fromEntries(Object.entries(cursor.skipped).filter(([id]) => ids.has(Number(id))));
  };

  // New artifacts first: the pages down to the first known one (everything, the first time, until
  // the values are found below).
  if (prev.listedDownTo !== null) {
    while (!metKnown && (await listMore()));
  } else {
    await listMore();
  }

  // ----- candidates: per run its newest readable artifact, or its stored coverage -----
  const now0 = t0;
  const candidatesFor = (at: number) => {
    let best: { runId: number; createdAt: number; artifact: IndexedArtifact | null } | null = null;
    const better = (runId: number, createdAt: number) => best === null || createdAt > best.createdAt || (createdAt === best.createdAt && runId > best.runId);
    for (const c of have.values()) if (c.runCreatedAt <= at && better(c.id, c.runCreatedAt)) best = { runId: c.id, createdAt: c.runCreatedAt, artifact: null };
    const byRun = new Map<number, IndexedArtifact>();
    for (const a of index.values()) {
      if (cursor.skipped[String(a[0])] !== undefined || a[5] === 1 || (a[3] > 0 && a[3] <= now0)) continue;
      const r = runs.get(a[1]);
      if (!r || r.createdAt > at || have.has(r.id)) continue;
      const cur = byRun.get(r.id);
      if (!cur || a[2] > cur[2] || (a[2] === cur[2] && a[0] > cur[0])) byRun.set(r.id, a);
    }
    for (const [runId, a] of byRun) {
      const r = runs.get(runId) as WorkflowRunEvent;
      if (better(runId, r.createdAt)) best = { runId, createdAt: r.createdAt, artifact: a };
    }
    return best as { runId: number; createdAt: number; artifact: IndexedArtifact | null } | null;
  };

  const unreadable: string[] = [];
  let downloads = 0;
  const download = async (run: WorkflowRunEvent, a: IndexedArtifact) => {
    downloads++;
    const what = `${repo} run ${run.id} (${workflow}@${branch}, created ${new Date(run.createdAt).toISOString()})`;
    const label = `${what}: artifact "${artifactName}" (id ${a[0]})`;
    try {
      if (a[4] > maxBytes) throw new UnreadableReportError(`the archive is ${a[4]} bytes, over the ${maxBytes}-byte limit (maxArtifactBytes)`);
      const zip = await downloadArchive(opts, counter, owner, name, a[0], maxBytes);
      if (zip === 'expired') {
        cursor.skipped[String(a[0])] = `artifact "${artifactName}" expired`;
        await saveCursor();
        await store.setCursor(stream, cursor);
        return;
      }
      const report = await coverageFromZip(zip, opts.maxReportBytes);
      const event: CoverageEvent = { repo, id: run.id, workflow, branch, runCreatedAt: run.createdAt, lineRate: report.lineRate, format: report.format };
      have.set(run.id, event);
      await saveCursor();
      await store.putEvents(stream, 'coverage', partition, [event], cursor);
      stored++;
    } catch (err) {
      if (!(err instanceof UnreadableReportError)) throw err;
      const fix = /not a readable zip archive/.test(err.message)
        ? `; GitHub serves every artifact as a zip: make the workflow upload the coverage report files (e.g. coverage/lcov.info) with actions/upload-artifact under the name "${artifactName}", or point artifact: at the artifact that holds them`
        : '';
      const message = `${label}: ${err.message}${fix}`;
      unreadable.push(message);
      cursor.skipped[String(a[0])] = `unreadable: ${message}`;
      await saveCursor();
      await store.setCursor(stream, cursor);
    }
  };

  /**
   * Makes the values at `ats` exact: for each, the newest run at or before it with a readable
   * report is stored. The newest candidates of all the instants are downloaded together (at most
   * `allowed()` of them, bounded in flight); an unreadable or expired one is skipped and the next
   * round takes the next candidate. Each download is stored with the cursor as soon as it is read.
   */
  const settle = async (ats: readonly number[], allowed: () => number): Promise<void> => {
    for (;;) {
      const wanted = new Map<number, { run: WorkflowRunEvent; artifact: IndexedArtifact }>();
      let listNeeded = false;
      for (const at of ats) {
        const best = candidatesFor(at);
        const low = listedDownTo();
        // Runs not listed yet have artifacts created before `low`, so they were created before it too.
        if ((best === null || (low !== null && best.createdAt < low)) && !reachedEnd()) {
          listNeeded = true;
          break;
        }
        if (best === null || best.artifact === null) continue;
        wanted.set(best.artifact[0], { run: runs.get(best.runId) as WorkflowRunEvent, artifact: best.artifact });
      }
      // listMore lists a page or finds the end (reachedEnd() then holds): either way, look again.
      if (listNeeded) {
        await listMore();
        continue;
      }
      const take = [...wanted.values()].slice(0, Math.max(0, Math.min(allowed(), maxDownloads - downloads)));
      if (take.length === 0) return;
      await mapPool(take, DOWNLOADS_IN_FLIGHT, ({ run, artifact }) => download(run, artifact));
    }
  };

  const instants = [...new Set(opts.instants ?? [t0])].filter((t) => t <= t0).sort((a, b) => b - a);
  await settle(instants, () => Infinity);
  const dailyStart = downloads;
  const daily = [...new Set(opts.dailyInstants ?? [])].filter((t) => t <= t0 && t >= floor).sort((a, b) => b - a);
  await settle(daily, () => maxDaily - (downloads - dailyStart));

  await saveCursor();
  await store.setCursor(stream, cursor);
  if (pageOneEtag) await store.setEtag((pageOneEtag as { url: string }).url, (pageOneEtag as { etag: string }).etag);

  if (unreadable.length > 0) {
    // The readable ones are stored; these artifacts are not asked again (they cannot change).
    throw new SourceError(
      `${unreadable.length} coverage report${unreadable.length > 1 ? 's' : ''} could not be read: ${unreadable.slice(0, 3).join('; ')}${unreadable.length > 3 ? `; and ${unreadable.length - 3} more` : ''}`,
      'github',
      false,
    );
  }
  return { stream, requests: counter.requests, notModified: counter.notModified, stored, rateLimitRemaining: counter.rateLimitRemaining };
}
