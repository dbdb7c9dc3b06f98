// `krt lint`: OKR practice warnings on a file that is already valid. The loader (load.ts) decides
// whether the file can be run at all; lint says where it falls short of good OKRs (too many
// objectives, outputs instead of outcomes, targets that go the wrong way, drift nobody hears
// about) and how to word it better. The rules live in lint-rules.ts.
import { parseConfig, readConfigText, type ConfigProblem, type LoadOptions } from './load.js';
import { ALL_RULES, type LintContext, type RuleName, type Written } from './lint-rules.js';
import { locator } from './locate.js';
import { formatPath, type Path } from './path.js';
import { documentValue, parseYaml } from './syntax.js';
import type { Config } from './types.js';

export { RULES, type LintContext, type RuleName } from './lint-rules.js';

export interface LintWarning {
  file: string;
  line: number;
  column: number;
  /** `objectives[0].keyResults[2].title`. */
  path: string;
  rule: RuleName;
  /** What is wrong and a better formulation. */
  message: string;
}

/** `config/okrs.yaml:41:17 objectives[0].keyResults[2].title [output-not-outcome] "Deploy the new pipeline" is an output ...` */
export function formatWarning(w: LintWarning): string {
  return `${w.file}:${w.line}:${w.column} ${w.path ? `${w.path} ` : ''}[${w.rule}] ${w.message}`;
}

export interface LintResult {
  problems: ConfigProblem[];
  warnings: LintWarning[];
  /** Unset environment variables (with `allowUnset`), each naming the variable. */
  unset: ConfigProblem[];
}

/** Validation problems; when there are none, the practice warnings in file order. */
export function lintConfigText(text: string, file: string, env: NodeJS.ProcessEnv, options: LoadOptions = {}, context: LintContext = {}): LintResult {
  const { config, problems, warnings: unset } = parseConfig(text, file, env, options);
  if (!config) return { problems, warnings: [], unset };
  return { problems: [], warnings: lintConfig(config, text, file, context), unset };
}

/** The warnings for a valid config read from `text` (which gives the lines and columns). */
export function lintConfig(config: Config, text: string, file: string, context: LintContext = {}): LintWarning[] {
  const { doc, lineCounter } = parseYaml(text);
  const locate = locator(doc, lineCounter);
  const written = writtenIn(documentValue(doc));
  const warnings = ALL_RULES.flatMap((rule) => rule(config, written, context)).map(({ path, rule, message }) => {
    const { line, column } = locate(path);
    return { file, line, column, path: formatPath(path), rule, message };
  });
  // In file order; warnings at the same place keep the order of the rules.
  return warnings
    .map((warning, index) => ({ warning, index }))
    .sort((a, b) => a.warning.line - b.warning.line || a.warning.column - b.warning.column || a.index - b.index)
    .map(({ warning }) => warning);
}

/** Keys as written, after YAML merge keys (`<<: *defaults`) are applied. */
function writtenIn(root: unknown): Written {
  return {
    has(path: Path): boolean {
      let node = root;
      for (const part of path) {
        if (node === null || typeof node !== 'object') return false;
        node = (node as Record<string | number, unknown>)[part];
      }
      return node !== undefined && node !== null;
    },
  };
}

/** Reads and lints the OKR file; throws a ConfigError when it cannot be read. */
export async function lintConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}, context: LintContext = {}): Promise<LintResult> {
  return lintConfigText(await readConfigText(file), file, env, options, context);
}
