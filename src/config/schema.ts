// The written shape of the OKR file (../shared/CONFIG.md), validated field by field. Values are
// already typed here (durations in ms, targets parsed, URLs checked) but defaults are not filled
// in and nothing is checked across fields: normalize.ts and checks.ts do that.
import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
// Values only (the lists of names); src/alerts/types.ts imports nothing at run time.
import { ALERT_KINDS, CONDITIONS, SEVERITIES, WEEKDAYS } from '../alerts/types.js';
import { KINDS } from '../core/result.js';
import { CATALOGUE, METRIC_NAMES } from '../metrics/catalogue/index.js';
import { STATS } from '../metrics/quantile.js';
import {
  duration,
  emptyAsDefaults,
  flag,
  httpUrl,
  isHttpUrl,
  kindOf,
  list,
  mapping,
  number,
  oneOf,
  optionalText,
  port,
  secretText,
  show,
  text,
} from './fields.js';
import { readTarget, TARGET_HELP } from './target.js';
import { isIsoDate, isTimeZone, timeZoneNames } from './timezone.js';
import { didYouMean } from './suggest.js';
import { globProblem } from './glob.js';

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

function id(example: string) {
  return text(example).superRefine((value, ctx) => {
    if (!ID_PATTERN.test(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `is ${show(value)}, not a valid id; use lower-case letters, digits, - and _ starting with a letter or digit (e.g. ${example}), because ids become Prometheus label values and Grafana dashboard uids`,
      });
    }
  });
}

const version = z.literal(1, {
  error: (iss) =>
    iss.input === undefined
      ? 'is required; add version: 1 at the top of the file'
      : `is ${show(iss.input)}, but the only version of this file format is 1; write version: 1`,
});

function timeZone(example: string) {
  return text(example).superRefine((value, ctx) => {
    if (isTimeZone(value)) return;
    const hint = didYouMean(value, timeZoneNames());
    ctx.addIssue({
      code: 'custom',
      message: `is ${show(value)}, not an IANA time zone; ${hint || 'use a name such as UTC or Europe/Berlin'}`,
    });
  });
}

const timezone = timeZone('timezone: UTC');

/** A secret that must be an http(s) URL (Slack webhooks); the value itself is never shown. */
function secretUrl(example: string) {
  return secretText(example).superRefine((value, ctx) => {
    if (!isHttpUrl(value)) ctx.addIssue({ code: 'custom', message: `is not an http(s) URL; write ${example}` });
  });
}

function required(schema: z.ZodString, example: string) {
  return schema.min(1, { error: `is empty; write ${example}` });
}

/** A numeric GitHub id written as a number or as digits (from `${GITHUB_APP_ID}`). */
function githubId(example: string) {
  return z
    .union([z.number(), z.string()], { error: (iss) => (iss.input === undefined ? `is required; write ${example}` : `must be a number, not ${kindOf(iss.input)}; write ${example}`) })
    .superRefine((value, ctx) => {
      const ok = typeof value === 'number' ? Number.isInteger(value) && value > 0 : /^\d+$/.test(value.trim());
      if (!ok) ctx.addIssue({ code: 'custom', message: `is ${show(value)}, not a GitHub id (a positive whole number); write ${example}` });
    })
    .transform((value) => String(value).trim());
}

/** A PEM private key as GitHub gives it for an App; `\n` written for newlines (one-line env vars) is accepted. */
export function pemText(value: string): string {
  return value.includes('\\n') && !value.includes('\n') ? value.replace(/\\n/g, '\n') : value;
}

const githubApp = mapping(
  {
    appId: githubId('appId: ${GITHUB_APP_ID}'),
    installationId: githubId('installationId: ${GITHUB_APP_INSTALLATION_ID}'),
    privateKey: required(secretText('privateKey: ${GITHUB_APP_PRIVATE_KEY}'), 'privateKey: ${GITHUB_APP_PRIVATE_KEY}').superRefine((value, ctx) => {
      if (value.length === 0) return;
      try {
        createPrivateKey(pemText(value));
      } catch {
        // The value is a secret: never shown.
        ctx.addIssue({
          code: 'custom',
          message: "is not a PEM private key (-----BEGIN RSA PRIVATE KEY----- ...); generate one under the App's settings, Private keys, and pass the .pem file's content, e.g. privateKey: ${GITHUB_APP_PRIVATE_KEY}",
        });
      }
    }),
  },
  'app: { appId: ${GITHUB_APP_ID}, installationId: ${GITHUB_APP_INSTALLATION_ID}, privateKey: ${GITHUB_APP_PRIVATE_KEY} }',
);

const github = mapping(
  {
    token: secretText('token: ${GITHUB_TOKEN}').optional(),
    app: githubApp.optional(),
    baseUrl: httpUrl('baseUrl: https://api.github.com').optional(),
  },
  'github: { token: ${GITHUB_TOKEN} }',
  (value, ctx) => {
    if (typeof value.token === 'string' && value.token.length > 0 && value.app !== undefined && value.app !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['app'],
        message: 'is given together with token; use one way to authenticate: remove token to use the GitHub App, or remove app to use the token',
      });
    }
  },
);

const pagerduty = mapping(
  {
    token: secretText('token: ${PAGERDUTY_TOKEN}').optional(),
    baseUrl: httpUrl('baseUrl: https://api.pagerduty.com').optional(),
  },
  'pagerduty: { token: ${PAGERDUTY_TOKEN} }',
);

const prometheus = mapping(
  {
    url: httpUrl('url: http://localhost:9090'),
    bearerToken: secretText('bearerToken: ${PROMETHEUS_TOKEN}').optional(),
    basicAuth: mapping(
      {
        username: text('username: kr-tracker'),
        password: required(secretText('password: ${PROMETHEUS_PASSWORD}'), 'password: ${PROMETHEUS_PASSWORD}'),
      },
      'basicAuth: { username: kr-tracker, password: ${PROMETHEUS_PASSWORD} }',
    ).optional(),
    headers: z
      .record(z.string(), secretText('X-Scope-OrgID: ${PROMETHEUS_TENANT}'), {
        error: (iss) => `must be a mapping of header names to values, not ${kindOf(iss.input)}; write headers: { X-Scope-OrgID: \${PROMETHEUS_TENANT} }`,
      })
      .optional(),
  },
  'prometheus: { url: http://localhost:9090 }',
);

const sources = mapping(
  {
    github: emptyAsDefaults(github).optional(),
    pagerduty: emptyAsDefaults(pagerduty).optional(),
    prometheus: prometheus.optional(),
  },
  'sources: { github: { token: ${GITHUB_TOKEN} } }',
);

const schedule = mapping(
  { sync: duration('sync: 5m').optional(), evaluate: duration('evaluate: 5m').optional() },
  'schedule: { sync: 5m, evaluate: 5m }',
);

/** `host:port`, `[::1]:port`, `:port` (every address) or a bare host (port 9464). */
export function readListen(value: string): { host: string; port: number } | { error: string } {
  const text = value.trim();
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*))(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[3] === undefined ? 9464 : Number(m[3]);
  if (!m || text === '' || port < 1 || port > 65_535) {
    return { error: `is ${show(value)}, not an address to listen on; write host:port, e.g. listen: 127.0.0.1:9464 (0.0.0.0:9464 for every interface)` };
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const serverAuth = mapping(
  {
    bearerToken: secretText('bearerToken: ${KRT_API_TOKEN}').min(16, {
      error: 'is shorter than 16 characters; use a long random token, e.g. from `openssl rand -hex 32`',
    }).optional(),
    basicAuth: mapping(
      {
        user: required(text('user: krt'), 'user: krt'),
        password: required(secretText('password: ${KRT_API_PASSWORD}'), 'password: ${KRT_API_PASSWORD}'),
      },
      'basicAuth: { user: krt, password: ${KRT_API_PASSWORD} }',
    ).optional(),
    metrics: flag('metrics: true').optional(),
  },
  'auth: { bearerToken: ${KRT_API_TOKEN} }',
  (value, ctx) => {
    if (value.bearerToken === undefined && value.basicAuth === undefined) {
      ctx.addIssue({ code: 'custom', message: 'names no credential; write auth: { bearerToken: ${KRT_API_TOKEN} } or auth: { basicAuth: { user: krt, password: ${KRT_API_PASSWORD} } }' });
    }
  },
);

const server = mapping(
  {
    listen: text('listen: 127.0.0.1:9464').transform((value, ctx) => {
      const r = readListen(value);
      if ('error' in r) {
        ctx.addIssue({ code: 'custom', message: r.error });
        return z.NEVER;
      }
      return r;
    }).optional(),
    auth: serverAuth.optional(),
  },
  'server: { listen: 127.0.0.1:9464 }',
);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const CHANNEL_TYPES = ['slack', 'email', 'pagerduty', 'webhook'] as const;

function severity(example: string) {
  return oneOf(SEVERITIES, example, { warn: 'warning', crit: 'critical', error: 'critical', page: 'critical' });
}

/** The lowest severity a channel receives; unset: DEFAULT_MIN_SEVERITY of its type (src/alerts). */
const minSeverity = severity('minSeverity: critical').optional();

const channel = z.discriminatedUnion(
  'type',
  [
    mapping(
      {
        type: z.literal('slack'),
        webhookUrl: required(secretUrl('webhookUrl: ${SLACK_WEBHOOK_URL}'), 'webhookUrl: ${SLACK_WEBHOOK_URL}'),
        minSeverity,
      },
      '{ type: slack, webhookUrl: ${SLACK_WEBHOOK_URL} }',
    ),
    mapping(
      {
        type: z.literal('email'),
        to: list('to: [eng-managers@example.com]', (address) =>
          EMAIL.test(address) ? null : `is ${show(address)}, not an email address; write e.g. eng-managers@example.com`,
        ).min(1, { error: 'is empty; list at least one address, e.g. to: [eng-managers@example.com]' }),
        minSeverity,
      },
      '{ type: email, to: [eng-managers@example.com] }',
    ),
    mapping(
      {
        type: z.literal('pagerduty'),
        routingKey: required(secretText('routingKey: ${PD_ROUTING_KEY}'), 'routingKey: ${PD_ROUTING_KEY}'),
        minSeverity,
      },
      '{ type: pagerduty, routingKey: ${PD_ROUTING_KEY} }',
    ),
    mapping(
      {
        type: z.literal('webhook'),
        url: httpUrl('url: https://hooks.example.com/okr'),
        secret: secretText('secret: ${HOOK_SECRET}').optional(),
        minSeverity,
      },
      '{ type: webhook, url: https://hooks.example.com/okr, secret: ${HOOK_SECRET} }',
    ),
  ],
  {
    error: (iss) => {
      const input = iss.input;
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        return `must be a mapping, not ${kindOf(input)}; write e.g. { type: slack, webhookUrl: \${SLACK_WEBHOOK_URL} }`;
      }
      const type = (input as Record<string, unknown>).type;
      const choices = CHANNEL_TYPES.join(', ');
      if (type === undefined) return `is required; add type: slack (one of ${choices})`;
      const hint = typeof type === 'string' ? didYouMean(type, CHANNEL_TYPES) : '';
      return `is ${show(type)}; ${hint ? `${hint} (one of ${choices})` : `use one of ${choices}`}`;
    },
  },
);

/** `HH:MM` on a 24-hour clock; `9:00` is read as `09:00`. */
function clockTime(example: string) {
  return text(example).transform((value, ctx) => {
    const match = /^(\d{1,2}):(\d{2})$/.exec(value.trim());
    if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) {
      ctx.addIssue({ code: 'custom', message: `is ${show(value)}, not a time of day; write a 24-hour time HH:MM, e.g. ${example}` });
      return z.NEVER;
    }
    return `${match[1]!.padStart(2, '0')}:${match[2]}`;
  });
}

/** `kr-tracker@example.com` or `kr-tracker <kr-tracker@example.com>`. */
function sender(example: string) {
  return text(example).superRefine((value, ctx) => {
    const address = /<([^<>]*)>\s*$/.exec(value)?.[1] ?? value;
    if (!EMAIL.test(address.trim())) {
      ctx.addIssue({ code: 'custom', message: `is ${show(value)}, not an e-mail address; write e.g. ${example}` });
    }
  });
}

const WEEKDAY_SYNONYMS = Object.fromEntries(
  WEEKDAYS.flatMap((day) => [
    [day, day],
    [day.slice(0, 3), day],
  ]),
) as Record<string, (typeof WEEKDAYS)[number]>;

const alertFor = mapping(
  {
    status: duration('status: 15m', { allowZero: true }).optional(),
    stale: duration('stale: 0s', { allowZero: true }).optional(),
    forecast_miss: duration('forecast_miss: 1h', { allowZero: true }).optional(),
  } satisfies Record<(typeof ALERT_KINDS)[number], z.ZodType>,
  'for: { status: 15m, stale: 0s, forecast_miss: 1h }',
);

const severities = mapping(
  {
    at_risk: severity('at_risk: warning').optional(),
    off_track: severity('off_track: critical').optional(),
    stale: severity('stale: warning').optional(),
    forecast_miss: severity('forecast_miss: warning').optional(),
  } satisfies Record<(typeof CONDITIONS)[number], z.ZodType>,
  'severities: { at_risk: warning, off_track: critical, stale: warning, forecast_miss: warning }',
);

const digest = mapping(
  {
    enabled: flag('enabled: true').optional(),
    day: oneOf(WEEKDAYS, 'day: monday', WEEKDAY_SYNONYMS).optional(),
    time: clockTime('time: "09:00"').optional(),
    timezone: timeZone('timezone: Europe/Berlin').optional(),
    channels: list('channels: [platform-leads]').optional(),
  },
  'digest: { day: monday, time: "09:00" }',
);

const SMTP_EXAMPLE = 'smtp: { host: smtp.example.com, port: 587, from: kr-tracker@example.com }';

/** `user: ${SMTP_USER:-}` left empty means a server without login; a password needs a user. */
function checkLogin({ user, password }: Record<string, unknown>, ctx: z.RefinementCtx): void {
  // Runs even when other fields have problems: only when each of the two is absent or text.
  if (![user, password].every((field) => field === undefined || typeof field === 'string')) return;
  const hasUser = Boolean(user);
  if (hasUser && password === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['password'],
      message: 'is required when user is set; add password: ${SMTP_PASSWORD}, or leave user empty for a server without login',
    });
  } else if (hasUser && !password) {
    ctx.addIssue({
      code: 'custom',
      path: ['password'],
      message: 'is empty, but user is set; give the password (e.g. password: ${SMTP_PASSWORD}), or leave user empty for a server without login',
    });
  } else if (!hasUser && password) {
    ctx.addIssue({
      code: 'custom',
      path: ['user'],
      message: `${user === undefined ? 'is required' : 'is empty'} when a password is given; write user: \${SMTP_USER}, or remove password`,
    });
  }
}

const smtp = mapping(
  {
    host: text('host: smtp.example.com'),
    port: port('port: 587'),
    secure: flag('secure: false').optional(),
    user: optionalText('user: ${SMTP_USER}').optional(),
    password: secretText('password: ${SMTP_PASSWORD}').optional(),
    from: sender('from: kr-tracker@example.com'),
  },
  SMTP_EXAMPLE,
  checkLogin,
);

/** Fields of `alerts`; read.ts validates them one by one so that one bad setting hides no other. */
export const alertsShape = {
  channels: emptyAsDefaults(
    z.record(z.string(), channel, {
      error: (iss) =>
        `must be a mapping of channel names to channels, not ${kindOf(iss.input)}; write channels: { platform-leads: { type: slack, webhookUrl: \${SLACK_WEBHOOK_URL} } }`,
    }),
  ).optional(),
  for: emptyAsDefaults(alertFor).optional(),
  keepFiringFor: duration('keepFiringFor: 15m', { allowZero: true }).optional(),
  repeat: duration('repeat: 24h').optional(),
  staleAfter: duration('staleAfter: 15m').optional(),
  severities: emptyAsDefaults(severities).optional(),
  digest: emptyAsDefaults(digest).optional(),
  smtp: smtp.optional(),
  pagerdutyEventsUrl: httpUrl('pagerdutyEventsUrl: https://events.pagerduty.com/v2/enqueue').optional(),
};
export const ALERTS_EXAMPLE = 'alerts: { channels: { ... } }';

/** `checkins: { every: 7d }`: how often someone should check in on an objective (globally or per objective). */
const checkins = mapping({ every: duration('every: 7d').optional() }, 'checkins: { every: 7d }');

/** `breakdowns: { max: 10 }`: per-repository (per-service) values kept per key result, worst first. */
const breakdowns = mapping(
  {
    max: number('max: 10')
      .int({ error: 'must be a whole number; write max: 10' })
      .min(0, { error: 'must be 0 or more (0 turns breakdowns off); write max: 10' })
      .max(100, { error: 'must be at most 100: every value is one more series on /metrics; write max: 10' })
      .optional(),
  },
  'breakdowns: { max: 10 }',
);

/** Top-level keys, each validated on its own so that one bad section does not hide the others. */
export const rootFields = {
  version,
  timezone: timezone.optional(),
  sources: emptyAsDefaults(sources).optional(),
  schedule: emptyAsDefaults(schedule).optional(),
  server: emptyAsDefaults(server).optional(),
  checkins: emptyAsDefaults(checkins).optional(),
  breakdowns: emptyAsDefaults(breakdowns).optional(),
  // Read field by field in read.ts (alertsShape).
  alerts: z.unknown().optional(),
  objectives: z
    .array(z.unknown(), {
      error: (iss) =>
        iss.input === undefined
          ? 'is required; add objectives: with at least one objective (see config/okrs.example.yaml)'
          : `must be a list of objectives, not ${kindOf(iss.input)}; start each objective with "- id: ..."`,
    })
    .min(1, { error: 'is empty; add at least one objective (see config/okrs.example.yaml)' }),
};
export const ROOT_KEYS = Object.keys(rootFields);

function isoDate(example: string) {
  return z
    .union([z.string(), z.date()], {
      error: (iss) =>
        iss.input === undefined ? `is required; add ${example}` : `must be a date, not ${kindOf(iss.input)}; write ${example}`,
    })
    .transform((value, ctx) => {
      // YAML 1.1 parsers turn 2026-10-01 into a Date at UTC midnight; ours keeps text, accept both.
      const day = value instanceof Date ? value.toISOString().slice(0, 10) : value.trim();
      if (!isIsoDate(day)) {
        ctx.addIssue({ code: 'custom', message: `is ${show(value)}, not a date; write it as YYYY-MM-DD, e.g. ${example}` });
        return z.NEVER;
      }
      return day;
    });
}

function ratio(example: string) {
  return number(example).superRefine((value, ctx) => {
    if (value < 0 || value > 1) {
      ctx.addIssue({ code: 'custom', message: `is ${value}; bands are gaps between 0 and 1, e.g. ${example}` });
    }
  });
}

const target = z
  .union([z.number(), z.string()], {
    error: (iss) =>
      iss.input === undefined
        ? `is required; add target: and ${TARGET_HELP}`
        : `must be a number or a percentage, not ${kindOf(iss.input)}; ${TARGET_HELP}`,
  })
  .transform((value, ctx) => {
    const result = readTarget(value);
    if ('error' in result) {
      ctx.addIssue({ code: 'custom', message: result.error });
      return z.NEVER;
    }
    return result.target;
  });

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * The metrics' own knobs (`options` of a descriptor in src/metrics/catalogue, e.g. `stage:`), read
 * like the other fields; checks.ts accepts each only with a metric that declares it.
 */
export const METRIC_OPTIONS: ReadonlyMap<string, { metrics: string[]; field: z.ZodType }> = new Map(
  [...new Set(CATALOGUE.flatMap((d) => Object.keys(d.options ?? {})))].map((name) => {
    const owners = CATALOGUE.filter((d) => d.options?.[name]);
    const first = owners[0]!.options![name]!;
    const values = [...new Set(owners.flatMap((d) => d.options![name]!.values))] as [string, ...string[]];
    return [name, { metrics: owners.map((d) => d.name), field: oneOf(values, first.example).optional() }];
  }),
);

/**
 * `environment: production`, a glob (`production-payments*`) or a list of them: always a list of
 * patterns once read (src/config/glob.ts says what a pattern may hold).
 */
function environments(example: string) {
  const each = (pattern: string): string | null => {
    const problem = globProblem(pattern);
    return problem === null ? null : problem.startsWith('is ') ? problem : `is not a valid pattern: ${problem}`;
  };
  return z
    .union([z.string(), z.array(z.unknown())], {
      error: (iss) => `must be an environment name, a pattern or a list of them, not ${kindOf(iss.input)}; write ${example}`,
    })
    .transform((value, ctx) => {
      const items: unknown[] = typeof value === 'string' ? [value] : value;
      if (items.length === 0) {
        ctx.addIssue({ code: 'custom', message: `is empty; name at least one environment, e.g. ${example}` });
        return z.NEVER;
      }
      const out: string[] = [];
      items.forEach((item, i) => {
        const at = typeof value === 'string' ? [] : [i];
        if (typeof item !== 'string') {
          ctx.addIssue({ code: 'custom', path: at, message: `must be text, not ${kindOf(item)}; write ${example}` });
          return;
        }
        const problem = each(item);
        if (problem) ctx.addIssue({ code: 'custom', path: at, message: problem });
        else out.push(item);
      });
      return out;
    });
}

const ENVIRONMENT_EXAMPLE = 'environment: production (or a pattern such as "production-payments*", or a list of them)';

/** A path prefix inside the repository: `services/payments/`. */
export function pathPrefixProblem(path: string): string | null {
  const example = 'services/payments/';
  if (path.startsWith('/')) return `is ${show(path)}, an absolute path; paths are relative to the repository root, e.g. ${example}`;
  if (path.includes('\\')) return `is ${show(path)}; separate folders with /, e.g. ${example}`;
  if (/[*?[\]]/.test(path)) return `is ${show(path)}, a pattern; paths are prefixes, so ${example} already takes every file under that folder`;
  if (path.split('/').some((part) => part === '.' || part === '..')) return `is ${show(path)}; write the path from the repository root without . or .. parts, e.g. ${example}`;
  return null;
}

/** Key result fields; read.ts validates them one by one, keyResultSchema all together. */
export const keyResultShape = {
  id: id('id: deploy-time'),
  title: text('title: Reduce deployment time by 50%'),
  metric: oneOf(METRIC_NAMES, 'metric: ci_duration'),
  unit: text('unit: seconds').optional(),
  repos: list('repos: [acme/payments]', (repo) =>
    REPO.test(repo) ? null : `is ${show(repo)}, not owner/name; write it like acme/payments`,
  ).optional(),
  services: list('services: [PXXXXXX]').optional(),
  deployments: mapping(
    {
      source: oneOf(['deployments', 'workflow'], 'source: deployments').optional(),
      environment: environments(ENVIRONMENT_EXAMPLE).optional(),
      workflow: text('workflow: deploy.yml').optional(),
      branch: text('branch: main').optional(),
    },
    'deployments: { source: deployments, environment: production }',
  ).optional(),
  environment: environments(ENVIRONMENT_EXAMPLE).optional(),
  /** Monorepos: only commits touching one of these path prefixes are changes (lead_time_for_changes). */
  paths: list('paths: [services/payments/]', pathPrefixProblem)
    .min(1, { error: 'is empty; list at least one path prefix, e.g. paths: [services/payments/], or remove paths to count every commit' })
    .optional(),
  workflow: text('workflow: ci.yml').optional(),
  branch: text('branch: main').optional(),
  window: duration('window: 28d').optional(),
  stat: oneOf(STATS, 'stat: p50', { median: 'p50', average: 'mean', avg: 'mean' }).optional(),
  attribution: duration('attribution: 24h').optional(),
  urgency: oneOf(['high', 'low'], 'urgency: high').optional(),
  artifact: text('artifact: coverage').optional(),
  query: text('query: <a PromQL expression>').optional(),
  aggregate: oneOf(['sum', 'avg', 'min', 'max'], 'aggregate: sum').optional(),
  baseline: number('baseline: 1200, or remove it to measure the baseline at the period start').optional(),
  target,
  kind: oneOf(KINDS, 'kind: maintain_below').optional(),
  bands: mapping(
    { atRisk: ratio('atRisk: 0.10').optional(), offTrack: ratio('offTrack: 0.25').optional() },
    'bands: { atRisk: 0.10, offTrack: 0.25 }',
  ).optional(),
  weight: number('weight: 1')
    .refine((value) => value > 0, { error: (iss) => `is ${show(iss.input)}; a weight must be above zero, e.g. weight: 2` })
    .optional(),
  notify: list('notify: [platform-leads]').optional(),
  // Typed as nothing here: normalize.ts and checks.ts read them by name.
  ...(Object.fromEntries([...METRIC_OPTIONS].map(([name, o]) => [name, o.field])) as object),
  // Why the KR's target, baseline, kind or period changed (recorded with the revision, CONFIG.md).
  'x-revision': text('x-revision: "Target lowered after the payments freeze"').optional(),
};
export const KEY_RESULT_EXAMPLE =
  'a key result such as { id: deploy-time, title: Halve deployment time, metric: ci_duration, target: -50% }';
export const keyResultSchema = mapping(keyResultShape, KEY_RESULT_EXAMPLE);
export type WrittenKeyResult = z.output<typeof keyResultSchema>;

/** Objective fields; its key results are only checked to be a list here, then one by one. */
export const objectiveShape = {
  id: id('id: cicd'),
  title: text('title: Establish a world-class CI/CD pipeline'),
  owner: text('owner: platform-team'),
  team: text('team: payments').optional(),
  parent: text('parent: company-reliability').optional(),
  /** How much this objective counts in its parent's progress, like a key result's weight (default 1). */
  weight: number('weight: 1')
    .refine((value) => value > 0, { error: (iss) => `is ${show(iss.input)}; a weight must be above zero, e.g. weight: 2` })
    .optional(),
  period: mapping(
    { start: isoDate('start: 2026-10-01'), end: isoDate('end: 2026-12-31') },
    'period: { start: 2026-10-01, end: 2026-12-31 }',
  ),
  notify: list('notify: [platform-leads]').optional(),
  checkins: checkins.optional(),
  keyResults: z
    .array(z.unknown(), {
      error: (iss) =>
        iss.input === undefined
          ? 'is required; add keyResults: with at least one key result'
          : `must be a list of key results, not ${kindOf(iss.input)}; start each with "- id: ..."`,
    })
    .min(1, { error: 'is empty; add at least one key result' }),
};
export const OBJECTIVE_EXAMPLE = 'an objective such as { id: cicd, title: ..., owner: ..., period: ..., keyResults: [...] }';
export const objectiveSchema = mapping(objectiveShape, OBJECTIVE_EXAMPLE);
export type WrittenObjective = z.output<typeof objectiveSchema>;

export type WrittenSources = z.output<typeof sources>;
export type WrittenSchedule = z.output<typeof schedule>;
export type WrittenChannel = z.output<typeof channel>;
