import { describe, expect, it } from 'vitest';
import { breakerTrips, consecutiveFailures, isExecutionFailure, type BreakerEntry } from './breaker.js';

const ok: BreakerEntry = { kind: 'succeeded' };
const fail: BreakerEntry = { kind: 'failed', code: 'UPSTREAM_FAILED' };
const unknown: BreakerEntry = { kind: 'outcome_unknown' };
const refused: BreakerEntry = { kind: 'failed', code: 'FORBIDDEN' };
const reset: BreakerEntry = { kind: 'reset' };

describe('the circuit breaker', () => {
  it('trips at the third failure in a row, newest first', () => {
    expect(breakerTrips([fail, fail], 3)).toBe(false);
    expect(breakerTrips([fail, unknown, fail], 3)).toBe(true);
  });

  it('does not trip on failures around a success', () => {
    expect(breakerTrips([fail, fail, ok, fail], 3)).toBe(false);
    expect(consecutiveFailures([fail, fail, ok, fail, fail, fail])).toBe(2);
  });

  it('starts again when the workflow is re-enabled', () => {
    expect(breakerTrips([fail, reset, fail, fail, fail], 3)).toBe(false);
  });

  it('counts unknown outcomes and system failures, not refusals', () => {
    expect(isExecutionFailure(unknown)).toBe(true);
    expect(isExecutionFailure(fail)).toBe(true);
    expect(isExecutionFailure({ kind: 'failed', code: 'STORE_UNAVAILABLE' })).toBe(true);
    expect(isExecutionFailure(refused)).toBe(false);
    // A read the agent cancelled (its MCP notifications/cancelled) is the agent's choice, not the system failing.
    expect(isExecutionFailure({ kind: 'failed', code: 'CALL_CANCELLED' })).toBe(false);
    expect(consecutiveFailures([fail, refused, fail])).toBe(2);
  });

  it('trips at once with a threshold of one, and treats a lower threshold as one', () => {
    expect(breakerTrips([fail], 1)).toBe(true);
    expect(breakerTrips([fail], 0)).toBe(true);
    expect(breakerTrips([], 0)).toBe(false);
  });
});
