/**
 * The schema workers: a small pool of worker threads (piscina) that check agents' arguments
 * against upstream tools' input schemas whose check runs regular expressions over strings
 * (`pattern`, `patternProperties`, `format`: tool-schema.ts `usesRegExps`). RE2 is linear in
 * the argument's length, but not free (about 125 ms for 1 MB), and ajv-formats' formats run
 * on V8's backtracking engine; on the main thread either would hold the event loop, and every
 * other agent's call with it. In a worker only that call waits. Schemas without them stay on
 * the main thread: their checks compare types, counts and keys, a few microseconds per value,
 * less than sending the value to a thread.
 *
 * Invariants: the pool is started on the first check, not before; it is shared by every MCP
 * connector of the process and stopped when the last connector holding it is closed (its
 * threads do not keep the process alive meanwhile, as piscina unrefs idle threads); a check
 * after that starts it again. At most {@link MAX_THREADS} threads, one kept while the pool runs.
 * A check that takes longer than {@link CHECK_TIMEOUT_MS} (a format's backtracking regexp, say)
 * has its thread stopped (piscina terminates it and starts another) and is answered as a
 * problem of the arguments: the gateway does not accept what it could not check.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { SchemaIssue } from './tool-schema.js';
import type { SchemaJob } from './schema-worker.js';

/** The most schema worker threads: two, or one on a single-core machine. */
export const MAX_THREADS = Math.max(1, Math.min(2, availableParallelism()));
/** How long one check may take, in ms, before its thread is stopped and the value refused. */
export const CHECK_TIMEOUT_MS = 10_000;
/** How long a second thread may stay idle before it stops, in ms. */
const IDLE_MS = 30_000;

/**
 * The worker's module beside this one: the built .js; from the sources (tests, tsx), a .mjs that
 * registers tsx's loader in the thread first, then imports schema-worker.ts.
 */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './schema-worker-from-source.mjs' : './schema-worker.js', import.meta.url);

let pool: Piscina<SchemaJob, SchemaIssue[]> | undefined;
let holders = 0;

/**
 * Checks `job.value` against `job.schema` in a worker thread: its problems, none when it matches;
 * one problem (at the value itself, path []) when the check took longer than `timeoutMs`
 * (default {@link CHECK_TIMEOUT_MS}).
 * @throws Error when the worker cannot be started or the schema does not compile there
 *   (the caller compiled it first, so not for a tool that is offered).
 */
export async function checkInWorker(job: SchemaJob, options: { readonly timeoutMs?: number } = {}): Promise<SchemaIssue[]> {
  const timeoutMs = options.timeoutMs ?? CHECK_TIMEOUT_MS;
  pool ??= new Piscina<SchemaJob, SchemaIssue[]>({ filename: WORKER_URL.href, minThreads: 1, maxThreads: MAX_THREADS, idleTimeout: IDLE_MS });
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return await pool.run(job, { signal: timeout });
  } catch (error) {
    if (!timeout.aborted) throw error;
    return [{ path: [], message: `could not be checked against the tool's input schema within ${timeoutMs / 1000} s (its patterns or formats take too long on arguments this large); send shorter arguments` }];
  }
}

/** How many schema worker threads run now (0 before the first check and after the pool stops). */
export function schemaWorkerThreads(): number {
  return pool?.threads.length ?? 0;
}

/** A hold on the schema workers, taken by an MCP connector for as long as it is open. */
export interface SchemaWorkersHold {
  /** Lets go of the hold (once; again does nothing); the last to let go stops the threads, after their checks in progress. */
  release(): Promise<void>;
}

/** Takes a hold on the schema workers; nothing is started until a check needs a thread. */
export function holdSchemaWorkers(): SchemaWorkersHold {
  holders += 1;
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      holders -= 1;
      if (holders > 0 || pool === undefined) return;
      const stopping = pool;
      pool = undefined;
      await stopping.close();
    },
  };
}
