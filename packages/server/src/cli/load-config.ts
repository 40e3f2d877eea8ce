/** Loads a config for a CLI command, printing its errors the way `validate` does. */
import type { CompiledConfig } from '../service/contracts.js';
import type { CliHost } from './host.js';
import type { Output } from './output.js';

/** The compiled config, or undefined after printing why it is invalid. */
export function loadConfigForCli(host: CliHost, path: string, output: Output): CompiledConfig | undefined {
  const loaded = host.loadConfig(path);
  if (!loaded.ok) {
    output.err(loaded.message);
    return undefined;
  }
  return loaded.config;
}
