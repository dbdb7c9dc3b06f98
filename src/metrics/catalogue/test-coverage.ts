import { streams } from '../../core/stream.js';
import { latestCoverage, testCoverage } from '../test-coverage.js';
import { readStreams } from './shared.js';
import { defineMetric, type MetricKnobs } from './types.js';

/** The coverage stream of each repository; derived from the runs stream of the same workflow. */
const coverageStreams = (kr: MetricKnobs) =>
  kr.repos.map((r) => streams.coverage(r, kr.workflow ?? '', kr.branch, kr.artifact));

export default defineMetric({
  name: 'test_coverage',
  title: 'Test coverage',
  source: 'github',
  unit: 'ratio',
  better: 'increase',
  range: 'ratio',
  // The latest report at the instant, whatever its age.
  windowed: false,
  requires: ['workflow'],
  streams: (kr) => kr.repos.flatMap((r) => [streams.runs(r, kr.workflow ?? '', kr.branch), streams.coverage(r, kr.workflow ?? '', kr.branch, kr.artifact)]),
  reads: (kr, plan) => readStreams(plan, coverageStreams(kr), [[-Infinity, plan.hi]]),
  async measure(_kr, ctx) {
    const coverage = await ctx.events('coverage');
    return async (at) => testCoverage(coverage, at);
  },
  // The run whose report gave the value.
  async explain(_kr, ctx) {
    const coverage = await ctx.events('coverage');
    return async (at) => {
      const best = latestCoverage(coverage, at);
      return { runs: best ? [{ repository: best.repo, id: best.id, conclusion: 'success', seconds: null, lineRate: best.lineRate }] : [] };
    };
  },
  wording: {
    subject: () => 'line coverage',
    counterpart: 'the change failure rate (metric: change_failure_rate), so coverage turns into fewer failed deployments',
    noValue: 'no successful run with a readable coverage artifact at this instant',
  },
});
