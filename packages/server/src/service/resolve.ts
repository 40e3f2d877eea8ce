/**
 * A person resolving a proposal whose outcome is unknown. Invariants: only a lead of the
 * workflow's department, or an admin, resolves; only an `outcome_unknown` proposal is resolved,
 * once, to `succeeded` or `failed`, with a note saying what the person found in the system;
 * the resolution is audited (`outcome.resolved`) in the same commit and announced on the change
 * feed, so an agent waiting on the proposal is told. A refused attempt changes nothing and is
 * audited (by the face, as for every refusal of an identified caller).
 */
import { PortcullisError, transition } from '@portcullis/core';
import type { PersonConfig } from '../config/compiled.js';
import type { ProposalRecord } from '../store/store.js';
import { proposalEvent, workflowOf, type ServiceDeps } from './deps.js';
import { moveProposal } from './proposal-moves.js';

/** The outcomes a person can resolve an unknown outcome to. */
export const RESOLUTIONS = ['succeeded', 'failed'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** A person's resolution as received. */
export interface ResolveInput {
  readonly as: Resolution;
  /** What the person found in the system; required. */
  readonly note: string;
}

/**
 * Resolves an `outcome_unknown` proposal as succeeded or failed.
 * @throws PortcullisError PROPOSAL_NOT_FOUND; FORBIDDEN when the person is neither a lead of
 *   the workflow's department nor an admin; INVALID_REQUEST without a note or with another
 *   outcome; ILLEGAL_TRANSITION when the proposal is not outcome_unknown (or was resolved a
 *   moment ago); STORE_UNAVAILABLE.
 */
export async function resolveOutcome(deps: ServiceDeps, person: PersonConfig, id: string, input: ResolveInput): Promise<ProposalRecord> {
  const proposal = await deps.store.getProposal(id);
  if (proposal === undefined) throw new PortcullisError('PROPOSAL_NOT_FOUND', `no proposal has id "${id}"`);
  const workflow = workflowOf(deps.config, proposal.workflow);
  const department = deps.config.departments.get(workflow.department);
  if (!person.admin && !(department?.leads ?? []).includes(person.id)) {
    throw new PortcullisError('FORBIDDEN', `${person.id} may not resolve proposal ${id}: only a lead of department "${workflow.department}" (${(department?.leads ?? []).join(', ') || 'none'}) or an admin resolves workflow "${workflow.id}"'s proposals`, { proposalId: id });
  }
  if (!(RESOLUTIONS as readonly string[]).includes(input.as)) {
    throw new PortcullisError('INVALID_REQUEST', `as: "${String(input.as)}" is not an outcome; resolve as succeeded or failed`, { proposalId: id });
  }
  const note = typeof input.note === 'string' ? input.note.trim() : '';
  if (note === '') throw new PortcullisError('INVALID_REQUEST', 'note: say what you found in the system (e.g. "the lead shows owner rep-amara"); a resolution needs a note', { proposalId: id });
  const event = input.as === 'succeeded' ? 'resolve_succeeded' : 'resolve_failed';
  if (!transition(proposal.status, event).ok) {
    throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${id} is ${proposal.status}, not outcome_unknown; only a proposal whose outcome is unknown is resolved by a person`, { proposalId: id, status: proposal.status });
  }
  const now = deps.clock.now();
  const resolution = { resolvedBy: person.id, note };
  const saved = await moveProposal(deps, proposal, event, {
    updatedAt: now,
    ...(input.as === 'succeeded'
      ? { result: { ...resolution, resolved: 'succeeded' } }
      : { error: { code: 'RESOLVED_FAILED', message: `${person.id} checked the system and found it did not take effect: ${note}` } }),
  }, [proposalEvent('outcome.resolved', now, { kind: 'person', id: person.id }, proposal, { as: input.as, note, previous: proposal.error?.message })]);
  if (saved === undefined) throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${id} was resolved by someone else a moment ago; it is resolved once`, { proposalId: id });
  return saved;
}
