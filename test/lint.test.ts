import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config/load.js';
import { formatWarning, lintConfigFile, lintConfigText, RULES } from '../src/config/lint.js';
import { ConfigError } from '../src/core/errors.js';

const LINT = 'test/fixtures/lint';
const EXAMPLE = 'config/okrs.example.yaml';

const SECRETS = {
  GITHUB_TOKEN: 'ghp_lint_secret_1',
  PAGERDUTY_TOKEN: 'pd_lint_secret_2',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/lint_secret_3',
  PD_ROUTING_KEY: 'routing_lint_secret_4',
  HOOK_SECRET: 'hook_lint_secret_5',
};

function lintLines(file: string, env: NodeJS.ProcessEnv = SECRETS): string[] {
  // A fixture's `.checkins.json` holds what Redis would: the latest check-ins and the instant judged.
  const sidecar = file.replace(/\.yaml$/, '.checkins.json');
  let context = {};
  if (existsSync(sidecar)) {
    const s = JSON.parse(readFileSync(sidecar, 'utf8')) as { at: string; lastCheckins: Record<string, string> };
    context = { at: Date.parse(s.at), lastCheckins: new Map(Object.entries(s.lastCheckins).map(([id, t]) => [id, Date.parse(t)])) };
  }
  const { problems, warnings } = lintConfigText(readFileSync(file, 'utf8'), file, env, {}, context);
  expect(problems.map(formatProblem)).toEqual([]);
  return warnings.map(formatWarning);
}

function expectedLines(file: string): string[] {
  return readFileSync(file.replace(/\.yaml$/, '.expected'), 'utf8').trimEnd().split('\n');
}

describe('formatWarning', () => {
  it('gives file:line:column, the path, the rule and the message', () => {
    expect(
      formatWarning({
        file: 'config/okrs.yaml',
        line: 41,
        column: 17,
        path: 'objectives[0].keyResults[2].title',
        rule: 'output-not-outcome',
        message: '"Deploy the new pipeline" is an output',
      }),
    ).toBe('config/okrs.yaml:41:17 objectives[0].keyResults[2].title [output-not-outcome] "Deploy the new pipeline" is an output');
  });
});

describe('krt lint', () => {
  it('has nothing to say about a well-written file', () => {
    expect(lintLines(`${LINT}/good.yaml`)).toEqual([]);
  });

  it('has nothing to say about the example file (one team, three objectives)', () => {
    expect(lintLines(EXAMPLE)).toEqual([]);
  });

  it('never shows a secret from the environment', async () => {
    const { warnings } = await lintConfigFile(EXAMPLE, SECRETS);
    const text = JSON.stringify(warnings);
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  });

  it('only lints a valid file: validation problems come back, and no warnings', () => {
    const text = readFileSync(`${LINT}/10-several-rules.yaml`, 'utf8').replace('target: 1', 'target: 50%');
    const { problems, warnings } = lintConfigText(text, 'okrs.yaml', SECRETS);
    expect(problems.map(formatProblem)).toEqual([
      'okrs.yaml:15:17 objectives[0].keyResults[0].target is "50%", which is ambiguous; write +50% for a change relative to the baseline, or 0.5 for an absolute ratio',
    ]);
    expect(warnings).toEqual([]);
  });

  it('reads keys written through YAML merge keys as written', () => {
    const text = readFileSync(`${LINT}/07-window-longer-than-period.yaml`, 'utf8')
      .replace('x-sprint: &sprint', 'x-kr: &long { window: 90d }\nx-sprint: &sprint')
      .replace('{ id: deploys,', '{ <<: *long, id: deploys,');
    const { warnings } = lintConfigText(text, 'okrs.yaml', SECRETS);
    expect(warnings.find((w) => w.path === 'objectives[0].keyResults[0].window')?.message).toMatch(/^window 90d is longer/);
  });

  it('reads the file from disk, and says so when it is missing', async () => {
    const { problems, warnings } = await lintConfigFile(`${LINT}/good.yaml`, SECRETS);
    expect({ problems, warnings }).toEqual({ problems: [], warnings: [] });
    await expect(lintConfigFile(`${LINT}/missing.yaml`, SECRETS)).rejects.toThrow(ConfigError);
    await expect(lintConfigFile(`${LINT}/missing.yaml`, SECRETS)).rejects.toThrow(/missing\.yaml: file not found/);
  });
});

describe('lint fixtures', () => {
  const fixtures = readdirSync(LINT)
    .filter((name) => /^\d+-.*\.yaml$/.test(name))
    .sort();

  it('have an .expected file each, and together show every rule', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
    const rules = new Set<string>();
    for (const name of fixtures) {
      for (const line of expectedLines(`${LINT}/${name}`)) rules.add(/ \[([a-z-]+)\] /.exec(line)?.[1] ?? '');
    }
    expect([...rules].sort()).toEqual([...RULES].sort());
  });

  it.each(fixtures)('%s gives exactly the expected warnings, in file order', (name) => {
    const file = `${LINT}/${name}`;
    expect(lintLines(file)).toEqual(expectedLines(file));
  });
});
