import { DeliveryError, retryableStatus } from '../errors.js';
import type { Reply } from '../types.js';

export interface PostOptions {
  /** The channel's name, for errors (never its URL: a Slack URL is a secret). */
  channel: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** The code of a network failure (`ECONNREFUSED`), from fetch's `cause`. */
export function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (err instanceof Error && err.name === 'TimeoutError') return 'ETIMEDOUT';
  return 'ENETWORK';
}

/**
 * POSTs `body` and returns what the receiver answered. Throws a DeliveryError: retryable for
 * network errors, timeouts, 408, 429 and 5xx; not for other answers outside 2xx (including
 * redirects, which are not followed: a signed request goes to the configured URL or nowhere).
 */
export async function postJson(url: string, body: string, { channel, headers = {}, timeoutMs = 10_000 }: PostOptions): Promise<Reply> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'kr-tracker', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const code = networkCode(err);
    throw new DeliveryError(`channel ${channel}: no answer (${code})`, channel, true, code);
  }
  const text = await res.text().catch(() => '');
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: text };
  throw new DeliveryError(`channel ${channel}: HTTP ${res.status} ${text.slice(0, 200)}`.trim(), channel, retryableStatus(res.status), res.status, text);
}
