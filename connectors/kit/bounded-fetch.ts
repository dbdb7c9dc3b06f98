// fetch with a total deadline (connect, headers and the whole body: a server that drips one byte
// every few seconds ends at the deadline too) and a cap on the body's size (a 300 MB page is
// refused while it streams, without holding it). Errors are typed and name the URL.
import { ResponseTooLargeError, SourceError, SourceTimeoutError } from '../../src/core/errors.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface BoundedFetchOptions {
  /** Source name for the errors (`github`). */
  source: string;
  /** Prefix of error messages, e.g. `GitHub`. */
  label: string;
  /** Total deadline of one exchange, default 30 s. */
  timeoutMs?: number;
  /**
   * Largest body read into memory; the answer is returned fully read. null: the body is streamed
   * to the caller (who caps it), still under the deadline.
   */
  maxBytes: number | null;
  /** Name of the option that sets maxBytes, for the message (e.g. `maxBodyBytes`). */
  maxBytesOption?: string;
  fetch?: typeof fetch;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function urlOf(input: string | URL | Request): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

function withUrl(res: Response, url: string): Response {
  Object.defineProperty(res, 'url', { value: url });
  return res;
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${Math.round(bytes / 1e5) / 10} MB` : `${bytes} bytes`;
}

/** A network failure as a retryable SourceError saying what happened in words. */
export function networkError(where: string, err: unknown, source: string): SourceError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (err as { code?: string })?.code;
  const what =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host not found'
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE'
          ? 'connection lost'
          : (cause?.message ?? (err instanceof Error ? err.message : String(err)));
  return new SourceError(`${where} failed: ${what}; will retry`, source, true);
}

/**
 * A response's body, read no further than `max` bytes: a declared `content-length` over it is
 * refused before reading, a body that grows past it is cut off there (`tooLarge(declared or null)`).
 */
export async function readCapped(res: Response, max: number, tooLarge: (declared: number | null) => Error): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'));
  if (res.headers.has('content-length') && Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(null);
      }
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks, size);
}

export function boundedFetch(opts: BoundedFetchOptions): typeof fetch {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = opts.fetch ?? globalThis.fetch;
  return async (input, init = {}) => {
    const url = urlOf(input);
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const where = `${opts.label} ${method} ${url}`;
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
    const callerSignal = init.signal;
    if (callerSignal) {
      if (callerSignal.aborted) ac.abort(callerSignal.reason);
      else callerSignal.addEventListener('abort', () => ac.abort(callerSignal.reason), { once: true });
    }
    const mapError = (err: unknown): unknown => {
      if (err instanceof SourceError) return err;
      if (timedOut) {
        return new SourceTimeoutError(`${where} got no complete answer within ${timeoutMs / 1000} s (timeoutMs); will retry`, opts.source, timeoutMs);
      }
      if (callerSignal?.aborted) return err;
      return networkError(where, err, opts.source);
    };
    const tooLarge = (max: number, declared: number | null) =>
      new ResponseTooLargeError(
        `${where} answered with a body ${declared !== null ? `of ${mb(declared)}` : 'larger than the limit'}, over the ${mb(max)} limit${opts.maxBytesOption ? ` (${opts.maxBytesOption})` : ''}; ask for smaller pages (per_page) or raise the limit`,
        opts.source,
        max,
      );

    let res: Response;
    try {
      res = await base(input, { ...init, signal: ac.signal });
    } catch (err) {
      clearTimeout(timer);
      throw mapError(err);
    }
    const init2: ResponseInit = { status: res.status, statusText: res.statusText, headers: res.headers };

    if (opts.maxBytes === null) {
      if (!res.body) {
        clearTimeout(timer);
        return res;
      }
      const reader = res.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              clearTimeout(timer);
              controller.close();
            } else controller.enqueue(value);
          } catch (err) {
            clearTimeout(timer);
            controller.error(mapError(err));
          }
        },
        cancel(reason) {
          clearTimeout(timer);
          return reader.cancel(reason);
        },
      });
      return withUrl(new Response(NULL_BODY.has(res.status) ? null : body, init2), res.url);
    }

    const max = opts.maxBytes;
    try {
      const buf = await readCapped(res, max, (declared) => tooLarge(max, declared));
      return withUrl(new Response(NULL_BODY.has(res.status) ? null : buf, init2), res.url);
    } catch (err) {
      throw mapError(err);
    } finally {
      clearTimeout(timer);
    }
  };
}
