/**
 * Errors and guards every Store adapter shares (error texts, retention, page sizes), so both
 * dialects fail with the same codes and messages. Invariant: a store that cannot make a
 * write durable says so with STORE_UNAVAILABLE, and the gateway then executes nothing (SPEC rule 5).
 */
import { PortcullisError } from '@portcullis/core';

/** Audit events are kept at least this long (SPEC §1, "Audit event"). */
export const MIN_AUDIT_RETENTION_DAYS = 90;

const DAY_MS = 86_400_000;

/**
 * A STORE_UNAVAILABLE error for a write that was not made durable.
 * @param cause what went wrong, e.g. `SQLITE_FULL: database or disk is full`.
 */
export function storeWriteFailed(cause: string, error?: unknown): PortcullisError {
  return new PortcullisError(
    'STORE_UNAVAILABLE',
    `the audit store cannot be written (${cause}); nothing was executed`,
    { cause }, error === undefined ? undefined : { cause: error },
  );
}

/** A STORE_UNAVAILABLE error for a read that failed. */
export function storeReadFailed(cause: string, error?: unknown): PortcullisError {
  return new PortcullisError('STORE_UNAVAILABLE', `the store cannot be read (${cause})`, { cause }, error === undefined ? undefined : { cause: error });
}

/** The error every method of a closed store rejects with. */
export function storeClosed(): PortcullisError {
  return new PortcullisError('STORE_UNAVAILABLE', 'the store is closed; nothing was executed (this is a bug: the gateway used its store after shutting it down)');
}

/**
 * Defence in depth for retention: refuses a purge that would delete events younger than
 * MIN_AUDIT_RETENTION_DAYS at `at`. The configured retention is checked at config load; this
 * catches a caller that bypassed it.
 * @throws PortcullisError INVALID_REQUEST naming the latest allowed cut-off.
 */
export function assertPurgeOutsideRetention(before: number, at: number): void {
  if (!Number.isFinite(before) || !Number.isFinite(at)) {
    throw new PortcullisError('INVALID_REQUEST', `an audit purge needs finite times (got before=${before}, at=${at})`);
  }
  const latest = at - MIN_AUDIT_RETENTION_DAYS * DAY_MS;
  if (before > latest) {
    throw new PortcullisError(
      'INVALID_REQUEST',
      `audit events are kept at least ${MIN_AUDIT_RETENTION_DAYS} days: cannot purge events before ${new Date(before).toISOString()}, `
        + `which is later than ${new Date(latest).toISOString()} (${MIN_AUDIT_RETENTION_DAYS} days before ${new Date(at).toISOString()}); `
        + 'choose a cut-off on or before that date',
      { before, at, latest },
    );
  }
}

/** The most rows one page of a list or query returns. */
export const MAX_PAGE_SIZE = 10_000;

/** A page size clamped to 0..MAX_PAGE_SIZE (a non-finite or missing limit uses `fallback`). */
export function clampLimit(limit: number | undefined, fallback: number): number {
  const wanted = limit === undefined || !Number.isFinite(limit) ? fallback : Math.trunc(limit);
  return Math.min(Math.max(wanted, 0), MAX_PAGE_SIZE);
}
