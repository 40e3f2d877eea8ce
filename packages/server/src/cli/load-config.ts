/**
 * Loads a config for a CLI command, printing its errors the way `validate` does. Owns the
 * exit code of a config that cannot be used, the same for every command: 2 (bad usage) when
 * the file cannot be read, 1 (the check failed) when it is invalid.
 */
import type { CompiledConfig } from '../service/contracts.js';
import type { CliHost } from './host.js';
import type { Output } from './output.js';

/** Exit codes of the CLI: the documented convention of docs/cli.md. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * The compiled config, or undefined after printing why and setting the exit code: 2 when the
 * file is missing or unreadable, 1 when it is invalid.
 */
export function loadConfigOrExit(host: CliHost, path: string, output: Output, setExit: (code: number) => void): CompiledConfig | undefined {
  const loaded = host.loadConfig(path);
  if (!loaded.ok) {
    output.err(loaded.message);
    setExit(loaded.unreadable ? EXIT.usage : EXIT.failed);
    return undefined;
  }
  return loaded.config;
}
