// What a metric is, in one value: the descriptor each file of this directory exports. Everything
// kr-tracker does with a metric (validate a key result, plan its syncs, read its events, compute
// its value, word lint findings, alerts and dashboards) asks the descriptor; docs/adding-a-metric.md
// explains how to add one.
import type { Deployment, EventKind, EventKinds } from '../../core/events.js';
import type { StreamKey } from '../../core/stream.js';
import type { Stat } from '../quantile.js';
import type { UnitName } from './units.js';

/** Which way a value gets better. */
export type Direction = 'increase' | 'decrease';

/** Where a metric's data comes from; its key results need that source configured. */
export type MetricSource = 'github' | 'pagerduty' | 'prometheus';

export type DeploymentSource =
  | {
      source: 'deployments';
      /** The first (usually the only) environment written, as written. */
      environment: string;
      /**
       * Every environment written: names or glob patterns (`production-payments*`), as
       * `deployments.environment` (or `environment`) lists them; matched by
       * matchEnvironments() in src/config/glob.ts. Absent in configs built by hand: [environment].
       */
      environments?: string[];
    }
  | { source: 'workflow'; workflow: string; branch: string };

/**
 * The settings of a key result a metric reads (normalized from the OKR file by src/config; every
 * key result has them all, with their defaults). `options` holds the metric's own knobs
 * (MetricDescriptor.options), present only for a metric that declares some.
 */
export interface MetricKnobs {
  repos: string[];
  services: string[];
  /**
   * Monorepos (lead_time_for_changes): only commits touching one of these path prefixes are
   * changes; empty or absent: every commit.
   */
  paths?: string[];
  deployments: DeploymentSource;
  workflow: string | null;
  branch: string;
  /** Evaluation window in milliseconds. */
  windowMs: number;
  stat: Stat;
  attributionMs: number;
  urgency: 'high' | 'low' | null;
  artifact: string;
  query: string | null;
  aggregate: 'sum' | 'avg' | 'min' | 'max' | null;
  /** The metric's own knobs, by name, defaults filled in (e.g. `stage: review`). */
  options?: Readonly<Record<string, string>>;
}

/** What a descriptor's `reads` adds to: the ranges of event time of each partition it needs. */
export interface ReadPlan {
  /** The instants the key result will be measured at, and their least and greatest. */
  readonly ats: readonly number[];
  readonly lo: number;
  readonly hi: number;
  /** The window (at - W, at] of each instant, as inclusive ranges [at - W, at]. */
  windows(): [number, number][];
  /** Reads `ranges` of each partition of `kind`. */
  add(kind: EventKind, partitions: readonly string[], ranges: readonly [number, number][]): void;
}

/** A metric as a function of the instant; null when there is nothing to measure (never 0 for rates). */
export type ValueAt = (at: number) => Promise<number | null>;

/**
 * What a descriptor's `measure` reads through, once per evaluation round: the events its `reads`
 * asked for, and what is derived from them, shared by every key result making the same reads.
 */
export interface MeasureContext {
  /** The events of one kind that the key result's reads returned, each once. */
  events<K extends EventKind>(kind: K): Promise<EventKinds[K][]>;
  /** The key result's successful deployments, from its deployment source (METRICS.md "Deployments"). */
  deployments(): Promise<Deployment[]>;
  /** Rollback flags of those deployments (deployment id -> is a rollback). */
  rollbackFlags(): Promise<Map<string, boolean>>;
  /**
   * What `derive` makes of the events of `kinds`, made once per round for key results reading the
   * same partitions over the same ranges. `what` names the derivation (and any knob it depends on).
   */
  memo<T>(what: string, kinds: readonly EventKind[], derive: () => Promise<T>): Promise<T>;
  /** The live PromQL source bound to this key result, or null when none is configured. */
  promql: ValueAt | null;
}

/** How a failed deployment failed (METRICS.md "Explanations"): the rollback after it, or an incident. */
export type DeploymentCause = { kind: 'rollback'; by: string } | { kind: 'incident'; incident: string; createdAt: string };

/** A successful deployment that entered a value. Times are ISO 8601; ids are strings. */
export interface ExplainedDeployment {
  repository: string;
  id: string;
  sha: string;
  deployedAt: string;
  rollback: boolean;
  failed: boolean;
  rework: boolean;
  /** Why it failed; null when it did not. */
  cause: DeploymentCause | null;
}

/** A change (commit) and its lead time, at the deployment that shipped it. */
export interface ExplainedChange {
  repository: string;
  sha: string;
  committedAt: string;
  /** The id of the deployment that shipped it. */
  deployment: string;
  seconds: number;
}

/** A pull request and the duration of the stage measured. */
export interface ExplainedPull {
  repository: string;
  number: number;
  stage: string;
  seconds: number;
}

/** An incident; `seconds`: the duration the metric measures (restore, acknowledge), null when none. */
export interface ExplainedIncident {
  service: string;
  id: string;
  createdAt: string;
  seconds: number | null;
}

/** A workflow run; `seconds`: its duration (updated_at - run_started_at), null when unknown. */
export interface ExplainedRun {
  repository: string;
  id: number;
  conclusion: string | null;
  seconds: number | null;
  /** test_coverage: the line coverage its report gave, 0..1. */
  lineRate?: number;
}

/** The inputs behind one value: only the lists the metric uses, each with exactly the items that entered it. */
export interface ExplainLists {
  deployments?: ExplainedDeployment[];
  changes?: ExplainedChange[];
  pulls?: ExplainedPull[];
  incidents?: ExplainedIncident[];
  runs?: ExplainedRun[];
}

/** The inputs behind the value at an instant. */
export type ExplainAt = (at: number) => Promise<ExplainLists>;

/** A knob of the metric's own, accepted in a key result only with that metric (`stage: review`). */
export interface MetricOption {
  /** The values it takes. */
  values: readonly [string, ...string[]];
  default: string;
  /** Shown in messages, e.g. `stage: review`. */
  example: string;
  /** One line for docs and messages. */
  description: string;
}

/** The words lint findings, alerts and titles use for the metric. */
export interface MetricWording {
  /**
   * What the metric measures, as the object of a sentence: `median time to restore service`.
   * `stat` is the statistic in words (`median`, `p90`, `mean`).
   */
  subject(kr: MetricKnobs, stat: string): string;
  /**
   * A second key result that would get worse if this one were gamed, for the lint rule that asks
   * for a counterpart: `the change failure rate (metric: change_failure_rate), so speed does not
   * cost stability`.
   */
  counterpart: string;
  /** Why there is no value, in the source's own terms (default: no events in the window). */
  noValue?: string;
}

export interface MetricDescriptor<N extends string = string> {
  /** `metric:` in the OKR file. */
  name: N;
  /** A title for dashboards and docs: `Deployment frequency`. */
  title: string;
  source: MetricSource;
  /** The unit values are reported in; `null`: the key result's own `unit:` (promql). */
  unit: UnitName | null;
  /** Which way is better; null when the metric cannot say (promql). */
  better: Direction | null;
  /**
   * Which values are possible, for checking a written target and baseline: `ratio` 0..1,
   * `non_negative`, or `any`.
   */
  range: 'ratio' | 'non_negative' | 'any';
  /** True when the value counts events in a window (`window:` matters). */
  windowed: boolean;
  /** Knobs the key result must write for this metric (checked at load: `workflow`, `query`). */
  requires?: readonly ('workflow' | 'query')[];
  /** The metric's own knobs, by name (src/config accepts them in a key result of this metric only). */
  options?: Readonly<Record<string, MetricOption>>;
  /** The source streams a key result syncs, each after the streams it is derived from. */
  streams(kr: MetricKnobs): StreamKey[];
  /**
   * What the key result reads to be measured at `plan.ats`: for each partition, the range of event
   * time its definition looks at, so that cost follows the window, not the history.
   */
  reads(kr: MetricKnobs, plan: ReadPlan): void;
  /** Reads what `reads` asked for once and returns the value as a function of the instant. */
  measure(kr: MetricKnobs, ctx: MeasureContext): Promise<ValueAt>;
  /**
   * `krt explain`: the same reads as `measure`, and the inputs that entered the value at an
   * instant (METRICS.md "Explanations"). None: only the value is explained (promql).
   */
  explain?(kr: MetricKnobs, ctx: MeasureContext): Promise<ExplainAt>;
  /**
   * What one value of a breakdown is computed over (METRICS.md "Breakdowns"): each `repository`
   * of `repos`, each `service` of `services`, or none. Default: `repository` for GitHub metrics,
   * `service` for PagerDuty ones, none otherwise (breakdownOf).
   */
  breakdown?: 'repository' | 'service' | null;
  wording: MetricWording;
}

/** A key result that cannot be measured as configured (e.g. promql without sources.prometheus): not retried. */
export class NotMeasuredError extends Error {
  override readonly name = 'NotMeasuredError';
}

/** What a breakdown of the metric's key results is over: the descriptor's `breakdown`, else by source. */
export function breakdownOf(d: Pick<MetricDescriptor, 'breakdown' | 'source'>): 'repository' | 'service' | null {
  if (d.breakdown !== undefined) return d.breakdown;
  return d.source === 'github' ? 'repository' : d.source === 'pagerduty' ? 'service' : null;
}

/** Declares a descriptor, keeping its name's literal type (the catalogue's MetricName). */
export function defineMetric<const N extends string>(d: MetricDescriptor<N>): MetricDescriptor<N> {
  return d;
}
