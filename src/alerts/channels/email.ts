// E-mail over SMTP with nodemailer: a text and an HTML part. The Message-ID is derived from the
// idempotency key, so a message delivered twice by an at-least-once retry is one message to mail
// clients that thread and deduplicate by Message-ID (RFC 5322 section 3.6.4).
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Channel } from '../../config/types.js';
import { DeliveryError } from '../errors.js';
import { messageText } from '../message.js';
import type { Message, Reply, SmtpSettings } from '../types.js';

type EmailChannel = Extract<Channel, { type: 'email' }>;

export const IDEMPOTENCY_MAIL_HEADER = 'X-Krt-Idempotency-Key';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function emailHtml(m: Message): string {
  const parts = [`<h2>${escapeHtml(m.title)}</h2>`, `<p>${escapeHtml(m.summary)}</p>`];
  for (const s of m.sections) {
    parts.push(`<h3>${escapeHtml(s.title)}</h3>`, '<table cellpadding="4" style="border-collapse:collapse">');
    for (const f of s.fields) parts.push(`<tr><th align="left" valign="top">${escapeHtml(f.label)}</th><td>${escapeHtml(f.value)}</td></tr>`);
    parts.push('</table>');
  }
  if (m.link) parts.push(`<p><a href="${escapeHtml(m.link.url)}">${escapeHtml(m.link.text)}</a></p>`);
  parts.push(`<p style="color:#888;font-size:small">kr-tracker · ${escapeHtml(m.idempotencyKey)}</p>`);
  return `<!doctype html><html><body>${parts.join('\n')}</body></html>`;
}

export function messageId(m: Message): string {
  return `<${createHash('sha256').update(m.idempotencyKey).digest('hex').slice(0, 32)}@kr-tracker>`;
}

export interface Mailer {
  send(m: Message, channel: EmailChannel, name: string): Promise<Reply>;
  close(): void;
}

/** One SMTP transport per alerting instance; not pooled, so each message has its own connection. */
export function createMailer(smtp: SmtpSettings, timeoutMs = 10_000): Mailer {
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.auth ? { auth: { user: smtp.auth.user, pass: smtp.auth.password.reveal() } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    async send(m, channel, name) {
      try {
        const info = await transport.sendMail({
          from: smtp.from,
          to: channel.to,
          subject: m.title,
          text: messageText(m),
          html: emailHtml(m),
          messageId: messageId(m),
          headers: { [IDEMPOTENCY_MAIL_HEADER]: m.idempotencyKey },
        });
        const response = String(info.response ?? '');
        return { status: Number.parseInt(response, 10) || 250, body: response };
      } catch (err) {
        const e = err as { responseCode?: number; code?: string; response?: string; message?: string };
        // SMTP 5xx is permanent (RFC 5321 section 4.2.1), 4xx transient; a refused login will
        // not get better by itself; anything without a reply code is the network: retry.
        const code = e.responseCode ?? null;
        const retryable = code !== null ? code < 500 : e.code !== 'EAUTH' && e.code !== 'EENVELOPE';
        const body = e.response ?? '';
        throw new DeliveryError(`channel ${name}: SMTP ${code ?? e.code ?? 'error'} ${body || e.message || ''}`.trim(), name, retryable, code ?? e.code ?? null, body);
      }
    },
    close() {
      transport.close();
    },
  };
}
