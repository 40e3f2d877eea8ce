/**
 * The one family of thrown errors. Each code is stable, documented with when it happens and
 * whose fault it is; the HTTP and MCP layers map codes to wire errors in one place each.
 * Expected outcomes (a denied proposal, an invalid config) are values, not these.
 */

/** Whose fault an error is: the caller's, ours, or an upstream system's. */
export type Fault = 'caller' | 'gateway' | 'upstream';

/** Every error code, with its fault and when it happens. */
export const ERROR_CODES = {
  INVALID_REQUEST: { fault: 'caller', when: 'the request body or query does not match the API schema' },
  INVALID_JSON: { fault: 'caller', when: 'the request body is not valid JSON, or has a "__proto__" or "constructor.prototype" key' },
  BODY_TOO_LARGE: { fault: 'caller', when: 'the request body exceeds the size limit' },
  UNSUPPORTED_MEDIA_TYPE: { fault: 'caller', when: 'a request body is sent with a Content-Type other than application/json' },
  EXPECTATION_FAILED: { fault: 'caller', when: 'the request carries an Expect header other than "100-continue"' },
  ROUTE_NOT_FOUND: { fault: 'caller', when: 'no route has this method and path' },
  UNAUTHENTICATED: { fault: 'caller', when: 'no API key or token, or one that matches nobody' },
  FORBIDDEN: { fault: 'caller', when: 'the caller is known but may not do this' },
  WORKFLOW_NOT_FOUND: { fault: 'caller', when: 'the workflow named in a proposal does not exist' },
  ACTION_NOT_FOUND: { fault: 'caller', when: 'the action named in a proposal does not exist on the workflow\'s systems' },
  INVALID_PARAMS: { fault: 'caller', when: 'the params do not match the action\'s parameter schema' },
  RATE_LIMITED: { fault: 'caller', when: 'the agent made limits.proposalsPerMinute proposals (tool calls included) in its current one-minute window, on any face; retry after the time given (Retry-After), when the window closes' },
  TOO_MANY_PENDING: { fault: 'caller', when: 'the agent or the workflow already has limits.maxPendingPerAgent or limits.maxPendingPerWorkflow proposals waiting for approval; a new one that needs approval is refused until people decide some (an alert is audited)' },
  PARAMS_TOO_LARGE: { fault: 'caller', when: 'the params of a proposal or tool call are larger than limits.paramsBytes (their JSON in UTF-8 bytes), on any face; nothing was stored' },
  PROPOSAL_NOT_FOUND: { fault: 'caller', when: 'no proposal has this id' },
  WORKFLOW_IN_DRAFT: { fault: 'caller', when: 'an approval for a workflow that is a draft (configured, not deployed): nothing executes until it is deployed' },
  ROLLOUT_GATE_CLOSED: { fault: 'caller', when: 'deploying a workflow while another is in pilot or watch (one at a time until three are stable and it is adjacent to one)' },
  PROMOTION_NOT_READY: { fault: 'caller', when: 'promoting a workflow whose readiness report has a failing criterion' },
  AGENT_NOT_FOUND: { fault: 'caller', when: 'no agent has this id (disabling or enabling an agent)' },
  IDEMPOTENCY_CONFLICT: { fault: 'caller', when: 'an Idempotency-Key was reused with a different proposal' },
  ILLEGAL_TRANSITION: { fault: 'caller', when: 'the proposal is not in a state that allows this (e.g. approving twice)' },
  APPROVER_NOT_AUTHORISED: { fault: 'caller', when: 'the person may not approve for this workflow' },
  APPROVAL_DIGEST_MISMATCH: { fault: 'caller', when: 'the proposal changed after it was approved' },
  APPROVAL_ALREADY_USED: { fault: 'caller', when: 'an approval was presented a second time' },
  APPROVAL_EXPIRED: { fault: 'caller', when: 'the approval or the pending proposal expired' },
  APPROVAL_WRONG_PROPOSAL: { fault: 'gateway', when: 'an approval was presented for a proposal it does not cover' },
  STORE_IN_USE: { fault: 'gateway', when: 'a serving process (portcullis start, or portcullis mcp --standalone) was started on a store another live process serves (its lease file names it); the operator connects to that gateway instead or stops it' },
  STORE_UNAVAILABLE: { fault: 'gateway', when: 'the store cannot be written; the gateway fails closed and executes nothing' },
  CONFIG_INVALID: { fault: 'gateway', when: 'portcullis.yaml failed validation, or a setting was found invalid at run time; its operator fixes the file, the request was not at fault' },
  CALL_CANCELLED: { fault: 'caller', when: 'the agent cancelled its MCP tool call while a read ran (notifications/cancelled): the upstream was told to stop, and nothing was changed; not a failure of the system (the circuit breaker does not count it). A write cancelled after it was sent is OUTCOME_UNKNOWN instead' },
  UPSTREAM_FAILED: { fault: 'upstream', when: 'the system the action runs on returned an error, or could not be reached before the request was sent: nothing took effect' },
  OUTCOME_UNKNOWN: { fault: 'upstream', when: 'a write was sent to its system but whether it took effect is unknown (no answer within the system\'s timeout, the connection lost after sending, or the gateway could not record the answer); the proposal is flagged outcome_unknown for a person to check the system and resolve it' },
  SYSTEM_CHECK_FAILED: { fault: 'upstream', when: 'a run was refused because one of its workflow\'s systems failed its pre-flight check' },
  RUN_NOT_STARTED: { fault: 'caller', when: 'a proposal names a runId that was not started with POST /v1/runs for its workflow' },
  NOT_REVERSIBLE: { fault: 'caller', when: 'a rollback was asked of an action that cannot be rolled back (an email sent, an action declared irreversible, a write that recorded no undo); the message names the manual fallback; nothing was changed' },
  RUN_NOT_FOUND: { fault: 'caller', when: 'no run has this id, or the run is outside the caller\'s workflows' },
  SECRET_UNAVAILABLE: { fault: 'gateway', when: 'a system credential cannot be read from the vault: no master key, the wrong one, a missing secret, or a tampered entry' },
  INTERNAL: { fault: 'gateway', when: 'an unexpected error; a bug in the gateway' },
} as const satisfies Record<string, { fault: Fault; when: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code, a message naming the problem and the fix, and details. */
export class PortcullisError extends Error {
  override readonly name = 'PortcullisError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Whose fault the error is. */
  get fault(): Fault {
    return ERROR_CODES[this.code].fault;
  }
}

/** Whether a value is a PortcullisError, optionally with a given code. */
export function isPortcullisError(value: unknown, code?: ErrorCode): value is PortcullisError {
  return value instanceof PortcullisError && (code === undefined || value.code === code);
}
