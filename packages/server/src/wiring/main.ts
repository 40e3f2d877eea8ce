/**
 * The `portcullis` command's entry: the CLI over the host the wiring builds. bin/portcullis.js
 * runs the built copy of this file; tests run it from the sources.
 */
import type { Readable } from 'node:stream';
import { runCli } from '../cli/main.js';
import { processOutput, type Output } from '../cli/output.js';
import { createCliHost } from './cli-host.js';

/**
 * A reader that goes away (`portcullis audit export | head -1`) ends the command at once and
 * quietly, with exit code 0, rather than with `write EPIPE`. Other output errors stay fatal.
 */
let quietOnClosedPipe = false;
function endQuietlyOnClosedPipe(): void {
  if (quietOnClosedPipe) return;
  quietOnClosedPipe = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
}

/** Runs the CLI with `argv` (as process.argv). Resolves with the exit code. */
export function run(argv: readonly string[], output: Output = processOutput, input: Readable = process.stdin): Promise<number> {
  if (output === processOutput) endQuietlyOnClosedPipe();
  return runCli(createCliHost(), argv, output, input);
}
