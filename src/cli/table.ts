import { describeObjectiveProgress } from '../engine/objective-progress.js';
import type { ObjectiveView } from '../exporters/objectives-view.js';

const fmt = (v: number | null, unit: string): string => {
  if (v === null) return '-';
  if (unit === 'ratio') return `${(v * 100).toFixed(1)}%`;
  const n = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
  return unit === 'per_day' ? `${n}/day` : unit === 'seconds' ? `${n}s` : unit ? `${n} ${unit}` : n;
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
    }
  }
  lines.push('', 'bar: # progress, | where the straight trajectory expects it today');
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
