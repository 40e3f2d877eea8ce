#!/usr/bin/env node
// The `portcullis` command. Runs the compiled CLI; `npm run build` (run by `npm install`) produces it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/wiring/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('portcullis: the CLI is not built yet; run `npm install` (or `npm run build`) in the repository first');
  process.exit(1);
}
const { run } = await import(main);
process.exitCode = await run(process.argv);
