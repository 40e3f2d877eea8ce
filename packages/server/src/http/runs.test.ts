/**
 * Pre-flight checks over HTTP and the rule "a workflow run does not start while one of its
 * systems fails its check", against the real SQLite CRM of the harness.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connector } from '../connectors/connector.js';
import { checkSystems, formatCheckTable } from '../service/preflight.js';
import { auditTrail, openHarness, proposeAs, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = (runId?: string) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-kenji' } }, ...(runId === undefined ? {} : { runId }) });

/** Breaks the CRM as an outage would: its table disappears. */
function breakCrm(h: Harness): void {
  const db = new Database(h.crmPath);
  db.exec('ALTER TABLE leads RENAME TO leads_moved');
  db.close();
}

describe('GET /v1/systems/check', () => {
  it('reports every system to a person, and refuses agents', async () => {
    harness = await openHarness();
    const res = await harness.request('ada', { method: 'GET', url: '/v1/systems/check' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, systems: [{ system: 'crm', kind: 'sql', ok: true, detail: '1 table(s) readable' }] });
    expect((await harness.request('agent', { method: 'GET', url: '/v1/systems/check' })).statusCode).toBe(403);
    expect((await harness.request(undefined, { method: 'GET', url: '/v1/systems/check' })).statusCode).toBe(401);
    // Fay's department has no workflow reaching the CRM: she sees no systems.
    expect((await harness.request('fay', { method: 'GET', url: '/v1/systems/check' })).json()).toEqual({ ok: true, systems: [] });
    breakCrm(harness);
    const broken = (await harness.request('dana', { method: 'GET', url: '/v1/systems/check' })).json();
    expect(broken).toMatchObject({ ok: false, systems: [{ system: 'crm', ok: false, detail: expect.stringContaining('no such table: leads') }] });
  });
});

describe('POST /v1/runs', () => {
  it('starts a run when the systems pass, audits it, and accepts proposals that carry its runId', async () => {
    harness = await openHarness();
    const res = await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } });
    expect(res.statusCode).toBe(201);
    const { runId, checks } = res.json() as { runId: string; checks: unknown[] };
    expect(runId).toMatch(/^run_/);
    expect(checks).toMatchObject([{ system: 'crm', ok: true }]);
    const proposal = await proposeAs(harness, 'agent', route(runId));
    expect(proposal.statusCode).toBe(200);
    expect(proposal.json()).toMatchObject({ status: 'pending_approval', runId });
    const started = (await auditTrail(harness)).find((e) => e.type === 'run.started');
    expect(started).toMatchObject({ workflow: 'route-leads', actor: { kind: 'agent', id: 'lead-router' }, data: { runId } });
    // A person who sees the workflow may start a run too; proposals without a runId are unaffected.
    expect((await harness.request('dana', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).statusCode).toBe(201);
    expect((await proposeAs(harness, 'agent', route())).statusCode).toBe(200);
  });

  it('does not start while a system fails its check: 503 naming the system, audited as run.refused', async () => {
    harness = await openHarness();
    breakCrm(harness);
    const res = await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('SYSTEM_CHECK_FAILED');
    expect(res.json().error.message).toMatch(/^workflow "route-leads" cannot start a run: system "crm" \(sql\) fails its check: .*no such table: leads.*\. Fix the system \(`portcullis check` shows every system\) and start the run again$/);
    expect(res.json().error.details.failing).toMatchObject([{ system: 'crm', kind: 'sql' }]);
    const trail = await auditTrail(harness);
    expect(trail.filter((e) => e.type.startsWith('run.')).map((e) => e.type)).toEqual(['run.refused']);
  });

  it('refuses a proposal whose runId was not started, or was started for another workflow (409, audited)', async () => {
    harness = await openHarness();
    const unknown = await proposeAs(harness, 'agent', route('run_made_up'));
    expect(unknown.statusCode).toBe(409);
    expect(unknown.json().error).toMatchObject({ code: 'RUN_NOT_STARTED' });
    expect(unknown.json().error.message).toBe('runId "run_made_up" was not started: start a run with POST /v1/runs {"workflow": "route-leads"} (it checks the workflow\'s systems first) and send the runId it returns, or leave runId out');
    await harness.gateway.store.insertRun({ id: 'run_other', workflow: 'another', startedBy: 'person:ada', startedAt: 0, checks: [] }, []);
    const other = await proposeAs(harness, 'agent', route('run_other'));
    expect(other.json().error.message).toBe('runId "run_other" is a run of workflow "another", not "route-leads"; start a run for "route-leads" with POST /v1/runs');
    expect(await harness.gateway.store.listProposals({})).toEqual([]);
    const invalid = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid');
    expect(invalid.map((e) => e.data.code)).toEqual(['RUN_NOT_STARTED', 'RUN_NOT_STARTED']);
  });

  it('refuses callers outside the workflow', async () => {
    harness = await openHarness();
    expect((await harness.request('other', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).statusCode).toBe(403);
    expect((await harness.request('fay', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).statusCode).toBe(404);
    expect((await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'nope' } })).json().error.code).toBe('WORKFLOW_NOT_FOUND');
    expect((await harness.request(undefined, { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).statusCode).toBe(401);
  });
});

describe('checkSystems', () => {
  const connector = (check: Connector['check']): Connector => ({
    system: 'x', check, close: async () => {}, precheck: async () => [], execute: async () => ({ result: null }),
  });
  const systems = { systems: new Map([['a', { kind: 'http' }], ['b', { kind: 'mcp' }], ['c', { kind: 'smtp' }], ['d', { kind: 'sql' }]]) } as never;

  it('bounds each check in time and turns throws, hangs and missing connectors into failures', async () => {
    const connectors = new Map<string, Connector>([
      ['a', connector(async () => ({ ok: true, detail: 'token obtained' }))],
      ['b', connector(() => new Promise(() => {}))],
      ['c', connector(async () => { throw new Error('connection refused'); })],
    ]);
    const checks = await checkSystems(systems, connectors, undefined, 50);
    expect(checks.map((c) => [c.system, c.kind, c.ok, c.detail])).toEqual([
      ['a', 'http', true, 'token obtained'],
      ['b', 'mcp', false, 'no answer within 50 ms'],
      ['c', 'smtp', false, 'connection refused'],
      ['d', 'sql', false, 'no connector: the system is configured but not connected'],
    ]);
    const table = formatCheckTable(checks).split('\n');
    expect(table[0]).toMatch(/^SYSTEM\s+KIND\s+STATUS\s+TIME\s+DETAIL$/);
    expect(table[2]).toMatch(/^b\s+mcp\s+FAILED\s+\d+ ms\s+no answer within 50 ms$/);
  });
});
