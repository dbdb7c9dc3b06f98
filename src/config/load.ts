// The OKR file from text to Config, reporting every problem at once with file:line:column, the
// path and the fix: parse (syntax.ts) -> substitute ${VARS} (env.ts) -> validate the written
// shape (read.ts, schema.ts) -> cross-field checks (checks.ts) -> normalize (normalize.ts).
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { checkTree } from './checks.js';
import { substituteEnv } from './env.js';
import { locator } from './locate.js';
import { normalize } from './normalize.js';
import { formatPath, isUnder, type Issue, type Path } from './path.js';
import type { WrittenTree } from './read.js';
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
  return parseConfigFiles([{ file, text }], env, options);
}

/** One file of the OKR configuration: its path (for messages) and its text. */
export interface ConfigFile {
  file: string;
  text: string;
}

/** Where each objective of the Config was written: its file and its index in that file's list. */
export interface ObjectiveOrigin {
  file: string;
  index: number;
}

export interface ParsedConfigFiles extends ParsedConfig {
  /** Per objective of `config.objectives` (same order), the file and index it was written at. */
  origins: ObjectiveOrigin[];
  /** The file that holds the settings (sources, schedule, server, alerts, timezone); else the first. */
  settingsFile: string;
}

/** The top-level sections that one file of a directory holds for all of them. */
export const SETTINGS_KEYS = ['timezone', 'sources', 'schedule', 'server', 'alerts'] as const;

/** A file read and validated on its own (steps 1-3), before the checks across fields. */
interface ReadFile {
  file: string;
  raw: Record<string, unknown> | null;
  tree: WrittenTree;
  shapeIssues: Issue[];
  substituted: ReturnType<typeof substituteEnv>;
  locate: ReturnType<typeof locator>;
}

function readOne(
  { text, file }: ConfigFile,
  env: NodeJS.ProcessEnv,
  options: LoadOptions,
  partOfDirectory: boolean,
): { read: ReadFile } | { problems: ConfigProblem[] } {
  if (Buffer.byteLength(text, 'utf8') > LIMITS.fileBytes) {
    return { problems: [{ file, line: 1, column: 1, path: '', message: tooLarge(Buffer.byteLength(text, 'utf8')) }] };
  }
  let parsed: ReturnType<typeof parseYaml>;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return { problems: [{ file, line: 1, column: 1, path: '', message: `YAML syntax error: ${TOO_DEEP}` }] };
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
    return { problems: sortProblems(problems) };
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
    return { problems: [{ file, line, column: col, path: '', message }] };
  }
  if (limit) {
    const { line, col } = lineCounter.linePos(limit.offset);
    return { problems: [{ file, line, column: col, path: '', message: limit.message }] };
  }
  const placeholder = options.placeholder ?? (options.allowUnset ? UNSET_PLACEHOLDER : undefined);
  const substituted = substituteEnv(value, env, placeholder);
  const { tree, issues: shapeIssues } = readTree(substituted.value, { objectivesOptional: partOfDirectory });
  const raw = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  return { read: { file, raw, tree, shapeIssues, substituted, locate: locator(doc, lineCounter) } };
}

/**
 * Several files read as one configuration (a directory such as config/okrs.d/, one file per
 * team): each file is validated on its own and its problems name it; objective ids are unique
 * across the files, `parent` may name an objective of another file, and one file (any) holds the
 * settings (sources, schedule, server, alerts, timezone). One file alone is checked exactly as
 * `parseConfig` always has.
 */
export function parseConfigFiles(
  files: readonly ConfigFile[],
  env: NodeJS.ProcessEnv,
  options: LoadOptions = {},
  directory?: string,
): ParsedConfigFiles {
  const partOfDirectory = directory !== undefined;
  // Problems file by file, in the order of the files.
  const problemsOf = new Map<string, ConfigProblem[]>(files.map((f) => [f.file, []]));
  const collected = () => [...problemsOf.values()].flat();
  const reads: ReadFile[] = [];
  for (const f of files) {
    const r = readOne(f, env, options, partOfDirectory);
    if ('problems' in r) problemsOf.get(f.file)!.push(...r.problems);
    else reads.push(r.read);
  }
  const incomplete = reads.length < files.length;
  const settingsFile = reads.find((r) => r.raw && SETTINGS_KEYS.some((k) => k in r.raw!)) ?? reads[0];
  const empty = { config: null, origins: [], settingsFile: settingsFile?.file ?? files[0]?.file ?? '' };
  if (!settingsFile) return { ...empty, problems: collected(), warnings: [] };

  // One tree over every file: objectives numbered across the files, settings from one file.
  const origins: Array<{ read: ReadFile; index: number }> = [];
  const objectives: WrittenTree['objectives'] = [];
  for (const read of reads) {
    read.tree.objectives.forEach((o, index) => {
      const g = origins.length;
      origins.push({ read, index });
      const at = (path: Path): Path => ['objectives', g, ...path.slice(2)];
      objectives.push({ ...o, path: at(o.path), keyResults: o.keyResults.map((kr) => ({ ...kr, path: at(kr.path) })) });
    });
  }
  const merged: WrittenTree = { ...settingsFile.tree, objectives };
  /** A path of the merged tree back to its file and the path in that file. */
  const origin = (path: Path): { read: ReadFile; path: Path } => {
    if (path[0] === 'objectives' && typeof path[1] === 'number' && origins[path[1]]) {
      const o = origins[path[1]]!;
      return { read: o.read, path: ['objectives', o.index, ...path.slice(2)] };
    }
    return { read: settingsFile, path };
  };
  const describe = (path: Path): string => {
    if (!partOfDirectory) return formatPath(path);
    const o = origin(path);
    const { line } = o.read.locate(o.path);
    return `${formatPath(o.path)} (${o.read.file}:${line})`;
  };
  const scope = partOfDirectory ? `any file of ${directory}` : 'this file';
  const byFile = new Map<ReadFile, Issue[]>(reads.map((r) => [r, []]));
  for (const issue of checkTree(merged, { describe, local: (path) => formatPath(origin(path).path), scope, incomplete })) {
    const o = origin(issue.path);
    byFile.get(o.read)!.push({ ...issue, path: o.path });
  }
  if (partOfDirectory) {
    for (const read of reads) {
      if (read === settingsFile || !read.raw) continue;
      for (const key of SETTINGS_KEYS) {
        if (!(key in read.raw)) continue;
        const first = SETTINGS_KEYS.find((k) => k in settingsFile.raw!)!;
        const { line } = settingsFile.locate([first], 'key');
        byFile.get(read)!.push({
          path: [key],
          at: 'key',
          message: `is a setting, but ${settingsFile.file}:${line} already holds the settings of ${directory}; keep ${SETTINGS_KEYS.join(', ')} together in that one file, and only objectives here`,
        });
      }
    }
    if (objectives.length === 0 && !incomplete && reads.every((r) => r.shapeIssues.length === 0)) {
      byFile.get(settingsFile)!.push({ path: [], message: `no file of ${directory} has objectives; add objectives: to a team's file (see config/okrs.example.yaml)` });
    }
  }

  const warnings: ConfigProblem[] = [];
  for (const read of reads) {
    const later = [...read.shapeIssues, ...byFile.get(read)!];
    const { substituted, file, locate } = read;
    // An unset variable leaves an empty value behind; say that once, not also "is empty".
    // A placeholder that the field does not accept (a port, a number) makes the variable a problem
    // after all: say that the variable is unset rather than what the placeholder is not.
    const needed = substituted.placeheld.filter((p) => later.some((issue) => isUnder(issue.path, p.path)));
    const envIssues = [...substituted.issues, ...needed];
    const issues: Issue[] = [...envIssues, ...later.filter((issue) => !envIssues.some((e) => isUnder(issue.path, e.path)))];
    const toProblem = (issue: Issue): ConfigProblem => {
      const { line, column } = locate(issue.path, issue.at);
      return { file, line, column, path: formatPath(issue.path), message: issue.message };
    };
    warnings.push(...sortProblems(substituted.placeheld.filter((p) => !needed.includes(p)).map(toProblem)));
    problemsOf.get(file)!.push(...sortProblems(issues.map(toProblem)));
  }
  const problems = collected();
  if (problems.length > 0 || incomplete) return { ...empty, problems, warnings };
  const config = normalize(merged, settingsFile.substituted.variables, directory ?? settingsFile.file);
  return { config, problems: [], warnings, origins: origins.map((o) => ({ file: o.read.file, index: o.index })), settingsFile: settingsFile.file };
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

/** The OKR configuration as read from disk: one file, or every `*.yaml`/`*.yml` of a directory. */
export interface ConfigInput {
  /** The path given (a file or a directory), for messages. */
  path: string;
  /** Set when `path` is a directory (config/okrs.d/). */
  directory?: string;
  files: ConfigFile[];
}

const YAML_FILE = /\.ya?ml$/i;

/**
 * The text of the OKR file, or of every `*.yaml`/`*.yml` directly in the directory (sorted by
 * name; other files and subdirectories are left alone); throws a ConfigError naming the path.
 */
export async function readConfigInput(path: string): Promise<ConfigInput> {
  const info = await stat(path).catch(() => null);
  if (!info?.isDirectory()) return { path, files: [{ file: path, text: await readConfigText(path) }] };
  const names = (await readdir(path, { withFileTypes: true }))
    .filter((e) => !e.isDirectory() && YAML_FILE.test(e.name) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) {
    throw new ConfigError(`${path}: a directory without *.yaml files; put one OKR file per team in it (e.g. platform.yaml with sources and objectives), or pass -c with a file`);
  }
  const files: ConfigFile[] = [];
  for (const name of names) {
    const file = join(path, name);
    files.push({ file, text: await readConfigText(file) });
  }
  return { path, directory: path, files };
}

/** parseConfigFiles over what readConfigInput read. */
export function parseConfigInput(input: ConfigInput, env: NodeJS.ProcessEnv, options: LoadOptions = {}): ParsedConfigFiles {
  return parseConfigFiles(input.files, env, options, input.directory);
}

/** Reads and checks the OKR file (or directory), with the warnings of unset variables (see allowUnset); throws a ConfigError listing every problem. */
export async function loadConfigWithWarnings(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): Promise<{ config: Config; warnings: ConfigProblem[] }> {
  const { config, problems, warnings } = parseConfigInput(await readConfigInput(file), env, options);
  if (!config) {
    throw new ConfigError(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems.map(formatProblem));
  }
  return { config, warnings };
}

/** Reads and checks the OKR file (or a directory of them); throws a ConfigError listing every problem. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Promise<Config> {
  return (await loadConfigWithWarnings(file, env, options)).config;
}
