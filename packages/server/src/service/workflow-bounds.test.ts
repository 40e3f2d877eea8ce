/**
 * A workflow's action bounds, end to end: at most `maxActionsPerRun` actions in one run and
 * `maxActionsPerHour` in any hour, counted from the store by the gateway (denied proposals do
 * not count), over the agent's HTTP API with the fake clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

/** The harness's workflow with at most 2 actions per run and 4 per hour. */
const boundedConfig = (): string => harnessConfig().replace(
  '      maxRecordsPerAction: 3\n',
  '      maxRecordsPerAction: 3\n      maxActionsPerRun: 2\n      maxActionsPerHour: 4\n',
);

const read = (id: number, runId?: string) => ({ workflow: 'route-leads', action: 'crm.leads.read', params: { ids: [id] }, ...(runId === undefined ? {} : { runId }) });

async function startRun(h: Harness): Promise<string> {
  const res = await h.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } });
  expect(res.statusCode).toBe(201);
  return (res.json() as { runId: string }).runId;
}

/** Proposes and returns the status, the denial code and the reasons. */
async function outcome(h: Harness, body: ReturnType<typeof read>): Promise<{ status: string; code?: string; reasons: string }> {
  const res = await proposeAs(h, 'agent', body);
  expect(res.statusCode).toBe(200);
  const json = res.json() as { status: string; decision: { code?: string; reasons: string[] } };
  return { status: json.status, ...(json.decision.code === undefined ? {} : { code: json.decision.code }), reasons: json.decision.reasons.join(' ') };
}

describe('workflow bounds: actions per run and per hour', () => {
  it('denies the action that would exceed its run, and the one that would exceed the hour, until the hour has passed', async () => {
    const configYaml = boundedConfig();
    expect(configYaml).toContain('maxActionsPerRun: 2');
    harness = await openHarness({ configYaml });
    expect(harness.gateway.config.workflows.get('route-leads')?.bounds).toMatchObject({ maxActionsPerRun: 2, maxActionsPerHour: 4 });

    const a = await startRun(harness);
    expect((await outcome(harness, read(1, a))).status).toBe('succeeded');
    expect((await outcome(harness, read(2, a))).status).toBe('succeeded');
    const thirdInRun = await outcome(harness, read(3, a));
    expect(thirdInRun).toMatchObject({ status: 'denied', code: 'BOUND_EXCEEDED' });
    expect(thirdInRun.reasons).toMatch(/this run already has 2 actions; .* at most 2 per run/);

    // Outside any run only the hour counts: 3 actions in it so far (the denied one is not counted).
    expect((await outcome(harness, read(4))).status).toBe('succeeded');
    // A new run has its own count; the fourth action of the hour is allowed, the fifth is not.
    const b = await startRun(harness);
    expect((await outcome(harness, read(1, b))).status).toBe('succeeded');
    const fifthInHour = await outcome(harness, read(2, b));
    expect(fifthInHour).toMatchObject({ status: 'denied', code: 'BOUND_EXCEEDED' });
    expect(fifthInHour.reasons).toMatch(/already has 4 actions in the last hour; it allows at most 4/);

    // An hour later the hour is empty again; run b has 1 action (its denied one is not counted), so one more fits.
    harness.clock.advance(60 * 60_000 + 1);
    expect((await outcome(harness, read(2, b))).status).toBe('succeeded');
    const thirdInB = await outcome(harness, read(3, b));
    expect(thirdInB).toMatchObject({ status: 'denied', code: 'BOUND_EXCEEDED' });
    expect(thirdInB.reasons).toMatch(/per run/);

    // Each denial is audited as the policy's decision, and nothing denied was executed.
    const trail = await auditTrail(harness);
    const denied = trail.filter((e) => e.type === 'proposal.decided' && e.data.code === 'BOUND_EXCEEDED').map((e) => e.proposalId);
    expect(denied).toHaveLength(3);
    expect(trail.filter((e) => e.type === 'execution.started' && denied.includes(e.proposalId))).toEqual([]);
  });

  it('counts proposals waiting for approval as actions of the run', async () => {
    harness = await openHarness({ configYaml: boundedConfig() });
    const run = await startRun(harness);
    const route = (id: number) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: 'rep-kenji' } }, runId: run });
    expect((await proposeAs(harness, 'agent', route(1))).json().status).toBe('pending_approval');
    expect((await proposeAs(harness, 'agent', route(2))).json().status).toBe('pending_approval');
    expect((await proposeAs(harness, 'agent', route(3))).json()).toMatchObject({ status: 'denied', decision: { code: 'BOUND_EXCEEDED' } });
  });
});
