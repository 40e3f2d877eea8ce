/** Loads a config for a CLI command, printing its errors the way `validate` does. */
import type { CompiledConfig } from '../config/compiled.js';
import { formatConfigErrors, loadConfigFile } from '../config/load.js';
import type { Output } from './output.js';

/** The compiled config, or undefined after printing why it is invalid. */
export function loadConfigForCli(path: string, output: Output, env?: NodeJS.ProcessEnv): CompiledConfig | undefined {
  const loaded = loadConfigFile(path, env);
  if (!loaded.ok) {
    output.err(formatConfigErrors(loaded.errors));
    return undefined;
  }
  return loaded.config;
}
