// Environment name patterns (`deployments.environment: "production-payments*"` or a list of them):
// one repository deploying several services through environments such as `production-payments`
// and `production-search`. Pure: parsing, checking and matching, no I/O. In src/core because the
// config checks and the GitHub connector (which resolves a pattern against the repository's
// environments) both use it.
//
// Syntax: `*` any run of characters (also none), `?` exactly one character, `[abc]` / `[a-z]` one
// of a set, `[!abc]` one not in it, `\` makes the next character literal. Everything else is
// literal. Matching ignores case, as GitHub does for environment names.

export type GlobResult = { ok: true; regex: RegExp; literal: boolean } | { ok: false; error: string };

const SPECIAL = /[*?[\]\\]/;

/** True when `pattern` has any wildcard, so it names a set of environments rather than one. */
export function isGlob(pattern: string): boolean {
  return SPECIAL.test(pattern);
}

const escapeRegex = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** The pattern as a RegExp anchored at both ends, or what is wrong with it and how to write it. */
export function parseGlob(pattern: string): GlobResult {
  if (pattern.trim() === '') return { ok: false, error: 'is empty; write an environment name such as production, or a pattern such as production-*' };
  if (pattern !== pattern.trim()) return { ok: false, error: `"${pattern}" starts or ends with spaces; remove them` };
  let out = '';
  let literal = true;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (i === pattern.length - 1) return { ok: false, error: `"${pattern}" ends with a lone \\; write \\\\ for a backslash, or remove it` };
      out += escapeRegex(pattern[++i]!);
    } else if (c === '*') {
      literal = false;
      // `**` means the same as `*`.
      while (pattern[i + 1] === '*') i++;
      out += '.*';
    } else if (c === '?') {
      literal = false;
      out += '.';
    } else if (c === '[') {
      literal = false;
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) return { ok: false, error: `"${pattern}" opens a [ set at character ${i + 1} that is never closed; close it with ], or write \\[ for a literal [` };
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body === '') return { ok: false, error: `"${pattern}" has an empty set []; list characters in it, e.g. [abc] or [0-9]` };
      let set = '';
      for (let j = 0; j < body.length; j++) {
        const from = body[j]!;
        if (body[j + 1] === '-' && j + 2 < body.length) {
          const to = body[j + 2]!;
          if (to < from) return { ok: false, error: `"${pattern}" has the range ${from}-${to}, which runs backwards; write ${to}-${from}` };
          set += `${escapeRegex(from)}-${escapeRegex(to)}`;
          j += 2;
        } else set += escapeRegex(from);
      }
      out += `[${negate ? '^' : ''}${set}]`;
      i = end;
    } else if (c === ']') {
      return { ok: false, error: `"${pattern}" closes a set with ] at character ${i + 1} that was never opened; write \\] for a literal ]` };
    } else {
      out += escapeRegex(c);
    }
  }
  return { ok: true, regex: new RegExp(`^${out}$`, 'i'), literal };
}

/** What is wrong with the pattern (for config validation), or null when it is fine. */
export function globProblem(pattern: string): string | null {
  const r = parseGlob(pattern);
  return r.ok ? null : r.error;
}

/** Whether `name` matches `pattern` (false for a pattern that is not valid). */
export function matchesGlob(pattern: string, name: string): boolean {
  const r = parseGlob(pattern);
  return r.ok && r.regex.test(name);
}

/**
 * The environment names among `names` that any of `patterns` matches, in the order of `names`,
 * each once. Invalid patterns match nothing (the config checks have refused them already).
 */
export function matchEnvironments(patterns: readonly string[], names: readonly string[]): string[] {
  const regexes = patterns.map(parseGlob).flatMap((r) => (r.ok ? [r.regex] : []));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of names) {
    if (seen.has(name) || !regexes.some((re) => re.test(name))) continue;
    seen.add(name);
    out.push(name);
  }
  return out;
}
