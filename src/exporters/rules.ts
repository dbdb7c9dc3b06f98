// `krt rules`: Prometheus alerting rules generated from the OKR file, over the series of
// metrics.ts. Pure and byte-stable (no clock, no randomness), so the generated file is committed
// and compared byte for byte. Stages, as in Sloth: options -> normalized options -> rule model
// (one group per objective, one for kr-tracker's sources) -> YAML text.
// Rule file format: https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/
// Annotation templates: https://prometheus.io/docs/prometheus/latest/configuration/template_reference/
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { dashboardUid } from '../../dashboards/uid.js';
import type { Config, Objective } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import { UNITS } from '../metrics/catalogue/units.js';

export interface AlertRuleOptions {
  /** How long a key result stays at_risk before OKRKeyResultAtRisk fires (default 1h). */
  atRiskFor?: string;
  /** How long a key result stays off_track before OKRKeyResultOffTrack fires (default 30m). */
  offTrackFor?: string;
  /** How long a key result has no value before OKRKeyResultNoData fires (default 1h). */
  noDataFor?: string;
  /** How long evaluations or syncs stay overdue before OKRKeyResultStale / KrtSourceStale fire (default 15m). */
  staleFor?: string;
  /** How long a source's syncs fail before KrtSourceSyncFailing fires (default 30m). */
  sourceDownFor?: string;
  /** KrtSourceRateLimitLow fires when fewer requests than this are left (default 100)... */
  rateLimitBelow?: number;
  /** ...for this long (default 10m). */
  rateLimitFor?: string;
  /** Base URL of Grafana, for the `dashboard` annotation (default http://localhost:3000). */
  grafanaUrl?: string;
}

/** The options with every default filled in and every duration checked. */
interface Settings {
  atRiskFor: string;
  offTrackFor: string;
  noDataFor: string;
  staleFor: string;
  sourceDownFor: string;
  rateLimitBelow: number;
  rateLimitFor: string;
  grafanaUrl: string;
  /** Evaluations older than this (3 evaluation intervals) are overdue, as in effectiveStatus(). */
  evaluationOverdueSeconds: number;
  /** Syncs older than this (3 sync intervals) are overdue. */
  syncOverdueSeconds: number;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export const DEFAULT_ALERT_RULE_OPTIONS = {
  atRiskFor: '1h',
  offTrackFor: '30m',
  noDataFor: '1h',
  staleFor: '15m',
  sourceDownFor: '30m',
  rateLimitBelow: 100,
  rateLimitFor: '10m',
  grafanaUrl: 'http://localhost:3000',
} as const satisfies Required<AlertRuleOptions>;

/** The regenerating command named in the header and in test failures. */
export function rulesCommand(configFile: string, out = 'FILE'): string {
  return `krt rules --config ${configFile} --out ${out}`;
}

// ---- Stage 1: options -> settings ----

// Prometheus' own duration syntax (model.ParseDuration in prometheus/common): units from largest
// to smallest, each at most once, e.g. 1h30m.
const PROM_DURATION = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;

function settings(config: Config, opts: AlertRuleOptions): Settings {
  const problems: string[] = [];
  const duration = (name: keyof AlertRuleOptions, value: string | undefined, fallback: string): string => {
    const v = value ?? fallback;
    if (v === '' || !PROM_DURATION.test(v)) {
      problems.push(`${name} is ${JSON.stringify(v)}, not a Prometheus duration; write e.g. 10m, 1h or 1h30m`);
    }
    return v;
  };
  const d = DEFAULT_ALERT_RULE_OPTIONS;
  const s: Settings = {
    atRiskFor: duration('atRiskFor', opts.atRiskFor, d.atRiskFor),
    offTrackFor: duration('offTrackFor', opts.offTrackFor, d.offTrackFor),
    noDataFor: duration('noDataFor', opts.noDataFor, d.noDataFor),
    staleFor: duration('staleFor', opts.staleFor, d.staleFor),
    sourceDownFor: duration('sourceDownFor', opts.sourceDownFor, d.sourceDownFor),
    rateLimitBelow: opts.rateLimitBelow ?? d.rateLimitBelow,
    rateLimitFor: duration('rateLimitFor', opts.rateLimitFor, d.rateLimitFor),
    grafanaUrl: (opts.grafanaUrl ?? d.grafanaUrl).replace(/\/+$/, ''),
    evaluationOverdueSeconds: (3 * config.schedule.evaluateMs) / 1000,
    syncOverdueSeconds: (3 * config.schedule.syncMs) / 1000,
  };
  if (!Number.isFinite(s.rateLimitBelow) || s.rateLimitBelow <= 0) {
    problems.push(`rateLimitBelow is ${s.rateLimitBelow}; give a number of requests above zero, e.g. 100`);
  }
  if (!/^https?:\/\/[^\s]+$/.test(s.grafanaUrl)) {
    problems.push(`grafanaUrl is ${JSON.stringify(opts.grafanaUrl)}; give Grafana's base URL, e.g. http://localhost:3000`);
  }
  if (problems.length > 0) throw new ConfigError(`alert rules: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems);
  return s;
}

// ---- Stage 2: PromQL and annotation templates ----

// Ids are `a-z0-9_-` (config checks); JSON quoting is also valid PromQL quoting for anything else.
const q = (value: string): string => JSON.stringify(value);

const KR_BY = 'objective, key_result';
const INFO_LABELS = 'owner, title, unit';

/**
 * One series per key result: every krt process serving /metrics reads the same store, so with
 * several of them scraped the max keeps one alert per key result (and drops job/instance).
 */
const perKr = (expr: string): string => `max by (${KR_BY}) (${expr})`;

/** Adds owner, title and unit from okr_key_result_info, keeping the left side's value. */
const withInfo = (objective: Objective): string =>
  `* on (${KR_BY}) group_left (${INFO_LABELS})\n  group by (${KR_BY}, ${INFO_LABELS}) (okr_key_result_info{objective=${q(objective.id)}})`;

const statusIs = (objective: Objective, status: string): string =>
  `(${perKr(`okr_key_result_status{objective=${q(objective.id)},status=${q(status)}}`)} == 1)`;

const evaluationAge = (objective: Objective): string =>
  `time() - ${perKr(`okr_key_result_last_evaluation_timestamp_seconds{objective=${q(objective.id)}}`)}`;

/** The key result's value in its unit (the catalogue's units): durations for seconds, percentages for ratios. */
const FORMAT_BY_UNIT =
  Object.entries(UNITS)
    .flatMap(([name, u]) => (u.alertTemplate ? [`eq $labels.unit "${name}" }}{{ ${u.alertTemplate} $v }}`] : []))
    .map((branch, i) => `{{ ${i === 0 ? 'if' : 'else if'} ${branch}`)
    .join('') + '{{ else }}{{ printf "%.4g" $v }} {{ $labels.unit }}{{ end }}';

/**
 * The alert's own value is the status series (1), so the numbers people want are looked up with
 * the `query` template function, at the rule's evaluation time.
 */
function krLookup(metric: string, format: 'unit' | 'percent'): string {
  const show = format === 'unit' ? FORMAT_BY_UNIT : '{{ humanizePercentage $v }}';
  return (
    `{{ with printf \`${metric}{objective="%s",key_result="%s"}\` $labels.objective $labels.key_result | query }}` +
    `{{ $v := . | first | value }}${show}{{ else }}none{{ end }}`
  );
}

const VALUE = krLookup('okr_key_result_value', 'unit');
const TARGET = krLookup('okr_key_result_target', 'unit');
const PROGRESS = krLookup('okr_key_result_progress_ratio', 'percent');
const EXPECTED = krLookup('okr_key_result_expected_progress_ratio', 'percent');

const KR_NAME = 'Key result {{ $labels.key_result }} of objective {{ $labels.objective }} (owner {{ $labels.owner }})';
const SOURCE_NAME = '{{ $labels.source }} stream {{ $labels.stream }} ({{ $labels.key }})';

// ---- Stage 3: the rule model ----

function objectiveGroup(objective: Objective, s: Settings): RuleGroup {
  // Per objective, so that the dashboard link is a constant: its uid may be a hash of the id.
  const dashboard = `${s.grafanaUrl}/d/${dashboardUid(objective.id)}`;
  const overdue = `(${evaluationAge(objective)}) > ${s.evaluationOverdueSeconds}`;
  // The objective as a rule label too (the same value as the series'): it tells the groups' rules
  // apart, which promtool's lint requires of rules with one name.
  const labels = (severity: 'warning' | 'critical') => ({ severity, objective: objective.id });
  return {
    name: `okr-${objective.id}`,
    rules: [
      {
        alert: 'OKRKeyResultAtRisk',
        expr: `${statusIs(objective, 'at_risk')}\n${withInfo(objective)}`,
        for: s.atRiskFor,
        labels: labels('warning'),
        annotations: {
          summary: `{{ $labels.title }}: at risk, ${VALUE} now against a target of ${TARGET}`,
          description:
            `${KR_NAME} has been at risk for ${s.atRiskFor}: progress is ${PROGRESS} where ${EXPECTED} is expected by now ` +
            'on the straight line from baseline to target.',
          dashboard,
          runbook:
            'Look at the trajectory and forecast on the dashboard; the owner decides on a recovery plan, ' +
            'or re-scopes the key result at the next check-in.',
        },
      },
      {
        alert: 'OKRKeyResultOffTrack',
        expr: `${statusIs(objective, 'off_track')}\n${withInfo(objective)}`,
        for: s.offTrackFor,
        labels: labels('critical'),
        annotations: {
          summary: `{{ $labels.title }}: off track, ${VALUE} now against a target of ${TARGET}`,
          description:
            `${KR_NAME} has been off track for ${s.offTrackFor}: progress is ${PROGRESS} where ${EXPECTED} is expected by now; ` +
            'at this pace it misses its target.',
          dashboard,
          runbook:
            'Escalate to the owner: agree on what changes to get back on the trajectory, or change the target ' +
            'in the OKR file and say why.',
        },
      },
      {
        alert: 'OKRKeyResultNoData',
        // Overdue evaluations also read no_data (effectiveStatus in metrics.ts); OKRKeyResultStale
        // reports those, so that one cause raises one alert.
        expr: `${statusIs(objective, 'no_data')}\n${withInfo(objective)}\nunless on (${KR_BY})\n  (${overdue})`,
        for: s.noDataFor,
        labels: labels('warning'),
        annotations: {
          summary: '{{ $labels.title }}: no data',
          description: `${KR_NAME} has had no value for ${s.noDataFor}, so its progress is unknown.`,
          dashboard,
          runbook:
            '`krt status` shows why for each key result: a source error, a baseline still to be measured, ' +
            'or a query that returns nothing. Fix the source or the OKR file.',
        },
      },
      {
        alert: 'OKRKeyResultStale',
        expr: `(${overdue})\n${withInfo(objective)}`,
        for: s.staleFor,
        labels: labels('warning'),
        annotations: {
          summary: '{{ $labels.title }}: not evaluated for {{ $value | humanizeDuration }}',
          description:
            `${KR_NAME} was last evaluated {{ $value | humanizeDuration }} ago; kr-tracker evaluates every ` +
            `${s.evaluationOverdueSeconds / 3}s, so its status on the dashboard is out of date.`,
          dashboard,
          runbook: 'Check that the kr-tracker service (`krt serve`, `krt worker`) and its Redis are running, and their logs.',
        },
      },
    ],
  };
}

const SRC_BY = 'source, stream, key';
const syncFailing = `max by (${SRC_BY}) (krt_source_sync_up) == 0`;

function sourceGroup(s: Settings): RuleGroup {
  const lastSuccess =
    `{{ with printf \`time() - max(krt_source_last_sync_success_timestamp_seconds{source="%s",stream="%s",key="%s"})\` ` +
    '$labels.source $labels.stream $labels.key | query }}{{ . | first | value | humanizeDuration }} ago{{ else }}never{{ end }}';
  return {
    name: 'krt-sources',
    rules: [
      {
        alert: 'KrtSourceSyncFailing',
        expr: syncFailing,
        for: s.sourceDownFor,
        labels: { severity: 'warning' },
        annotations: {
          summary: `kr-tracker cannot sync ${SOURCE_NAME}`,
          description:
            `Every sync of ${SOURCE_NAME} has failed for ${s.sourceDownFor}; the last success was ${lastSuccess}. ` +
            'The key results measured from it go stale and then show no data.',
          runbook:
            'The worker logs (`krt worker`, `krt serve`) and `krt status` give the error: a token that expired or lacks a ' +
            'permission, a wrong URL, or the source being down.',
        },
      },
      {
        alert: 'KrtSourceStale',
        // Failing syncs are KrtSourceSyncFailing; this one catches syncs that are not attempted at all.
        expr: `time() - max by (${SRC_BY}) (krt_source_last_sync_success_timestamp_seconds) > ${s.syncOverdueSeconds}\nunless on (${SRC_BY})\n  ${syncFailing}`,
        for: s.staleFor,
        labels: { severity: 'warning' },
        annotations: {
          summary: `${SOURCE_NAME} has not synced for {{ $value | humanizeDuration }}`,
          description:
            `kr-tracker syncs every ${s.syncOverdueSeconds / 3}s, but ${SOURCE_NAME} last synced successfully ` +
            '{{ $value | humanizeDuration }} ago and no sync is failing: none is being run.',
          runbook: 'Check that the kr-tracker workers (`krt serve`, `krt worker`) and Redis are running, and their logs.',
        },
      },
      {
        alert: 'KrtSourceRateLimitLow',
        expr: `min by (${SRC_BY}) (krt_source_rate_limit_remaining) < ${s.rateLimitBelow}`,
        for: s.rateLimitFor,
        labels: { severity: 'warning' },
        annotations: {
          summary: `${SOURCE_NAME}: {{ $value }} requests left in the rate limit`,
          description:
            `Fewer than ${s.rateLimitBelow} requests have been left in the rate-limit window of ${SOURCE_NAME} for ${s.rateLimitFor}; ` +
            'syncs back off until it resets, so data arrives late.',
          runbook:
            'Another client may share the token: give kr-tracker its own token (a GitHub App has a higher limit), ' +
            'or sync less often (schedule.sync in the OKR file).',
        },
      },
    ],
  };
}

function groups(config: Config, s: Settings): RuleGroup[] {
  return [...config.objectives.map((o) => objectiveGroup(o, s)), sourceGroup(s)];
}

/** The rule model, for tests and tools that want it without YAML. */
export function alertRuleGroups(config: Config, opts: AlertRuleOptions = {}): RuleGroup[] {
  return groups(config, settings(config, opts));
}

// ---- Stage 4: YAML ----

function header(config: Config, d: Settings): string {
  return [
    `# Prometheus alerting rules for the OKRs of ${config.file}, generated by kr-tracker:`,
    `#   ${rulesCommand(config.file)}`,
    '# Do not edit: change the OKR file (or the options) and run the command again.',
    `# Options: atRiskFor=${d.atRiskFor} offTrackFor=${d.offTrackFor} noDataFor=${d.noDataFor} staleFor=${d.staleFor} ` +
      `sourceDownFor=${d.sourceDownFor} rateLimitBelow=${d.rateLimitBelow} rateLimitFor=${d.rateLimitFor} grafanaUrl=${d.grafanaUrl}`,
  ]
    .map((line) => `${line}\n`)
    .join('');
}

/** The rule file as YAML text; the same config and options always give the same bytes. */
export function generateAlertRules(config: Config, opts: AlertRuleOptions = {}): string {
  const s = settings(config, opts);
  // lineWidth 0: no folding, so a changed annotation changes one line of the committed file.
  return header(config, s) + stringify({ groups: groups(config, s) }, { lineWidth: 0 });
}

/** Writes the rule file (creating its folder) for `krt rules --out FILE`. */
export async function writeAlertRules(config: Config, file: string, opts: AlertRuleOptions = {}): Promise<void> {
  const text = generateAlertRules(config, opts);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}
