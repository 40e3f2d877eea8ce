/**
 * People's decisions: SPEC rule 3's routing to the department (authorisation), approval
 * binding to the proposal's digest, single use, expiry, and the agent's long-poll.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { auditTrail, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';
import { runCli } from '../testing/run-cli.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = (id: number, owner = 'rep-kenji') => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: owner } } });
const approve = (who: keyof Harness['secrets'], id: string, payload: Record<string, unknown> = { reason: 'ok' }) =>
  harness.request(who, { method: 'POST', url: `/v1/approvals/${id}/approve`, payload });

describe('who may approve', () => {
  it('accepts the department lead and a delegate; refuses another department, the technical owner and an unknown id', async () => {
    harness = await openHarness();
    const a = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    const b = (await proposeAs(harness, 'agent', route(2))).json().id as string;

    const finance = await approve('fay', a);
    expect(finance.statusCode).toBe(403);
    expect(finance.json().error).toMatchObject({ code: 'APPROVER_NOT_AUTHORISED' });
    expect(finance.json().error.message).toMatch(/fay is not a lead or delegate of department "sales"/);
    const owner = await approve('tom', a);
    expect(owner.statusCode).toBe(403);
    expect(owner.json().error.message).toMatch(/technical owner/);
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    const refused = (await auditTrail(harness)).filter((e) => e.type === 'approval.refused').map((e) => e.actor.id);
    expect(refused).toEqual(['fay', 'tom']);

    expect((await approve('dana', a)).json().status).toBe('succeeded');
    expect((await approve('dele', b)).json().status).toBe('succeeded');
    expect((await approve('dana', 'prop_missing')).statusCode).toBe(404);
  });

  it('lists pending proposals for the lead, not for another department', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    const dana = await harness.request('dana', { method: 'GET', url: '/v1/approvals' });
    expect(dana.json().proposals.map((p: { id: string }) => p.id)).toEqual([id]);
    const fay = await harness.request('fay', { method: 'GET', url: '/v1/approvals' });
    expect(fay.json().proposals).toEqual([]);
  });
});

describe('what the request shows (rule 3)', () => {
  it('shows each field\'s old and new value side by side, read from the system now, on the API and in `approvals list`', async () => {
    harness = await openHarness();
    const crm = new Database(harness.crmPath);
    crm.prepare('UPDATE leads SET owner_id = ? WHERE id = 1').run('rep-before');
    crm.close();
    const update = (await proposeAs(harness, 'agent', route(1, 'rep-kenji'))).json().id as string;
    const remove = (await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.delete', params: { ids: [2] } })).json().id as string;
    const listed = (await harness.request('dana', { method: 'GET', url: '/v1/approvals' })).json().proposals as { id: string; changes?: unknown }[];
    expect(listed.find((p) => p.id === update)?.changes).toEqual([{ record: 'leads 1', fields: [{ field: 'owner_id', old: 'rep-before', new: 'rep-kenji' }] }]);
    const lead2 = readLead(harness, 2) as Record<string, unknown>;
    expect(listed.find((p) => p.id === remove)?.changes).toEqual([{ record: 'leads 2', fields: Object.entries(lead2).map(([field, old]) => ({ field, old })) }]);

    const url = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
    const cli = await runCli(['approvals', 'list', '--url', url, '--token', harness.secrets.dana]);
    expect(cli.code).toBe(0);
    expect(cli.out).toContain('leads 1  owner_id: "rep-before" → "rep-kenji"');
    expect(cli.out).toContain(`leads 2  name: ${JSON.stringify(lead2.name)} → (none)`);
  });
});

describe('approval binding', () => {
  it('refuses to execute an approved proposal whose params changed after approval, and audits the refusal', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1, 'rep-kenji'))).json().id as string;
    const dana = harness.gateway.config.people.get('dana');
    if (dana === undefined) throw new Error('dana missing');
    await harness.gateway.service.recordApproval(dana, id, { reason: 'kenji is right' });
    // Someone with database access swaps the params between approval and execution.
    const db = new Database(harness.storePath);
    db.prepare('UPDATE proposals SET params = ? WHERE id = ?').run(JSON.stringify({ ids: [1], set: { owner_id: 'rep-mallory' } }), id);
    db.close();
    await expect(harness.gateway.service.executeApproved(id)).rejects.toMatchObject({ code: 'APPROVAL_DIGEST_MISMATCH' });
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    const stored = await harness.gateway.store.getProposal(id);
    expect(stored?.status).toBe('cancelled');
    const trail = (await auditTrail(harness)).filter((e) => e.proposalId === id).map((e) => e.type);
    expect(trail).toContain('execution.refused');
    expect(trail).not.toContain('execution.started');
  });

  it('refuses an approval that names a digest other than the proposal\'s', async () => {
    harness = await openHarness();
    const proposal = (await proposeAs(harness, 'agent', route(1))).json();
    const stale = await approve('dana', proposal.id, { reason: 'ok', digest: 'f'.repeat(64) });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('APPROVAL_DIGEST_MISMATCH');
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    const right = await approve('dana', proposal.id, { reason: 'ok', digest: proposal.digest });
    expect(right.json().status).toBe('succeeded');
  });

  it('refuses a second approval: approvals are single-use', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    expect((await approve('dana', id)).json().status).toBe('succeeded');
    const twice = await approve('dele', id);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error).toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    expect(twice.json().error.message).toMatch(/succeeded.*decided while pending_approval, once/);
    const started = (await auditTrail(harness)).filter((e) => e.type === 'execution.started' && e.proposalId === id);
    expect(started).toHaveLength(1);
  });

  it('refuses to execute the same approval twice at the service level', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    await approve('dana', id);
    await expect(harness.gateway.service.executeApproved(id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
  });
});

describe('rejection and expiry', () => {
  it('rejects with a reason; nothing runs', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    const noReason = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/reject`, payload: {} });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.message).toMatch(/body\.reason/);
    const rejected = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/reject`, payload: { reason: 'wrong region' } });
    expect(rejected.json()).toMatchObject({ status: 'rejected', approval: { decision: 'rejected', reason: 'wrong region' } });
    expect(readLead(harness, 1)?.owner_id).toBeNull();
  });

  it('expires a pending proposal after the approval timeout; it can no longer be approved', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    harness.clock.advance(61 * 60_000);
    const late = await approve('dana', id);
    expect(late.statusCode).toBe(410);
    expect(late.json().error.code).toBe('APPROVAL_EXPIRED');
    expect((await harness.gateway.store.getProposal(id))?.status).toBe('expired');
    expect(readLead(harness, 1)?.owner_id).toBeNull();
  });

  it('expires due proposals in the background sweep', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    harness.clock.advance(30 * 60_000);
    expect(await harness.gateway.service.expireDue()).toBe(0);
    harness.clock.advance(31 * 60_000);
    expect(await harness.gateway.service.expireDue()).toBe(1);
    expect((await harness.gateway.store.getProposal(id))?.status).toBe('expired');
  });
});

describe('long-poll', () => {
  it('answers GET ?wait= as soon as the status changes', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    // Approved once the long-poll waits for a change of this proposal, not before.
    const feed = harness.gateway.service.deps.changes;
    const next = feed.next.bind(feed);
    let listens = (): void => undefined;
    const listening = new Promise<void>((resolve) => { listens = resolve; });
    const spy = vi.spyOn(feed, 'next').mockImplementation((kind, changed, timeoutMs) => {
      const change = next(kind, changed, timeoutMs);
      if (kind === 'proposal' && changed === id) listens();
      return change;
    });
    onTestFinished(() => spy.mockRestore());
    const waiting = harness.request('agent', { method: 'GET', url: `/v1/actions/${id}?wait=20` });
    await listening;
    await approve('dana', id);
    const answer = await waiting;
    expect(answer.statusCode).toBe(200);
    expect(['executing', 'approved', 'succeeded']).toContain(answer.json().status);
  });

  it('does not show a proposal to another agent or department', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    expect((await harness.request('other', { method: 'GET', url: `/v1/actions/${id}` })).statusCode).toBe(404);
    expect((await harness.request('fay', { method: 'GET', url: `/v1/actions/${id}` })).statusCode).toBe(404);
    expect((await harness.request('dana', { method: 'GET', url: `/v1/actions/${id}` })).statusCode).toBe(200);
  });
});
