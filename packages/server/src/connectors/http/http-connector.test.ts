/**
 * The HTTP/OpenAPI connector through the real gateway, against a real REST server process
 * (json-server from npm) described by fixtures/leads-openapi.yaml: reads run at once, writes
 * wait for a person and keep a before-image that restores the record, a write outside the
 * field grant is denied whole, deletes are high risk, no path parameter leaves the base URL,
 * and an upstream that is down fails clearly and is audited. The API token never shows.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, proposeAs, type Harness } from '../../testing/harness.js';
import { crmApiConfig, startJsonServer, type JsonServer } from '../../testing/json-server.js';

const API_TOKEN = `crm_token_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

const LEADS = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', company: 'Analytical Engines', owner_id: null, status: 'new' },
  { id: 2, name: 'Grace Hopper', email: 'grace@example.com', company: 'Navy', owner_id: null, status: 'new' },
  { id: 3, name: 'Alan Turing', email: 'alan@example.com', company: 'Bletchley', owner_id: 'rep-jo', status: 'contacted' },
];

let server: JsonServer;
let harness: Harness;
const observed: string[] = [];

const propose = async (action: string, params: unknown) => {
  const res = await proposeAs(harness, 'agent', { workflow: 'crm-api', action, params, reason: 'routing the new leads' });
  observed.push(res.payload);
  return res;
};
const approve = async (id: string) => {
  const res = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'looks right' } });
  observed.push(res.payload);
  return res;
};

describe('an HTTP system in front of json-server', () => {
  beforeEach(async () => {
    server = await startJsonServer({ leads: LEADS }, { requireToken: API_TOKEN });
    harness = await openHarness({ configYaml: crmApiConfig(server.url), env: { CRM_API_TOKEN: API_TOKEN } });
  });
  afterEach(async () => {
    observed.push(JSON.stringify(await auditTrail(harness)));
    await harness.close();
    await server.close();
  });
  afterAll(() => {
    // The token the gateway sends upstream is never in an API response or the audit trail.
    expect(observed.length).toBeGreaterThan(0);
    for (const text of observed) expect(text).not.toContain(API_TOKEN);
  });

  it('offers one action per operation, with the risk its method implies', async () => {
    const res = await harness.request('agent', { method: 'GET', url: '/v1/workflows' });
    const actions = res.json().workflows.find((w: { id: string }) => w.id === 'crm-api').actions as { name: string; risk: string; reversible: boolean }[];
    const api = Object.fromEntries(actions.filter((a) => a.name.startsWith('api.')).map((a) => [a.name, [a.risk, a.reversible]]));
    expect(api).toEqual({
      'api.listLeads': ['read', true], 'api.createLead': ['write', false], 'api.getLead': ['read', true],
      'api.replaceLead': ['write', true], 'api.updateLead': ['write', true], 'api.deleteLead': ['high', true],
    });
  });

  it('runs a GET at once and returns what the system answered', async () => {
    const one = await propose('api.getLead', { path: { id: '2' } });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ status: 'succeeded', decision: { outcome: 'allow', risk: 'read' }, result: { status: 200, body: LEADS[1] } });
    const list = await propose('api.listLeads', { query: { status: 'new', _limit: 1 } });
    expect(list.json().result.body).toEqual([LEADS[0]]);
    expect(server.output()).toMatch(/GET \/leads\/2 /);
  });

  it('holds a PATCH of owner_id for approval, runs it once approved, and keeps a before-image that restores the record', async () => {
    const proposed = await propose('api.updateLead', { path: { id: '1' }, body: { owner_id: 'rep-kenji' } });
    expect(proposed.json()).toMatchObject({ status: 'pending_approval', decision: { risk: 'write' }, reversible: true });
    expect((await server.get('/leads/1')).body).toEqual(LEADS[0]);

    const done = await approve(proposed.json().id);
    expect(done.json()).toMatchObject({ status: 'succeeded', result: { status: 200, body: { ...LEADS[0], owner_id: 'rep-kenji' } } });
    expect((await server.get('/leads/1')).body).toEqual({ ...LEADS[0], owner_id: 'rep-kenji' });

    const stored = await harness.gateway.store.getProposal(proposed.json().id);
    expect(stored?.undo).toEqual({
      kind: 'http.restore', system: 'api', action: 'api.updateLead', request: { method: 'PATCH', path: '/leads/1' },
      before: LEADS[0], restore: { method: 'PATCH', path: '/leads/1', body: { owner_id: null } },
    });
    // The undo data is enough to put the record back.
    const restore = stored?.undo as { restore: { method: string; path: string; body: unknown } };
    await fetch(`${server.url}${restore.restore.path}`, { method: restore.restore.method, headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` }, body: JSON.stringify(restore.restore.body) });
    expect((await server.get('/leads/1')).body).toEqual(LEADS[0]);
  });

  it('denies a PATCH that touches a field outside the grant, whole: nothing is trimmed and the record is unchanged', async () => {
    const res = await propose('api.updateLead', { path: { id: '2' }, body: { owner_id: 'rep-kenji', status: 'qualified' } });
    expect(res.json()).toMatchObject({ status: 'denied', decision: { code: 'FIELDS_OUTSIDE_GRANT' } });
    expect(res.json().decision.reasons.join(' ')).toMatch(/leads\.status is outside the grants of workflow "crm-api"; the whole proposal is denied, nothing is trimmed/);
    expect((await server.get('/leads/2')).body).toEqual(LEADS[1]);
    // A PUT replaces every field, so a field-level grant never covers it.
    const put = await propose('api.replaceLead', { path: { id: '2' }, body: { name: 'Grace Hopper', email: 'grace@example.com', owner_id: 'rep-kenji' } });
    expect(put.json()).toMatchObject({ status: 'denied', decision: { code: 'FIELDS_OUTSIDE_GRANT' } });
    const decided = (await auditTrail(harness)).filter((e) => e.type === 'proposal.decided' && (e.data as { outcome?: string }).outcome === 'deny');
    expect(decided).toHaveLength(2);
  });

  it('treats a DELETE as high risk even where writes run unattended, and keeps the deleted record to recreate it', async () => {
    await harness.close();
    harness = await openHarness({ configYaml: crmApiConfig(server.url, 'mode: { read: auto, write: auto, high: approval }'), env: { CRM_API_TOKEN: API_TOKEN } });
    const patch = await propose('api.updateLead', { path: { id: '3' }, body: { owner_id: 'rep-kenji' } });
    expect(patch.json().status).toBe('succeeded');
    const res = await propose('api.deleteLead', { path: { id: '3' } });
    expect(res.json()).toMatchObject({ status: 'pending_approval', decision: { outcome: 'needs_approval', risk: 'high' } });
    expect(res.json().decision.reasons.join(' ')).toMatch(/deletes data; high-risk actions always need a person's approval/);
    expect((await server.get('/leads/3')).status).toBe(200);

    expect((await approve(res.json().id)).json().status).toBe('succeeded');
    expect((await server.get('/leads/3')).status).toBe(404);
    const undo = (await harness.gateway.store.getProposal(res.json().id))?.undo;
    expect(undo).toMatchObject({ before: { ...LEADS[2], owner_id: 'rep-kenji' }, restore: { method: 'POST', path: '/leads', body: { ...LEADS[2], owner_id: 'rep-kenji' } } });
  });

  it('denies a write to a record that does not exist before anyone is asked', async () => {
    const res = await propose('api.updateLead', { path: { id: '99' }, body: { owner_id: 'rep-kenji' } });
    expect(res.json()).toMatchObject({ status: 'denied', decision: { reasons: ['leads record /leads/99 does not exist'] } });
  });

  it('refuses a path parameter that would leave the base URL, and sends nothing', async () => {
    for (const id of ['../../db', '..', 'http://evil.example/x', '1?x=1', '%2e%2e']) {
      const res = await propose('api.getLead', { path: { id } });
      expect(res.statusCode, id).toBe(422);
      expect(res.json().error.code).toBe('INVALID_PARAMS');
      expect(res.json().error.message).toMatch(/params\.path\.id: a path parameter must be one path segment/);
    }
    const invalid = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid');
    expect(invalid).toHaveLength(5);
    // json-server logs every request it serves: none reached it.
    expect(server.output()).not.toMatch(/(GET|POST|PUT|PATCH|DELETE) \/leads/);
  });

  it('passes the pre-flight check while the system answers', async () => {
    expect(await harness.gateway.connectors.get('api')?.check()).toMatchObject({ ok: true, detail: expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/leads answered 200; 6 operation\(s\)$/) });
  });

  it('reports a refused credential as UPSTREAM_FAILED with the status, and fails the check, without the token', async () => {
    await harness.close();
    const wrong = `wrong_${API_TOKEN}`;
    harness = await openHarness({ configYaml: crmApiConfig(server.url), env: { CRM_API_TOKEN: wrong } });
    const res = await propose('api.getLead', { path: { id: '1' } });
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_FAILED', message: 'system "api": GET /leads/1 answered 401: { "error": "missing or wrong bearer token" }' } });
    expect(await harness.gateway.connectors.get('api')?.check()).toMatchObject({ ok: false, error: expect.stringMatching(/^system "api": GET http:\/\/127\.0\.0\.1:\d+\/leads answered 401: the gateway's credentials were refused$/) });
    expect(JSON.stringify(await auditTrail(harness))).not.toContain(wrong);
  });

  it('fails the check naming the system and the status when its health path answers an error', async () => {
    await harness.close();
    harness = await openHarness({ configYaml: crmApiConfig(server.url).replace('healthPath: /leads', 'healthPath: /no-such-records'), env: { CRM_API_TOKEN: API_TOKEN } });
    expect(await harness.gateway.connectors.get('api')?.check()).toMatchObject({ ok: false, error: expect.stringMatching(/^system "api": GET http:\/\/127\.0\.0\.1:\d+\/no-such-records answered 404/) });
  });
});

describe('an HTTP system that is down', () => {
  beforeAll(async () => {
    server = await startJsonServer({ leads: LEADS });
    harness = await openHarness({ configYaml: crmApiConfig(server.url), env: { CRM_API_TOKEN: API_TOKEN } });
    await server.close();
  });
  afterAll(async () => harness.close());

  it('fails the action with UPSTREAM_FAILED naming the system and the cause, audited, without the token', async () => {
    const res = await propose('api.getLead', { path: { id: '1' } });
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_FAILED' } });
    expect(res.json().error.message).toMatch(new RegExp(`^system "api": GET ${server.url}/leads/1 failed: .*ECONNREFUSED`));
    const failed = (await auditTrail(harness)).filter((e) => e.type === 'execution.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.data).toMatchObject({ code: 'UPSTREAM_FAILED', message: res.json().error.message });
    expect(JSON.stringify(await auditTrail(harness))).not.toContain(API_TOKEN);
    expect(res.payload).not.toContain(API_TOKEN);
  });

  it('fails the pre-flight check with the same cause', async () => {
    const check = await harness.gateway.connectors.get('api')?.check();
    expect(check).toMatchObject({ ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
  });
});
