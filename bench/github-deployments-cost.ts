// `node --import tsx bench/github-deployments-cost.ts`: what a first sync of the deployments
// streams costs against the simulated GitHub, in rate-limit units: REST requests that were not
// answered 304, plus GraphQL points (the `points` the simulator logs for each POST /graphql).
// Then an unchanged re-sync, which should cost nothing. Not run by the tests.
import { pino } from 'pino';
import { createGithubConnector } from '../connectors/github/index.js';
import { streamOf } from '../connectors/github/deployments.js';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type SimRequestLog } from '../connectors/github/sim/server.js';
import { Secret } from '../src/core/secret.js';
import { MemoryStore } from '../src/store/memory-store.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-25T00:00:00Z');

function units(log: readonly SimRequestLog[]) {
  const rest = log.filter((r) => r.route !== 'POST /graphql' && r.status !== 304).length;
  const points = log.reduce((s, r) => s + ((r as { points?: number }).points ?? 0), 0);
  return { rest, points, notModified: log.filter((r) => r.status === 304).length, total: rest + points };
}

async function measure(name: string, repos: string[], days: number, rateScale: number) {
  const dataset = generateGithubDataset({ seed: 42, repos, from: new Date(NOW - days * DAY), to: new Date(NOW), rateScale });
  const deployments = dataset.repos.reduce((s, r) => s + r.deployments.length, 0);
  const sim = await startGithubSimulator({ dataset, token: 't', rateLimit: 1_000_000 });
  const store = new MemoryStore();
  const connector = createGithubConnector({ source: { baseUrl: sim.url, token: new Secret('GITHUB_TOKEN', 't') }, store, logger: pino({ level: 'silent' }), now: () => NOW });
  const streams = repos.flatMap((r) => ['production', 'staging'].map((e) => streamOf(r, e)));
  for (const s of streams) await connector.sync(s);
  const first = units(sim.requests);
  const mark = sim.requests.length;
  for (const s of streams) await connector.sync(s);
  const again = units(sim.requests.slice(mark));
  await sim.close();
  console.log(
    `${name}: ${deployments} deployments in ${streams.length} streams; first sync ${first.rest} REST + ${first.points} GraphQL points = ${first.total} units; ` +
      `unchanged re-sync ${again.total} units (${again.notModified} answered 304)`,
  );
}

await measure('demo (2 repos, 180 days, rate 0.3)', ['acme/payments', 'acme/checkout'], 180, 0.3);
await measure('org (20 repos, 365 days)', Array.from({ length: 20 }, (_, i) => `acme/svc-${i}`), 365, 1);
