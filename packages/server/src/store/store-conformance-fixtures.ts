/**
 * Builders and helpers for the store conformance suite (store-conformance.ts). Test-only;
 * nothing here touches a particular adapter.
 */
import { verifyAuditChain, type AuditEventDraft, type ChainVerification } from '@portcullis/core';
import type { ProposalRecord, Store } from './store.js';

/** One day in milliseconds. */
export const DAY = 86_400_000;
/** A fixed start time for fixtures. */
export const T0 = Date.UTC(2025, 0, 1);

let counter = 0;

/** A proposal in `proposed` with a unique id; `overrides` replace any field. */
export function makeProposal(overrides: Partial<ProposalRecord> = {}): ProposalRecord {
  counter += 1;
  return {
    id: `prop_${counter}_${Math.random().toString(36).slice(2, 8)}`,
    workflow: 'route-leads',
    action: 'crm.leads.update',
    agent: 'lead-router',
    params: { id: counter, owner_id: 'u_17' },
    digest: 'd'.repeat(64),
    status: 'proposed',
    decision: { outcome: 'needs_approval', reasons: ['writes need approval'], risk: 'write' },
    createdAt: T0 + counter,
    updatedAt: T0 + counter,
    ...overrides,
  };
}

/** An audit event draft; `overrides` replace any field. */
export function makeEvent(overrides: Partial<AuditEventDraft> = {}): AuditEventDraft {
  return {
    type: 'proposal.received',
    at: T0,
    actor: { kind: 'agent', id: 'lead-router' },
    workflow: 'route-leads',
    data: {},
    ...overrides,
  };
}

/** Every event of a chain read in pages, checking no page is empty. */
export async function collectChain<T>(pages: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) {
    if (page.length === 0) throw new Error('readAuditChain yielded an empty page');
    out.push(...page);
  }
  return out;
}

/** Verifies the store's whole chain from its anchor to its recorded head. */
export async function verifyStore(store: Store, batchSize = 64): Promise<ChainVerification> {
  const anchor = await store.auditAnchor();
  const events = await collectChain(store.readAuditChain(batchSize));
  return verifyAuditChain(events, anchor, await store.auditHead());
}

/** The code of a rejection, or 'resolved' if the promise resolved. */
export async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return (error as { code?: string }).code ?? (error instanceof Error ? error.name : String(error));
  }
}
