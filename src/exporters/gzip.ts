// Gzip bodies assembled from parts compressed separately: a large part that changes only when an
// evaluation lands is compressed once, and the small part that changes per request (the scrape's
// own metrics, the instant of an API document) is compressed per request and joined to it.
// A raw deflate stream ended with a sync flush is byte-aligned and not final, so another raw
// deflate stream can follow it; the gzip trailer's CRC-32 of the whole is combined from the
// parts' CRCs (zlib's crc32_combine), so no part is read again. RFC 1951 3.2.3, RFC 1952 2.3.
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

/** One part of a body: raw deflate data (ending with a sync flush unless last), its CRC-32 and length. */
export interface DeflatedPart {
  data: Buffer;
  crc: number;
  length: number;
}

const deflateRaw = promisify(zlib.deflateRaw);

/** CRC-32 as zip and gzip use it: zlib's own (Node 20.15 and later; package.json engines). */
export function crc32(data: Buffer): number {
  return zlib.crc32(data) >>> 0;
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i] as number;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n] as number);
}

/** The CRC-32 of A followed by B, from crc(A), crc(B) and B's length (zlib's crc32_combine). */
export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  if (len2 <= 0) return crc1 >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  gf2Square(even, odd);
  gf2Square(odd, even);
  let len = len2;
  let crc = crc1 >>> 0;
  for (;;) {
    gf2Square(even, odd);
    if (len % 2 === 1) crc = gf2Times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2 === 1) crc = gf2Times(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crc2) >>> 0;
}

const flushOf = (last: boolean) => (last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH);

/** Compresses a part in the thread pool (large parts, off the event loop). */
export async function deflatePart(body: string | Buffer, last: boolean): Promise<DeflatedPart> {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return { data: await deflateRaw(buf, { finishFlush: flushOf(last) }), crc: crc32(buf), length: buf.length };
}

/** Compresses a small part at once. */
export function deflatePartSync(body: string | Buffer, last: boolean): DeflatedPart {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return { data: zlib.deflateRawSync(buf, { finishFlush: flushOf(last) }), crc: crc32(buf), length: buf.length };
}

// ID1 ID2, CM=deflate, no flags, no mtime, no extra flags, OS unknown.
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** One gzip member holding the parts in order; every part but the last must end with a sync flush. */
export function gzipOf(parts: readonly DeflatedPart[]): Buffer {
  let crc = 0;
  let length = 0;
  for (const p of parts) {
    crc = crc32Combine(crc, p.crc, p.length);
    length += p.length;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  return Buffer.concat([HEADER, ...parts.map((p) => p.data), trailer]);
}

/** Whether an Accept-Encoding header admits gzip (a `q=0` refuses it). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const item of header.split(',')) {
    const [name = '', ...params] = item.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const ok = !q || Number(q.slice(2)) > 0;
    if (name.trim() === 'gzip' || name.trim() === 'x-gzip') return ok;
    if (name.trim() === '*') star = ok;
  }
  return star;
}
