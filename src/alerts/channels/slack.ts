// Slack incoming webhooks with Block Kit (https://api.slack.com/messaging/webhooks,
// https://api.slack.com/reference/block-kit/blocks). The webhook URL is the secret; it is only
// revealed to @slack/webhook, and errors name the channel, never the URL.
import { IncomingWebhook, IncomingWebhookHTTPError, type IncomingWebhookSendArguments } from '@slack/webhook';
import type { Channel } from '../../config/types.js';
import { DeliveryError, retryableStatus } from '../errors.js';
import type { Message, Reply } from '../types.js';
import { networkCode } from './http.js';

type SlackChannel = Extract<Channel, { type: 'slack' }>;
type Blocks = NonNullable<IncomingWebhookSendArguments['blocks']>;

const SEVERITY_EMOJI = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':information_source:' } as const;

/** mrkdwn treats &, < and > as control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export const escapeMrkdwn = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** The Block Kit payload: header, summary, one section of fields per part, the dashboard link. */
export function slackPayload(m: Message): IncomingWebhookSendArguments {
  const emoji = m.action === 'resolve' ? ':white_check_mark:' : SEVERITY_EMOJI[m.severity];
  const blocks: Blocks = [
    { type: 'header', text: { type: 'plain_text', text: cut(m.title, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(`${emoji} ${escapeMrkdwn(m.summary)}`, 3000) } },
  ];
  for (const s of m.sections) {
    // A section holds at most 10 fields of at most 2000 characters each.
    for (let i = 0; i < Math.max(1, s.fields.length); i += 10) {
      blocks.push({
        type: 'section',
        ...(i === 0 ? { text: { type: 'mrkdwn', text: cut(`*${escapeMrkdwn(s.title)}*`, 3000) } } : {}),
        ...(s.fields.length ? { fields: s.fields.slice(i, i + 10).map((f) => ({ type: 'mrkdwn' as const, text: cut(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`, 2000) })) } : {}),
      });
    }
  }
  if (m.link) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${m.link.url}|${escapeMrkdwn(m.link.text)}>` } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(`kr-tracker · ${m.idempotencyKey}`) }] });
  // At most 50 blocks per message: keep the start and the footer.
  const capped = blocks.length > 50 ? [...blocks.slice(0, 49), blocks[blocks.length - 1]!] : blocks;
  return { text: m.title, blocks: capped, unfurl_links: false };
}

export async function sendSlack(m: Message, channel: SlackChannel, name: string, timeoutMs = 10_000): Promise<Reply> {
  // No retries inside the client: the delivery queue retries with backoff and survives restarts.
  const hook = new IncomingWebhook(channel.webhookUrl.reveal(), { timeout: timeoutMs, retryConfig: { retries: 0 } });
  try {
    const res = await hook.send(slackPayload(m));
    return { status: 200, body: res.text ?? '' };
  } catch (err) {
    if (err instanceof IncomingWebhookHTTPError) {
      const body = typeof err.body === 'string' ? err.body : '';
      throw new DeliveryError(`channel ${name}: Slack answered HTTP ${err.statusCode} ${body.slice(0, 200)}`.trim(), name, retryableStatus(err.statusCode), err.statusCode, body);
    }
    const code = networkCode((err as { original?: unknown }).original ?? err);
    throw new DeliveryError(`channel ${name}: Slack did not answer (${code})`, name, true, code);
  }
}
