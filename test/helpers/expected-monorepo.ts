// Independent computations for a monorepo (docs/config.md "Monorepos"), straight from a simulated
// GitHub dataset and written without the product's code (nor the simulator's path filter): which
// environments a pattern names, which commits touch a path, and the metrics over several
// environments of one repository, each environment its own sequence of deployments.
import type { GithubDataset, SimCommit } from '../../connectors/github/sim/dataset.js';
import { successesOf, type SimSuccess } from './expected.js';

const DAY = 86_400_000;

/** The environments of `repo` (those it deployed to) that one of `patterns` names; only `*` is used as a wildcard here. */
export function environmentsMatching(dataset: GithubDataset, repo: string, patterns: string[]): string[] {
  const names = [...new Set(dataset.repos.find((r) => r.fullName === repo)!.deployments.map((d) => d.environment))];
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`, 'i'));
  return names.filter((n) => res.some((re) => re.test(n))).sort();
}

function graphOf(dataset: GithubDataset, repo: string): Map<string, SimCommit> {
  const r = dataset.repos.find((x) => x.fullName === repo)!;
  return new Map([...r.commits, ...r.branchCommits].map((c) => [c.sha, c]));
}

function ancestors(graph: Map<string, SimCommit>, sha: string): Set<string> {
  const seen = new Set<string>();
  for (const todo = [sha]; todo.length > 0; ) {
    const x = todo.pop()!;
    if (seen.has(x) || !graph.has(x)) continue;
    seen.add(x);
    todo.push(...graph.get(x)!.parents);
  }
  return seen;
}

/**
 * The commits that touch one of `paths`, by the documented rule (one path at a time, as GitHub's
 * `path` filter is asked): a commit adding a file under the path; a merge commit when it adds one
 * itself, or when the commits reachable only from its first parent and those reachable only from
 * its second parent both add one (its tree then differs from both parents there).
 */
export function commitsTouching(dataset: GithubDataset, repo: string, paths: string[]): Set<string> {
  const graph = graphOf(dataset, repo);
  const out = new Set<string>();
  for (const path of paths) {
    const dir = path.endsWith('/') ? path : `${path}/`;
    const adds = (c: SimCommit) => (c.files ?? []).some((f) => f.startsWith(dir));
    for (const c of graph.values()) {
      if (adds(c)) {
        out.add(c.sha);
        continue;
      }
      if (c.parents.length !== 2) continue;
      const [a, b] = c.parents.map((p) => ancestors(graph, p)) as [Set<string>, Set<string>];
      const onlyA = [...a].filter((x) => !b.has(x));
      const onlyB = [...b].filter((x) => !a.has(x));
      if (onlyA.some((x) => adds(graph.get(x)!)) && onlyB.some((x) => adds(graph.get(x)!))) out.add(c.sha);
    }
  }
  return out;
}

/**
 * Lead times (seconds) of the deployments to `environments` of `repo` in the window: in each
 * environment, D after P ships the commits reachable from D and not from P that no earlier
 * deployment of that environment shipped (nor is the sha of one); with `paths`, only those touching them.
 */
export function expectedMonorepoLeadTimes(dataset: GithubDataset, repo: string, environments: string[], paths: string[] | null, at: number, windowDays: number): number[] {
  const graph = graphOf(dataset, repo);
  const touching = paths ? commitsTouching(dataset, repo, paths) : null;
  const from = at - windowDays * DAY;
  const values: number[] = [];
  for (const env of environments) {
    const deployed = new Set<string>();
    let prev: SimSuccess | null = null;
    for (const d of successesOf(dataset, repo, env)) {
      if (prev !== null && prev.sha !== d.sha) {
        const before = ancestors(graph, prev.sha);
        for (const sha of ancestors(graph, d.sha)) {
          if (before.has(sha) || deployed.has(sha)) continue;
          deployed.add(sha);
          if (touching && !touching.has(sha)) continue;
          if (d.deployedAt > from && d.deployedAt <= at) values.push((d.deployedAt - Date.parse(graph.get(sha)!.date)) / 1000);
        }
      }
      deployed.add(d.sha);
      prev = d;
    }
  }
  return values;
}

/** Successful deployments to any of `environments` in the window, per day. */
export function expectedMonorepoFrequency(dataset: GithubDataset, repo: string, environments: string[], at: number, windowDays: number): number {
  const from = at - windowDays * DAY;
  return environments.flatMap((e) => successesOf(dataset, repo, e)).filter((d) => d.deployedAt > from && d.deployedAt <= at).length / windowDays;
}

/** Rollbacks among the deployments in the window, each environment its own sequence; null without deployments. */
export function expectedMonorepoRollbackRate(dataset: GithubDataset, repo: string, environments: string[], at: number, windowDays: number): { rate: number | null; rollbacks: number } {
  const from = at - windowDays * DAY;
  let total = 0;
  let rollbacks = 0;
  for (const env of environments) {
    const list = successesOf(dataset, repo, env);
    list.forEach((d, i) => {
      if (!(d.deployedAt > from && d.deployedAt <= at)) return;
      total++;
      if (i > 0 && list[i - 1]!.sha !== d.sha && list.slice(0, i).some((e) => e.sha === d.sha)) rollbacks++;
    });
  }
  return { rate: total === 0 ? null : rollbacks / total, rollbacks };
}
