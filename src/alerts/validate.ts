// Checks of what alerting needs beyond the written shape the loader validates: that a channel can
// be used (its URL parses, e-mail has SMTP settings) and that the alert settings make sense.
// Problems are collected, each with its path and the fix, and never quote a secret's value.
import { isHttpUrl } from '../config/fields.js';
import { isTimeZone } from '../config/timezone.js';
import type { Channel, Config } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import { CONDITIONS, SEVERITIES, WEEKDAYS, type AlertSettings, type SmtpSettings } from './types.js';

/** Problems with one channel, as `alerts.channels.NAME.field ...` lines. */
export function channelProblems(name: string, channel: Channel, smtp: SmtpSettings | null): string[] {
  const at = `alerts.channels.${name}`;
  switch (channel.type) {
    case 'slack':
      return isHttpUrl(channel.webhookUrl.reveal())
        ? []
        : [`${at}.webhookUrl (${channel.webhookUrl}) is not an http(s) URL; set ${channel.webhookUrl.name} to the incoming webhook URL Slack gave you (https://hooks.slack.com/services/...)`];
    case 'email': {
      const p: string[] = [];
      if (channel.to.length === 0) p.push(`${at}.to is empty; list at least one address, e.g. to: [eng-managers@example.com]`);
      if (!smtp) p.push(`${at} is an e-mail channel but no SMTP server is configured; add alerts.smtp: { host: smtp.example.com, port: 587, from: okr@example.com }`);
      return p;
    }
    case 'pagerduty':
      return channel.routingKey.reveal().trim() === ''
        ? [`${at}.routingKey (${channel.routingKey}) is empty; set ${channel.routingKey.name} to the integration key of an Events API v2 integration`]
        : [];
    case 'webhook':
      return isHttpUrl(channel.url) ? [] : [`${at}.url is ${JSON.stringify(channel.url)}, not an http(s) URL; write e.g. url: https://hooks.example.com/okr`];
  }
}

/** Problems with the alert settings, the SMTP settings and every channel. */
export function alertingProblems(config: Config, settings: AlertSettings, smtp: SmtpSettings | null): string[] {
  const p: string[] = [];
  for (const [name, channel] of Object.entries(config.alerts.channels)) p.push(...channelProblems(name, channel, smtp));
  const durations: [string, number | null][] = [
    ...Object.entries(settings.for).map(([k, v]): [string, number] => [`alerts.rules.for.${k}`, v]),
    ['alerts.rules.keepFiringFor', settings.keepFiringFor],
    ['alerts.rules.repeat', settings.repeat],
    ['alerts.rules.staleAfter', settings.staleAfter],
  ];
  for (const [path, ms] of durations) {
    if (ms !== null && !(Number.isFinite(ms) && ms >= 0)) p.push(`${path} is ${ms}; write a duration such as 15m`);
  }
  if (!(settings.repeat > 0)) p.push(`alerts.rules.repeat must be above zero; write e.g. repeat: 24h`);
  for (const c of CONDITIONS) {
    if (!SEVERITIES.includes(settings.severities[c])) p.push(`alerts.routing.severities.${c} is ${JSON.stringify(settings.severities[c])}; use one of ${SEVERITIES.join(', ')}`);
  }
  for (const [name, s] of Object.entries(settings.minSeverity)) {
    if (!(name in config.alerts.channels)) p.push(`alerts.routing.minSeverity.${name} names no channel in alerts.channels; use one of ${Object.keys(config.alerts.channels).join(', ') || '(none defined)'}`);
    if (!SEVERITIES.includes(s)) p.push(`alerts.routing.minSeverity.${name} is ${JSON.stringify(s)}; use one of ${SEVERITIES.join(', ')}`);
  }
  const d = settings.digest;
  if (!WEEKDAYS.includes(d.day)) p.push(`alerts.digest.day is ${JSON.stringify(d.day)}; use one of ${WEEKDAYS.join(', ')}`);
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(d.time)) p.push(`alerts.digest.time is ${JSON.stringify(d.time)}; write a 24-hour time HH:MM, e.g. time: "09:00"`);
  if (d.timezone !== null && !isTimeZone(d.timezone)) p.push(`alerts.digest.timezone is ${JSON.stringify(d.timezone)}, not an IANA time zone; write e.g. Europe/Berlin`);
  for (const name of d.channels ?? []) {
    if (!(name in config.alerts.channels)) p.push(`alerts.digest.channels names ${JSON.stringify(name)}, not a channel in alerts.channels`);
  }
  if (smtp) {
    if (!smtp.host) p.push('alerts.smtp.host is empty; write e.g. host: smtp.example.com');
    if (!(Number.isInteger(smtp.port) && smtp.port > 0 && smtp.port < 65536)) p.push(`alerts.smtp.port is ${smtp.port}; write e.g. port: 587`);
    if (!/@/.test(smtp.from)) p.push(`alerts.smtp.from is ${JSON.stringify(smtp.from)}, not an e-mail address; write e.g. from: okr@example.com`);
  }
  return p;
}

/** Throws a ConfigError listing every problem. */
export function assertAlerting(config: Config, settings: AlertSettings, smtp: SmtpSettings | null): void {
  const problems = alertingProblems(config, settings, smtp);
  if (problems.length) throw new ConfigError(`alerting: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems);
}
