// npm run bench:eval [-- --repos 20 --days 365 --krs 1000]
//
// What one evaluation round costs once the events are stored: the bench organisation of
// `npm run bench:sync` (bench/sync/org.ts: N repositories over D days of GitHub history, 4
// PagerDuty services) is written into a Redis of its own (a redis-server started on a free port,
// so that INFO's byte counters are the bench's alone) through the store, page by page, as the
// connectors write it; its mixed 34-key-result config is repeated up to --krs key results. A
// child process then evaluates (so its peak RSS is the evaluation's, not the generator's) and
// prints, against the start-up of evaluating one key result in a round of its own:
//   - one round of --krs key results (target: at most 3x);
//   - Redis bytes sent to the evaluator per round (INFO total_net_output_bytes);
//   - peak RSS of the evaluating process;
//   - ms per key result at 1 and at N repositories (the 34-KR config).
// Runs on older trees too (no RoundReader: each key result reads for itself), for before/after.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { freePort } from '../src/lib/net.js';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { SimRepo } from '../connectors/github/sim/dataset.js';
import { incidentStateAt } from '../connectors/pagerduty/sim/dataset.js';
import { formatProblem, parseConfig } from '../src/config/load.js';
import type { Config, KeyResult, Objective } from '../src/config/types.js';
import * as evaluateModule from '../src/engine/evaluate.js';
import type { CompareEvent, CoverageEvent, DeploymentEvent, EventKind, EventKinds, IncidentEvent, WorkflowRunEvent } from '../src/core/events.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import { planStreams } from '../src/sync/plan.js';
import { memoryByKind, memoryRows, printRows } from './memory.js';
import { benchConfigYaml, generateOrg, NOW, repoNames, SERVICES, type Org } from './sync/org.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const REPOS = opt('repos', 20);
const DAYS = opt('days', 365);
const KRS = opt('krs', 1000);
const PAGE = 100;

// ----- the config -----

function benchConfig(org: Pick<Org, 'repos' | 'services'>): Config {
  const { config, problems } = parseConfig(benchConfigYaml(org.repos, org.services, 'http://127.0.0.1:1', 'http://127.0.0.1:1'), 'bench-eval.yaml', {});
  if (!config) throw new Error(problems.map(formatProblem).join('\n'));
  return config;
}

/** The config's key results repeated (ids suffixed) until there are `n`. */
function repeated(config: Config, n: number): Config {
  const all = config.objectives.flatMap((o) => o.keyResults.map((kr) => ({ o, kr })));
  const byObjective = new Map<string, KeyResult[]>();
  for (let i = 0; i < n; i++) {
    const { o, kr } = all[i % all.length]!;
    const copy = Math.floor(i / all.length);
    const list = byObjective.get(o.id) ?? [];
    list.push(copy === 0 ? kr : { ...kr, id: `${kr.id}-${copy}` });
    byObjective.set(o.id, list);
  }
  return { ...config, objectives: config.objectives.filter((o) => byObjective.has(o.id)).map((o) => ({ ...o, keyResults: byObjective.get(o.id)! })) };
}

// ----- the events, as the connectors store them -----

async function put<K extends EventKind>(store: Store, kind: K, partition: string, events: EventKinds[K][]): Promise<number> {
  for (let i = 0; i < events.length; i += PAGE) await store.putEvents(null, kind, partition, events.slice(i, i + PAGE));
  return events.length;
}

function deploymentEvents(repo: SimRepo, env: string): DeploymentEvent[] {
  return repo.deployments
    .filter((d) => d.environment === env)
    .map((d) => {
      const s = [...d.statuses].reverse().find((x) => x.state !== 'inactive') ?? null;
      return { repo: repo.fullName, id: d.id, sha: d.sha, environment: env, createdAt: Date.parse(d.created_at), state: s?.state ?? null, statusAt: s ? Date.parse(s.created_at) : null, statusId: s?.id ?? null };
    });
}

/** compare/{prev}...{d} of consecutive successful production deployments, from the first-parent line. */
function compareEvents(repo: SimRepo, deployments: DeploymentEvent[]): CompareEvent[] {
  const index = new Map(repo.commits.map((c, i) => [c.sha, i]));
  const ok = deployments.filter((d) => d.state === 'success' && d.statusAt !== null).sort((a, b) => a.statusAt! - b.statusAt! || a.id - b.id);
  const out = new Map<string, CompareEvent>();
  for (let i = 1; i < ok.length; i++) {
    const base = ok[i - 1]!.sha;
    const head = ok[i]!.sha;
    if (base === head) continue;
    const a = index.get(base);
    const b = index.get(head);
    const commits = a === undefined || b === undefined || b <= a ? [] : repo.commits.slice(a + 1, b + 1).map((c) => ({ sha: c.sha, committedAt: Date.parse(c.date) }));
    out.set(`${base}...${head}`, { repo: repo.fullName, id: `${base}...${head}`, base, head, commits });
  }
  return [...out.values()];
}

async function writeOrg(store: Store, org: Org): Promise<number> {
  let n = 0;
  for (const repo of org.github.repos) {
    for (const env of ['production', 'staging']) {
      const d = deploymentEvents(repo, env);
      n += await put(store, 'deployment', `${repo.fullName}@${env}`, d);
      if (env === 'production') n += await put(store, 'compare', repo.fullName, compareEvents(repo, d));
    }
    const runs = new Map<string, WorkflowRunEvent[]>();
    const coverage = new Map<string, CoverageEvent[]>();
    for (const r of repo.runs) {
      const partition = `${repo.fullName}/${r.workflow}@${r.head_branch}`;
      const e: WorkflowRunEvent = {
        repo: repo.fullName, id: r.id, workflow: r.workflow, branch: r.head_branch, event: r.event, status: r.status, conclusion: r.conclusion,
        headSha: r.head_sha, createdAt: Date.parse(r.created_at), updatedAt: Date.parse(r.updated_at), runStartedAt: Date.parse(r.run_started_at), runAttempt: r.run_attempt,
      };
      runs.set(partition, [...(runs.get(partition) ?? []), e]);
      const report = r.conclusion === 'success' ? r.artifacts.find((a) => a.name === 'coverage' && a.coverage && !a.expired)?.coverage : undefined;
      if (report) {
        const lines = report.files.reduce((s, f) => s + f.lines, 0);
        const covered = report.files.reduce((s, f) => s + f.covered, 0);
        const c: CoverageEvent = { repo: repo.fullName, id: r.id, workflow: r.workflow, branch: r.head_branch, runCreatedAt: e.createdAt, lineRate: lines ? covered / lines : 0, format: report.format };
        coverage.set(partition, [...(coverage.get(partition) ?? []), c]);
      }
    }
    for (const [p, list] of runs) n += await put(store, 'workflow_run', p, list);
    for (const [p, list] of coverage) n += await put(store, 'coverage', p, list);
  }
  const incidents = new Map<string, IncidentEvent[]>();
  for (const inc of org.pagerduty.incidents) {
    const s = incidentStateAt(inc, NOW);
    if (!s) continue;
    const e: IncidentEvent = { service: inc.service_id, id: inc.id, createdAt: Date.parse(inc.created_at), resolvedAt: s.resolvedAt, acknowledgedAt: s.firstAcknowledgedAt, urgency: inc.urgency, status: s.status };
    incidents.set(inc.service_id, [...(incidents.get(inc.service_id) ?? []), e]);
  }
  for (const [p, list] of incidents) n += await put(store, 'incident', p, list);
  // Every stream has synced: the evaluation measures rather than saying "not synced yet".
  for (const stream of planStreams(repeated(benchConfig(org), KRS))) {
    await store.putSourceHealth({ stream, lastAttemptAt: NOW, lastSuccessAt: NOW, lastError: null, lastDurationMs: 1, requests: 1, notModified: 0, failures: 0, eventsStored: 1, rateLimitRemaining: null });
  }
  return n;
}

// ----- the evaluating child -----

type Item = { objective: Objective; kr: KeyResult };
interface Round {
  ms: number;
  bytes: number;
  values: number;
  /** Of every result's value, baseline, progress, status and error: equal before and after a change that keeps values. */
  digest: string;
}

async function child(port: number): Promise<void> {
  const redis = new Redis({ port, host: '127.0.0.1' });
  const info = new Redis({ port, host: '127.0.0.1' });
  // On older trees there is no RoundReader: each key result reads for itself.
  const roundModule = await import('../src/engine/round.js').catch(() => null);
  const ev = evaluateModule as typeof evaluateModule & { planRound?: (r: unknown, items: Item[], at: number) => Promise<void> };
  const outBytes = async () => Number(/total_net_output_bytes:(\d+)/.exec(await info.info('stats'))?.[1]);
  async function round(prefix: string, items: Item[]): Promise<Round> {
    const store = new RedisStore({ redis, prefix });
    const b0 = await outBytes();
    const t0 = performance.now();
    const r = roundModule ? new roundModule.RoundReader(store) : undefined;
    if (r && ev.planRound) await ev.planRound(r, items, NOW);
    let values = 0;
    const digest = createHash('sha256');
    for (const { objective, kr } of items) {
      const res = await evaluateModule.evaluateKeyResult(objective, kr, { store, at: NOW, now: () => NOW, ...(r ? { round: r } : {}) } as Parameters<typeof evaluateModule.evaluateKeyResult>[2]);
      if (res.value !== null) values++;
      digest.update(JSON.stringify([kr.id, res.value, res.baseline, res.progress, res.status, res.error]));
    }
    const ms = performance.now() - t0;
    const b1 = await outBytes();
    // The INFO reply that read b0 is counted in b1: a few kB, left in (the same in every round).
    return { ms, bytes: b1 - b0, values, digest: digest.digest('hex').slice(0, 16) };
  }
  const items = (c: Config): Item[] => c.objectives.flatMap((objective) => objective.keyResults.map((kr) => ({ objective, kr })));
  const big = benchConfig({ repos: repoNames(REPOS), services: SERVICES });
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const mode = args[args.indexOf('--mode') + 1];
  let out: Record<string, number | string>;
  if (mode === 'one' || mode === 'many') {
    // What `krt run --once` does after its syncs: one round, in a process of its own.
    const r = await round(`bench-eval-${REPOS}`, mode === 'one' ? items(big).slice(0, 1) : items(repeated(big, KRS)));
    out = { ms: r.ms, bytes: r.bytes, valued: r.values, digest: r.digest, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  } else {
    const small = benchConfig({ repos: repoNames(1), services: SERVICES });
    await round(`bench-eval-${REPOS}`, items(big)); // warm-up: JIT, connections
    const at1: number[] = [];
    const atN: number[] = [];
    for (let i = 0; i < 3; i++) {
      atN.push((await round(`bench-eval-${REPOS}`, items(big))).ms / items(big).length);
      at1.push((await round('bench-eval-1', items(small))).ms / items(small).length);
    }
    out = { msPerKr1: median(at1), msPerKrN: median(atN) };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  redis.disconnect();
  info.disconnect();
}

// ----- the parent -----


async function startRedis(): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: null });
  r.on('error', () => {}); // refused until redis-server listens
  await r.ping();
  r.disconnect();
  return { port, proc };
}

async function main(): Promise<void> {
  if (args.includes('--child')) return child(opt('port', 0));
  const { port, proc } = await startRedis();
  try {
    const redis = new Redis({ port, host: '127.0.0.1' });
    const t0 = performance.now();
    let events = 0;
    for (const n of [...new Set([REPOS, 1])]) {
      const org = generateOrg(n, DAYS);
      events += await writeOrg(new RedisStore({ redis, prefix: `bench-eval-${n}` }), org);
    }
    const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]) / 1048576;
    process.stderr.write(`wrote ${events} events (${REPOS} and 1 repositories, ${DAYS} days) in ${((performance.now() - t0) / 1000).toFixed(1)} s; Redis holds ${used.toFixed(0)} MB\n`);
    // Redis memory per stored event (bench/memory.ts), and what 200 repositories over 3 years hold.
    const factor = (200 / REPOS) * ((3 * 365) / DAYS);
    process.stdout.write(`Redis memory per stored event, ${REPOS} repositories x ${DAYS} days (MEMORY USAGE), and x${factor.toFixed(0)} for 200 repositories x 3 years:\n`);
    printRows(memoryRows(await memoryByKind(redis, `bench-eval-${REPOS}`), factor, '200 repos x 3 years'));
    redis.disconnect();
    if (args.includes('--memory')) return;
    const script = fileURLToPath(import.meta.url);
    /** Spawns the evaluating process: its wall time from spawn to exit (start-up included) and what it printed. */
    const run = (mode: string) =>
      new Promise<{ wallMs: number; r: Record<string, number> & { digest: string } }>((resolve, reject) => {
        const t = performance.now();
        // BENCH_EVAL_CPU_PROF=<dir>: a V8 CPU profile of each evaluating process (node --cpu-prof).
        const prof = process.env.BENCH_EVAL_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_EVAL_CPU_PROF] : [];
        const c = spawn(process.execPath, [...prof, '--import', 'tsx', script, '--child', '--mode', mode, '--port', String(port), '--repos', String(REPOS), '--krs', String(KRS)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        c.stdout.on('data', (d: Buffer) => (text += d.toString()));
        c.on('exit', (code) =>
          code === 0 ? resolve({ wallMs: performance.now() - t, r: JSON.parse(text.trim().split('\n').pop()!) as Record<string, number> & { digest: string } }) : reject(new Error(`evaluating child exited with ${code}`)),
        );
      });
    const median3 = async (mode: string) => {
      const runs = [await run(mode), await run(mode), await run(mode)];
      return runs.sort((x, y) => x.wallMs - y.wallMs)[1]!;
    };
    const one = await median3('one');
    const many = await median3('many');
    const repos = await run('repos');
    const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
    const rows = [
      ['start-up: a process evaluating one key result (wall, median of 3)', `${(one.wallMs / 1000).toFixed(2)} s`, '1x'],
      [`a process evaluating ${KRS} key results in one round (${many.r.valued} with a value)`, `${(many.wallMs / 1000).toFixed(2)} s`, `${(many.wallMs / one.wallMs).toFixed(1)}x (target <= 3x)`],
      ['  of which the round itself', `${(many.r.ms! / 1000).toFixed(2)} s`, ''],
      ['Redis bytes read per round (one key result / the round)', `${mb(one.r.bytes!)} / ${mb(many.r.bytes!)}`, ''],
      ['peak RSS (one key result / the round)', `${one.r.peakRssMb!.toFixed(0)} / ${many.r.peakRssMb!.toFixed(0)} MB`, `${(many.r.peakRssMb! / one.r.peakRssMb!).toFixed(1)}x`],
      ['digest of the round\'s results (equal before and after: same values)', many.r.digest, ''],
      [`ms per key result, 34-KR config, 1 vs ${REPOS} repositories`, `${repos.r.msPerKr1!.toFixed(2)} vs ${repos.r.msPerKrN!.toFixed(2)} ms`, `${(repos.r.msPerKrN! / repos.r.msPerKr1!).toFixed(1)}x`],
    ];
    const w0 = Math.max(...rows.map((x) => x[0]!.length));
    const w1 = Math.max(...rows.map((x) => x[1]!.length));
    for (const [a, b, c] of rows) process.stdout.write(`${a!.padEnd(w0)}  ${b!.padStart(w1)}  ${c}\n`);
  } finally {
    proc.kill('SIGTERM');
  }
}

await main();
