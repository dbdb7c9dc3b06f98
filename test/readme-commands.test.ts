// The README keeps its promises: every command of its "Using it" block runs as written (the block
// is parsed from README.md, so the two cannot drift), against the simulated GitHub and PagerDuty
// and a real Prometheus; and its checkable statements hold (-c on every command, the number of
// broken fixture files).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { generatePagerDutyDataset } from '../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import { buildProgram } from '../src/cli/main.js';
import { freePort, until } from './helpers/net.js';
import { startPrometheusWithHistory, type PrometheusWithHistory } from './helpers/prometheus-history.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
const README = await readFile('README.md', 'utf8');

/** The commands of the README's "Using it" block, as argument lists after `npx krt`. */
function usingItCommands(readme: string): string[][] {
  const section = readme.slice(readme.indexOf('## Using it'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no ```sh block under "## Using it"');
  const commands: string[][] = [];
  for (const raw of block.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (!line) continue;
    if (!line.startsWith('npx krt ')) throw new Error(`"${line}" in README.md's "Using it" does not start with npx krt`);
    // Optional parts: a plain flag ([--strict]) is used; one with a placeholder or a choice
    // ([FILE], [--to D], [--url URL | --once]) is left out, the defaults being what is tested.
    const text = line
      .slice('npx krt '.length)
      .replace(/\[([^\]]*)\]/g, (_m, inner: string) => (/[A-Z]|\|/.test(inner) ? '' : inner))
      .trim();
    const words = text.split(/\s+/);
    // `github|pagerduty`: each choice is a command of its own.
    const choice = words.findIndex((w) => w.includes('|'));
    if (choice < 0) commands.push(words);
    else for (const alt of words[choice]!.split('|')) commands.push(words.map((w, i) => (i === choice ? alt : w)));
  }
  return commands;
}

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

let github: GithubSimulator;
let pagerduty: Awaited<ReturnType<typeof startPagerDutySimulator>>;
let prometheus: PrometheusWithHistory;
const { prefix, cleanup } = testPrefix();
const running: ChildProcess[] = [];
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  github = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 23, repos: ['acme/payments', 'acme/checkout'], from: new Date(NOW - 150 * DAY), to: new Date(NOW), rateScale: 0.3 }),
    token: 'readme-token',
  });
  pagerduty = await startPagerDutySimulator({
    dataset: generatePagerDutyDataset({ seed: 23, services: ['PXXXXXX'], from: new Date(NOW - 150 * DAY), to: new Date(NOW) }),
    token: 'readme-token',
  });
  prometheus = await startPrometheusWithHistory({
    series: [{ labels: { service: 'payments' }, requestsPerSecond: 30, quantileAt: { from: 0.48, to: 0.4 } }],
    // rate(...[5m]) needs two samples in five minutes; earlier instants (--at, backfill) have no P99.
    from: NOW - 7 * DAY,
    to: NOW + DAY,
    stepSeconds: 120,
  });
  env = {
    ...process.env,
    // No -c in the README's commands: in a checkout without config/okrs.yaml they read the example.
    KRT_CONFIG: undefined,
    GITHUB_TOKEN: 'readme-token',
    GITHUB_API_URL: github.url,
    PAGERDUTY_TOKEN: 'readme-token',
    PAGERDUTY_API_URL: pagerduty.url,
    PROMETHEUS_URL: prometheus.url,
    SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/slack',
    PD_ROUTING_KEY: 'k',
    HOOK_SECRET: 's',
    REDIS_URL,
    KRT_PREFIX: prefix,
  };
}, 180_000);

afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  await github?.close();
  await pagerduty?.close();
  await prometheus?.stop();
  await cleanup();
});

function spawnKrt(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const merged: NodeJS.ProcessEnv = { ...env, ...extra };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  const child = spawn(process.execPath, ['bin/krt.js', ...args], { env: merged });
  running.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const done = new Promise<Done>((resolve) => child.on('exit', (code) => resolve({ code, ...out })));
  return { child, out, done };
}

/** A one-shot command; killed (and failing the test) when it outlives `ms`. */
async function runKrt(args: string[], ms = 120_000, extra: NodeJS.ProcessEnv = {}): Promise<Done> {
  const { child, done } = spawnKrt(args, extra);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const r = await done;
  clearTimeout(timer);
  return r;
}

/** A long-running command: waits for `ready`, checks it, stops it with SIGTERM and expects exit 0. */
async function runService(args: string[], ready: (out: { stdout: string; stderr: string }) => boolean, what: string, check?: () => Promise<void>): Promise<Done> {
  const { child, out, done } = spawnKrt(args);
  await until(`${what} (stdout: ${out.stdout.slice(-500)} stderr: ${out.stderr.slice(-1500)})`, async () => (ready(out) ? true : child.exitCode !== null ? true : undefined), 60_000, 100);
  expect(child.exitCode, `${what} exited early: ${out.stderr}`).toBeNull();
  await check?.();
  child.kill('SIGTERM');
  return done;
}

describe('README "Using it", command by command', () => {
  const commands = usingItCommands(README);

  it('lists the commands of the program, each with options it really has', () => {
    const known = new Map(buildProgram().commands.map((c) => [c.name(), c]));
    expect(commands.length).toBeGreaterThanOrEqual(10);
    for (const words of commands) {
      const cmd = known.get(words[0]!);
      expect(cmd, `krt ${words[0]} is not a command`).toBeDefined();
      const flags = new Set(cmd!.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
      for (const w of words.filter((x) => x.startsWith('-'))) expect(flags.has(w), `krt ${words[0]} has no ${w}`).toBe(true);
    }
  });

  it('runs every command as written', async () => {
    let serveUrl: string | null = null;
    let serve: ReturnType<typeof spawnKrt> | null = null;
    const outDir = await mkdtemp(join(tmpdir(), 'krt-readme-'));
    try {
      for (const words of commands) {
        const name = words.join(' ');
        switch (words[0]) {
          case 'serve': {
            // Kept running for the commands after it (status reads it).
            const port = await freePort();
            serve = spawnKrt([...words, '--port', String(port), '--host', '127.0.0.1']);
            serveUrl = `http://127.0.0.1:${port}`;
            const s = serve;
            await until(`krt serve ready (${s.out.stderr.slice(-1500)})`, async () => (s.child.exitCode !== null ? true : (await fetch(`${serveUrl}/readyz`).catch(() => null))?.ok ? true : undefined), 60_000, 200);
            expect(s.child.exitCode, s.out.stderr).toBeNull();
            // /readyz answers as soon as Redis does; the start-up line follows once schedulers and workers run.
            await until('the start-up line of krt serve', async () => (/krt serve started/.test(s.out.stderr) ? true : undefined), 30_000, 100);
            expect(s.out.stderr, 'one start-up line').toMatch(/"role":"serve".*krt serve started/);
            const doc = (await (await fetch(`${serveUrl}/api/v1/objectives`)).json()) as { at: string; objectives: unknown[] };
            expect(doc.objectives).toHaveLength(3);
            break;
          }
          case 'worker': {
            const r = await runService(words, (o) => o.stderr.includes('krt worker started'), 'krt worker start-up line');
            expect(r.code, `${name}: ${r.stderr}`).toBe(0);
            const start = r.stderr.split('\n').find((l) => l.includes('krt worker started'))!;
            const line = JSON.parse(start) as { role: string; redis: string; queues: string[]; config: string; prefix: string };
            expect(line).toMatchObject({ role: 'worker', prefix, config: 'config/okrs.example.yaml' });
            expect(line.queues).toEqual(['krt-sync', 'krt-evaluate', 'krt-alerts']);
            break;
          }
          case 'sim': {
            const port = await freePort();
            const args = words.map((w, i) => (words[i - 1] === '--port' ? String(port) : w));
            const r = await runService(args, (o) => o.stdout.includes('simulated'), name, async () => {
              const path = words[1] === 'github' ? '/repos/acme/payments/deployments' : '/incidents';
              const auth = words[1] === 'github' ? 'Bearer demo-token' : 'Token token=demo-token';
              expect((await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: auth } })).status, name).toBe(200);
            });
            expect(r.code, `${name}: ${r.stderr}`).toBe(0);
            break;
          }
          case 'status': {
            expect(serveUrl, 'the README shows serve before status').not.toBeNull();
            const r = await runKrt(words, 60_000, { KRT_URL: serveUrl! });
            expect(r.code, `${name}: ${r.stderr}`).toBe(0);
            expect(r.stdout).toContain('Establish a world-class CI/CD pipeline');
            break;
          }
          case 'explain': {
            // The inputs behind one value: JSON of the documented shape, with the deployments that entered it.
            const r = await runKrt(words, 180_000);
            expect(r.code, `${name}: ${r.stderr}`).toBe(0);
            const e = JSON.parse(r.stdout) as { objective: string; keyResult: string; value: number | null; deployments: { failed: boolean; rollback: boolean }[] };
            expect(e).toMatchObject({ objective: words[1]!.split('/')[0], keyResult: words[1]!.split('/')[1] });
            expect(e.value, name).not.toBeNull();
            expect(e.deployments.length).toBeGreaterThan(0);
            expect(e.value).toBeCloseTo(e.deployments.filter((d) => d.rollback).length / e.deployments.length, 12);
            break;
          }
          case 'dashboards': {
            // Written to a temporary directory and compared with the committed files.
            const args = words.map((w, i) => (words[i - 1] === '--out' ? outDir : w));
            const r = await runKrt(args);
            expect(r.code, `${name}: ${r.stderr}`).toBe(0);
            const target = words[words.indexOf('--out') + 1]!;
            for (const f of (await readdir(outDir)).sort()) {
              expect(await readFile(join(outDir, f), 'utf8'), `${target}/${f} is out of date: run \`npm run dashboards\``).toBe(await readFile(join(target, f), 'utf8'));
            }
            break;
          }
          default: {
            const r = await runKrt(words, 180_000);
            expect(r.code, `krt ${name}: ${r.stdout.slice(-1000)} ${r.stderr.slice(-2000)}`).toBe(0);
            if (words.includes('--json')) {
              const doc = JSON.parse(r.stdout) as { at: string; objectives: { keyResults: { id: string; value: number | null }[] }[] };
              expect(Number.isNaN(Date.parse(doc.at))).toBe(false);
              // Every key result of the example gets a value from the simulated sources.
              for (const kr of doc.objectives.flatMap((o) => o.keyResults)) expect(kr.value, `${name}: ${kr.id}`).not.toBeNull();
            }
          }
        }
      }
      expect(serve, 'the README shows krt serve').not.toBeNull();
      serve!.child.kill('SIGTERM');
      expect((await serve!.done).code).toBe(0);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe("the README's checkable statements", () => {
  /** Every command that does something (not a group such as `alerts`), by its full name. */
  const leaves = (cmd: Command, path: string[] = []): { name: string; cmd: Command }[] =>
    cmd.commands.flatMap((c) => (c.commands.length ? leaves(c, [...path, c.name()]) : [{ name: [...path, c.name()].join(' '), cmd: c }]));

  it('"Every command takes -c/--config FILE"', () => {
    expect(README).toContain('Every command takes\n`-c/--config FILE`');
    const all = leaves(buildProgram());
    expect(all.map((c) => c.name)).toEqual(expect.arrayContaining(['validate', 'lint', 'run', 'serve', 'worker', 'status', 'backfill', 'dashboards', 'rules', 'alerts test', 'demo', 'sim']));
    for (const { name, cmd } of all) {
      const c = cmd.options.find((o) => o.short === '-c');
      expect(c?.long, `krt ${name} has no -c/--config`).toBe('--config');
    }
  });

  it('counts the broken fixture files it says it has', async () => {
    const n = Number(/test\/fixtures\/config\/bad\/` holds (\d+) broken files/.exec(README)?.[1]);
    const files = (await readdir('test/fixtures/config/bad')).filter((f) => f.endsWith('.yaml'));
    expect(n).toBe(files.length);
  });

  it('points only to files in the repository', async () => {
    expect(README).not.toContain('../shared');
    for (const [, link] of README.matchAll(/\]\(((?!https?:)[^)#]+)\)/g)) {
      await expect(readFile(link!, 'utf8').then(() => true, () => false), link).resolves.toBe(true);
    }
  });
});
