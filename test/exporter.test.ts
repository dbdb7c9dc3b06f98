import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../src/core/result.js';
import { createMetricsExporter } from '../src/exporters/metrics.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { config, keyResult, objective } from './helpers/config.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const res = (over: Partial<EvaluationResult>): EvaluationResult => ({
  objectiveId: 'cicd',
  keyResultId: 'deploy-frequency',
  metric: 'deployment_frequency',
  unit: 'per_day',
  at: NOW - 60_000,
  evaluatedAt: NOW - 60_000,
  value: 0.75,
  baseline: 0.5,
  target: 1,
  kind: 'increase',
  progress: 0.5,
  expected: 0.6,
  status: 'on_track',
  forecast: 0.9,
  score: null,
  error: null,
  ...over,
});

const cfg = config({
  objectives: [
    objective({
      keyResults: [keyResult(), keyResult({ id: 'stale-one', title: 'A "quoted" title \\ with backslash' })],
    }),
  ],
});

async function scrape(results: EvaluationResult[]) {
  const store = new MemoryStore();
  for (const r of results) await store.putResult(r);
  // A result of a key result that is no longer in the config must not be exported.
  await store.putResult(res({ keyResultId: 'removed-kr' }));
  await store.putSourceHealth({
    stream: { source: 'github', stream: 'deployments', key: 'acme/payments@production' },
    lastAttemptAt: NOW - 1000,
    lastSuccessAt: NOW - 1000,
    lastError: null,
    lastDurationMs: 1500,
    requests: 12,
    notModified: 7,
    failures: 1,
    eventsStored: 300,
    rateLimitRemaining: 4990,
  });
  return createMetricsExporter({ store, config: () => cfg, now: () => NOW }).render();
}

const line = (text: string, re: RegExp) => text.split('\n').find((l) => re.test(l));

describe('/metrics exposition', () => {
  it('exports every family with objective and key_result labels', async () => {
    const text = await scrape([res({}), res({ keyResultId: 'stale-one', evaluatedAt: NOW - 16 * 60_000 })]);
    expect(line(text, /^okr_key_result_value\{objective="cicd",key_result="deploy-frequency"\}/)).toMatch(/ 0\.75$/);
    expect(line(text, /^okr_key_result_target\{.*deploy-frequency/)).toMatch(/ 1$/);
    expect(line(text, /^okr_key_result_baseline\{.*deploy-frequency/)).toMatch(/ 0\.5$/);
    expect(line(text, /^okr_key_result_progress_ratio\{.*deploy-frequency/)).toMatch(/ 0\.5$/);
    expect(line(text, /^okr_key_result_expected_progress_ratio\{.*deploy-frequency/)).toMatch(/ 0\.6$/);
    expect(line(text, /^okr_key_result_last_evaluation_timestamp_seconds\{.*deploy-frequency/)).toMatch(new RegExp(` ${(NOW - 60_000) / 1000}$`));
    expect(line(text, /^okr_key_result_status\{.*deploy-frequency",status="on_track"/)).toMatch(/ 1$/);
    expect(line(text, /^okr_key_result_status\{.*deploy-frequency",status="off_track"/)).toMatch(/ 0$/);
    expect(line(text, /^okr_key_result_info\{.*deploy-frequency/)).toContain('title="Increase deployment frequency to daily",owner="platform-team",metric="deployment_frequency",unit="per_day"');
    expect(text).not.toContain('removed-kr');
    expect(line(text, /^krt_source_requests_total\{source="github",stream="deployments",key="acme\/payments@production"\}/)).toMatch(/ 12$/);
    expect(line(text, /^krt_source_rate_limit_remaining\{/)).toMatch(/ 4990$/);
  });

  it('reports a result older than three evaluation intervals as no_data', async () => {
    const text = await scrape([res({ keyResultId: 'stale-one', evaluatedAt: NOW - 16 * 60_000 })]);
    expect(line(text, /^okr_key_result_status\{.*stale-one",status="no_data"/)).toMatch(/ 1$/);
    expect(line(text, /^okr_key_result_status\{.*stale-one",status="on_track"/)).toMatch(/ 0$/);
  });

  it('omits values that do not exist rather than exporting 0', async () => {
    const text = await scrape([res({ value: null, progress: null, forecast: null, status: 'no_data' })]);
    expect(text).not.toMatch(/^okr_key_result_value\{/m);
    expect(text).not.toMatch(/^okr_key_result_progress_ratio\{/m);
    expect(line(text, /^okr_key_result_status\{.*deploy-frequency",status="no_data"/)).toMatch(/ 1$/);
  });

  it('passes promtool check metrics', async () => {
    const text = await scrape([res({}), res({ keyResultId: 'stale-one' })]);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
