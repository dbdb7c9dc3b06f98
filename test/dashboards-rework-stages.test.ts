// The DORA dashboard's rows for deployment rework rate and lead time by stage (issue 14),
// checked for content and against Grafana's JSON Schemas (test/fixtures/grafana-schemas).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { generateDashboards } from '../dashboards/generate.js';
import { config, keyResult, objective } from './helpers/config.js';

interface Panel {
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string }[];
  options?: unknown;
  fieldConfig?: { defaults: { unit?: string; custom?: unknown }; overrides: { matcher: { id: string; options: unknown }; properties: { id: string; value: unknown }[] }[] };
}

const dora = (c: ReturnType<typeof config>) => JSON.parse(generateDashboards(c).find((g) => g.file === 'dora.json')!.json) as { panels: Panel[] };
function sections(board: { panels: Panel[] }): { row: Panel; panels: Panel[] }[] {
  const out: { row: Panel; panels: Panel[] }[] = [];
  for (const p of board.panels) {
    if (p.type === 'row') out.push({ row: p, panels: [] });
    else out.at(-1)!.panels.push(p);
  }
  return out;
}
const displayNames = (p: Panel) =>
  Object.fromEntries(p.fieldConfig!.overrides.filter((o) => o.matcher.id === 'byName').map((o) => [o.matcher.options, o.properties.find((x) => x.id === 'displayName')?.value]));

const cfg = config({
  objectives: [
    objective({
      keyResults: [
        keyResult(),
        keyResult({ id: 'rework', metric: 'deployment_rework_rate', unit: 'ratio', title: 'Less rework', services: ['PABC123'], target: { type: 'absolute', value: 0.05 } }),
        keyResult({ id: 'pr-total', metric: 'pr_cycle_time', unit: 'seconds', title: 'Two-day cycle', options: { stage: 'total' }, target: { type: 'absolute', value: 172_800 } }),
        keyResult({ id: 'pr-review', metric: 'pr_cycle_time', unit: 'seconds', title: 'Same-day reviews', options: { stage: 'review' }, target: { type: 'absolute', value: 28_800 } }),
        keyResult({ id: 'pr-coding', metric: 'pr_cycle_time', unit: 'seconds', title: 'Small changes', options: { stage: 'coding' }, target: { type: 'absolute', value: 86_400 } }),
      ],
    }),
  ],
});

describe('dora.json: rework rate and lead time by stage', () => {
  const board = dora(cfg);

  it('follows the DORA rows with a rework row and a lead-time-by-stage row', () => {
    expect(sections(board).map((s) => s.row.title)).toEqual(['Deployment frequency', 'Deployment rework rate', 'Lead time by stage']);
    const [, rework, stages] = sections(board);
    expect(rework!.panels.map((p) => [p.type, p.title])).toEqual([
      ['stat', 'Deployment rework rate now'],
      ['timeseries', 'Deployment rework rate over time'],
    ]);
    expect(stages!.panels.map((p) => [p.type, p.title])).toEqual([
      ['bargauge', 'Lead time by stage now'],
      ['timeseries', 'Lead time by stage over time'],
    ]);
    for (const p of [...rework!.panels, ...stages!.panels]) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    expect(rework!.panels.map((p) => p.fieldConfig!.defaults.unit)).toEqual(['percentunit', 'percentunit']);
    expect(stages!.panels.map((p) => p.fieldConfig!.defaults.unit)).toEqual(['s', 's']);
  });

  it('reads each metric\'s key results and targets, names series after their stage in stage order', () => {
    const [, rework, stages] = sections(board);
    for (const p of rework!.panels) expect(p.targets![0]!.expr).toContain('metric="deployment_rework_rate"');
    for (const p of stages!.panels) expect(p.targets![0]!.expr).toContain('metric="pr_cycle_time"');
    expect(stages!.panels[1]!.targets![1]!.expr).toContain('okr_key_result_target{');
    const names = displayNames(stages!.panels[1]!);
    expect(Object.entries(names).filter(([k]) => !k.endsWith(' target'))).toEqual([
      ['cicd/pr-coding', 'Coding: Small changes'],
      ['cicd/pr-review', 'Review: Same-day reviews'],
      ['cicd/pr-total', 'Total: Two-day cycle'],
    ]);
    expect(displayNames(rework!.panels[0]!)['cicd/rework']).toBe('Less rework: acme/payments, acme/checkout, PABC123');
    expect(stages!.panels[0]!.description).toMatch(/Coding \(first commit to PR opened\); Review \(PR opened to merged\); Total \(first commit to production\)/);
  });

  it('adds no row without such key results, and shows them alone when no DORA key result exists', () => {
    const plain = dora(config({ objectives: [objective({ keyResults: [keyResult()] })] }));
    expect(sections(plain).map((s) => s.row.title)).toEqual(['Deployment frequency']);
    const only = dora(config({ objectives: [objective({ keyResults: [keyResult({ id: 'x', metric: 'pr_cycle_time', unit: 'seconds', options: { stage: 'deploy' }, title: 'Fast deploys' }), keyResult({ id: 'y', metric: 'ci_duration', unit: 'seconds', workflow: 'ci.yml' })] })] }));
    expect(sections(only).map((s) => s.row.title)).toEqual(['Lead time by stage']);
  });

  it('validates against Grafana\'s schemas', () => {
    const dir = fileURLToPath(new URL('./fixtures/grafana-schemas/', import.meta.url));
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, formats: { 'date-time': true } });
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.jsonschema.json'))) {
      const s = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { definitions: Record<string, { properties: Record<string, unknown> }> };
      const name = f.replace('.jsonschema.json', '');
      if (name === 'dashboard') {
        // As in dashboards.test.ts: Grafana's `_` (any JSON) became `type: object` in the schema.
        s.definitions.MatcherConfig!.properties.options = {};
        s.definitions.DynamicConfigValue!.properties.value = {};
      }
      ajv.addSchema(s, name);
    }
    const check = (ref: string, value: unknown, what: string) => {
      const v = ajv.getSchema(ref)!;
      expect(v(value), `${what}: ${ajv.errorsText(v.errors)}`).toBe(true);
    };
    check('dashboard', board, 'dora.json');
    for (const { panels } of sections(board).slice(1)) {
      for (const p of panels) {
        check(`${p.type}#/definitions/Options`, p.options, `${p.title} options`);
        if (p.type === 'timeseries') check(`${p.type}#/definitions/FieldConfig`, p.fieldConfig?.defaults.custom ?? {}, `${p.title} custom`);
        for (const t of p.targets ?? []) check('prometheus', t, `${p.title} target ${t.refId}`);
      }
    }
  });
});
