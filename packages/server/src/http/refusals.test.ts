/**
 * Every refused request of an identified caller is audited, once, whichever face it came
 * through (service/refusals.ts): an agent on an approval route, a person proposing, a lead of
 * another department approving, a proposal a caller may not see. Unidentified callers leave
 * no trace (there is no one to name).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, proposeAs, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } }, reason: 'emea lead' };

async function refusals(h: Harness) {
  return (await auditTrail(h)).filter((e) => e.type === 'request.refused' || e.type === 'request.invalid' || e.type === 'approval.refused')
    .map((e) => ({ type: e.type, actor: e.actor.id, code: e.data.code, route: e.data.route }));
}

describe('refused requests', () => {
  it('audits an agent that calls an approval route with its own key (403), naming the agent and the route', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route)).json().id as string;
    const answer = await harness.request('agent', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'self-approval' } });
    expect(answer.statusCode).toBe(403);
    expect((await harness.gateway.store.getProposal(id))?.status).toBe('pending_approval');
    expect(await refusals(harness)).toEqual([{ type: 'request.refused', actor: 'lead-router', code: 'FORBIDDEN', route: 'POST /v1/approvals/:id/approve' }]);
  });

  it('tells an agent on a person\'s route what it may not do there: its own switch, a rollout, the trail', async () => {
    harness = await openHarness();
    const cases = [
      { url: '/v1/agents/agent/enable', payload: { reason: 'back on' }, says: 'agents cannot enable agents; only people can, with a personal token' },
      { url: '/v1/workflows/route-leads/disable', payload: { reason: 'stop' }, says: 'agents cannot disable workflows; only people can' },
      { url: '/v1/workflows/route-leads/promote', payload: { reason: 'ready' }, says: 'agents cannot promote workflows; only people can' },
    ];
    for (const { url, payload, says } of cases) {
      const answer = await harness.request('agent', { method: 'POST', url, payload });
      expect(answer.statusCode).toBe(403);
      expect(answer.json().error.message).toContain(says);
    }
    const trail = await harness.request('agent', { method: 'GET', url: '/v1/audit' });
    expect(trail.json().error.message).toContain('agents cannot read the audit trail');
  });

  it('audits a person who proposes, and a proposal read outside the caller\'s workflows', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route)).json().id as string;
    expect((await proposeAs(harness, 'dana', route)).statusCode).toBe(403);
    expect((await harness.request('fay', { method: 'GET', url: `/v1/actions/${id}` })).statusCode).toBe(404);
    expect(await refusals(harness)).toEqual([
      { type: 'request.refused', actor: 'dana', code: 'FORBIDDEN', route: 'POST /v1/actions' },
      { type: 'request.invalid', actor: 'fay', code: 'PROPOSAL_NOT_FOUND', route: 'GET /v1/actions/:id' },
    ]);
  });

  it('audits a lead of another department once (as approval.refused), not twice', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route)).json().id as string;
    expect((await harness.request('fay', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'not mine' } })).statusCode).toBe(403);
    expect(await refusals(harness)).toEqual([{ type: 'approval.refused', actor: 'fay', code: undefined, route: undefined }]);
  });

  it('leaves no trace of a caller it cannot name', async () => {
    harness = await openHarness();
    expect((await harness.request(undefined, { method: 'GET', url: '/v1/approvals' })).statusCode).toBe(401);
    expect(await refusals(harness)).toEqual([]);
  });
});
