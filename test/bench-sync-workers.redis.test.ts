import { describe, expect, it } from 'vitest';
import { runWorkersBench } from '../bench/sync-workers.js';
import { REDIS_URL } from './helpers/redis.js';

describe('bench:sync-workers --repos 4 --days 10', () => {
  it('one job at a time: one statuses query per deployments stream with new deployments (nothing to pool with)', async () => {
    const lines: string[] = [];
    const r = await runWorkersBench({ repos: 4, days: 10, concurrency: 1, redisUrl: REDIS_URL, print: (l) => lines.push(l) });
    expect(r.streams).toBe(4);
    expect(r.graphqlQueries).toBe(r.streams);
    expect(r.minimum).toBe(1);
    expect(lines.join('\n')).toMatch(/^one day of new activity \(\d+ deployments\) synced by one sync worker of concurrency 1: deployment statuses 4 GraphQL queries for \d+ new deployments in 4 streams \(minimum 1; one per stream without pooling: 4\)$/);
  }, 120_000);

  it('jobs at once in one worker share queries: never more than one per stream, never fewer than the minimum', async () => {
    const r = await runWorkersBench({ repos: 4, days: 10, concurrency: 4, redisUrl: REDIS_URL, print: () => undefined });
    expect(r.graphqlQueries).toBeGreaterThanOrEqual(r.minimum);
    expect(r.graphqlQueries).toBeLessThanOrEqual(r.streams);
  }, 120_000);
});
