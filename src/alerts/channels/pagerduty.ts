// PagerDuty Events API v2 (POST /v2/enqueue, answers 202): an alert triggers with the alert key
// as dedup_key, so repeats and changes update the same PagerDuty alert and the resolve closes it.
// Schema: ../shared/apis/pagerduty/events-v2-openapiv3.json.
import type { Channel } from '../../config/types.js';
import type { Message, Reply, Severity } from '../types.js';
import { messageText } from '../message.js';
import { postJson } from './http.js';

type PagerDutyChannel = Extract<Channel, { type: 'pagerduty' }>;

const PD_SEVERITY: Record<Severity, 'critical' | 'warning' | 'info'> = { critical: 'critical', warning: 'warning', info: 'info' };

/** The Events API body; `routing_key` is the only secret and is added by `sendPagerDuty`. */
export function pagerDutyEvent(m: Message, action: 'trigger' | 'resolve'): Record<string, unknown> {
  if (action === 'resolve') return { event_action: 'resolve', dedup_key: m.alertKey };
  return {
    event_action: 'trigger',
    dedup_key: m.alertKey,
    client: 'kr-tracker',
    ...(m.link ? { client_url: m.link.url, links: [{ href: m.link.url, text: m.link.text }] } : {}),
    payload: {
      // The summary becomes the incident title; PagerDuty cuts it at 1024 characters.
      summary: m.title.slice(0, 1024),
      source: 'kr-tracker',
      severity: PD_SEVERITY[m.severity],
      timestamp: new Date(m.at).toISOString(),
      component: typeof m.details.keyResult === 'object' && m.details.keyResult ? String((m.details.keyResult as { id: unknown }).id) : undefined,
      group: typeof m.details.objective === 'object' && m.details.objective ? String((m.details.objective as { id: unknown }).id) : undefined,
      class: typeof m.details.kind === 'string' ? m.details.kind : m.type,
      custom_details: { text: messageText(m), idempotency_key: m.idempotencyKey, ...m.details },
    },
  };
}

export async function sendPagerDuty(m: Message, channel: PagerDutyChannel, name: string, eventsUrl: string, timeoutMs?: number): Promise<Reply> {
  // A digest or a test is not an incident: a test triggers and resolves at once.
  const action = m.action === 'resolve' ? 'resolve' : 'trigger';
  const post = (a: 'trigger' | 'resolve') =>
    postJson(eventsUrl, JSON.stringify({ routing_key: channel.routingKey.reveal(), ...pagerDutyEvent(m, a) }), { channel: name, timeoutMs });
  const reply = await post(action);
  if (m.type === 'test') await post('resolve');
  return reply;
}
