/**
 * An approval is bound to the SHA-256 digest of the exact canonical action it approved, as
 * recorded with the approval. Before running, the gateway recomputes the digest of what is
 * about to run and compares it with the approval's own digest, so rewriting a proposal after
 * its approval is caught even when the rewrite keeps the proposal's stored digest consistent
 * with its new params.
 */
import Database from 'better-sqlite3';
import { proposalDigest } from '@portcullis/core';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

describe('approval bound to its own digest', () => {
  it('refuses to run a proposal whose params and stored digest were both rewritten after approval', async () => {
    harness = await openHarness();
    const proposed = (await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } })).json();
    const dana = harness.gateway.config.people.get('dana');
    if (dana === undefined) throw new Error('dana missing');
    const approved = await harness.gateway.service.recordApproval(dana, proposed.id as string, { reason: 'emea lead, emea rep' });
    expect(approved.approval?.digest).toBe(proposed.digest);

    // Someone with write access to the store swaps the params and recomputes the proposal's digest to match.
    const swapped = { ids: [1], set: { owner_id: 'rep-mallory' } };
    const forged = proposalDigest({ workflow: 'route-leads', action: 'crm.leads.update', params: swapped });
    const db = new Database(harness.storePath);
    db.prepare('UPDATE proposals SET params = ?, digest = ? WHERE id = ?').run(JSON.stringify(swapped), forged, proposed.id);
    db.close();
    const stored = await harness.gateway.store.getProposal(proposed.id as string);
    expect(stored).toMatchObject({ params: swapped, digest: forged, approval: { digest: proposed.digest } });

    await expect(harness.gateway.service.executeApproved(proposed.id as string)).rejects.toMatchObject({ code: 'APPROVAL_DIGEST_MISMATCH' });
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    expect((await harness.gateway.store.getProposal(proposed.id as string))?.status).toBe('cancelled');
    const events = (await auditTrail(harness)).filter((e) => e.proposalId === proposed.id);
    expect(events.map((e) => e.type)).toEqual(['proposal.received', 'proposal.decided', 'approval.granted', 'execution.refused']);
    expect(events.at(-1)?.data).toMatchObject({ code: 'APPROVAL_DIGEST_MISMATCH' });
  });
});
