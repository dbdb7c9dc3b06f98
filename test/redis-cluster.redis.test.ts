// `krt serve` on a local Redis Cluster (3 masters, one replica each): the same values as on one
// Redis, partitions spread over the masters, and a master killed (its replica promoted) while the
// service keeps syncing and evaluating.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import type { ObjectivesDocument } from '../src/exporters/objectives-view.js';
import { startService, type RunningService } from '../src/service.js';
import { freePort, until } from './helpers/net.js';
import { startLocalCluster, type LocalCluster } from './helpers/redis-cluster.js';

const DAY = 86_400_000;
const TOKEN = 'cluster-token';
const REPOS = ['acme/payments', 'acme/checkout', 'acme/search', 'acme/ledger', 'acme/mobile', 'acme/web'];
const prefix = 'test-cluster';
// Both runs evaluate at the same instant, so that their values must be equal.
const AT = Math.floor(Date.now() / 1000) * 1000;
let clock = AT;

let sim: GithubSimulator;
let dir: string;
let file: string;
let cluster: LocalCluster | null = null;
let single: ChildProcess | null = null;
const running: RunningService[] = [];

const OKRS = `version: 1
sources:
  github: { token: "\${GITHUB_TOKEN}", baseUrl: "\${GITHUB_API_URL}" }
schedule: { sync: 2s, evaluate: 2s }
objectives:
  - id: delivery
    title: Ship to production often and safely
    owner: platform-team
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - id: frequency
        title: Deploy daily
        metric: deployment_frequency
        repos: [${REPOS.join(', ')}]
        target: 1
      - id: lead-time
        title: Lead time under a day
        metric: lead_time_for_changes
        repos: [${REPOS.join(', ')}]
        target: 24
      - id: rollbacks
        title: Few rollbacks
        metric: rollback_rate
        repos: [${REPOS.join(', ')}]
        target: 0.05
`;

function serve(redis: { redisUrl?: string; redisCluster?: string }, lines: string[]): Promise<RunningService> {
  return startService({
    role: 'serve',
    configFile: file,
    redisUrl: redis.redisUrl ?? 'redis://127.0.0.1:1',
    redisCluster: redis.redisCluster,
    prefix,
    host: '127.0.0.1',
    port: 0,
    now: () => clock,
    logger: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }),
    env: { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: sim.url },
    reconcileEveryMs: 2_000,
  }).then((s) => (running.push(s), s));
}

/** Every key result's value, once all have one evaluated at or after `after`. */
async function values(url: string, after = 0): Promise<Record<string, number> | undefined> {
  const res = await fetch(`${url}/api/v1/objectives`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
  if (!res?.ok) return undefined;
  const krs = ((await res.json()) as ObjectivesDocument).objectives[0]!.keyResults;
  if (krs.some((kr) => kr.value === null || kr.evaluatedAt === null || Date.parse(String(kr.evaluatedAt)) < after)) return undefined;
  return Object.fromEntries(krs.map((kr) => [kr.id, kr.value as number]));
}

/** The okr_key_result_value lines of /metrics, sorted. */
async function valueLines(url: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('okr_key_result_value{')).sort();
}

/** Waits until the values stop changing between evaluations (every stream synced to its end). */
async function settled(url: string, timeoutMs: number): Promise<Record<string, number>> {
  let last = '';
  let same = 0;
  return until('values settled', async () => {
    const v = await values(url);
    if (!v) return undefined;
    const s = JSON.stringify(v);
    same = s === last ? same + 1 : 0;
    last = s;
    return same >= 3 ? v : undefined;
  }, timeoutMs, 700);
}

beforeAll(async () => {
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 12, repos: REPOS, from: new Date(AT - 60 * DAY), to: new Date(AT - 60_000) }),
    token: TOKEN,
  });
  dir = await mkdtemp(join(tmpdir(), 'krt-cluster-test-'));
  file = join(dir, 'okrs.yaml');
  await writeFile(file, OKRS);
}, 30_000);

afterAll(async () => {
  for (const s of running) await s.stop().catch(() => undefined);
  single?.kill('SIGKILL');
  await cluster?.stop();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('krt serve on a Redis Cluster', () => {
  let reference: Record<string, number>;
  let referenceLines: string[];

  it('on one Redis: the reference values', async () => {
    const port = await freePort();
    single = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const krt = await serve({ redisUrl: `redis://127.0.0.1:${port}` }, []);
    reference = await settled(krt.url!, 30_000);
    referenceLines = await valueLines(krt.url!);
    expect(Object.keys(reference)).toEqual(['frequency', 'lead-time', 'rollbacks']);
    expect(referenceLines).toHaveLength(3);
    await krt.stop();
    running.splice(running.indexOf(krt), 1);
    single.kill('SIGKILL');
  }, 45_000);

  it('on 3 masters: the same values, partitions on several masters, and a master lost to its replica', async () => {
    cluster = await startLocalCluster({ masters: 3, replicas: 1 });
    const lines: string[] = [];
    const krt = await serve({ redisCluster: cluster.seeds }, lines);
    expect(await settled(krt.url!, 30_000)).toEqual(reference);
    expect(await valueLines(krt.url!)).toEqual(referenceLines);

    // Where the events live: each master holds the partitions of the owners whose tag hashes to it.
    const masters = await cluster.masters();
    const held = new Map<number, string[]>();
    for (const m of masters) {
      const keys: string[] = [];
      await cluster.withNode(m.port, async (r) => {
        let cursor = '0';
        do {
          const [next, found] = await r.scan(cursor, 'MATCH', `${prefix}:{*}:events:*`, 'COUNT', 1000);
          keys.push(...found);
          cursor = next;
        } while (cursor !== '0');
      });
      held.set(m.port, keys);
    }
    const withEvents = [...held].filter(([, keys]) => keys.length > 0);
    expect(withEvents.length).toBeGreaterThanOrEqual(2);
    expect(withEvents.flatMap(([, k]) => k).filter((k) => k.includes(':events:deployment:'))).toHaveLength(REPOS.length);

    // Kill the master holding the most partitions; its replica takes over its slots.
    const [victimPort, victimKeys] = withEvents.sort((a, b) => b[1].length - a[1].length)[0]!;
    const victim = cluster.nodes.find((n) => n.port === victimPort)!;
    const victimOwners = new Set(victimKeys.map((k) => k.slice(k.indexOf('{') + 1, k.indexOf('}'))));
    const killedAt = Date.now();
    await cluster.kill(victim);
    await until('a replica promoted', async () => ((await cluster!.masters()).some((m) => m.port === victimPort) ? undefined : true), 20_000, 200);

    // The service goes on: streams of the lost master's owners sync again, and a later evaluation
    // (one second later) lands with the same values.
    await until('a sync of a stream on the failed-over slots', async () =>
      lines.some((l) => {
        const o = JSON.parse(l) as { msg: string; time: number; stream?: string };
        return o.msg === 'sync done' && o.time > killedAt && [...victimOwners].some((owner) => o.stream?.includes(`:${owner}`));
      }) || undefined,
    // The queue's slot ({test-cluster-bull}, 3263) is on the lost master too: BullMQ's workers must
    // reconnect to its replica (src/lib/redis.ts bullConnection). Seconds normally; generous under load.
    60_000, 200);
    clock = AT + 1000;
    const after = await until('values evaluated after the failover', () => values(krt.url!, AT + 1000), 45_000, 300);
    expect(after).toEqual(reference);
    expect((await fetch(`${krt.url}/readyz`)).status).toBe(200);
  }, 180_000);
});
