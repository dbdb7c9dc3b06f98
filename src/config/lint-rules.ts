// The OKR practice rules of `krt lint`: each reads a valid, normalized Config and says where a
// demanding OKR coach would object, what is wrong and a better formulation. Paths index the
// written file (objectives[i].keyResults[j] is config.objectives[i].keyResults[j]); lint.ts turns
// them into lines and columns. What the validator already rejects (unknown sources, duplicate ids
// within an objective, kind: increase with a lower target) is not repeated here.
import type { Path } from './path.js';
import type { Config, KeyResult, MetricName, Objective } from './types.js';
import {
  activityVerb,
  BETTER,
  directionOf,
  formatValue,
  isMaintain,
  keepVerb,
  metricSubject,
  namesMeasure,
  number,
  outcomeTitle,
  percentChange,
  resolvedTarget,
  titleChange,
  titleThreshold,
  writtenDuration,
  writtenTarget,
  type Direction,
} from './lint-wording.js';
import { offsetAt } from './timezone.js';

export const RULES = [
  'objectives-per-owner',
  'key-results-per-objective',
  'output-not-outcome',
  'maintain-wording',
  'target-wrong-direction',
  'target-equals-baseline',
  'target-out-of-range',
  'title-target-mismatch',
  'window-longer-than-period',
  'no-notify',
  'duplicate-id',
] as const;
export type RuleName = (typeof RULES)[number];

export interface Finding {
  path: Path;
  rule: RuleName;
  message: string;
}

/** What the rules may ask about the file as written (defaults are filled in the Config). */
export interface Written {
  has(path: Path): boolean;
}

export type Rule = (config: Config, written: Written) => Finding[];

/** Objectives per owner and period (OKR practice: 3 to 5), key results per objective (2 to 5). */
const OBJECTIVES = { min: 3, max: 5 };
const KEY_RESULTS = { min: 2, max: 5 };

const DAY = 86_400_000;

type KrVisit = { objective: Objective; kr: KeyResult; path: Path };

function eachKeyResult(config: Config): KrVisit[] {
  return config.objectives.flatMap((objective, i) =>
    objective.keyResults.map((kr, j) => ({ objective, kr, path: ['objectives', i, 'keyResults', j] as Path })),
  );
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const quote = (text: string): string => JSON.stringify(text);
const higher = (side: Direction): string => (side === 'increase' ? 'higher' : 'lower');

/** `2026-10-01..2026-12-31`: the written days of a period (its end instant is exclusive). */
function periodDays(config: Config, objective: Objective): string {
  const day = (instant: number): string => new Date(instant + offsetAt(instant, config.timezone)).toISOString().slice(0, 10);
  return `${day(objective.period.start)}..${day(objective.period.end - 1)}`;
}

export function objectivesPerOwner(config: Config): Finding[] {
  // Counted per owner and period: a file may hold this quarter's and next quarter's objectives.
  const groups = new Map<string, { owner: string; first: number; count: number }>();
  const periods = new Map<string, Set<string>>();
  config.objectives.forEach((objective, i) => {
    const period = `${objective.period.start}-${objective.period.end}`;
    const key = JSON.stringify([objective.owner, period]);
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { owner: objective.owner, first: i, count: 1 });
    periods.set(objective.owner, (periods.get(objective.owner) ?? new Set()).add(period));
  });
  const findings: Finding[] = [];
  for (const { owner, first, count } of groups.values()) {
    if (count >= OBJECTIVES.min && count <= OBJECTIVES.max) continue;
    const when = (periods.get(owner)?.size ?? 0) > 1 ? ` for ${periodDays(config, config.objectives[first]!)}` : '';
    const message =
      count > OBJECTIVES.max
        ? `${owner} owns ${count} objectives${when}; with more than ${OBJECTIVES.max} nothing is a priority: merge related objectives (the key results of a narrow one can join a broader one) or move the least important out of this period, to keep ${OBJECTIVES.min} to ${OBJECTIVES.max}`
        : `${owner} owns ${plural(count, 'objective')}${when}; ${OBJECTIVES.min} to ${OBJECTIVES.max} cover what a team is accountable for without losing focus: add the ${plural(OBJECTIVES.min - count, 'outcome')} that matter most this period, or merge this work into the objectives of the team it serves`;
    findings.push({ path: ['objectives', first, 'owner'], rule: 'objectives-per-owner', message });
  }
  return findings;
}

/** A second key result that would get worse if the first were gamed. */
const COUNTERPART: Record<MetricName, string> = {
  deployment_frequency: 'the change failure rate (metric: change_failure_rate), so speed does not cost stability',
  lead_time_for_changes: 'the change failure rate (metric: change_failure_rate), so speed does not cost stability',
  ci_duration: 'the CI success rate (metric: ci_success_rate), so faster runs do not become flakier ones',
  ci_success_rate: 'the CI duration (metric: ci_duration), so green runs are not bought with slower ones',
  change_failure_rate: 'deployment frequency (metric: deployment_frequency), so stability does not come from shipping less',
  rollback_rate: 'deployment frequency (metric: deployment_frequency), so stability does not come from shipping less',
  time_to_restore: 'the incident count (metric: incident_count), so faster recovery goes with fewer incidents',
  time_to_acknowledge: 'time to restore (metric: time_to_restore), so a quick acknowledgement leads to a quick fix',
  incident_count: 'time to restore (metric: time_to_restore), so the incidents that remain are short',
  test_coverage: 'the change failure rate (metric: change_failure_rate), so coverage turns into fewer failed deployments',
  deployment_rework_rate: 'deployment frequency (metric: deployment_frequency), so less rework does not come from shipping less',
  pr_cycle_time: 'the change failure rate (metric: change_failure_rate), so faster reviews do not let failures through',
  promql: 'a metric that would get worse if this one were gamed (error rate next to latency, cost next to throughput)',
};

export function keyResultsPerObjective(config: Config): Finding[] {
  const findings: Finding[] = [];
  config.objectives.forEach((objective, i) => {
    const count = objective.keyResults.length;
    const path = ['objectives', i, 'keyResults'];
    if (count < KEY_RESULTS.min) {
      const metric = objective.keyResults[0]?.metric ?? 'promql';
      findings.push({
        path,
        rule: 'key-results-per-objective',
        message: `objective ${objective.id} has ${plural(count, 'key result')}; one number rarely proves an objective and is easy to game: add a second that measures it from another side, e.g. ${COUNTERPART[metric]}`,
      });
    } else if (count > KEY_RESULTS.max) {
      findings.push({
        path,
        rule: 'key-results-per-objective',
        message: `objective ${objective.id} has ${count} key results; more than ${KEY_RESULTS.max} dilute focus: keep the 3 to ${KEY_RESULTS.max} that best prove the objective and move the others to another objective or drop them`,
      });
    }
  });
  return findings;
}

export function outputNotOutcome(config: Config): Finding[] {
  return eachKeyResult(config).flatMap(({ kr, path }) => {
    if (!activityVerb(kr.title) || namesMeasure(kr.title)) return [];
    // The title describes work, so the metric names what the work should change.
    const better = outcomeTitle(kr, metricSubject(kr));
    return [
      {
        path: [...path, 'title'],
        rule: 'output-not-outcome',
        message: `${quote(kr.title)} is an output (work to finish), not an outcome (a measured change); say what changes, e.g. ${quote(better)}`,
      },
    ];
  });
}

export function maintainWording(config: Config): Finding[] {
  return eachKeyResult(config).flatMap(({ kr, path }) => {
    const target = resolvedTarget(kr);
    const at = [...path, 'title'];
    if (isMaintain(kr) && target !== null) {
      if (!titleChange(kr.title)) return [];
      const side = kr.kind === 'maintain_below' ? 'under' : 'above';
      return [
        {
          path: at,
          rule: 'maintain-wording',
          message: `${quote(kr.title)} reads as a change, but kind ${kr.kind} only checks that the value stays ${side} ${formatValue(kr, target)} (all or nothing); say ${quote(outcomeTitle(kr))}, or remove kind and set a baseline to measure the change`,
        },
      ];
    }
    if (!isMaintain(kr) && keepVerb(kr.title) && target !== null) {
      const side = titleThreshold(kr.title)?.side ?? BETTER[kr.metric];
      const kind = side === 'increase' ? 'maintain_above' : side === 'decrease' ? 'maintain_below' : 'maintain_below or maintain_above';
      const from = kr.baseline === null ? 'the value at the period start' : formatValue(kr, kr.baseline);
      // With no baseline, a start already past the level makes the target a change for the worse.
      const risk =
        kr.baseline === null && side !== null
          ? ` (a start already ${side === 'decrease' ? 'under' : 'above'} it would make getting worse count as progress)`
          : '';
      return [
        {
          path: at,
          rule: 'maintain-wording',
          message: `${quote(kr.title)} reads as holding a level, but without a maintain kind the KR measures a change from ${from} to ${formatValue(kr, target)}${risk}; write kind: ${kind}, or say ${quote(outcomeTitle(kr))}`,
        },
      ];
    }
    return [];
  });
}

/** The KR with the direction turned round, and the edit that does it. */
function flipped(kr: KeyResult): { kr: KeyResult; edit: string } | null {
  const direction = directionOf(kr);
  if (!direction) return null;
  if (kr.kind === 'maintain_above' || kr.kind === 'maintain_below') {
    const kind = kr.kind === 'maintain_above' ? 'maintain_below' : 'maintain_above';
    return { kr: { ...kr, kind }, edit: `write kind: ${kind}` };
  }
  if (kr.target.type === 'relative') {
    const target = { type: 'relative' as const, ratio: -kr.target.ratio };
    return { kr: { ...kr, target }, edit: `write target: ${percentChange(target.ratio)}` };
  }
  if (direction.by === 'baseline' && kr.baseline !== null) {
    const swapped = { ...kr, baseline: kr.target.value, target: { type: 'absolute' as const, value: kr.baseline } };
    return {
      kr: swapped,
      edit: `if baseline and target are swapped, write baseline: ${number(kr.target.value)} and target: ${number(kr.baseline)}`,
    };
  }
  const kind = direction.side === 'increase' ? 'decrease' : 'increase';
  return { kr: { ...kr, kind }, edit: `write kind: ${kind}` };
}

interface DirectionConflict {
  side: Direction;
  by: 'kind' | 'relative' | 'baseline';
  /** The title's words that go the other way ("Reduce", "under"). */
  claim: string | null;
  /** The metric's better side, when the KR goes the other way. */
  better: Direction | null;
}

/** Where the KR's direction disagrees with its title's wording or with its metric's better side. */
function directionConflict(kr: KeyResult): DirectionConflict | null {
  const direction = directionOf(kr);
  if (!direction) return null;
  const better = BETTER[kr.metric];
  let claim: { words: string; side: Direction } | null = null;
  if (isMaintain(kr)) {
    const threshold = titleThreshold(kr.title);
    if (threshold) claim = { words: threshold.words, side: threshold.side };
  } else {
    const change = titleChange(kr.title);
    const side = change?.change === 'better' ? better : change?.change;
    if (change && side) claim = { words: change.verb, side };
  }
  const titleWrong = claim !== null && claim.side !== direction.side;
  const metricWrong = better !== null && better !== direction.side;
  if (!titleWrong && !metricWrong) return null;
  return { side: direction.side, by: direction.by, claim: titleWrong ? claim!.words : null, better: metricWrong ? better : null };
}

export function targetWrongDirection(config: Config): Finding[] {
  return eachKeyResult(config).flatMap(({ kr, path }) => {
    const conflict = directionConflict(kr);
    const flip = flipped(kr);
    if (!conflict || !flip) return [];
    const { side, by } = conflict;
    const target = writtenTarget(kr);
    let what: string;
    let at: Path;
    if (isMaintain(kr)) {
      at = [...path, 'kind'];
      what = `kind ${kr.kind} holds ${kr.metric} ${side === 'decrease' ? 'under' : 'above'} ${target}`;
    } else if (by === 'kind') {
      at = [...path, 'kind'];
      what = `kind ${kr.kind} asks ${kr.metric} to go ${side === 'increase' ? 'up' : 'down'}`;
    } else if (by === 'relative') {
      at = [...path, 'target'];
      what = `target ${target} ${side === 'increase' ? 'raises' : 'lowers'} ${kr.metric}`;
    } else {
      at = [...path, 'target'];
      what = `target ${target} is ${side === 'increase' ? 'above' : 'below'} the baseline ${number(kr.baseline!)}`;
    }
    const reasons = [
      ...(conflict.claim ? [`the title says ${quote(conflict.claim)}`] : []),
      ...(conflict.better ? [`${kr.metric} is better ${higher(conflict.better)}`] : []),
    ].join(' and ');
    const better = BETTER[kr.metric];
    let fix: string;
    if (conflict.better || better === null) {
      // The numbers go the wrong way (or nothing but the title says which way is better): turn them round.
      fix = `${flip.edit}, e.g. ${quote(outcomeTitle(flip.kr))}`;
      if (better === null) fix += `, or if the ${side} is intended reword the title, e.g. ${quote(outcomeTitle(kr))}`;
    } else {
      // The title's own subject may be the inverse of the metric ("CI failures" for a success rate).
      fix = `the numbers are right for ${kr.metric}, so reword the title, e.g. ${quote(outcomeTitle(kr, metricSubject(kr)))}`;
    }
    return [{ path: at, rule: 'target-wrong-direction', message: `${what}, but ${reasons}; ${fix}` }];
  });
}

/** A plausible absolute target for examples, in the KR's unit. */
function exampleValue(kr: KeyResult, side: Direction): number {
  if (kr.unit === 'ratio') return side === 'increase' ? 0.5 : 0.01;
  if (kr.unit === 'count') return side === 'increase' ? 1 : 0;
  if (kr.unit === 'seconds') return 600;
  return 1;
}

export function targetEqualsBaseline(config: Config): Finding[] {
  return eachKeyResult(config).flatMap(({ kr, path }) => {
    // The validator rejects a target equal to the baseline as written; a relative target of a
    // zero baseline only comes back to it when resolved.
    if (kr.target.type !== 'relative' || kr.baseline !== 0) return [];
    const at = [...path, 'target'];
    const start = `target ${writtenTarget(kr)} of a baseline of 0 is 0 again, so the KR can never make progress`;
    if (kr.target.ratio < 0) {
      const hold: KeyResult = { ...kr, kind: 'maintain_below', target: { type: 'absolute', value: exampleValue(kr, 'decrease') } };
      return [
        {
          path: at,
          rule: 'target-equals-baseline',
          message: `${start}; the value cannot go below 0, so hold it there with kind: maintain_below and target: ${number(exampleValue(kr, 'decrease'))}, e.g. ${quote(outcomeTitle(hold))}`,
        },
      ];
    }
    const value = exampleValue(kr, 'increase');
    const absolute: KeyResult = { ...kr, target: { type: 'absolute', value } };
    return [
      {
        path: at,
        rule: 'target-equals-baseline',
        message: `${start}; write an absolute target such as target: ${number(value)}, e.g. ${quote(outcomeTitle(absolute))}`,
      },
    ];
  });
}

export function targetOutOfRange(config: Config): Finding[] {
  return eachKeyResult(config).flatMap(({ kr, path }) => {
    const target = resolvedTarget(kr);
    // Absolute ratios outside 0..1 are validation errors; a relative target only overshoots when resolved.
    if (kr.unit !== 'ratio' || kr.target.type !== 'relative' || kr.baseline === null || target === null || target <= 1) return [];
    const value = +(kr.baseline + (1 - kr.baseline) / 2).toFixed(3);
    const absolute: KeyResult = { ...kr, target: { type: 'absolute', value } };
    return [
      {
        path: [...path, 'target'],
        rule: 'target-out-of-range',
        message: `target ${writtenTarget(kr)} of the baseline ${number(kr.baseline)} is ${formatValue(kr, target)}, but a ratio cannot exceed 100%; write an absolute target such as target: ${number(value)}, e.g. ${quote(outcomeTitle(absolute))}`,
      },
    ];
  });
}

/** Half a percentage point: titles round their numbers. */
const close = (a: number, b: number): boolean => Math.abs(a - b) < 0.005;
const pct = (ratio: number): string => `${number(ratio * 100)}%`;

function titleTargetFinding(kr: KeyResult, path: Path): Finding | null {
  const title = kr.title;
  const baseline = kr.baseline;
  const target = resolvedTarget(kr);
  const finding = (at: 'target' | 'baseline', says: string, is: string, edit: string): Finding => ({
    path: [...path, at],
    rule: 'title-target-mismatch',
    message: `the title says ${says}, but ${is}; make them agree: ${edit}, or reword the title, e.g. ${quote(outcomeTitle(kr))}`,
  });

  // The size of the change: "by 30%", "Halve", "Double".
  const by = /\bby\s+(\d+(?:\.\d+)?)\s*%/i.exec(title);
  const verb = /^(halve|double)\b/i.exec(title.trim())?.[1];
  const claim = by ? Number(by[1]) / 100 : verb ? (verb.toLowerCase() === 'halve' ? 0.5 : 1) : null;
  const direction = directionOf(kr);
  if (claim !== null && !isMaintain(kr) && direction) {
    const changes: number[] = [];
    if (kr.target.type === 'relative') changes.push(Math.abs(kr.target.ratio));
    else if (baseline !== null && baseline !== 0) changes.push(Math.abs(kr.target.value - baseline) / Math.abs(baseline));
    // "Raise the CI success rate by 5%" may mean five percentage points.
    if (kr.unit === 'ratio' && baseline !== null && target !== null) changes.push(Math.abs(target - baseline));
    if (changes.length > 0 && !changes.some((change) => close(change, claim))) {
      const says = by ? quote(by[0]) : quote(verb!);
      const is =
        kr.target.type === 'relative'
          ? `target ${writtenTarget(kr)} is a change of ${pct(changes[0]!)}`
          : `target ${writtenTarget(kr)} is a change of ${pct(changes[0]!)} from the baseline ${number(baseline!)}`;
      const sign = direction.side === 'increase' ? 1 : -1;
      return finding('target', says, is, `write target: ${percentChange(sign * claim)}`);
    }
  }
  if (kr.unit !== 'ratio') return null;

  // Levels of a ratio: "from 60% to 85%", "under 1%", "to 95%".
  const fromTo = /\bfrom\s+(\d+(?:\.\d+)?)\s*%\s+to\s+(\d+(?:\.\d+)?)\s*%/i.exec(title);
  if (fromTo) {
    const [says, from, to] = [fromTo[0], Number(fromTo[1]) / 100, Number(fromTo[2]) / 100];
    const baselineOff = baseline !== null && !close(baseline, from);
    const targetOff = target !== null && !close(target, to);
    if (!baselineOff && !targetOff) return null;
    const parts = [
      ...(baselineOff ? [`baseline ${number(baseline!)} is ${pct(baseline!)}`] : []),
      ...(targetOff ? [`target ${writtenTarget(kr)} is ${pct(target!)}`] : []),
    ];
    const edits = [...(baselineOff ? [`baseline: ${number(from)}`] : []), ...(targetOff ? [`target: ${number(to)}`] : [])];
    return finding(targetOff ? 'target' : 'baseline', quote(says), parts.join(' and '), `write ${edits.join(' and ')}`);
  }
  const levels = [...title.matchAll(/\b(?:to|under|below|above|at least|at most|within|less than|more than|fewer than)\s+(\d+(?:\.\d+)?)\s*%/gi)];
  const level = levels.at(-1);
  if (!level || target === null) return null;
  const value = Number(level[1]) / 100;
  if (close(target, value)) return null;
  return finding('target', quote(level[0]), `target ${writtenTarget(kr)} is ${pct(target)}`, `write target: ${number(value)}`);
}

export function titleTargetMismatch(config: Config): Finding[] {
  // A title that goes the other way is target-wrong-direction's to report; its numbers follow.
  return eachKeyResult(config).flatMap(({ kr, path }) => (directionConflict(kr) ? [] : (titleTargetFinding(kr, path) ?? [])));
}

/** Metrics that count events in a window (test_coverage reads the latest run, promql an instant). */
const WINDOWED = (metric: MetricName): boolean => metric !== 'test_coverage' && metric !== 'promql';

export function windowLongerThanPeriod(config: Config, written: Written): Finding[] {
  return eachKeyResult(config).flatMap(({ objective, kr, path }) => {
    const periodMs = objective.period.end - objective.period.start;
    if (!WINDOWED(kr.metric) || kr.windowMs <= periodMs) return [];
    const days = Math.round(periodMs / DAY);
    const before = Math.round((kr.windowMs - periodMs) / DAY);
    const suggested = Math.min(28, Math.max(1, Math.floor(days / 2)));
    return [
      {
        path: [...path, 'window'],
        rule: 'window-longer-than-period',
        message: `${written.has([...path, 'window']) ? 'window' : 'the default window'} ${writtenDuration(kr.windowMs)} is longer than the period ${periodDays(config, objective)} (${days} days): even at its end the value still counts ${plural(before, 'day')} from before the period started, so the period's work barely shows; write window: ${suggested}d`,
      },
    ];
  });
}

export function noNotify(config: Config): Finding[] {
  const channels = Object.keys(config.alerts.channels);
  const add =
    channels.length > 0
      ? channels.length > 1
        ? `add one of alerts.channels (${channels.join(', ')}), e.g. notify: [${channels[0]}]`
        : `add notify: [${channels[0]}]`
      : 'add a channel under alerts.channels, e.g. leads: { type: slack, webhookUrl: ${SLACK_WEBHOOK_URL} }, and notify: [leads]';
  const findings: Finding[] = [];
  config.objectives.forEach((objective, i) => {
    const silent = objective.keyResults.filter((kr) => kr.notify.length === 0);
    if (silent.length === 0) return;
    if (objective.notify.length === 0) {
      const who =
        silent.length === objective.keyResults.length
          ? 'its key results drift'
          : `${silent.map((kr) => kr.id).join(', ')} ${silent.length === 1 ? 'drifts' : 'drift'}`;
      findings.push({
        path: ['objectives', i, 'notify'],
        rule: 'no-notify',
        message: `objective ${objective.id} notifies no channel, so nobody hears when ${who} off track; ${add}`,
      });
      return;
    }
    objective.keyResults.forEach((kr, j) => {
      if (kr.notify.length > 0) return;
      findings.push({
        path: ['objectives', i, 'keyResults', j, 'notify'],
        rule: 'no-notify',
        message: `key result ${kr.id} notifies no channel, so nobody hears when it drifts off track; remove notify: [] to use the objective's channels (${objective.notify.join(', ')})`,
      });
    });
  });
  return findings;
}

export function duplicateId(config: Config): Finding[] {
  // Within one objective the validator rejects a repeated id; across objectives the exported series
  // differ only in their objective label, so a query or panel on key_result alone mixes them.
  const owners = new Map<string, string[]>();
  return eachKeyResult(config).flatMap(({ objective, kr, path }) => {
    const earlier = owners.get(kr.id) ?? [];
    owners.set(kr.id, [...earlier, objective.id]);
    if (earlier.length === 0) return [];
    const where = earlier.length === 1 ? `objective ${earlier[0]}` : `objectives ${earlier.join(', ')}`;
    return [
      {
        path: [...path, 'id'],
        rule: 'duplicate-id',
        message: `key result id ${quote(kr.id)} is also used in ${where}; queries, alerts and panels that filter on key_result alone would mix them, so make it unique, e.g. ${quote(`${objective.id}-${kr.id}`)}`,
      },
    ];
  });
}

export const ALL_RULES: readonly Rule[] = [
  objectivesPerOwner,
  keyResultsPerObjective,
  outputNotOutcome,
  maintainWording,
  targetWrongDirection,
  targetEqualsBaseline,
  targetOutOfRange,
  titleTargetMismatch,
  windowLongerThanPeriod,
  noNotify,
  duplicateId,
];
