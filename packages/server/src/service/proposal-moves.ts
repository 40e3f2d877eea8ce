/**
 * The one place a stored proposal changes status. Invariant: every status write takes an edge
 * of the core's lifecycle (`transition`): the next status is computed from the proposal's
 * current status and the event, never written by hand; the store's compare-and-set on the
 * current status makes each edge happen once; every saved move is published on the change
 * feed and counted by the metrics. A lint rule keeps `updateProposal` out of every other module.
 */
import { PortcullisError, transition, type AuditEventDraft, type ProposalEvent } from '@portcullis/core';
import type { ProposalPatch, ProposalRecord, ProposalUpdateExtras } from '../store/store.js';
import type { ServiceDeps } from './deps.js';

/**
 * Moves `proposal` along the edge `event`, saving `patch` and `events` in the same commit.
 * Returns the saved proposal, or undefined when another request moved it first (nothing saved).
 * @throws PortcullisError ILLEGAL_TRANSITION when the lifecycle has no such edge from its status;
 *   STORE_UNAVAILABLE when the store cannot be written.
 */
export async function moveProposal(
  deps: ServiceDeps,
  proposal: Pick<ProposalRecord, 'id' | 'status'>,
  event: ProposalEvent,
  patch: Omit<ProposalPatch, 'status'>,
  events: readonly AuditEventDraft[],
  also?: ProposalUpdateExtras,
): Promise<ProposalRecord | undefined> {
  const next = transition(proposal.status, event);
  if (!next.ok) throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${proposal.id}: ${next.error}`, { proposalId: proposal.id, status: proposal.status });
  const saved = await deps.store.updateProposal(proposal.id, proposal.status, { ...patch, status: next.status }, events, also);
  if (saved !== undefined) {
    deps.changes.publish({ kind: 'proposal', id: saved.id, status: saved.status });
    const startedAt = proposal.status === 'executing' && 'updatedAt' in proposal && typeof proposal.updatedAt === 'number' ? proposal.updatedAt : undefined;
    deps.metrics?.proposalMoved({
      workflow: saved.workflow, status: saved.status,
      ...(event === 'approve' || event === 'reject' ? { waitMs: saved.updatedAt - saved.createdAt } : {}),
      ...(startedAt === undefined ? {} : { executionMs: saved.updatedAt - startedAt }),
    });
  }
  return saved;
}
