#!/usr/bin/env node
// The package's command. The TypeScript sources are compiled to dist/ by `npm run build`,
// which `npm ci` runs through the `prepare` script.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('krt: dist/ is missing; run `npm run build` (npm ci runs it for you)');
  process.exit(1);
}
// main.js only defines the program (tests import it to read the command list); this runs it.
const { main: run } = await import(main.href);
const code = await run(process.argv);
if (code !== 0) {
  process.exitCode = code;
  // A failed start may leave handles behind (a connection retrying, a simulator): leave anyway.
  globalThis.setTimeout(() => process.exit(code), 500).unref();
}
