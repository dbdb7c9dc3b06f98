// `krt lint`: OKR practice warnings on a file that is already valid. The loader (load.ts) decides
// whether the file can be run at all; lint says where it falls short of good OKRs (too many
// objectives, outputs instead of outcomes, targets that go the wrong way, drift nobody hears
// about) and how to word it better. The rules live in lint-rules.ts.
import { parseConfig, parseConfigInput, readConfigInput, type ConfigFile, type ConfigProblem, type LoadOptions, type ObjectiveOrigin } from './load.js';
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

/**
 * The warnings for a valid config read from several files (a directory): each warning at its own
 * file, line and column. `origins` says where each objective of the config was written.
 */
export function lintConfigFiles(config: Config, files: readonly ConfigFile[], origins: readonly ObjectiveOrigin[], settingsFile: string, context: LintContext = {}): LintWarning[] {
  const docs = new Map(
    files.map(({ file, text }) => {
      const { doc, lineCounter } = parseYaml(text);
      return [file, { locate: locator(doc, lineCounter), root: documentValue(doc) }] as const;
    }),
  );
  const place = (path: Path): { file: string; path: Path } => {
    const o = path[0] === 'objectives' && typeof path[1] === 'number' ? origins[path[1]] : undefined;
    return o ? { file: o.file, path: ['objectives', o.index, ...path.slice(2)] } : { file: settingsFile, path };
  };
  const written: Written = {
    has(path) {
      const p = place(path);
      return writtenIn(docs.get(p.file)?.root).has(p.path);
    },
  };
  const order = new Map(files.map((f, i) => [f.file, i]));
  return ALL_RULES.flatMap((rule) => rule(config, written, context))
    .map(({ path, rule, message }, index) => {
      const p = place(path);
      const { line, column } = docs.get(p.file)!.locate(p.path);
      return { warning: { file: p.file, line, column, path: formatPath(p.path), rule, message }, index };
    })
    .sort(
      (a, b) =>
        order.get(a.warning.file)! - order.get(b.warning.file)! ||
        a.warning.line - b.warning.line ||
        a.warning.column - b.warning.column ||
        a.index - b.index,
    )
    .map(({ warning }) => warning);
}

/** Reads and lints the OKR file, or every file of a directory; throws a ConfigError when one cannot be read. */
export async function lintConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}, context: LintContext = {}): Promise<LintResult> {
  const input = await readConfigInput(file);
  if (!input.directory) return lintConfigText(input.files[0]!.text, input.files[0]!.file, env, options, context);
  const { config, problems, warnings: unset, origins, settingsFile } = parseConfigInput(input, env, options);
  if (!config) return { problems, warnings: [], unset };
  return { problems: [], warnings: lintConfigFiles(config, input.files, origins, settingsFile, context), unset };
}
