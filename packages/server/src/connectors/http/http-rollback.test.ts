/**
 * Rolling back HTTP actions through the real gateway against a real REST server process
 * (json-server from npm, fixtures/leads-openapi.yaml): an update is undone by sending back the
 * before-image its GET read, with the PATCH the document offers; a delete by POSTing the record
 * back; a rollback is refused, with the reason and nothing sent, when the record changed since.
 */
import type { JsonValue } from '@portcullis/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, proposeAs, type Harness } from '../../testing/harness.js';
import { crmApiConfig, startJsonServer, type JsonServer } from '../../testing/json-server.js';

const API_TOKEN = `crm_token_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

const LEADS = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', company: 'Analytical Engines', owner_id: null, status: 'new' },
  { id: 2, name: 'Grace Hopper', email: 'grace@example.com', company: 'Navy', owner_id: 'rep-jo', status: 'contacted' },
];

let server: JsonServer;
let harness: Harness;

async function execute(action: string, params: unknown): Promise<string> {
  const proposed = await proposeAs(harness, 'agent', { workflow: 'crm-api', action, params, reason: 'routing' });
  const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id}/approve`, payload: { reason: 'ok' } });
  expect(approved.json(), approved.payload).toMatchObject({ status: 'succeeded' });
  return proposed.json().id as string;
}
const rollback = (id: string) => harness.request('dana', { method: 'POST', url: `/v1/proposals/${id}/rollback`, payload: { reason: 'wrong rep' } });
/** Changes a record straight on the server, as another client of the API would. */
const patchDirectly = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` }, body: JSON.stringify(body) });

describe('rolling back HTTP actions on json-server', () => {
  beforeEach(async () => {
    server = await startJsonServer({ leads: LEADS }, { requireToken: API_TOKEN });
    harness = await openHarness({ configYaml: crmApiConfig(server.url), env: { CRM_API_TOKEN: API_TOKEN } });
  });
  afterEach(async () => {
    await harness.close();
    await server.close();
  });

  it('says up front how an update is undone, then PATCHes the before-image back', async () => {
    const proposed = await proposeAs(harness, 'agent', { workflow: 'crm-api', action: 'api.updateLead', params: { path: { id: '2' }, body: { owner_id: 'rep-kenji' } } });
    const pending = (await harness.request('dana', { method: 'GET', url: '/v1/approvals' })).json().proposals as { id: string }[];
    expect(pending.find((p) => p.id === proposed.json().id)).toMatchObject({
      reversible: true, undo: 'sends the record as GET /leads/{id} read it before the write back with PATCH /leads/{id}, if the record still holds what the action wrote',
    });
    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id}/approve`, payload: { reason: 'ok' } });
    expect(approved.json().status).toBe('succeeded');
    expect((await server.get('/leads/2')).body).toEqual({ ...LEADS[1], owner_id: 'rep-kenji' });

    const res = await rollback(proposed.json().id);
    expect(res.json()).toEqual({ outcome: 'rolled_back', notAttempted: [], steps: [{ proposalId: proposed.json().id, action: 'api.updateLead', outcome: 'rolled_back', undone: ['/leads/2'], drifted: [] }] });
    expect((await server.get('/leads/2')).body).toEqual(LEADS[1]);
    // The action's PATCH, then the rollback's GET (is it still what the action wrote?) and its PATCH.
    expect(server.output()).toMatch(/PATCH \/leads\/2 [\s\S]*GET \/leads\/2 [\s\S]*PATCH \/leads\/2 /);
    expect((await harness.gateway.store.getProposal(proposed.json().id))?.status).toBe('rolled_back');
    expect(JSON.stringify(await auditTrail(harness))).not.toContain(API_TOKEN);
  });

  it('refuses, naming the change and sending nothing, when the record changed since the action', async () => {
    const id = await execute('api.updateLead', { path: { id: '1' }, body: { owner_id: 'rep-kenji' } });
    expect((await patchDirectly('/leads/1', { owner_id: 'rep-by-hand' })).status).toBe(200);

    const res = await rollback(id);
    expect(res.json()).toEqual({
      outcome: 'none', notAttempted: [],
      steps: [{ proposalId: id, action: 'api.updateLead', outcome: 'drifted', undone: [], drifted: [{ record: '/leads/1', why: 'changed since: owner_id is "rep-by-hand", not the "rep-kenji" the action wrote' }] }],
    });
    expect((await server.get('/leads/1')).body).toEqual({ ...LEADS[0], owner_id: 'rep-by-hand' });
    // json-server logs requests in the order it serves them: once a marker request is logged, every write is.
    await server.get('/leads/1?marker=done');
    await server.waitForOutput('marker=done');
    expect(server.output().match(/(PATCH|PUT|POST) \/leads/g)).toEqual(['PATCH /leads', 'PATCH /leads']);
    expect((await harness.gateway.store.getProposal(id))?.status).toBe('succeeded');
    expect((await auditTrail(harness)).filter((e) => e.type === 'rollback.drifted')).toMatchObject([{ proposalId: id, actor: { kind: 'person', id: 'dana' } }]);

    // A record deleted since is not created again by the PATCH.
    const other = await execute('api.updateLead', { path: { id: '2' }, body: { owner_id: 'rep-kenji' } });
    await fetch(`${server.url}/leads/2`, { method: 'DELETE', headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect((await rollback(other)).json()).toMatchObject({ outcome: 'none', steps: [{ outcome: 'drifted', drifted: [{ record: '/leads/2', why: 'the record no longer exists' }] }] });
    expect((await server.get('/leads/2')).status).toBe(404);
  });

  it('refuses undo data that offers no way back, sending nothing', async () => {
    const spec = harness.gateway.service.config.actions.get('api.updateLead')?.spec;
    const connector = harness.gateway.connectors.get('api');
    if (spec === undefined || connector?.rollback === undefined) throw new Error('no api.updateLead');
    const context = { proposalId: 'prop_x', workflow: 'crm-api', now: harness.clock.now(), maxRecords: 3 };
    const undos: JsonValue[] = [null, { kind: 'sql.update' }, { kind: 'http.restore', before: { id: 1 } }];
    for (const undo of undos) {
      await expect(connector.rollback(spec, { path: { id: '1' }, body: { owner_id: 'x' } }, undo, null, context)).rejects.toMatchObject({ code: 'NOT_REVERSIBLE' });
    }
    await server.get('/leads?marker=end');
    await server.waitForOutput('marker=end');
    expect(server.output()).not.toMatch(/(GET|PATCH) \/leads\/1/);
  });

  it('puts a deleted record back with the POST the document offers, and not over a record created since', async () => {
    const id = await execute('api.deleteLead', { path: { id: '2' } });
    expect((await server.get('/leads/2')).status).toBe(404);
    expect((await rollback(id)).json()).toMatchObject({ outcome: 'rolled_back', steps: [{ undone: ['/leads/2'] }] });
    expect((await server.get('/leads/2')).body).toEqual(LEADS[1]);

    const again = await execute('api.deleteLead', { path: { id: '1' } });
    await fetch(`${server.url}/leads`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` }, body: JSON.stringify({ id: 1, name: 'Someone else' }) });
    const res = await rollback(again);
    expect(res.json()).toMatchObject({ outcome: 'none', steps: [{ outcome: 'drifted', drifted: [{ record: '/leads/1', why: expect.stringMatching(/^the record exists again \(GET \/leads\/1 answered 200\)/) }] }] });
    expect((await server.get('/leads/1')).body).toEqual({ id: 1, name: 'Someone else' });
  });
});
