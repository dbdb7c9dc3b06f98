// `npm run bench:client`: per-request overhead of kr-tracker's GitHub client against a bare
// Octokit and against the previous setup (throttling + retry plugins, which queue every request
// through Bottleneck), with N sequential GETs to the local simulator. Prints ms per request.
import { performance } from 'node:perf_hooks';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { pino } from 'pino';
import { createGithubClient } from '../connectors/github/client.js';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator } from '../connectors/github/sim/server.js';

const N = Number(process.env.BENCH_N ?? 1000);
const TOKEN = 'bench-token';
const now = Date.now();
const sim = await startGithubSimulator({
  dataset: generateGithubDataset({ seed: 1, repos: ['acme/payments'], from: new Date(now - 30 * 86_400_000), to: new Date(now) }),
  token: TOKEN,
  rateLimit: 10_000_000,
});
const logger = pino({ level: 'silent' });

type Getter = { request: (route: string, params: Record<string, unknown>) => Promise<unknown> };

async function run(name: string, client: Getter): Promise<number> {
  const get = () => client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
  for (let i = 0; i < 50; i++) await get(); // warm-up
  const t = performance.now();
  for (let i = 0; i < N; i++) await get();
  const ms = (performance.now() - t) / N;
  console.log(`${name.padEnd(50)} ${ms.toFixed(3)} ms/request`);
  return ms;
}

const bare = await run('bare Octokit', new Octokit({ auth: TOKEN, baseUrl: sim.url }));
const ours = await run('kr-tracker client (deadline, cap, budget, pool)', createGithubClient({ baseUrl: sim.url, token: TOKEN, logger }));
const Plugged = Octokit.plugin(throttling, retry);
const old = await run(
  'Octokit + throttling + retry plugins (before)',
  new Plugged({ auth: TOKEN, baseUrl: sim.url, throttle: { onRateLimit: () => false, onSecondaryRateLimit: () => false } }),
);
console.log(`\n${N} sequential GETs: ours is ${(ours / bare).toFixed(2)}x a bare Octokit; the plugins were ${(old / bare).toFixed(2)}x`);
await sim.close();
