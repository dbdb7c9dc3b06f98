// A KR's trajectory as inline SVG: the values recorded in the period, the expected straight line
// from baseline to target, the target, and a mark at each revision. No script, no external file.
import type { ReportKeyResult } from './model.js';

const W = 640;
const H = 180;
const PAD = { left: 8, right: 8, top: 12, bottom: 18 };

export const escapeXml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const f = (x: number) => (Math.round(x * 10) / 10).toString();

/**
 * The chart of one KR over [start, end]. Paths carry a class (`values`, `expected`, `target`) so
 * that a test can count them; `expected` exists for increase/decrease KRs with a baseline.
 */
export function trajectorySvg(kr: ReportKeyResult, start: number, end: number, period: { start: number; end: number }): string {
  const expected = (kr.kind === 'increase' || kr.kind === 'decrease') && kr.baseline !== null && kr.target !== null;
  const ys = [...kr.points.map((p) => p.value), ...(kr.target === null ? [] : [kr.target]), ...(kr.baseline === null || !expected ? [] : [kr.baseline])];
  if (!ys.length) return `<svg class="trajectory empty" viewBox="0 0 ${W} ${H}" role="img" aria-label="no values"><text x="${W / 2}" y="${H / 2}" text-anchor="middle">no values recorded in the period</text></svg>`;
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (hi === lo) {
    hi += Math.abs(hi) * 0.1 || 1;
    lo -= Math.abs(lo) * 0.1 || 1;
  }
  const span = hi - lo;
  lo -= span * 0.08;
  hi += span * 0.08;
  const x = (t: number) => PAD.left + ((Math.min(Math.max(t, start), end) - start) / (end - start)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [];
  if (kr.target !== null) parts.push(`<path class="target" d="M${f(x(start))} ${f(y(kr.target))}H${f(x(end))}"/>`);
  if (expected) {
    // The straight trajectory of the whole period, read at the chart's edges.
    const on = (t: number) => kr.baseline! + (kr.target! - kr.baseline!) * ((t - period.start) / (period.end - period.start));
    parts.push(`<path class="expected" d="M${f(x(start))} ${f(y(on(start)))}L${f(x(end))} ${f(y(on(end)))}"/>`);
  }
  for (const r of kr.revisions) parts.push(`<line class="revision" x1="${f(x(r.at))}" x2="${f(x(r.at))}" y1="${PAD.top}" y2="${H - PAD.bottom}"><title>${escapeXml(r.change)}</title></line>`);
  if (kr.points.length) {
    const d = kr.points.map((p, i) => `${i ? 'L' : 'M'}${f(x(p.at))} ${f(y(p.value))}`).join('');
    parts.push(`<path class="values" d="${d}"/>`);
    const last = kr.points.at(-1)!;
    parts.push(`<circle class="last" cx="${f(x(last.at))}" cy="${f(y(last.value))}" r="3"/>`);
  }
  const label = `${kr.title}: ${kr.points.length} values; target ${kr.shown.target}`;
  return `<svg class="trajectory" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(label)}">${parts.join('')}</svg>`;
}

/** `▁▂▅▇`: the values as a line of block characters, for Markdown. */
export function sparkline(values: readonly number[], width = 24): string {
  if (!values.length) return '';
  const step = Math.max(1, Math.ceil(values.length / width));
  const picked = values.filter((_, i) => i % step === 0 || i === values.length - 1);
  const lo = Math.min(...picked);
  const hi = Math.max(...picked);
  const blocks = '▁▂▃▄▅▆▇█';
  return picked.map((v) => blocks[hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * 7)]).join('');
}
