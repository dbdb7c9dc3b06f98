import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Logger } from 'pino';

const KrtOctokit = Octokit.plugin(throttling, retry);
export type GithubClient = InstanceType<typeof KrtOctokit>;

/** `GET /repos/acme/payments/deployments - 304 with id ABC in 3ms`: Octokit's log line of a 304. */
export const NOT_MODIFIED_LINE = / - 304 (with id|in) /;

export interface GithubClientOptions {
  baseUrl: string;
  token: string | null;
  logger: Logger;
  /** Longest wait for a rate-limit reset inside one request; longer waits go back to the queue. */
  maxRateLimitWaitMs?: number;
  /** Base of the retry plugin's quadratic backoff on 5xx (1s, 4s, 9s by default). */
  retryBaseMs?: number;
  userAgent?: string;
}

/**
 * Octokit with the throttling plugin (waits out primary and secondary rate limits, honouring
 * `retry-after` and `x-ratelimit-reset`) and the retry plugin (5xx and network errors).
 * https://github.com/octokit/plugin-throttling.js, https://github.com/octokit/plugin-retry.js
 */
export function createGithubClient(opts: GithubClientOptions): GithubClient {
  const maxWait = opts.maxRateLimitWaitMs ?? 60_000;
  const base = opts.retryBaseMs ?? 1000;
  const onLimit = (kind: string) => (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
    const wait = retryAfter * 1000 <= maxWait && retryCount < 2;
    opts.logger.warn({ kind, retryAfter, url: options.url, retrying: wait }, 'GitHub rate limit hit');
    return wait;
  };
  return new KrtOctokit({
    auth: opts.token ?? undefined,
    baseUrl: opts.baseUrl,
    userAgent: opts.userAgent ?? 'kr-tracker',
    // Octokit's request log reports every non-2xx answer through log.error, 304 Not Modified
    // included: that is the ETag cache working (and free of rate limit), so it goes to debug.
    log: {
      debug: () => {},
      info: () => {},
      warn: (m: string) => opts.logger.warn(m),
      error: (m: string) => (NOT_MODIFIED_LINE.test(m) ? opts.logger.debug(m) : opts.logger.error(m)),
    },
    throttle: {
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
      retryAfterBaseValue: 1000,
    },
    retry: { retryAfterBaseValue: base },
  });
}
