// The alerting model: what drift detection keeps per key result, the events it emits, the
// channel-neutral message every channel renders, and the settings the OKR file does not have yet
// (normalized shape with defaults; the loader fills them from `alerts:` once it knows them).
import type { Secret } from '../core/secret.js';
import type { EvaluationResult } from '../core/result.js';

export const ALERT_KINDS = ['status', 'stale', 'forecast_miss'] as const;
/** What an alert is about: the KR's status band, its data going stale, its forecast missing the target. */
export type AlertKind = (typeof ALERT_KINDS)[number];

/** The condition an open alert reports; `status` alerts move between at_risk and off_track. */
export const CONDITIONS = ['at_risk', 'off_track', 'stale', 'forecast_miss'] as const;
export type Condition = (typeof CONDITIONS)[number];

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  auth: { user: string; password: Secret } | null;
  /** The From: address, e.g. `kr-tracker <okr@example.com>`. */
  from: string;
}

export interface DigestSettings {
  enabled: boolean;
  day: Weekday;
  /** Local wall-clock time `HH:MM` (24 h) in `timezone`. */
  time: string;
  /** IANA zone; null: the OKR file's `timezone`. */
  timezone: string | null;
  /** Channels every objective's digest goes to; null: the objective's own `notify` list. */
  channels: string[] | null;
}

/**
 * Alert settings that the written OKR file does not carry yet (the lead adds them to the loader as
 * `alerts.rules`, `alerts.routing`, `alerts.digest`); durations in ms.
 */
export interface AlertSettings {
  /** How long a condition must hold before the alert fires (one noisy evaluation pages nobody). */
  for: Record<AlertKind, number>;
  /** How long a firing alert's condition must be gone before it resolves. */
  keepFiringFor: number;
  /** Repeat an alert that stays open this often. */
  repeat: number;
  /** A KR without a good evaluation for this long is stale; null: three `schedule.evaluate` intervals (METRICS.md). */
  staleAfter: number | null;
  /** Severity of each condition. */
  severities: Record<Condition, Severity>;
  /** Lowest severity a channel receives, by channel name; unlisted channels use `defaultMinSeverity` for their type. */
  minSeverity: Record<string, Severity>;
  digest: DigestSettings;
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  for: { status: 15 * 60_000, stale: 0, forecast_miss: 60 * 60_000 },
  keepFiringFor: 15 * 60_000,
  repeat: 24 * 3_600_000,
  staleAfter: null,
  severities: { at_risk: 'warning', off_track: 'critical', stale: 'warning', forecast_miss: 'warning' },
  minSeverity: {},
  digest: { enabled: true, day: 'monday', time: '09:00', timezone: null, channels: null },
};

/** Pages wake people: PagerDuty channels take only critical alerts unless told otherwise. */
export const DEFAULT_MIN_SEVERITY: Record<'slack' | 'email' | 'pagerduty' | 'webhook', Severity> = {
  slack: 'info',
  email: 'info',
  pagerduty: 'critical',
  webhook: 'info',
};

export const DEFAULT_PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** An alert that fired and has not resolved. */
export interface OpenAlert {
  /** `objective/kr/kind/since`: the same for every message about this alert (PagerDuty dedup_key). */
  key: string;
  condition: Condition;
  severity: Severity;
  /** When the condition began (the first evaluation that showed it). */
  since: number;
  /** When it was last told to anyone (for the repeat interval). */
  notifiedAt: number;
  /** Messages sent about it so far; the next message's idempotency key is `key/seq+1`. */
  seq: number;
  /** Channels that were told, so that the resolve reaches exactly them. */
  channels: string[];
}

/** A condition seen but not yet acted on: to fire (a condition), or to resolve (`ok`). */
export interface Pending {
  condition: Condition | 'ok';
  since: number;
}

export interface KindState {
  pending: Pending | null;
  open: OpenAlert | null;
}

/** Everything drift detection remembers about one key result (one Redis hash field). */
export interface AlertState {
  objectiveId: string;
  keyResultId: string;
  /** The last result seen: the sweep judges from it when evaluations stop coming. */
  last: EvaluationResult | null;
  /** `evaluatedAt` of the last result with data; null: none yet. */
  lastGoodAt: number | null;
  firstSeenAt: number;
  /** Latest instant judged; older results are ignored (re-fed or out of order). */
  observedAt: number;
  kinds: Record<AlertKind, KindState>;
}

export interface AlertEvent {
  objectiveId: string;
  keyResultId: string;
  kind: AlertKind;
  /** For a resolve: the condition that cleared. */
  condition: Condition;
  reason: 'firing' | 'changed' | 'repeat' | 'resolved';
  action: 'trigger' | 'resolve';
  severity: Severity;
  alertKey: string;
  seq: number;
  /** `alertKey/seq`: unique per message, stable across restarts. */
  idempotencyKey: string;
  since: number;
  at: number;
  /** Channels told about this alert before this event. */
  notified: string[];
}

export interface MessageField {
  label: string;
  value: string;
}

export interface MessageSection {
  title: string;
  fields: MessageField[];
}

/** A channel-neutral message; each channel renders it in its own format. */
export interface Message {
  type: 'alert' | 'digest' | 'test';
  idempotencyKey: string;
  /** The same for every message about one alert (PagerDuty dedup_key). */
  alertKey: string;
  action: 'trigger' | 'resolve' | 'notify';
  severity: Severity;
  title: string;
  /** One or two sentences under the title. */
  summary: string;
  sections: MessageSection[];
  link: { url: string; text: string } | null;
  /** Epoch ms. */
  at: number;
  /** Machine-readable facts (webhook body, PagerDuty custom_details). */
  details: Record<string, unknown>;
}

/** What a receiver answered: an HTTP status (or SMTP reply code) and its body. */
export interface Reply {
  status: number | string;
  body: string;
}
