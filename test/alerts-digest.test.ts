// The weekly digest's schedule (weekday and wall-clock time in a time zone, across DST changes)
// and the channel renderings that need no network: Slack blocks, PagerDuty events, signatures.
import { describe, expect, it } from 'vitest';
import { slackPayload } from '../src/alerts/channels/slack.js';
import { pagerDutyEvent } from '../src/alerts/channels/pagerduty.js';
import { webhookSignature } from '../src/alerts/channels/webhook.js';
import { digestCron, lastDigestAt, nextDigestAt } from '../src/alerts/digest.js';
import { buildTestMessage } from '../src/alerts/message.js';
import { secretRedactor } from '../src/alerts/redact.js';
import { Secret } from '../src/core/secret.js';

const at = (iso: string) => Date.parse(iso);

describe('digest schedule', () => {
  const berlin = { day: 'monday', time: '09:00', timezone: 'Europe/Berlin' } as const;

  it('is the next weekday at the local time, in winter and in summer', () => {
    // 2026-11-02 is a Monday; Berlin is UTC+1 in November and UTC+2 in June.
    expect(nextDigestAt(at('2026-10-31T12:00:00Z'), berlin)).toBe(at('2026-11-02T08:00:00Z'));
    expect(nextDigestAt(at('2026-11-02T08:00:00Z'), berlin)).toBe(at('2026-11-09T08:00:00Z'));
    expect(nextDigestAt(at('2026-11-02T07:59:59Z'), berlin)).toBe(at('2026-11-02T08:00:00Z'));
    expect(nextDigestAt(at('2026-06-10T00:00:00Z'), berlin)).toBe(at('2026-06-15T07:00:00Z'));
  });

  it('keeps the local time across a DST change in the week before', () => {
    // Berlin leaves DST on Sunday 2026-10-25 and enters it on Sunday 2026-03-29.
    expect(nextDigestAt(at('2026-10-20T00:00:00Z'), berlin)).toBe(at('2026-10-26T08:00:00Z'));
    expect(nextDigestAt(at('2026-03-24T00:00:00Z'), berlin)).toBe(at('2026-03-30T07:00:00Z'));
    const ny = { day: 'sunday', time: '09:30', timezone: 'America/New_York' } as const;
    // New York enters DST on Sunday 2026-03-08 at 02:00: that morning's 09:30 is UTC-4.
    expect(nextDigestAt(at('2026-03-07T00:00:00Z'), ny)).toBe(at('2026-03-08T13:30:00Z'));
    expect(nextDigestAt(at('2026-03-08T13:30:00Z'), ny)).toBe(at('2026-03-15T13:30:00Z'));
  });

  it('knows the check-in a run belongs to, also when the run is late', () => {
    expect(lastDigestAt(at('2026-11-02T08:00:00Z'), berlin)).toBe(at('2026-11-02T08:00:00Z'));
    expect(lastDigestAt(at('2026-11-04T17:00:00Z'), berlin)).toBe(at('2026-11-02T08:00:00Z'));
    expect(lastDigestAt(at('2026-11-02T07:59:00Z'), berlin)).toBe(at('2026-10-26T08:00:00Z'));
  });

  it('becomes a cron pattern with the zone for the BullMQ job scheduler', () => {
    expect(digestCron(berlin)).toEqual({ pattern: '0 9 * * 1', tz: 'Europe/Berlin' });
    expect(digestCron({ day: 'friday', time: '16:45', timezone: 'UTC' })).toEqual({ pattern: '45 16 * * 5', tz: 'UTC' });
  });
});

describe('channel renderings', () => {
  const m = { ...buildTestMessage('leads', at('2026-11-02T08:00:00Z'), 'UTC'), title: 'A <b>&</b> title', summary: 'x < y & z > w' };

  it('escapes Slack mrkdwn control characters and keeps the plain title as notification text', () => {
    const p = slackPayload(m);
    expect(p.text).toBe('A <b>&</b> title');
    expect(JSON.stringify(p.blocks)).toContain('x &lt; y &amp; z &gt; w');
  });

  it('builds Events API v2 trigger and resolve bodies keyed by the alert key', () => {
    expect(pagerDutyEvent(m, 'resolve')).toEqual({ event_action: 'resolve', dedup_key: m.alertKey });
    expect(pagerDutyEvent(m, 'trigger')).toMatchObject({ event_action: 'trigger', dedup_key: m.alertKey, payload: { severity: 'info', source: 'kr-tracker', summary: m.title } });
  });

  it('signs webhooks with HMAC-SHA256 over timestamp.body', () => {
    // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
    expect(webhookSignature('s3cret', 1_700_000_000, '{"a":1}')).toBe('sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940');
  });

  it('scrubs every secret value found in the config from text', () => {
    const redact = secretRedactor({ a: { token: new Secret('GITHUB_TOKEN', 'ghp-abcdef') }, b: [new Secret('SHORT', 'abc')] });
    expect(redact('401 for ghp-abcdef and abc')).toBe('401 for [secret GITHUB_TOKEN] and abc');
  });
});

describe('the weekly digest of a parent objective', () => {
  it('gives the progress rolled up with its children, as /metrics does, and says how many children have data', async () => {
    const { buildDigestMessage } = await import('../src/alerts/digest.js');
    const { rolledUpProgress } = await import('../src/engine/objective-progress.js');
    const { keyResult, objective } = await import('./helpers/config.js');
    const now = at('2026-11-20T12:00:00Z');
    const result = (o: string, kr: string, progress: number) => ({
      objectiveId: o, keyResultId: kr, metric: 'deployment_frequency', unit: 'per_day', value: 1, baseline: 0, target: 2, kind: 'increase' as const,
      progress, expected: 0.5, status: 'on_track' as const, forecast: null, evaluatedAt: now, error: null,
    });
    const parent = objective({ id: 'company', keyResults: [keyResult({ id: 'own' })] });
    const team = objective({ id: 'team', parent: 'company', keyResults: [keyResult({ id: 'k' })] });
    const quiet = objective({ id: 'quiet', parent: 'company', keyResults: [keyResult({ id: 'none' })] });
    const progress: Record<string, number> = { 'company/own': 0.2, 'team/k': 0.8 };
    const tree = rolledUpProgress([parent, team, quiet], (o, kr) => progress[`${o}/${kr}`]);
    // By hand: the parent's own KR (0.2, weight 1) and the team (0.8, weight 1); `quiet` has no data.
    expect(tree.get('company')!.rollup).toBeCloseTo(0.5, 12);
    const m = buildDigestMessage(
      { objective: parent, results: new Map([['own', result('company', 'own', 0.2) as never]]), weekAgo: new Map(), at: now, rollup: tree.get('company') },
      { timezone: 'UTC' },
    );
    expect(m.summary).toContain('Objective progress, with its child objectives 50% (1 of 2 child objectives with data).');
    const leaf = buildDigestMessage({ objective: team, results: new Map([['k', result('team', 'k', 0.8) as never]]), weekAgo: new Map(), at: now, rollup: tree.get('team') }, { timezone: 'UTC' });
    expect(leaf.summary).toContain('Objective progress 80%.');
  });
});
