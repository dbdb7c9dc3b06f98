// Drift detection as a pure function on a fake clock: `for` durations, flapping, resolve,
// repeat interval, escalation, forecast crossing and staleness.
import { describe, expect, it } from 'vitest';
import { detectDrift, type DriftOptions } from '../src/alerts/drift.js';
import type { AlertEvent, AlertState } from '../src/alerts/types.js';
import type { EvaluationResult, Status } from '../src/core/result.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-11-02T08:00:00Z');

const OPTS: DriftOptions = {
  for: { status: 15 * MIN, stale: 0, forecast_miss: HOUR },
  keepFiringFor: 10 * MIN,
  repeat: 24 * HOUR,
  staleAfter: 15 * MIN,
  severities: { at_risk: 'warning', off_track: 'critical', stale: 'warning', forecast_miss: 'warning' },
};

function result(status: Status, evaluatedAt: number, over: Partial<EvaluationResult> = {}): EvaluationResult {
  const noData = status === 'no_data';
  return {
    objectiveId: 'cicd',
    keyResultId: 'deploy-frequency',
    metric: 'deployment_frequency',
    unit: 'per_day',
    at: evaluatedAt,
    evaluatedAt,
    value: noData ? null : 0.5,
    baseline: 0.2,
    target: 1,
    kind: 'increase',
    progress: noData ? null : 0.375,
    expected: 0.4,
    status,
    forecast: noData ? null : 1.1,
    score: null,
    error: noData ? 'acme/payments has not synced yet' : null,
    ...over,
  };
}

/** Feeds results one evaluation (5 min) apart on a fake clock and collects the events. */
function run(statuses: (Status | Partial<EvaluationResult> & { status: Status })[], opts = OPTS, start: AlertState | null = null, t0 = T0) {
  let state = start;
  const events: AlertEvent[] = [];
  statuses.forEach((s, i) => {
    const at = t0 + i * 5 * MIN;
    const r = typeof s === 'string' ? result(s, at) : result(s.status, at, s);
    const d = detectDrift(state, r, at, opts);
    state = d.state;
    events.push(...d.events);
  });
  return { state: state!, events };
}

describe('status drift', () => {
  it('fires only after the condition held for `for`, keyed by when it began', () => {
    const { events } = run(['on_track', 'at_risk', 'at_risk', 'at_risk']);
    expect(events).toEqual([]);
    const fired = run(['on_track', 'at_risk', 'at_risk', 'at_risk', 'at_risk']).events;
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      kind: 'status',
      condition: 'at_risk',
      reason: 'firing',
      action: 'trigger',
      severity: 'warning',
      since: T0 + 5 * MIN,
      at: T0 + 20 * MIN,
      seq: 1,
      alertKey: `cicd/deploy-frequency/status/${T0 + 5 * MIN}`,
      idempotencyKey: `cicd/deploy-frequency/status/${T0 + 5 * MIN}/1`,
    });
  });

  it('suppresses flapping: a condition that keeps coming and going never fires', () => {
    const flapping = Array.from({ length: 48 }, (_, i) => (i % 2 ? 'at_risk' : 'on_track') as Status);
    expect(run(flapping).events).toEqual([]);
    const flappingBands = Array.from({ length: 48 }, (_, i) => (i % 3 === 2 ? 'on_track' : i % 2 ? 'at_risk' : 'off_track') as Status);
    expect(run(flappingBands).events).toEqual([]);
  });

  it('keeps the pending start when at risk turns off track before firing', () => {
    const { events } = run(['at_risk', 'at_risk', 'off_track', 'off_track']);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ condition: 'off_track', severity: 'critical', since: T0 });
  });

  it('resolves after the condition has been gone for keepFiringFor, with the same alert key', () => {
    const fire = run(['off_track', 'off_track', 'off_track', 'off_track']);
    expect(fire.events.map((e) => e.reason)).toEqual(['firing']);
    // One good evaluation between bad ones resolves nothing.
    const blip = run(['on_track', 'off_track', 'off_track'], OPTS, fire.state, T0 + 20 * MIN);
    expect(blip.events).toEqual([]);
    const back = run(['on_track', 'on_track', 'on_track'], OPTS, blip.state, T0 + 35 * MIN);
    expect(back.events).toHaveLength(1);
    expect(back.events[0]).toMatchObject({
      reason: 'resolved',
      action: 'resolve',
      condition: 'off_track',
      alertKey: fire.events[0]!.alertKey,
      seq: 2,
      at: T0 + 45 * MIN,
    });
    expect(back.state.kinds.status).toEqual({ open: null, pending: null });
  });

  it('repeats an alert that stays open every `repeat`, never more often', () => {
    const statuses = Array.from({ length: (49 * HOUR) / (5 * MIN) }, () => 'off_track' as Status);
    const { events } = run(statuses);
    expect(events.map((e) => [e.reason, e.seq, e.at - T0])).toEqual([
      ['firing', 1, 15 * MIN],
      ['repeat', 2, 15 * MIN + 24 * HOUR],
      ['repeat', 3, 15 * MIN + 48 * HOUR],
    ]);
    expect(new Set(events.map((e) => e.alertKey)).size).toBe(1);
    expect(new Set(events.map((e) => e.idempotencyKey)).size).toBe(3);
  });

  it('escalates and de-escalates an open alert after `for`, as new messages of the same alert', () => {
    const { events } = run(['at_risk', 'at_risk', 'at_risk', 'at_risk', 'off_track', 'off_track', 'off_track', 'off_track', 'at_risk', 'at_risk', 'at_risk', 'at_risk']);
    expect(events.map((e) => [e.reason, e.condition, e.severity, e.seq])).toEqual([
      ['firing', 'at_risk', 'warning', 1],
      ['changed', 'off_track', 'critical', 2],
      ['changed', 'at_risk', 'warning', 3],
    ]);
    expect(new Set(events.map((e) => e.alertKey)).size).toBe(1);
  });

  it('ignores a result that is not newer than the last one (re-fed after a restart)', () => {
    const first = run(['off_track', 'off_track', 'off_track', 'off_track']);
    const again = detectDrift(first.state, result('off_track', T0 + 15 * MIN), T0 + 15 * MIN, OPTS);
    expect(again.events).toEqual([]);
    expect(again.state).toBe(first.state);
  });

  it('gives the same alert keys when the same results are judged again from scratch', () => {
    const seq: Status[] = ['on_track', 'at_risk', 'off_track', 'off_track', 'off_track', 'on_track', 'on_track', 'on_track'];
    expect(run(seq).events).toEqual(run(seq).events);
  });

  it('fires at once with for: 0 and resolves at once with keepFiringFor: 0', () => {
    const opts = { ...OPTS, for: { status: 0, stale: 0, forecast_miss: 0 }, keepFiringFor: 0 };
    expect(run(['off_track', 'on_track'], opts).events.map((e) => e.reason)).toEqual(['firing', 'resolved']);
  });
});

describe('forecast drift', () => {
  const f = (forecast: number | null, status: Status = 'on_track') => ({ status, forecast });

  it('fires when the forecast crosses from reaching the target to missing it for `for`, and resolves when it reaches again', () => {
    const reaching = Array.from({ length: 4 }, () => f(1.2));
    const missing = Array.from({ length: 13 }, () => f(0.8));
    const { events, state } = run([...reaching, ...missing]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'forecast_miss', condition: 'forecast_miss', reason: 'firing', since: T0 + 20 * MIN, at: T0 + 80 * MIN });
    const back = run(Array.from({ length: 3 }, () => f(1.05)), OPTS, state, T0 + 85 * MIN);
    expect(back.events.map((e) => [e.kind, e.reason])).toEqual([['forecast_miss', 'resolved']]);
  });

  it('reads the direction from the kind: for a decrease, a forecast above the target misses', () => {
    const dec = (forecast: number) => ({ status: 'on_track' as Status, kind: 'decrease' as const, baseline: 1200, target: 600, forecast });
    expect(run(Array.from({ length: 13 }, () => dec(500))).events).toEqual([]);
    expect(run(Array.from({ length: 13 }, () => dec(700))).events.map((e) => e.kind)).toEqual(['forecast_miss']);
  });

  it('says nothing without a forecast or once the key result is achieved', () => {
    expect(run(Array.from({ length: 20 }, () => f(null))).events).toEqual([]);
    expect(run(Array.from({ length: 20 }, () => f(0.5, 'achieved'))).events).toEqual([]);
  });
});

describe('stale drift', () => {
  it('fires when no good evaluation came for staleAfter, from the instant it went stale, and leaves the status alert alone', () => {
    const bad = Array.from({ length: 4 }, () => 'off_track' as Status);
    const noData = Array.from({ length: 4 }, () => 'no_data' as Status);
    const { events, state } = run([...bad, ...noData]);
    expect(events.map((e) => [e.kind, e.reason])).toEqual([
      ['status', 'firing'],
      ['stale', 'firing'],
    ]);
    const stale = events[1]!;
    // Last good evaluation at T0 + 15 min; stale 15 min later.
    expect(stale).toMatchObject({ since: T0 + 30 * MIN, at: T0 + 35 * MIN, severity: 'warning', alertKey: `cicd/deploy-frequency/stale/${T0 + 30 * MIN}` });
    expect(state.kinds.status.open?.condition).toBe('off_track');
    // Data again: stale resolves after keepFiringFor; the status alert stays open.
    const back = run(['off_track', 'off_track', 'off_track'], OPTS, state, T0 + 40 * MIN);
    expect(back.events.map((e) => [e.kind, e.reason])).toEqual([['stale', 'resolved']]);
    expect(back.state.kinds.status.open).not.toBeNull();
  });

  it('is noticed by the sweep when evaluations stop coming at all', () => {
    const { state } = run(['on_track']);
    expect(detectDrift(state, null, T0 + 15 * MIN, OPTS).events).toEqual([]);
    const swept = detectDrift(state, null, T0 + 16 * MIN, OPTS);
    expect(swept.events).toHaveLength(1);
    expect(swept.events[0]).toMatchObject({ kind: 'stale', since: T0 + 15 * MIN });
    // A later sweep finds it already open.
    expect(detectDrift(swept.state, null, T0 + 21 * MIN, OPTS).events).toEqual([]);
  });

  it('lets a pending status alert mature in the sweep from the last known result', () => {
    const { state } = run(['at_risk']);
    const swept = detectDrift(state, null, T0 + 15 * MIN, { ...OPTS, staleAfter: HOUR });
    expect(swept.events.map((e) => [e.kind, e.reason])).toEqual([['status', 'firing']]);
  });
});
