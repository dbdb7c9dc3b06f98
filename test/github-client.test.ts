// The GitHub client's failure handling against real HTTP servers: the simulator (with random 5xx),
// a proxy in front of it that answers secondary rate limits, and servers that hang, drip or send
// a 300 MB page.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../connectors/github/client.js';
import { streamOf } from '../connectors/github/deployments.js';
import { createPool, parseBody, retry } from '../connectors/kit/index.js';
import { z } from 'zod';
import { createGithubConnector } from '../connectors/github/index.js';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { Secret } from '../src/core/secret.js';
import { RateLimitError, ResponseTooLargeError, SourceError, SourceTimeoutError } from '../src/core/errors.js';
import { closeServer, listen } from '../src/lib/net.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { runSync } from '../src/sync/run-sync.js';
import { freePort } from './helpers/net.js';

const DAY = 86_400_000;
const TO = Date.parse('2026-11-20T00:00:00Z');
const REPO = 'acme/payments';
const TOKEN = 'good-token';
const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
let sim: GithubSimulator;

beforeAll(async () => {
  const dataset = generateGithubDataset({ seed: 11, repos: [REPO], from: new Date(TO - 60 * DAY), to: new Date(TO) });
  sim = await startGithubSimulator({ dataset, token: TOKEN });
});
afterAll(async () => {
  await sim.close();
});

const wantIds = (s: GithubSimulator) =>
  s.dataset.repos
    .find((r) => r.fullName === REPO)!
    .deployments.filter((d) => d.environment === 'production')
    .map((d) => d.id)
    .sort();

/** An HTTP server of the test's own; `handler` answers each request. */
async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  const url = await listen(server, 0, '127.0.0.1');
  return {
    url,
    server,
    close: async () => {
      server.closeAllConnections();
      await closeServer(server);
    },
  };
}

/** Forwards to the simulator unless `intercept` answers first. */
function proxyTo(target: string, intercept: (req: IncomingMessage, res: ServerResponse) => boolean) {
  return startServer((req, res) => {
    if (intercept(req, res)) return;
    const up = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
}

const secondaryBody = JSON.stringify({
  message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 1234:5678.',
  documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
});

describe('secondary rate limits', () => {
  it('a secondary limit lasting longer than a few retries still ends in a complete sync, waiting retry-after each time', async () => {
    let limited = 0;
    const proxy = await proxyTo(sim.url, (req, res) => {
      // The first 5 list requests: 403 with retry-after (the throttling plugin gave up after 2).
      if (req.url?.includes('/deployments?') && limited < 5) {
        limited++;
        res.writeHead(403, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '7', 'x-ratelimit-remaining': '4000' });
        res.end(secondaryBody);
        return true;
      }
      return false;
    });
    try {
      const waits: number[] = [];
      const store = new MemoryStore();
      const c = createGithubConnector({
        source: { baseUrl: proxy.url, token: new Secret('GITHUB_TOKEN', TOKEN) },
        store,
        logger,
        now: () => TO,
        sleep: async (ms) => void waits.push(ms),
      });
      await c.sync(streamOf(REPO, 'production'));
      expect(limited).toBe(5);
      expect(waits.filter((w) => w === 7000)).toHaveLength(5);
      const got = (await store.getEvents('deployment', `${REPO}@production`)).map((e) => e.id).sort();
      expect(got).toEqual(wantIds(sim));
    } finally {
      await proxy.close();
    }
  });

  it('without retry-after it waits 60 s, as GitHub advises; a wait longer than allowed is a RateLimitError, never "lacks permission"', async () => {
    const proxy = await proxyTo(sim.url, (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
      res.end(secondaryBody);
      return true;
    });
    try {
      const waits: number[] = [];
      const client = createGithubClient({ baseUrl: proxy.url, token: TOKEN, logger, sleep: async (ms) => void waits.push(ms), maxRateLimitWaitMs: 120_000 });
      const err = await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect(waits.length).toBeGreaterThan(2);
      expect(waits.every((w) => w === 60_000)).toBe(true);
      expect((err as Error).message).toMatch(/secondary rate limit/);
      expect((err as Error).message).not.toMatch(/permission/);

      const impatient = createGithubClient({ baseUrl: proxy.url, token: TOKEN, logger, maxRateLimitWaitMs: 1000 });
      const before = Date.now();
      const err2 = await impatient.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(RateLimitError);
      expect((err2 as RateLimitError).resetAt).toBeGreaterThanOrEqual(before + 60_000);
    } finally {
      await proxy.close();
    }
  });
});

describe('deadlines and sizes', () => {
  it('a server that never answers ends at the deadline with a retryable error naming the URL', async () => {
    const hanging = await startServer(() => {});
    try {
      const client = createGithubClient({ baseUrl: hanging.url, token: TOKEN, logger, timeoutMs: 300, retries: 1, retryBaseMs: 1 });
      const err = await client.request('GET /repos/{owner}/{repo}/deployments', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceTimeoutError);
      expect((err as SourceError).retryable).toBe(true);
      expect((err as Error).message).toContain(`${hanging.url}/repos/acme/payments/deployments`);
      expect((err as Error).message).toMatch(/no complete answer within 0.3 s \(timeoutMs\)/);
    } finally {
      await hanging.close();
    }
  });

  it('a server that drips its body byte by byte ends at the deadline too', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const dripping = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.write('[');
      const t = setInterval(() => res.write(' '), 50);
      timers.add(t);
      res.on('close', () => clearInterval(t));
    });
    try {
      const client = createGithubClient({ baseUrl: dripping.url, token: TOKEN, logger, timeoutMs: 400, retries: 0 });
      const err = await client.request('GET /repos/{owner}/{repo}/deployments', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceTimeoutError);
      expect((err as Error).message).toContain(`GitHub GET ${dripping.url}/repos/acme/payments/deployments`);
    } finally {
      for (const t of timers) clearInterval(t);
      await dripping.close();
    }
  });

  it('a 300 MB JSON page is refused with a clear error while it streams, and the process goes on', async () => {
    const total = 300 * 1024 * 1024;
    let sent = 0;
    const chunk = Buffer.from(`{"id":1,"sha":"${'a'.repeat(40)}","environment":"production","pad":"${'x'.repeat(1024 * 1024 - 100)}"},`);
    // Generated lazily with backpressure: never held in memory.
    const huge = await startServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...(req.url?.includes('declared') ? { 'content-length': String(total) } : {}) });
      res.write('[');
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('{}]');
      };
      res.on('error', () => {});
      pump();
    });
    try {
      const client = createGithubClient({ baseUrl: huge.url, token: TOKEN, logger, retries: 0 });
      const err = await client.request('GET /repos/{owner}/{repo}/deployments', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResponseTooLargeError);
      expect((err as SourceError).retryable).toBe(false);
      expect((err as Error).message).toMatch(/over the 52\.4 MB limit \(maxBodyBytes\)/);
      expect((err as Error).message).toContain(`${huge.url}/repos/acme/payments/deployments`);
      expect(sent).toBeLessThan(total);

      sent = 0;
      const declared = await client.request('GET /repos/{owner}/{repo}/deployments', { owner: 'acme', repo: 'declared' }).catch((e: unknown) => e);
      expect(declared).toBeInstanceOf(ResponseTooLargeError);
      expect((declared as Error).message).toMatch(/body of 314\.6 MB/);

      // Still alive and able to talk to a good server.
      const ok = await createGithubClient({ baseUrl: sim.url, token: TOKEN, logger }).request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
      expect(ok.status).toBe(200);
    } finally {
      await huge.close();
    }
  });

  it('connection refused is reported as such, naming the URL, and a one-shot stream sync fails fast', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const client = createGithubClient({ baseUrl: base, token: TOKEN, logger, retries: 1, retryBaseMs: 1 });
    const err = await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toBe(`GitHub GET ${base}/repos/acme/payments failed: connection refused; will retry`);

    const store = new MemoryStore();
    const c = createGithubConnector({ source: { baseUrl: base, token: new Secret('GITHUB_TOKEN', TOKEN) }, store, logger, now: () => TO, retryBaseMs: 1 });
    let attempts = 0;
    const connectors = { live: {}, sync: (s: Parameters<typeof c.sync>[0]) => (attempts++, c.sync(s)) };
    const e2 = await runSync(streamOf(REPO, 'production'), { connectors, store, logger, now: Date.now, retry: { baseMs: 1 } }).catch((e: unknown) => e);
    expect((e2 as Error).message).toMatch(/connection refused/);
    expect(attempts).toBe(4); // the first try and 3 stream-level retries
    const health = await store.getSourceHealth();
    expect(health[0]?.lastError).toMatch(/connection refused/);
  });
});

describe('5xx', () => {
  it('with 30% of answers 5xx at random, the deployments sync still converges to every deployment', async () => {
    const faulty = await startGithubSimulator({ dataset: sim.dataset, token: TOKEN, faultRate: 0.3, faultSeed: 42 });
    try {
      const store = new MemoryStore();
      // Small pages: enough requests that the 30% of faults is felt whatever the day's dataset.
      const c = createGithubConnector({ source: { baseUrl: faulty.url, token: new Secret('GITHUB_TOKEN', TOKEN) }, store, logger, now: () => TO, retryBaseMs: 1, perPage: 5 });
      const connectors = { live: {}, sync: (s: Parameters<typeof c.sync>[0]) => c.sync(s) };
      await runSync(streamOf(REPO, 'production'), { connectors, store, logger, now: Date.now, retry: { baseMs: 1 } });
      const got = (await store.getEvents('deployment', `${REPO}@production`)).map((e) => e.id).sort();
      expect(got).toEqual(wantIds(sim));
      const counts = faulty.requests.filter((r) => r.status >= 500).length;
      expect(faulty.requests.length).toBeGreaterThan(20);
      expect(counts / faulty.requests.length).toBeGreaterThan(0.2);
    } finally {
      await faulty.close();
    }
  });
});

describe('a spent primary rate limit in a one-shot run', () => {
  it('fails fast with the reset time, or is waited out when the sync is asked to wait', async () => {
    // The simulator's clock lags an hour less 3 s, so the reset it announces is 3 s from now;
    // then its clock catches up, so that the window does reset then.
    let lag = 3_600_000 - 3000;
    const lagging = await startGithubSimulator({ dataset: sim.dataset, token: TOKEN, now: () => Date.now() - lag });
    lagging.setRateLimit(5000, 0);
    try {
      const store = new MemoryStore();
      const connectors = () => {
        const c = createGithubConnector({ source: { baseUrl: lagging.url, token: new Secret('GITHUB_TOKEN', TOKEN) }, store, logger, now: () => TO, maxRateLimitWaitMs: 0 });
        return { live: {}, sync: (s: Parameters<typeof c.sync>[0]) => c.sync(s) };
      };
      const requestsBefore = lagging.requests.length;
      const err = await runSync(streamOf(REPO, 'production'), { connectors: connectors(), store, logger, now: Date.now }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as Error).message).toMatch(/rate limit exceeded until \d{4}-\d\d-\d\dT/);
      expect(lagging.requests.length - requestsBefore).toBe(1); // no retries against a spent limit

      lag = 0;
      await runSync(streamOf(REPO, 'production'), { connectors: connectors(), store, logger, now: Date.now, waitForRateLimit: { times: 3 } });
      const got = (await store.getEvents('deployment', `${REPO}@production`)).map((e) => e.id).sort();
      expect(got).toEqual(wantIds(sim));
    } finally {
      await lagging.close();
    }
  });
});

describe('connectors/kit', () => {
  it('retry backs off exponentially with the injected sleep, stops when told, and keeps to maxTotalMs', async () => {
    const waits: number[] = [];
    let calls = 0;
    const v = await retry(async () => (++calls < 4 ? Promise.reject(new Error('boom')) : 'ok'), { retries: 5, baseMs: 100, sleep: async (ms) => void waits.push(ms), shouldRetry: () => true });
    expect(v).toBe('ok');
    expect(waits).toEqual([100, 200, 400]);

    calls = 0;
    const fatal = await retry(async () => (calls++, Promise.reject(new Error('fatal'))), { retries: 5, baseMs: 1, shouldRetry: () => false }).catch((e: Error) => e.message);
    expect([fatal, calls]).toEqual(['fatal', 1]);

    let t = 0;
    calls = 0;
    const slow = await retry(async () => (calls++, Promise.reject(new Error('down'))), {
      retries: 10,
      baseMs: 1000,
      maxTotalMs: 3500,
      now: () => t,
      sleep: async (ms) => void (t += ms),
      shouldRetry: () => true,
    }).catch((e: Error) => e.message);
    expect([slow, calls, t]).toEqual(['down', 3, 3000]); // 1 s + 2 s; a 4 s wait would end past 3.5 s
  });

  it('the pool runs at most its size at once, in order', async () => {
    const pool = createPool(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        pool.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setImmediate(r));
          order.push(i);
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('parseBody names the place and the field of a body that does not fit', () => {
    const schema = z.object({ token: z.string(), expires_at: z.string() });
    expect(parseBody(schema, { token: 't', expires_at: 'x' }, 'github', 'GitHub POST /x')).toEqual({ token: 't', expires_at: 'x' });
    expect(() => parseBody(schema, { token: 1 }, 'github', 'GitHub POST /x')).toThrow(/GitHub POST \/x answered a body kr-tracker cannot read: .*token/s);
  });
});
