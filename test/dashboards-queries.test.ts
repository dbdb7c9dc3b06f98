// Every panel query of every generated dashboard, run against a real Prometheus that scrapes the
// real exporter: each must return data, and the overview, DORA and source-health queries must
// return the right data. Schema and layout checks are in dashboards.test.ts.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { generateDashboards } from '../dashboards/generate.js';
import { SEVERITY } from '../dashboards/queries.js';
import { evaluationResults, queryRange, serveExposition, sourceHealth, type ExpositionServer } from './helpers/dashboards-metrics.js';
import { expectedPanelQueries } from './helpers/dashboard-queries.js';
import { until } from './helpers/net.js';
import { startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';

const ENV = {
  GITHUB_TOKEN: 'test-github-token',
  PAGERDUTY_TOKEN: 'test-pagerduty-token',
  SLACK_WEBHOOK_URL: 'https://hooks.example.com/x',
  PD_ROUTING_KEY: 'test-routing-key',
  HOOK_SECRET: 'test-hook-secret',
};
const GENERATED_DIR = 'dashboards/generated';
const SCRAPES = 5;
// Grafana's $__rate_interval for a data source whose scrape interval is set to startPrometheus's 1 s:
// max($__interval + 1s, 4 x 1s) over a one-minute range.
const INTERVALS = { rateInterval: '4s', interval: '1s', range: '1m' };

interface Where {
  file: string;
  panel: string;
  refId: string;
}

let example: Config;
let served: Config;
let exposition: ExpositionServer;
let prometheus: RunningPrometheus;
const at = Date.now();

beforeAll(async () => {
  example = await loadConfig('config/okrs.example.yaml', ENV);
  // The example has every DORA metric (deployment frequency, lead time, change failure rate, time to restore).
  served = example;
  exposition = await serveExposition(served, evaluationResults(served, at), sourceHealth(served, at));
  prometheus = await startPrometheus([exposition.target]);
  // Rates need two samples within $__rate_interval; a few scrapes give every query its data.
  await until(`${SCRAPES} scrapes in Prometheus`, async () => {
    const r = await prometheus.query('min(count_over_time(krt_source_requests_total[1m]))');
    return Number(r[0]?.value[1] ?? 0) >= SCRAPES ? true : undefined;
  }, 30_000);
});

afterAll(async () => {
  await prometheus?.stop();
  await exposition?.close();
});

/** The committed dashboards and those of the served config, each query once, with every panel that sends it. */
async function allQueries(): Promise<Map<string, Where[]>> {
  const boards: { file: string; json: string }[] = [];
  for (const f of (await readdir(GENERATED_DIR)).filter((x) => x.endsWith('.json')).sort()) {
    boards.push({ file: `${GENERATED_DIR}/${f}`, json: await readFile(join(GENERATED_DIR, f), 'utf8') });
  }
  boards.push(...generateDashboards(served).map((g) => ({ file: `${g.file} (example config)`, json: g.json })));
  const byExpr = new Map<string, Where[]>();
  for (const { file, json } of boards) {
    for (const q of expectedPanelQueries(json, { intervals: INTERVALS })) {
      byExpr.set(q.expr, [...(byExpr.get(q.expr) ?? []), { file, panel: q.panelTitle, refId: q.refId }]);
    }
  }
  return byExpr;
}

/** The substituted expression of a panel's query in a dashboard generated from the served config. */
function panelExpr(file: string, panel: string, refId = 'A'): string {
  const g = generateDashboards(served).find((d) => d.file === file)!;
  const q = expectedPanelQueries(g.json, { intervals: INTERVALS }).find((x) => x.panelTitle === panel && x.refId === refId);
  if (!q) throw new Error(`no query ${refId} in panel "${panel}" of ${file}`);
  return q.expr;
}

describe('dashboard queries against a real Prometheus', () => {
  it('runs on the committed dashboards, which are those of the example config', async () => {
    for (const g of generateDashboards(example)) {
      expect(await readFile(join(GENERATED_DIR, g.file), 'utf8'), `${GENERATED_DIR}/${g.file} is out of date: run \`npm run dashboards\``).toBe(g.json);
    }
  });

  it('every panel query of every dashboard returns data over the last minute', async () => {
    const queries = await allQueries();
    expect(queries.size).toBeGreaterThan(50);
    const end = Date.now() / 1000;
    const failures: string[] = [];
    await Promise.all(
      [...queries].map(async ([expr, where]) => {
        const panels = where.map((w) => `${w.file}: "${w.panel}" ${w.refId}`).join('; ');
        try {
          const series = await queryRange(prometheus.url, expr, { start: end - 60, end, stepSeconds: 1 });
          const numbers = series.flatMap((s) => s.values.map(([, v]) => Number(v))).filter((v) => !Number.isNaN(v));
          if (numbers.length === 0) failures.push(`${panels}: no data for ${expr}`);
        } catch (err) {
          failures.push(`${panels}: ${String(err)}`);
        }
      }),
    );
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('lists the key results most urgent first, with the status each has', async () => {
    const rows = await prometheus.query(panelExpr('overview.json', 'Key results, most urgent first'));
    const results = evaluationResults(served, at);
    expect(rows).toHaveLength(results.length);
    const severities = rows.map((r) => Number(r.value[1]));
    expect(severities, 'sort_desc: most urgent first').toEqual([...severities].sort((a, b) => b - a));
    for (const r of rows) {
      const result = results.find((x) => x.objectiveId === r.metric.objective && x.keyResultId === r.metric.key_result)!;
      expect(Number(r.value[1]), `${r.metric.key_result}`).toBe(SEVERITY[result.status]);
      expect(r.metric.title).toBe(served.objectives.flatMap((o) => o.keyResults).find((kr) => kr.id === r.metric.key_result)?.title);
    }
    expect(rows.slice(0, 3).map((r) => r.metric.key_result)).toEqual(expect.arrayContaining(['deploy-time', 'payments-p99', 'ci-success']));
  });

  it('gives each objective the status of its most urgent key result, and counts key results by status', async () => {
    const objectives = await prometheus.query(panelExpr('overview.json', 'Objective status'));
    const worst = Object.fromEntries(objectives.map((r) => [r.metric.objective, Number(r.value[1])]));
    expect(worst).toEqual({ cicd: SEVERITY.off_track, 'payments-reliability': SEVERITY.off_track, 'developer-feedback': SEVERITY.off_track });
    const counts = await prometheus.query(panelExpr('overview.json', 'Key results by status'));
    expect(Object.fromEntries(counts.map((r) => [r.metric.status, Number(r.value[1])]))).toEqual({ off_track: 3, at_risk: 3, on_track: 3, achieved: 2 });
  });

  it('shows each DORA key result with its own value, by its metric', async () => {
    const results = evaluationResults(served, at);
    for (const [title, ids] of [
      ['Deployment frequency now', ['deploy-frequency']],
      ['Lead time for changes now', ['lead-time']],
      ['Change failure rate now', ['change-failure-rate']],
      ['Time to restore service now', ['payments-restore']],
      ['Deployment rework rate now', ['rework-rate']],
      ['Lead time by stage now', ['review-time']],
    ] as const) {
      const rows = await prometheus.query(panelExpr('dora.json', title));
      expect(rows.map((r) => r.metric.key_result), title).toEqual(ids);
      expect(Number(rows[0]!.value[1])).toBeCloseTo(results.find((r) => r.keyResultId === ids[0])!.value!, 9);
    }
  });

  it('breaks key results over several repositories down per repository, worst first, with the values the exporter has', async () => {
    const results = evaluationResults(served, at);
    const components = (id: string) => results.find((r) => r.keyResultId === id)!.components!.map((c) => [c.repository, c.value] as [string, number]);
    const rows = async (file: string, panel: string) => (await prometheus.query(panelExpr(file, panel))).map((r) => [r.metric.repository, Number(r.value[1])] as [string, number]);
    // Lower is better for the change failure rate: the highest first.
    const cfr = components('change-failure-rate');
    expect(cfr).toHaveLength(2);
    expect(await rows('dora.json', 'Change failure rate per repository')).toEqual([...cfr].sort((a, b) => b[1] - a[1]));
    // Higher is better for deployment frequency: the lowest first, on the DORA and the objective's dashboard.
    const df = [...components('deploy-frequency')].sort((a, b) => a[1] - b[1]);
    expect(await rows('dora.json', 'Deployment frequency per repository')).toEqual(df);
    expect(await rows('objective-cicd.json', 'Increase deployment frequency to daily: per repository')).toEqual(df);
    // The worst over time: both repositories (fewer than five), named by repository.
    const worst = await prometheus.query(panelExpr('objective-cicd.json', 'Increase deployment frequency to daily: worst repositories over time'));
    expect(worst.map((r) => r.metric.repository).sort()).toEqual(['acme/checkout', 'acme/payments']);
  });

  it('reports the failing stream down and the others up, and a 304 ratio from the counters', async () => {
    const up = await prometheus.query(panelExpr('source-health.json', 'Sync up'));
    const health = sourceHealth(served, at);
    expect(up).toHaveLength(health.length);
    for (const r of up) {
      const failing = r.metric.key === health[0]!.stream.key && r.metric.stream === health[0]!.stream.stream;
      expect(Number(r.value[1]), `${r.metric.stream} ${r.metric.key}`).toBe(failing ? 0 : 1);
    }
    // Each scrape adds 2 not-modified answers to 5 requests.
    const ratio = await prometheus.query(panelExpr('source-health.json', '304 Not Modified ratio'));
    expect(ratio.length).toBeGreaterThan(0);
    for (const r of ratio) expect(Number(r.value[1])).toBeCloseTo(0.4, 6);
  });
});
