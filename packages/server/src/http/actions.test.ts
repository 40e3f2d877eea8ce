/**
 * The agent's API against a real SQLite store and CRM: SPEC rules 1 (approval-first),
 * 2 (high risk stays gated), 4 (least privilege), idempotency and bad input.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = (id: number, owner = 'rep-kenji') => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: owner } }, reason: 'region match' });

describe('rule 1: approval-first', () => {
  it('runs a read at once and logs it, but holds a write for approval and leaves the CRM unchanged', async () => {
    harness = await openHarness();
    const read = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: {} });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ status: 'succeeded', decision: { outcome: 'allow' } });
    expect((read.json().result as { rows: unknown[] }).rows).toHaveLength(5); // only the leads inside the 24-hour scope
    const trail = await auditTrail(harness);
    expect(trail.filter((e) => e.proposalId === read.json().id).map((e) => e.type)).toEqual(['proposal.received', 'proposal.decided', 'execution.started', 'execution.succeeded']);

    const write = await proposeAs(harness, 'agent', route(1));
    expect(write.json()).toMatchObject({ status: 'pending_approval', decision: { outcome: 'needs_approval', risk: 'write' } });
    expect(write.json().decision.reasons.join(' ')).toMatch(/approval-first/);
    expect(readLead(harness, 1)?.owner_id).toBeNull();
  });

  it('executes a write once a department lead approves it', async () => {
    harness = await openHarness();
    const { id } = (await proposeAs(harness, 'agent', route(1))).json();
    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'succeeded', approval: { decision: 'approved', by: 'dana' } });
    expect(readLead(harness, 1)?.owner_id).toBe('rep-kenji');
    const stored = await harness.gateway.store.getProposal(id);
    expect(stored?.undo).toEqual({ kind: 'sql.update', table: 'leads', primaryKey: 'id', before: [{ id: 1, owner_id: null }] });
  });
});

describe('rule 2: high risk stays gated', () => {
  it('holds a delete for approval even when the workflow runs writes automatically', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
    const write = await proposeAs(harness, 'agent', route(1));
    expect(write.json().status).toBe('succeeded'); // writes are automated here...
    const del = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.delete', params: { ids: [5] } });
    expect(del.json()).toMatchObject({ status: 'pending_approval', decision: { outcome: 'needs_approval', risk: 'high' } }); // ...deletes are not
    expect(readLead(harness, 5)).toBeDefined();
  });
});

describe('rule 4: least privilege', () => {
  it('denies a write that touches a field outside the grant, whole, and logs the denial', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
    const res = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara', status: 'qualified' } } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'denied', decision: { outcome: 'deny', code: 'FIELDS_OUTSIDE_GRANT' } });
    expect(res.json().decision.reasons[0]).toContain('leads.status');
    const lead = readLead(harness, 1);
    expect(lead).toMatchObject({ owner_id: null, status: 'new' }); // not trimmed: owner_id was not written either
    const decided = (await auditTrail(harness)).find((e) => e.type === 'proposal.decided' && e.proposalId === res.json().id);
    expect(decided?.data).toMatchObject({ outcome: 'deny', code: 'FIELDS_OUTSIDE_GRANT' });
  });

  it('denies a read that filters on a field outside its read grant: a filter would tell the field\'s values', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ extraWorkflowYaml: `
  look-up:
    description: Look up leads by region
    agent: other-agent
    department: finance
    owner: tom
    runbook: Look them up by hand.
    mode: { read: auto, write: approval, high: approval }
    grants: [crm:leads.name:read, crm:leads.region:read]
    approvalTimeout: 1h
` }) });
    const email = (readLead(harness, 1) as { email: string }).email;
    const probe = await proposeAs(harness, 'other', { workflow: 'look-up', action: 'crm.leads.read', params: { columns: ['name'], where: { email } } });
    expect(probe.json()).toMatchObject({ status: 'denied', decision: { outcome: 'deny', code: 'FIELDS_OUTSIDE_GRANT' } });
    expect(probe.json().decision.reasons[0]).toContain('leads.email');
    expect(probe.json().result).toBeUndefined();
    const granted = await proposeAs(harness, 'other', { workflow: 'look-up', action: 'crm.leads.read', params: { columns: ['name'], where: { region: (readLead(harness, 1) as { region: string }).region } } });
    expect(granted.json()).toMatchObject({ status: 'succeeded' });
  });

  it('denies an action with no grant at all (deny by default)', async () => {
    harness = await openHarness();
    const res = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.create', params: { values: { name: 'X', email: 'x@x', region: 'na', created_at: new Date(harness.clock.now()).toISOString() } } });
    expect(res.json()).toMatchObject({ status: 'denied', decision: { code: 'GRANT_DENIED' } });
  });

  it('denies a create or an update that writes the scope\'s field outside the data scope, before anyone is asked', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ extraWorkflowYaml: `
  intake:
    description: Take in new leads
    agent: other-agent
    department: finance
    owner: tom
    runbook: Enter them by hand.
    mode: { read: auto, write: approval, high: approval }
    grants: [crm:leads:create, crm:leads.created_at:update]
    bounds:
      scope: { "crm:leads": { field: created_at, within: 24h } }
    approvalTimeout: 1h
` }) });
    const now = harness.clock.now();
    const values = (createdAt: string) => ({ name: 'X', email: 'x@example.com', region: 'na', created_at: createdAt });
    const old = await proposeAs(harness, 'other', { workflow: 'intake', action: 'crm.leads.create', params: { values: values('2001-01-01T00:00:00.000Z') } });
    expect(old.json()).toMatchObject({ status: 'denied', decision: { code: 'OUTSIDE_SCOPE' } });
    expect(old.json().decision.reasons[0]).toBe('the leads.created_at written ("2001-01-01T00:00:00.000Z") is outside the workflow\'s data scope (created_at within the last 24h)');
    const future = await proposeAs(harness, 'other', { workflow: 'intake', action: 'crm.leads.update', params: { ids: [1], set: { created_at: '2099-01-01T00:00:00.000Z' } } });
    expect(future.json()).toMatchObject({ status: 'denied', decision: { code: 'OUTSIDE_SCOPE' } });
    expect(future.json().decision.reasons[0]).toContain('the leads.created_at written ("2099-01-01T00:00:00.000Z") is outside');
    const fresh = await proposeAs(harness, 'other', { workflow: 'intake', action: 'crm.leads.create', params: { values: values(new Date(now).toISOString()) } });
    expect(fresh.json()).toMatchObject({ status: 'pending_approval' });
  });

  it('denies a write to a record outside the data scope before anyone is asked', async () => {
    harness = await openHarness();
    const res = await proposeAs(harness, 'agent', route(6));
    expect(res.json()).toMatchObject({ status: 'denied', decision: { code: 'OUTSIDE_SCOPE' } });
    expect(res.json().decision.reasons[0]).toMatch(/leads record 6 does not exist or is outside .*created_at within the last 24h/);
  });

  it('answers 502 UPSTREAM_FAILED, not 500, when the table lost a column while the gateway runs', async () => {
    harness = await openHarness();
    const crm = new Database(harness.crmPath);
    crm.exec('ALTER TABLE leads DROP COLUMN created_at');
    crm.close();
    const res = await proposeAs(harness, 'agent', route(1));
    expect(res.statusCode).toBe(502);
    expect(res.json().error).toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringMatching(/system "crm" failed while checking the records: no such column: .*created_at.*; nothing was changed/) });
  });

  it('denies more records than the bound allows', async () => {
    harness = await openHarness();
    const res = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1, 2, 3, 4], set: { owner_id: 'x' } } });
    expect(res.json()).toMatchObject({ status: 'denied', decision: { code: 'BOUND_EXCEEDED' } });
    // A read that names records by id is bound the same way.
    const read = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: { ids: [1, 2, 3, 4] } });
    expect(read.json()).toMatchObject({ status: 'denied', decision: { code: 'BOUND_EXCEEDED' } });
    expect(read.json().result).toBeUndefined();
  });

  it('denies an agent acting in a workflow that is not its own', async () => {
    harness = await openHarness();
    const res = await proposeAs(harness, 'other', route(1));
    expect(res.json()).toMatchObject({ status: 'denied', decision: { code: 'AGENT_NOT_IN_WORKFLOW' } });
  });
});

describe('idempotency', () => {
  it('returns the same proposal for the same key and never executes twice', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
    const first = await proposeAs(harness, 'agent', route(2, 'rep-jordan'), 'key-1');
    const again = await proposeAs(harness, 'agent', route(2, 'rep-jordan'), 'key-1');
    expect(again.json().id).toBe(first.json().id);
    expect(again.json().status).toBe('succeeded');
    const started = (await auditTrail(harness)).filter((e) => e.type === 'execution.started' && e.proposalId === first.json().id);
    expect(started).toHaveLength(1);
  });

  it('refuses a reused key with different content', async () => {
    harness = await openHarness();
    await proposeAs(harness, 'agent', route(2, 'rep-jordan'), 'key-2');
    const other = await proposeAs(harness, 'agent', route(2, 'rep-amara'), 'key-2');
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('IDEMPOTENCY_CONFLICT');
  });
});

describe('bad input: a clear 4xx naming the problem, nothing executed, the attempt audited', () => {
  const cases: Array<[string, (h: Harness) => ReturnType<Harness['request']>, number, string, RegExp]> = [
    ['malformed JSON', (h) => h.request('agent', { method: 'POST', url: '/v1/actions', headers: { 'content-type': 'application/json' }, payload: '{"workflow": "route-leads",' }), 400, 'INVALID_JSON', /not valid JSON/],
    ['an unknown workflow', (h) => proposeAs(h, 'agent', { ...route(1), workflow: 'nope' }), 404, 'WORKFLOW_NOT_FOUND', /unknown workflow "nope".*route-leads/],
    ['an unknown action', (h) => proposeAs(h, 'agent', { ...route(1), action: 'crm.leads.explode' }), 404, 'ACTION_NOT_FOUND', /unknown action "crm.leads.explode"/],
    ['params failing the schema', (h) => proposeAs(h, 'agent', { ...route(1), params: { ids: 'one', set: { owner_id: 'x' } } }), 422, 'INVALID_PARAMS', /params\.ids/],
    ['an unknown column', (h) => proposeAs(h, 'agent', { ...route(1), params: { ids: [1], set: { colour: 'red' } } }), 422, 'INVALID_PARAMS', /params\.set: unknown field\(s\) "colour"/],
    ['a missing field', (h) => proposeAs(h, 'agent', { workflow: 'route-leads', params: {} }), 400, 'INVALID_REQUEST', /body\.action/],
    ['an oversized body', (h) => proposeAs(h, 'agent', { ...route(1), reason: 'x'.repeat(300_000) }), 413, 'BODY_TOO_LARGE', /larger than/],
    ['params above limits.paramsBytes', (h) => proposeAs(h, 'agent', { ...route(1), params: { ids: [1], set: { owner_id: 'x'.repeat(70_000) } } }), 413, 'PARAMS_TOO_LARGE', /params of 70[0-9]+ bytes \(as JSON\) are larger than the 65536 bytes this gateway accepts \(limits.paramsBytes\)/],
    ['params nested 8,000 levels deep', (h) => h.request('agent', {
      method: 'POST', url: '/v1/actions', headers: { 'content-type': 'application/json' },
      payload: `{"workflow":"route-leads","action":"crm.leads.update","params":{"ids":[1],"set":{"owner_id":${'['.repeat(8000)}${']'.repeat(8000)}}}}`,
    }), 422, 'INVALID_PARAMS', /params nest objects or arrays more than 100 levels deep/],
  ];
  for (const [name, send, status, code, message] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
      const res = await send(harness);
      expect(res.statusCode).toBe(status);
      expect(res.json().error.code).toBe(code);
      expect(res.json().error.message).toMatch(message);
      expect(readLead(harness, 1)?.owner_id).toBeNull();
      const trail = await auditTrail(harness);
      expect(trail.filter((e) => e.type === 'execution.started')).toHaveLength(0);
      expect(trail.filter((e) => e.type === 'request.invalid' && e.actor.id === 'lead-router').map((e) => e.data.code)).toEqual([code]);
    });
  }

  it('refuses a bad key or none with 401, and an agent on a person\'s route with 403', async () => {
    harness = await openHarness();
    const bad = await harness.gateway.app.inject({ method: 'POST', url: '/v1/actions', headers: { authorization: 'Bearer wrong' }, payload: route(1) });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['www-authenticate']).toBe('Bearer realm="portcullis"');
    expect(bad.json().error.message).toMatch(/matches no agent or person/);
    const none = await harness.gateway.app.inject({ method: 'POST', url: '/v1/actions', payload: route(1) });
    expect(none.statusCode).toBe(401);
    const { id } = (await proposeAs(harness, 'agent', route(1))).json();
    const self = await harness.request('agent', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: {} });
    expect(self.statusCode).toBe(403);
    expect(readLead(harness, 1)?.owner_id).toBeNull();
  });
});
