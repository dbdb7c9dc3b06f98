// Following the OKR configuration on disk (`krt serve` and `krt worker` reload when it changes).
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** Whether a change to `name` in the watched folder concerns the configuration at `path`. */
export function concernsConfig(path: string, directory: boolean, name: string | null): boolean {
  // No name: the platform could not say which file changed; reading again is cheap.
  if (name === null) return true;
  if (!directory) return name === basename(path);
  // A team file, or Kubernetes swapping a mounted config map (`..data` points to the new files).
  return /\.ya?ml$/i.test(name) || name.startsWith('..');
}

/**
 * Calls `onChange` once the configuration at `path` (a file, or a directory of `*.yaml` files
 * such as config/okrs.d/) has changed and settled for `settleMs`. A file is followed through its
 * folder, not itself: editors and Kubernetes config maps replace the file (a new inode), which
 * ends a watch on the file itself.
 */
export function watchConfigPath(path: string, onChange: () => void, settleMs = 300): FSWatcher {
  let directory = false;
  try {
    directory = statSync(path).isDirectory();
  } catch {
    // Gone for now: follow it as a file in its folder.
  }
  let timer: NodeJS.Timeout | null = null;
  const watcher = watch(directory ? resolve(path) : dirname(resolve(path)), (_event, name) => {
    if (!concernsConfig(path, directory, name === null ? null : String(name))) return;
    // Editors write in several steps; act once the files have settled.
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, settleMs);
  });
  watcher.on('close', () => {
    if (timer) clearTimeout(timer);
  });
  return watcher;
}
