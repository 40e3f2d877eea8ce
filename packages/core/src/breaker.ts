/**
 * The circuit breaker (SPEC rule 8): a workflow whose executions fail a configured number of
 * times in a row is disabled at once. Invariants: only executions that reached the system and
 * failed there count (an upstream error, a timeout, an outcome that is unknown); a denial, a
 * rejection, a cancellation or a refusal by the gateway itself is not an execution failure;
 * a success, or a person re-enabling the workflow, starts the count again.
 */
import { ERROR_CODES, type ErrorCode } from './errors.js';

/** Consecutive failures that trip the breaker unless a workflow configures another number. */
export const DEFAULT_BREAKER_THRESHOLD = 3;

/** What the breaker sees, newest first: an execution's outcome, or a reset (the workflow re-enabled). */
export type BreakerEntry =
  | { readonly kind: 'succeeded' }
  | { readonly kind: 'failed'; readonly code: string }
  | { readonly kind: 'outcome_unknown' }
  | { readonly kind: 'reset' };

/**
 * Whether an entry is an execution failure: an outcome that is unknown, or a failure whose
 * code is not the caller's fault (UPSTREAM_FAILED, OUTCOME_UNKNOWN, a gateway fault while
 * executing). A failure with a caller-fault code (FORBIDDEN: the system's own re-check found
 * records outside the scope, nothing changed) is a refusal, not a failure of the system.
 */
export function isExecutionFailure(entry: BreakerEntry): boolean {
  if (entry.kind === 'outcome_unknown') return true;
  if (entry.kind !== 'failed') return false;
  const known = Object.hasOwn(ERROR_CODES, entry.code) ? ERROR_CODES[entry.code as ErrorCode] : undefined;
  return known === undefined || known.fault !== 'caller';
}

/**
 * The failures in a row at the head of `newestFirst`: counted until the first success or
 * reset; entries that are neither a failure nor a success (refusals) are skipped.
 */
export function consecutiveFailures(newestFirst: readonly BreakerEntry[]): number {
  let count = 0;
  for (const entry of newestFirst) {
    if (entry.kind === 'succeeded' || entry.kind === 'reset') break;
    if (isExecutionFailure(entry)) count += 1;
  }
  return count;
}

/** Whether the breaker trips: `threshold` (at least 1) failures in a row, newest first. */
export function breakerTrips(newestFirst: readonly BreakerEntry[], threshold: number): boolean {
  return consecutiveFailures(newestFirst) >= Math.max(1, threshold);
}
