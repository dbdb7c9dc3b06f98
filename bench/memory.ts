// Redis memory per stored event, by kind (npm run bench:memory; also printed by bench:eval).
// MEMORY USAGE (SAMPLES 0: every field counted) of each events hash and its time index, divided
// by the events it holds, and the extrapolation to an organisation of `repos` x `years`.
import type { Redis } from 'ioredis';

export interface KindMemory {
  kind: string;
  events: number;
  hashBytes: number;
  indexBytes: number;
  jsonBytes: number;
}

export async function memoryByKind(redis: Redis, prefix: string): Promise<KindMemory[]> {
  const by = new Map<string, KindMemory>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const m = /:(events|events-at):([a-z_]+):/.exec(key);
      if (!m) continue;
      const kind = m[2]!;
      const k = by.get(kind) ?? { kind, events: 0, hashBytes: 0, indexBytes: 0, jsonBytes: 0 };
      by.set(kind, k);
      const bytes = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      if (m[1] === 'events') {
        k.hashBytes += bytes;
        k.events += await redis.hlen(key);
        for (const v of await redis.hvals(key)) k.jsonBytes += Buffer.byteLength(v);
      } else k.indexBytes += bytes;
    }
  } while (cursor !== '0');
  return [...by.values()].sort((a, b) => b.events - a.events);
}

/** Rows of a table: per kind, bytes per event and the total scaled by `factor`. */
export function memoryRows(kinds: KindMemory[], factor: number, label: string): string[][] {
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  const rows = [['kind', 'events', 'bytes/event (hash + index)', 'of which JSON', 'total', label]];
  let events = 0;
  let bytes = 0;
  for (const k of kinds) {
    const b = k.hashBytes + k.indexBytes;
    events += k.events;
    bytes += b;
    rows.push([k.kind, String(k.events), `${(b / k.events).toFixed(0)} (${(k.hashBytes / k.events).toFixed(0)} + ${(k.indexBytes / k.events).toFixed(0)})`, (k.jsonBytes / k.events).toFixed(0), mb(b), mb(b * factor)]);
  }
  rows.push(['all', String(events), (bytes / events).toFixed(0), '', mb(bytes), mb(bytes * factor)]);
  return rows;
}

export function printRows(rows: string[][], out: NodeJS.WritableStream = process.stdout): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) out.write(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n');
}
