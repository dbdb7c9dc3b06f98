// Step 3: the written shape (already validated and checked) to the canonical Config: defaults
// filled in, durations in ms, periods as instants, secrets wrapped so they never print.
// Values only; src/alerts/types.ts imports nothing at run time.
import {
  DEFAULT_ALERT_SETTINGS,
  DEFAULT_PAGERDUTY_EVENTS_URL,
  type AlertSettings,
  type SmtpSettings,
} from '../alerts/types.js';
import { metricOf } from '../metrics/catalogue/index.js';
import { formatPath, type Path } from './path.js';
import type { WrittenAlerts, WrittenRoot, WrittenTree } from './read.js';
import { pemText, type WrittenChannel, type WrittenKeyResult, type WrittenObjective } from './schema.js';
import { Secret } from '../core/secret.js';
import { nextDay, startOfDay } from './timezone.js';
import type { AlertsConfig, AlertSettingsConfig, Channel, Config, KeyResult, Objective, ServerConfig, SmtpConfig } from './types.js';
import type { DeploymentSource } from '../metrics/catalogue/types.js';

// types.ts spells out the alerting module's settings types (importing them there would make an
// import cycle); these fail to compile when the two drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type AlertTypesMatch = [Assert<Same<AlertSettingsConfig, AlertSettings>>, Assert<Same<SmtpConfig, SmtpSettings>>];

export const DEFAULTS = {
  timezone: 'UTC',
  githubBaseUrl: 'https://api.github.com',
  pagerdutyBaseUrl: 'https://api.pagerduty.com',
  scheduleMs: 5 * 60_000,
  windowMs: 28 * 86_400_000,
  attributionMs: 24 * 3_600_000,
  stat: 'p50',
  environment: 'production',
  branch: 'main',
  artifact: 'coverage',
  bands: { atRisk: 0.1, offTrack: 0.25 },
  weight: 1,
  serverHost: '127.0.0.1',
  serverPort: 9464,
  checkinEveryMs: 7 * 86_400_000,
} as const;

/** Wraps secret values; `variables` maps each path to the environment variable written there. */
class Secrets {
  constructor(private readonly variables: ReadonlyMap<string, string>) {}

  at(path: Path, value: string): Secret {
    return new Secret(this.variables.get(formatPath(path)) ?? 'inline', value);
  }

  /** An empty optional credential (e.g. `${GITHUB_TOKEN:-}`) means none. */
  optional(path: Path, value: string | undefined): Secret | null {
    return value ? this.at(path, value) : null;
  }
}

export function normalize(tree: WrittenTree, variables: ReadonlyMap<string, string>, file: string): Config {
  const secrets = new Secrets(variables);
  // Only called when no part has a problem: every required field is there.
  const root = tree.root.value;
  const timezone = root.timezone ?? DEFAULTS.timezone;
  const { github, pagerduty, prometheus } = root.sources ?? {};
  return {
    version: 1,
    file,
    timezone,
    sources: {
      github: github
        ? {
            token: secrets.optional(['sources', 'github', 'token'], github.token),
            ...(github.app
              ? {
                  app: {
                    appId: github.app.appId,
                    installationId: github.app.installationId,
                    privateKey: secrets.at(['sources', 'github', 'app', 'privateKey'], pemText(github.app.privateKey)),
                  },
                }
              : {}),
            baseUrl: github.baseUrl ?? DEFAULTS.githubBaseUrl,
          }
        : null,
      pagerduty: pagerduty
        ? {
            token: secrets.optional(['sources', 'pagerduty', 'token'], pagerduty.token),
            baseUrl: pagerduty.baseUrl ?? DEFAULTS.pagerdutyBaseUrl,
          }
        : null,
      prometheus: prometheus
        ? {
            url: prometheus.url,
            bearerToken: secrets.optional(['sources', 'prometheus', 'bearerToken'], prometheus.bearerToken),
            basicAuth: prometheus.basicAuth
              ? {
                  username: prometheus.basicAuth.username,
                  password: secrets.at(['sources', 'prometheus', 'basicAuth', 'password'], prometheus.basicAuth.password),
                }
              : null,
            headers: Object.fromEntries(
              Object.entries(prometheus.headers ?? {}).map(([name, value]) => [
                name,
                secrets.at(['sources', 'prometheus', 'headers', name], value),
              ]),
            ),
          }
        : null,
    },
    schedule: {
      syncMs: root.schedule?.sync ?? DEFAULTS.scheduleMs,
      evaluateMs: root.schedule?.evaluate ?? DEFAULTS.scheduleMs,
    },
    server: toServer(secrets, root.server),
    alerts: toAlerts(secrets, tree.alerts.value as WrittenAlerts),
    objectives: tree.objectives.map(({ value, keyResults }) =>
      toObjective(
        value as WrittenObjective,
        keyResults.map((kr) => kr.value as WrittenKeyResult),
        timezone,
        root.checkins?.every ?? DEFAULTS.checkinEveryMs,
      ),
    ).map((o) => (root.breakdowns?.max === undefined ? o : { ...o, keyResults: o.keyResults.map((kr) => ({ ...kr, breakdownMax: root.breakdowns!.max })) })),
  };
}

function toServer(secrets: Secrets, server: WrittenRoot['server']): ServerConfig {
  const listen = server?.listen ?? { host: DEFAULTS.serverHost, port: DEFAULTS.serverPort };
  const auth = server?.auth;
  const metrics = auth?.metrics ?? false;
  return {
    host: listen.host,
    port: listen.port,
    auth: auth?.bearerToken
      ? { type: 'bearer', token: secrets.at(['server', 'auth', 'bearerToken'], auth.bearerToken), metrics }
      : auth?.basicAuth
        ? { type: 'basic', user: auth.basicAuth.user, password: secrets.at(['server', 'auth', 'basicAuth', 'password'], auth.basicAuth.password), metrics }
        : null,
  };
}

function toAlerts(secrets: Secrets, alerts: WrittenAlerts): AlertsConfig {
  const channels = alerts.channels ?? {};
  const defaults = DEFAULT_ALERT_SETTINGS;
  const written = { for: alerts.for ?? {}, severities: alerts.severities ?? {}, digest: alerts.digest ?? {} };
  const minSeverity: AlertSettingsConfig['minSeverity'] = {};
  for (const [name, channel] of Object.entries(channels)) if (channel.minSeverity) minSeverity[name] = channel.minSeverity;
  const smtp = alerts.smtp;
  return {
    channels: Object.fromEntries(
      Object.entries(channels).map(([name, channel]) => [name, toChannel(secrets, ['alerts', 'channels', name], channel)]),
    ),
    settings: {
      for: {
        status: written.for.status ?? defaults.for.status,
        stale: written.for.stale ?? defaults.for.stale,
        forecast_miss: written.for.forecast_miss ?? defaults.for.forecast_miss,
      },
      keepFiringFor: alerts.keepFiringFor ?? defaults.keepFiringFor,
      repeat: alerts.repeat ?? defaults.repeat,
      staleAfter: alerts.staleAfter ?? defaults.staleAfter,
      severities: {
        at_risk: written.severities.at_risk ?? defaults.severities.at_risk,
        off_track: written.severities.off_track ?? defaults.severities.off_track,
        stale: written.severities.stale ?? defaults.severities.stale,
        forecast_miss: written.severities.forecast_miss ?? defaults.severities.forecast_miss,
      },
      minSeverity,
      digest: {
        enabled: written.digest.enabled ?? defaults.digest.enabled,
        day: written.digest.day ?? defaults.digest.day,
        time: written.digest.time ?? defaults.digest.time,
        timezone: written.digest.timezone ?? defaults.digest.timezone,
        channels: written.digest.channels ? [...written.digest.channels] : defaults.digest.channels && [...defaults.digest.channels],
      },
    },
    smtp: smtp
      ? {
          host: smtp.host,
          port: smtp.port,
          secure: smtp.secure ?? false,
          // schema.ts made sure that a user comes with a password.
          auth: smtp.user ? { user: smtp.user, password: secrets.at(['alerts', 'smtp', 'password'], smtp.password ?? '') } : null,
          from: smtp.from,
        }
      : null,
    pagerDutyEventsUrl: alerts.pagerdutyEventsUrl ?? DEFAULT_PAGERDUTY_EVENTS_URL,
  };
}

function toChannel(secrets: Secrets, path: Path, channel: WrittenChannel): Channel {
  switch (channel.type) {
    case 'slack':
      return { type: 'slack', webhookUrl: secrets.at([...path, 'webhookUrl'], channel.webhookUrl) };
    case 'email':
      return { type: 'email', to: channel.to };
    case 'pagerduty':
      return { type: 'pagerduty', routingKey: secrets.at([...path, 'routingKey'], channel.routingKey) };
    case 'webhook':
      return { type: 'webhook', url: channel.url, secret: secrets.optional([...path, 'secret'], channel.secret) };
  }
}

function toObjective(objective: WrittenObjective, keyResults: WrittenKeyResult[], timezone: string, checkinEveryMs: number): Objective {
  const notify = objective.notify ?? [];
  return {
    id: objective.id,
    title: objective.title,
    owner: objective.owner,
    team: objective.team ?? null,
    parent: objective.parent ?? null,
    weight: objective.weight ?? DEFAULTS.weight,
    // The end day is included: the period ends when the day after it starts.
    period: {
      start: startOfDay(objective.period.start, timezone),
      end: startOfDay(nextDay(objective.period.end), timezone),
    },
    notify,
    checkinEveryMs: objective.checkins?.every ?? checkinEveryMs,
    keyResults: keyResults.map((kr) => toKeyResult(kr, objective.id, notify)),
  };
}

function toKeyResult(kr: WrittenKeyResult, objectiveId: string, objectiveNotify: string[]): KeyResult {
  const deployments = kr.deployments;
  const branch = kr.branch ?? DEFAULTS.branch;
  return {
    id: kr.id,
    objectiveId,
    title: kr.title,
    metric: kr.metric,
    unit: kr.unit ?? metricOf(kr.metric).unit ?? '',
    repos: kr.repos ?? [],
    services: kr.services ?? [],
    deployments:
      deployments?.source === 'workflow'
        ? { source: 'workflow', workflow: (deployments.workflow ?? kr.workflow)!, branch: deployments.branch ?? branch }
        : deploymentsTo(deployments?.environment ?? kr.environment ?? [DEFAULTS.environment]),
    paths: kr.paths ?? [],
    workflow: kr.workflow ?? null,
    branch,
    windowMs: kr.window ?? DEFAULTS.windowMs,
    stat: kr.stat ?? DEFAULTS.stat,
    attributionMs: kr.attribution ?? DEFAULTS.attributionMs,
    urgency: kr.urgency ?? null,
    artifact: kr.artifact ?? DEFAULTS.artifact,
    query: kr.query ?? null,
    aggregate: kr.aggregate ?? null,
    baseline: kr.baseline ?? null,
    target: kr.target,
    kind: kr.kind ?? null,
    bands: {
      atRisk: kr.bands?.atRisk ?? DEFAULTS.bands.atRisk,
      offTrack: kr.bands?.offTrack ?? DEFAULTS.bands.offTrack,
    },
    weight: kr.weight ?? DEFAULTS.weight,
    notify: kr.notify ?? [...objectiveNotify],
    ...metricOptions(kr),
    revisionNote: kr['x-revision'] ?? null,
  };
}

/** The metric's own knobs (its descriptor's `options`), defaults filled in; nothing for a metric without any. */
function metricOptions(kr: WrittenKeyResult): { options?: Record<string, string> } {
  const declared = metricOf(kr.metric).options;
  if (!declared) return {};
  const written = kr as unknown as Record<string, unknown>;
  return { options: Object.fromEntries(Object.entries(declared).map(([name, o]) => [name, (written[name] as string | undefined) ?? o.default])) };
}

/**
 * Deployments to the environments the patterns name. `environment` is the first pattern, which is
 * the one environment of a key result that names exactly one (the sync streams and queries use
 * it as written); `environments` holds every pattern (globs, src/config/glob.ts).
 */
function deploymentsTo(patterns: string[]): DeploymentSource {
  return { source: 'deployments', environment: patterns[0]!, environments: [...patterns] };
}
