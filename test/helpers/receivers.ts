// Real local receivers for alert deliveries: HTTP servers (Slack, PagerDuty, webhooks) that
// record every request and can answer errors, be stopped and be started again on the same port;
// and an SMTP server (smtp-server) that records every message.
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { SMTPServer } from 'smtp-server';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
}

export type Answer = (req: { path: string; headers: IncomingHttpHeaders; body: string }) => { status: number; body: string; headers?: Record<string, string> };

export interface HttpReceiver {
  readonly url: string;
  readonly port: number;
  /** Every request, answered or not, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Requests answered with 2xx. */
  accepted(): RecordedRequest[];
  answer(fn: Answer): void;
  /** Closes the port (connections refused) until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Resolves once `n` requests have arrived (event-driven, no polling). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function waiter(events: EventEmitter, count: () => number) {
  return async (n: number, timeoutMs = 20_000) => {
    const deadline = setTimeout(() => events.emit('timeout'), timeoutMs);
    try {
      while (count() < n) {
        const [what] = await Promise.race([once(events, 'received').then(() => ['received']), once(events, 'timeout').then(() => ['timeout'])]);
        if (what === 'timeout') throw new Error(`timed out after ${timeoutMs} ms waiting for ${n} requests; got ${count()}`);
      }
    } finally {
      clearTimeout(deadline);
    }
  };
}

export async function startHttpReceiver(answer: Answer = () => ({ status: 200, body: 'ok' })): Promise<HttpReceiver> {
  let current = answer;
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(100);
  let server: Server | null = null;
  let port = 0;

  const listen = async () => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const reply = current({ path: req.url ?? '/', headers: req.headers, body });
        requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, status: reply.status });
        res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
        res.end(reply.body);
        events.emit('received');
      });
    });
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    port = (s.address() as { port: number }).port;
    server = s;
  };
  await listen();

  const stop = async () => {
    const s = server;
    server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    answer(fn) {
      current = fn;
    },
    stop,
    start: listen,
    waitFor: waiter(events, () => requests.length),
    close: stop,
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The raw RFC 5322 message. */
  raw: string;
  /** Headers, lower-case names, unfolded. */
  headers: Record<string, string>;
  /** The raw message with quoted-printable soft breaks and escapes undone (for searching text). */
  decoded: string;
}

export interface SmtpReceiver {
  readonly port: number;
  readonly messages: ReceivedMail[];
  /** Attempts refused by `refuse`. */
  readonly refused: number;
  /** Answer RCPT TO with this SMTP code (e.g. 451 transient, 550 permanent); null: accept. */
  refuse(code: number | null): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Undoes quoted-printable (RFC 2045 section 6.7) well enough to search the text. */
export function decodeQuotedPrintable(raw: string): string {
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function parseHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const out: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(100);
  let refuseCode: number | null = null;
  let refused = 0;
  let server: SMTPServer | null = null;
  let port = 0;

  const listen = async () => {
    const s = new SMTPServer({
      // Plain SMTP on loopback: no certificate for nodemailer to reject, no login to give.
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (refuseCode !== null) {
          refused++;
          const err = Object.assign(new Error(`mailbox ${address.address} unavailable`), { responseCode: refuseCode });
          return callback(err);
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            headers: parseHeaders(raw),
            decoded: decodeQuotedPrintable(raw),
          });
          callback();
          events.emit('received');
        });
      },
    });
    s.on('error', () => {});
    await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', () => resolve()));
    port = (s.server.address() as { port: number }).port;
    server = s;
  };
  await listen();

  const stop = async () => {
    const s = server;
    server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  return {
    get port() {
      return port;
    },
    messages,
    get refused() {
      return refused;
    },
    refuse(code) {
      refuseCode = code;
    },
    stop,
    start: listen,
    waitFor: waiter(events, () => messages.length),
    close: stop,
  };
}
