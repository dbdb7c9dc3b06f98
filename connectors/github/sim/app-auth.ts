// GitHub App authentication for the simulator, as GitHub does it: the App signs a JWT (RS256,
// `iss` = App id, `iat`/`exp` at most 10 minutes apart) with its private key; the simulator checks
// it against the App's public key and, on `POST /app/installations/{installation_id}/access_tokens`,
// answers 201 with an installation token and its `expires_at` (1 hour; shorter for tests). Each
// installation has its own rate limit.
// https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
// https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';

export interface SimAppOptions {
  appId: number;
  /** The App's public key (PEM), or its private key (the public half is taken). */
  key: string;
  installationIds: number[];
  /** Life of an installation token (GitHub: 1 hour). */
  tokenTtlMs?: number;
  /** Core requests per hour of each installation (GitHub: 5,000 and up). */
  rateLimit?: number;
  /** Clock of the token expiry and rate-limit windows (JWT times are checked against the wall clock). */
  now?: () => number;
}

export interface SimRateBucket {
  limit: number;
  remaining: number;
  /** Epoch seconds. */
  resetAt: number;
}

export interface SimAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface SimApp {
  /** Answers the App's own routes (JWT-authenticated); null when the path is not one of them. */
  handle(method: string, path: string, authorization: string | undefined): SimAnswer | null;
  /** The installation an unexpired installation token belongs to, else null. */
  installationOf(token: string): number | null;
  /** An installation's rate-limit window (refreshed when it has passed). */
  bucket(installationId: number): SimRateBucket;
  /** Installation tokens issued so far. */
  issued(): number;
}

const DOCS = 'https://docs.github.com/rest';

function b64urlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

export function createSimApp(opts: SimAppOptions): SimApp {
  const now = opts.now ?? Date.now;
  const ttl = opts.tokenTtlMs ?? 3_600_000;
  const limit = opts.rateLimit ?? 5000;
  const publicKey: KeyObject = createPublicKey(opts.key);
  const tokens = new Map<string, { installationId: number; expiresAt: number }>();
  const buckets = new Map<number, SimRateBucket>();
  let issued = 0;

  const unauthorized = (message: string): SimAnswer => ({ status: 401, body: { message, documentation_url: DOCS } });

  /** null when the JWT is good, else GitHub's 401. */
  const checkJwt = (authorization: string | undefined): SimAnswer | null => {
    const m = typeof authorization === 'string' ? /^bearer\s+(\S+)$/i.exec(authorization.trim()) : null;
    if (!m) return unauthorized('A JSON web token could not be decoded');
    const parts = (m[1] as string).split('.');
    if (parts.length !== 3) return unauthorized('A JSON web token could not be decoded');
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: string };
    let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = b64urlJson(h) as typeof header;
      claims = b64urlJson(p) as typeof claims;
    } catch {
      return unauthorized('A JSON web token could not be decoded');
    }
    if (header.alg !== 'RS256') return unauthorized('A JSON web token could not be decoded');
    if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'))) {
      return unauthorized('A JSON web token could not be decoded');
    }
    const wall = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= wall) {
      return unauthorized("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.");
    }
    if (typeof claims.iat !== 'number' || claims.iat > wall + 60) {
      return unauthorized("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.");
    }
    if (claims.exp - claims.iat > 600 || claims.exp > wall + 660) {
      return unauthorized("'Expiration time' claim ('exp') is too far in the future.");
    }
    if (String(claims.iss) !== String(opts.appId)) return unauthorized(`Integration not found`);
    return null;
  };

  return {
    handle(method, path, authorization) {
      const m = /^\/app\/installations\/(\d+)\/access_tokens\/?$/.exec(path);
      const isApp = path === '/app' || path.startsWith('/app/');
      if (!isApp) return null;
      const bad = checkJwt(authorization);
      if (bad) return bad;
      if (path === '/app' && method === 'GET') {
        return { status: 200, body: { id: opts.appId, slug: 'kr-tracker', name: 'kr-tracker', permissions: { actions: 'read', contents: 'read', deployments: 'read', metadata: 'read' } } };
      }
      if (!m || method !== 'POST') return { status: 404, body: { message: 'Not Found', documentation_url: DOCS } };
      const installationId = Number(m[1]);
      if (!opts.installationIds.includes(installationId)) return { status: 404, body: { message: 'Not Found', documentation_url: DOCS } };
      const token = `ghs_${randomBytes(18).toString('base64url')}`;
      // GitHub's expires_at has whole seconds.
      const expiresAt = Math.floor((now() + ttl) / 1000) * 1000;
      tokens.set(token, { installationId, expiresAt });
      issued++;
      return {
        status: 201,
        body: {
          token,
          expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: { actions: 'read', contents: 'read', deployments: 'read', metadata: 'read' },
          repository_selection: 'all',
        },
      };
    },
    installationOf(token) {
      const t = tokens.get(token);
      if (!t) return null;
      if (now() >= t.expiresAt) return null;
      return t.installationId;
    },
    bucket(installationId) {
      let b = buckets.get(installationId);
      const nowS = Math.floor(now() / 1000);
      if (!b || nowS >= b.resetAt) {
        b = { limit, remaining: limit, resetAt: nowS + 3600 };
        buckets.set(installationId, b);
      }
      return b;
    },
    issued: () => issued,
  };
}
