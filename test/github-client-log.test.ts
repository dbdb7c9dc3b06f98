// Octokit reports every non-2xx answer through its log.error, 304 Not Modified included; a 304 is
// the ETag cache working (free of rate limit), so kr-tracker logs it at debug, and real errors
// stay errors.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../connectors/github/client.js';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';

const NOW = Date.now();
let sim: GithubSimulator;

beforeAll(async () => {
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 3, repos: ['acme/payments'], from: new Date(NOW - 20 * 86_400_000), to: new Date(NOW) }),
    token: 'log-token',
  });
});
afterAll(async () => {
  await sim?.close();
});

describe('GitHub client log levels', () => {
  it('logs a 304 at debug and a 404 at error', async () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { level: number; msg: string });
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const client = createGithubClient({ baseUrl: sim.url, token: 'log-token', logger, retryBaseMs: 5 });
    const first = await client.request('GET /repos/{owner}/{repo}/deployments', { owner: 'acme', repo: 'payments', per_page: 100 });
    const etag = first.headers.etag!;
    expect(etag).toBeTruthy();
    const again = await client
      .request('GET /repos/{owner}/{repo}/deployments', { owner: 'acme', repo: 'payments', per_page: 100, headers: { 'if-none-match': etag } })
      .then(() => null, (err: { status?: number }) => err.status);
    expect(again).toBe(304);
    const missing = await client.request('GET /repos/{owner}/{repo}/deployments', { owner: 'acme', repo: 'nope' }).then(() => null, (err: { status?: number }) => err.status);
    expect(missing).toBe(404);
    const notModified = lines.filter((l) => / - 304 /.test(l.msg));
    expect(notModified.length).toBeGreaterThan(0);
    expect(notModified.every((l) => l.level === 20), JSON.stringify(notModified)).toBe(true);
    const notFound = lines.filter((l) => / - 404 /.test(l.msg));
    expect(notFound.length).toBeGreaterThan(0);
    expect(notFound.every((l) => l.level === 50)).toBe(true);
  });
});
