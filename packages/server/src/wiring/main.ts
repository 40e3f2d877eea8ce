/**
 * The `portcullis` command's entry: the CLI over the host the wiring builds. bin/portcullis.js
 * runs the built copy of this file; tests run it from the sources.
 */
import type { Readable } from 'node:stream';
import { runCli } from '../cli/main.js';
import { processOutput, type Output } from '../cli/output.js';
import { createCliHost } from './cli-host.js';

/** Runs the CLI with `argv` (as process.argv). Resolves with the exit code. */
export function run(argv: readonly string[], output: Output = processOutput, input: Readable = process.stdin): Promise<number> {
  return runCli(createCliHost(), argv, output, input);
}
