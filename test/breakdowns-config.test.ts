// `breakdowns: { max: N }`: how many per-repository values each key result keeps.
import { describe, expect, it } from 'vitest';
import { formatProblem, parseConfig } from '../src/config/load.js';

const FILE = (breakdowns: string) => `version: 1
sources: { github: { token: ghp_x } }
${breakdowns}
objectives:
  - id: cicd
    title: Ship often
    owner: platform
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - { id: df, title: Deploy daily, metric: deployment_frequency, repos: [acme/a, acme/b], target: 1 }
`;

describe('breakdowns', () => {
  it('sets the bound on every key result, and leaves the default (10) when absent', () => {
    const set = parseConfig(FILE('breakdowns: { max: 3 }'), 'okrs.yaml', {});
    expect(set.problems.map(formatProblem)).toEqual([]);
    expect(set.config!.objectives[0]!.keyResults[0]!.breakdownMax).toBe(3);
    const unset = parseConfig(FILE(''), 'okrs.yaml', {});
    expect(unset.config!.objectives[0]!.keyResults[0]!.breakdownMax).toBeUndefined();
  });

  it('refuses a bound that is not a whole number from 0 to 100, saying how to write it', () => {
    for (const [max, words] of <[string, string][]>[
      ['-1', 'must be 0 or more (0 turns breakdowns off); write max: 10'],
      ['1.5', 'must be a whole number; write max: 10'],
      ['500', 'must be at most 100: every value is one more series on /metrics; write max: 10'],
      ['many', 'max: 10'],
    ]) {
      const { config, problems } = parseConfig(FILE(`breakdowns: { max: ${max} }`), 'okrs.yaml', {});
      expect(config, max).toBeNull();
      expect(problems.map(formatProblem).join('\n'), max).toMatch(new RegExp(`okrs\\.yaml:3:\\d+ breakdowns\\.max .*${words.replace(/[()./:]/g, '\\$&')}`));
    }
  });
});
