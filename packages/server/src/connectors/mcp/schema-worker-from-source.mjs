// Loads schema-worker.ts in a schema worker thread when the gateway runs from its TypeScript
// sources (tests, the CLI through tsx); the build loads schema-worker.js and never this file.
// Node 20 neither runs an `--import` given in a worker's execArgv nor passes the main thread's
// loader on, so the thread registers tsx's loader itself (reading the same TSX_TSCONFIG_PATH
// as the main thread) before it imports the worker.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./schema-worker.ts');
export default worker.default;
