// The OKR file from text to Config, reporting every problem at once with file:line:column, the
// path and the fix: parse (syntax.ts) -> substitute ${VARS} (env.ts) -> validate the written
// shape (read.ts, schema.ts) -> cross-field checks (checks.ts) -> normalize (normalize.ts).
import { open } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';
import { checkTree } from './checks.js';
import { substituteEnv } from './env.js';
import { locator } from './locate.js';
import { normalize } from './normalize.js';
import { formatPath, isUnder, type Issue } from './path.js';
import { readTree } from './read.js';
import { checkLimits, describeYamlError, firstAliasOffset, documentValue, LIMITS, parseYaml, TOO_DEEP } from './syntax.js';
import type { Config } from './types.js';

export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** `objectives[0].keyResults[2].target`; empty for problems with the file as a whole. */
  path: string;
  /** What is wrong and how to fix it. Never contains a secret's value. */
  message: string;
}

/** `config/okrs.yaml:41:17 objectives[0].keyResults[2].target equals the baseline; set it above or below` */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column} ${p.path ? `${p.path} ` : ''}${p.message}`;
}

export interface LoadOptions {
  /**
   * For commands that only read the file's structure (dashboards, rules): an unset variable
   * without a default gets this value instead of being a problem; `${NAME:-default}` still gives
   * its default (so `port: ${SMTP_PORT:-25}` stays a port). E.g. `http://placeholder.invalid`.
   */
  placeholder?: string;
  /**
   * For commands that check the file without running it (validate, lint, alerts test): an unset
   * variable without a default is a warning naming it, not a problem; it gets UNSET_PLACEHOLDER.
   * Ignored when `placeholder` is given.
   */
  allowUnset?: boolean;
}

/** The value an unset `${VAR}` takes when the command does not need it (a URL, so URL fields stay valid). */
export const UNSET_PLACEHOLDER = 'http://unset.invalid';

export interface ParsedConfig {
  config: Config | null;
  problems: ConfigProblem[];
  /** Unset variables that got a placeholder (allowUnset / placeholder), each naming the variable. */
  warnings: ConfigProblem[];
}

export function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  options: LoadOptions = {},
): ParsedConfig {
  if (Buffer.byteLength(text, 'utf8') > LIMITS.fileBytes) {
    return { config: null, problems: [{ file, line: 1, column: 1, path: '', message: tooLarge(Buffer.byteLength(text, 'utf8')) }], warnings: [] };
  }
  let parsed: ReturnType<typeof parseYaml>;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return { config: null, problems: [{ file, line: 1, column: 1, path: '', message: `YAML syntax error: ${TOO_DEEP}` }], warnings: [] };
  }
  const { doc, lineCounter } = parsed;
  // A file that is not valid YAML has no reliable structure to check: report its syntax only.
  if (doc.errors.length > 0) {
    // One mistake often derails the parser for the rest of its line: keep the first per line.
    const lines = new Set<number>();
    const problems: ConfigProblem[] = [];
    for (const error of [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      if (lines.has(line)) continue;
      lines.add(line);
      problems.push({ file, line, column: col, path: '', message: describeYamlError(error) });
    }
    return { config: null, problems: sortProblems(problems), warnings: [] };
  }

  const limit = checkLimits(doc);
  let value: unknown;
  try {
    if (!limit) value = documentValue(doc);
  } catch (error) {
    // yaml's own alias bound ("resource exhaustion"): the aliases expand to too much.
    if (!(error instanceof ReferenceError || error instanceof RangeError)) throw error;
    const { line, col } = lineCounter.linePos(firstAliasOffset(doc));
    const message = `the YAML aliases (*name) of this file expand to too much (an alias of an alias of ...); write the values out, or use fewer anchors`;
    return { config: null, problems: [{ file, line, column: col, path: '', message }], warnings: [] };
  }
  if (limit) {
    const { line, col } = lineCounter.linePos(limit.offset);
    return { config: null, problems: [{ file, line, column: col, path: '', message: limit.message }], warnings: [] };
  }
  const placeholder = options.placeholder ?? (options.allowUnset ? UNSET_PLACEHOLDER : undefined);
  const substituted = substituteEnv(value, env, placeholder);
  const { tree, issues: shapeIssues } = readTree(substituted.value);
  const checkIssues = checkTree(tree);
  // An unset variable leaves an empty value behind; say that once, not also "is empty".
  // A placeholder that the field does not accept (a port, a number) makes the variable a problem
  // after all: say that the variable is unset rather than what the placeholder is not.
  const later = [...shapeIssues, ...checkIssues];
  const needed = substituted.placeheld.filter((p) => later.some((issue) => isUnder(issue.path, p.path)));
  const envIssues = [...substituted.issues, ...needed];
  const issues: Issue[] = [...envIssues, ...later.filter((issue) => !envIssues.some((e) => isUnder(issue.path, e.path)))];
  const locate = locator(doc, lineCounter);
  const toProblem = (issue: Issue): ConfigProblem => {
    const { line, column } = locate(issue.path, issue.at);
    return { file, line, column, path: formatPath(issue.path), message: issue.message };
  };
  const warnings = sortProblems(substituted.placeheld.filter((p) => !needed.includes(p)).map(toProblem));
  if (issues.length > 0) return { config: null, problems: sortProblems(issues.map(toProblem)), warnings };
  return { config: normalize(tree, substituted.variables, file), problems: [], warnings };
}

/** In file order; problems at the same place keep the order they were found in. */
function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => a.problem.line - b.problem.line || a.problem.column - b.problem.column || a.index - b.index)
    .map(({ problem }) => problem);
}

function tooLarge(bytes: number): string {
  return `the file is ${(bytes / 1024 / 1024).toFixed(1)} MB; an OKR file may be at most ${LIMITS.fileBytes / 1024 / 1024} MB, so split it or remove what is not needed`;
}

/**
 * The OKR file's text, read no further than the size limit (a huge file or a device such as
 * /dev/zero is refused without being read whole); throws a ConfigError naming the file.
 */
export async function readConfigText(file: string): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(LIMITS.fileBytes + 1);
      let size = 0;
      while (size < buffer.length) {
        const { bytesRead } = await handle.read(buffer, size, buffer.length - size, size);
        if (bytesRead === 0) break;
        size += bytesRead;
      }
      if (size > LIMITS.fileBytes) {
        const { size: total } = await handle.stat();
        throw new ConfigError(`${file}: 1 problem`, [formatProblem({ file, line: 1, column: 1, path: '', message: tooLarge(Math.max(total, size)) })]);
      }
      return buffer.subarray(0, size).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(`${file}: ${reason}; pass the path of your OKR file with -c/--config (start from config/okrs.example.yaml)`);
  }
}

/** Reads and checks the OKR file, with the warnings of unset variables (see allowUnset); throws a ConfigError listing every problem. */
export async function loadConfigWithWarnings(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): Promise<{ config: Config; warnings: ConfigProblem[] }> {
  const { config, problems, warnings } = parseConfig(await readConfigText(file), file, env, options);
  if (!config) {
    throw new ConfigError(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems.map(formatProblem));
  }
  return { config, warnings };
}

/** Reads and checks the OKR file; throws a ConfigError listing every problem. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Promise<Config> {
  return (await loadConfigWithWarnings(file, env, options)).config;
}
