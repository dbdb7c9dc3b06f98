// GitHub App authentication against the simulator, which checks the RS256 JWT against the App's
// public key and issues expiring installation tokens with their own rate limit.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../connectors/github/client.js';
import { streamOf } from '../connectors/github/deployments.js';
import { createGithubConnector } from '../connectors/github/index.js';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { loadConfig } from '../src/config/load.js';
import { Secret } from '../src/core/secret.js';
import { SourceError } from '../src/core/errors.js';
import { MemoryStore } from '../src/store/memory-store.js';

const DAY = 86_400_000;
const TO = Date.parse('2026-11-20T00:00:00Z');
const REPO = 'acme/payments';
const APP_ID = 4242;
const INSTALLATION = 77;
const logger = pino({ level: 'silent' });
const pem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const appKey = pem();
/** The simulator's and the client's clock: moved forward to expire installation tokens. */
let offset = 0;
const clock = () => Date.now() + offset;
let sim: GithubSimulator;

beforeAll(async () => {
  const dataset = generateGithubDataset({ seed: 13, repos: [REPO], from: new Date(TO - 45 * DAY), to: new Date(TO) });
  sim = await startGithubSimulator({ dataset, token: 'static-token', now: clock, app: { appId: APP_ID, key: appKey, installationIds: [INSTALLATION] } });
});
afterAll(async () => {
  await sim.close();
});

const app = (privateKey = appKey, installationId = String(INSTALLATION)) => ({ appId: String(APP_ID), installationId, privateKey });

describe('GitHub App authentication', () => {
  it('a sync with App credentials gets an installation token and spends that installation’s rate limit', async () => {
    const store = new MemoryStore();
    const before = sim.requests.length;
    const c = createGithubConnector({
      source: { baseUrl: sim.url, token: null, app: { appId: String(APP_ID), installationId: String(INSTALLATION), privateKey: new Secret('GITHUB_APP_PRIVATE_KEY', appKey) } },
      store,
      logger,
      now: () => TO,
    });
    await c.sync(streamOf(REPO, 'production'));
    const want = sim.dataset.repos[0]!.deployments.filter((d) => d.environment === 'production').map((d) => d.id).sort();
    expect((await store.getEvents('deployment', `${REPO}@production`)).map((e) => e.id).sort()).toEqual(want);
    const made = sim.requests.slice(before);
    expect(made[0]).toMatchObject({ method: 'POST', path: `/app/installations/${INSTALLATION}/access_tokens`, status: 201 });
    expect(made.slice(1).every((r) => r.status === 200 && r.authorization)).toBe(true);
    expect(sim.app!.issued()).toBe(1);
    // GraphQL has a bucket of its own (statuses of older deployments); REST spends the installation's.
    const rest = made.slice(1).filter((r) => r.route !== 'POST /graphql');
    expect(sim.app!.bucket(INSTALLATION).remaining).toBe(5000 - rest.length);
  });

  it('asks for a new installation token before the old one expires', async () => {
    const client = createGithubClient({ baseUrl: sim.url, token: null, app: app(), logger, now: clock });
    const issued = sim.app!.issued();
    await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
    await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
    expect(sim.app!.issued()).toBe(issued + 1); // cached while fresh
    offset += 56 * 60_000; // 4 minutes left of its hour: refreshed ahead of expiry
    await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
    expect(sim.app!.issued()).toBe(issued + 2);
    offset += 2 * 3_600_000; // long past expiry
    const res = await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
    expect(res.status).toBe(200);
    expect(sim.app!.issued()).toBe(issued + 3);
  });

  it('a private key that is not the App’s is a clear, non-retryable authentication error', async () => {
    const client = createGithubClient({ baseUrl: sim.url, token: null, app: app(pem()), logger });
    const err = await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(false);
    expect((err as Error).message).toBe(
      `GitHub App authentication failed: POST ${sim.url}/app/installations/${INSTALLATION}/access_tokens answered 401 (A JSON web token could not be decoded); check that sources.github.app.privateKey is a current private key of App ${APP_ID} (sources.github.app.appId) and that the machine's clock is right`,
    );
    const missing = createGithubClient({ baseUrl: sim.url, token: null, app: app(appKey, '999'), logger });
    const err2 = await missing.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/installation 999 of App 4242 does not exist; check sources.github.app.installationId/);
  });

  it('the OKR file: a key that is not PEM, missing fields, and both token and app are config errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krt-app-'));
    const file = join(dir, 'okrs.yaml');
    const objectives = `objectives:
  - id: cicd
    title: Ship faster
    owner: platform
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - { id: deploys, title: Deploy daily, metric: deployment_frequency, repos: [acme/payments], target: 1 }
`;
    writeFileSync(file, `version: 1\nsources:\n  github:\n    token: \${GITHUB_TOKEN}\n    app: { appId: 12, privateKey: \${KEY} }\n${objectives}`);
    const err = await loadConfig(file, { GITHUB_TOKEN: 'x', KEY: 'not a key' }).catch((e: unknown) => e);
    const message = (err as Error).message;
    expect(message).toContain('sources.github.app.installationId is required; write installationId: ${GITHUB_APP_INSTALLATION_ID}');
    expect(message).toContain('sources.github.app.privateKey is not a PEM private key');
    expect(message).toContain('sources.github.app is given together with token; use one way to authenticate');
    expect(message).not.toContain('not a key');

    writeFileSync(file, `version: 1\nsources:\n  github:\n    app: { appId: \${APP_ID}, installationId: 7, privateKey: \${KEY} }\n${objectives}`);
    // A key in a one-line variable with \n for newlines, as CI secrets often hold it.
    const config = await loadConfig(file, { APP_ID: '12', KEY: appKey.replace(/\n/g, '\\n') });
    expect(config.sources.github?.app).toMatchObject({ appId: '12', installationId: '7' });
    expect(config.sources.github?.app?.privateKey.reveal()).toBe(appKey);
    expect(JSON.stringify(config.sources.github)).not.toContain('PRIVATE KEY');
  });
});
