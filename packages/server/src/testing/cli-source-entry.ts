/**
 * The `portcullis` command run from its TypeScript sources: what bin/portcullis.js does with
 * the build, for tests that launch the CLI in its own process (see cli-from-sources.ts).
 */
import { run } from '../wiring/main.js';

process.exitCode = await run(process.argv);
