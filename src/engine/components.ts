// Breakdowns (METRICS.md "Breakdowns"): a key result over several repositories (or PagerDuty
// services) also has its metric per repository (per service), the same metric over that one's
// events alone with the key result's other knobs. Each component is the key result narrowed to one
// repository (service) and measured through the same round reader, so that it reads nothing the
// key result did not read already.
import type { KeyResult } from '../config/types.js';
import type { Component } from '../core/result.js';
import { metricOf } from '../metrics/catalogue/index.js';
import { breakdownOf, type MetricKnobs } from '../metrics/catalogue/types.js';
import { measurer, type LiveSources } from './measure.js';
import type { RoundReader } from './round.js';

/** Components kept per key result when the OKR file does not say (`breakdowns: { max: N }`). */
export const DEFAULT_MAX_COMPONENTS = 10;

/** What the key result breaks down into: the repositories or services, or null when it does not (one, or none). */
export function breakdownParts(kr: KeyResult): { by: 'repository' | 'service'; keys: string[] } | null {
  const by = breakdownOf(metricOf(kr.metric));
  if (by === null) return null;
  const keys = [...new Set(by === 'repository' ? kr.repos : kr.services)];
  return keys.length > 1 ? { by, keys } : null;
}

/** The key result over one repository or service, every other knob as it is. */
export function narrowed(kr: KeyResult, by: 'repository' | 'service', key: string): KeyResult {
  return by === 'repository' ? { ...kr, repos: [key] } : { ...kr, services: [key] };
}

/**
 * The components of the key result at `at`, worst first (the highest values first when lower is
 * better, the lowest first when higher is better; no value last), at most `max` of them. Null when
 * the key result does not break down, or `max` is 0 (breakdowns off).
 */
export async function componentsOf(kr: KeyResult, round: RoundReader, at: number, max: number, live: LiveSources = {}): Promise<Component[] | null> {
  const parts = breakdownParts(kr);
  if (parts === null || max <= 0) return null;
  const values = await Promise.all(
    parts.keys.map(async (key) => {
      const one = narrowed(kr, parts.by, key);
      // Key results measuring the same thing over the same repository (service) share it in a round.
      const value = await round.memo(`component:${at}:${measuringKey(one)}`, async () => (await measurer(one, round, live, [at]))(at));
      return { key, value };
    }),
  );
  const better = metricOf(kr.metric).better;
  values.sort((a, b) => {
    if (a.value === null || b.value === null) return a.value === b.value ? a.key.localeCompare(b.key) : a.value === null ? 1 : -1;
    const d = better === 'increase' ? a.value - b.value : b.value - a.value;
    return d !== 0 ? d : a.key.localeCompare(b.key);
  });
  return values.slice(0, Math.max(0, max)).map(({ key, value }) => (parts.by === 'repository' ? { repository: key, value } : { service: key, value }));
}

/** What a measurement depends on: the metric and its knobs, not the key result's id, title or target. */
function measuringKey(kr: KeyResult): string {
  // Every knob of MetricKnobs (the compiler says when one is added and not listed here).
  const knobs: { [K in keyof Required<MetricKnobs>]: MetricKnobs[K] } = {
    repos: kr.repos,
    services: kr.services,
    paths: kr.paths,
    deployments: kr.deployments,
    workflow: kr.workflow,
    branch: kr.branch,
    windowMs: kr.windowMs,
    stat: kr.stat,
    attributionMs: kr.attributionMs,
    urgency: kr.urgency,
    artifact: kr.artifact,
    query: kr.query,
    aggregate: kr.aggregate,
    options: kr.options,
  };
  return JSON.stringify({ metric: kr.metric, ...knobs });
}
