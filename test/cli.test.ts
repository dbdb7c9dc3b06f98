// The `krt` command as users run it: the built bin, real processes, the simulated GitHub.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { expectedDeploymentFrequency } from './helpers/expected.js';

const DAY = 86_400_000;
const REPOS = ['acme/payments', 'acme/checkout'];
let sim: GithubSimulator;
const now = Date.now();

const krt = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const merged: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', ...env };
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    const child = spawn(process.execPath, ['bin/krt.js', ...args], { env: merged });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });

const exampleEnv = () => ({
  GITHUB_TOKEN: 'cli-token',
  GITHUB_API_URL: sim.url,
  PAGERDUTY_TOKEN: 'pd-secret-value',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.invalid/T000/B000/very-secret',
  PD_ROUTING_KEY: 'routing-secret',
  HOOK_SECRET: 'hook-secret',
});

beforeAll(async () => {
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 5, repos: REPOS, from: new Date(now - 120 * DAY), to: new Date(now) }),
    token: 'cli-token',
  });
});
afterAll(async () => {
  await sim.close();
});

describe('krt validate', () => {
  it('accepts the example config and exits 0', async () => {
    const r = await krt(['validate', 'config/okrs.example.yaml'], exampleEnv());
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/config\/okrs\.example\.yaml: valid \(3 objectives, 11 key results\)/);
    expect(r.code).toBe(0);
  });

  it('needs no secrets: an unset variable is a warning that names it, an error with --require-env, and no secret is printed', async () => {
    const env = { ...exampleEnv(), GITHUB_TOKEN: undefined, PD_ROUTING_KEY: undefined };
    const r = await krt(['validate', 'config/okrs.example.yaml'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/valid \(3 objectives, 11 key results; 2 unset environment variables\)/);
    expect(r.stderr).toMatch(/^warning: config\/okrs\.example\.yaml:\d+:\d+ sources\.github\.token environment variable GITHUB_TOKEN is not set/m);
    expect(r.stderr).toMatch(/^warning: config\/okrs\.example\.yaml:\d+:\d+ alerts\.channels\.oncall\.routingKey environment variable PD_ROUTING_KEY is not set/m);
    const strict = await krt(['validate', '--require-env', 'config/okrs.example.yaml'], env);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/config\/okrs\.example\.yaml:\d+:\d+ sources\.github\.token environment variable GITHUB_TOKEN is not set/);
    for (const out of [r.stdout + r.stderr, strict.stdout + strict.stderr]) {
      for (const secret of ['pd-secret-value', 'very-secret', 'hook-secret']) expect(out).not.toContain(secret);
    }
  });

  it('validates the example with an empty environment (env -i PATH=$PATH)', async () => {
    const empty = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/krt.js', 'validate', 'config/okrs.example.yaml'], { env: { PATH: process.env.PATH } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('valid (3 objectives, 11 key results; 5 unset environment variables)');
    for (const name of ['GITHUB_TOKEN', 'PAGERDUTY_TOKEN', 'SLACK_WEBHOOK_URL', 'PD_ROUTING_KEY', 'HOOK_SECRET']) expect(empty.stderr).toContain(`environment variable ${name} is not set`);
    // serve, worker and run need them all the same.
    const run = await krt(['run', '--once', '-c', 'config/okrs.example.yaml'], { GITHUB_TOKEN: undefined, PAGERDUTY_TOKEN: undefined, SLACK_WEBHOOK_URL: undefined, PD_ROUTING_KEY: undefined, HOOK_SECRET: undefined });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('environment variable GITHUB_TOKEN is not set');
  });

  it('takes the file as -c like every command, and prints its version', async () => {
    const r = await krt(['validate', '-c', 'config/okrs.example.yaml'], exampleEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('config/okrs.example.yaml: valid');
    const v = await krt(['--version']);
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(v.stdout.trim()).toBe(version);
  });

  it('says what is wrong with a missing file', async () => {
    const r = await krt(['validate', 'config/does-not-exist.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('config/does-not-exist.yaml');
  });
});

describe('krt run --once', () => {
  it('prints JSON whose deployment frequency equals the value computed from the simulated data', async () => {
    const at = new Date(now - 10 * DAY);
    const r = await krt(['run', '--once', '--json', '--at', at.toISOString(), '--config', 'config/okrs.example.yaml'], exampleEnv());
    // No PagerDuty answers here: its stream is the one that did not finish, hence exit 2.
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^krt: pagerduty incidents PXXXXXX: failed: /m);
    expect(r.stderr).toMatch(/^krt: 1 of \d+ streams did not finish/m);
    const out = JSON.parse(r.stdout) as { at: string; objectives: { id: string; keyResults: { id: string; value: number | null; status: string; unit: string; target: number | null; baseline: number | null }[] }[] };
    expect(out.at).toBe(at.toISOString());
    const kr = out.objectives.find((o) => o.id === 'cicd')!.keyResults.find((k) => k.id === 'deploy-frequency')!;
    expect(kr.value).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', at.getTime(), 28), 12);
    expect(kr.baseline).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', Date.parse('2026-10-01T00:00:00Z'), 28), 12);
    expect(kr.target).toBe(1);
    expect(kr.unit).toBe('per_day');
    expect(['on_track', 'at_risk', 'off_track', 'achieved']).toContain(kr.status);
    expect(out.objectives.flatMap((o) => o.keyResults).map((k) => k.id)).toEqual([
      'deploy-time', 'deploy-frequency', 'rollback-rate', 'rework-rate', 'payments-p99', 'payments-restore', 'coverage', 'lead-time', 'ci-success', 'change-failure-rate', 'review-time',
    ]);
  }, 90_000);

  it('prints a table, reports a refusing source on the key result and on stderr, and exits 2', async () => {
    const r = await krt(['run', '--once', '--config', 'config/okrs.example.yaml'], { ...exampleEnv(), GITHUB_TOKEN: 'wrong-token' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^krt: github deployments acme\/payments@production: failed: .*401.*sources\.github\.token/m);
    expect(r.stderr).not.toContain('wrong-token');
    expect(r.stdout).toContain('Establish a world-class CI/CD pipeline');
    expect(r.stdout).toMatch(/deploy-frequency .* no_data .*401/);
    expect(r.stdout).not.toContain('wrong-token');
  });

  it('rejects a bad --at with the fix', async () => {
    const r = await krt(['run', '--once', '--at', 'yesterday-ish']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('is not an ISO date');
  });
});

describe('krt dashboards', () => {
  it('writes one dashboard per objective, byte-identical to the committed ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'krt-dash-'));
    try {
      const r = await krt(['dashboards', '--config', 'config/okrs.example.yaml', '--out', dir]);
      expect(r.code, r.stderr).toBe(0);
      const files = (await readdir(dir)).sort();
      expect(files).toEqual((await readdir('dashboards/generated')).filter((f) => f.endsWith('.json')).sort());
      for (const f of files) {
        const committed = await readFile(join('dashboards/generated', f), 'utf8');
        expect(await readFile(join(dir, f), 'utf8'), `dashboards/generated/${f} is out of date: run \`npm run dashboards\``).toBe(committed);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run demo', () => {
  const demo = (env: NodeJS.ProcessEnv) => krt(['demo', '--exit-after-first', '--port', '0'], env);
  const deployFrequency = (stdout: string) => /deploy-frequency\s+([\d.]+)\/day/.exec(stdout)?.[1];

  it('uses the Redis at REDIS_URL when one answers', async () => {
    const r = await demo({ REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mode: +Redis at redis:\/\//);
    expect(r.stdout).toMatch(/\/metrics/);
    expect(Number(deployFrequency(r.stdout))).toBeGreaterThan(0);
    // The table stays a table: one line per objective and key result, then (indented further)
    // one per repository of a key result over several; no log line inside it.
    const table = r.stdout.slice(r.stdout.indexOf('Establish a world-class'), r.stdout.indexOf('bar: #'));
    const all = table.trim().split('\n');
    const lines = all.filter((l) => !l.startsWith('    '));
    expect(lines).toHaveLength(3 + 11);
    // Key results over acme/payments and acme/checkout show both, when they have a value.
    const parts = all.filter((l) => l.startsWith('    '));
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const l of parts) expect(l).toMatch(/^ {4}acme\/(payments|checkout) /);
    expect(table).not.toContain('"level"');
    // Every key result of the example gets a value from the simulated sources (the P99 from a
    // real Prometheus, when Debian's prometheus is installed).
    const { execFileSync } = await import('node:child_process');
    let prometheus = true;
    try {
      execFileSync('prometheus', ['--version'], { stdio: 'ignore' });
    } catch {
      prometheus = false;
    }
    for (const line of lines.filter((l) => l.startsWith('  '))) {
      const [, id, value] = /^\s+(\S+)\s+(\S+)/.exec(line)!;
      if (id === 'payments-p99' && !prometheus) continue;
      expect(value, line).not.toBe('-');
    }
  }, 90_000);

  it('starts redis-server from PATH when no Redis answers', async () => {
    const r = await demo({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/started redis-server on redis:\/\/127\.0\.0\.1:\d+/);
    expect(Number(deployFrequency(r.stdout))).toBeGreaterThan(0);
  }, 90_000);

  it('runs the embedded in-process mode, and says so, without Redis or redis-server', async () => {
    const r = await demo({ REDIS_URL: 'redis://127.0.0.1:1', PATH: '/nonexistent' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('EMBEDDED in-process mode');
    expect(Number(deployFrequency(r.stdout))).toBeGreaterThan(0);
  }, 90_000);
});

describe('krt lint', () => {
  it('prints OKR-practice warnings with file:line:column, exit 0 by default and 1 with --strict', async () => {
    const file = 'test/fixtures/lint/01-objectives-per-owner.yaml';
    const r = await krt(['lint', file], exampleEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test\/fixtures\/lint\/01-objectives-per-owner\.yaml:8:12 objectives\[0\]\.owner \[objectives-per-owner\]/m);
    expect(r.stdout).toMatch(/\d+ warnings/);
    const strict = await krt(['lint', '--strict', file], exampleEnv());
    expect(strict.code).toBe(1);
    const good = await krt(['lint', '--strict', 'test/fixtures/lint/good.yaml'], exampleEnv());
    expect(good.code, good.stdout + good.stderr).toBe(0);
  });

  it('passes the example with --strict without any secret: unset variables are warnings on stderr, not lint warnings', async () => {
    const r = await krt(['lint', '--strict', '-c', 'config/okrs.example.yaml'], { GITHUB_TOKEN: undefined, PAGERDUTY_TOKEN: undefined, SLACK_WEBHOOK_URL: undefined, PD_ROUTING_KEY: undefined, HOOK_SECRET: undefined });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('config/okrs.example.yaml: 0 warnings');
    expect(r.stderr).toContain('environment variable GITHUB_TOKEN is not set');
  });

  it('reports validation problems instead of warnings, exit 1', async () => {
    const r = await krt(['lint', 'test/fixtures/config/bad/08-unknown-metric.yaml'], exampleEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/08-unknown-metric\.yaml:\d+:\d+/);
  });
});

describe('krt alerts test', () => {
  it('sends a test message and prints what the receiver answered', async () => {
    const { createServer } = await import('node:http');
    const { writeFile } = await import('node:fs/promises');
    const bodies: string[] = [];
    let status = 200;
    const server = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => {
        bodies.push(b);
        res.writeHead(status).end(status === 200 ? 'thanks' : 'no such hook');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const dir = await mkdtemp(join(tmpdir(), 'krt-alerts-'));
    const file = join(dir, 'okrs.yaml');
    await writeFile(
      file,
      (await readFile('test/fixtures/lint/good.yaml', 'utf8')).replace(
        /\n {2}channels:\n/,
        `\n  channels:\n    test-hook: { type: webhook, url: "http://127.0.0.1:${(server.address() as { port: number }).port}/hook", secret: "\${HOOK_SECRET}" }\n`,
      ),
    );
    try {
      const ok = await krt(['alerts', 'test', 'test-hook', '--config', file], exampleEnv());
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/test-hook: delivered \(200\) thanks/);
      expect(bodies).toHaveLength(1);
      expect(bodies[0]).not.toContain('hook-secret');
      status = 404;
      const refused = await krt(['alerts', 'test', 'test-hook', '--config', file], exampleEnv());
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/test-hook: refused \(404\) no such hook/);
      const unknown = await krt(['alerts', 'test', 'test-hok', '--config', file], exampleEnv());
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/test-hook/);
      // Only the tested channel's settings are needed: no GitHub or PagerDuty token.
      status = 200;
      const alone = await krt(['alerts', 'test', 'test-hook', '-c', file], { GITHUB_TOKEN: undefined, PAGERDUTY_TOKEN: undefined, SLACK_WEBHOOK_URL: undefined, PD_ROUTING_KEY: undefined, HOOK_SECRET: 'hook-secret' });
      expect(alone.code, alone.stderr).toBe(0);
      expect(alone.stdout).toMatch(/test-hook: delivered \(200\)/);
      const unset = await krt(['alerts', 'test', 'test-hook', '-c', file], { GITHUB_TOKEN: undefined, PAGERDUTY_TOKEN: undefined, SLACK_WEBHOOK_URL: undefined, PD_ROUTING_KEY: undefined, HOOK_SECRET: undefined });
      expect(unset.code).toBe(1);
      expect(unset.stderr).toMatch(/channel test-hook needs a variable that is not set/);
      expect(unset.stderr).toMatch(/alerts\.channels\.test-hook\.secret environment variable HOOK_SECRET is not set/);
      expect(bodies).toHaveLength(3);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('krt status --once and krt backfill', () => {
  // GitHub only: the example's PagerDuty and Prometheus are not reachable from these tests.
  let file: string;
  let dir: string;
  beforeAll(async () => {
    const { writeFile } = await import('node:fs/promises');
    dir = await mkdtemp(join(tmpdir(), 'krt-cli-'));
    file = join(dir, 'okrs.yaml');
    await writeFile(
      file,
      [
        'version: 1',
        'sources:',
        '  github: { token: "${GITHUB_TOKEN}", baseUrl: "${GITHUB_API_URL}" }',
        'objectives:',
        '  - id: cicd',
        '    title: Establish a world-class CI/CD pipeline',
        '    owner: platform-team',
        '    period: { start: 2026-10-01, end: 2026-12-31 }',
        '    keyResults:',
        '      - id: deploy-frequency',
        '        title: Increase deployment frequency to daily',
        '        metric: deployment_frequency',
        '        repos: [acme/payments, acme/checkout]',
        '        target: 1',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('status --once evaluates in-process and prints the table with progress bars', async () => {
    const r = await krt(['status', '--once', '--config', file], exampleEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deploy-frequency +[\d.]+\/day -> 1\.00\/day +\[[#.|]{20}\]/);
  });

  it('status without a running service says how to start one', async () => {
    const r = await krt(['status', '--url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no kr-tracker service answers at http:\/\/127\.0\.0\.1:1.*krt serve/);
  });

  it('backfill syncs, records a value per day with a progress bar, and resumes a finished range as done', async () => {
    const { testPrefix, REDIS_URL } = await import('./helpers/redis.js');
    const { prefix, cleanup } = testPrefix();
    try {
      const from = new Date(now - 20 * DAY).toISOString().slice(0, 10);
      const to = new Date(now - 11 * DAY).toISOString().slice(0, 10);
      const args = ['backfill', '--from', from, '--to', to, '--config', file, '--prefix', prefix, '--redis-url', REDIS_URL];
      const r = await krt(args, exampleEnv());
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`backfilled 10 days \\(${from}\\.\\.${to}\\), \\d+ values`));
      expect(r.stderr).toMatch(/\[#{30}\] 10\/10/);
      const again = await krt([...args, '--no-sync'], exampleEnv());
      expect(again.stdout).toMatch(/resumed after day 10/);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
