// PagerDuty metrics of METRICS.md (time_to_restore, time_to_acknowledge, incident_count) on small
// hand-computed cases. Type-7 quantile: h = (n-1)p, v = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
import { describe, expect, it } from 'vitest';
import { incidentCount } from '../src/metrics/incident-count.js';
import { timeToAcknowledge } from '../src/metrics/time-to-acknowledge.js';
import { timeToRestore } from '../src/metrics/time-to-restore.js';
import type { IncidentEvent } from '../src/core/events.js';

const S = 1000;
const DAY = 86_400_000;
const T = Date.parse('2026-11-25T00:00:00Z');
const w = { at: T, windowMs: 28 * DAY };

let seq = 0;
/** An incident created at `createdAt`, resolved `restoreS` and acknowledged `ackS` seconds later. */
function inc(createdAt: number, restoreS: number | null, ackS: number | null = null, urgency: 'high' | 'low' = 'high', service = 'PSVC01'): IncidentEvent {
  return {
    service,
    id: `Q${++seq}`,
    createdAt,
    resolvedAt: restoreS === null ? null : createdAt + restoreS * S,
    acknowledgedAt: ackS === null ? null : createdAt + ackS * S,
    urgency,
    status: restoreS === null ? (ackS === null ? 'triggered' : 'acknowledged') : 'resolved',
  };
}

describe('timeToRestore', () => {
  const four = [inc(T - 2 * DAY, 600), inc(T - 3 * DAY, 60), inc(T - 4 * DAY, 180), inc(T - 5 * DAY, 120)];

  it('has no value without resolved incidents in the window, never 0', () => {
    expect(timeToRestore([], w, 'p50')).toBeNull();
    expect(timeToRestore([inc(T - DAY, null, 30)], w, 'p50')).toBeNull(); // still open
    expect(timeToRestore([inc(T - 40 * DAY, 60)], w, 'mean')).toBeNull(); // resolved before the window
  });

  it('computes each statistic over resolved_at - created_at in seconds', () => {
    // sorted: 60, 120, 180, 600
    expect(timeToRestore(four, w, 'p50')).toBeCloseTo(150, 9); // h=1.5: 120 + .5*60
    expect(timeToRestore(four, w, 'p75')).toBeCloseTo(285, 9); // h=2.25: 180 + .25*420
    expect(timeToRestore(four, w, 'p90')).toBeCloseTo(474, 9); // h=2.7
    expect(timeToRestore(four, w, 'p95')).toBeCloseTo(537, 9); // h=2.85
    expect(timeToRestore(four, w, 'p99')).toBeCloseTo(587.4, 9); // h=2.97
    expect(timeToRestore(four, w, 'mean')).toBeCloseTo(240, 9);
  });

  it('handles ties and a single incident', () => {
    const ties = [inc(T - DAY, 100), inc(T - DAY, 100), inc(T - 2 * DAY, 100), inc(T - 3 * DAY, 400)];
    expect(timeToRestore(ties, w, 'p50')).toBe(100);
    expect(timeToRestore(ties, w, 'p75')).toBeCloseTo(175, 9); // h=2.25: 100 + .25*300
    expect(timeToRestore(ties, w, 'mean')).toBe(175);
    expect(timeToRestore([inc(T - DAY, 42)], w, 'p99')).toBe(42);
  });

  it('selects by resolve time in (at - W, at], whenever the incident was created', () => {
    const atEnd = inc(T - 100 * S, 100); // resolved exactly at `at`: in
    const atStart = inc(T - w.windowMs - 50 * S, 50); // resolved exactly at at - W: out
    const justIn = inc(T - w.windowMs - 50 * S, 51); // 1s later: in
    const longOpen = inc(T - 40 * DAY, 20 * DAY / S); // created before the window, resolved inside: in
    const resolvedAfter = inc(T - 10 * S, 20); // created inside, resolved after `at`: out
    expect(timeToRestore([atEnd, atStart, justIn, longOpen, resolvedAfter], w, 'mean')).toBeCloseTo((100 + 51 + 20 * 86_400) / 3, 9);
    expect(timeToRestore([atStart, resolvedAfter], w, 'p50')).toBeNull();
  });

  it('pools incidents of several services', () => {
    const a = [inc(T - DAY, 60, null, 'high', 'PA'), inc(T - DAY, 300, null, 'low', 'PA')];
    const b = [inc(T - DAY, 120, null, 'high', 'PB')];
    expect(timeToRestore([...a, ...b], w, 'p50')).toBe(120);
    expect(timeToRestore([...a, ...b], w, 'mean')).toBe(160);
  });
});

describe('timeToAcknowledge', () => {
  it('has no value without acknowledged incidents created in the window', () => {
    expect(timeToAcknowledge([], w, 'p50')).toBeNull();
    expect(timeToAcknowledge([inc(T - DAY, 600, null)], w, 'p50')).toBeNull(); // never acknowledged
    expect(timeToAcknowledge([inc(T - 30 * DAY, null, 60)], w, 'p50')).toBeNull(); // created before
  });

  it('leaves out incidents that were never acknowledged', () => {
    const xs = [inc(T - DAY, 900, 30), inc(T - 2 * DAY, 900, null), inc(T - 3 * DAY, null, 90), inc(T - 4 * DAY, 100, null)];
    expect(timeToAcknowledge(xs, w, 'p50')).toBe(60);
    expect(timeToAcknowledge(xs, w, 'mean')).toBe(60);
  });

  it('computes each statistic in seconds, with ties', () => {
    // 30, 30, 90, 300, 600
    const xs = [inc(T - DAY, 1000, 300), inc(T - DAY, 1000, 30), inc(T - DAY, 1000, 90), inc(T - DAY, 1000, 600), inc(T - DAY, 1000, 30)];
    expect(timeToAcknowledge(xs, w, 'p50')).toBe(90); // h=2
    expect(timeToAcknowledge(xs, w, 'p75')).toBe(300); // h=3
    expect(timeToAcknowledge(xs, w, 'p90')).toBeCloseTo(480, 9); // h=3.6: 300 + .6*300
    expect(timeToAcknowledge(xs, w, 'p95')).toBeCloseTo(540, 9); // h=3.8
    expect(timeToAcknowledge(xs, w, 'p99')).toBeCloseTo(588, 9); // h=3.96
    expect(timeToAcknowledge(xs, w, 'mean')).toBe(210);
    expect(timeToAcknowledge(xs.slice(1, 2).concat(xs.slice(4)), w, 'p50')).toBe(30); // a tie of two
  });

  it('selects by creation time in (at - W, at]; a later acknowledgement still counts', () => {
    const atEnd = inc(T, null, 120); // created exactly at `at`, acknowledged after it: in
    const atStart = inc(T - w.windowMs, 900, 10); // created exactly at at - W: out
    const justIn = inc(T - w.windowMs + S, 900, 20); // in
    const ackedInsideCreatedBefore = inc(T - w.windowMs - DAY, 2 * DAY / S, DAY / S + 60); // out
    expect(timeToAcknowledge([atEnd, atStart, justIn, ackedInsideCreatedBefore], w, 'mean')).toBe(70);
  });

  it('pools incidents of several services', () => {
    const xs = [inc(T - DAY, 600, 10, 'high', 'PA'), inc(T - DAY, 600, 40, 'high', 'PB'), inc(T - DAY, 600, 70, 'low', 'PC')];
    expect(timeToAcknowledge(xs, w, 'p50')).toBe(40);
    expect(timeToAcknowledge(xs, w, 'p75')).toBe(55);
  });
});

describe('incidentCount', () => {
  it('is 0, a real value, for an empty window', () => {
    expect(incidentCount([], w, null)).toBe(0);
    expect(incidentCount([inc(T - 40 * DAY, 60)], w, null)).toBe(0);
  });

  it('counts incidents created in (at - W, at], open or not, of every service', () => {
    const xs = [
      inc(T, null), // exactly at `at`: in
      inc(T - w.windowMs, 60), // exactly at at - W: out
      inc(T - w.windowMs + 1, 60), // in
      inc(T + 1, null), // after `at`: out
      inc(T - DAY, 60, 5, 'low', 'PB'),
    ];
    expect(incidentCount(xs, w, null)).toBe(3);
  });

  it('filters by urgency when asked', () => {
    const xs = [inc(T - DAY, 60, 5, 'high'), inc(T - DAY, 60, 5, 'low'), inc(T - 2 * DAY, null, null, 'high', 'PB')];
    expect(incidentCount(xs, w, 'high')).toBe(2);
    expect(incidentCount(xs, w, 'low')).toBe(1);
    expect(incidentCount(xs.slice(1), w, 'high')).toBe(1);
    expect(incidentCount(xs.slice(0, 1), w, 'low')).toBe(0);
  });
});
