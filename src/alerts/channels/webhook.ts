// A generic webhook: the message as JSON, signed so that receivers can verify it came from us
// and is fresh. Signature: hex HMAC-SHA256 over `${timestamp}.${body}` with the channel secret
// (the scheme of Stripe and Slack request signing); the timestamp is Unix seconds.
import { createHmac } from 'node:crypto';
import type { Channel } from '../../config/types.js';
import type { Message, Reply } from '../types.js';
import { postJson } from './http.js';

export const SIGNATURE_HEADER = 'x-krt-signature';
export const TIMESTAMP_HEADER = 'x-krt-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

type WebhookChannel = Extract<Channel, { type: 'webhook' }>;

/** `sha256=<hex>` of `${timestamp}.${body}`. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function webhookBody(m: Message): string {
  return JSON.stringify({
    idempotencyKey: m.idempotencyKey,
    alertKey: m.alertKey,
    type: m.type,
    action: m.action,
    severity: m.severity,
    title: m.title,
    summary: m.summary,
    sections: m.sections,
    link: m.link,
    at: new Date(m.at).toISOString(),
    details: m.details,
  });
}

export async function sendWebhook(m: Message, channel: WebhookChannel, name: string, now: () => number, timeoutMs?: number): Promise<Reply> {
  const body = webhookBody(m);
  const timestamp = Math.floor(now() / 1000);
  const headers: Record<string, string> = { [IDEMPOTENCY_HEADER]: m.idempotencyKey, [TIMESTAMP_HEADER]: String(timestamp) };
  if (channel.secret) headers[SIGNATURE_HEADER] = webhookSignature(channel.secret.reveal(), timestamp, body);
  return postJson(channel.url, body, { channel: name, headers, timeoutMs });
}
