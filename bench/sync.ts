// `npm run bench:sync [-- --repos N --days D] [--no-real-limit] [--no-replay]`: what a sync costs.
// Generates an organisation (bench/sync/org.ts: 20 repositories over 365 days by default, 4
// PagerDuty services), syncs the mixed 34-key-result config through the simulators the way
// `krt run --once` does (runOnce + createConnectors into a MemoryStore), and prints per endpoint
// the requests, 304s and charged units next to the minimum the APIs allow (bench/sync/minimum.ts):
//   1. the first sync (GitHub's REST limit raised so that it completes; charged units are also
//      given in hours of the real 5,000/hour budget), its key results against independent
//      computations (bench/sync/expected.ts), its wall time against replaying the same requests
//      with plain fetch, and peak RSS;
//   2. the first sync again against the real 5,000/hour limit: how many key results get a value;
//   3. one day of new activity, then a sync;
//   4. an unchanged re-sync.
// Not run by the test suite except in its small form (test/bench-sync.test.ts).
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { commitsBySha } from '../connectors/github/sim/dataset.js';
import { githubGraphqlSchema } from '../connectors/github/sim/graphql.js';
import { startGithubSimulator, type GithubSimulator, type GithubSimulatorOptions } from '../connectors/github/sim/server.js';
import { startPagerDutySimulator, type PagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import { parseConfig, formatProblem } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { evaluateOrReport } from '../src/engine/evaluate.js';
import { runOnce } from '../src/engine/run-once.js';
import type { EvaluationResult } from '../src/core/result.js';
import { createLogger } from '../src/lib/logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { createConnectors } from '../src/sync/connectors.js';
import { compareValues, type Comparison } from './sync/expected.js';
import { itemCounts, minimum, needState, NEEDS, type NeedState } from './sync/minimum.js';
import { applyDayOfActivity, benchConfigYaml, DAY, generateOrg, NOW, TOKEN, type Org } from './sync/org.js';
import { buildTable, formatTable, legend, type LoggedRequest, type Table } from './sync/table.js';

export interface BenchOptions {
  repos: number;
  days: number;
  /** Also run the first sync against the real 5,000/hour limit (default true). */
  realLimit: boolean;
  /** Replay the first sync's requests with plain fetch (default true). */
  replay: boolean;
  /** Where the report goes, line by line (default console.log). */
  print: (line: string) => void;
}

export interface Phase {
  name: string;
  table: Table;
  /** The simulators' own counters over the phase: requests per route (GitHub's counts(), PagerDuty's log) and GitHub's 304s. */
  simulatorCounts: { github: Record<string, number>; pagerduty: Record<string, number>; githubNotModified: number };
  wallMs: number;
  comparisons: Comparison[];
}

export interface BenchResult {
  phases: Phase[];
  realLimit: { withValue: number; total: number; charged: number; rateLimited: number } | null;
  /** `mismatched`: replayed answers whose status differs from the logged one (0 when the replay did the same work). */
  replay: { wallMs: number; cpuMs: number; requests: number; skipped: number; mismatched: number } | null;
  peakRssMb: number;
  text: string;
}

const REAL_LIMIT = 5000;
const UNLIMITED = 1_000_000_000;

function count(reqs: { route: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reqs) out[r.route] = (out[r.route] ?? 0) + 1;
  return out;
}

function loadBenchConfig(org: Org, github: GithubSimulator, pagerduty: PagerDutySimulator): Config {
  const { config, problems } = parseConfig(benchConfigYaml(org.repos, org.services, github.url, pagerduty.url), 'bench-sync.yaml', {});
  if (!config) throw new Error(`bench config is invalid:\n${problems.map(formatProblem).join('\n')}`);
  return config;
}

interface Sims {
  github: GithubSimulator;
  pagerduty: PagerDutySimulator;
}

async function startSims(org: Org, limit: number, clock: () => number): Promise<Sims> {
  // The GitHub simulator keeps the wall clock: its rate-limit reset is compared with Date.now by
  // the client. Signed artifact URLs live a day so that the replay can follow them again.
  const ghOptions: GithubSimulatorOptions & Record<string, unknown> = { dataset: org.github, token: TOKEN, rateLimit: limit, artifactUrlTtlMs: DAY, graphqlRateLimit: limit };
  const github = await startGithubSimulator(ghOptions);
  const pagerduty = await startPagerDutySimulator({ dataset: org.pagerduty, token: TOKEN, now: clock });
  return { github, pagerduty };
}

async function closeSims(s: Sims): Promise<void> {
  await s.github.close();
  await s.pagerduty.close();
}

/** One sync the way `krt run --once` does it; returns the results and the wall time. */
async function syncOnce(config: Config, store: MemoryStore, clock: () => number): Promise<{ results: EvaluationResult[]; wallMs: number; evalMs: number; cpuMs: number; evalCpuMs: number }> {
  const logger = createLogger('silent');
  const connectors = createConnectors({ config, store, logger, now: clock });
  const t = performance.now();
  const c = process.cpuUsage();
  const results = await runOnce({ config, store, connectors, logger, at: clock(), now: clock });
  const wallMs = performance.now() - t;
  const cpuMs = cpuMsSince(c);
  // The evaluation part of runOnce, timed alone on the same store (to give the sync's share).
  const e = performance.now();
  const ec = process.cpuUsage();
  for (const o of config.objectives) for (const kr of o.keyResults) await evaluateOrReport(o, kr, { store, at: clock(), now: clock, live: connectors.live });
  return { results, wallMs, evalMs: performance.now() - e, cpuMs, evalCpuMs: cpuMsSince(ec) };
}

/** CPU time (user + system) of this process, simulators included, since `c`. */
function cpuMsSince(c: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}

/**
 * Replays logged requests one after another with plain fetch (same headers for auth/version),
 * against `sims`: fresh simulators on the same dataset, so that the server does the same work as
 * during the sync (the simulator renders an artifact's zip once per server, when it is first
 * listed). A blob download goes to where the fresh simulator's 302 pointed (its URLs are signed
 * with a key of its own).
 */
async function replay(sims: Sims, github: LoggedRequest[], pagerduty: LoggedRequest[]): Promise<{ wallMs: number; cpuMs: number; requests: number; skipped: number; mismatched: number }> {
  const ghOrigin = new URL(sims.github.url).origin;
  const pdOrigin = new URL(sims.pagerduty.url).origin;
  let requests = 0;
  let skipped = 0;
  const t = performance.now();
  const c = process.cpuUsage();
  const headers = { authorization: `token ${TOKEN}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
  /** Where the fresh simulator's 302 sent each artifact's download, by artifact id. */
  const locations = new Map<string, string>();
  const artifactOf = (path: string) => /\/artifacts\/(\d+)(?:\/zip|\.zip)/.exec(path)?.[1] ?? '';
  let mismatched = 0;
  for (const r of github) {
    // GraphQL calls are sent again with the body the simulator logged (POST /graphql).
    const post = r.method === 'POST';
    if (post && r.body === undefined) {
      skipped++;
      continue;
    }
    const blob = r.route.startsWith('GET /_blob/');
    const init: RequestInit = {
      method: r.method,
      redirect: 'manual',
      headers: blob ? {} : post ? { ...headers, 'content-type': 'application/json; charset=utf-8' } : headers,
      ...(post ? { body: r.body } : {}),
    };
    // A POST on a pooled connection the server has closed is not retried by fetch (GETs are): once more.
    const url: string = (blob ? locations.get(artifactOf(r.path)) : undefined) ?? ghOrigin + r.path;
    const res: Response = await fetch(url, init).catch(() => fetch(url, init));
    if (res.status === 302) locations.set(artifactOf(r.path), new URL(res.headers.get('location') ?? '', ghOrigin).href);
    // The log's 304s were conditional requests; the replay sends none, so a 200 stands for them.
    if (res.status !== r.status && !(r.status === 304 && res.status === 200)) mismatched++;
    await res.arrayBuffer();
    requests++;
  }
  for (const r of pagerduty) {
    const res = await fetch(pdOrigin + r.path, { method: r.method, headers: { authorization: `Token token=${TOKEN}`, accept: 'application/vnd.pagerduty+json;version=2' } });
    if (res.status !== r.status) mismatched++;
    await res.arrayBuffer();
    requests++;
  }
  return { wallMs: performance.now() - t, cpuMs: cpuMsSince(c), requests, skipped, mismatched };
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const num = (n: number) => n.toLocaleString('en-US');

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const out: string[] = [];
  const print = (line = '') => {
    out.push(line);
    opts.print(line);
  };
  let clockMs = NOW;
  const clock = () => clockMs;

  const g0 = performance.now();
  const org = generateOrg(opts.repos, opts.days);
  const genMs = performance.now() - g0;
  const gh = org.github.repos;
  const deployments = gh.reduce((n, r) => n + r.deployments.length, 0);
  const prod = gh.reduce((n, r) => n + r.deployments.filter((d) => d.environment === 'production').length, 0);
  const mainCommits = gh.reduce((n, r) => n + r.commits.length, 0);
  const runs = gh.reduce((n, r) => n + r.runs.length, 0);
  const artifacts = gh.reduce((n, r) => n + r.runs.reduce((m, x) => m + x.artifacts.length, 0), 0);
  const logEntries = org.pagerduty.incidents.reduce((n, i) => n + i.log_entries.length, 0);
  print(`# bench:sync: ${opts.repos} repositories x ${opts.days} days ending ${new Date(NOW).toISOString()}, generated in ${fmtS(genMs)}`);
  print(
    `GitHub: ${num(deployments)} deployments (${num(prod)} production), ${num(mainCommits)} main commits, ${num(runs)} Actions runs, ${num(artifacts)} artifacts; ` +
      `PagerDuty: ${org.services.length} services, ${num(org.pagerduty.incidents.length)} incidents, ${num(logEntries)} log entries`,
  );

  // Caches of the simulator's module (GitHub's GraphQL schema, each repository's commit graph)
  // are filled before the sync, not by it: the replay would otherwise find them warm.
  githubGraphqlSchema();
  for (const r of org.github.repos) commitsBySha(r);
  const sims = await startSims(org, UNLIMITED, clock);
  const phases: Phase[] = [];
  let realLimit: BenchResult['realLimit'] = null;
  let replayed: BenchResult['replay'] = null;
  try {
    const config = loadBenchConfig(org, sims.github, sims.pagerduty);
    const objectives = config.objectives;
    const krCount = objectives.reduce((n, o) => n + o.keyResults.length, 0);
    print(`config: ${krCount} key results over ${new Set(objectives.flatMap((o) => o.keyResults.flatMap((k) => k.repos))).size} repositories and ${new Set(objectives.flatMap((o) => o.keyResults.flatMap((k) => k.services))).size} services`);
    const store = new MemoryStore();
    let ghMark = 0;
    let pdMark = 0;
    // The simulators' own counters at the start of the phase (GitHub's counts(); PagerDuty's log).
    let ghSnap = sims.github.counts();
    let pdSnap = count(sims.pagerduty.requests);
    const mark = () => {
      ghMark = sims.github.requests.length;
      pdMark = sims.pagerduty.requests.length;
      ghSnap = sims.github.counts();
      pdSnap = count(sims.pagerduty.requests);
    };
    const diff = (now: Record<string, number>, then: Record<string, number>) =>
      Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (then[k] ?? 0)]).filter(([, v]) => (v as number) > 0));

    const phase = async (name: string, before: NeedState | null, after: NeedState, run: { wallMs: number; evalMs: number; cpuMs: number }, comparisons: Comparison[]) => {
      const { wallMs, evalMs, cpuMs } = run;
      const logs = { github: sims.github.requests.slice(ghMark) as LoggedRequest[], pagerduty: sims.pagerduty.requests.slice(pdMark) as LoggedRequest[] };
      const ghNow = sims.github.counts();
      const simulatorCounts = {
        github: diff(ghNow.byRoute, ghSnap.byRoute),
        pagerduty: diff(count(sims.pagerduty.requests), pdSnap),
        githubNotModified: ghNow.notModified - ghSnap.notModified,
      };
      mark();
      const table = buildTable(logs, minimum(before, after));
      const p: Phase = { name, table, simulatorCounts, wallMs, comparisons };
      phases.push(p);
      print('');
      print(`## ${name}`);
      print(formatTable(table));
      const t = table.totals;
      print(
        `charged: GitHub ${num(t.github.charged)} (${(t.github.charged / REAL_LIMIT).toFixed(2)} hours of the 5,000/hour budget; minimum ${num(t.github.minimum)}), ` +
          `all sources ${num(t.all.charged)} = ${t.all.minimum > 0 ? (t.all.charged / t.all.minimum).toFixed(2) : '-'}x the minimum ${num(t.all.minimum)}`,
      );
      print(`wall ${fmtS(wallMs)}, CPU ${fmtS(cpuMs)} of this process, simulators included (runOnce: sync + evaluation; evaluation alone ${fmtS(evalMs)} wall)`);
      const bad = comparisons.filter((c) => !c.equal);
      const withValue = comparisons.filter((c) => c.got !== null).length;
      print(
        bad.length === 0
          ? `${comparisons.length}/${comparisons.length} key results equal to the independent computation (${withValue} with a value)`
          : `${comparisons.length - bad.length}/${comparisons.length} key results equal; differing: ${bad.map((c) => `${c.id} got ${c.got} want ${c.want}${c.error ? ` (${c.error})` : ''}`).join('; ')}`,
      );
      return logs;
    };

    // 1. First sync.
    const need0 = needState(config, org.github, org.pagerduty, clockMs);
    const first = await syncOnce(config, store, clock);
    const firstLogs = await phase(
      'first sync',
      null,
      need0,
      first,
      compareValues(objectives, first.results, org.github, org.pagerduty, clockMs, clockMs),
    );
    const items = itemCounts(need0);
    print(`minimum computed over: ${NEEDS.map((n) => `[${n.id}] ${num(items.get(n.id)!.items)} items / ${num(items.get(n.id)!.groups)} groups`).join(', ')}`);

    if (opts.replay) {
      const fresh = await startSims(org, UNLIMITED, clock);
      try {
        replayed = await replay(fresh, firstLogs.github, firstLogs.pagerduty);
      } finally {
        await closeSims(fresh);
      }
      const syncMs = first.wallMs - first.evalMs;
      const syncCpuMs = Math.max(0, first.cpuMs - first.evalCpuMs);
      print(
        `replay: ${num(replayed.requests)} requests with plain fetch, sequential, against fresh simulators, in ${fmtS(replayed.wallMs)}${replayed.mismatched ? ` (${replayed.mismatched} answered another status than during the sync)` : ''}${replayed.skipped ? ` (${replayed.skipped} POST requests not replayable: no body in the log)` : ''}; ` +
          `first sync ${fmtS(syncMs)} without evaluation = ${(syncMs / replayed.wallMs).toFixed(2)}x the replay ` +
          `(CPU: replay ${fmtS(replayed.cpuMs)}, first sync without evaluation ${fmtS(syncCpuMs)} = ${(syncCpuMs / replayed.cpuMs).toFixed(2)}x); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
      );
    }
    print(`peak RSS so far: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);

    // 2. The first sync against the real limit, on separate simulators and a fresh store.
    if (opts.realLimit) {
      const real = await startSims(org, REAL_LIMIT, clock);
      try {
        const realConfig = loadBenchConfig(org, real.github, real.pagerduty);
        const r = await syncOnce(realConfig, new MemoryStore(), clock);
        const cmp = compareValues(realConfig.objectives, r.results, org.github, org.pagerduty, clockMs, clockMs);
        const charged = buildTable({ github: real.github.requests as LoggedRequest[], pagerduty: real.pagerduty.requests as LoggedRequest[] }, new Map()).totals.github.charged;
        realLimit = { withValue: r.results.filter((x) => x.value !== null).length, total: r.results.length, charged, rateLimited: real.github.counts().rateLimited };
        print('');
        print(`## first sync against the real 5,000/hour limit`);
        print(
          `${realLimit.withValue}/${realLimit.total} key results got a value (${cmp.filter((c) => c.equal && c.got !== null).length} equal to the full value); ` +
            `GitHub charged ${num(charged)}, ${num(realLimit.rateLimited)} answers 403 rate-limited; wall ${fmtS(r.wallMs)}`,
        );
        const failed = [...new Set(r.results.filter((x) => x.value === null && x.error).map((x) => (x.error as string).replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<t>').replace(/http:\/\/127\.0\.0\.1:\d+/g, '').replace(/GET (\S{60})\S+/g, 'GET $1...')))];
        for (const e of failed.slice(0, 5)) print(`  no value: ${e}`);
      } finally {
        await closeSims(real);
      }
    }

    // 3. One day of new activity.
    const day = applyDayOfActivity(org, NOW);
    clockMs = NOW + DAY;
    const need1 = needState(config, org.github, org.pagerduty, clockMs);
    print('');
    print(
      `one day of new activity: ${num(day.commits)} commits, ${num(day.deployments)} deployments, ${num(day.runs)} runs, ${num(day.artifacts)} coverage artifacts, ${num(day.incidents)} incidents`,
    );
    const second = await syncOnce(config, store, clock);
    await phase('sync after one day of new activity', need0, need1, second, compareValues(objectives, second.results, org.github, org.pagerduty, clockMs, clockMs));

    // 4. Nothing new: the next sync interval.
    clockMs += 5 * 60_000;
    const need2 = needState(config, org.github, org.pagerduty, clockMs);
    const third = await syncOnce(config, store, clock);
    await phase('unchanged re-sync (5 minutes later)', need1, need2, third, compareValues(objectives, third.results, org.github, org.pagerduty, clockMs, clockMs));
  } finally {
    await closeSims(sims);
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  print('');
  print(`peak RSS: ${peakRssMb.toFixed(0)} MB`);
  print('');
  print(legend());
  return { phases, realLimit, replay: replayed, peakRssMb, text: out.join('\n') };
}

function parseArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { repos: 20, days: 365, realLimit: true, replay: true, print: (l) => console.log(l) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const int = (name: string) => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${name} takes a positive integer, e.g. ${name} 2; got ${argv[i] ?? 'nothing'}`);
      return v;
    };
    if (a === '--repos') o.repos = int('--repos');
    else if (a === '--days') o.days = int('--days');
    else if (a === '--no-real-limit') o.realLimit = false;
    else if (a === '--no-replay') o.replay = false;
    else throw new Error(`unknown option ${a}; use --repos N --days D [--no-real-limit] [--no-replay]`);
  }
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
  runBench(opts).catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
}
