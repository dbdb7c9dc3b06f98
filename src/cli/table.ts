import { unitOf } from '../metrics/catalogue/units.js';
import { describeObjectiveProgress, objectiveTree } from '../engine/objective-progress.js';
import type { ObjectiveView } from '../exporters/objectives-view.js';
import type { SourceView } from '../exporters/sources-view.js';

/** A value in its unit as the tables print it: `12.5%`, `3.2 h`, `-` for none. */
export const fmt = (v: number | null, unit: string): string => {
  if (v === null) return '-';
  const n = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
  const known = unitOf(unit);
  if (known) return known.short(v, n);
  return unit ? `${n} ${unit}` : n;
};

const bar = (progress: number | null, expected: number | null, width = 20): string => {
  if (progress === null) return ' '.repeat(width + 2);
  const filled = Math.round(progress * width);
  const chars = [...'#'.repeat(filled) + '.'.repeat(width - filled)];
  if (expected !== null) chars[Math.min(width - 1, Math.round(expected * width))] = '|';
  return `[${chars.join('')}]`;
};

/** A message on one line (a PromQL error quotes the query on a line of its own), so rows stay rows. */
export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, '; ').trim();

const COLOURS: Record<string, string> = { on_track: '32', achieved: '34', at_risk: '33', off_track: '31', no_data: '90' };

/** The objectives as a plain table; `colour` adds ANSI colours to statuses (a terminal). */
export function renderTable(view: ObjectiveView[], colour = false): string {
  const lines: string[] = [];
  for (const o of view) {
    const p = describeObjectiveProgress({ progress: o.progress, withData: o.keyResultsWithData, withoutData: o.keyResultsWithoutData });
    lines.push(`${o.title} (${o.id}, ${o.owner}) - ${p}`);
    for (const kr of o.keyResults) {
      const status = colour ? `\u001b[${COLOURS[kr.status] ?? '0'}m${kr.status}\u001b[0m` : kr.status;
      lines.push(
        `  ${kr.id.padEnd(22)} ${fmt(kr.value, kr.unit).padStart(12)} -> ${fmt(kr.target, kr.unit).padEnd(12)} ${bar(kr.progress, kr.expected)} ${status}` +
          (kr.error ? `  (${oneLine(kr.error)})` : ''),
      );
      // The breakdown, worst first: which repository (service) pulls the key result.
      for (const c of kr.components ?? []) lines.push(`    ${(c.repository ?? c.service ?? '').padEnd(22)} ${fmt(c.value, kr.unit).padStart(12)}`);
    }
  }
  lines.push('', 'bar: # progress, | where the straight trajectory expects it today');
  return lines.join('\n') + '\n';
}

/**
 * The objectives as their alignment tree (`parent:` links): each objective under its parent,
 * indented, with its rolled-up progress bar, status and key results. `colour` adds ANSI colours.
 */
export function renderTree(view: ObjectiveView[], colour = false): string {
  const paint = (status: string) => (colour ? `\u001b[${COLOURS[status] ?? '0'}m${status}\u001b[0m` : status);
  const lines: string[] = [];
  for (const { objective: o, depth } of objectiveTree(view)) {
    const indent = '    '.repeat(depth);
    const branch = depth === 0 ? '' : '└─ ';
    const pad = depth === 0 ? '' : '   ';
    const progress = o.progress === null ? 'no data' : `${Math.round(o.progress * 100)}%`;
    const missing = [
      o.keyResultsWithoutData ? `${o.keyResultsWithoutData} key result${o.keyResultsWithoutData === 1 ? '' : 's'}` : '',
      o.childrenWithoutData ? `${o.childrenWithoutData} child objective${o.childrenWithoutData === 1 ? '' : 's'}` : '',
    ].filter(Boolean);
    const note = missing.length ? `  (${missing.join(' and ')} without data)` : '';
    const weight = o.parent !== null && o.weight !== 1 ? `, weight ${o.weight}` : '';
    lines.push(`${indent}${branch}${o.title} (${o.id}, ${o.owner}${weight})`);
    lines.push(`${indent}${pad}  ${bar(o.progress, o.expected)} ${progress.padStart(7)} ${paint(o.status)}${note}`);
    for (const kr of o.keyResults) {
      lines.push(`${indent}${pad}  - ${kr.id.padEnd(22)} ${bar(kr.progress, kr.expected, 10)} ${(kr.progress === null ? '-' : `${Math.round(kr.progress * 100)}%`).padStart(4)} ${paint(kr.status)}`);
    }
  }
  lines.push('', "bar: # progress (a parent's rolled up from its key results and children), | where the straight trajectory expects it today");
  return lines.join('\n') + '\n';
}

/** HH:MM in the local time zone (`TZ`), with the day in front when it is not today. */
export function clockTime(iso: string, now: number): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = (x: Date) => `${x.getFullYear()}-${pad(x.getMonth() + 1)}-${pad(x.getDate())}`;
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return day(d) === day(new Date(now)) ? hm : `${day(d)} ${hm}`;
}

/** A stream's state in words: synced, 42%, waiting for the rate limit until 14:05, failed: reason. */
export function describeStream(s: SourceView, now: number): string {
  switch (s.state) {
    case 'synced':
      return s.note ? `synced (${s.note})` : 'synced';
    case 'syncing':
      return s.progress === null ? 'syncing' : `${Math.floor(s.progress * 100)}%`;
    case 'waiting':
      return s.waitingUntil ? `waiting for the rate limit until ${clockTime(s.waitingUntil, now)}` : 'waiting for the rate limit';
    case 'failed':
      return `failed: ${s.lastError ?? 'unknown error'}`;
    case 'pending':
      return 'not synced yet';
  }
}

/** `github deployments acme/payments@production`: how a stream is named to people. */
export const streamLabel = (s: Pick<SourceView, 'source' | 'stream' | 'key'>) => `${s.source} ${s.stream} ${s.key}`;

/** The streams under the key results: one line each with its state. */
export function renderSources(view: SourceView[], now: number, colour = false): string {
  if (view.length === 0) return '';
  const width = Math.max(...view.map((s) => streamLabel(s).length));
  const tint: Record<SourceView['state'], string> = { synced: '32', syncing: '36', waiting: '33', failed: '31', pending: '90' };
  const lines = ['Sources'];
  for (const s of view) {
    const text = describeStream(s, now);
    lines.push(`  ${streamLabel(s).padEnd(width)}  ${colour ? `\u001b[${tint[s.state]}m${text}\u001b[0m` : text}`);
  }
  return lines.join('\n') + '\n';
}

/** A progress bar on a stream: redrawn in place on a terminal, a line per 10% otherwise. */
export function progressBar(out: NodeJS.WriteStream): (done: number, total: number, label: string) => void {
  let lastDecile = -1;
  return (done, total, label) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`;
    if (out.isTTY) {
      out.write(`\r${line}${done === total ? '\n' : ''}`);
      return;
    }
    const decile = total === 0 ? 10 : Math.floor((done / total) * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      out.write(line + '\n');
    }
  };
}
