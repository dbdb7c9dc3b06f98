// A few typed errors that tell a worker what to do (retry or not, and when), so that nothing
// decides by matching message strings. See ../shared/STYLE.md example 6.

/** A source answered badly or not at all. `retryable` says whether trying again can help. */
export class SourceError extends Error {
  override readonly name: string = 'SourceError';
  constructor(
    message: string,
    readonly source: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The source's rate limit is spent until `resetAt` (epoch ms). */
export class RateLimitError extends SourceError {
  override readonly name: string = 'RateLimitError';
  constructor(
    message: string,
    source: string,
    readonly resetAt: number,
  ) {
    super(message, source, true, 429);
  }
}

/** No complete answer within the request's total deadline (connect, headers and body). */
export class SourceTimeoutError extends SourceError {
  override readonly name: string = 'SourceTimeoutError';
  constructor(
    message: string,
    source: string,
    readonly timeoutMs: number,
  ) {
    super(message, source, true);
  }
}

/** The answer's body is larger than the client accepts; asking again gives the same answer. */
export class ResponseTooLargeError extends SourceError {
  override readonly name: string = 'ResponseTooLargeError';
  constructor(
    message: string,
    source: string,
    readonly maxBytes: number,
  ) {
    super(message, source, false);
  }
}

/** The OKR file or command-line input is wrong; the message says where and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length ? `${message}\n${problems.map((p) => `  ${p}`).join('\n')}` : message);
  }
}
