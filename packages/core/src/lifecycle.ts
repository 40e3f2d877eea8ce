/**
 * The proposal lifecycle as an explicit state machine. Invariant: a proposal changes state
 * only through `transition`, and only along the edges of TRANSITIONS; every other
 * (state, event) pair is an error value, so an illegal transition cannot happen. A proposal
 * reaches `executing` only from `approved`, and `approved` only by a decision (auto or a
 * person), so it is executed at most once.
 *
 * Terminal statuses say who ended a proposal: `rejected` is only ever a person's decision;
 * `cancelled` is the gateway refusing to run something that was pending or approved (the
 * policy in force at execution no longer allows it, its approval no longer matches or has
 * expired, its agent or workflow was disabled), so approval rates count people's decisions only.
 */

export const PROPOSAL_STATUSES = [
  'proposed', 'denied', 'pending_approval', 'approved', 'rejected', 'expired',
  'executing', 'succeeded', 'failed', 'rolled_back', 'outcome_unknown', 'cancelled',
] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

export const PROPOSAL_EVENTS = [
  'deny', 'require_approval', 'auto_approve', 'approve', 'reject', 'expire', 'cancel',
  'start_execution', 'succeed', 'fail', 'lose_outcome', 'resolve_succeeded', 'resolve_failed', 'roll_back',
] as const;
export type ProposalEvent = (typeof PROPOSAL_EVENTS)[number];

/** Every legal edge. Anything not listed is refused. */
export const TRANSITIONS: Readonly<Record<ProposalStatus, Partial<Record<ProposalEvent, ProposalStatus>>>> = Object.freeze({
  proposed: { deny: 'denied', require_approval: 'pending_approval', auto_approve: 'approved' },
  pending_approval: { approve: 'approved', reject: 'rejected', expire: 'expired', cancel: 'cancelled' },
  approved: { start_execution: 'executing', cancel: 'cancelled' },
  executing: { succeed: 'succeeded', fail: 'failed', lose_outcome: 'outcome_unknown' },
  succeeded: { roll_back: 'rolled_back' },
  outcome_unknown: { resolve_succeeded: 'succeeded', resolve_failed: 'failed' },
  denied: {},
  rejected: {},
  expired: {},
  cancelled: {},
  failed: {},
  rolled_back: {},
});

/** States a proposal never leaves: no edge goes out of them. */
export const FINAL_STATUSES: readonly ProposalStatus[] = PROPOSAL_STATUSES.filter((s) => Object.keys(TRANSITIONS[s]).length === 0);

/**
 * States in which a proposal is still on its way to an outcome: the gateway or a person will
 * move it on. An agent waiting for a result waits while its proposal is open.
 */
export const OPEN_STATUSES: readonly ProposalStatus[] = ['proposed', 'pending_approval', 'approved', 'executing'];

/**
 * States with an outcome an agent can be told: every status that is not open. A settled
 * proposal moves on only by a person's act (resolving an unknown outcome, rolling back).
 */
export const SETTLED_STATUSES: readonly ProposalStatus[] = PROPOSAL_STATUSES.filter((s) => !OPEN_STATUSES.includes(s));

/** Whether a proposal with this status has an outcome (see SETTLED_STATUSES). */
export function isSettled(status: ProposalStatus): boolean {
  return !OPEN_STATUSES.includes(status);
}

/** Applies an event to a status: the next status, or an error value saying why not. */
export function transition(status: ProposalStatus, event: ProposalEvent): { ok: true; status: ProposalStatus } | { ok: false; error: string } {
  const edges: Partial<Record<ProposalEvent, ProposalStatus>> = Object.hasOwn(TRANSITIONS, status) ? TRANSITIONS[status] : {};
  const next = Object.hasOwn(edges, event) ? edges[event] : undefined;
  if (next === undefined) {
    const allowed = Object.keys(edges);
    return { ok: false, error: `a proposal that is ${status} cannot ${event.replace(/_/g, ' ')}${allowed.length > 0 ? ` (it can: ${allowed.join(', ')})` : ' (it is final)'}` };
  }
  return { ok: true, status: next };
}
