import { execFileSync } from 'node:child_process';

/**
 * The CLI and end-to-end tests run the built `krt` (bin/krt.js -> dist/); build it once before
 * them so they never test stale output. KRT_SKIP_BUILD=1 skips it when dist/ is known fresh.
 */
export default function setup(): void {
  if (process.env.KRT_SKIP_BUILD === '1') return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
