// A local Redis Cluster for tests: redis-server processes with --cluster-enabled on free ports,
// joined by `redis-cli --cluster create`, optionally one replica per master.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, until } from './net.js';

export interface LocalNode {
  port: number;
  child: ChildProcess;
}

export interface LocalCluster {
  nodes: LocalNode[];
  /** `127.0.0.1:port,...` of every node, for --redis-cluster. */
  seeds: string;
  /** Kills a node (SIGKILL) and waits for its exit. */
  kill(node: LocalNode): Promise<void>;
  /** One connection to a node, closed after `f`. */
  withNode<T>(port: number, f: (r: Redis) => Promise<T>): Promise<T>;
  /** Ports of the masters as a live node sees them, with their slot ranges. */
  masters(): Promise<{ port: number; slots: [number, number][] }[]>;
  stop(): Promise<void>;
}

const run = promisify(execFile);

export async function startLocalCluster({ masters = 3, replicas = 1 }: { masters?: number; replicas?: number } = {}): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'krt-cluster-'));
  const nodes: LocalNode[] = [];
  const alive = new Set<LocalNode>();
  for (let i = 0; i < masters * (1 + replicas); i++) {
    const port = await freePort();
    // The bus port explicitly: port + 10000 (the default) may lie beyond 65535 for a free port.
    const bus = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, '--cluster-node-timeout', '1000',
        '--cluster-replica-validity-factor', '0', '--save', '', '--appendonly', 'no',
      ],
      { stdio: 'ignore' },
    );
    const node = { port, child };
    nodes.push(node);
    alive.add(node);
  }
  const withNode = async <T>(port: number, f: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => {});
    try {
      await r.connect();
      return await f(r);
    } finally {
      r.disconnect();
    }
  };
  for (const n of nodes) await until(`redis-server on ${n.port}`, () => withNode(n.port, async (r) => ((await r.ping()) === 'PONG' ? true : undefined)).catch(() => undefined), 10_000, 50);
  await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });
  const info = async (port: number) => withNode(port, async (r) => String(await r.call('CLUSTER', 'INFO')));
  await until('cluster state ok on every node', async () => {
    for (const n of nodes) if (!(await info(n.port).catch(() => '')).includes('cluster_state:ok')) return undefined;
    return true;
  }, 30_000, 100);
  const masterPorts = async () => {
    for (const n of alive) {
      const slots = await withNode(n.port, (r) => r.call('CLUSTER', 'SLOTS') as Promise<[number, number, [string, number]][]>).catch(() => null);
      if (!slots) continue;
      const by = new Map<number, [number, number][]>();
      for (const [a, b, [, port]] of slots) by.set(port, [...(by.get(port) ?? []), [a, b]]);
      return [...by].map(([port, s]) => ({ port, slots: s }));
    }
    return [];
  };
  // Replicas attached and in sync before anyone relies on a failover.
  if (replicas > 0) {
    await until('replicas in sync', async () => {
      for (const n of nodes) {
        const role = await withNode(n.port, (r) => r.info('replication')).catch(() => '');
        if (role.includes('role:slave') && !role.includes('master_link_status:up')) return undefined;
      }
      return true;
    }, 30_000, 100);
  }
  return {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    withNode,
    masters: masterPorts,
    async kill(node) {
      alive.delete(node);
      if (node.child.exitCode !== null || node.child.signalCode !== null) return;
      const gone = new Promise((res) => node.child.once('exit', res));
      node.child.kill('SIGKILL');
      await gone;
    },
    async stop() {
      for (const n of nodes) {
        if (n.child.exitCode !== null || n.child.signalCode !== null) continue;
        const gone = new Promise((res) => n.child.once('exit', res));
        n.child.kill('SIGKILL');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
