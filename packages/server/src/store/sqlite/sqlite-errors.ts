/**
 * Maps SQLite failures to the Store's error family. Invariant: a failure of the database
 * itself (full disk, read-only file, I/O error, lock timeout, corruption) is always
 * STORE_UNAVAILABLE, so the gateway fails closed; a constraint violation is a gateway bug
 * (INTERNAL); errors that are already PortcullisErrors, or that are not SQLite's (e.g. a
 * TypeError for a value JSON cannot carry), pass through unchanged.
 */
import Database from 'better-sqlite3';
import { PortcullisError } from '@portcullis/core';
import { storeReadFailed, storeWriteFailed } from '../store-guards.js';

/** The `CODE: message` text of a SQLite error, or undefined if `error` is not one. */
export function sqliteCause(error: unknown): string | undefined {
  if (error instanceof Database.SqliteError) return `${error.code}: ${error.message}`;
  return undefined;
}

/** Whether a SQLite error is a constraint violation (unique key, CHECK, or a RAISE in a trigger). */
function isConstraint(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_CONSTRAINT');
}

/** The error a failed write rejects with. */
export function toWriteError(error: unknown): unknown {
  if (error instanceof PortcullisError) return error;
  const cause = sqliteCause(error);
  if (cause === undefined) return error;
  if (isConstraint(error)) {
    return new PortcullisError('INTERNAL', `the store refused a write (${cause}); this is a bug in the gateway; nothing was written`, { cause }, { cause: error });
  }
  return storeWriteFailed(cause, error);
}

/** The error a failed read rejects with. */
export function toReadError(error: unknown): unknown {
  if (error instanceof PortcullisError) return error;
  const cause = sqliteCause(error);
  return cause === undefined ? error : storeReadFailed(cause, error);
}
