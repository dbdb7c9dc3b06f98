import { RateLimitError, SourceError } from '../../src/core/errors.js';
import type { Store } from '../../src/core/store.js';
import type { GithubClient } from './client.js';

export interface RequestCounter {
  requests: number;
  notModified: number;
  rateLimitRemaining: number | null;
}

export type Conditional<T> =
  | { notModified: true }
  | { notModified: false; data: T; etag: string | null; link: string | null; url: string };

interface HttpErrorLike {
  status?: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/**
 * A GET with `If-None-Match` from the ETag the store holds for the URL (when `useEtag`).
 * GitHub answers 304 without counting it against the rate limit
 * (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
 * The caller saves the new ETag (`store.setEtag`) only once what it describes is stored.
 */
export async function conditionalGet<T>(
  client: GithubClient,
  store: Store,
  counter: RequestCounter,
  route: string,
  params: Record<string, string | number>,
  useEtag = true,
): Promise<Conditional<T>> {
  const endpoint = client.request.endpoint('GET ' + route, params);
  const url = endpoint.url;
  const etag = useEtag ? await store.getEtag(url) : null;
  counter.requests++;
  try {
    const res = await client.request('GET ' + route, {
      ...params,
      headers: etag ? { 'if-none-match': etag } : {},
    });
    noteRateLimit(counter, res.headers as Record<string, unknown>);
    return {
      notModified: false,
      data: res.data as T,
      etag: typeof res.headers.etag === 'string' ? res.headers.etag : null,
      link: typeof res.headers.link === 'string' ? res.headers.link : null,
      url,
    };
  } catch (err) {
    const e = err as HttpErrorLike;
    if (e.response?.headers) noteRateLimit(counter, e.response.headers);
    if (e.status === 304) {
      counter.notModified++;
      return { notModified: true };
    }
    throw toSourceError(e, url);
  }
}

function noteRateLimit(counter: RequestCounter, headers: Record<string, unknown>): void {
  const r = headers['x-ratelimit-remaining'];
  if (r !== undefined && r !== null && r !== '') counter.rateLimitRemaining = Number(r);
}

/** GitHub's `Link: <url>; rel="next", ...` has a next page. */
export function hasNextPage(link: string | null): boolean {
  return link !== null && /rel="next"/.test(link);
}

/** Turns an Octokit error into a typed source error that says whether a retry can help. */
export function toSourceError(e: HttpErrorLike, url: string): SourceError {
  if (e instanceof SourceError) return e;
  // Our client's own errors (timeout, body cap, connection) travel as the cause of Octokit's.
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof SourceError) return cause;
  const status = e.status;
  const headers = e.response?.headers ?? {};
  const apiMessage =
    typeof e.response?.data === 'object' && e.response.data !== null && 'message' in e.response.data
      ? String((e.response.data as { message: unknown }).message)
      : e.message;
  const where = `GitHub GET ${url}`;
  if (status === 401) {
    return new SourceError(
      `${where} answered 401 (${apiMessage}): the token is missing or invalid; set sources.github.token (e.g. \${GITHUB_TOKEN}) to a token with read access to the repository's deployments and actions`,
      'github',
      false,
      status,
    );
  }
  // Secondary limits are 403 or 429 with `retry-after` or the "secondary rate limit" message: a
  // wait, never a missing permission.
  // https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits
  const secondary = (status === 403 || status === 429) && (headers['retry-after'] !== undefined || /secondary rate limit|abuse detection/i.test(apiMessage));
  if (status === 429 || secondary || (status === 403 && String(headers['x-ratelimit-remaining']) === '0')) {
    const retryAfter = Number(headers['retry-after']);
    const reset = Number(headers['x-ratelimit-reset']);
    const resetAt = Number.isFinite(retryAfter) && retryAfter > 0 ? Date.now() + retryAfter * 1000 : Number.isFinite(reset) && reset > 0 ? reset * 1000 : Date.now() + 60_000;
    return new RateLimitError(`${where}: rate limit exceeded until ${new Date(resetAt).toISOString()} (${apiMessage})`, 'github', resetAt);
  }
  if (status === 403) {
    return new SourceError(`${where} answered 403 (${apiMessage}): the token lacks permission; grant it read access to the repository`, 'github', false, status);
  }
  if (status === 404) {
    return new SourceError(`${where} answered 404: the repository does not exist or the token cannot see it; check repos: in the OKR file and the token's access`, 'github', false, status);
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new SourceError(`${where} answered ${status} (${apiMessage})`, 'github', false, status);
  }
  return new SourceError(`${where} failed${status ? ` with ${status}` : ''}: ${apiMessage}; will retry`, 'github', true, status);
}
