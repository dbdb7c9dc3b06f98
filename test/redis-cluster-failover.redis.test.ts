// BullMQ on kr-tracker's cluster connection (bullConnection) goes on taking jobs after the master
// holding the queue's slot is killed and its replica promoted. Before bullConnection turned off
// ioredis's ready check, the worker's blocking client reconnected into a cluster still marked
// failing, awaited a Cluster.connect() that never settled, and fetched no job again.
import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { bullConnection, bullPrefix, parseClusterSeeds } from '../src/lib/redis.js';
import { until } from './helpers/net.js';
import { startLocalCluster, type LocalCluster } from './helpers/redis-cluster.js';

let cluster: LocalCluster | null = null;
const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await cluster?.stop();
});

describe('BullMQ on a Redis Cluster', () => {
  it('a worker keeps taking scheduled jobs after the queue\'s master fails over to its replica', async () => {
    cluster = await startLocalCluster({ masters: 3, replicas: 1 });
    const target = { cluster: parseClusterSeeds(cluster.seeds) };
    const bull = bullConnection(target);
    closers.push(async () => bull.close());
    const prefix = bullPrefix('failover-test', target);
    const queue = new Queue('jobs', { connection: bull.connection, prefix });
    queue.on('error', () => {});
    closers.push(() => queue.close());
    const done: number[] = [];
    const worker = new Worker('jobs', async () => void done.push(Date.now()), { connection: bull.connection, prefix, concurrency: 4 });
    worker.on('error', () => {});
    closers.push(() => worker.close(true));
    for (const i of [1, 2, 3]) await queue.upsertJobScheduler(`s${i}`, { every: 1000 }, { name: 'tick', data: { i } });
    await until('scheduled jobs running', async () => (done.length >= 6 ? true : undefined), 20_000, 100);

    const slot = Number(await cluster.withNode(cluster.nodes[0]!.port, (r) => r.call('CLUSTER', 'KEYSLOT', prefix)));
    const holder = (await cluster.masters()).find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b))!;
    const killedAt = Date.now();
    await cluster.kill(cluster.nodes.find((n) => n.port === holder.port)!);
    await until('a replica promoted', async () => ((await cluster!.masters()).some((m) => m.port === holder.port) ? undefined : true), 20_000, 200);

    // Three schedulers every second: several jobs after the failover, within seconds of it.
    await until('jobs after the failover', async () => (done.filter((t) => t > killedAt).length >= 6 ? true : undefined), 30_000, 200);
    expect(done.filter((t) => t > killedAt).length).toBeGreaterThanOrEqual(6);
  }, 90_000);
});
