/**
 * The policy holds at execution, not only at proposal: a proposal approved after its grant was
 * removed, its bound narrowed, or its workflow or agent disabled is `cancelled` (not
 * `rejected`, which is a person's decision), nothing changes in the system, and the refusal
 * is audited with the reason.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

const opened: Harness[] = [];
afterEach(async () => {
  for (const h of opened.splice(0)) await h.close();
});

async function open(options: Parameters<typeof openHarness>[0] = {}): Promise<Harness> {
  const h = await openHarness(options);
  opened.push(h);
  return h;
}

/** The harness config on the given store and CRM files. */
function onFiles(text: string, files: { store: string; crm: string }): string {
  return text.replace('path: ./portcullis.db', `path: ${JSON.stringify(files.store)}`).replace('path: ./crm.db', `path: ${JSON.stringify(files.crm)}`);
}

const update = { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } };
const remove = { workflow: 'route-leads', action: 'crm.leads.delete', params: { ids: [2] } };

async function pending(h: Harness, body: unknown): Promise<string> {
  const res = await proposeAs(h, 'agent', body);
  expect(res.json()).toMatchObject({ status: 'pending_approval' });
  return res.json().id as string;
}

async function refusals(h: Harness, id: string) {
  const trail = (await auditTrail(h)).filter((e) => e.proposalId === id);
  expect(trail.map((e) => e.type)).not.toContain('execution.started');
  return trail.filter((e) => e.type === 'execution.refused');
}

describe('policy at execution', () => {
  it('cancels a pending write and a pending delete whose grants were removed before a gateway restart', async () => {
    const first = await openHarness();
    const writeId = await pending(first, update);
    const deleteId = await pending(first, remove);
    await first.gateway.close();
    try {
      // The owner removes both write grants from the config, and the gateway restarts on the same store.
      const edited = harnessConfig()
        .replace('      - crm:leads.owner_id:update\n', '')
        .replace('      - { grant: crm:leads:delete, explicit: true }\n', '');
      expect(edited).not.toContain('crm:leads:delete');
      const second = await open({ configYaml: onFiles(edited, { store: first.storePath, crm: first.crmPath }), clock: first.clock });

      for (const [id, verb] of [[writeId, 'update'], [deleteId, 'delete']] as const) {
        const approved = await second.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'looks right' } });
        expect(approved.statusCode).toBe(200);
        expect(approved.json()).toMatchObject({ status: 'cancelled', error: { code: 'GRANT_DENIED' }, approval: { decision: 'approved', by: 'dana' } });
        expect(approved.json().error.message).toMatch(new RegExp(`no longer allows this action: workflow "route-leads" has no grant for ${verb} on crm:leads.*nothing was executed`));
        const refused = await refusals(second, id);
        expect(refused).toHaveLength(1);
        expect(refused[0]?.data).toMatchObject({ code: 'GRANT_DENIED' });
      }
      // Nothing changed in the CRM.
      expect(readLead(second, 1)?.owner_id).toBeNull();
      expect(readLead(second, 2)).toMatchObject({ id: 2, name: 'Raj Patel' });
    } finally {
      rmSync(first.dir, { recursive: true, force: true });
    }
  });

  it('cancels an approved proposal whose bound was narrowed after it was made', async () => {
    const first = await openHarness();
    const id = await pending(first, { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1, 3], set: { owner_id: 'rep-amara' } } });
    await first.gateway.close();
    try {
      const narrowed = harnessConfig().replace('maxRecordsPerAction: 3', 'maxRecordsPerAction: 1');
      const second = await open({ configYaml: onFiles(narrowed, { store: first.storePath, crm: first.crmPath }), clock: first.clock });
      const approved = await second.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'both emea' } });
      expect(approved.json()).toMatchObject({ status: 'cancelled', error: { code: 'BOUND_EXCEEDED' } });
      expect(approved.json().error.message).toMatch(/names 2 records; workflow "route-leads" allows at most 1 per action/);
      expect(readLead(second, 1)?.owner_id).toBeNull();
      expect(readLead(second, 3)?.owner_id).toBeNull();
      expect(await refusals(second, id)).toHaveLength(1);
    } finally {
      rmSync(first.dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['workflow', 'route-leads', 'WORKFLOW_DISABLED', /workflow "route-leads" is disabled/],
    ['agent', 'lead-router', 'AGENT_DISABLED', /agent "lead-router" is disabled/],
  ] as const)('cancels a pending write and delete when its %s is disabled while the approval waits', async (kind, subject, code, why) => {
    const h = await open();
    const ids = [await pending(h, update), await pending(h, remove)];
    await h.gateway.store.setDisabled(kind, subject, { by: 'dana', reason: 'it routed leads to the wrong region', at: h.clock.now() }, []);
    for (const id of ids) {
      const approved = await h.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
      expect(approved.statusCode).toBe(200);
      expect(approved.json()).toMatchObject({ status: 'cancelled', error: { code } });
      expect(approved.json().error.message).toMatch(why);
      expect((await refusals(h, id))[0]?.data).toMatchObject({ code });
    }
    expect(readLead(h, 1)?.owner_id).toBeNull();
    expect(readLead(h, 2)).toMatchObject({ id: 2 });
  });

  it('still runs an approved proposal the configuration in force allows, once, within its run and hour bounds', async () => {
    const h = await open({ configYaml: harnessConfig().replace('maxRecordsPerAction: 3', 'maxRecordsPerAction: 3\n      maxActionsPerHour: 1') });
    const id = await pending(h, update);
    const approved = await h.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
    // The proposal itself is one of the hour's actions; it does not count against itself.
    expect(approved.json()).toMatchObject({ status: 'succeeded' });
    expect(readLead(h, 1)?.owner_id).toBe('rep-amara');
  });
});
