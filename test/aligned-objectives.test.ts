// Issue 13, "Aligned objectives owned by their teams": OKRs in several files (config/okrs.d/), each
// file validated on its own lines, ids unique and parents across files, one file with the
// settings; a parent's progress rolled up from its own key results and its children
// (docs/aligned-objectives.md), in `run --once --json`, /metrics and `status --tree`.
// The end-to-end part runs the built `krt` (`npm run build`) against a real Prometheus holding
// generated latency history (connectors/prometheus/sim).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from '../src/cli/main.js';
import { renderTree } from '../src/cli/table.js';
import { loadConfig, parseConfigFiles } from '../src/config/load.js';
import { lintConfigFile } from '../src/config/lint.js';
import { objectiveTree, rolledUpProgress } from '../src/engine/objective-progress.js';
import type { ObjectivesDocument } from '../src/exporters/objectives-view.js';
import { ConfigError } from '../src/core/errors.js';
import { generateDashboards } from '../dashboards/generate.js';
import { keyResult, objective } from './helpers/config.js';
import { startPrometheusWithHistory, type PrometheusWithHistory } from './helpers/prometheus-history.js';

const DIR = 'config/okrs.d/';
const BROKEN = 'test/fixtures/config/dirs/broken-team';

describe('rolled-up progress (pure)', () => {
  const kr = (id: string, weight = 1) => keyResult({ id, weight });
  it('is the weighted mean over own key results and children with data, recursively', () => {
    const objectives = [
      objective({ id: 'company', keyResults: [kr('a')] }),
      objective({ id: 'team1', parent: 'company', weight: 3, keyResults: [kr('b'), kr('c', 2)] }),
      objective({ id: 'team2', parent: 'company', keyResults: [kr('d')] }),
      objective({ id: 'squad', parent: 'team1', weight: 2, keyResults: [kr('e')] }),
      objective({ id: 'empty', parent: 'company', weight: 5, keyResults: [kr('f')] }),
    ];
    const progress: Record<string, number | null> = { 'company/a': 0.2, 'team1/b': 1, 'team1/c': 0.4, 'team2/d': 0.6, 'squad/e': 0.1, 'empty/f': null };
    const tree = rolledUpProgress(objectives, (o, k) => progress[`${o}/${k}`]);
    // squad: leaf, 0.1.
    expect(tree.get('squad')!.rollup).toBeCloseTo(0.1, 12);
    // team1: own b (1, w1) and c (0.4, w2), child squad (0.1, w2): (1 + 0.8 + 0.2) / 5 = 0.4.
    expect(tree.get('team1')!.rollup).toBeCloseTo(0.4, 12);
    // team1's own progress: (1 + 0.8) / 3 = 0.6.
    expect(tree.get('team1')!.progress).toBeCloseTo(0.6, 12);
    // empty: no data at all -> null, and left out of company (its weight 5 does not count).
    expect(tree.get('empty')!.rollup).toBeNull();
    // company: own a (0.2, w1), team1 (0.4, w3), team2 (0.6, w1): (0.2 + 1.2 + 0.6) / 5 = 0.4.
    expect(tree.get('company')!.rollup).toBeCloseTo(0.4, 12);
    expect(tree.get('company')).toMatchObject({ children: ['team1', 'team2', 'empty'], childrenWithData: 2, childrenWithoutData: 1 });
    expect(objectiveTree(objectives).map(({ objective: o, depth }) => `${depth}:${o.id}`)).toEqual(['0:company', '1:team1', '2:squad', '1:team2', '1:empty']);
  });

  it('without children equals the key results mean, and is null without any data', () => {
    const o = objective({ id: 'x', keyResults: [kr('a', 2), kr('b')] });
    expect(rolledUpProgress([o], (_, k) => (k === 'a' ? 0.3 : 0.9)).get('x')!.rollup).toBeCloseTo((0.6 + 0.9) / 3, 12);
    expect(rolledUpProgress([o], () => null).get('x')!.rollup).toBeNull();
  });
});

describe('a directory of OKR files', () => {
  it('reads config/okrs.d/: every file, ids across files, parents across files, weights', async () => {
    const config = await loadConfig(DIR, {});
    expect(config.file).toBe(DIR);
    expect(config.objectives.map((o) => `${o.id}<${o.parent ?? ''}:${o.weight}`)).toEqual([
      // payments.yaml, platform.yaml, search.yaml: sorted by name.
      'payments-reliability<company-reliability:2',
      'company-reliability<:1',
      'platform-latency<company-reliability:1',
      'search-latency<company-reliability:1',
    ]);
    expect(config.sources.prometheus?.url).toBe('http://localhost:9090');
  });

  it('names the broken team file and its line for each problem', async () => {
    const error = (await loadConfig(BROKEN, {}).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    const expected = (await readFile(`${BROKEN}.expected`, 'utf8')).trimEnd().split('\n');
    expect(error.problems).toEqual(expected);
    expect(error.message.split('\n')[0]).toBe(`${BROKEN}: 4 problems`);
    // Each problem is in search.yaml, on the line that holds what it names.
    const lines = (await readFile(`${BROKEN}/search.yaml`, 'utf8')).split('\n');
    const words: Record<number, string> = { 3: 'sources:', 10: 'parent: company-reliabilty', 18: 'target: fast', 19: '- id: payments-reliability' };
    for (const p of error.problems) {
      const m = /^test\/fixtures\/config\/dirs\/broken-team\/search\.yaml:(\d+):\d+ /.exec(p);
      expect(m, p).not.toBeNull();
      expect(lines[Number(m![1]) - 1]).toContain(words[Number(m![1])]);
    }
    // The duplicate names both places: payments.yaml's objective is on its line 4.
    expect((await readFile(`${BROKEN}/payments.yaml`, 'utf8')).split('\n')[3]).toContain('- id: payments-reliability');
  });

  const files = (texts: Record<string, string>) => Object.entries(texts).map(([file, text]) => ({ file, text }));
  const head = 'version: 1\n';
  const obj = (id: string, parent?: string) =>
    `  - id: ${id}\n    title: Objective ${id}\n    owner: team-${id}\n${parent ? `    parent: ${parent}\n` : ''}    period: { start: 2026-10-01, end: 2026-12-31 }\n    keyResults:\n      - { id: p99, title: Cut P99 latency, metric: promql, query: up, baseline: 1, target: 0.5 }\n`;
  const SETTINGS = 'sources:\n  prometheus: { url: http://localhost:9090 }\n';

  it('finds a cycle of parents across files, and does not call a parent unknown when another file is unreadable', () => {
    const cycle = parseConfigFiles(files({ 'd/a.yaml': `${head}${SETTINGS}objectives:\n${obj('a', 'b')}`, 'd/b.yaml': `${head}objectives:\n${obj('b', 'a')}` }), {}, {}, 'd');
    expect(cycle.problems.map((p) => `${p.file}:${p.line} ${p.message}`)).toEqual(['d/a.yaml:8 makes a cycle (a -> b -> a); remove one of these parents']);
    const broken = parseConfigFiles(files({ 'd/a.yaml': `${head}${SETTINGS}objectives:\n${obj('a', 'b')}`, 'd/b.yaml': `${head}objectives: [\n` }), {}, {}, 'd');
    expect(broken.config).toBeNull();
    expect(broken.problems.map((p) => p.file)).toEqual(['d/b.yaml']);
    expect(broken.problems[0]!.message).toMatch(/^YAML syntax error/);
  });

  it('lets a file hold only the settings, but wants objectives somewhere', () => {
    const ok = parseConfigFiles(files({ 'd/0-settings.yaml': `${head}${SETTINGS}`, 'd/team.yaml': `${head}objectives:\n${obj('a')}` }), {}, {}, 'd');
    expect(ok.problems).toEqual([]);
    expect(ok.config!.sources.prometheus!.url).toBe('http://localhost:9090');
    const none = parseConfigFiles(files({ 'd/0-settings.yaml': `${head}${SETTINGS}` }), {}, {}, 'd');
    expect(none.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`)).toEqual([
      "d/0-settings.yaml:1:1 no file of d has objectives; add objectives: to a team's file (see config/okrs.example.yaml)",
    ]);
    // One file alone keeps the single-file rule: objectives are required.
    expect(parseConfigFiles(files({ 'okrs.yaml': `${head}${SETTINGS}` }), {}).problems[0]!.message).toMatch(/^is required; add objectives:/);
  });

  it('says so when the directory has no YAML file', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'krt-okrsd-'));
    await writeFile(join(empty, 'README.md'), 'not an OKR file');
    await expect(loadConfig(empty, {})).rejects.toThrow(/a directory without \*\.yaml files; put one OKR file per team in it/);
    await rm(empty, { recursive: true, force: true });
  });

  it('lints each file on its own lines', async () => {
    const { problems, warnings } = await lintConfigFile(DIR, {});
    expect(problems).toEqual([]);
    expect(new Set(warnings.map((w) => w.file))).toEqual(new Set(['config/okrs.d/payments.yaml', 'config/okrs.d/platform.yaml', 'config/okrs.d/search.yaml']));
    const search = (await readFile('config/okrs.d/search.yaml', 'utf8')).split('\n');
    for (const w of warnings.filter((x) => x.file.endsWith('search.yaml') && x.path === 'objectives[0].owner')) expect(search[w.line - 1]).toContain('owner: search-team');
  });

  it('every command that takes -c reads a directory (a broken one names its file and line)', async () => {
    /** Every command that does something, with the arguments it requires besides -c. */
    const leaves = (cmd: Command, path: string[] = []): { name: string[]; cmd: Command }[] =>
      cmd.commands.flatMap((c) => (c.commands.length ? leaves(c, [...path, c.name()]) : [{ name: [...path, c.name()], cmd: c }]));
    const out = await mkdtemp(join(tmpdir(), 'krt-okrsd-out-'));
    const required: Record<string, string[]> = {
      validate: [],
      lint: [],
      run: ['--once'],
      serve: ['--redis-url', 'redis://127.0.0.1:1'],
      worker: ['--redis-url', 'redis://127.0.0.1:1'],
      dashboards: ['--out', out],
      rules: ['--out', join(out, 'rules.yml')],
      'alerts test': ['platform-leads', '--redis-url', 'redis://127.0.0.1:1'],
      backfill: ['--from', '2026-10-01', '--redis-url', 'redis://127.0.0.1:1'],
      status: ['--once'],
      checkin: ['payments-reliability', '--confidence', '0.5', '--redis-url', 'redis://127.0.0.1:1'],
      report: ['--redis-url', 'redis://127.0.0.1:1'],
      explain: ['payments-reliability/payments-p99'],
      sim: ['github', '--port', '0'],
    };
    // `demo` starts its simulators before it reads the file (with the same loader).
    const withConfig = leaves(buildProgram()).filter(({ name, cmd }) => name[0] !== 'demo' && cmd.options.some((o) => o.short === '-c'));
    expect(withConfig.map(({ name }) => name.join(' ')).sort()).toEqual(Object.keys(required).sort());
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((s: string) => void errors.push(String(s)));
    try {
      for (const { name } of withConfig) {
        errors.length = 0;
        const code = await main(['node', 'krt', ...name, ...required[name.join(' ')]!, '-c', BROKEN]);
        expect(code, `krt ${name.join(' ')}`).toBe(1);
        expect(errors.join('\n'), `krt ${name.join(' ')}`).toContain(`${BROKEN}/search.yaml:10:13 objectives[0].parent is "company-reliabilty"`);
      }
    } finally {
      spy.mockRestore();
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the overview dashboard of config/okrs.d/', () => {
  it('lists the objectives as their tree: the company objective, then each team indented under it', async () => {
    const config = await loadConfig(DIR, {});
    const overview = JSON.parse(generateDashboards(config).find((d) => d.file === 'overview.json')!.json) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }>; fieldConfig: { overrides: Array<{ matcher: { options: string }; properties: Array<{ id: string; value: unknown }> }> } }>;
    };
    const panel = overview.panels.find((p) => p.title === 'Objectives by alignment')!;
    // The order query numbers the objectives parent first: 1 company, 2.. its children in file order.
    const order = [...panel.targets![0]!.expr.matchAll(/vector\((\d+)\), "objective", "([a-z-]+)"/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(order).toEqual(['1:company-reliability', '2:payments-reliability', '3:platform-latency', '4:search-latency']);
    expect(panel.targets![1]!.expr).toContain('okr_objective_progress_ratio{objective=~"$objective"}');
    const mappings = panel.fieldConfig.overrides.find((o) => o.matcher.options === 'Objective')!.properties[0]!.value as Array<{ options: Record<string, { text: string }> }>;
    const texts = mappings[0]!.options;
    expect(texts['company-reliability']!.text).toBe('Make our product fast and reliable for every customer');
    expect(texts['search-latency']!.text).toBe('\u00a0\u00a0└\u00a0Make search answer at the speed of typing');
  });
});

describe('config/okrs.d/ end to end: the company objective rolled up from three teams', () => {
  // The instant evaluated, and an hour of latency history up to it; the P99 of each service is
  // held constant, so that each key result's value is known without running the engine.
  const AT = Date.UTC(2026, 10, 20, 12, 0, 0);
  const P99: Record<string, number> = { edge: 0.6, gateway: 0.45, payments: 0.75, checkout: 0.24, search: 1.6 };
  let prom: PrometheusWithHistory;
  let dir: string;

  beforeAll(async () => {
    prom = await startPrometheusWithHistory({
      from: AT - 3_600_000,
      to: AT,
      stepSeconds: 60,
      diurnal: 0,
      series: Object.entries(P99).map(([service, p]) => ({ labels: { service }, requestsPerSecond: 500, quantileAt: { from: p, to: p } })),
    });
    dir = await mkdtemp(join(tmpdir(), 'krt-okrsd-e2e-'));
  }, 120_000);
  afterAll(async () => {
    await prom?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const krt = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/krt.js', ...args], { env: { ...process.env, LOG_LEVEL: 'silent', TZ: 'UTC', PROMETHEUS_URL: prom.url } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('krt run --once --json gives the hand-computed roll-up', async () => {
    const r = await krt(['run', '--once', '--json', '--at', new Date(AT).toISOString(), '-c', DIR]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as ObjectivesDocument;
    const byId = new Map(doc.objectives.map((o) => [o.id, o]));
    const kr = (o: string, k: string) => byId.get(o)!.keyResults.find((x) => x.id === k)!;
    // The values are the P99s the history holds (histogram_quantile over 5 minutes of it).
    for (const [o, k, service] of [['company-reliability', 'edge-p99', 'edge'], ['platform-latency', 'gateway-p99', 'gateway'], ['payments-reliability', 'payments-p99', 'payments'], ['payments-reliability', 'checkout-p99', 'checkout'], ['search-latency', 'search-p99', 'search']] as const) {
      expect(kr(o, k).value, k).toBeCloseTo(P99[service]!, 3);
    }
    expect(kr('search-latency', 'indexer-p99').progress).toBeNull();

    // By hand, progress = (value - baseline) / (target - baseline), from the fixture's files:
    //   edge-p99      (0.6  - 0.8) / (0.4 - 0.8) = 0.5            (platform.yaml, weight 1)
    //   gateway-p99   (0.45 - 0.5) / (0.3 - 0.5) = 0.25           (platform.yaml)
    //   payments-p99  (0.75 - 1.0) / (0.5 - 1.0) = 0.5            (payments.yaml, weight 1)
    //   checkout-p99  (0.24 - 0.4) / (0.2 - 0.4) = 0.8            (payments.yaml, weight 3)
    //   search-p99    (1.6  - 2.0) / (1.0 - 2.0) = 0.4            (search.yaml)
    //   indexer-p99   no series -> no data, left out
    // Objectives (children of company-reliability with their weight):
    //   platform-latency      0.25                                 weight 1
    //   payments-reliability  (0.5 * 1 + 0.8 * 3) / (1 + 3) = 0.725  weight 2
    //   search-latency        0.4 (indexer left out)               weight 1
    // company-reliability = (own edge 0.5 * 1 + 0.25 * 1 + 0.725 * 2 + 0.4 * 1) / (1 + 1 + 2 + 1)
    //                     = (0.5 + 0.25 + 1.45 + 0.4) / 5 = 2.6 / 5 = 0.52
    expect(byId.get('platform-latency')!.progress).toBeCloseTo(0.25, 2);
    expect(byId.get('payments-reliability')!.progress).toBeCloseTo(0.725, 2);
    expect(byId.get('search-latency')!.progress).toBeCloseTo(0.4, 2);
    const company = byId.get('company-reliability')!;
    expect(company.progress).toBeCloseTo(0.52, 2);
    expect(company.ownProgress).toBeCloseTo(0.5, 2);
    expect(company).toMatchObject({ parent: null, children: ['payments-reliability', 'platform-latency', 'search-latency'], childrenWithData: 3, childrenWithoutData: 0 });
    expect(byId.get('payments-reliability')).toMatchObject({ parent: 'company-reliability', children: [], weight: 2 });
    // Expected by 2026-11-20 12:00 of Oct 1 .. Dec 31 (92 days): 50.5 / 92 = 0.549; gap 0.029 -> on track.
    expect(company.expected).toBeCloseTo(50.5 / 92, 6);
    expect(company.status).toBe('on_track');
    // search-latency: 0.4 against 0.549 is a gap of 0.149 -> at risk.
    expect(byId.get('search-latency')!.status).toBe('at_risk');

    // The tree as `krt status --tree` prints it: each team under the company objective.
    const text = renderTree(doc.objectives);
    const lines = text.split('\n');
    const at = (s: string) => lines.findIndex((l) => l.includes(`(${s},`));
    expect(lines[at('company-reliability')]).toMatch(/^Make our product/);
    for (const child of ['payments-reliability', 'platform-latency', 'search-latency']) {
      expect(lines[at(child)]).toMatch(/^ {4}└─ /);
      expect(at(child)).toBeGreaterThan(at('company-reliability'));
    }
    expect(lines[at('company-reliability') + 1]).toMatch(/\[#{10}\.+\|?\.*\]\s+52% on_track/);
    expect(lines[at('search-latency') + 1]).toContain('(1 key result without data)');
  }, 60_000);

  it('krt status --once --tree prints the tree from the directory', async () => {
    const r = await krt(['status', '--once', '--tree', '-c', DIR]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^Make paying fast and dependable|^Make our product/);
    expect(lines.filter((l) => /^ {4}└─ /.test(l))).toHaveLength(3);
  }, 60_000);

  it('a broken team file fails `krt validate` naming its own file and line', async () => {
    const copy = join(dir, 'okrs.d');
    await mkdir(copy, { recursive: true });
    await cp(DIR, copy, { recursive: true });
    await writeFile(join(copy, 'search.yaml'), (await readFile(join(copy, 'search.yaml'), 'utf8')).replace('baseline: 2.0\n        target: 1.0\n      - id: indexer', 'baseline: 2.0\n        target: 2.0\n      - id: indexer'));
    const r = await krt(['validate', '-c', copy]);
    expect(r.code).toBe(1);
    const text = await readFile(join(copy, 'search.yaml'), 'utf8');
    const line = text.split('\n').findIndex((l) => l.includes('target: 2.0')) + 1;
    expect(r.stderr).toContain(`${copy}/search.yaml:${line}:17 objectives[0].keyResults[0].target equals the baseline; set it above or below`);
  }, 60_000);
});
