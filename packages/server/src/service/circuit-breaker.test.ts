/**
 * SPEC rule 8: a workflow whose executions fail three times in a row (configurable) is disabled
 * at once, its pending approvals are cancelled and cannot be approved, an alert with the
 * runbook is raised, nothing runs after the trip, and only a person with a reason enables it
 * again. Failures are real: the CRM database refuses writes with a trigger, as a system under
 * maintenance would.
 */
import type { Alert } from '@portcullis/core';
import { afterEach, describe, expect, it } from 'vitest';
import { aroundExecute, auditTrail, crmRefusesWrites, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = (id: number, owner = 'rep-amara') => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: owner } } });

async function statusOf(h: Harness, who: 'dana' | 'ada' = 'dana') {
  const res = await h.request(who, { method: 'GET', url: '/v1/status' });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('the circuit breaker', () => {
  it('does not trip at two failures around a success, trips at the third in a row, alerts with the runbook, and nothing runs after', async () => {
    const told: Alert[] = [];
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto, high: approval }' }), gateway: { notifier: { notify: (alert) => told.push(alert) } } });
    crmRefusesWrites(harness, true);
    for (const id of [1, 2]) expect((await proposeAs(harness, 'agent', route(id))).json().status).toBe('failed');
    crmRefusesWrites(harness, false);
    expect((await proposeAs(harness, 'agent', route(3))).json().status).toBe('succeeded');
    crmRefusesWrites(harness, true);
    for (const id of [1, 2]) expect((await proposeAs(harness, 'agent', route(id))).json().status).toBe('failed');
    expect((await statusOf(harness)).workflows[0]).toMatchObject({ id: 'route-leads', breaker: { failures: 2, threshold: 3 } });
    expect((await statusOf(harness)).workflows[0].disabled).toBeUndefined();

    expect((await proposeAs(harness, 'agent', route(4))).json().status).toBe('failed');
    const status = await statusOf(harness);
    expect(status.workflows[0].disabled).toMatchObject({ by: 'breaker', breaker: true, reason: expect.stringMatching(/3 execution failures in a row/) });
    expect(status.workflows[0].runbook).toBe('Assign leads by hand in the CRM.');
    // The rollout report says so too, whatever the stage.
    const rollout = (await harness.request('dana', { method: 'GET', url: '/v1/workflows/route-leads/rollout' })).json();
    expect(rollout.disabled).toMatchObject({ by: 'breaker', breaker: true, reason: expect.stringMatching(/3 execution failures in a row/) });
    // Newest first: the trip disabled the workflow, and returned its automated writes to approval-first.
    expect(status.alerts.map((a: { data: { kind: string } }) => a.data.kind)).toEqual(['workflow_demoted', 'breaker_tripped']);
    expect(status.alerts[1].data).toMatchObject({ kind: 'breaker_tripped', failures: 3, threshold: 3, runbook: 'Assign leads by hand in the CRM.', to: ['tom', 'dana'] });
    expect(told).toEqual([
      expect.objectContaining({ kind: 'breaker_tripped', seq: status.alerts[1].seq, workflow: 'route-leads', runbook: 'Assign leads by hand in the CRM.', to: ['tom', 'dana'] }),
      expect.objectContaining({ kind: 'workflow_demoted', workflow: 'route-leads' }),
    ]);

    crmRefusesWrites(harness, false);
    const after = await proposeAs(harness, 'agent', route(5));
    expect(after.json()).toMatchObject({ status: 'denied', decision: { code: 'WORKFLOW_DISABLED' } });
    expect(readLead(harness, 5)?.owner_id).toBeNull();
    const trail = await auditTrail(harness);
    expect(trail.filter((e) => e.type === 'workflow.disabled').map((e) => e.actor)).toEqual([{ kind: 'system', id: 'breaker' }]);
    expect(trail.filter((e) => e.type === 'alert.raised')).toHaveLength(2);
    expect(trail.filter((e) => e.type === 'workflow.demoted')).toHaveLength(1);
  });

  it('cancels the pending approvals, which cannot be approved after; re-enabling needs a reason and starts the count again', async () => {
    harness = await openHarness();
    const ids: string[] = [];
    for (const id of [1, 2, 3, 4, 5]) {
      const res = await proposeAs(harness, 'agent', route(id));
      expect(res.json().status).toBe('pending_approval');
      ids.push(res.json().id as string);
    }
    crmRefusesWrites(harness, true);
    for (const id of ids.slice(0, 3)) {
      const res = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
      expect(res.json().status).toBe('failed');
    }
    crmRefusesWrites(harness, false);
    for (const id of ids.slice(3)) {
      const proposal = (await harness.request('dana', { method: 'GET', url: `/v1/actions/${id}` })).json();
      expect(proposal).toMatchObject({ status: 'cancelled', error: { code: 'WORKFLOW_DISABLED' } });
      const approve = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
      expect(approve.statusCode).toBe(409);
      expect(approve.json().error.message).toMatch(/cancelled/);
    }
    expect(readLead(harness, 4)?.owner_id).toBeNull();
    expect(readLead(harness, 5)?.owner_id).toBeNull();
    const cancelled = (await auditTrail(harness)).filter((e) => e.type === 'proposal.cancelled');
    expect(cancelled.map((e) => e.proposalId).sort()).toEqual(ids.slice(3).sort());

    const noReason = await harness.request('dana', { method: 'POST', url: '/v1/workflows/route-leads/enable', payload: { reason: '  ' } });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.message).toMatch(/reason: say why you enable workflow "route-leads"/);
    expect((await statusOf(harness)).workflows[0].disabled).toMatchObject({ by: 'breaker' });
    expect((await auditTrail(harness)).filter((e) => e.type === 'request.invalid' && e.data.code === 'INVALID_REQUEST')).toHaveLength(1);

    const enabled = await harness.request('dana', { method: 'POST', url: '/v1/workflows/route-leads/enable', payload: { reason: 'the CRM is back from maintenance' } });
    expect(enabled.statusCode).toBe(200);
    expect(enabled.json().disabled).toBeUndefined();
    expect((await statusOf(harness)).workflows[0]).toMatchObject({ breaker: { failures: 0, threshold: 3 } });
    const again = await proposeAs(harness, 'agent', route(1, 'rep-bo'));
    expect(again.json().status).toBe('pending_approval');
    crmRefusesWrites(harness, true);
    expect((await harness.request('dana', { method: 'POST', url: `/v1/approvals/${again.json().id}/approve`, payload: {} })).json().status).toBe('failed');
    expect((await statusOf(harness)).workflows[0]).toMatchObject({ breaker: { failures: 1 } });
    expect((await statusOf(harness)).workflows[0].disabled).toBeUndefined();
    const enabledEvent = (await auditTrail(harness)).find((e) => e.type === 'workflow.enabled');
    expect(enabledEvent).toMatchObject({ actor: { kind: 'person', id: 'dana' }, data: { reason: 'the CRM is back from maintenance', wasDisabledBy: 'breaker' } });
  });

  it('trips at a configured threshold of one', async () => {
    harness = await openHarness({
      configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto, high: approval }' }).replace('    approvalTimeout: 1h', '    approvalTimeout: 1h\n    breaker: { failures: 1 }'),
    });
    crmRefusesWrites(harness, true);
    expect((await proposeAs(harness, 'agent', route(1))).json().status).toBe('failed');
    expect((await statusOf(harness)).workflows[0]).toMatchObject({ disabled: { by: 'breaker' }, breaker: { threshold: 1 } });
  });

  it('does not count a denial, a rejection or a cancellation', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: approval, high: approval }' }).replace('    approvalTimeout: 1h', '    approvalTimeout: 1h\n    breaker: { failures: 1 }') });
    expect((await proposeAs(harness, 'agent', route(6))).json().status).toBe('denied');
    const pending = await proposeAs(harness, 'agent', route(1));
    expect((await harness.request('dana', { method: 'POST', url: `/v1/approvals/${pending.json().id}/reject`, payload: { reason: 'no' } })).json().status).toBe('rejected');
    expect((await statusOf(harness)).workflows[0]).toMatchObject({ breaker: { failures: 0 } });
    expect((await statusOf(harness)).workflows[0].disabled).toBeUndefined();
  });

  it('leaves a workflow a person disabled as they left it when an action already executing then fails', async () => {
    harness = await openHarness({
      configYaml: harnessConfig().replace('    approvalTimeout: 1h', '    approvalTimeout: 1h\n    breaker: { failures: 1 }'),
      gateway: {
        connect: aroundExecute(async (real, spec, params, context) => {
          // Dana pulls the switch while the write is on its way; then the CRM refuses it.
          expect((await harness.request('dana', { method: 'POST', url: '/v1/workflows/route-leads/disable', payload: { reason: 'stop' } })).statusCode).toBe(200);
          crmRefusesWrites(harness, true);
          return real.execute(spec, params, context);
        }),
      },
    });
    const pending = await proposeAs(harness, 'agent', route(1));
    const done = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${pending.json().id}/approve`, payload: {} });
    expect(done.json().status).toBe('failed');
    expect((await statusOf(harness)).workflows[0].disabled).toMatchObject({ by: 'dana', reason: 'stop', breaker: false });
    expect((await auditTrail(harness)).filter((e) => e.type === 'workflow.disabled' || e.type === 'alert.raised').map((e) => e.actor.id)).toEqual(['dana']);
  });
});
