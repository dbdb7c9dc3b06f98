import type { CoverageEvent } from '../core/events.js';

/**
 * METRICS.md `test_coverage`: the line coverage of the most recent run (by created_at, at or
 * before `at`) that has a coverage report; runs created at the same instant: the higher run id
 * (the later one). No window. null (no data) when no report is that old.
 */
export function testCoverage(coverage: readonly CoverageEvent[], at: number): number | null {
  return latestCoverage(coverage, at)?.lineRate ?? null;
}

/** The report testCoverage reads at `at`: the most recent run's (then the higher run id); null when none. */
export function latestCoverage(coverage: readonly CoverageEvent[], at: number): CoverageEvent | null {
  let best: CoverageEvent | null = null;
  for (const c of coverage) {
    if (c.runCreatedAt > at) continue;
    if (best === null || c.runCreatedAt > best.runCreatedAt || (c.runCreatedAt === best.runCreatedAt && c.id > best.id)) best = c;
  }
  return best;
}
