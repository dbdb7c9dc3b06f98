// `krt serve` reloading its OKR file: a valid change is applied (schedulers reconciled, removed
// key results' series dropped); a broken file is rejected and the service keeps the last good one.
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { createQueues } from '../src/queue/queues.js';
import { redisOptions } from '../src/lib/redis.js';
import { startService, type RunningService } from '../src/service.js';
import { until } from './helpers/net.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const { prefix, cleanup } = testPrefix();
let sim: GithubSimulator;
let service: RunningService;
let dir: string;
let file: string;
const lines: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });

const okrs = (krs: string) => `version: 1
sources:
  github: { token: "\${GITHUB_TOKEN}", baseUrl: "\${GITHUB_API_URL}" }
schedule: { sync: 5m, evaluate: 5m }
objectives:
  - id: cicd
    title: Establish a world-class CI/CD pipeline
    owner: platform-team
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
${krs}`;
const KR = (id: string, repo: string) => `      - id: ${id}
        title: Increase deployment frequency of ${repo} to daily
        metric: deployment_frequency
        repos: [${repo}]
        target: 1
`;

beforeAll(async () => {
  const now = Date.now();
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 9, repos: ['acme/payments', 'acme/checkout'], from: new Date(now - 40 * DAY), to: new Date(now - 60_000) }),
    token: 'reload-token',
  });
  dir = await mkdtemp(join(tmpdir(), 'krt-reload-'));
  file = join(dir, 'okrs.yaml');
  await writeFile(file, okrs(KR('payments-frequency', 'acme/payments') + KR('checkout-frequency', 'acme/checkout')));
  service = await startService({
    role: 'serve',
    configFile: file,
    redisUrl: REDIS_URL,
    prefix,
    host: '127.0.0.1',
    port: 0,
    logger,
    env: { GITHUB_TOKEN: 'reload-token', GITHUB_API_URL: sim.url },
  });
});
afterAll(async () => {
  await service?.stop();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
  await cleanup();
});

const metrics = async () => (await fetch(`${service.url}/metrics`)).text();

describe('reload', () => {
  it('applies a valid change and drops the removed key result everywhere', async () => {
    await until('both key results evaluated', async () => {
      const m = await metrics();
      return /okr_key_result_value\{[^}]*key_result="payments-frequency"/.test(m) && /okr_key_result_value\{[^}]*key_result="checkout-frequency"/.test(m) ? true : undefined;
    });
    await writeFile(file, okrs(KR('payments-frequency', 'acme/payments')));
    expect(await service.reload()).toBe(true);
    const m = await metrics();
    expect(m).not.toContain('checkout-frequency');
    expect(m).toMatch(/okr_key_result_value\{[^}]*key_result="payments-frequency"/);
    const queues = createQueues({ connection: redisOptions(REDIS_URL), prefix: `${prefix}-bull` });
    try {
      expect((await queues.evaluate.getJobSchedulers(0, -1)).map((s) => s.key)).toEqual(['evaluate/cicd']);
      expect((await queues.sync.getJobSchedulers(0, -1)).map((s) => s.key)).toEqual(['sync/github/deployments/acme/payments@production']);
    } finally {
      await queues.close();
    }
  });

  it('rejects a broken file with its errors logged and keeps running on the last good one', async () => {
    const good = await readFile(file, 'utf8');
    await writeFile(file, good.replace('target: 1', 'target: often'));
    expect(await service.reload()).toBe(false);
    expect(service.config().objectives[0]?.keyResults.map((k) => k.id)).toEqual(['payments-frequency']);
    expect(lines.join('')).toMatch(/config rejected; keeping the last good one/);
    expect(lines.join('')).toMatch(/okrs\.yaml:\d+:\d+ objectives\[0\]\.keyResults\[0\]\.target/);
    expect((await fetch(`${service.url}/metrics`)).status).toBe(200);
  });

  it('reloads on SIGHUP', async () => {
    await writeFile(file, okrs(KR('payments-frequency', 'acme/payments') + KR('checkout-frequency', 'acme/checkout')));
    process.emit('SIGHUP');
    await until('the re-added key result evaluated', async () =>
      /okr_key_result_value\{[^}]*key_result="checkout-frequency"/.test(await metrics()) ? true : undefined,
    );
    expect(service.config().objectives[0]?.keyResults.map((k) => k.id)).toEqual(['payments-frequency', 'checkout-frequency']);
  });

  it('follows the file on disk when watching, also when an editor replaces it', async () => {
    const watched = await mkdtemp(join(tmpdir(), 'krt-watch-'));
    const wfile = join(watched, 'okrs.yaml');
    await writeFile(wfile, okrs(KR('payments-frequency', 'acme/payments')));
    const { prefix: p2, cleanup: c2 } = testPrefix();
    const w = await startService({
      role: 'worker',
      configFile: wfile,
      redisUrl: REDIS_URL,
      prefix: p2,
      logger,
      env: { GITHUB_TOKEN: 'reload-token', GITHUB_API_URL: sim.url },
      watchConfig: true,
    });
    try {
      // Written elsewhere and renamed over the file, as editors do: a new inode.
      await writeFile(join(watched, '.okrs.yaml.tmp'), okrs(KR('checkout-frequency', 'acme/checkout')));
      await rename(join(watched, '.okrs.yaml.tmp'), wfile);
      await until('the new file applied', async () => (w.config().objectives[0]?.keyResults[0]?.id === 'checkout-frequency' ? true : undefined), 10_000, 100);
      // And a second change after that: the watch survived the replacement.
      await writeFile(wfile, okrs(KR('payments-frequency', 'acme/payments') + KR('checkout-frequency', 'acme/checkout')));
      await until('the second change applied', async () => (w.config().objectives[0]?.keyResults.length === 2 ? true : undefined), 10_000, 100);
    } finally {
      await w.stop();
      await rm(watched, { recursive: true, force: true });
      await c2();
    }
  });

  it('follows a directory of team files: a change to one is applied, a broken one keeps the last good config and names its file', async () => {
    const teams = await mkdtemp(join(tmpdir(), 'krt-watch-dir-'));
    const team = (id: string, repo: string, target = '1') => `version: 1
objectives:
  - id: ${id}
    title: Ship ${repo} every day
    owner: ${id}-team
    parent: cicd
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - id: frequency
        title: Increase deployment frequency of ${repo} to daily
        metric: deployment_frequency
        repos: [${repo}]
        target: ${target}
`;
    await writeFile(join(teams, 'platform.yaml'), okrs(KR('payments-frequency', 'acme/payments')));
    await writeFile(join(teams, 'checkout.yaml'), team('checkout', 'acme/checkout'));
    const { prefix: p3, cleanup: c3 } = testPrefix();
    const dirLines: string[] = [];
    const w = await startService({
      role: 'worker',
      configFile: teams,
      redisUrl: REDIS_URL,
      prefix: p3,
      logger: pino({ level: 'info' }, { write: (s: string) => void dirLines.push(s) }),
      env: { GITHUB_TOKEN: 'reload-token', GITHUB_API_URL: sim.url },
      watchConfig: true,
    });
    try {
      expect(w.config().objectives.map((o) => o.id)).toEqual(['checkout', 'cicd']);
      // A new team file, written elsewhere and renamed in as editors do.
      await writeFile(join(teams, '.payments.yaml.tmp'), team('payments', 'acme/payments'));
      await rename(join(teams, '.payments.yaml.tmp'), join(teams, 'payments.yaml'));
      await until('the new team file applied', async () => (w.config().objectives.length === 3 ? true : undefined), 10_000, 100);
      // A broken team file: the last good config stays, and the log names the file and its line.
      await writeFile(join(teams, 'checkout.yaml'), team('checkout', 'acme/checkout', 'often'));
      await until('the broken file rejected', async () => (dirLines.join('').includes('config rejected') ? true : undefined), 10_000, 100);
      expect(dirLines.join('')).toMatch(/checkout\.yaml:13:17 objectives\[0\]\.keyResults\[0\]\.target/);
      expect(w.config().objectives.map((o) => o.id)).toEqual(['checkout', 'payments', 'cicd']);
      // SIGHUP reads the directory again too.
      await writeFile(join(teams, 'checkout.yaml'), team('checkout', 'acme/checkout', '2'));
      process.emit('SIGHUP');
      await until('the fixed file applied', async () => (w.config().objectives[0]?.keyResults[0]?.target.type === 'absolute' && (w.config().objectives[0]!.keyResults[0]!.target as { value: number }).value === 2 ? true : undefined), 10_000, 100);
    } finally {
      await w.stop();
      await rm(teams, { recursive: true, force: true });
      await c3();
    }
  });
});
