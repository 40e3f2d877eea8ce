/**
 * How a disabled workflow or agent is shown (`GET /v1/status`, the rollout reports): who turned
 * it off, why and since when, and whether it was the circuit breaker.
 */
import type { Actor } from '@portcullis/core';
import type { DisabledState } from '../store/store.js';

/** The actor the circuit breaker acts as. */
export const BREAKER: Actor = { kind: 'system', id: 'breaker' };

/** Why a workflow or agent is off, as shown. `breaker` is true when the circuit breaker tripped it. */
export interface DisabledView {
  readonly by: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly since: string;
  readonly breaker: boolean;
}

/** The view of a stored switch; undefined when it is on. */
export function disabledView(state: DisabledState | undefined): DisabledView | undefined {
  return state === undefined ? undefined : { by: state.by, reason: state.reason, since: new Date(state.at).toISOString(), breaker: state.by === BREAKER.id };
}
