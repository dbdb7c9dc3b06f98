import { describe, expect, it } from 'vitest';
import { createNodeBatcher, type NodeResult } from '../connectors/github/node-batcher.js';

/** A `nodes(ids:)` query answering each id with itself (or `fail(id)`'s error), recording the calls. */
function recorder(opts: { fail?: (id: string) => string | null; throwIf?: (ids: readonly string[]) => boolean } = {}) {
  const calls: string[][] = [];
  const query = async (ids: readonly string[]) => {
    calls.push([...ids]);
    await new Promise((r) => setTimeout(r, 1));
    if (opts.throwIf?.(ids)) throw new Error(`query of ${ids.length} ids failed`);
    const results: NodeResult<string>[] = ids.map((id) => {
      const err = opts.fail?.(id) ?? null;
      return err ? { node: null, errors: [{ type: err, message: `${err} on ${id}` }] } : { node: `node:${id}`, errors: [] };
    });
    return { results, points: 1 };
  };
  return { calls, query };
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('node batcher', () => {
  it('sends the asks of streams running together as one query per 100 ids; each gets its own nodes back, in order', async () => {
    const r = recorder();
    const b = createNodeBatcher<string>({ query: r.query, maxWaitMs: 60_000 });
    const streams = ['a', 'b', 'c'].map(() => b.join());
    // 3 streams x 90 ids = 270 ids: 3 queries of 100, 100 and 70 ids (b's ids span the first two).
    const loads = await Promise.all(streams.map((s, i) => s.load(ids('abc'[i]!, 90))));
    expect(r.calls.map((c) => c.length)).toEqual([100, 100, 70]);
    loads.forEach((l, i) => expect(l.results.map((x) => x.node)).toEqual(ids('abc'[i]!, 90).map((id) => `node:${id}`)));
    // Each query (request and point) is charged once, to one of its callers.
    expect(loads.reduce((n, l) => n + l.points, 0)).toBe(3);
    expect(loads.reduce((n, l) => n + l.queries, 0)).toBe(3);
    expect(b.queriesSent).toBe(3);
  });

  it('waits for every joined stream to ask, but no longer than maxWaitMs', async () => {
    const r = recorder();
    const b = createNodeBatcher<string>({ query: r.query, maxWaitMs: 40 });
    const a = b.join();
    b.join(); // joined, busy elsewhere, never asks
    const t = Date.now();
    const load = await a.load(['x', 'y']);
    expect(Date.now() - t).toBeGreaterThanOrEqual(35);
    expect(load.results.map((x) => x.node)).toEqual(['node:x', 'node:y']);
    expect(r.calls).toEqual([['x', 'y']]);
  });

  it('a stream that leaves releases the ones waiting for it at once', async () => {
    const r = recorder();
    const b = createNodeBatcher<string>({ query: r.query, maxWaitMs: 60_000 });
    const a = b.join();
    const other = b.join();
    const p = a.load(['x']);
    await new Promise((res) => setTimeout(res, 5));
    expect(r.calls).toEqual([]);
    other.leave();
    await p;
    expect(r.calls).toEqual([['x']]);
  });

  it('errors on one node go to the stream that asked for it; a failed query fails only its callers', async () => {
    const r = recorder({ fail: (id) => (id === 'b3' ? 'FORBIDDEN' : null), throwIf: (q) => q.includes('c0') });
    const b = createNodeBatcher<string>({ query: r.query, maxWaitMs: 60_000, maxIds: 10 });
    const [sa, sb, sc] = [b.join(), b.join(), b.join()];
    // a and b fill the first query of 10 exactly; c's ids go in a query of their own, which fails.
    const [la, lb, lc] = await Promise.allSettled([sa.load(ids('a', 5)), sb.load(ids('b', 5)), sc.load(ids('c', 3))]);
    expect(r.calls.map((c) => c.length)).toEqual([10, 3]);
    expect(la.status === 'fulfilled' && la.value.results.every((x) => x.errors.length === 0 && x.node !== null)).toBe(true);
    expect(lb.status === 'fulfilled' && lb.value.results.map((x) => x.errors.map((e) => e.type))).toEqual([[], [], [], ['FORBIDDEN'], []]);
    expect(lc.status).toBe('rejected');
    expect(lc.status === 'rejected' && String(lc.reason)).toMatch(/query of 3 ids failed/);
  });

  it('an ask larger than a query is split and answered whole', async () => {
    const r = recorder();
    const b = createNodeBatcher<string>({ query: r.query });
    const s = b.join();
    const load = await s.load(ids('z', 250));
    expect(r.calls.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(load.results.map((x) => x.node)).toEqual(ids('z', 250).map((id) => `node:${id}`));
    expect(load.queries).toBe(3);
  });
});
