/**
 * WAL checkpoints on a second connection in a worker thread, so copying the write-ahead log
 * into the database file, and that copy's two fsyncs, leave the event loop (SQLite's own
 * automatic checkpoint runs inside the COMMIT that crosses its threshold, on the thread that
 * commits: a request then waits for it). See https://www.sqlite.org/wal.html#ckpt: an
 * application may turn automatic checkpoints off (`wal_autocheckpoint = 0`) and run them
 * itself, on another connection or thread.
 * Invariants:
 * - the worker runs PASSIVE checkpoints only: they never block the writer or a reader, and
 *   never wait for a lock (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html);
 * - at most one checkpoint of the worker runs at a time, and one starts only after a commit, at
 *   most once per `intervalMs`, and never while the writer is due to finish one;
 * - the WAL restarts from its beginning only when a checkpoint has copied all of it before a
 *   write transaction begins; under steady writes the worker always trails the newest commits,
 *   so once the WAL holds `restartFrames` frames the writer's thread checkpoints the (few)
 *   frames left itself, right before its next transaction (`catchUpDue`), and the WAL restarts;
 * - if the worker cannot start or fails, the connection's automatic checkpoint is turned back
 *   on (the caller's `fallBack`): checkpoints are never simply lost.
 * Durability is unchanged: a commit is durable when its COMMIT returns (synchronous=FULL syncs
 * the WAL); a checkpoint syncs the WAL before copying it and the database file after.
 */
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';

/** What the checkpointer did, for tests, metrics and the benchmark. */
export interface WalCheckpointerStats {
  /** Checkpoints the worker ran. */
  readonly checkpoints: number;
  /** Checkpoints the writer's thread ran to let the WAL restart. */
  readonly catchUps: number;
  /** Frames in the WAL, and how many of them were checkpointed, at the last checkpoint. */
  readonly walFrames: number;
  readonly checkpointedFrames: number;
  /** Why the worker stopped, when it failed (the connection checkpoints itself since). */
  readonly failure?: string;
}

/** A running checkpointer. */
export interface WalCheckpointer {
  /** Tells it a transaction committed: a checkpoint follows within `intervalMs`. */
  committed(): void;
  /** Whether the writer's thread should checkpoint before its next transaction: the WAL is long. */
  catchUpDue(): boolean;
  /** Records a checkpoint the writer's thread ran (its `PRAGMA wal_checkpoint` row); one that was not busy clears `catchUpDue`. */
  caughtUp(row: CheckpointRow): void;
  /** Resolves once no checkpoint is running or waiting. */
  idle(): Promise<void>;
  stats(): WalCheckpointerStats;
  /** Stops the worker (its connection closes; a checkpoint in progress finishes first). */
  close(): Promise<void>;
}

/** Options of `startWalCheckpointer`. */
export interface WalCheckpointerOptions {
  /** The database file. */
  readonly path: string;
  /** The least time between two checkpoints, in ms (default 100). */
  readonly intervalMs?: number;
  /** WAL frames (pages) after which the writer's thread finishes a checkpoint itself (default 4,000, about 16 MB). */
  readonly restartFrames?: number;
  /** Turns the connection's own automatic checkpoint back on: called once if the worker fails. */
  readonly fallBack: (failure: string) => void;
  /** The better-sqlite3 module the worker loads (tests give a missing one to see the fallback). */
  readonly driver?: string;
}

/** A row of `PRAGMA wal_checkpoint`: busy (1 if another checkpoint ran), frames in the WAL, frames checkpointed. */
export interface CheckpointRow { readonly busy: number; readonly log: number; readonly checkpointed: number }
type WorkerMessage = { readonly done: CheckpointRow } | { readonly failed: string };

// The worker is this script, run as CommonJS from a string: it needs no loader, so it runs the
// same from the build and from the TypeScript sources (tests), and loads the same driver.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let db;
try {
  const Database = require(workerData.driver);
  db = new Database(workerData.path, { fileMustExist: true });
  db.pragma('synchronous = FULL');
} catch (error) {
  parentPort.postMessage({ failed: 'cannot open ' + workerData.path + ': ' + (error && error.message) });
}
parentPort.on('message', (message) => {
  if (db === undefined) return;
  if (message === 'close') { db.close(); db = undefined; parentPort.close(); return; }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ done: row });
  } catch (error) {
    parentPort.postMessage({ failed: (error && error.code ? error.code + ': ' : '') + (error && error.message) });
  }
});
`;

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/** Starts the checkpointer of a WAL-mode database file. The caller sets `wal_autocheckpoint = 0` on its connection. */
export function startWalCheckpointer(options: WalCheckpointerOptions): WalCheckpointer {
  const intervalMs = Math.max(0, options.intervalMs ?? 100);
  const restartFrames = Math.max(1, options.restartFrames ?? 4000);
  let counters = { checkpoints: 0, catchUps: 0, walFrames: 0, checkpointedFrames: 0 };
  let failure: string | undefined;
  let running = false;
  let wanted = false;
  let timer: NodeJS.Timeout | undefined;
  let lastStart = Number.NEGATIVE_INFINITY;
  let catchUp = false;
  let idle: (() => void)[] = [];
  let closed = false;

  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: options.path, driver: options.driver ?? DRIVER } });

  // Idle: no checkpoint running or timed, and none wanted that the worker may start (one the writer is due to finish waits for its next write).
  const busy = (): boolean => running || timer !== undefined || (wanted && !catchUp && failure === undefined && !closed);
  const wake = (): void => {
    if (busy()) return;
    const waiters = idle;
    idle = [];
    for (const resolve of waiters) resolve();
  };
  const fail = (why: string): void => {
    if (failure !== undefined) return;
    failure = why;
    running = false;
    // The connection's automatic checkpoint restarts the WAL from now on.
    catchUp = false;
    wanted = false;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (!closed) options.fallBack(why);
    void worker.terminate();
    wake();
  };
  const start = (): void => {
    timer = undefined;
    if (failure !== undefined || closed) { wake(); return; }
    wanted = false;
    running = true;
    lastStart = Date.now();
    worker.postMessage('checkpoint');
  };
  const schedule = (): void => {
    // While the writer is to finish a checkpoint, the worker starts none: the writer's would find it busy.
    if (running || catchUp || timer !== undefined || failure !== undefined || closed) return;
    const wait = lastStart + intervalMs - Date.now();
    if (wait <= 0) start();
    else {
      timer = setTimeout(start, wait);
      timer.unref();
    }
  };

  worker.on('message', (message: WorkerMessage) => {
    if ('failed' in message) { fail(`the WAL checkpoint worker failed: ${message.failed}`); return; }
    running = false;
    counters = { ...counters, checkpoints: counters.checkpoints + 1, walFrames: message.done.log, checkpointedFrames: message.done.checkpointed };
    if (message.done.log >= restartFrames) catchUp = true;
    // While the writer's catch-up is due the worker starts no checkpoint: one running when the
    // catch-up begins makes it busy, and under steady writes the WAL would then never restart.
    // The catch-up, before the writer's next transaction, checkpoints what these commits added.
    if (catchUp) wanted = false;
    if (wanted) schedule();
    wake();
  });
  worker.on('error', (error) => fail(`the WAL checkpoint worker failed: ${error.message}`));
  worker.on('exit', (code) => { if (!closed) fail(`the WAL checkpoint worker stopped (exit code ${code})`); });
  // Unref'd after its listeners are attached: adding the first 'message' listener to a Worker refs
  // its message port again, and a ref'd port would keep the process alive until close().
  worker.unref();

  return {
    committed() {
      if (failure !== undefined || closed || catchUp) return;
      wanted = true;
      schedule();
    },
    catchUpDue: () => catchUp,
    caughtUp(row) {
      // Busy: the worker was checkpointing at that moment; the writer tries again before its next transaction.
      counters = { ...counters, catchUps: counters.catchUps + 1, walFrames: row.log, checkpointedFrames: row.checkpointed };
      // Busy: another checkpoint (another process's) ran at that moment; the writer tries again
      // before its next transaction. Not busy but short of the WAL's end: a reader holds an older
      // snapshot; the worker takes its turns again (the WAL restarts once that reader is gone).
      if (row.busy === 0) catchUp = false;
    },
    idle() {
      if (!busy()) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
    stats: () => ({ ...counters, ...(failure === undefined ? {} : { failure }) }),
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      wanted = false;
      if (failure === undefined) {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        // Held until it exits: an unref'd thread would let the process end with this close unfinished.
        worker.ref();
        worker.postMessage('close');
        await exited;
      }
      running = false;
      wake();
    },
  };
}

/**
 * Moves the WAL checkpoints of `db` (a WAL-mode file database at `path`) to a worker: turns the
 * connection's automatic checkpoint off, starts the worker at the first commit (a store that is
 * only read never starts one), and checkpoints on this thread only to let a long WAL restart,
 * or for good if the worker fails. Returns the write queue's `beforeBatch`/`afterCommit` hooks,
 * the worker's stats (undefined before it starts), `idle` and `close` (before `db.close()`).
 */
export function checkpointInWorker(db: Database.Database, path: string, settings: Pick<WalCheckpointerOptions, 'intervalMs' | 'restartFrames' | 'driver'> = {}) {
  db.pragma('wal_autocheckpoint = 0');
  let worker: WalCheckpointer | undefined;
  let failed = false;
  const fallBack = (): void => {
    failed = true;
    try {
      db.pragma('wal_autocheckpoint = 1000');
    } catch {
      // The connection is closed or unusable; its next write reports why.
    }
  };
  return {
    afterCommit(): void {
      if (failed) return;
      worker ??= startWalCheckpointer({ ...settings, path, fallBack });
      worker.committed();
    },
    beforeBatch(): void {
      if (worker === undefined || !worker.catchUpDue()) return;
      try {
        const [row] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
        if (row !== undefined) worker.caughtUp(row);
      } catch {
        // A checkpoint that fails here is tried again later; the batch's own BEGIN reports a broken connection.
      }
    },
    stats: (): WalCheckpointerStats | undefined => worker?.stats(),
    idle: (): Promise<void> => worker?.idle() ?? Promise.resolve(),
    close: async (): Promise<void> => { await worker?.close(); },
  };
}
