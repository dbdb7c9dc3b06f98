// Drift detection as a pure function of the previous state, the new result and the time: which
// alerts start pending, fire, change, repeat or resolve. Like Prometheus alerting rules, a
// condition must hold for `for` before it fires and be gone for `keepFiringFor` before it
// resolves, so one noisy evaluation neither pages nor clears anything.
// https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/
import type { EvaluationResult } from '../core/result.js';
import type { Objective } from '../config/types.js';
import { checkinOverdue, overdueText } from '../checkins/overdue.js';
import { ALERT_KINDS, type AlertEvent, type AlertKind, type AlertState, type Condition, type KindState, type Severity } from './types.js';

export interface DriftOptions {
  for: Record<AlertKind, number>;
  keepFiringFor: number;
  repeat: number;
  /** A KR without a good evaluation for this long is stale. */
  staleAfter: number;
  severities: Record<Condition, Severity>;
}

export interface Drift {
  state: AlertState;
  events: AlertEvent[];
}

/** A condition, none (`ok`), or unknown (no data to judge from: keep what we had). */
type Observation = Condition | 'ok' | 'unknown';

/**
 * Judges one key result at `now`. `result` is a new evaluation, or null when only time passed
 * (the periodic sweep: staleness, repeats, and pending conditions maturing). Callers pass the
 * result's `evaluatedAt` as `now` so that re-feeding the same results after a restart gives the
 * same alert keys; a result not newer than the last one judged changes nothing.
 */
export function detectDrift(prev: AlertState | null, result: EvaluationResult | null, now: number, opts: DriftOptions): Drift {
  if (!prev && !result) throw new Error('detectDrift needs a previous state or a result');
  if (prev && result && result.evaluatedAt <= (prev.last?.evaluatedAt ?? -Infinity)) return { state: prev, events: [] };
  const at = Math.max(now, prev?.observedAt ?? -Infinity);
  const last = result ?? prev!.last;
  const good = last !== null && last.status !== 'no_data';
  const base: AlertState = prev ?? {
    objectiveId: result!.objectiveId,
    keyResultId: result!.keyResultId,
    last: null,
    lastGoodAt: null,
    firstSeenAt: at,
    observedAt: at,
    kinds: { status: empty(), stale: empty(), forecast_miss: empty() },
  };
  const lastGoodAt = result && good ? result.evaluatedAt : base.lastGoodAt;
  const state: AlertState = { ...base, last, lastGoodAt, observedAt: at, kinds: { ...base.kinds } };

  // Stale: no good evaluation for `staleAfter`; it began at the instant that passed, which keeps
  // its alert key the same whoever notices (an evaluation or the sweep).
  const staleSince = (lastGoodAt ?? state.firstSeenAt) + opts.staleAfter;
  const stale = at > staleSince;
  const observed: Record<AlertKind, { obs: Observation; since: number }> = {
    stale: { obs: stale ? 'stale' : 'ok', since: stale ? staleSince : at },
    status: { obs: stale || !last ? 'unknown' : statusCondition(last), since: at },
    forecast_miss: { obs: stale || !last ? 'unknown' : forecastCondition(last), since: at },
  };

  const events: AlertEvent[] = [];
  for (const kind of ALERT_KINDS) {
    const { obs, since } = observed[kind];
    const step = advance(state.kinds[kind], obs, since, at, kind, opts, state);
    state.kinds[kind] = step.state;
    if (step.event) events.push(step.event);
  }
  return { state, events };
}

function empty(): KindState {
  return { pending: null, open: null };
}

function statusCondition(r: EvaluationResult): Observation {
  if (r.status === 'no_data') return 'unknown';
  return r.status === 'at_risk' || r.status === 'off_track' ? r.status : 'ok';
}

/** The least-squares forecast read at the period end falls short of the target (METRICS.md). */
function forecastCondition(r: EvaluationResult): Observation {
  if (r.status === 'no_data' || r.forecast === null || r.target === null || r.kind === null) return 'unknown';
  if (r.status === 'achieved') return 'ok';
  const up = r.kind === 'increase' || r.kind === 'maintain_above';
  const misses = up ? r.forecast < r.target : r.forecast > r.target;
  return misses ? 'forecast_miss' : 'ok';
}

function advance(
  ks: KindState,
  obs: Observation,
  obsSince: number,
  at: number,
  kind: AlertKind,
  opts: DriftOptions,
  ids: { objectiveId: string; keyResultId: string },
): { state: KindState; event: AlertEvent | null } {
  if (obs === 'unknown') return { state: ks, event: null };
  const { open, pending } = ks;
  const event = (e: Omit<AlertEvent, 'objectiveId' | 'keyResultId' | 'kind' | 'idempotencyKey' | 'at'>): AlertEvent => ({
    objectiveId: ids.objectiveId,
    keyResultId: ids.keyResultId,
    kind,
    idempotencyKey: `${e.alertKey}/${e.seq}`,
    at,
    ...e,
  });

  if (!open) {
    if (obs === 'ok') return { state: { open: null, pending: null }, event: null };
    // A pending status keeps its start when it moves between at_risk and off_track: the KR has
    // been off its trajectory since then.
    const since = pending && pending.condition !== 'ok' ? pending.since : obsSince;
    if (at - since < opts.for[kind]) return { state: { open: null, pending: { condition: obs, since } }, event: null };
    const key = `${ids.objectiveId}/${ids.keyResultId}/${kind}/${since}`;
    const severity = opts.severities[obs];
    return {
      state: { pending: null, open: { key, condition: obs, severity, since, notifiedAt: at, seq: 1, channels: [] } },
      event: event({ condition: obs, reason: 'firing', action: 'trigger', severity, alertKey: key, seq: 1, since, notified: [] }),
    };
  }

  if (obs === open.condition) {
    if (at - open.notifiedAt < opts.repeat) return { state: { open, pending: null }, event: null };
    const seq = open.seq + 1;
    return {
      state: { pending: null, open: { ...open, seq, notifiedAt: at } },
      event: event({ condition: obs, reason: 'repeat', action: 'trigger', severity: open.severity, alertKey: open.key, seq, since: open.since, notified: open.channels }),
    };
  }

  // Something else than what the open alert says: it must last before anything is sent.
  const since = pending && pending.condition === obs ? pending.since : at;
  const needed = obs === 'ok' ? opts.keepFiringFor : opts.for[kind];
  if (at - since < needed) return { state: { open, pending: { condition: obs, since } }, event: null };
  const seq = open.seq + 1;
  if (obs === 'ok') {
    return {
      state: { open: null, pending: null },
      event: event({ condition: open.condition, reason: 'resolved', action: 'resolve', severity: open.severity, alertKey: open.key, seq, since: open.since, notified: open.channels }),
    };
  }
  const severity = opts.severities[obs];
  return {
    state: { pending: null, open: { ...open, condition: obs, severity, seq, notifiedAt: at } },
    event: event({ condition: obs, reason: 'changed', action: 'trigger', severity, alertKey: open.key, seq, since: open.since, notified: open.channels }),
  };
}

/**
 * A reason an alert gives besides the KR's own condition: nobody has checked in on the objective
 * for longer than `checkins.every` (CONFIG.md "Check-ins"). Null when a check-in is not due.
 */
export function checkinDriftReason(objective: Objective, lastCheckinAt: number | null, at: number): string | null {
  const overdue = checkinOverdue(objective, lastCheckinAt, at);
  return overdue ? overdueText(overdue, objective.checkinEveryMs) : null;
}
