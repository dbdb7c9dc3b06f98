// Issue 13, monorepos (contract v2): `paths:` on lead_time_for_changes and `environment` as a glob
// or a list of globs: the config side (schema, normalization, checks, lint wording) and the pure
// matcher from patterns to environment names.
import { describe, expect, it } from 'vitest';
import { globProblem, isGlob, matchEnvironments, matchesGlob } from '../src/config/glob.js';
import { formatProblem, parseConfig } from '../src/config/load.js';
import { metricSubject } from '../src/config/lint-wording.js';

describe('environment globs', () => {
  it('match names as documented: * any run, ? one character, [set], [!set], \\ literal, case ignored', () => {
    const cases: Array<[string, string, boolean]> = [
      ['production', 'production', true],
      ['production', 'Production', true],
      ['production', 'production-payments', false],
      ['production-payments*', 'production-payments', true],
      ['production-payments*', 'production-payments-eu', true],
      ['production-payments*', 'staging-payments', false],
      ['production-*', 'production-search', true],
      ['*-payments', 'production-payments', true],
      ['prod-?', 'prod-1', true],
      ['prod-?', 'prod-12', false],
      ['prod-[12]', 'prod-2', true],
      ['prod-[12]', 'prod-3', false],
      ['prod-[a-c]', 'prod-b', true],
      ['prod-[!a-c]', 'prod-b', false],
      ['prod-[!a-c]', 'prod-d', true],
      ['prod\\*', 'prod*', true],
      ['prod\\*', 'prodx', false],
      ['a.b', 'axb', false],
      ['prod**', 'production', true],
    ];
    for (const [pattern, name, expected] of cases) expect(matchesGlob(pattern, name), `${pattern} ~ ${name}`).toBe(expected);
    expect(isGlob('production')).toBe(false);
    expect(isGlob('production-*')).toBe(true);
  });

  it('refuse what is not a pattern, saying how to write it', () => {
    expect(globProblem('production')).toBeNull();
    expect(globProblem('prod-[a-c')).toMatch(/opens a \[ set at character 6 that is never closed; close it with \]/);
    expect(globProblem('prod-[]')).toMatch(/empty set \[\]; list characters in it/);
    expect(globProblem('prod-[z-a]')).toMatch(/the range z-a, which runs backwards; write a-z/);
    expect(globProblem('prod]')).toMatch(/closes a set with \] at character 5 that was never opened/);
    expect(globProblem('prod\\')).toMatch(/ends with a lone \\/);
    expect(globProblem('  ')).toMatch(/^is empty/);
    expect(globProblem(' prod')).toMatch(/starts or ends with spaces/);
  });

  it('turn patterns into the environment names they match, in order, each once', () => {
    const names = ['production-payments', 'production-search', 'staging-payments', 'production-payments-eu', 'Production-Search'];
    expect(matchEnvironments(['production-payments*'], names)).toEqual(['production-payments', 'production-payments-eu']);
    expect(matchEnvironments(['production-search', 'production-*'], names)).toEqual(['production-payments', 'production-search', 'production-payments-eu', 'Production-Search']);
    expect(matchEnvironments(['*-payments', 'staging-*'], names)).toEqual(['production-payments', 'staging-payments']);
    expect(matchEnvironments(['nothing-*'], names)).toEqual([]);
    expect(matchEnvironments(['prod-[a'], names)).toEqual([]);
  });
});

const file = (kr: string) => `version: 1
sources:
  github: { token: t }
objectives:
  - id: payments-delivery
    title: Deliver payments changes quickly
    owner: payments-team
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
${kr}`;

const problems = (text: string) => parseConfig(text, 'okrs.yaml', {}).problems.map(formatProblem);

describe('monorepo knobs in the OKR file', () => {
  it('reads paths and an environment pattern onto the key result', () => {
    const { config, problems: p } = parseConfig(
      file(`      - id: payments-lead-time
        title: Cut the lead time of payments changes to a day
        metric: lead_time_for_changes
        repos: [acme/monorepo]
        paths: [services/payments/, libs/money/]
        deployments: { source: deployments, environment: "production-payments*" }
        baseline: 172800
        target: 86400
      - id: search-frequency
        title: Deploy search daily
        metric: deployment_frequency
        repos: [acme/monorepo]
        environment: [production-search, "production-search-*"]
        target: 1
`),
      'okrs.yaml',
      {},
    );
    expect(p).toEqual([]);
    const [lead, freq] = config!.objectives[0]!.keyResults;
    expect(lead).toMatchObject({ paths: ['services/payments/', 'libs/money/'], deployments: { source: 'deployments', environment: 'production-payments*', environments: ['production-payments*'] } });
    expect(freq).toMatchObject({ paths: [], deployments: { source: 'deployments', environment: 'production-search', environments: ['production-search', 'production-search-*'] } });
    expect(metricSubject(lead!)).toBe('median lead time for changes under services/payments/ or libs/money/');
    expect(metricSubject(freq!)).toBe('deployments to production-search or production-search-*');
  });

  it('reports bad globs, bad paths and paths on another metric at their file, line and column', () => {
    expect(
      problems(
        file(`      - id: lead-time
        title: Cut the lead time to a day
        metric: lead_time_for_changes
        repos: [acme/monorepo]
        paths: [/services/payments/, "services/*/", services/../x/]
        deployments: { environment: "production-[payments" }
        target: 86400
      - id: frequency
        title: Deploy daily
        metric: deployment_frequency
        repos: [acme/monorepo]
        paths: [services/search/]
        environment: [production, "prod-[z-a]", 3]
        target: 1
      - id: rollbacks
        title: Keep rollbacks rare
        metric: rollback_rate
        repos: [acme/monorepo]
        environment: []
        paths: []
        kind: maintain_below
        target: 0.01
`),
      ),
    ).toEqual([
      'okrs.yaml:14:17 objectives[0].keyResults[0].paths[0] is "/services/payments/", an absolute path; paths are relative to the repository root, e.g. services/payments/',
      'okrs.yaml:14:38 objectives[0].keyResults[0].paths[1] is "services/*/", a pattern; paths are prefixes, so services/payments/ already takes every file under that folder',
      'okrs.yaml:14:53 objectives[0].keyResults[0].paths[2] is "services/../x/"; write the path from the repository root without . or .. parts, e.g. services/payments/',
      'okrs.yaml:15:37 objectives[0].keyResults[0].deployments.environment is not a valid pattern: "production-[payments" opens a [ set at character 12 that is never closed; close it with ], or write \\[ for a literal [',
      'okrs.yaml:21:16 objectives[0].keyResults[1].paths applies to metric lead_time_for_changes (only commits touching these paths are changes), not deployment_frequency; remove it',
      'okrs.yaml:22:35 objectives[0].keyResults[1].environment[1] is not a valid pattern: "prod-[z-a]" has the range z-a, which runs backwards; write a-z',
      'okrs.yaml:22:49 objectives[0].keyResults[1].environment[2] must be text, not a number; write environment: production (or a pattern such as "production-payments*", or a list of them)',
      'okrs.yaml:28:22 objectives[0].keyResults[2].environment is empty; name at least one environment, e.g. environment: production (or a pattern such as "production-payments*", or a list of them)',
      'okrs.yaml:29:16 objectives[0].keyResults[2].paths is empty; list at least one path prefix, e.g. paths: [services/payments/], or remove paths to count every commit',
    ]);
  });
});
