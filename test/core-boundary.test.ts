// Connectors import nothing of src/ but src/core, and src/core imports nothing outside itself
// (eslint.config.js CONNECTOR_IMPORTS / CORE_IMPORTS). Checked with ESLint itself, on samples that
// break the rule and on the real files.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function restricted(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the src/core boundary', () => {
  it('refuses a connector importing src/ outside src/core, type imports included', async () => {
    expect(await restricted("import { freePort } from '../../src/lib/net.js';\nexport const f = freePort;\n", 'connectors/github/sample.ts')).toEqual([
      expect.stringContaining('connectors import nothing of src/ but src/core'),
    ]);
    expect(await restricted("import type { Config } from '../../src/config/types.js';\nexport type C = Config;\n", 'connectors/pagerduty/sample.ts')).toHaveLength(1);
    expect(await restricted("export { measurer } from '../src/engine/measure.js';\n", 'connectors/sample.ts')).toHaveLength(1);
  });

  it('lets a connector import src/core, its own modules and packages', async () => {
    const code = [
      "import type { Store } from '../../src/core/store.js';",
      "import { streams } from '../../src/core/index.js';",
      "import { mapPool } from '../kit/index.js';",
      "import { Octokit } from '@octokit/rest';",
      'export const all = [streams, mapPool, Octokit];',
      'export type S = Store;',
      '',
    ].join('\n');
    expect(await restricted(code, 'connectors/github/sample.ts')).toEqual([]);
  });

  it('lets the API simulators (test servers, not connectors) use src/lib', async () => {
    expect(await restricted("import { freePort } from '../../../src/lib/net.js';\nexport const f = freePort;\n", 'connectors/github/sim/sample.ts')).toEqual([]);
  });

  it('refuses src/core importing the rest of src/', async () => {
    expect(await restricted("import type { KeyResult } from '../config/types.js';\nexport type K = KeyResult;\n", 'src/core/sample.ts')).toEqual([
      expect.stringContaining('src/core imports nothing outside src/core'),
    ]);
  });

  it('holds for every connector and core file', async () => {
    const results = await eslint.lintFiles(['connectors/**/*.ts', 'src/core/**/*.ts']);
    const broken = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => `${r.filePath}:${m.line}: ${m.message}`));
    expect(results.length).toBeGreaterThan(30);
    expect(broken).toEqual([]);
  });
});
