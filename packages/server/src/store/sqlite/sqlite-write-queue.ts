/**
 * Group commit for SQLite. Invariants:
 * - every write runs through this queue; writes queued before the queue next flushes (the same
 *   tick, or while an earlier batch was committing) run together in one
 *   `BEGIN IMMEDIATE … COMMIT`, so a burst of writes costs one fsync, not one each;
 * - a write that throws is rolled back alone and rejects only its own promise: a batch first
 *   runs every write straight through (savepoints cost two statements per write); if one
 *   throws, the whole transaction is rolled back, nothing of it ever having been visible
 *   outside it, and the batch runs again with each write in its own SAVEPOINT. So a write may
 *   run twice, and must touch nothing but the database (in-memory copies are re-read through
 *   `onReset`);
 * - `flush` runs inside the transaction after the writes it covers (once before COMMIT in a
 *   straight run; after each write, inside its savepoint, in an isolated run), for state kept
 *   once per batch (the audit head);
 * - no promise settles before its batch's COMMIT has returned, so a resolved write is durable;
 * - if BEGIN or COMMIT fails, or SQLite rolls the whole transaction back (SQLITE_FULL,
 *   SQLITE_IOERR…), every write of the batch rejects with STORE_UNAVAILABLE and none of
 *   them took effect.
 * better-sqlite3 is synchronous, so a batch runs start to finish within one macrotask: no
 * transaction is ever open between ticks, and reads on the same connection outside the queue
 * always see committed data.
 */
import type Database from 'better-sqlite3';
import { sqliteCause, toWriteError } from './sqlite-errors.js';
import { storeWriteFailed } from '../store-guards.js';

/** One write. It runs synchronously inside the batch's transaction, in its own savepoint. */
export type WriteOperation<T> = (db: Database.Database) => T;

/** Counters for tests and metrics. */
export interface WriteQueueStats {
  /** Transactions attempted (one per batch). */
  readonly batches: number;
  /** Transactions committed. */
  readonly committed: number;
  /** Transactions that failed as a whole (BEGIN, COMMIT, or a rollback by SQLite). */
  readonly failed: number;
  /** Writes run. */
  readonly operations: number;
  /** The most writes one batch held. */
  readonly largestBatch: number;
  /** Batches run a second time, each write in a savepoint, because one of their writes threw. */
  readonly retried: number;
}

/** The write queue of one connection. */
export interface SqliteWriteQueue {
  /**
   * Queues a write; resolves with its result once its batch has committed.
   * Rejects with the write's own error (SQLite failures mapped by `toWriteError`), or with
   * STORE_UNAVAILABLE if its batch could not commit.
   */
  run<T>(operation: WriteOperation<T>): Promise<T>;
  stats(): WriteQueueStats;
  /** Resolves once every write queued so far has settled. */
  drain(): Promise<void>;
}

/** Options of `createSqliteWriteQueue`. */
export interface WriteQueueOptions {
  /** The most writes in one transaction (default 1000); the rest wait for the next batch. */
  readonly maxBatch?: number;
  /**
   * Called at the start of every batch and after every rollback: any in-memory copy of
   * database state (the audit head) must be re-read, since another connection may have
   * written, or the rolled-back write may have changed it.
   */
  readonly onReset?: () => void;
  /**
   * Writes state the writes kept in memory (the audit head): called inside the transaction
   * before COMMIT, and in an isolated run after each write inside its savepoint, so a write
   * rolled back alone takes its part of that state with it.
   */
  readonly flush?: () => void;
  /** Runs before each batch's transaction, outside it (the WAL checkpointer's catch-up). */
  readonly beforeBatch?: () => void;
  /** Told after each COMMIT that succeeded and kept a write (the WAL checkpointer). */
  readonly afterCommit?: () => void;
}

interface Queued {
  readonly operation: WriteOperation<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

const SAVEPOINT = 'portcullis_write';

/** Creates the group-commit write queue of a connection. */
export function createSqliteWriteQueue(db: Database.Database, options: WriteQueueOptions = {}): SqliteWriteQueue {
  const maxBatch = Math.max(1, options.maxBatch ?? 1000);
  const reset = options.onReset ?? ((): void => {});
  const flushState = options.flush ?? ((): void => {});
  const beforeBatch = options.beforeBatch ?? ((): void => {});
  const afterCommit = options.afterCommit ?? ((): void => {});
  let pending: Queued[] = [];
  let scheduled = false;
  let idle: (() => void)[] = [];
  const counters = { batches: 0, committed: 0, failed: 0, operations: 0, largestBatch: 0, retried: 0 };
  // Prepared once: `db.exec` parses its SQL on every call, and these run twice per write.
  // Prepared lazily, on the first batch, so opening a store stays one statement-free step.
  let savepoints: { begin: Database.Statement; release: Database.Statement; rollback: Database.Statement } | undefined;
  const savepoint = () => (savepoints ??= {
    begin: db.prepare(`SAVEPOINT ${SAVEPOINT}`),
    release: db.prepare(`RELEASE ${SAVEPOINT}`),
    rollback: db.prepare(`ROLLBACK TO ${SAVEPOINT}`),
  });

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    // setImmediate, not a microtask: writes issued by promise continuations of the same tick
    // still join this batch.
    setImmediate(flush);
  };

  function flush(): void {
    scheduled = false;
    const batch = pending.slice(0, maxBatch);
    pending = pending.slice(batch.length);
    if (batch.length > 0) settle(batch, runBatch(batch));
    if (pending.length > 0) {
      schedule();
    } else {
      const waiters = idle;
      idle = [];
      for (const wake of waiters) wake();
    }
  }

  /** Runs a batch; returns each write's outcome, or one error for the whole batch. */
  function runBatch(batch: readonly Queued[]): Outcome[] | { readonly batchError: unknown } {
    counters.batches += 1;
    counters.operations += batch.length;
    counters.largestBatch = Math.max(counters.largestBatch, batch.length);
    beforeBatch();
    const straight = runStraight(batch);
    if (straight !== undefined) return straight;
    // A write threw: its transaction is rolled back whole; run the batch again, isolating each write.
    counters.retried += 1;
    return runIsolated(batch);
  }

  /** Runs every write without savepoints; undefined (and nothing kept) if one of them threw. */
  function runStraight(batch: readonly Queued[]): Outcome[] | { readonly batchError: unknown } | undefined {
    reset();
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      return failBatch(error, 'at BEGIN');
    }
    const outcomes: Outcome[] = new Array<Outcome>(batch.length);
    try {
      for (let i = 0; i < batch.length; i += 1) outcomes[i] = { ok: true, value: (batch[i] as Queued).operation(db) };
    } catch {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch (error) {
        return failBatch(error, 'at ROLLBACK');
      }
      return undefined;
    }
    return commit(outcomes);
  }

  /** Runs each write in its own savepoint, so one that throws is rolled back alone. */
  function runIsolated(batch: readonly Queued[]): Outcome[] | { readonly batchError: unknown } {
    reset();
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      return failBatch(error, 'at BEGIN');
    }
    const outcomes: Outcome[] = [];
    try {
      const { begin, release, rollback } = savepoint();
      for (const queued of batch) {
        begin.run();
        try {
          const value = queued.operation(db);
          flushState();
          release.run();
          outcomes.push({ ok: true, value });
        } catch (error) {
          // SQLite may have rolled the whole transaction back (it does for SQLITE_FULL and
          // I/O errors): then every write of the batch is gone, not just this one.
          if (!db.inTransaction) return failBatch(error, 'the transaction was rolled back');
          rollback.run();
          release.run();
          reset();
          outcomes.push({ ok: false, error: toWriteError(error) });
        }
      }
    } catch (error) {
      return failBatch(error, 'in a savepoint');
    }
    return commit(outcomes);
  }

  function commit(outcomes: Outcome[]): Outcome[] | { readonly batchError: unknown } {
    try {
      flushState();
      db.exec('COMMIT');
    } catch (error) {
      return failBatch(error, 'at COMMIT');
    }
    counters.committed += 1;
    if (outcomes.some((outcome) => outcome.ok)) afterCommit();
    return outcomes;
  }

  function failBatch(error: unknown, stage: string): { batchError: unknown } {
    counters.failed += 1;
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } catch {
      // The connection is unusable; the next BEGIN will report why.
    }
    reset();
    const cause = sqliteCause(error) ?? (error instanceof Error ? error.message : String(error));
    return { batchError: storeWriteFailed(`${cause}, ${stage}`, error) };
  }

  function settle(batch: readonly Queued[], result: Outcome[] | { readonly batchError: unknown }): void {
    batch.forEach((queued, i) => {
      if (!Array.isArray(result)) {
        queued.reject(result.batchError);
        return;
      }
      const outcome = result[i];
      if (outcome === undefined) queued.reject(new Error('write queue lost an outcome (bug)'));
      else if (outcome.ok) queued.resolve(outcome.value);
      else queued.reject(outcome.error);
    });
  }

  return {
    run<T>(operation: WriteOperation<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        pending.push({ operation, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    stats: () => ({ ...counters }),
    drain(): Promise<void> {
      if (pending.length === 0 && !scheduled) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
