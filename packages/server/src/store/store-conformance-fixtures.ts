/**
 * Builders and helpers for the store conformance suite (store-conformance.ts). Test-only;
 * nothing here touches a particular adapter.
 */
import { createMerkleFrontier, createTrailChecker, sameHash, type AuditEventDraft } from '@portcullis/core';
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

/** Every event of a trail read in pages, checking no page is empty. */
export async function collectChain<T>(pages: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) {
    if (page.length === 0) throw new Error('readAuditTrail yielded an empty page');
    out.push(...page);
  }
  return out;
}

/** A trail checked by `verifyStore`. */
export type StoreVerification =
  | { readonly ok: true; readonly count: number; readonly last: { readonly seq: number } }
  | { readonly ok: false; readonly count: number; readonly break: { readonly seq: number; readonly problem: string } };

/**
 * Verifies the store's whole trail through the port only, as `audit verify` does: each stored
 * event against its body (leaf hash, or legacy chain link), the tree rebuilt from the bodies
 * against the stored tree, and the recorded head.
 */
export async function verifyStore(store: Store, batchSize = 64): Promise<StoreVerification> {
  const [anchor, head, tree, purges] = await Promise.all([store.auditAnchor(), store.auditHead(), store.auditTree(), store.auditPurges()]);
  const start = purges.filter((p) => p.throughSeq > tree.baseSeq && p.frontier !== undefined).at(-1);
  const frontier = createMerkleFrontier(start?.frontier);
  const check = createTrailChecker(tree.chainThrough, anchor, tree.baseSeq + frontier.size + 1);
  let count = 0;
  for (const event of await collectChain(store.readAuditTrail(batchSize))) {
    const leaf = check(event);
    if (typeof leaf === 'string') return { ok: false, count, break: { seq: Number(/^event (\d+)/.exec(leaf)?.[1] ?? event.seq), problem: leaf } };
    frontier.append(leaf);
    count += 1;
  }
  const end = tree.baseSeq + frontier.size;
  if (head.seq !== end) return { ok: false, count, break: { seq: Math.min(head.seq, end) + 1, problem: `the trail ends at event ${end} but its recorded head is ${head.seq}` } };
  const stored = createMerkleFrontier(tree.frontier);
  if (stored.size !== frontier.size || !sameHash(stored.root(), frontier.root())) return { ok: false, count, break: { seq: end, problem: 'the stored tree is not the tree of the stored events' } };
  return { ok: true, count, last: { seq: end } };
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
