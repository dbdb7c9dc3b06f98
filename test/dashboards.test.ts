// The generated Grafana dashboards: valid against Grafana's JSON Schemas (Grafana itself does not
// run here), laid out on the 24-column grid, one per objective with every key result, every query
// through ${datasource} and on the right labels, and byte-stable.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { Config } from '../src/config/types.js';
import { STATUSES } from '../src/core/result.js';
import { doraBand, DORA_BANDS, DORA_METRICS } from '../dashboards/dora-bands.js';
import { dashboardUid, generateDashboards, SHARED_UIDS, UID_MAX_LENGTH } from '../dashboards/generate.js';
import { grafanaUnit } from '../dashboards/common.js';
import { SEVERITY } from '../dashboards/queries.js';
import { config, keyResult, objective } from './helpers/config.js';
import { expectedDashboardQueries, expectedPanelQueries } from './helpers/dashboard-queries.js';
import { breakdownParts } from '../src/engine/components.js';

// ---- The configs, built by hand (the YAML loader is tested on its own) ----

const LONG_ID = 'payments-reliability-of-the-core-payment-service';

const cicd = objective({
  keyResults: [
    keyResult(), // deployment_frequency, per_day, absolute target 1, baseline measured later
    keyResult({
      id: 'deploy-time',
      title: 'Reduce deployment time by 50%',
      metric: 'ci_duration',
      unit: 'seconds',
      baseline: 1200,
      target: { type: 'relative', ratio: -0.5 },
    }),
    keyResult({
      id: 'rollback-rate',
      title: 'Keep the rollback rate under 1%',
      metric: 'rollback_rate',
      unit: 'ratio',
      windowMs: 90 * 86_400_000,
      kind: 'maintain_below',
      target: { type: 'absolute', value: 0.01 },
    }),
    keyResult({
      id: 'coverage',
      title: 'Increase automated test coverage from 60% to 85%',
      metric: 'test_coverage',
      unit: 'ratio',
      baseline: 0.6,
      target: { type: 'absolute', value: 0.85 },
    }),
  ],
});

const payments = objective({
  id: LONG_ID,
  title: 'Significantly improve the reliability of our core payment service',
  owner: 'payments-team',
  period: { start: Date.parse('2026-07-01T00:00:00+02:00'), end: Date.parse('2026-10-01T00:00:00+02:00') },
  keyResults: [
    keyResult({
      id: 'payments-p99',
      objectiveId: LONG_ID,
      title: 'Reduce P99 latency of payment processing by 30%',
      metric: 'promql',
      query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="payments"}[5m])))',
      unit: 'seconds',
      baseline: 0.5,
      target: { type: 'relative', ratio: -0.3 },
    }),
    keyResult({
      id: 'payments-restore',
      objectiveId: LONG_ID,
      title: 'Restore payment incidents within an hour',
      metric: 'time_to_restore',
      unit: 'seconds',
      baseline: 7200,
      target: { type: 'absolute', value: 3600 },
    }),
    keyResult({
      id: 'payments-throughput',
      objectiveId: LONG_ID,
      title: 'Grow checkout throughput by half',
      metric: 'promql',
      query: 'sum(rate(checkout_total[1d]))',
      unit: 'requests',
      target: { type: 'relative', ratio: 0.5 },
    }),
    keyResult({
      id: 'incidents',
      objectiveId: LONG_ID,
      title: 'Fewer than 5 payment incidents a month',
      metric: 'incident_count',
      unit: 'count',
      kind: 'maintain_below',
      target: { type: 'absolute', value: 5 },
    }),
  ],
});

const cfg: Config = config({ objectives: [cicd, payments], timezone: 'Europe/Berlin' });

// ---- The dashboard JSON, as far as the tests read it ----

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Target {
  expr: string;
  refId: string;
  instant?: boolean;
  range?: boolean;
  format?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
interface Threshold {
  value: number | null;
  color: string;
}
interface Panel {
  type: string;
  id: number;
  title: string;
  description?: string;
  gridPos: GridPos;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  options?: Record<string, unknown>;
  panels?: Panel[];
  transformations?: { id: string; options: Record<string, unknown> }[];
  fieldConfig?: {
    defaults: {
      unit?: string;
      min?: number;
      max?: number;
      custom?: Record<string, unknown>;
      thresholds?: { mode: string; steps: Threshold[] };
      mappings?: { type: string; options: Record<string, { text?: string; color?: string }> }[];
    };
    overrides: { matcher: { id: string; options?: unknown }; properties: { id: string; value?: unknown }[] }[];
  };
}
interface Dashboard {
  uid: string;
  description: string;
  links: { type: string; tags: string[] }[];
  title: string;
  tags: string[];
  timezone: string;
  refresh: string;
  time: { from: string; to: string };
  templating: { list: { type: string; name: string; query?: unknown; multi?: boolean; includeAll?: boolean; allValue?: string; datasource?: unknown }[] };
  panels: Panel[];
}

const generated = generateDashboards(cfg);
const boards = generated.map((g) => JSON.parse(g.json) as Dashboard);
const pairs = cfg.objectives.map((o, i) => ({ objective: o, board: boards[i]! }));
const SHARED_FILES = ['overview.json', 'dora.json', 'source-health.json'];
const boardOf = (file: string, from = generated) => JSON.parse(from.find((g) => g.file === file)!.json) as Dashboard;
const overview = boardOf('overview.json');
const dora = boardOf('dora.json');
const sourceHealth = boardOf('source-health.json');

/** The panels under each row: the row, then the panels up to the next row. */
function sections(board: Dashboard): { row: Panel; panels: Panel[] }[] {
  const out: { row: Panel; panels: Panel[] }[] = [];
  for (const p of board.panels) {
    if (p.type === 'row') out.push({ row: p, panels: [] });
    else out.at(-1)!.panels.push(p);
  }
  return out;
}

const visualPanels = (board: Dashboard) => board.panels.filter((p) => p.type !== 'row');

/** The label matchers of every `okr_...{...}` selector of an expression. */
function selectors(expr: string): string[] {
  return [...expr.matchAll(/\bokr_[a-z_]+\{([^}]*)\}/g)].map((m) => m[1]!);
}

// ---- Schemas (test/fixtures/grafana-schemas, see its README) ----

const SCHEMA_DIR = fileURLToPath(new URL('./fixtures/grafana-schemas/', import.meta.url));
// strict: false: the schemas carry keywords such as "x-deprecation-message". "date-time" is only
// used on dashboard metadata that is not generated, so it is accepted as is (no ajv-formats).
// validateSchema: false because common.jsonschema.json (copied unchanged) has an enum with
// duplicate items (ScaleDirection: [1, 1, -1, -1]), which the draft-07 meta-schema forbids.
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, formats: { 'date-time': true } });
const schemaNames = readdirSync(SCHEMA_DIR)
  .filter((f) => f.endsWith('.jsonschema.json'))
  .map((f) => f.replace('.jsonschema.json', ''));
const readSchema = (name: string) =>
  JSON.parse(readFileSync(join(SCHEMA_DIR, `${name}.jsonschema.json`), 'utf8')) as { definitions: Record<string, { properties: Record<string, unknown> }> };
for (const name of schemaNames) {
  const s = readSchema(name);
  if (name === 'dashboard') {
    // Grafana's CUE has `options?: _` and `value?: _` (any JSON), which the SDK types as `any`
    // (dist/dashboard/types.gen.d.ts) and fills with strings and numbers in its own override
    // builders (overrideByName, overrideByQuery: `options: "A"`); the JSON Schema generator turned
    // `_` into `type: object`. Relaxed here, in memory only, back to any value.
    s.definitions.MatcherConfig!.properties.options = {};
    s.definitions.DynamicConfigValue!.properties.value = {};
  }
  ajv.addSchema(s, name);
}
function schema(ref: string): ValidateFunction {
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`no schema ${ref} in ${SCHEMA_DIR}`);
  return validate;
}
function expectValid(validate: ValidateFunction, value: unknown, what: string) {
  const ok = validate(value);
  expect(ok, `${what}: ${ajv.errorsText(validate.errors, { separator: '\n' })}`).toBe(true);
}
const hasDefinition = (name: string, def: string) => Object.hasOwn(readSchema(name).definitions, def);

// ---- Tests ----

describe('generateDashboards', () => {
  it('writes one dashboard per objective, named objective-<id>.json, then the overview, DORA and source-health ones', () => {
    expect(generated.map((g) => g.file)).toEqual(['objective-cicd.json', `objective-${LONG_ID}.json`, ...SHARED_FILES]);
    for (const g of generated) expect(g.json.endsWith('}\n')).toBe(true);
  });

  it('is byte-stable and in canonical formatting', () => {
    expect(generateDashboards(cfg)).toEqual(generated);
    for (const g of generated) expect(`${JSON.stringify(JSON.parse(g.json), null, 2)}\n`).toBe(g.json);
  });

  it('sets uid, title, tags, period, refresh, timezone and variables', () => {
    const [a, b] = boards;
    expect(a!.uid).toBe('krt-cicd');
    expect(a!.title).toBe('OKR: Establish a world-class CI/CD pipeline');
    expect(a!.tags).toEqual(['okr', 'kr-tracker', 'platform-team']);
    expect(a!.time).toEqual({ from: '2026-10-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' });
    expect(b!.time).toEqual({ from: '2026-06-30T22:00:00.000Z', to: '2026-09-30T22:00:00.000Z' });
    expect(a!.refresh).toBe('1m');
    expect(a!.timezone).toBe('Europe/Berlin');
    const [ds, kr] = a!.templating.list;
    expect(ds).toMatchObject({ type: 'datasource', name: 'datasource', query: 'prometheus' });
    expect(kr).toMatchObject({
      type: 'query',
      name: 'key_result',
      query: 'label_values(okr_key_result_info{objective="cicd"}, key_result)',
      multi: true,
      includeAll: true,
      datasource: { type: 'prometheus', uid: '${datasource}' },
    });
  });

  it('keeps uids stable, unique and within 40 characters', () => {
    const other = `${LONG_ID}-two`;
    expect(boards[1]!.uid.length).toBeLessThanOrEqual(UID_MAX_LENGTH);
    expect(boards[1]!.uid).toBe(dashboardUid(LONG_ID));
    expect(boards[1]!.uid.startsWith('krt-payments-reliability')).toBe(true);
    expect(dashboardUid(other).length).toBe(UID_MAX_LENGTH);
    expect(dashboardUid(other)).not.toBe(dashboardUid(LONG_ID));
    expect(dashboardUid('a'.repeat(36))).toBe(`krt-${'a'.repeat(36)}`);
    expect(dashboardUid('a'.repeat(37))).toMatch(/^krt-a{27}-[0-9a-f]{8}$/);
    for (const b of boards) expect(b.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(boards.map((b) => b.uid).slice(-3)).toEqual(['krt-overview', 'krt-dora', 'krt-source-health']);
    expect(SHARED_UIDS).toEqual(['krt-overview', 'krt-dora', 'krt-source-health']);
  });

  it('gives an objective whose uid would be a shared dashboard\'s another uid', () => {
    for (const id of ['overview', 'dora', 'source-health']) {
      const uid = dashboardUid(id);
      expect(uid).toMatch(new RegExp(`^krt-${id}-[0-9a-f]{8}$`));
      const clash = generateDashboards(config({ objectives: [objective({ id, keyResults: [keyResult({ objectiveId: id })] })] }));
      const uids = clash.map((g) => (JSON.parse(g.json) as Dashboard).uid);
      expect(new Set(uids).size, uids.join(' ')).toBe(uids.length);
    }
  });

  it('is valid against the dashboard schema, and each panel against its panel type and the Prometheus query schema', () => {
    const validateQuery = schema('prometheus');
    for (const board of boards) {
      expectValid(schema('dashboard'), board, `dashboard ${board.uid}`);
      for (const p of visualPanels(board)) {
        const where = `${board.uid} panel ${p.id} (${p.type})`;
        expect(schemaNames, `a schema for panel type ${p.type}`).toContain(p.type);
        expectValid(schema(`${p.type}#/definitions/Options`), p.options, `${where} options`);
        if (hasDefinition(p.type, 'FieldConfig')) {
          expectValid(schema(`${p.type}#/definitions/FieldConfig`), p.fieldConfig?.defaults.custom ?? {}, `${where} fieldConfig.defaults.custom`);
        }
        for (const t of p.targets ?? []) expectValid(validateQuery, t, `${where} target ${t.refId}`);
      }
    }
  });

  it('lays panels out on the 24-column grid without overlaps, rows stacked top to bottom', () => {
    for (const board of boards) {
      const all = board.panels;
      for (const p of all) {
        const { x, y, w, h } = p.gridPos;
        expect([x, y, w, h].every(Number.isInteger), `${p.title} integers`).toBe(true);
        expect(w > 0 && h > 0 && x >= 0 && y >= 0 && x + w <= 24, `${p.title} ${JSON.stringify(p.gridPos)}`).toBe(true);
      }
      for (const [i, a] of all.entries()) {
        for (const b of all.slice(i + 1)) {
          const overlap =
            a.gridPos.x < b.gridPos.x + b.gridPos.w &&
            b.gridPos.x < a.gridPos.x + a.gridPos.w &&
            a.gridPos.y < b.gridPos.y + b.gridPos.h &&
            b.gridPos.y < a.gridPos.y + a.gridPos.h;
          expect(overlap, `"${a.title}" and "${b.title}" overlap`).toBe(false);
        }
      }
      const secs = sections(board);
      expect(board.panels[0]!.type, 'the dashboard starts with a row').toBe('row');
      for (const [i, { row, panels }] of secs.entries()) {
        expect(row.gridPos).toMatchObject({ x: 0, w: 24, h: 1 });
        const next = secs[i + 1]?.row.gridPos.y ?? Infinity;
        expect(next).toBeGreaterThan(row.gridPos.y);
        for (const p of panels) {
          expect(p.gridPos.y).toBeGreaterThan(row.gridPos.y);
          expect(p.gridPos.y + p.gridPos.h).toBeLessThanOrEqual(next);
        }
        expect(row.panels, 'an expanded row keeps its panels at the top level').toEqual([]);
      }
    }
  });

  it('numbers every panel and row uniquely', () => {
    for (const board of boards) {
      const ids = board.panels.map((p) => p.id);
      expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('has an overview and, for every key result, a row of status, value, trajectory and progress', () => {
    for (const { objective: o, board } of pairs) {
      const secs = sections(board);
      expect(secs.map((s) => s.row.title)).toEqual(['Overview', ...o.keyResults.map((kr) => kr.title)]);
      expect(secs[0]!.panels.map((p) => p.type)).toEqual(['gauge', 'stat', 'bargauge', 'stat']);
      for (const [i, kr] of o.keyResults.entries()) {
        const { panels } = secs[i + 1]!;
        // A key result over several repositories (services) also has its breakdown: a table and the worst over time.
        const breakdown = breakdownParts(kr) ? ['table', 'timeseries'] : [];
        expect(panels.map((p) => p.type)).toEqual(['stat', 'stat', 'timeseries', 'timeseries', ...breakdown]);
        for (const p of panels) {
          expect(p.title).toContain(kr.title);
          expect(p.description).toContain(kr.title);
        }
      }
    }
  });

  it('reads every panel and query through ${datasource}, with a unit and thresholds on every panel', () => {
    for (const board of boards) {
      for (const p of visualPanels(board)) {
        expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.targets?.length, p.title).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.datasource, `${p.title} ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.fieldConfig?.defaults.unit, p.title).toBeTruthy();
        const steps = p.fieldConfig?.defaults.thresholds?.steps ?? [];
        expect(steps.length, p.title).toBeGreaterThan(0);
        expect(steps[0]!.value, `${p.title}: the first step is the base (-Infinity)`).toBeNull();
        const values = steps.slice(1).map((s) => s.value!);
        expect(values, `${p.title}: steps sorted`).toEqual([...values].sort((a, b) => a - b));
        expect(p.description?.length, p.title).toBeGreaterThan(0);
      }
    }
  });

  it('queries each key result by its objective and key_result labels, and the overview by objective', () => {
    for (const { objective: o, board } of pairs) {
      const secs = sections(board);
      for (const p of secs[0]!.panels) {
        expect(p.description).toContain(o.title);
        for (const t of p.targets!) {
          expect(selectors(t.expr).length, t.expr).toBeGreaterThan(0);
          for (const s of selectors(t.expr)) {
            expect(s, t.expr).toContain(`objective="${o.id}"`);
            expect(!s.includes('key_result') || s.includes('key_result=~"$key_result"'), t.expr).toBe(true);
          }
        }
      }
      for (const [i, kr] of o.keyResults.entries()) {
        for (const p of secs[i + 1]!.panels) {
          for (const t of p.targets!) {
            expect(selectors(t.expr).length, t.expr).toBeGreaterThan(0);
            for (const s of selectors(t.expr)) expect(s, t.expr).toContain(`objective="${o.id}",key_result="${kr.id}"`);
          }
        }
      }
    }
  });

  it('maps units: seconds to s, ratio to percentunit, per_day to a /day suffix, count to short, others to a suffix', () => {
    expect(grafanaUnit('seconds')).toBe('s');
    expect(grafanaUnit('ratio')).toBe('percentunit');
    expect(grafanaUnit('per_day')).toBe('suffix: /day');
    expect(grafanaUnit('count')).toBe('short');
    expect(grafanaUnit('requests')).toBe('suffix: requests');
    const valueUnits = pairs.flatMap(({ board }) => sections(board).slice(1).map((s) => s.panels[1]!.fieldConfig!.defaults.unit));
    expect(valueUnits).toEqual(['suffix: /day', 's', 'percentunit', 'percentunit', 's', 's', 'suffix: requests', 'short']);
    for (const { board } of pairs) {
      for (const s of sections(board).slice(1)) {
        expect(s.panels[3]!.fieldConfig!.defaults).toMatchObject({ unit: 'percentunit', min: 0, max: 1 });
      }
    }
  });

  it('colours the value against the target in the right direction', () => {
    const steps = (board: Dashboard, kr: number) =>
      sections(board)[kr + 1]!.panels[1]!.fieldConfig!.defaults.thresholds!.steps.map((s) => [s.value, s.color]);
    const [a, b] = boards;
    expect(steps(a!, 0), 'increase, baseline unknown: by the metric').toEqual([[null, 'red'], [1, 'green']]);
    expect(steps(a!, 1), 'decrease by -50% from 1200').toEqual([[null, 'green'], [600, 'yellow'], [1200, 'red']]);
    expect(steps(a!, 2), 'maintain below').toEqual([[null, 'green'], [0.01, 'red']]);
    expect(steps(a!, 3), 'increase from a baseline').toEqual([[null, 'red'], [0.6, 'yellow'], [0.85, 'green']]);
    expect(steps(b!, 0), '-30% of 0.5 is 0.35, not 0.35000000000000003').toEqual([[null, 'green'], [0.35, 'yellow'], [0.5, 'red']]);
    expect(steps(b!, 2), 'relative target, baseline still to measure: not coloured').toEqual([[null, 'blue']]);
  });

  it('maps the status codes to words and colours green, yellow, red, blue, grey', () => {
    const status = sections(boards[0]!)[1]!.panels[0]!;
    const byCode = status.fieldConfig!.defaults.mappings![0]!.options;
    expect(Object.keys(byCode)).toEqual(['0', '1', '2', '3', '4']);
    expect(Object.values(byCode).map((r) => r.color)).toEqual(['green', 'yellow', 'red', 'blue', 'gray']);
    expect(Object.values(byCode).map((r) => r.text)).toEqual(['On track', 'At risk', 'Off track', 'Achieved', 'No data']);
    // The query's codes are the same: status="<STATUSES[i]>" ... * i.
    for (const [i, s] of STATUSES.entries()) expect(status.targets![0]!.expr).toContain(`status="${s}"} == 1) * ${i}`);
  });

  it('draws the trajectory from baseline to target over the period, except for maintain kinds', () => {
    const [a] = boards;
    const trajectory = (kr: number) => sections(a!)[kr + 1]!.panels[2]!.targets!.find((t) => t.refId === 'D')?.expr;
    const start = Date.parse('2026-10-01T00:00:00Z') / 1000;
    const length = (Date.parse('2027-01-01T00:00:00Z') - Date.parse('2026-10-01T00:00:00Z')) / 1000;
    expect(trajectory(1)).toBe(
      'okr_key_result_baseline{objective="cicd",key_result="deploy-time"} + ' +
        '(okr_key_result_target{objective="cicd",key_result="deploy-time"} - okr_key_result_baseline{objective="cicd",key_result="deploy-time"}) * ' +
        `scalar(clamp(vector((time() - ${start}) / ${length}), 0, 1))`,
    );
    expect(trajectory(2), 'maintain_below has no trajectory').toBeUndefined();
  });

  it('marks key-result revisions as annotations, placed at the instant each revision holds', () => {
    for (const g of generateDashboards(cfg).filter((d) => d.file.startsWith('objective-'))) {
      const board = JSON.parse(g.json) as { uid: string; annotations?: { list: Array<Record<string, unknown>> } };
      const o = cfg.objectives.find((x) => g.file === `objective-${x.id}.json`)!;
      const revisions = board.annotations?.list.filter((a) => a.name === 'Key result revisions') ?? [];
      expect(revisions, g.file).toHaveLength(1);
      expect(revisions[0]).toMatchObject({
        enable: true,
        useValueForTime: true,
        expr: `okr_key_result_revision_timestamp_seconds{objective="${o.id}"} * 1000`,
        datasource: { type: 'prometheus', uid: '${datasource}' },
      });
    }
  });
});

describe('expectedDashboardQueries', () => {
  const variableOf = (file: string) =>
    ({ 'overview.json': '$objective', 'dora.json': '$objective', 'source-health.json': '$source' })[file] ?? '$key_result';

  it('lists every query of every panel, with variables as Grafana sends them for "All"', () => {
    for (const g of generated) {
      const board = JSON.parse(g.json) as Dashboard;
      const targets = visualPanels(board).flatMap((p) => p.targets ?? []);
      const raw = expectedDashboardQueries(g.json, { raw: true });
      expect(raw).toEqual(targets.map((t) => t.expr));
      const runnable = expectedDashboardQueries(board);
      expect(runnable).toHaveLength(raw.length);
      expect(raw.some((q) => q.includes(variableOf(g.file))), g.file).toBe(true);
      for (const q of runnable) expect(q, 'no variable left').not.toContain('$');
      expect(runnable.some((q) => q.includes(`${variableOf(g.file).slice(1)}=~".+"`)), g.file).toBe(true);
    }
  });

  it('names the panel and query of each expression, and replaces the interval variables', () => {
    const queries = expectedPanelQueries(sourceHealth, { intervals: { rateInterval: '4s' } });
    expect(queries.map((q) => q.expr)).toEqual(expectedDashboardQueries(sourceHealth, { intervals: { rateInterval: '4s' } }));
    const failures = queries.find((q) => q.panelTitle === 'Sync failures')!;
    expect(failures).toMatchObject({ panelId: expect.any(Number), refId: 'A' });
    expect(failures.expr).toBe('max by (source, stream, key) (rate(krt_source_sync_failures_total{source=~".+"}[4s])) * 3600');
    const raw = expectedPanelQueries(sourceHealth, { raw: true }).find((q) => q.panelTitle === 'Sync failures')!;
    expect(raw.expr).toContain('[$__rate_interval]');
    const byDefault = expectedPanelQueries(sourceHealth).find((q) => q.panelTitle === 'Sync failures')!;
    expect(byDefault.expr).toContain('[1m]');
    const board = { panels: [{ id: 1, title: 'x', targets: [{ refId: 'A', expr: 'a[$__range] + b[${__interval}] + c[$__interval_ms]' }] }] };
    expect(expectedDashboardQueries(board, { intervals: { range: '2h', interval: '30s' } })).toEqual(['a[2h] + b[30s] + c[$__interval_ms]']);
  });

  // promtool comes with Debian's prometheus package, which test/setup/ensure-services.sh installs.
  it('gives PromQL that Prometheus parses (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'krt-dashboards-'));
    try {
      const queries = generated.flatMap((g) => expectedDashboardQueries(g.json));
      const rules = ['groups:', '  - name: dashboards', '    rules:'];
      for (const [i, q] of queries.entries()) rules.push(`      - record: krt:dashboard_query_${i}`, `        expr: ${JSON.stringify(q)}`);
      writeFileSync(join(dir, 'rules.yml'), `${rules.join('\n')}\n`);
      const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
      expect(check.status, `${check.stdout}\n${check.stderr}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- The dashboards over all objectives ----

const targetsOf = (board: Dashboard) => visualPanels(board).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, target: t })));
const stepsOf = (p: Panel) => p.fieldConfig!.defaults.thresholds!.steps.map((s) => [s.value, s.color]);
const displayNames = (p: Panel) =>
  Object.fromEntries(
    p.fieldConfig!.overrides.flatMap((o) =>
      o.matcher.id === 'byName' ? o.properties.filter((x) => x.id === 'displayName').map((x) => [o.matcher.options, x.value]) : [],
    ),
  );

describe('overview.json', () => {
  it('has the datasource, objective (multi, from okr_objective_info) and owner variables, and the live time range', () => {
    expect(overview.title).toBe('OKR overview');
    expect(overview.time).toEqual({ from: 'now-30d', to: 'now' });
    expect(overview.tags).toEqual(['okr', 'kr-tracker']);
    expect(overview.links[0]).toMatchObject({ type: 'dashboards', tags: ['kr-tracker'] });
    const [ds, o, owner] = overview.templating.list;
    expect(ds).toMatchObject({ type: 'datasource', name: 'datasource', query: 'prometheus' });
    for (const [v, name] of [
      [o, 'objective'],
      [owner, 'owner'],
    ] as const) {
      expect(v).toMatchObject({
        type: 'query',
        name,
        query: `label_values(okr_objective_info, ${name})`,
        multi: true,
        includeAll: true,
        allValue: '.+',
        datasource: { type: 'prometheus', uid: '${datasource}' },
      });
    }
  });

  it('shows objective progress bars and status, key results by status, and the key result table', () => {
    const secs = sections(overview);
    expect(secs.map((s) => s.row.title)).toEqual(['Objectives', 'Key results']);
    expect(secs[0]!.panels.map((p) => [p.type, p.title])).toEqual([
      ['bargauge', 'Objective progress'],
      ['stat', 'Objective status'],
      ['stat', 'Key results by status'],
      ['timeseries', 'Objective progress over time'],
      ['table', 'Objectives by alignment'],
    ]);
    expect(secs[1]!.panels.map((p) => p.type)).toEqual(['table']);
    for (const p of [secs[0]!.panels[0]!, secs[0]!.panels[3]!]) {
      expect(p.fieldConfig!.defaults).toMatchObject({ unit: 'percentunit', min: 0, max: 1 });
      expect(p.targets![0]!.expr).toContain('okr_objective_progress_ratio{objective=~"$objective"}');
      expect(p.targets![0]!.legendFormat).toBe('{{title}}');
    }
    for (const o of cfg.objectives) expect(secs[0]!.panels[0]!.description).toContain(o.title);
  });

  it('filters every query by the objective and owner variables', () => {
    for (const { panel, target } of targetsOf(overview)) {
      for (const s of selectors(target.expr)) expect(s, `${panel.title}: ${target.expr}`).toContain('objective=~"$objective"');
      expect(target.expr, panel.title).toContain('owner=~"$owner"');
    }
  });

  it('sorts key results most urgent first: off track, at risk, no data, on track, achieved', () => {
    expect(Object.entries(SEVERITY).sort((a, b) => b[1] - a[1]).map(([s]) => s)).toEqual(['off_track', 'at_risk', 'no_data', 'on_track', 'achieved']);
    const table = sections(overview)[1]!.panels[0]!;
    const [a, b, c] = table.targets!;
    expect(a!.expr.startsWith('sort_desc(max by (objective, key_result, title, owner, metric) (')).toBe(true);
    expect(a!.expr).toContain('group_left (title, owner, metric) max by (objective, key_result, title, owner, metric) (okr_key_result_info{');
    for (const [s, code] of Object.entries(SEVERITY)) expect(a!.expr).toContain(`status="${s}"} == 1) * ${code}`);
    expect(b!.expr).toContain('okr_key_result_progress_ratio{');
    expect(c!.expr).toContain('okr_key_result_expected_progress_ratio{');
    for (const t of table.targets!) expect(t, t.refId).toMatchObject({ instant: true, range: false, format: 'table' });
    expect(table.options!.sortBy).toEqual([{ displayName: 'Status', desc: true }]);
    expect(table.transformations!.map((t) => t.id)).toEqual(['merge', 'organize']);
    expect(table.transformations![1]!.options.renameByName).toMatchObject({ 'Value #A': 'Status', 'Value #B': 'Progress', 'Value #C': 'Expected by now' });
    const status = table.fieldConfig!.overrides.find((o) => o.matcher.options === 'Status')!;
    const mappings = status.properties.find((p) => p.id === 'mappings')!.value as { options: Record<string, { text: string; color: string }> }[];
    expect(Object.entries(mappings[0]!.options).map(([code, r]) => [Number(code), r.text, r.color])).toEqual([
      [0, 'Achieved', 'blue'],
      [1, 'On track', 'green'],
      [2, 'No data', 'gray'],
      [3, 'At risk', 'yellow'],
      [4, 'Off track', 'red'],
    ]);
  });

  it('names and colours the status counts', () => {
    const counts = sections(overview)[0]!.panels[2]!;
    expect(counts.targets![0]!.expr).toMatch(/^count by \(status\) \(/);
    expect(displayNames(counts)).toEqual({ off_track: 'Off track', at_risk: 'At risk', no_data: 'No data', on_track: 'On track', achieved: 'Achieved' });
  });
});

describe('dora.json', () => {
  const all = config({
    objectives: [
      objective({
        keyResults: [
          keyResult(),
          keyResult({ id: 'lead', metric: 'lead_time_for_changes', unit: 'seconds', title: 'Lead time under a day' }),
          keyResult({ id: 'cfr', metric: 'change_failure_rate', unit: 'ratio', title: 'Fewer failed changes', services: ['PABC123'], target: { type: 'absolute', value: 0.1 } }),
          keyResult({ id: 'mttr', metric: 'time_to_restore', unit: 'seconds', title: 'Restore within an hour', repos: [], services: ['PABC123', 'PDEF456'] }),
          keyResult({ id: 'cov', metric: 'test_coverage', unit: 'ratio', title: 'Coverage' }),
        ],
      }),
    ],
  });
  const full = boardOf('dora.json', generateDashboards(all));

  it('has a row per DORA metric that a key result measures, in DORA order, each a stat and a timeseries', () => {
    expect(dora.uid).toBe('krt-dora');
    expect(dora.templating.list.map((v) => v.name)).toEqual(['datasource', 'objective', 'owner']);
    expect(sections(dora).map((s) => s.row.title)).toEqual(['Deployment frequency', 'Time to restore service']);
    expect(sections(full).map((s) => s.row.title)).toEqual(DORA_METRICS.map((m) => DORA_BANDS[m].title));
    // Every metric of `full` has a key result over several repositories (services): its breakdown follows.
    for (const { panels } of sections(full)) expect(panels.map((p) => p.type)).toEqual(['stat', 'timeseries', 'table', 'timeseries']);
    // The only DORA key result over one service (payments-restore) has none.
    expect(sections(dora).map((s) => s.panels.length)).toEqual([4, 2]);
  });

  it('breaks each DORA metric down by repository or service, worst first', () => {
    const [df, lt, cfr, ttr] = sections(full).map((s) => s.panels);
    // Higher is better for deployment frequency: the lowest first, bottomk over time.
    expect(df![2]!.targets![0]!.expr).toMatch(/^sort\(okr_key_result_component_value\{objective=~"\$objective"\} \* on \(objective, key_result\) group_left \(title\)/);
    expect(df![3]!.targets![0]!.expr).toMatch(/^bottomk\(5, okr_key_result_component_value/);
    for (const ps of [lt, cfr, ttr]) {
      expect(ps![2]!.targets![0]!.expr).toMatch(/^sort_desc\(okr_key_result_component_value/);
      expect(ps![3]!.targets![0]!.expr).toMatch(/^topk\(5, okr_key_result_component_value/);
    }
    expect(cfr![2]!.targets![0]!.expr).toContain('metric="change_failure_rate"');
    expect(df![3]!.targets![0]!.legendFormat).toBe('{{repository}} ({{objective}}/{{key_result}})');
    expect(ttr![3]!.targets![0]!.legendFormat).toBe('{{service}} ({{objective}}/{{key_result}})');
    expect(ttr![2]!.title).toBe('Time to restore service per service');
    expect(stepsOf(cfr![2]!)).toEqual(stepsOf(cfr![0]!));
  });

  it('reads the key results of each metric from okr_key_result_value joined with okr_key_result_info{metric=...}', () => {
    for (const [i, metric] of DORA_METRICS.entries()) {
      const [now, overTime] = sections(full)[i]!.panels;
      for (const p of [now!, overTime!]) {
        expect(p.targets![0]!.expr).toContain('okr_key_result_value{objective=~"$objective"} * on (objective, key_result) group_left (title)');
        expect(p.targets![0]!.expr).toContain(`okr_key_result_info{objective=~"$objective",owner=~"$owner",metric="${metric}"}`);
      }
      expect(overTime!.targets![1]!.expr).toContain('okr_key_result_target{');
    }
  });

  it('names each series after its key result and its repositories or services', () => {
    const names = (i: number) => displayNames(sections(full)[i]!.panels[1]!);
    expect(names(0)['cicd/deploy-frequency']).toBe('Increase deployment frequency to daily: acme/payments, acme/checkout');
    expect(names(0)['cicd/deploy-frequency target']).toBe('Increase deployment frequency to daily: acme/payments, acme/checkout target');
    expect(names(2)['cicd/cfr']).toBe('Fewer failed changes: acme/payments, acme/checkout, PABC123');
    expect(names(3)['cicd/mttr']).toBe('Restore within an hour: PABC123, PDEF456');
    expect(Object.keys(names(3))).not.toContain('cicd/cov');
  });

  it('shades the Elite, High, Medium and Low bands with threshold steps, in the metric\'s unit', () => {
    const [df, lt, cfr, ttr] = sections(full).map((s) => s.panels);
    const day = 86_400;
    expect(stepsOf(df![1]!)).toEqual([[null, 'red'], [1 / 30, 'yellow'], [1 / 7, 'green'], [1, 'purple']]);
    expect(stepsOf(lt![1]!)).toEqual([[null, 'purple'], [day, 'green'], [7 * day, 'yellow'], [30 * day, 'red']]);
    expect(stepsOf(cfr![1]!)).toEqual([[null, 'purple'], [0.05, 'green'], [0.1, 'yellow'], [0.15, 'red']]);
    expect(stepsOf(ttr![1]!)).toEqual([[null, 'purple'], [3600, 'green'], [day, 'yellow'], [7 * day, 'red']]);
    expect([df, lt, cfr, ttr].map((ps) => ps![0]!.fieldConfig!.defaults.unit)).toEqual(['suffix: /day', 's', 'percentunit', 's']);
    for (const ps of [df, lt, cfr, ttr]) {
      expect(stepsOf(ps![0]!)).toEqual(stepsOf(ps![1]!));
      expect(ps![1]!.fieldConfig!.defaults.custom!.thresholdsStyle).toEqual({ mode: 'area' });
      expect(ps![1]!.description).toMatch(/Elite \(purple\): .*High \(green\): .*Medium \(yellow\): .*Low \(red\): /);
    }
  });

  it('puts values on a bound in the band above it, as Grafana\'s threshold steps do', () => {
    expect(doraBand('deployment_frequency', 3)).toBe('elite');
    expect(doraBand('deployment_frequency', 1)).toBe('elite');
    expect(doraBand('deployment_frequency', 0.99)).toBe('high');
    expect(doraBand('deployment_frequency', 1 / 7)).toBe('high');
    expect(doraBand('deployment_frequency', 0.1)).toBe('medium');
    expect(doraBand('deployment_frequency', 0.01)).toBe('low');
    expect(doraBand('lead_time_for_changes', 3600)).toBe('elite');
    expect(doraBand('lead_time_for_changes', 86_400)).toBe('high');
    expect(doraBand('lead_time_for_changes', 10 * 86_400)).toBe('medium');
    expect(doraBand('lead_time_for_changes', 60 * 86_400)).toBe('low');
    expect(doraBand('change_failure_rate', 0.04)).toBe('elite');
    expect(doraBand('change_failure_rate', 0.05)).toBe('high');
    expect(doraBand('change_failure_rate', 0.12)).toBe('medium');
    expect(doraBand('change_failure_rate', 0.5)).toBe('low');
    expect(doraBand('time_to_restore', 1800)).toBe('elite');
    expect(doraBand('time_to_restore', 7200)).toBe('high');
    expect(doraBand('time_to_restore', 2 * 86_400)).toBe('medium');
    expect(doraBand('time_to_restore', 8 * 86_400)).toBe('low');
  });

  it('explains itself with a text panel when no key result measures a DORA metric', () => {
    const none = boardOf('dora.json', generateDashboards(config({ objectives: [objective({ keyResults: [keyResult({ metric: 'ci_duration', unit: 'seconds' })] })] })));
    expectValid(schema('dashboard'), none, 'dashboard without DORA key results');
    expect(none.panels.map((p) => p.type)).toEqual(['row', 'text']);
    const text = none.panels[1]!;
    expectValid(schema('text#/definitions/Options'), text.options, 'text panel options');
    expect(text.options!.content).toContain('`deployment_frequency`');
    expect(text.gridPos).toMatchObject({ x: 0, w: 24 });
  });
});

describe('source-health.json', () => {
  const byTitle = (title: string) => visualPanels(sourceHealth).find((p) => p.title === title)!;

  it('has the datasource and source variables', () => {
    expect(sourceHealth.uid).toBe('krt-source-health');
    expect(sourceHealth.templating.list.map((v) => v.name)).toEqual(['datasource', 'source']);
    expect(sourceHealth.templating.list[1]).toMatchObject({ query: 'label_values(krt_source_sync_up, source)', multi: true, includeAll: true, allValue: '.+' });
  });

  it('shows per stream: up, last success age, duration, failures, requests and 304s, rate limit, events stored', () => {
    expect(visualPanels(sourceHealth).map((p) => [p.title, p.fieldConfig!.defaults.unit])).toEqual([
      ['Sync up', 'none'],
      ['Last successful sync', 's'],
      ['Rate limit remaining', 'short'],
      ['Events stored', 'short'],
      ['Sync duration', 's'],
      ['Sync failures', 'suffix: /h'],
      ['Requests', 'reqpm'],
      ['304 Not Modified ratio', 'percentunit'],
      ['Events stored per minute', 'epm'],
      ['Rate limit remaining over time', 'short'],
    ]);
    for (const { panel, target } of targetsOf(sourceHealth)) {
      expect(target.expr, panel.title).toMatch(/\bkrt_source_[a-z_]+\{source=~"\$source"\}/);
      expect(target.legendFormat, panel.title).toBe('{{source}} {{stream}} {{key}}');
    }
    expect(byTitle('Requests').targets![0]!.expr).toBe('max by (source, stream, key) (rate(krt_source_requests_total{source=~"$source"}[$__rate_interval])) * 60');
    expect(byTitle('304 Not Modified ratio').targets![0]!.expr).toContain('krt_source_not_modified_responses_total');
    expect(byTitle('Last successful sync').targets![0]!.expr).toBe(
      'time() - max by (source, stream, key) (krt_source_last_sync_success_timestamp_seconds{source=~"$source"})',
    );
  });

  it('colours last success by sync intervals and names the streams of the OKR file', () => {
    const interval = cfg.schedule.syncMs / 1000;
    expect(stepsOf(byTitle('Last successful sync'))).toEqual([[null, 'green'], [2 * interval, 'yellow'], [3 * interval, 'red']]);
    expect(byTitle('Sync up').description).toContain('github deployments acme/payments@production');
    expect(byTitle('Sync up').fieldConfig!.defaults.mappings![0]!.options).toMatchObject({ '0': { text: 'Down' }, '1': { text: 'Up' } });
  });
});
