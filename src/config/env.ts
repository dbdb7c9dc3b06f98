// `${NAME}` and `${NAME:-default}` in string values, from the environment. Secrets come in this
// way; the names used are remembered per path so that normalize.ts can label each Secret.
import { formatPath, type Issue, type Path } from './path.js';

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

interface Interpolated {
  value: string;
  /** Variables referenced, in order. */
  names: string[];
  unset: string[];
  /** Unset variables without a default that got the placeholder. */
  placeheld: string[];
  malformed: boolean;
}

/**
 * Replaces references in one string; `$${` stands for a literal `${`. With a `placeholder`, an
 * unset variable without a default becomes the placeholder instead of a problem.
 */
export function interpolate(text: string, env: NodeJS.ProcessEnv, placeholder?: string): Interpolated {
  const names: string[] = [];
  const unset: string[] = [];
  const placeheld: string[] = [];
  let malformed = false;
  const value = text.replace(REFERENCE, (match, inner: string | undefined) => {
    if (match === '$${') return '${';
    const parsed = inner === undefined ? null : NAME_AND_DEFAULT.exec(inner);
    if (!parsed) {
      malformed = true;
      return '';
    }
    const name = parsed[1]!;
    const fallback = parsed[2];
    names.push(name);
    const found = env[name];
    // Like the shell: `:-` also replaces a variable that is set but empty.
    if (fallback !== undefined) return found ? found : fallback;
    if (found === undefined) {
      if (placeholder !== undefined) {
        placeheld.push(name);
        return placeholder;
      }
      unset.push(name);
      return '';
    }
    return found;
  });
  return { value, names, unset, placeheld, malformed };
}

export interface Substituted {
  value: unknown;
  /** formatPath(path) -> first variable named there; paths without any are not in the map. */
  variables: Map<string, string>;
  issues: Issue[];
  /**
   * With a placeholder: one entry per unset variable that got it, with the same message an unset
   * variable gives without one (commands that need no secrets show these as warnings).
   */
  placeheld: Issue[];
}

/**
 * Substitutes in every string value of a parsed YAML tree (keys are left alone). `placeholder`:
 * the value of unset variables that have no default (for commands that need no secrets).
 */
export function substituteEnv(tree: unknown, env: NodeJS.ProcessEnv, placeholder?: string): Substituted {
  const variables = new Map<string, string>();
  const issues: Issue[] = [];
  const placeheld: Issue[] = [];
  const unsetMessage = (name: string, where: string) =>
    `environment variable ${name} is not set (${where}); export it or write \${${name}:-...}`;

  const walk = (node: unknown, path: Path): unknown => {
    if (typeof node === 'string') {
      if (!node.includes('${')) return node;
      const result = interpolate(node, env, placeholder);
      const where = formatPath(path);
      if (result.names[0] !== undefined) variables.set(where, result.names[0]);
      if (result.malformed) {
        issues.push({
          path,
          message:
            'has a malformed ${...} reference; write ${NAME} or ${NAME:-default} (NAME of letters, digits and _), or $${ for a literal ${',
        });
      }
      for (const name of result.unset) issues.push({ path, message: unsetMessage(name, where) });
      for (const name of result.placeheld) placeheld.push({ path, message: unsetMessage(name, where) });
      return result.value;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object' && !(node instanceof Date)) {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value, [...path, key])]));
    }
    return node;
  };

  return { value: walk(tree, []), variables, issues, placeheld };
}
