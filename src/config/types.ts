// The normalized configuration: the one canonical shape the rest of kr-tracker reads.
// The written shape (what users type in YAML, see ../shared/CONFIG.md) lives in schema.ts and is
// turned into this by normalize.ts; nothing outside src/config ever sees the written shape.
import type { Kind } from '../core/result.js';
import type { Secret } from '../core/secret.js';
import type { GithubSource, PagerDutySource, PrometheusSource } from '../core/sources.js';
import { metricOf, type MetricName } from '../metrics/catalogue/index.js';
import type { MetricKnobs, MetricSource } from '../metrics/catalogue/types.js';

/** `target: 1` is absolute; `target: -30%` is relative to the baseline (ratio -0.3). */
export type TargetSpec = { type: 'absolute'; value: number } | { type: 'relative'; ratio: number };

export interface Bands {
  /** gap = expected - progress above which a KR is at risk (default 0.10). */
  atRisk: number;
  /** gap above which a KR is off track (default 0.25). */
  offTrack: number;
}

/**
 * A key result: its metric's knobs (MetricKnobs, the settings the metric catalogue reads: repos,
 * services, deployments, workflow, branch, window, stat, attribution, urgency, artifact, query,
 * aggregate, the metric's own options) and what makes it a key result.
 */
export interface KeyResult extends MetricKnobs {
  id: string;
  objectiveId: string;
  title: string;
  metric: MetricName;
  /** `per_day`, `seconds`, `ratio`, `count` or the user's unit for promql. */
  unit: string;
  /** null: measured at the period start. */
  baseline: number | null;
  target: TargetSpec;
  /** null: inferred from baseline and target (increase when target > baseline). */
  kind: Kind | null;
  bands: Bands;
  weight: number;
  /** Channels notified on drift; the objective's list unless the KR overrides it. */
  notify: string[];
  /** The file's `x-revision`: why the definition last changed (kept with the revision). */
  revisionNote: string | null;
  /** Per-repository (per-service) values kept at most (`breakdowns: { max }`); unset: the default, 10. */
  breakdownMax?: number;
}

export interface Period {
  /** Inclusive start instant (start of the start day in the config's time zone), epoch ms. */
  start: number;
  /** Exclusive end instant (end of the end day in the config's time zone), epoch ms. */
  end: number;
}

export interface Objective {
  id: string;
  title: string;
  owner: string;
  team: string | null;
  parent: string | null;
  /** How much the objective counts in its parent's rolled-up progress; absent means 1. */
  weight?: number;
  period: Period;
  notify: string[];
  /** A check-in is due this often (`checkins.every` of the objective, else of the file; default 7 days). */
  checkinEveryMs: number;
  keyResults: KeyResult[];
}

export type Channel =
  | { type: 'slack'; webhookUrl: Secret }
  | { type: 'email'; to: string[] }
  | { type: 'pagerduty'; routingKey: Secret }
  | { type: 'webhook'; url: string; secret: Secret | null };

// The alert settings of the OKR file. These are the types of src/alerts/types.ts (AlertSettings,
// SmtpSettings, Severity, Weekday, ...) spelt out, because this file could not import that one:
// alerts/types.ts -> engine/result.ts -> config/types.ts was a cycle for madge (`npm run lint`).
// The evaluation result now lives in src/core/result.ts, which imports nothing of src/config, so
// the two could be merged. normalize.ts checks at compile time that both say the same.

export type AlertSeverity = 'info' | 'warning' | 'critical';
export type AlertWeekday = 'sunday' | 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday';

/** Durations in ms. Same as AlertSettings in src/alerts/types.ts. */
export interface AlertSettingsConfig {
  for: Record<'status' | 'stale' | 'forecast_miss', number>;
  keepFiringFor: number;
  repeat: number;
  /** null: three `schedule.evaluate` intervals. */
  staleAfter: number | null;
  severities: Record<'at_risk' | 'off_track' | 'stale' | 'forecast_miss', AlertSeverity>;
  /** Only the channels that set `minSeverity`; the others use DEFAULT_MIN_SEVERITY for their type. */
  minSeverity: Record<string, AlertSeverity>;
  digest: {
    enabled: boolean;
    day: AlertWeekday;
    /** `HH:MM`, 24 h. */
    time: string;
    /** null: the top-level `timezone`. */
    timezone: string | null;
    /** null: each objective's `notify` list. */
    channels: string[] | null;
  };
}

/** Same as SmtpSettings in src/alerts/types.ts. */
export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  /** null when no user is given. */
  auth: { user: string; password: Secret } | null;
  from: string;
}

export interface AlertsConfig {
  channels: Record<string, Channel>;
  settings: AlertSettingsConfig;
  /** null: no `alerts.smtp` (then there is no e-mail channel either). */
  smtp: SmtpConfig | null;
  pagerDutyEventsUrl: string;
}

/** Who may read /api/* (and /metrics when `metrics`); /healthz and /readyz stay open. */
export type ServerAuth =
  | { type: 'bearer'; token: Secret; metrics: boolean }
  | { type: 'basic'; user: string; password: Secret; metrics: boolean };

export interface ServerConfig {
  /** Default 127.0.0.1 (loopback); the container image passes --host 0.0.0.0. */
  host: string;
  port: number;
  auth: ServerAuth | null;
}

export interface Config {
  version: 1;
  /** The file it was read from (for messages). */
  file: string;
  timezone: string;
  sources: {
    github: GithubSource | null;
    pagerduty: PagerDutySource | null;
    prometheus: PrometheusSource | null;
  };
  schedule: { syncMs: number; evaluateMs: number };
  /** `krt serve`'s HTTP endpoint (`server:`); the command line's --host/--port win. */
  server?: ServerConfig;
  alerts: AlertsConfig;
  objectives: Objective[];
}

/** Which source a metric reads. */
export function sourceOf(kr: KeyResult): MetricSource {
  return metricOf(kr.metric).source;
}
