// The HTTP endpoint against hostile clients: 10,000 random and malformed requests over raw
// sockets (loopback only), after which the same `krt serve` process still answers /healthz; auth
// and what an unauthenticated client may see.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { failedResult } from '../src/engine/evaluate.js';
import type { Config } from '../src/config/types.js';
import { startHttpServer, type RunningHttpServer } from '../src/exporters/http.js';
import { createLogger } from '../src/lib/logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { freePort } from '../src/lib/net.js';

const ENV = {
  GITHUB_TOKEN: 'ghp_hostile_secret',
  PAGERDUTY_TOKEN: 'pd_hostile_secret',
  SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/slack',
  PD_ROUTING_KEY: 'routing_hostile_secret',
  HOOK_SECRET: 'hook_hostile_secret',
};

/** Sends raw bytes, reads what comes back until the server closes or `ms` pass. */
function raw(port: number, bytes: Buffer | string, ms = 250): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => socket.write(bytes, () => undefined));
  });
}

/** mulberry32: the same 10,000 requests on every run. */
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PATCH', 'G\u0000T', '', 'get', 'BREW', 'GET GET', 'X'.repeat(300)];
const TARGETS = [
  '//[',
  '/metrics',
  '/healthz',
  '/readyz',
  '/api/v1/objectives',
  '/api/v1/objectives?x=%zz',
  '*',
  'http://evil.example/metrics',
  '/%',
  '/%zz',
  '/..%2f..%2fetc/passwd',
  '/' + 'a'.repeat(9000),
  '/?' + 'q=1&'.repeat(2000),
  '/\u007f',
  '/ü',
  '',
  '//',
  '///[',
  '/[::1]',
  '/api/../metrics',
  '//user@[',
  'http://[',
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', '', 'XYZ/1.1', 'HTTP/1.1 extra'];
const HEADERS = [
  'Host: localhost',
  'Host:',
  'Content-Length: 5',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999',
  'Content-Length: 1\r\nContent-Length: 2',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked\r\nContent-Length: 3',
  'Authorization: Bearer ',
  'Authorization: Basic !!!not-base64',
  'Authorization: Basic ' + Buffer.from('krt').toString('base64'),
  'Authorization: ' + 'x'.repeat(5000),
  'X-Long: ' + 'y'.repeat(20_000),
  'NoColonHere',
  ': empty-name',
  'Bad\u0000Name: 1',
  'Connection: keep-alive',
  'Expect: 100-continue',
  'Upgrade: websocket\r\nConnection: Upgrade',
];

function hostileRequest(r: ReturnType<typeof random>): Buffer {
  const kind = r.int(10);
  if (kind === 0) return r.bytes(1 + r.int(2000));
  const line = `${r.pick(METHODS)} ${r.pick(TARGETS)} ${r.pick(VERSIONS)}`;
  const headers = Array.from({ length: r.int(5) }, () => r.pick(HEADERS));
  const body = kind === 1 ? r.bytes(r.int(100_000)) : kind === 2 ? Buffer.from('5\r\nhello\r\nzz\r\n') : Buffer.alloc(0);
  const eol = r.next() < 0.1 ? '\n' : '\r\n';
  const head = Buffer.from([line, ...headers].join(eol) + eol + (r.next() < 0.9 ? eol : ''), 'latin1');
  return Buffer.concat([head, body]);
}

let krt: ChildProcess;
let port: number;
let log = '';

beforeAll(async () => {
  port = await freePort();
  // No Redis at all (a port where nothing listens): the endpoint serves anyway, not ready.
  krt = spawn(process.execPath, ['bin/krt.js', 'serve', '--config', 'config/okrs.example.yaml', '--port', String(port), '--redis-url', 'redis://127.0.0.1:1', '--prefix', 'test-hostile'], {
    env: { ...process.env, ...ENV, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  krt.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  krt.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (krt.exitCode !== null) throw new Error(`krt serve exited ${krt.exitCode}: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`krt serve did not answer /healthz: ${log}`);
}, 30_000);

afterAll(() => {
  krt?.kill('SIGKILL');
});

describe('krt serve against hostile requests', () => {
  it('answers 400 to the request target //[ that used to kill it', async () => {
    const reply = await raw(port, 'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2000);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('listens on loopback by default', () => {
    expect(log).toContain(`"url":"http://127.0.0.1:${port}"`);
  });

  it('survives 10,000 random and malformed requests and still answers /healthz, in the same process', async () => {
    const pid = krt.pid;
    const r = random(20261129);
    const requests = Array.from({ length: 10_000 }, () => hostileRequest(r));
    let next = 0;
    const replies = { answered: 0, silent: 0 };
    const worker = async () => {
      while (next < requests.length) {
        const reply = await raw(port, requests[next++]!);
        if (reply.startsWith('HTTP/1.')) replies.answered++;
        else replies.silent++;
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    expect(krt.exitCode).toBeNull();
    expect(krt.pid).toBe(pid);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    // Most requests got an HTTP answer (a 4xx or a page); none brought the process down.
    expect(replies.answered).toBeGreaterThan(5_000);
    expect(log).not.toMatch(/uncaught|TypeError|RangeError/i);
    for (const secret of Object.values(ENV)) expect(log).not.toContain(secret);
  }, 240_000);
});

describe('auth and what an anonymous client sees', () => {
  const logger = createLogger('silent');
  const TOKEN = 'a-long-random-token-for-tests-0123456789';
  const withServer = (yaml: string) => {
    const { config, problems } = parseConfig(
      `version: 1\n${yaml}sources:\n  github:\n    token: x\n    baseUrl: http://127.0.0.1:1\nobjectives:\n  - id: cicd\n    title: Ship more often\n    owner: platform-team\n    period: { start: 2026-10-01, end: 2026-12-31 }\n    keyResults:\n      - id: deploy-frequency\n        title: Deploy daily\n        metric: deployment_frequency\n        repos: [acme/payments]\n        target: 1\n`,
      'okrs.yaml',
      { KRT_API_TOKEN: TOKEN, KRT_API_PASSWORD: 'pw-of-tests' },
    );
    expect(problems).toEqual([]);
    return config as Config;
  };
  let servers: RunningHttpServer[] = [];
  const start = async (config: Config) => {
    const store = new MemoryStore();
    const o = config.objectives[0]!;
    await store.putResult(failedResult(o, o.keyResults[0]!, Date.now(), Date.now(), new Error('GET http://github.internal.example:8443/api/v3/repos/acme/payments/deployments answered 502')));
    const s = await startHttpServer({ store, config: () => config, now: Date.now, logger, ready: async () => true, port: 0 });
    servers.push(s);
    return s.url;
  };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  it('without server.auth hides internal URLs in errors', async () => {
    const url = await start(withServer(''));
    const body = await (await fetch(`${url}/api/v1/objectives`)).text();
    expect(body).toContain('answered 502');
    expect(body).not.toContain('github.internal.example');
  });

  it('with a bearer token protects /api/* but not /healthz, /readyz or (unless asked) /metrics', async () => {
    const url = await start(withServer('server:\n  auth: { bearerToken: ${KRT_API_TOKEN} }\n'));
    const anon = await fetch(`${url}/api/v1/objectives`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${url}/api/v1/objectives`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${url}/api/v1/objectives`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    // An authenticated client sees the whole error.
    expect(await ok.text()).toContain('github.internal.example');
    for (const open of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`${url}${open}`)).status).toBe(200);
  });

  it('with basic auth and metrics: true protects /metrics too', async () => {
    const url = await start(withServer('server:\n  auth: { basicAuth: { user: krt, password: ${KRT_API_PASSWORD} }, metrics: true }\n'));
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    expect((await fetch(`${url}/metrics`, { headers: basic('krt', 'nope') })).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: basic('other', 'pw-of-tests') })).status).toBe(401);
    const ok = await fetch(`${url}/metrics`, { headers: basic('krt', 'pw-of-tests') });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('krt_redis_up 1');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
