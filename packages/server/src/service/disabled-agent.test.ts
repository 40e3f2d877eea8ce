/**
 * A disabled agent (or workflow), as the store records it with who, why and when, is refused:
 * its proposals are denied, even those its workflow would run without approval, nothing
 * runs, and the denial is audited. Enabling it again lets it act again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const read = { workflow: 'route-leads', action: 'crm.leads.read', params: { ids: [1] } };
const route = { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } };

async function disable(h: Harness, kind: 'agent' | 'workflow', id: string, on: boolean): Promise<void> {
  await h.gateway.store.setDisabled(kind, id, on ? { by: 'dana', reason: 'it routed leads to the wrong region', at: h.clock.now() } : undefined, []);
}

describe('a disabled agent is refused', () => {
  it('denies every proposal of a disabled agent, runs nothing, audits the denial, and accepts it again once enabled', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
    await disable(harness, 'agent', 'lead-router', true);

    const ids: string[] = [];
    for (const body of [read, route]) {
      const res = await proposeAs(harness, 'agent', body);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'denied', decision: { outcome: 'deny', code: 'AGENT_DISABLED' } });
      expect(res.json().decision.reasons.join(' ')).toMatch(/agent "lead-router" is disabled/);
      ids.push(res.json().id as string);
    }
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    const trail = await auditTrail(harness);
    expect(trail.filter((e) => e.type === 'proposal.decided' && ids.includes(e.proposalId ?? '')).map((e) => e.data.code)).toEqual(['AGENT_DISABLED', 'AGENT_DISABLED']);
    expect(trail.filter((e) => e.type === 'execution.started')).toEqual([]);

    await disable(harness, 'agent', 'lead-router', false);
    expect((await proposeAs(harness, 'agent', route)).json().status).toBe('succeeded');
    expect(readLead(harness, 1)?.owner_id).toBe('rep-amara');
  });

  it('denies the proposals of a disabled workflow', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
    await disable(harness, 'workflow', 'route-leads', true);
    const res = await proposeAs(harness, 'agent', route);
    expect(res.json()).toMatchObject({ status: 'denied', decision: { code: 'WORKFLOW_DISABLED' } });
    expect(readLead(harness, 1)?.owner_id).toBeNull();
  });
});
