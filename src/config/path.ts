// Paths into the written file, and the problems found at them before they get a line and column.

export type Path = ReadonlyArray<string | number>;

/** A problem at a path; `at: 'key'` points at the key itself (unknown keys), else at its value. */
export interface Issue {
  path: Path;
  message: string;
  at?: 'key' | 'value';
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `objectives[0].keyResults[2].target`; keys that are not plain words are quoted: `headers["X-Org"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (PLAIN_KEY.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** True when `path` is `prefix` or lies under it. */
export function isUnder(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((part, i) => path[i] === part);
}
