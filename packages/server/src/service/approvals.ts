/**
 * People's decisions on pending proposals. Invariants: only an authorised approver of the
 * workflow's department decides (an unauthorised attempt is refused and audited); an
 * approval binds the digest of the stored proposal, which must still match its content
 * (and, when the caller says what they saw, that too); a proposal is decided once; a
 * pending proposal past its expiry is expired, never approved.
 */
import { PortcullisError, authoriseApprover, proposalDigest, transition, type Actor } from '@portcullis/core';
import type { PersonConfig } from '../config/compiled.js';
import type { ProposalRecord } from '../store/store.js';
import { proposalEvent, workflowOf, type ServiceDeps } from './deps.js';
import { moveProposal } from './proposal-moves.js';
import { demoteIfRateLow, modeInForce } from './rollout.js';
import { markAudited } from './refusals.js';

/** A person's decision as received. `digest`, when given, is the digest of what the person was shown. */
export interface DecisionInput {
  readonly reason: string;
  readonly digest?: string;
}

async function loadPending(deps: ServiceDeps, person: PersonConfig, id: string, verb: 'approve' | 'reject'): Promise<ProposalRecord> {
  const proposal = await deps.store.getProposal(id);
  if (proposal === undefined) throw new PortcullisError('PROPOSAL_NOT_FOUND', `no proposal has id "${id}"`);
  const workflow = workflowOf(deps.config, proposal.workflow);
  const actor: Actor = { kind: 'person', id: person.id };
  const allowed = authoriseApprover(workflow.approvers, person.id);
  if (!allowed.ok) {
    await deps.store.appendAudit([proposalEvent('approval.refused', deps.clock.now(), actor, proposal, { attempted: verb, reason: allowed.error })]);
    throw markAudited(new PortcullisError('APPROVER_NOT_AUTHORISED', `${allowed.error}; only leads and delegates of "${workflow.department}" decide on workflow "${workflow.id}"`, { proposalId: id }));
  }
  const legal = transition(proposal.status, verb === 'approve' ? 'approve' : 'reject');
  if (!legal.ok) {
    const decided = proposal.approval === undefined ? '' : ` (${proposal.approval.decision} by ${proposal.approval.by})`;
    throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${id} is ${proposal.status}${decided}; it can only be decided while pending_approval, once`, { status: proposal.status });
  }
  if (proposal.expiresAt !== undefined && deps.clock.now() >= proposal.expiresAt) {
    await expireOne(deps, proposal);
    throw new PortcullisError('APPROVAL_EXPIRED', `proposal ${id} expired at ${new Date(proposal.expiresAt).toISOString()} without a decision; it will not run (the agent may propose it again)`, { proposalId: id });
  }
  return proposal;
}

/**
 * Records a person's approval, bound to the proposal's digest. Does not execute: the caller
 * runs `executeApproved` next (the HTTP API does both).
 * @throws PortcullisError PROPOSAL_NOT_FOUND, APPROVER_NOT_AUTHORISED, ILLEGAL_TRANSITION, APPROVAL_EXPIRED, APPROVAL_DIGEST_MISMATCH,
 *   WORKFLOW_IN_DRAFT (its workflow is not deployed)
 */
export async function recordApproval(deps: ServiceDeps, person: PersonConfig, id: string, input: DecisionInput): Promise<ProposalRecord> {
  const proposal = await loadPending(deps, person, id, 'approve');
  const workflow = workflowOf(deps.config, proposal.workflow);
  if ((await modeInForce(deps, workflow)).draft) {
    throw new PortcullisError('WORKFLOW_IN_DRAFT', `workflow "${workflow.id}" is a draft: nothing executes until it is deployed (portcullis workflows deploy ${workflow.id}, through the rollout gate); proposal ${id} stays pending and was not approved`, { proposalId: id });
  }
  const current = proposalDigest({ workflow: proposal.workflow, action: proposal.action, params: proposal.params });
  if (current !== proposal.digest || (input.digest !== undefined && input.digest !== proposal.digest)) {
    throw new PortcullisError('APPROVAL_DIGEST_MISMATCH', `proposal ${id} is not what was shown for approval (digest ${input.digest?.slice(0, 12) ?? current.slice(0, 12)}… vs ${proposal.digest.slice(0, 12)}…); reload it and decide again`, { proposalId: id });
  }
  const now = deps.clock.now();
  const approval = { decision: 'approved' as const, by: person.id, reason: input.reason, at: now, digest: proposal.digest, expiresAt: now + workflow.approvalValidityMs };
  const saved = await moveProposal(deps, proposal, 'approve', { updatedAt: now, approval },
    [proposalEvent('approval.granted', now, { kind: 'person', id: person.id }, proposal, { reason: input.reason, digest: proposal.digest })]);
  if (saved === undefined) throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${id} was decided by someone else a moment ago; it can be decided once`);
  return saved;
}

/**
 * Rejects a pending proposal with a reason. Nothing runs.
 * @throws PortcullisError as recordApproval
 */
export async function rejectProposal(deps: ServiceDeps, person: PersonConfig, id: string, input: DecisionInput): Promise<ProposalRecord> {
  const proposal = await loadPending(deps, person, id, 'reject');
  const now = deps.clock.now();
  const saved = await moveProposal(deps, proposal, 'reject', {
    updatedAt: now, approval: { decision: 'rejected', by: person.id, reason: input.reason, at: now, digest: proposal.digest, expiresAt: now },
  }, [proposalEvent('approval.rejected', now, { kind: 'person', id: person.id }, proposal, { reason: input.reason })]);
  if (saved === undefined) throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${id} was decided by someone else a moment ago; it can be decided once`);
  // A day under 90% returns an automated workflow to approval-first at once.
  await demoteIfRateLow(deps, workflowOf(deps.config, proposal.workflow));
  return saved;
}

async function expireOne(deps: ServiceDeps, proposal: ProposalRecord): Promise<boolean> {
  const now = deps.clock.now();
  const saved = await moveProposal(deps, proposal, 'expire', { updatedAt: now },
    [proposalEvent('proposal.expired', now, { kind: 'system', id: 'gateway' }, proposal, { expiresAt: new Date(proposal.expiresAt ?? now).toISOString() })]);
  return saved !== undefined;
}

/** Expires pending proposals whose time is up. Returns how many expired. */
export async function expireDue(deps: ServiceDeps): Promise<number> {
  let count = 0;
  for (const proposal of await deps.store.listExpiredPending(deps.clock.now(), 500)) {
    if (await expireOne(deps, proposal)) count += 1;
  }
  return count;
}
