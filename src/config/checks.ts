// Step 4: checks across fields and sections. They run over every field that is valid on its own
// (read.ts), skip what depends on a field that already has a problem, and never stop each other.
import { writtenDuration } from './lint-wording.js';
import { DEFAULT_UNIT, WORKFLOW_METRICS } from './metric-rules.js';
import { DEFAULTS } from './normalize.js';
import { formatPath, type Issue, type Path } from './path.js';
import type { Part, WrittenTree } from './read.js';
import type { WrittenKeyResult, WrittenObjective } from './schema.js';
import { didYouMean } from './suggest.js';
import { sourceOfMetric } from './types.js';

type KeyResultPart = Part<WrittenKeyResult>;
type ObjectivePart = Part<WrittenObjective>;

const SOURCE_FIX = {
  github: 'GitHub, but sources.github is not configured; add sources: { github: { token: ${GITHUB_TOKEN} } }',
  pagerduty: 'PagerDuty, but sources.pagerduty is not configured; add sources: { pagerduty: { token: ${PAGERDUTY_TOKEN} } }',
  prometheus: 'Prometheus, but sources.prometheus is not configured; add sources: { prometheus: { url: http://localhost:9090 } }',
} as const;

export function checkTree(tree: WrittenTree): Issue[] {
  const issues: Issue[] = [];
  checkAlerts(issues, tree);
  checkUnique(issues, tree.objectives, 'give each objective its own id');
  checkParents(issues, tree.objectives);
  for (const objective of tree.objectives) {
    checkPeriod(issues, objective);
    checkNotify(issues, tree, [...objective.path, 'notify'], objective.value.notify);
    checkUnique(issues, objective.keyResults, 'give each key result of an objective its own id');
    for (const kr of objective.keyResults) {
      if (kr.value.metric !== undefined) {
        checkSource(issues, tree, kr);
        checkMetricKnobs(issues, kr);
      }
      checkTarget(issues, kr);
      checkBands(issues, kr);
      checkNotify(issues, tree, [...kr.path, 'notify'], kr.value.notify);
    }
  }
  return issues;
}

function checkUnique(issues: Issue[], parts: Array<Part<{ id: string }>>, fix: string): void {
  const seen = new Map<string, Path>();
  for (const { path, value } of parts) {
    if (value.id === undefined) continue;
    const first = seen.get(value.id);
    if (first) {
      issues.push({ path: [...path, 'id'], message: `is "${value.id}", already the id of ${formatPath(first)}; ${fix}` });
    } else seen.set(value.id, path);
  }
}

function checkParents(issues: Issue[], objectives: ObjectivePart[]): void {
  const byId = new Map<string, ObjectivePart>();
  for (const objective of objectives) if (objective.value.id !== undefined) byId.set(objective.value.id, objective);
  // An objective whose id has a problem may be the parent meant: only say "unknown" when all are readable.
  const allIdsKnown = byId.size === objectives.length || objectives.every((o) => o.value.id !== undefined);
  const inCycle = new Set<string>();
  for (const { path, value } of objectives) {
    const { id, parent } = value;
    if (id === undefined || parent === undefined) continue;
    const where = [...path, 'parent'];
    if (parent === id) {
      issues.push({ path: where, message: "is the objective's own id; name another objective as the parent or remove parent" });
      continue;
    }
    if (!byId.has(parent)) {
      if (allIdsKnown) {
        const hint = didYouMean(parent, [...byId.keys()]);
        issues.push({
          path: where,
          message: `is "${parent}", not the id of an objective in this file; ${hint || 'name one of its objectives or remove parent'}`,
        });
      }
      continue;
    }
    const chain = [id];
    let next = byId.get(parent)?.value;
    while (next?.id !== undefined && !chain.includes(next.id)) {
      chain.push(next.id);
      next = next.parent === undefined ? undefined : byId.get(next.parent)?.value;
    }
    if (next?.id === id && !inCycle.has(id)) {
      chain.forEach((member) => inCycle.add(member));
      issues.push({ path: where, message: `makes a cycle (${[...chain, id].join(' -> ')}); remove one of these parents` });
    }
  }
}

function checkPeriod(issues: Issue[], { path, value }: ObjectivePart): void {
  if (!value.period) return;
  const { start, end } = value.period;
  if (end < start) {
    issues.push({
      path: [...path, 'period', 'end'],
      message: `is ${end}, before period.start ${start}; set an end on or after the start (the end day is included)`,
    });
  }
}

function checkNotify(issues: Issue[], tree: WrittenTree, path: Path, names: string[] | undefined): void {
  const channels = tree.channelNames;
  if (!names || channels === null) return;
  names.forEach((name, i) => {
    if (channels.includes(name)) return;
    const hint = didYouMean(name, channels);
    issues.push({
      path: [...path, i],
      message: `is "${name}", not a channel in alerts.channels; ${hint || 'add it under alerts.channels or remove it'}`,
    });
  });
}

const SMTP_FIX = 'add alerts.smtp: { host: smtp.example.com, port: 587, from: kr-tracker@example.com }';

function checkAlerts(issues: Issue[], tree: WrittenTree): void {
  const { value, failed } = tree.alerts;
  const types = tree.channelTypes ?? new Map<string, unknown>();
  // E-mail goes out through alerts.smtp; when it has problems of its own, those say enough.
  if (value.smtp === undefined && !failed.has('smtp')) {
    for (const [name, type] of types) {
      if (type !== 'email') continue;
      issues.push({
        path: ['alerts', 'channels', name],
        at: 'key',
        message: `is an e-mail channel, but alerts.smtp is not configured; ${SMTP_FIX}`,
      });
    }
  }

  const digestPath = ['alerts', 'digest', 'channels'];
  const digestChannels = value.digest?.channels;
  checkNotify(issues, tree, digestPath, digestChannels);
  digestChannels?.forEach((name, i) => {
    if (types.get(name) !== 'pagerduty') return;
    issues.push({
      path: [...digestPath, i],
      message: `is "${name}", a PagerDuty channel, which takes alerts but not digests; name a slack, email or webhook channel, or remove it`,
    });
  });

  const staleAfter = value.staleAfter;
  if (staleAfter !== undefined && !tree.root.failed.has('schedule')) {
    const evaluate = tree.root.value.schedule?.evaluate ?? DEFAULTS.scheduleMs;
    if (staleAfter <= evaluate) {
      issues.push({
        path: ['alerts', 'staleAfter'],
        message: `is ${writtenDuration(staleAfter)}, not longer than schedule.evaluate ${writtenDuration(evaluate)}, so key results would go stale between two evaluations; write more than ${writtenDuration(evaluate)}, or remove it for the default of three evaluate intervals (${writtenDuration(3 * evaluate)})`,
      });
    }
  }
}

function checkSource(issues: Issue[], tree: WrittenTree, { path, value }: KeyResultPart): void {
  const configured = tree.sourceNames;
  if (configured === null || value.metric === undefined) return;
  const source = sourceOfMetric(value.metric);
  if (!configured.includes(source)) {
    issues.push({ path: [...path, 'metric'], message: `is ${value.metric}, which reads ${SOURCE_FIX[source]}` });
  }
  // change_failure_rate also counts incidents when the key result names services.
  if (source === 'github' && value.services?.length && !configured.includes('pagerduty')) {
    issues.push({ path: [...path, 'services'], message: `are read from ${SOURCE_FIX.pagerduty}` });
  }
}

function requireList(issues: Issue[], kr: KeyResultPart, key: 'repos' | 'services', example: string): void {
  if (kr.failed.has(key)) return;
  const list = kr.value[key];
  const metric = kr.value.metric;
  if (list === undefined) {
    issues.push({ path: [...kr.path, key], message: `is required for metric ${metric}; add ${example}` });
  } else if (list.length === 0) {
    issues.push({ path: [...kr.path, key], message: `is empty; metric ${metric} needs at least one, e.g. ${example}` });
  }
}

/** Absent, and not because its value had a problem of its own. */
function missing(kr: KeyResultPart, key: keyof WrittenKeyResult): boolean {
  return kr.value[key] === undefined && !kr.failed.has(key);
}

function checkMetricKnobs(issues: Issue[], kr: KeyResultPart): void {
  const { path, value } = kr;
  const metric = value.metric!;
  const source = sourceOfMetric(metric);
  if (source === 'github') requireList(issues, kr, 'repos', 'repos: [acme/payments]');
  if (source === 'pagerduty') requireList(issues, kr, 'services', 'services: [PXXXXXX] (PagerDuty service ids)');
  if (metric === 'promql' && missing(kr, 'query')) {
    issues.push({ path: [...path, 'query'], message: 'is required for metric promql; add query: <a PromQL expression that returns one series>' });
  }
  if (WORKFLOW_METRICS.has(metric) && missing(kr, 'workflow')) {
    issues.push({
      path: [...path, 'workflow'],
      message: `is required for metric ${metric}; add workflow: ci.yml (the workflow file name under .github/workflows)`,
    });
  }
  if (value.stage !== undefined && metric !== 'pr_cycle_time') {
    issues.push({ path: [...path, 'stage'], message: `applies to metric pr_cycle_time only, not ${metric}; remove it` });
  }
  const deployments = value.deployments;
  if (deployments?.source === 'workflow' && !deployments.workflow && missing(kr, 'workflow')) {
    issues.push({
      path: [...path, 'deployments', 'workflow'],
      message: 'is required when deployments.source is workflow; add workflow: deploy.yml to deployments',
    });
  }
  if (value.environment !== undefined && deployments?.environment !== undefined) {
    issues.push({ path: [...path, 'environment'], message: 'is given twice, here and in deployments.environment; keep one of them' });
  } else if (value.environment !== undefined && deployments?.source === 'workflow') {
    issues.push({
      path: [...path, 'environment'],
      message: 'applies to deployments with source: deployments, not source: workflow; remove it',
    });
  }
}

function checkTarget(issues: Issue[], kr: KeyResultPart): void {
  const { path, value, failed } = kr;
  const { target, baseline, kind } = value;
  if (target === undefined || failed.has('kind')) return;
  const at = [...path, 'target'];
  const written =
    target.type === 'relative' ? `${target.ratio > 0 ? '+' : ''}${+(target.ratio * 100).toFixed(6)}%` : `${target.value}`;
  const maintain = kind === 'maintain_above' || kind === 'maintain_below';
  if (maintain && target.type === 'relative') {
    issues.push({ path: at, message: `is ${written}, but kind ${kind} needs an absolute threshold; write a number such as 0.01` });
    return;
  }
  if (failed.has('baseline')) return;
  // A threshold may well equal the baseline; a change to reach may not.
  const unchanged = target.type === 'relative' ? target.ratio === 0 : target.value === baseline;
  if (!maintain && unchanged) {
    issues.push({ path: at, message: 'equals the baseline; set it above or below' });
    return;
  }
  const change = target.type === 'relative' ? target.ratio : baseline === undefined ? 0 : target.value - baseline;
  if ((kind === 'increase' && change < 0) || (kind === 'decrease' && change > 0)) {
    const other = kind === 'increase' ? 'decrease' : 'increase';
    issues.push({
      path: at,
      message: `is ${written}, ${change < 0 ? 'below' : 'above'} the baseline, but kind is ${kind}; change the target or write kind: ${other}`,
    });
  }
  checkRange(issues, at, value.metric, target.type === 'absolute' ? target.value : undefined);
  checkRange(issues, [...path, 'baseline'], value.metric, baseline);
}

/** Values of the built-in metrics are never negative, and ratios lie in 0..1. */
function checkRange(issues: Issue[], path: Path, metric: WrittenKeyResult['metric'] | undefined, value: number | undefined): void {
  if (value === undefined || metric === undefined || metric === 'promql') return;
  if (DEFAULT_UNIT[metric] === 'ratio' && (value < 0 || value > 1)) {
    const hint = value > 1 && value <= 100 ? `write ${+(value / 100).toFixed(6)}` : 'write a value from 0 to 1';
    issues.push({ path, message: `is ${value}, but ${metric} is a ratio from 0 to 1; ${hint}` });
  } else if (value < 0) {
    issues.push({ path, message: `is ${value}, but ${metric} is never negative; write 0 or more` });
  }
}

function checkBands(issues: Issue[], { path, value }: KeyResultPart): void {
  if (!value.bands) return;
  const atRisk = value.bands.atRisk ?? 0.1;
  const offTrack = value.bands.offTrack ?? 0.25;
  if (atRisk <= offTrack) return;
  const rule = 'bands need 0 <= atRisk <= offTrack <= 1 (defaults 0.10 and 0.25)';
  if (value.bands.offTrack !== undefined) {
    issues.push({ path: [...path, 'bands', 'offTrack'], message: `is ${offTrack}, below atRisk ${atRisk}; raise it, ${rule}` });
  } else {
    issues.push({
      path: [...path, 'bands', 'atRisk'],
      message: `is ${atRisk}, above the default offTrack ${offTrack}; lower it or set offTrack, ${rule}`,
    });
  }
}
