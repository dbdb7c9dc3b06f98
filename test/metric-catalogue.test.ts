// The metric catalogue (src/metrics/catalogue) and the typed streams (src/core/stream.ts): what the
// rest of kr-tracker relies on when it asks a descriptor instead of switching on a metric name.
import { describe, expect, it } from 'vitest';
import { derivedFrom, parseStream, partitionOf, streamId, streamKey, streams, StreamKeyError, type Stream } from '../src/core/stream.js';
import { readsOf } from '../src/engine/measure.js';
import { CATALOGUE, METRIC_NAMES, metricOf, UNITS } from '../src/metrics/catalogue/index.js';
import { DORA_BANDS, DORA_METRICS } from '../dashboards/dora-bands.js';
import type { KeyResult } from '../src/config/types.js';

const kr = (metric: KeyResult['metric'], over: Partial<KeyResult> = {}): KeyResult => ({
  id: 'k',
  objectiveId: 'o',
  title: 't',
  metric,
  unit: '',
  repos: ['acme/a', 'acme/b'],
  services: ['PSVC1'],
  deployments: { source: 'deployments', environment: 'production' },
  workflow: 'ci.yml',
  branch: 'main',
  windowMs: 7 * 86_400_000,
  stat: 'p50',
  attributionMs: 86_400_000,
  urgency: null,
  artifact: 'coverage',
  query: 'up',
  aggregate: null,
  baseline: null,
  target: { type: 'absolute', value: 1 },
  kind: null,
  bands: { atRisk: 0.1, offTrack: 0.25 },
  weight: 1,
  notify: [],
  revisionNote: null,
  ...over,
});

describe('the metric catalogue', () => {
  it('lists each metric once, under the names of the OKR file', () => {
    expect(new Set(METRIC_NAMES).size).toBe(CATALOGUE.length);
    expect(METRIC_NAMES).toEqual([
      'deployment_frequency',
      'lead_time_for_changes',
      'change_failure_rate',
      'rollback_rate',
      'time_to_restore',
      'time_to_acknowledge',
      'incident_count',
      'ci_success_rate',
      'ci_duration',
      'test_coverage',
      'promql',
      'deployment_rework_rate',
      'pr_cycle_time',
    ]);
    for (const name of METRIC_NAMES) expect(metricOf(name).name).toBe(name);
  });

  it('gives every built-in metric a known unit and a range that agrees with it', () => {
    for (const d of CATALOGUE) {
      if (d.unit === null) {
        expect(d.range).toBe('any');
        continue;
      }
      expect(Object.keys(UNITS)).toContain(d.unit);
      expect(d.range).toBe(d.unit === 'ratio' ? 'ratio' : 'non_negative');
    }
  });

  it('agrees with the DORA bands on unit and direction', () => {
    for (const m of DORA_METRICS) {
      expect(metricOf(m).unit).toBe(DORA_BANDS[m].unit);
      expect(metricOf(m).better).toBe(DORA_BANDS[m].better === 'higher' ? 'increase' : 'decrease');
    }
  });

  it('names a counterpart that is itself a metric of the catalogue', () => {
    for (const d of CATALOGUE) {
      const named = /\(metric: (\w+)\)/.exec(d.wording.counterpart)?.[1];
      if (d.name === 'promql') expect(named).toBeUndefined();
      else expect(METRIC_NAMES).toContain(named);
    }
  });

  it('reads only partitions of the streams it syncs (deployments from GitHub deployments)', () => {
    const at = Date.parse('2026-11-20T00:00:00Z');
    for (const name of METRIC_NAMES) {
      const k = kr(name);
      const synced = new Set(metricOf(name).streams(k).map((s) => JSON.stringify(partitionOf(s))));
      for (const r of readsOf(k, [at])) expect(synced, `${name} reads ${r.kind} ${r.partition}`).toContain(JSON.stringify({ kind: r.kind, partition: r.partition }));
    }
  });

  it('syncs a derived stream after the stream it is derived from', () => {
    for (const name of METRIC_NAMES) {
      const list = metricOf(name).streams(kr(name));
      list.forEach((s, i) => {
        const from = derivedFrom(s);
        if (from) expect(list.slice(0, i).map(streamId)).toContain(streamId(from));
      });
    }
  });
});

describe('typed streams', () => {
  const cases: Stream[] = [
    { source: 'github', stream: 'deployments', repo: 'acme/a', environment: 'production' },
    { source: 'github', stream: 'compare', repo: 'acme/a', environment: 'staging-eu' },
    { source: 'github', stream: 'runs', repo: 'acme/a', workflow: 'ci.yml', branch: 'release/2026@q4' },
    { source: 'github', stream: 'coverage', repo: 'acme/a', workflow: 'ci.yml', branch: 'fix/#12', artifact: 'coverage-report' },
    { source: 'github', stream: 'history', repo: 'acme/a' },
    { source: 'pagerduty', stream: 'incidents', service: 'PSVC1' },
  ];

  it('spells a stream as the key it is stored under, and reads it back', () => {
    expect(streams.deployments('acme/a', 'production')).toEqual({ source: 'github', stream: 'deployments', key: 'acme/a@production' });
    expect(streams.coverage('acme/a', 'ci.yml', 'main', 'coverage').key).toBe('acme/a/ci.yml@main#coverage');
    for (const s of cases) expect(parseStream(streamKey(s))).toEqual(s);
  });

  it('gives the partition each stream writes to', () => {
    expect(cases.map((s) => partitionOf(s))).toEqual([
      { kind: 'deployment', partition: 'acme/a@production' },
      { kind: 'compare', partition: 'acme/a' },
      { kind: 'workflow_run', partition: 'acme/a/ci.yml@release/2026@q4' },
      { kind: 'coverage', partition: 'acme/a/ci.yml@fix/#12' },
      { kind: 'commit', partition: 'acme/a' },
      { kind: 'incident', partition: 'PSVC1' },
    ]);
    expect(streamId(streams.incidents('PSVC1'))).toBe('pagerduty:incidents:PSVC1');
  });

  it('refuses a key not spelt as its stream says, naming the expected form', () => {
    expect(() => parseStream({ source: 'github', stream: 'runs', key: 'acme/a@main' })).toThrow(StreamKeyError);
    expect(() => parseStream({ source: 'github', stream: 'runs', key: 'acme/a@main' })).toThrow(/owner\/repo\/workflow@branch/);
    expect(() => parseStream({ source: 'github', stream: 'issues', key: 'x' })).toThrow(/github has no stream "issues"/);
  });
});
