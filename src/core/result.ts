// What an evaluation of one key result produced: stored, exported on /metrics and /api, alerted on.

/** How a key result's value is read against its target (METRICS.md "From value to key result"). */
export const KINDS = ['increase', 'decrease', 'maintain_above', 'maintain_below'] as const;
export type Kind = (typeof KINDS)[number];

export const STATUSES = ['on_track', 'at_risk', 'off_track', 'achieved', 'no_data'] as const;
export type Status = (typeof STATUSES)[number];

/**
 * Each status as a word and a colour, defined once: the dashboards show `text` in `color` (a
 * Grafana colour name); alerts and the digest use the word in lower case (STATUS_WORDS).
 */
export const STATUS_TEXT: Record<Status, { text: string; color: string }> = {
  on_track: { text: 'On track', color: 'green' },
  at_risk: { text: 'At risk', color: 'yellow' },
  off_track: { text: 'Off track', color: 'red' },
  achieved: { text: 'Achieved', color: 'blue' },
  no_data: { text: 'No data', color: 'gray' },
};

/** The status words in a sentence: `on track`, `no data`. */
export const STATUS_WORDS: Record<Status, string> = Object.fromEntries(
  STATUSES.map((s) => [s, STATUS_TEXT[s].text.toLowerCase()]),
) as Record<Status, string>;

/**
 * The key result's metric over one repository's (or one PagerDuty service's) events alone, with
 * the key result's other knobs (METRICS.md "Breakdowns"). Exactly one of `repository`/`service`.
 */
export interface Component {
  repository?: string;
  service?: string;
  value: number | null;
}

/** One evaluation of one key result at instant `at`. */
export interface EvaluationResult {
  objectiveId: string;
  keyResultId: string;
  /** The key result's metric: a name of the metric catalogue (src/metrics/catalogue). */
  metric: string;
  unit: string;
  /** The evaluation instant (what the value describes), epoch ms. */
  at: number;
  /** Wall-clock time the evaluation ran, for staleness, epoch ms. */
  evaluatedAt: number;
  value: number | null;
  baseline: number | null;
  target: number | null;
  kind: Kind | null;
  progress: number | null;
  expected: number;
  status: Status;
  forecast: number | null;
  /** The 0.0-1.0 OKR grade: progress rounded to one decimal, once the period has ended; else null. */
  score: number | null;
  /** Why there is no value (a source error, a missing baseline), for people; null when fine. */
  error: string | null;
  /**
   * Per repository (or service) values of a key result over several, worst first, at most the
   * configured number (`breakdowns.max`); absent for a key result over one (or none).
   */
  components?: Component[];
}

export function resultKey(objectiveId: string, keyResultId: string): string {
  return `${objectiveId}/${keyResultId}`;
}
