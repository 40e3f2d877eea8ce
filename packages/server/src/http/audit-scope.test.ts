/**
 * Who sees which audit trail: a department lead sees the trail of their department's
 * workflows without asking anyone, and not another department's, however the query is
 * narrowed (by workflow, by proposal, by type); an admin sees everything.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

/** The harness config plus a finance workflow (Fay leads finance; Dana leads sales). */
const config = (): string => harnessConfig({
  extraWorkflowYaml: `
  finance-review:
    description: Review leads for credit checks
    agent: other-agent
    department: finance
    owner: tom
    runbook: Review them by hand.
    grants: [crm:leads:read]`,
});

interface EventView { workflow?: string; proposalId?: string; type: string }

async function trailAs(h: Harness, who: 'dana' | 'fay' | 'ada', query = ''): Promise<EventView[]> {
  const res = await h.request(who, { method: 'GET', url: `/v1/audit?limit=1000${query}` });
  expect(res.statusCode).toBe(200);
  return (res.json() as { events: EventView[] }).events;
}

describe('GET /v1/audit is scoped to the person\'s departments', () => {
  it('shows a lead their department\'s workflow events and none of another department\'s', async () => {
    harness = await openHarness({ configYaml: config() });
    const sales = (await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } })).json().id as string;
    const finance = (await proposeAs(harness, 'other', { workflow: 'finance-review', action: 'crm.leads.read', params: { ids: [1] } })).json().id as string;

    const fay = await trailAs(harness, 'fay');
    expect(fay.filter((e) => e.proposalId === finance).map((e) => e.type)).toEqual(['proposal.received', 'proposal.decided', 'execution.started', 'execution.succeeded']);
    expect(fay.every((e) => e.workflow === 'finance-review')).toBe(true);

    const dana = await trailAs(harness, 'dana');
    expect(dana.filter((e) => e.proposalId === sales).map((e) => e.type)).toEqual(['proposal.received', 'proposal.decided']);
    expect(dana.every((e) => e.workflow === 'route-leads')).toBe(true);

    // Narrowing the query to the other department's workflow or proposal shows nothing.
    expect(await trailAs(harness, 'fay', '&workflow=route-leads')).toEqual([]);
    expect(await trailAs(harness, 'fay', `&proposalId=${sales}`)).toEqual([]);
    expect(await trailAs(harness, 'fay', '&type=proposal.received')).toEqual([expect.objectContaining({ proposalId: finance })]);
    expect(await trailAs(harness, 'dana', `&proposalId=${finance}`)).toEqual([]);

    // An admin sees both departments' events.
    const ada = await trailAs(harness, 'ada');
    expect(new Set(ada.map((e) => e.proposalId).filter((id) => id !== undefined))).toEqual(new Set([sales, finance]));
  });

  it('refuses the trail to agents and to callers without a token', async () => {
    harness = await openHarness({ configYaml: config() });
    expect((await harness.request('agent', { method: 'GET', url: '/v1/audit' })).statusCode).toBe(403);
    expect((await harness.request(undefined, { method: 'GET', url: '/v1/audit' })).statusCode).toBe(401);
  });
});
