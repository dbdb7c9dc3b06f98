// Who hears about an event: the key result's notify list (already the objective's unless the KR
// overrides it), each channel taking only severities at or above its minimum (so an alert that
// escalates from at risk to off track pages PagerDuty then, and not before). A resolve goes to
// exactly the channels that were told the alert, even if routing changed since, so nobody is
// left with an open PagerDuty incident.
import type { Config, KeyResult } from '../config/types.js';
import { DEFAULT_MIN_SEVERITY, SEVERITIES, type AlertEvent, type AlertSettings, type Severity } from './types.js';

const rank = (s: Severity) => SEVERITIES.indexOf(s);

export function minSeverityOf(name: string, config: Config, settings: AlertSettings): Severity {
  const channel = config.alerts.channels[name];
  return settings.minSeverity[name] ?? (channel ? DEFAULT_MIN_SEVERITY[channel.type] : 'info');
}

/** Channel names for `event`, in the KR's notify order, only channels that exist in the config. */
export function routeEvent(event: AlertEvent, kr: KeyResult | null, config: Config, settings: AlertSettings): string[] {
  const exists = (n: string) => n in config.alerts.channels;
  if (event.action === 'resolve') return event.notified.filter(exists);
  const wanted = (kr?.notify ?? []).filter((n) => exists(n) && rank(event.severity) >= rank(minSeverityOf(n, config, settings)));
  return [...new Set(wanted)];
}
