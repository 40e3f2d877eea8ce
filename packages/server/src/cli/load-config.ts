/**
 * Loads a config for a CLI command, printing its errors the way `validate` does. Owns the
 * exit code of a config that cannot be used, the same for every command: 2 (bad usage) when
 * the file cannot be read, 1 (the check failed) when it is invalid.
 */
import type { CompiledConfig } from '../config/compiled.js';
import { formatConfigErrors, loadConfigFile } from '../config/load.js';
import type { Output } from './output.js';

/** Exit codes of the CLI: the documented convention of docs/cli.md. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * The compiled config, or undefined after printing why and setting the exit code: 2 when
 * the file is missing or unreadable (a position of 0 says so), 1 when it is invalid.
 */
export function loadConfigOrExit(path: string, output: Output, setExit: (code: number) => void, env?: NodeJS.ProcessEnv): CompiledConfig | undefined {
  const loaded = loadConfigFile(path, env);
  if (!loaded.ok) {
    output.err(formatConfigErrors(loaded.errors));
    setExit(loaded.errors.some((error) => error.line === 0) ? EXIT.usage : EXIT.failed);
    return undefined;
  }
  return loaded.config;
}
