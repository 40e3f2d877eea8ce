/**
 * The `portcullis` command as tests launch it in a process of its own: from the TypeScript
 * sources through tsx, never from a build, so a stale `npm run build` cannot hide a change.
 * `@portcullis/core` resolves to packages/core/src too, through the `paths` of
 * tsconfig.test.json (tsx reads the tsconfig named in TSX_TSCONFIG_PATH). Users run the build,
 * through bin/portcullis.js. cli-from-sources.test.ts checks that nothing built is loaded.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The entry that runs the CLI from its sources. */
const CLI_SOURCE_ENTRY = fileURLToPath(new URL('./cli-source-entry.ts', import.meta.url));

/** tsx's loader, by absolute URL so that it resolves whatever the child's working directory. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The tsconfig whose `paths` map `@portcullis/core` to its sources. */
const TSCONFIG = fileURLToPath(new URL('../../../../tsconfig.test.json', import.meta.url));

/** A command line that runs `portcullis ARGS…` from the sources. */
export interface CliLaunch {
  readonly command: string;
  readonly args: string[];
  /** What the child's environment must hold besides its own variables. */
  readonly env: Record<string, string>;
}

/**
 * How to launch `portcullis ARGS…` from the sources: node with tsx's loader, and the
 * variable tsx needs; add `env` to the environment the child is given. `preload` modules are
 * imported after the loader, before the CLI (to observe the process, in tests of this helper).
 */
export function cliFromSources(args: readonly string[], preload: readonly string[] = []): CliLaunch {
  return {
    command: process.execPath,
    args: ['--import', TSX_LOADER, ...preload.flatMap((p) => ['--import', pathToFileURL(p).href]), CLI_SOURCE_ENTRY, ...args],
    env: { TSX_TSCONFIG_PATH: TSCONFIG },
  };
}
