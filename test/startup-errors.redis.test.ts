// Fatal start-up errors end the command at once, non-zero, with a message that says what to do.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from './helpers/redis.js';

const ENV = { GITHUB_TOKEN: 'x', PAGERDUTY_TOKEN: 'x', SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/x', PD_ROUTING_KEY: 'x', HOOK_SECRET: 'x' };

/** Runs krt; a command still running after `limitMs` is killed and reported as hanging (code null). */
function krt(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 30_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/krt.js', ...args], { env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

let busy: Server;
let port: number;
beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  port = (busy.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => busy.close(() => r())));

describe('fatal start-up errors', () => {
  it('serve on a busy port exits non-zero and names the port', async () => {
    const r = await krt(['serve', '--config', 'config/okrs.example.yaml', '--port', String(port), '--redis-url', REDIS_URL, '--prefix', 'test-busy']);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`port ${port} on 127.0.0.1 is already in use`);
  }, 40_000);

  it('demo on a busy port exits non-zero instead of hanging', async () => {
    const r = await krt(['demo', '--exit-after-first', '--port', String(port)], { REDIS_URL, PATH: '/nonexistent' }, 60_000);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`port ${port}`);
    expect(r.out).toContain('already in use');
  }, 70_000);

  it('backfill without Redis exits non-zero within seconds', async () => {
    const r = await krt(['backfill', '--config', 'config/okrs.example.yaml', '--from', '2026-10-01', '--redis-url', 'redis://127.0.0.1:1'], {}, 10_000);
    expect(r.code).toBe(2);
    expect(r.out).toContain('no Redis answers at redis://127.0.0.1:1');
  }, 20_000);

  it('backfill --from after --to is bad input (exit 1)', async () => {
    const r = await krt(['backfill', '--config', 'config/okrs.example.yaml', '--from', '2026-10-05', '--to', '2026-10-01']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('--from 2026-10-05 is after --to 2026-10-01');
  });
});
