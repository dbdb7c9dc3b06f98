// The report as one self-contained HTML page: inline CSS and SVG, no script, no external request
// (a strict Content-Security-Policy in the page says so to the browser too).
import { formatInstantDay, percentText, scoreText } from './format.js';
import { escapeXml as esc, trajectorySvg } from './chart.js';
import type { ReportModel, ReportObjective, ReportKeyResult } from './model.js';

const CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;margin:0;background:#f6f7f9}
main{max-width:900px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:0}h3{font-size:16px;margin:0 0 6px}
.meta{color:#5b6475;font-size:13px}
section.objective{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:18px 20px;margin:18px 0}
.head{display:flex;justify-content:space-between;align-items:baseline;gap:12px}
.score{font-size:28px;font-weight:700}.score.good{color:#1a7f37}.score.mid{color:#9a6700}.score.bad{color:#cf222e}
.kr{border-top:1px solid #eef0f4;padding:12px 0}
.kr table{border-collapse:collapse;font-size:13px;margin:4px 0}.kr td{padding:1px 12px 1px 0}
svg.trajectory{width:100%;height:auto;background:#fbfcfd;border:1px solid #eef0f4;border-radius:4px}
svg .values{fill:none;stroke:#0969da;stroke-width:2}svg .expected{fill:none;stroke:#8c959f;stroke-width:1.5;stroke-dasharray:6 4}
svg .target{fill:none;stroke:#1a7f37;stroke-width:1.5}svg .revision{stroke:#bf8700;stroke-width:1.5;stroke-dasharray:2 3}
svg .last{fill:#0969da}svg text{fill:#8c959f;font-size:13px}
.legend span{margin-right:14px;font-size:12px;color:#5b6475}.legend i{display:inline-block;width:18px;height:0;border-top:2px solid;vertical-align:middle;margin-right:4px}
ol.checkins{padding-left:20px}ol.checkins li{margin:6px 0}.note{white-space:pre-wrap}
.revisions li{color:#7d4e00}.carried td,.carried th{text-align:left;padding:2px 12px 2px 0}
.status{font-size:12px;padding:1px 6px;border-radius:10px;background:#eef0f4}
`;

const scoreClass = (s: number | null) => (s === null ? '' : s >= 0.7 ? 'good' : s >= 0.4 ? 'mid' : 'bad');

function keyResultHtml(kr: ReportKeyResult, o: ReportObjective, m: ReportModel): string {
  const rows: [string, string][] = [
    ['Value', `${esc(kr.shown.value)} (baseline ${esc(kr.shown.baseline)}, target ${esc(kr.shown.target)})`],
    ['Progress', `${percentText(kr.progress)} (expected ${percentText(kr.expected)})`],
    [o.final ? 'Score' : 'Score so far', scoreText(kr.score ?? (kr.progress === null ? null : Math.round(kr.progress * 10) / 10))],
  ];
  if (kr.revisedScore) {
    rows.push(['Against the original target', `${scoreText(kr.revisedScore.original.score)} (target ${kr.revisedScore.original.target ?? 'none'})`]);
    rows.push(['Against the revised target', `${scoreText(kr.revisedScore.revised.score)} (target ${kr.revisedScore.revised.target ?? 'none'})`]);
  }
  if (kr.error) rows.push(['Note', esc(kr.error)]);
  const revisions = kr.revisions.length
    ? `<ul class="revisions">${kr.revisions.map((r) => `<li>${formatInstantDay(r.at, m.timezone)}: ${esc(r.change)}${r.note ? ` — ${esc(r.note)}` : ''}</li>`).join('')}</ul>`
    : '';
  return `<div class="kr" id="kr-${esc(o.id)}-${esc(kr.id)}" data-kr="${esc(kr.id)}">
<h3>${esc(kr.title)} <span class="status">${esc(kr.status.replace('_', ' '))}</span></h3>
<table>${rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table>
${trajectorySvg(kr, Math.max(o.period.start, m.range.start), Math.min(o.period.end, m.range.end), o.period)}
${revisions}</div>`;
}

function objectiveHtml(o: ReportObjective, m: ReportModel): string {
  const score = o.score ?? (o.progress === null ? null : Math.round(o.progress * 10) / 10);
  const checkins = o.checkins.length
    ? `<ol class="checkins">${o.checkins.map((c) => `<li><b>${formatInstantDay(c.at, m.timezone)}</b>, ${esc(c.by)}: confidence ${c.confidence.toFixed(2)}${c.note ? ` — <span class="note">${esc(c.note)}</span>` : ''}</li>`).join('')}</ol>`
    : '<p class="meta">No check-ins in the period.</p>';
  return `<section class="objective" id="objective-${esc(o.id)}" data-objective="${esc(o.id)}">
<div class="head"><div><h2>${esc(o.title)}</h2><div class="meta">${esc(o.id)} · ${esc(o.owner)} · ${formatInstantDay(o.period.start, m.timezone)} to ${formatInstantDay(o.period.end - 1, m.timezone)}</div></div>
<div class="score ${scoreClass(score)}" title="${o.final ? 'final score' : 'score so far'}">${scoreText(score)}</div></div>
<h3>Check-ins</h3>${checkins}
${o.keyResults.map((kr) => keyResultHtml(kr, o, m)).join('\n')}
</section>`;
}

export function renderHtml(m: ReportModel): string {
  const carried = m.carriedOver.length
    ? `<table class="carried"><tr><th>Objective</th><th>Key result</th><th>Score</th><th>Status</th></tr>${m.carriedOver
        .map((c) => `<tr><td>${esc(c.objective)}</td><td>${esc(c.title)}</td><td>${scoreText(c.score ?? (c.progress === null ? null : Math.round(c.progress * 10) / 10))}</td><td>${esc(c.status.replace('_', ' '))}</td></tr>`)
        .join('')}</table>`
    : '<p>Nothing: every key result reached 0.7 or was achieved.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(m.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(m.title)}</h1>
<div class="meta">As of ${formatInstantDay(m.at, m.timezone)} (${esc(m.timezone)}); generated by kr-tracker ${new Date(m.generatedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC. Scores are 0.0-1.0; 0.7 counts as success for an aspirational key result.</div>
<div class="legend"><span><i style="border-color:#0969da"></i>values</span><span><i style="border-color:#8c959f;border-top-style:dashed"></i>expected</span><span><i style="border-color:#1a7f37"></i>target</span><span><i style="border-color:#bf8700;border-top-style:dotted"></i>revision</span></div>
${m.objectives.map((o) => objectiveHtml(o, m)).join('\n')}
<section class="objective" id="carried-over"><h2>Carried over</h2><p class="meta">Key results below 0.7 and not achieved.</p>${carried}</section>
</main></body></html>
`;
}
