// The normalized configuration: the one canonical shape the rest of kr-tracker reads.
// The written shape (what users type in YAML, see ../shared/CONFIG.md) lives in schema.ts and is
// turned into this by normalize.ts; nothing outside src/config ever sees the written shape.
import type { Secret } from './secret.js';

export const METRIC_NAMES = [
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
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export const STATS = ['p50', 'p75', 'p90', 'p95', 'p99', 'mean'] as const;
export type Stat = (typeof STATS)[number];

/** Where the time from first commit to production goes (METRICS.md `pr_cycle_time`). */
export const PR_STAGES = ['coding', 'review', 'deploy', 'total'] as const;
export type PrStage = (typeof PR_STAGES)[number];

export const KINDS = ['increase', 'decrease', 'maintain_above', 'maintain_below'] as const;
export type Kind = (typeof KINDS)[number];

/** `target: 1` is absolute; `target: -30%` is relative to the baseline (ratio -0.3). */
export type TargetSpec = { type: 'absolute'; value: number } | { type: 'relative'; ratio: number };

export type DeploymentSource =
  | { source: 'deployments'; environment: string }
  | { source: 'workflow'; workflow: string; branch: string };

export interface Bands {
  /** gap = expected - progress above which a KR is at risk (default 0.10). */
  atRisk: number;
  /** gap above which a KR is off track (default 0.25). */
  offTrack: number;
}

export interface KeyResult {
  id: string;
  objectiveId: string;
  title: string;
  metric: MetricName;
  /** `per_day`, `seconds`, `ratio`, `count` or the user's unit for promql. */
  unit: string;
  repos: string[];
  services: string[];
  deployments: DeploymentSource;
  workflow: string | null;
  branch: string;
  /** Evaluation window in milliseconds. */
  windowMs: number;
  stat: Stat;
  attributionMs: number;
  urgency: 'high' | 'low' | null;
  /** pr_cycle_time's stage (`total` when not given); absent for the other metrics. */
  stage?: PrStage;
  artifact: string;
  query: string | null;
  aggregate: 'sum' | 'avg' | 'min' | 'max' | null;
  /** null: measured at the period start. */
  baseline: number | null;
  target: TargetSpec;
  /** null: inferred from baseline and target (increase when target > baseline). */
  kind: Kind | null;
  bands: Bands;
  weight: number;
  /** Channels notified on drift; the objective's list unless the KR overrides it. */
  notify: string[];
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
  period: Period;
  notify: string[];
  keyResults: KeyResult[];
}

export interface GithubSource {
  token: Secret | null;
  /** GitHub App installation credentials instead of a token (never both). */
  app?: GithubAppSource | null;
  baseUrl: string;
}

export interface GithubAppSource {
  appId: string;
  installationId: string;
  privateKey: Secret;
}

export interface PagerDutySource {
  token: Secret | null;
  baseUrl: string;
}

export interface PrometheusSource {
  url: string;
  bearerToken: Secret | null;
  basicAuth: { username: string; password: Secret } | null;
  headers: Record<string, Secret>;
}

export type Channel =
  | { type: 'slack'; webhookUrl: Secret }
  | { type: 'email'; to: string[] }
  | { type: 'pagerduty'; routingKey: Secret }
  | { type: 'webhook'; url: string; secret: Secret | null };

// The alert settings of the OKR file. These are the types of src/alerts/types.ts (AlertSettings,
// SmtpSettings, Severity, Weekday, ...) spelt out, because this file cannot import that one, not
// even with `import type`: alerts/types.ts -> engine/result.ts -> config/types.ts is a cycle for
// madge (`npm run lint`). normalize.ts checks at compile time that both say the same.

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
export function sourceOf(kr: KeyResult): 'github' | 'pagerduty' | 'prometheus' {
  return sourceOfMetric(kr.metric);
}

/** Which source a metric reads, from its name alone (for checking a config before it is built). */
export function sourceOfMetric(metric: MetricName): 'github' | 'pagerduty' | 'prometheus' {
  switch (metric) {
    case 'time_to_restore':
    case 'time_to_acknowledge':
    case 'incident_count':
      return 'pagerduty';
    case 'promql':
      return 'prometheus';
    default:
      return 'github';
  }
}
