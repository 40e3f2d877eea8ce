/**
 * The data scope holds at execution, not only at proposal: a record that was inside the
 * workflow's scope when it was proposed (and approved), and left it before the action ran,
 * is not written. The gateway asks the connector's scope check again before it runs an approved
 * proposal (the proposal is then `cancelled`, saying why), and the connector re-checks the scope
 * inside its own transaction too; the system of record is unchanged.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const MINUTE = 60_000;

function person(h: Harness, id: string) {
  const found = h.gateway.config.people.get(id);
  if (found === undefined) throw new Error(`no person ${id} in the harness config`);
  return found;
}

describe('data scope re-checked at execution', () => {
  it('does not update a record that aged out of the scope between approval and execution', async () => {
    // Only leads created in the last 70 minutes; lead 5 was created an hour ago.
    harness = await openHarness({ configYaml: harnessConfig().replace('within: 24h', 'within: 70m') });
    const proposed = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [5], set: { owner_id: 'rep-jordan' } } });
    expect(proposed.json()).toMatchObject({ status: 'pending_approval' });
    const id = proposed.json().id as string;

    harness.clock.advance(5 * MINUTE);
    await harness.gateway.service.recordApproval(person(harness, 'dana'), id, { reason: 'na lead, na rep' });
    // Six minutes later (the approval is still valid) the lead is 71 minutes old: outside the scope.
    harness.clock.advance(6 * MINUTE);
    const executed = await harness.gateway.service.executeApproved(id);

    expect(executed.status).toBe('cancelled');
    expect(executed.error).toMatchObject({ code: 'OUTSIDE_SCOPE' });
    expect(executed.error?.message).toMatch(/leads record 5 does not exist or is outside the workflow's data scope \(created_at within the last 70m\).*nothing was executed/);
    expect(readLead(harness, 5)?.owner_id).toBeNull();
    const trail = (await auditTrail(harness)).filter((e) => e.proposalId === id);
    expect(trail.map((e) => e.type)).not.toContain('execution.started');
    expect(trail.find((e) => e.type === 'execution.refused')?.data).toMatchObject({ code: 'OUTSIDE_SCOPE' });
  });

  it('does not delete a record that left the scope after it was proposed, when a lead approves it', async () => {
    harness = await openHarness();
    const proposed = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.delete', params: { ids: [2] } });
    expect(proposed.json()).toMatchObject({ status: 'pending_approval', decision: { risk: 'high' } });

    // Someone working in the CRM re-dates the lead to three days ago: it is no longer a new lead.
    const crm = new Database(harness.crmPath);
    crm.prepare('UPDATE leads SET created_at = ? WHERE id = 2').run(new Date(harness.clock.now() - 72 * 60 * MINUTE).toISOString());
    crm.close();

    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id as string}/approve`, payload: { reason: 'duplicate lead' } });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'cancelled', error: { code: 'OUTSIDE_SCOPE' } });
    expect(approved.json().error.message).toMatch(/leads record 2 does not exist or is outside the workflow's data scope/);
    expect(readLead(harness, 2)).toMatchObject({ id: 2, name: 'Raj Patel' });
  });
});
