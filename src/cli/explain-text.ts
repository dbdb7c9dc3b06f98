// The text form of `krt explain`: the value, then one table per list of inputs.
import type { Explanation } from '../engine/explain.js';
import { humanSeconds } from '../lib/format.js';
import { fmt } from './table.js';

/** Rows as aligned columns under a header. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const when = (iso: string) => iso.replace('T', ' ').replace(/\.000Z$|Z$/, 'Z');
const secs = (s: number | null) => (s === null ? '-' : humanSeconds(Math.max(0, s)));
const yes = (b: boolean) => (b ? 'yes' : '');

/** The explanation as readable tables; `unit`: the key result's, for the value. */
export function renderExplanation(e: Explanation, unit: string): string {
  const value = fmt(e.value, unit) + (unit === 'seconds' && e.value !== null ? ` (${humanSeconds(e.value)})` : '');
  const out: string[] = [
    `${e.objective}/${e.keyResult} (${e.metric}) at ${when(e.at)}: ${value}`,
    e.window ? `window: (${when(e.window.from)}, ${when(e.window.to)}]` : 'no window: the value at the instant',
  ];
  const section = (title: string, n: number, lines: string[], summary = '') => out.push('', `${title} (${n})${summary}`, ...(n ? lines : ['  none']));
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (e.deployments) {
    const list = e.deployments;
    const n = (f: (d: (typeof list)[number]) => boolean) => list.filter(f).length;
    section(
      'deployments',
      e.deployments.length,
      table(
        ['repository', 'id', 'sha', 'deployed at', 'rollback', 'failed', 'rework', 'cause'],
        e.deployments.map((d) => [
          d.repository,
          d.id,
          d.sha.slice(0, 7),
          when(d.deployedAt),
          yes(d.rollback),
          yes(d.failed),
          yes(d.rework),
          d.cause === null ? '' : d.cause.kind === 'rollback' ? `rolled back by ${d.cause.by}` : `incident ${d.cause.incident} at ${when(d.cause.createdAt)}`,
        ]),
      ),
      `: ${n((d) => d.failed)} failed, ${n((d) => d.rework)} rework, ${count(n((d) => d.rollback), 'rollback')}`,
    );
  }
  if (e.changes) {
    section('changes', e.changes.length, table(['repository', 'sha', 'committed at', 'deployment', 'lead time'], e.changes.map((c) => [c.repository, c.sha.slice(0, 7), when(c.committedAt), c.deployment, secs(c.seconds)])));
  }
  if (e.pulls) section('pull requests', e.pulls.length, table(['repository', 'number', 'stage', 'duration'], e.pulls.map((p) => [p.repository, `#${p.number}`, p.stage, secs(p.seconds)])));
  if (e.incidents) section('incidents', e.incidents.length, table(['service', 'id', 'created at', 'duration'], e.incidents.map((i) => [i.service, i.id, when(i.createdAt), secs(i.seconds)])));
  if (e.runs) {
    section('runs', e.runs.length, table(['repository', 'id', 'conclusion', 'duration', ...(e.runs.some((r) => r.lineRate !== undefined) ? ['coverage'] : [])], e.runs.map((r) => [r.repository, String(r.id), r.conclusion ?? '-', secs(r.seconds), ...(r.lineRate !== undefined ? [fmt(r.lineRate, 'ratio')] : [])])));
  }
  return out.join('\n') + '\n';
}
