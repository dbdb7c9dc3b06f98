// What alerts say, independent of the channel: a title, a summary, labelled fields (key result,
// value against target, progress against expected, forecast), a dashboard link and machine-readable
// details. Channels render this; none of it comes from channel config, so no secret is in it.
import { formatValue } from '../config/lint-wording.js';
import { number } from '../lib/format.js';
import { offsetAt } from '../config/timezone.js';
import type { KeyResult, Objective } from '../config/types.js';
import { NO_FORECAST_TEXT } from '../engine/progress.js';
import { STATUS_WORDS, type EvaluationResult } from '../core/result.js';
import type { AlertEvent, Condition, Message, MessageField } from './types.js';

export interface MessageContext {
  timezone: string;
  dashboardUrl?: (objectiveId: string) => string;
  /** The API URL of a key result's explanation (the inputs behind its value, `krt explain`). */
  explainUrl?: (objectiveId: string, keyResultId: string) => string;
  /** Scrubs secret values from text that comes from elsewhere (source errors). */
  redact?: (text: string) => string;
}

const CONDITION_WORDS: Record<Condition, string> = {
  at_risk: 'at risk',
  off_track: 'off track',
  stale: 'without fresh data',
  forecast_miss: 'forecast to miss its target',
};

/** `2026-11-02 09:30 Europe/Berlin`: wall-clock time in the OKR file's zone. */
export function formatInstant(ms: number, timeZone: string): string {
  return `${new Date(ms + offsetAt(ms, timeZone)).toISOString().slice(0, 16).replace('T', ' ')} ${timeZone}`;
}

export const percent = (x: number): string => `${number(Math.round(x * 1000) / 10)}%`;

function titleOf(e: AlertEvent, kr: KeyResult): string {
  const what = CONDITION_WORDS[e.condition];
  switch (e.reason) {
    case 'firing':
      return `${capital(what)}: ${kr.title}`;
    case 'changed':
      return `Now ${what}: ${kr.title}`;
    case 'repeat':
      return `Still ${what}: ${kr.title}`;
    case 'resolved':
      return `Resolved, no longer ${what}: ${kr.title}`;
  }
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The fields every KR message shows: value against target, progress against expected, forecast. */
export function resultFields(kr: KeyResult, objective: Objective, r: EvaluationResult | null, timeZone: string): MessageField[] {
  const fmt = (v: number | null) => (v === null ? 'no value' : formatValue(kr, v));
  if (!r) return [{ label: 'Value', value: 'not evaluated yet' }];
  const target = r.target === null ? 'no target' : `target ${fmt(r.target)}`;
  const baseline = r.baseline === null ? '' : `, baseline ${fmt(r.baseline)}`;
  const end = formatInstant(objective.period.end - 1, timeZone).slice(0, 10);
  let forecast = NO_FORECAST_TEXT;
  if (r.forecast !== null) forecast = `${fmt(r.forecast)} by ${end}`;
  return [
    { label: 'Value', value: `${fmt(r.value)} (${target}${baseline})` },
    { label: 'Progress', value: `${r.progress === null ? 'unknown' : percent(r.progress)} (expected ${percent(r.expected)})` },
    { label: 'Forecast', value: forecast },
    { label: 'Status', value: STATUS_WORDS[r.status] },
  ];
}

/** The message for one drift event of one key result. */
export function buildAlertMessage(e: AlertEvent, objective: Objective, kr: KeyResult, r: EvaluationResult | null, ctx: MessageContext): Message {
  const redact = ctx.redact ?? ((t: string) => t);
  const tz = ctx.timezone;
  const since = formatInstant(e.since, tz);
  let summary: string;
  if (e.action === 'resolve') summary = `${kr.title} (objective: ${objective.title}) was ${CONDITION_WORDS[e.condition]} from ${since} until ${formatInstant(e.at, tz)}.`;
  else summary = `${kr.title} (objective: ${objective.title}) has been ${CONDITION_WORDS[e.condition]} since ${since}.`;
  const fields: MessageField[] = [{ label: 'Key result', value: `${kr.title} (${objective.id}/${kr.id})` }, ...resultFields(kr, objective, r, tz)];
  if (e.kind === 'stale' && r) {
    fields.push({ label: 'Last evaluation', value: formatInstant(r.evaluatedAt, tz) });
    if (r.error) fields.push({ label: 'Reason', value: redact(r.error) });
  }
  // Where to see which deployments, changes or incidents made the value.
  const explain = ctx.explainUrl?.(objective.id, kr.id);
  if (explain && r && r.value !== null) fields.push({ label: 'Inputs', value: explain });
  const url = ctx.dashboardUrl?.(objective.id);
  return {
    type: 'alert',
    idempotencyKey: e.idempotencyKey,
    alertKey: e.alertKey,
    action: e.action,
    severity: e.severity,
    title: titleOf(e, kr),
    summary,
    sections: [{ title: objective.title, fields }],
    link: url ? { url, text: 'Open the dashboard' } : null,
    at: e.at,
    details: {
      kind: e.kind,
      condition: e.condition,
      reason: e.reason,
      since: new Date(e.since).toISOString(),
      objective: { id: objective.id, title: objective.title },
      keyResult: { id: kr.id, title: kr.title, metric: kr.metric, unit: kr.unit, ...(explain ? { explainUrl: explain } : {}) },
      result: r && {
        status: r.status,
        value: r.value,
        baseline: r.baseline,
        target: r.target,
        progress: r.progress,
        expected: r.expected,
        forecast: r.forecast,
        evaluatedAt: new Date(r.evaluatedAt).toISOString(),
        error: r.error === null ? null : redact(r.error),
      },
    },
  };
}

/** `krt alerts test CHANNEL`: a harmless message that says where it came from. */
export function buildTestMessage(channel: string, now: number, timeZone: string): Message {
  return {
    type: 'test',
    idempotencyKey: `test/${encodeURIComponent(channel)}/${now}`,
    alertKey: `test/${encodeURIComponent(channel)}/${now}`,
    action: 'notify',
    severity: 'info',
    title: `kr-tracker test message for channel ${channel}`,
    summary: `This is a test from \`krt alerts test ${channel}\` at ${formatInstant(now, timeZone)}; drift alerts and weekly digests for this channel will arrive like this.`,
    sections: [],
    link: null,
    at: now,
    details: { channel },
  };
}

/** The message as plain text (e-mail text part, Slack notification text, logs). */
export function messageText(m: Message): string {
  const lines = [m.title, '', m.summary];
  for (const s of m.sections) {
    lines.push('', s.title);
    for (const f of s.fields) lines.push(`  ${f.label}: ${f.value}`);
  }
  if (m.link) lines.push('', `${m.link.text}: ${m.link.url}`);
  return lines.join('\n');
}

/** The resolve for an alert whose key result left the config: its channels still hold it open. */
export function buildRemovedMessage(open: { key: string; seq: number; severity: Message['severity'] }, objectiveId: string, keyResultId: string, now: number): Message {
  return {
    type: 'alert',
    idempotencyKey: `${open.key}/${open.seq + 1}`,
    alertKey: open.key,
    action: 'resolve',
    severity: open.severity,
    title: `Resolved: key result ${objectiveId}/${keyResultId} was removed from the OKR file`,
    summary: `${objectiveId}/${keyResultId} is no longer tracked, so its alert is closed.`,
    sections: [],
    link: null,
    at: now,
    details: { reason: 'removed', objective: { id: objectiveId }, keyResult: { id: keyResultId } },
  };
}
