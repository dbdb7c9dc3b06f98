// The report as Markdown, for pasting into a wiki: the same numbers, a sparkline instead of a chart.
import { sparkline } from './chart.js';
import { formatInstantDay, percentText, scoreText } from './format.js';
import type { ReportModel } from './model.js';

/** Table cells: no line breaks, no unescaped pipes. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
/** Text outside tables: Markdown and HTML markup shown as written. */
const text = (s: string) => s.replace(/([\\`*_[\]<>#|])/g, '\\$1').replace(/\s*\n\s*/g, ' ');

export function renderMarkdown(m: ReportModel): string {
  const out: string[] = [`# ${text(m.title)}`, '', `As of ${formatInstantDay(m.at, m.timezone)} (${m.timezone}). Scores are 0.0-1.0; 0.7 counts as success for an aspirational key result.`, ''];
  for (const o of m.objectives) {
    const score = o.score ?? (o.progress === null ? null : Math.round(o.progress * 10) / 10);
    out.push(`## ${text(o.title)} — ${o.final ? 'score' : 'score so far'} ${scoreText(score)}`, '', `${o.id} · ${text(o.owner)} · ${formatInstantDay(o.period.start, m.timezone)} to ${formatInstantDay(o.period.end - 1, m.timezone)}`, '');
    out.push('| Key result | Value | Target | Progress | Score | Status | Trajectory |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const kr of o.keyResults) {
      const s = kr.score ?? (kr.progress === null ? null : Math.round(kr.progress * 10) / 10);
      out.push(`| ${cell(kr.title)} | ${cell(kr.shown.value)} | ${cell(kr.shown.target)} | ${percentText(kr.progress)} | ${scoreText(s)} | ${kr.status.replace('_', ' ')} | ${sparkline(kr.points.map((p) => p.value))} |`);
    }
    const revised = o.keyResults.filter((k) => k.revisions.length);
    if (revised.length) {
      out.push('', '**Revisions**', '');
      for (const kr of revised) {
        for (const r of kr.revisions) out.push(`- ${formatInstantDay(r.at, m.timezone)} ${text(kr.title)}: ${text(r.change)}${r.note ? ` — ${text(r.note)}` : ''}`);
        if (kr.revisedScore) out.push(`  - score against the original target ${scoreText(kr.revisedScore.original.score)}, against the revised target ${scoreText(kr.revisedScore.revised.score)}`);
      }
    }
    out.push('', '**Check-ins**', '');
    if (!o.checkins.length) out.push('No check-ins in the period.');
    for (const c of o.checkins) out.push(`1. ${formatInstantDay(c.at, m.timezone)}, ${text(c.by)}: confidence ${c.confidence.toFixed(2)}${c.note ? ` — ${text(c.note)}` : ''}`);
    out.push('');
  }
  out.push('## Carried over', '');
  if (!m.carriedOver.length) out.push('Nothing: every key result reached 0.7 or was achieved.');
  for (const c of m.carriedOver) out.push(`- ${c.objective}: ${text(c.title)} (score ${scoreText(c.score ?? (c.progress === null ? null : Math.round(c.progress * 10) / 10))}, ${c.status.replace('_', ' ')})`);
  return out.join('\n') + '\n';
}
