/** The `portcullis` CLI run in-process, as the tests drive it: its output captured, standard input given. */
import { Readable } from 'node:stream';
import { run } from '../wiring/main.js';
import type { Output } from '../cli/output.js';

/** What one command printed, and its exit code. */
export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `portcullis ARGS…` with `stdin` as standard input; each printed line ends with a newline. */
export async function runCli(args: readonly string[], stdin = ''): Promise<CliResult> {
  let out = '';
  let err = '';
  const output: Output = { out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; } };
  const code = await run(['node', 'portcullis', ...args], output, Readable.from([Buffer.from(stdin)]));
  return { code, out, err };
}
