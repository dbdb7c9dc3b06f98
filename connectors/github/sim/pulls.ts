// Pull requests of the simulated repositories (connectors/github/sim/dataset.ts calls
// `generatePulls` for each repository): every pull-request commit of the default branch's line
// (message ending in `(#N)`) is the result of merging pull request N, in one of GitHub's three ways
// (https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/about-merge-methods-on-github):
// - merge commit: the line commit has two parents; the PR's commits are the feature branch
//   (the dataset's `branchCommits` reached from the second parent), authored when committed;
// - squash: the line commit (single parent) is the squash; its author date is the merge time; the
//   PR's own commits (1-4, older) are not on the branch and are listed only by the pull request;
// - rebase: 2-3 consecutive pull-request commits of the line are the rebased copies of the PR's
//   commits: new shas and committer dates, the original author dates (`authorDate`, not always in
//   order: commits reordered in an interactive rebase), `merge_commit_sha` the last of them.
// Around them: PRs closed without merging, PRs merged into a release branch (filtered out by
// `base=main`), open PRs, and PRs updated after their merge (a late comment). About 8% of the
// merged PRs were opened before their first commit (a draft opened early), so `coding` would be
// negative. Deterministic for a seed; draws only from the `rnd` given.
// This file imports nothing from dataset.ts (which imports it): the commit shape is restated.
import { createHash } from 'node:crypto';
import type { Random } from '../../sim/random.js';
import { DAY, HOUR, MIN, SEC } from '../../sim/time.js';

/** A commit as dataset.ts keeps it (SimCommit). */
export interface PullLineCommit {
  sha: string;
  date: string;
  /** The author date when it differs from `date` (squash and rebase merges). */
  authorDate?: string;
  message: string;
  author: string;
  parents: string[];
}

/** One of the PR's own commits, as `GET /repos/{o}/{r}/pulls/{n}/commits` lists them (PR order). */
export interface SimPullCommit {
  sha: string;
  /** `commit.author.date`. */
  authorDate: string;
  /** `commit.committer.date`. */
  date: string;
  message: string;
  author: string;
  parents: string[];
}

export type SimMergeMethod = 'merge' | 'squash' | 'rebase';

export interface SimPull {
  number: number;
  id: number;
  title: string;
  author: string;
  state: 'open' | 'closed';
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  merged_at: string | null;
  /** The branch it was opened against (the default branch, or `release/1.x`). */
  base: string;
  head: string;
  merge_commit_sha: string | null;
  /** null: not merged. */
  method: SimMergeMethod | null;
  commits: SimPullCommit[];
}

/**
 * Id of pull request `number` of the dataset's `repoIndex`-th repository: global, as on GitHub
 * (ids below 2^31, so that GraphQL's 32-bit `databaseId` can show them).
 */
export function pullId(repoIndex: number, number: number): number {
  return 1_500_000_000 + repoIndex * 1_000_000 + number;
}

function iso(ms: number): string {
  return new Date(Math.floor(ms / SEC) * SEC).toISOString().replace('.000Z', 'Z');
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

const PR_NUMBER = /\(#(\d+)\)$/;

/**
 * The pull requests behind `line` (the default branch's first-parent line, oldest first) and a few
 * that did not land on it. Sets `authorDate` on the squash and rebased line commits (author date
 * <= committer date). `branchCommits`: the feature-branch commits of the merge commits.
 */
export function generatePulls(rnd: Random, seed: number, fullName: string, repoIndex: number, line: PullLineCommit[], branchCommits: readonly PullLineCommit[], toMs: number, defaultBranch = 'main'): SimPull[] {
  const bySha = new Map(branchCommits.map((c) => [c.sha, c]));
  const pulls: SimPull[] = [];
  let maxNumber = 0;
  const finish = (p: Omit<SimPull, 'id' | 'updated_at' | 'state' | 'closed_at'> & { closedMs: number | null }): void => {
    const { closedMs, ...rest } = p;
    const last = closedMs ?? Date.parse(p.created_at);
    // A third get a later comment or label after closing.
    const updated = Math.min(toMs, last + (rnd.chance(0.3) ? rnd.int(1, 5 * 24 * 60) * MIN : 0));
    pulls.push({ ...rest, id: pullId(repoIndex, p.number), state: closedMs === null ? 'open' : 'closed', closed_at: closedMs === null ? null : iso(closedMs), updated_at: iso(Math.max(updated, last)) });
    maxNumber = Math.max(maxNumber, p.number);
  };
  /** created_at: after the first commit, before the merge; sometimes before the first commit. */
  const openedAt = (firstMs: number, mergedMs: number): number => {
    if (rnd.chance(0.08)) return firstMs - rnd.int(10, 6 * 60) * MIN;
    return Math.min(firstMs + rnd.int(1, 24 * 60) * MIN, mergedMs - MIN);
  };

  for (let i = 1; i < line.length; i++) {
    const c = line[i] as PullLineCommit;
    const m = PR_NUMBER.exec(c.message);
    if (!m) continue;
    const number = Number(m[1]);
    const mergedMs = Date.parse(c.date);
    const title = c.message.replace(/ \(#\d+\)$/, '');
    const base = { number, title, author: c.author, base: defaultBranch, head: `${c.author}/pr-${number}`, merged_at: c.date };
    if (c.parents.length === 2) {
      // Merge commit: the branch from the second parent back to the line.
      const own: SimPullCommit[] = [];
      for (let x = bySha.get(c.parents[1] as string); x; x = bySha.get(x.parents[0] ?? '')) own.push({ ...x, authorDate: x.date });
      own.reverse();
      const firstMs = Math.min(...own.map((x) => Date.parse(x.authorDate)));
      finish({ ...base, created_at: iso(openedAt(firstMs, mergedMs)), merge_commit_sha: c.sha, method: 'merge', commits: own, closedMs: mergedMs });
      continue;
    }
    // Rebase: this commit and the next one or two pull-request commits of the line.
    const group = [c];
    if (rnd.chance(0.3)) {
      const want = rnd.int(1, 2);
      for (let k = i + 1; k < line.length && group.length <= want; k++) {
        const n = line[k] as PullLineCommit;
        if (n.parents.length !== 1 || !PR_NUMBER.test(n.message) || Date.parse(n.date) - mergedMs > 6 * HOUR) break;
        group.push(n);
      }
    }
    if (group.length > 1) {
      const lastCommit = group[group.length - 1] as PullLineCommit;
      const lastMs = Date.parse(lastCommit.date);
      const own: SimPullCommit[] = group.map((g, k) => {
        // Authored before the first rebased copy landed, in any order.
        const authored = mergedMs - rnd.int(20, 3 * 24 * 60) * MIN;
        g.authorDate = iso(authored);
        return { sha: sha1(`${seed}:${fullName}:pr-${number}:orig:${k}`), authorDate: g.authorDate, date: g.authorDate, message: g.message.replace(/ \(#\d+\)$/, ''), author: g.author, parents: [] };
      });
      own.forEach((x, k) => (x.parents = [k === 0 ? (line[i - 1] as PullLineCommit).sha : (own[k - 1] as SimPullCommit).sha]));
      const firstMs = Math.min(...own.map((x) => Date.parse(x.authorDate)));
      finish({ ...base, merged_at: lastCommit.date, created_at: iso(openedAt(firstMs, mergedMs)), merge_commit_sha: lastCommit.sha, method: 'rebase', commits: own, closedMs: lastMs });
      i += group.length - 1;
      continue;
    }
    // Squash: 1-4 commits of the PR, older than the merge; the squash commit is authored at the merge.
    c.authorDate = c.date;
    const n = 1 + Math.min(3, rnd.poisson(1));
    const startMs = mergedMs - rnd.int(30, 4 * 24 * 60) * MIN;
    const times = Array.from({ length: n }, () => startMs + rnd.int(0, Math.max(0, Math.floor((mergedMs - 2 * MIN - startMs) / SEC))) * SEC).sort((a, b) => a - b);
    let parent = (line[i - 1] as PullLineCommit).sha;
    const own: SimPullCommit[] = times.map((t, k) => {
      const x: SimPullCommit = { sha: sha1(`${seed}:${fullName}:pr-${number}:squashed:${k}:${t}`), authorDate: iso(t), date: iso(t), message: k === 0 ? title : `fixup (${k})`, author: c.author, parents: [parent] };
      parent = x.sha;
      return x;
    });
    finish({ ...base, created_at: iso(openedAt(times[0] as number, mergedMs)), merge_commit_sha: c.sha, method: 'squash', commits: own, closedMs: mergedMs });
  }

  // PRs that did not land on the default branch: closed unmerged, merged into a release branch, open.
  const fromMs = line.length > 0 ? Date.parse((line[0] as PullLineCommit).date) : toMs - 30 * DAY;
  const extra = Math.max(2, Math.floor(pulls.length / 12));
  for (let k = 0; k < extra; k++) {
    const number = maxNumber + 1;
    const kind = k === extra - 1 ? 'open' : rnd.pick(['closed', 'closed', 'release'] as const);
    const firstMs = rnd.int(Math.floor(fromMs / MIN), Math.floor((toMs - 2 * DAY) / MIN)) * MIN;
    const closedMs = Math.min(toMs, firstMs + rnd.int(60, 3 * 24 * 60) * MIN);
    const author = line[rnd.int(0, Math.max(0, line.length - 1))]?.author ?? 'octocat';
    const own: SimPullCommit[] = [{ sha: sha1(`${seed}:${fullName}:pr-${number}:extra`), authorDate: iso(firstMs), date: iso(firstMs), message: 'wip', author, parents: [] }];
    const release = kind === 'release';
    finish({
      number,
      title: release ? 'backport: fix for the 1.x line' : kind === 'open' ? 'draft: explore a new cache' : 'experiment: try another client',
      author,
      base: release ? 'release/1.x' : defaultBranch,
      head: `${author}/pr-${number}`,
      created_at: iso(firstMs + MIN),
      merged_at: release ? iso(closedMs) : null,
      merge_commit_sha: release ? sha1(`${seed}:${fullName}:pr-${number}:release-merge`) : null,
      method: release ? 'merge' : null,
      commits: own,
      closedMs: kind === 'open' ? null : closedMs,
    });
  }
  return pulls.sort((a, b) => a.number - b.number);
}

/**
 * A pull request merged now into the default branch of `line` (tests of incremental syncs): the
 * line gains the squash, merge or rebased commits; `commits` are the PR's own commits' author
 * dates (ms), in PR order. Returns the PR. `branchCommits` receives a merge's feature branch.
 */
export function mergeNewPull(
  line: PullLineCommit[],
  branchCommits: PullLineCommit[],
  pulls: SimPull[],
  input: { number: number; method: SimMergeMethod; createdAt: number; mergedAt: number; commits: number[]; author?: string; title?: string; fullName: string; repoIndex: number },
): SimPull {
  const author = input.author ?? 'chen-wei';
  const title = input.title ?? `feat: change ${input.number}`;
  const head = line[line.length - 1];
  let parent = head?.sha ?? '';
  const own: SimPullCommit[] = input.commits.map((t, k) => {
    const x: SimPullCommit = { sha: sha1(`${input.fullName}:new-pr-${input.number}:${k}:${t}`), authorDate: iso(t), date: iso(t), message: `${title} (part ${k + 1})`, author, parents: [parent] };
    parent = x.sha;
    return x;
  });
  let mergeSha: string;
  if (input.method === 'merge') {
    for (const x of own) branchCommits.push({ sha: x.sha, date: x.date, message: x.message, author, parents: x.parents });
    mergeSha = sha1(`${input.fullName}:new-pr-${input.number}:merge`);
    line.push({ sha: mergeSha, date: iso(input.mergedAt), message: `${title} (#${input.number})`, author, parents: [head?.sha ?? '', parent] });
  } else if (input.method === 'squash') {
    mergeSha = sha1(`${input.fullName}:new-pr-${input.number}:squash`);
    line.push({ sha: mergeSha, date: iso(input.mergedAt), authorDate: iso(input.mergedAt), message: `${title} (#${input.number})`, author, parents: head ? [head.sha] : [] });
  } else {
    let p = head?.sha ?? '';
    mergeSha = p;
    own.forEach((x, k) => {
      mergeSha = sha1(`${input.fullName}:new-pr-${input.number}:rebased:${k}`);
      line.push({ sha: mergeSha, date: iso(input.mergedAt), authorDate: x.authorDate, message: x.message, author, parents: p ? [p] : [] });
      p = mergeSha;
    });
  }
  const pull: SimPull = {
    number: input.number,
    id: pullId(input.repoIndex, input.number),
    title,
    author,
    state: 'closed',
    created_at: iso(input.createdAt),
    updated_at: iso(input.mergedAt),
    closed_at: iso(input.mergedAt),
    merged_at: iso(input.mergedAt),
    base: 'main',
    head: `${author}/pr-${input.number}`,
    merge_commit_sha: mergeSha,
    method: input.method,
    commits: own,
  };
  pulls.push(pull);
  return pull;
}
