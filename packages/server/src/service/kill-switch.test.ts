/**
 * SPEC rule 9: a department lead disables an agent or a workflow at once, without its
 * technical owner: the next proposal is refused, pending approvals are cancelled, and
 * re-enabling needs a reason. The agent's own key, or a person of another department, is
 * refused and audited; nothing changes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { aroundExecute, auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = (id: number) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: 'rep-amara' } } });
const post = (h: Harness, who: keyof Harness['secrets'], url: string, reason?: string) =>
  h.request(who, { method: 'POST', url, payload: reason === undefined ? {} : { reason } });

describe('the kill switch', () => {
  it('a lead disables the workflow without the technical owner: pending proposals are cancelled and the next is denied', async () => {
    harness = await openHarness();
    const pending = await proposeAs(harness, 'agent', route(1));
    expect(pending.json().status).toBe('pending_approval');

    const off = await post(harness, 'dana', '/v1/workflows/route-leads/disable', 'it routes EMEA leads to NA reps');
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ kind: 'workflow', id: 'route-leads', disabled: { by: 'dana', reason: 'it routes EMEA leads to NA reps', breaker: false }, cancelled: [pending.json().id] });

    const approve = await post(harness, 'dana', `/v1/approvals/${pending.json().id}/approve`, 'ok');
    expect(approve.statusCode).toBe(409);
    const next = await proposeAs(harness, 'agent', route(2));
    expect(next.json()).toMatchObject({ status: 'denied', decision: { code: 'WORKFLOW_DISABLED' } });
    expect(readLead(harness, 1)?.owner_id).toBeNull();

    const status = (await harness.request('dele', { method: 'GET', url: '/v1/status' })).json();
    expect(status.workflows[0]).toMatchObject({ id: 'route-leads', disabled: { by: 'dana', reason: 'it routes EMEA leads to NA reps' }, runbook: 'Assign leads by hand in the CRM.' });
    expect(status.workflows[0].disabled.since).toBe(new Date(harness.clock.now()).toISOString());

    const trail = await auditTrail(harness);
    expect(trail.find((e) => e.type === 'workflow.disabled')).toMatchObject({ actor: { kind: 'person', id: 'dana' }, workflow: 'route-leads', data: { reason: 'it routes EMEA leads to NA reps' } });
    expect(trail.find((e) => e.type === 'proposal.cancelled')).toMatchObject({ proposalId: pending.json().id, data: { code: 'WORKFLOW_DISABLED' } });
  });

  it('a delegate disables the agent: its proposals in every workflow are refused; its owner may enable it, with a reason', async () => {
    harness = await openHarness();
    const pending = await proposeAs(harness, 'agent', route(1));
    const off = await post(harness, 'dele', '/v1/agents/lead-router/disable', 'leaked key suspected');
    expect(off.json()).toMatchObject({ kind: 'agent', id: 'lead-router', disabled: { by: 'dele' }, cancelled: [pending.json().id] });
    expect((await proposeAs(harness, 'agent', route(2))).json()).toMatchObject({ status: 'denied', decision: { code: 'AGENT_DISABLED' } });
    expect((await harness.request('ada', { method: 'GET', url: '/v1/status' })).json().agents).toContainEqual(expect.objectContaining({ id: 'lead-router', disabled: expect.objectContaining({ by: 'dele', reason: 'leaked key suspected' }) }));
    // Its workflows' rollout reports name the agent that is off.
    const rollout = (await harness.request('dana', { method: 'GET', url: '/v1/workflows/route-leads/rollout' })).json();
    expect(rollout.disabled).toMatchObject({ agent: 'lead-router', by: 'dele', reason: 'leaked key suspected', breaker: false });

    const twice = await post(harness, 'dana', '/v1/agents/lead-router/disable', 'again');
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.message).toMatch(/disabled already \(by dele/);

    const noReason = await post(harness, 'tom', '/v1/agents/lead-router/enable');
    expect(noReason.statusCode).toBe(400);
    expect((await proposeAs(harness, 'agent', route(2))).json().status).toBe('denied');
    const on = await post(harness, 'tom', '/v1/agents/lead-router/enable', 'key rotated');
    expect(on.statusCode).toBe(200);
    expect((await harness.request('dana', { method: 'GET', url: '/v1/workflows/route-leads/rollout' })).json().disabled).toBeUndefined();
    expect((await proposeAs(harness, 'agent', route(2))).json().status).toBe('pending_approval');
    expect((await post(harness, 'tom', '/v1/agents/lead-router/enable', 'again')).statusCode).toBe(409);
  });

  it('refuses the agent\'s own key and a person of another department, audits each, and changes nothing', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto, high: approval }' }) });
    const byAgent = await post(harness, 'agent', '/v1/workflows/route-leads/disable', 'I am broken');
    expect(byAgent.statusCode).toBe(403);
    const byOther = await post(harness, 'fay', '/v1/workflows/route-leads/disable', 'not my department');
    expect(byOther.statusCode).toBe(403);
    expect(byOther.json().error.message).toMatch(/fay may not disable workflow "route-leads": only an admin, a lead or delegate of "sales"/);
    const agentByOther = await post(harness, 'fay', '/v1/agents/lead-router/disable', 'not my agent');
    expect(agentByOther.statusCode).toBe(403);
    const unknown = await post(harness, 'ada', '/v1/agents/nobody/disable', 'typo');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('AGENT_NOT_FOUND');

    expect((await proposeAs(harness, 'agent', route(1))).json().status).toBe('succeeded');
    const refused = (await auditTrail(harness)).filter((e) => e.type === 'request.refused');
    expect(refused.map((e) => e.actor.id)).toEqual(['lead-router', 'fay', 'fay']);
    expect((await auditTrail(harness)).filter((e) => e.type === 'workflow.disabled' || e.type === 'agent.disabled')).toEqual([]);
  });

  it('lets an action already executing finish and records it, while the switch cancels what waits', async () => {
    let switched: Promise<unknown> | undefined;
    let waiting = '';
    harness = await openHarness({
      gateway: {
        // The real CRM connector, with the lead's switch thrown while the write is executing.
        connect: aroundExecute(async (real, spec, params, context) => {
          switched ??= post(harness, 'dana', '/v1/workflows/route-leads/disable', 'stop now').then((r) => r.json());
          expect((await switched as { cancelled: string[] }).cancelled).toEqual([waiting]);
          return real.execute(spec, params, context);
        }),
      },
    });
    const first = await proposeAs(harness, 'agent', route(1));
    waiting = (await proposeAs(harness, 'agent', route(2))).json().id as string;
    const done = await post(harness, 'dana', `/v1/approvals/${first.json().id}/approve`, 'ok');
    expect(done.json().status).toBe('succeeded');
    expect(readLead(harness, 1)?.owner_id).toBe('rep-amara');
    expect(readLead(harness, 2)?.owner_id).toBeNull();
    const types = (await auditTrail(harness)).map((e) => e.type);
    expect(types.indexOf('workflow.disabled')).toBeLessThan(types.indexOf('execution.succeeded'));
    expect((await harness.request('dana', { method: 'GET', url: `/v1/actions/${waiting}` })).json().status).toBe('cancelled');
  });
});
