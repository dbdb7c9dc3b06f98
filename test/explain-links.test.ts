// Drift alerts and the weekly digest link to the explanation of the key result they report
// (GET /api/v1/key-results/{objective}/{kr}/explain), from the service's URL.
import { describe, expect, it } from 'vitest';
import { buildDigestMessage } from '../src/alerts/digest.js';
import { buildAlertMessage, messageText } from '../src/alerts/message.js';
import type { AlertEvent } from '../src/alerts/types.js';
import type { EvaluationResult } from '../src/core/result.js';
import { explainPath } from '../src/exporters/explain-route.js';
import { keyResult, objective } from './helpers/config.js';

const AT = Date.parse('2026-11-20T12:00:00Z');
const kr = keyResult({ id: 'change-failure-rate', metric: 'change_failure_rate', unit: 'ratio', title: 'Halve the change failure rate' });
const o = objective({ keyResults: [kr] });
const result: EvaluationResult = {
  objectiveId: 'cicd', keyResultId: kr.id, metric: kr.metric, unit: 'ratio', at: AT, evaluatedAt: AT, value: 0.3, baseline: 0.3, target: 0.15,
  kind: 'decrease', progress: 0, expected: 0.5, status: 'off_track', forecast: 0.3, score: null, error: null,
};
const event: AlertEvent = {
  objectiveId: 'cicd', keyResultId: kr.id, kind: 'status', condition: 'off_track', reason: 'firing', action: 'trigger', severity: 'critical',
  alertKey: 'cicd/change-failure-rate/status/1', seq: 1, idempotencyKey: 'cicd/change-failure-rate/status/1/1', since: AT - 3_600_000, at: AT, notified: [],
};
const ctx = { timezone: 'UTC', explainUrl: (ob: string, k: string) => explainPath(ob, k, 'https://krt.example.com/') };
const URL = 'https://krt.example.com/api/v1/key-results/cicd/change-failure-rate/explain';

describe('links to the explanation', () => {
  it('a drift alert shows the inputs behind the value it reports', () => {
    const m = buildAlertMessage(event, o, kr, result, ctx);
    expect(m.sections[0]!.fields).toContainEqual({ label: 'Inputs', value: URL });
    expect(messageText(m)).toContain(`Inputs: ${URL}`);
    expect((m.details as { keyResult: { explainUrl?: string } }).keyResult.explainUrl).toBe(URL);
    // Without a value there is nothing to explain; without a URL, nothing is linked.
    expect(buildAlertMessage(event, o, kr, { ...result, value: null }, ctx).sections[0]!.fields.map((f) => f.label)).not.toContain('Inputs');
    expect(buildAlertMessage(event, o, kr, result, { timezone: 'UTC' }).sections[0]!.fields.map((f) => f.label)).not.toContain('Inputs');
  });

  it('the weekly digest links each key result needing attention to its explanation', () => {
    const m = buildDigestMessage({ objective: o, results: new Map([[kr.id, result]]), weekAgo: new Map(), at: AT }, ctx);
    const attention = m.sections.find((s) => s.title === 'At risk')!;
    expect(attention.fields[0]!.value).toContain(`inputs: ${URL}`);
    expect((m.details as { keyResults: { explainUrl?: string }[] }).keyResults[0]!.explainUrl).toBe(URL);
  });

  it('is a path on the service when no URL is known', () => {
    expect(explainPath('cicd', 'change-failure-rate')).toBe('/api/v1/key-results/cicd/change-failure-rate/explain');
  });
});
