// The least the APIs allow for the bench's key results: what a sync must read, counted in the
// units the rate limits charge, from the datasets the simulators serve.
//
// Every "need" below is a set of items in groups (one list request series per group), each item
// with a version. The minimum of a first sync reads every item; a later sync reads only the items
// that are new or whose version changed (everything else answers 304 on GitHub, which is free;
// PagerDuty has no conditional requests, so each of its groups costs at least one page).
//
//   A deployments list   GET /repos/{o}/{r}/deployments?environment=E&per_page=100, newest first:
//                        per (repo, environment) ceil(n / 100) pages (>= 1 on a first sync), n = the
//                        deployments created at or after `from` plus the one before (the previous
//                        deployment of lead time, rollbacks and attribution). Version: updated_at.
//   B statuses           GraphQL `nodes(ids: [100 deployment node ids]) { ... on Deployment {
//                        statuses(first: 10) } }`: ceil(n / 100) x 1 point, n = new or changed
//                        deployments of ALL (repo, environment) groups together: nodes(ids:) takes
//                        ids of any repository, so the groups pool (GitHub's cost: 100 nested
//                        requests / 100 = 1 point). Version: number of statuses. The REST per-deployment statuses route is shown
//                        against this minimum (its own minimum is 0 in the target design).
//   C commit history     GET /repos/{o}/{r}/commits?sha=main&per_page=100: per repository with a
//                        lead-time KR ceil(c / 100), c = commits after the one shipped by the
//                        deployment before the first deployment in range, up to the head. The
//                        compare route is shown against this minimum.
//   D workflow runs      GET /repos/{o}/{r}/actions/workflows/{w}/runs?branch=B&per_page=100:
//                        per (repo, workflow, branch) ceil(runs created at or after `from` / 100).
//                        Version: updated_at, status.
//   E artifact list      GET /repos/{o}/{r}/actions/artifacts?name=coverage&per_page=100: per
//                        repository with a coverage KR ceil(coverage artifacts created at or after
//                        `from` / 100). The per-run artifact listing is shown against this minimum.
//   F downloads          GET /repos/{o}/{r}/actions/artifacts/{id}/zip (a 302; the blob behind it
//                        is not the API and is not charged): one per distinct artifact whose
//                        report is a value a coverage KR reports (now, and the period start when
//                        the baseline is measured).
//   G incidents          GET /incidents?service_ids[]=...&limit=100: all configured services in
//                        one listing, per 6-month window of [from, now] max(1, ceil(n / 100)),
//                        n = incidents created in the window. Version: status.
//   H log entries        GET /log_entries?is_overview=true&since=...&limit=100, account-wide:
//                        max(1, ceil(entries / 100)), entries = overview entries in [from, now].
//                        The per-incident log-entry route is shown against this minimum.
//
// `from` of a stream is the earliest instant a key result reading it evaluates:
// min(period start, now) - window (the baseline is measured at the period start); test_coverage
// has no window: its `from` is the created_at of the run that gives its value at the period start.
import type { GithubDataset, SimDeployment, SimWorkflowRun } from '../../connectors/github/sim/dataset.js';
import { incidentStateAt, type PagerDutyDataset } from '../../connectors/pagerduty/sim/dataset.js';
import type { Config, KeyResult } from '../../src/config/types.js';

export type NeedId = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H';

export interface Need {
  id: NeedId;
  source: 'github' | 'pagerduty';
  name: string;
  /** The route the minimum is counted on (the target design's). */
  route: string;
  /** Routes of the current code that read the same data: shown against the same minimum. */
  alternatives: string[];
  /** How the minimum is computed, for the legend. */
  formula: string;
  /** Unit: 'pages' (per group ceil(changed/100)), 'items' (one request per changed item). */
  kind: 'pages' | 'items';
  /** true: a group without changes still costs one request (no conditional requests). */
  alwaysOnePage: boolean;
  /** true: one request serves items of every group (GraphQL `nodes(ids:)` takes ids of any repository). */
  pooled?: boolean;
}

export const NEEDS: Need[] = [
  { id: 'A', source: 'github', name: 'deployments', route: 'GET /repos/{owner}/{repo}/deployments', alternatives: [], kind: 'pages', alwaysOnePage: false,
    formula: 'per repo x environment: ceil(deployments since `from`, +1 before / 100), >= 1 on a first sync' },
  { id: 'B', source: 'github', name: 'deployment statuses', route: 'POST /graphql', alternatives: ['GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id}'], kind: 'pages', alwaysOnePage: false, pooled: true,
    formula: 'GraphQL: ceil(new or changed deployments of all repos x environments / 100) x 1 point (nodes(ids:) takes 100 ids of any repository)' },
  { id: 'C', source: 'github', name: 'commit history', route: 'GET /repos/{owner}/{repo}/commits', alternatives: ['GET /repos/{owner}/{repo}/compare/{basehead}', 'GET /repos/{owner}/{repo}/commits/{ref}'], kind: 'pages', alwaysOnePage: false,
    formula: 'per repo with lead time: ceil(commits after the one shipped before the range, up to the head / 100)' },
  { id: 'D', source: 'github', name: 'workflow runs', route: 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs', alternatives: ['GET /repos/{owner}/{repo}/actions/runs', 'GET /repos/{owner}/{repo}/actions/runs/{run_id}', 'GET /repos/{owner}/{repo}/actions/workflows', 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}'], kind: 'pages', alwaysOnePage: false,
    formula: 'per repo x workflow x branch: ceil(runs created since `from` / 100)' },
  { id: 'E', source: 'github', name: 'artifact list', route: 'GET /repos/{owner}/{repo}/actions/artifacts', alternatives: ['GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts', 'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}'], kind: 'pages', alwaysOnePage: false,
    formula: 'per repo with coverage: ceil(coverage artifacts since `from` / 100)' },
  { id: 'F', source: 'github', name: 'artifact downloads', route: 'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}', alternatives: [], kind: 'items', alwaysOnePage: false,
    formula: 'one per distinct artifact whose report is a reported value (now; period start for a measured baseline)' },
  { id: 'G', source: 'pagerduty', name: 'incidents', route: 'GET /incidents', alternatives: [], kind: 'pages', alwaysOnePage: true,
    formula: 'all services in one listing: per 6-month window max(1, ceil(incidents / 100))' },
  { id: 'H', source: 'pagerduty', name: 'log entries', route: 'GET /log_entries', alternatives: ['GET /incidents/{id}/log_entries', 'GET /incidents/{id}'], kind: 'pages', alwaysOnePage: true,
    formula: 'account-wide, is_overview=true: max(1, ceil(overview entries since `from` / 100))' },
];

/** need -> group -> item -> version. */
export type NeedState = Map<NeedId, Map<string, Map<string, string>>>;

const SIX_MONTHS = 182 * 86_400_000;

function put(state: NeedState, need: NeedId, group: string, item?: string, version = '') {
  let groups = state.get(need);
  if (!groups) state.set(need, (groups = new Map()));
  let items = groups.get(group);
  if (!items) groups.set(group, (items = new Map()));
  if (item !== undefined) items.set(item, version);
}

function lastRealStatus(d: SimDeployment) {
  const real = d.statuses.filter((s) => s.state !== 'inactive');
  real.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id - b.id);
  return real.at(-1);
}

function krFrom(period: { start: number }, kr: KeyResult, now: number): number {
  return (kr.baseline === null ? Math.min(period.start, now) : now) - kr.windowMs;
}

/** The run giving a coverage KR its value at `at`: newest successful run with an unexpired artifact. */
function coverageRun(runs: SimWorkflowRun[], kr: KeyResult, at: number, now: number): SimWorkflowRun | undefined {
  let best: SimWorkflowRun | undefined;
  for (const run of runs) {
    if (run.workflow !== kr.workflow || run.head_branch !== kr.branch || run.conclusion !== 'success' || Date.parse(run.created_at) > at) continue;
    if (!run.artifacts.some((a) => a.name === kr.artifact && !a.expired && Date.parse(a.expires_at) > now)) continue;
    if (!best || run.created_at > best.created_at || (run.created_at === best.created_at && run.id > best.id)) best = run;
  }
  return best;
}

/** What the config's key results need from the datasets as the simulators show them at `now`. */
export function needState(config: Config, github: GithubDataset, pagerduty: PagerDutyDataset, now: number): NeedState {
  const state: NeedState = new Map();
  const deployFrom = new Map<string, number>(); // repo@env -> from
  const leadRepos = new Map<string, { env: string; from: number }[]>();
  const runFrom = new Map<string, number>(); // repo/workflow@branch -> from
  const coverageFrom = new Map<string, number>(); // repo -> from
  let pdFrom = Infinity;
  const lower = (m: Map<string, number>, k: string, v: number) => m.set(k, Math.min(m.get(k) ?? Infinity, v));
  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      const from = krFrom(o.period, kr, now);
      const d = kr.deployments;
      switch (kr.metric) {
        case 'deployment_frequency':
        case 'rollback_rate':
        case 'change_failure_rate':
        case 'lead_time_for_changes':
          for (const r of kr.repos) {
            if (d.source === 'deployments') lower(deployFrom, `${r}@${d.environment}`, from);
            else lower(runFrom, `${r}/${d.workflow}@${d.branch}`, from);
            if (kr.metric === 'lead_time_for_changes' && d.source === 'deployments') leadRepos.set(r, [...(leadRepos.get(r) ?? []), { env: d.environment, from }]);
          }
          if (kr.metric === 'change_failure_rate' && kr.services.length > 0) pdFrom = Math.min(pdFrom, from);
          break;
        case 'ci_success_rate':
        case 'ci_duration':
          for (const r of kr.repos) lower(runFrom, `${r}/${kr.workflow}@${kr.branch}`, from);
          break;
        case 'test_coverage':
          for (const r of kr.repos) {
            const repo = github.repos.find((x) => x.fullName === r);
            if (!repo) continue;
            const atNow = coverageRun(repo.runs, kr, now, now);
            const atStart = kr.baseline === null && o.period.start < now ? coverageRun(repo.runs, kr, o.period.start, now) : undefined;
            const oldest = atStart ?? atNow;
            const from = oldest ? Date.parse(oldest.created_at) : now;
            lower(runFrom, `${r}/${kr.workflow}@${kr.branch}`, from);
            lower(coverageFrom, r, from);
            put(state, 'F', r);
            for (const run of [atNow, atStart]) {
              const a = run?.artifacts.find((x) => x.name === kr.artifact);
              if (a) put(state, 'F', r, String(a.id));
            }
          }
          break;
        case 'time_to_restore':
        case 'time_to_acknowledge':
        case 'incident_count':
          pdFrom = Math.min(pdFrom, from);
          break;
        case 'promql':
          break;
      }
    }
  }

  for (const [key, from] of deployFrom) {
    const at = key.lastIndexOf('@');
    const repo = github.repos.find((x) => x.fullName === key.slice(0, at));
    const env = key.slice(at + 1);
    put(state, 'A', key);
    put(state, 'B', key);
    if (!repo) continue;
    const list = repo.deployments.filter((d) => d.environment === env && Date.parse(d.created_at) <= now).sort((a, b) => a.id - b.id);
    const first = list.findIndex((d) => Date.parse(d.created_at) >= from);
    const start = first < 0 ? list.length : Math.max(0, first - 1);
    for (const d of list.slice(start)) {
      put(state, 'A', key, String(d.id), d.updated_at);
      put(state, 'B', key, String(d.id), String(d.statuses.length));
    }
  }

  for (const [name, uses] of leadRepos) {
    const repo = github.repos.find((x) => x.fullName === name);
    put(state, 'C', name);
    if (!repo) continue;
    const index = new Map(repo.commits.map((c, i) => [c.sha, i]));
    let k0 = repo.commits.length - 1;
    for (const { env, from } of uses) {
      const successes = repo.deployments
        .filter((d) => d.environment === env && lastRealStatus(d)?.state === 'success')
        .map((d) => ({ d, at: Date.parse(lastRealStatus(d)!.created_at) }))
        .filter((x) => x.at <= now)
        .sort((a, b) => a.at - b.at || a.d.id - b.d.id);
      const first = successes.findIndex((x) => x.at > from);
      const before = first > 0 ? successes[first - 1] : undefined;
      k0 = Math.min(k0, before ? (index.get(before.d.sha) ?? 0) : first === 0 ? (index.get(successes[0]!.d.sha) ?? 0) : k0);
    }
    for (const c of repo.commits.slice(k0 + 1)) if (Date.parse(c.date) <= now) put(state, 'C', name, c.sha);
  }

  for (const [key, from] of runFrom) {
    const at = key.lastIndexOf('@');
    const slash = key.lastIndexOf('/', at);
    const repo = github.repos.find((x) => x.fullName === key.slice(0, slash));
    const workflow = key.slice(slash + 1, at);
    const branch = key.slice(at + 1);
    put(state, 'D', key);
    for (const run of repo?.runs ?? []) {
      const created = Date.parse(run.created_at);
      if (run.workflow === workflow && run.head_branch === branch && created >= from && created <= now) put(state, 'D', key, String(run.id), `${run.updated_at}/${run.status}`);
    }
  }

  for (const [name, from] of coverageFrom) {
    const repo = github.repos.find((x) => x.fullName === name);
    put(state, 'E', name);
    for (const run of repo?.runs ?? []) {
      for (const a of run.artifacts) {
        const created = Date.parse(a.created_at);
        if (a.name === 'coverage' && created >= from && created <= now) put(state, 'E', name, String(a.id));
      }
    }
  }

  if (Number.isFinite(pdFrom)) {
    const services = new Set(config.objectives.flatMap((o) => o.keyResults.flatMap((k) => k.services)));
    for (let since = pdFrom; since < now; since += SIX_MONTHS) {
      const until = Math.min(now, since + SIX_MONTHS);
      // Keyed by its start only: the window that reaches `now` grows from one sync to the next.
      const group = `since ${new Date(since).toISOString()}`;
      put(state, 'G', group);
      for (const inc of pagerduty.incidents) {
        const created = Date.parse(inc.created_at);
        if (!services.has(inc.service_id) || created < since || created >= until) continue;
        const st = incidentStateAt(inc, now);
        if (st) put(state, 'G', group, inc.id, st.status);
      }
    }
    put(state, 'H', 'account');
    const OVERVIEW = new Set(['trigger_log_entry', 'acknowledge_log_entry', 'unacknowledge_log_entry', 'resolve_log_entry', 'escalate_log_entry', 'assign_log_entry', 'annotate_log_entry']);
    for (const inc of pagerduty.incidents) {
      for (const e of inc.log_entries) {
        const at = Date.parse(e.created_at);
        if (OVERVIEW.has(e.type) && at >= pdFrom && at <= now) put(state, 'H', 'account', e.id);
      }
    }
  }
  return state;
}

/** The minimum per need to go from `before` (null: nothing synced yet) to `after`. */
export function minimum(before: NeedState | null, after: NeedState): Map<NeedId, number> {
  const out = new Map<NeedId, number>();
  for (const need of NEEDS) {
    let total = 0;
    let pooledChanged = 0;
    for (const [group, items] of after.get(need.id) ?? new Map<string, Map<string, string>>()) {
      const old = before?.get(need.id)?.get(group);
      let changed = 0;
      for (const [item, version] of items) if (old?.get(item) !== version) changed++;
      if (need.pooled) pooledChanged += changed;
      else if (need.kind === 'items') total += changed;
      else if (changed > 0) total += Math.ceil(changed / 100);
      else if (before === null || need.alwaysOnePage) total += 1;
    }
    if (need.pooled) total = pooledChanged > 0 ? Math.ceil(pooledChanged / 100) : before === null && (after.get(need.id)?.size ?? 0) > 0 ? 1 : 0;
    out.set(need.id, total);
  }
  return out;
}

/** Items per need (for the header: what the minimum was computed over). */
export function itemCounts(state: NeedState): Map<NeedId, { groups: number; items: number }> {
  const out = new Map<NeedId, { groups: number; items: number }>();
  for (const need of NEEDS) {
    const groups = state.get(need.id) ?? new Map();
    let items = 0;
    for (const g of groups.values()) items += g.size;
    out.set(need.id, { groups: groups.size, items });
  }
  return out;
}
