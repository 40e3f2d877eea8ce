/**
 * Pre-flight checks over HTTP and the rule "a workflow run does not start while one of its
 * systems fails its check", against the real SQLite CRM of the harness, a real REST API
 * (json-server) behind an HTTP system, and real MCP servers from npm behind MCP systems.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Connector } from '../connectors/connector.js';
import { checkSystems, formatCheckTable } from '../service/preflight.js';
import { auditTrail, openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { crmApiConfig, startJsonServer, type JsonServer } from '../testing/json-server.js';
import { mcpConfig, startEverythingOverHttp } from '../testing/mcp-servers.js';

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
    expect(res.json()).toMatchObject({ ok: true, systems: [{ system: 'crm', kind: 'sql', ok: true, detail: '1 table(s) readable, each keyed by a unique column' }] });
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

/** A run of `workflow` as its agent: the status, the error code and message, the failing systems, the checks. */
async function startRunAs(h: Harness, workflow: string) {
  const res = await h.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow } });
  const body = res.json() as { checks?: { system: string; kind: string; ok: boolean; detail: string }[]; error?: { code: string; message: string; details: { failing: unknown[] } } };
  return { status: res.statusCode, checks: body.checks, code: body.error?.code, message: body.error?.message, failing: body.error?.details.failing };
}

describe('POST /v1/runs on an HTTP system', () => {
  const TOKEN = `crm_token_${Math.random().toString(36).slice(2)}`;
  let api: JsonServer | undefined;
  afterEach(async () => { await api?.close(); api = undefined; });


  it('starts a run while the API answers the gateway\'s token, and refuses one once it stops answering', async () => {
    api = await startJsonServer({ leads: [] }, { requireToken: TOKEN });
    harness = await openHarness({ configYaml: crmApiConfig(api.url), env: { CRM_API_TOKEN: TOKEN } });
    const started = await startRunAs(harness, 'crm-api');
    expect(started.status).toBe(201);
    expect(started.checks).toEqual([expect.objectContaining({ system: 'api', kind: 'http', ok: true, detail: expect.stringMatching(new RegExp(`^GET ${api.url}/leads answered 200`)) })]);

    await api.close();
    const refused = await startRunAs(harness, 'crm-api');
    expect(refused).toMatchObject({ status: 503, code: 'SYSTEM_CHECK_FAILED', failing: [{ system: 'api', kind: 'http', detail: expect.stringContaining('ECONNREFUSED') }] });
    expect(refused.message).toMatch(new RegExp(`^workflow "crm-api" cannot start a run: system "api" \\(http\\) fails its check: GET ${api.url}/leads failed: connect ECONNREFUSED .*\\. Fix the system`));
    const trail = await auditTrail(harness);
    expect(trail.filter((e) => e.type.startsWith('run.')).map((e) => e.type)).toEqual(['run.started', 'run.refused']);
    expect(JSON.stringify(trail)).not.toContain(TOKEN);
  });

  it('refuses a run when the API refuses the gateway\'s token', async () => {
    api = await startJsonServer({ leads: [] }, { requireToken: TOKEN });
    harness = await openHarness({ configYaml: crmApiConfig(api.url), env: { CRM_API_TOKEN: 'a-revoked-token' } });
    const refused = await startRunAs(harness, 'crm-api');
    expect(refused).toMatchObject({ status: 503, code: 'SYSTEM_CHECK_FAILED', failing: [{ system: 'api', kind: 'http' }] });
    expect(refused.message).toContain(`system "api" (http) fails its check: GET ${api.url}/leads answered 401: the gateway's credentials were refused`);
    // The route-leads workflow does not reach the API: its runs still start.
    expect((await startRunAs(harness, 'route-leads')).status).toBe(201);
  });
});

describe('POST /v1/runs on MCP systems', () => {
  const memDir = mkdtempSync(join(tmpdir(), 'portcullis-runs-memory-'));
  let upstream: { url: string; stop(): Promise<void> } | undefined;
  afterEach(async () => { await upstream?.stop(); upstream = undefined; });

  it('lists each MCP upstream\'s tools before a run starts, and refuses a run once one stops answering', async () => {
    upstream = await startEverythingOverHttp();
    const remote = `  remote:\n    kind: mcp\n    url: ${upstream.url}\n    timeout: 5s`;
    harness = await openHarness({ configYaml: mcpConfig({ extraSystems: remote, extraGrants: ['remote:echo:read'] }), env: { MEM_FILE: join(memDir, 'memory.jsonl') } });
    const started = await startRunAs(harness, 'notes');
    expect(started.status).toBe(201);
    expect(started.checks?.map((c) => [c.system, c.kind, c.ok])).toEqual([['everything', 'mcp', true], ['memory', 'mcp', true], ['remote', 'mcp', true]]);
    expect(started.checks?.find((c) => c.system === 'remote')?.detail).toMatch(new RegExp(`^${upstream.url} lists \\d+ usable tool\\(s\\)`));

    await upstream.stop();
    const refused = await startRunAs(harness, 'notes');
    expect(refused).toMatchObject({ status: 503, code: 'SYSTEM_CHECK_FAILED', failing: [{ system: 'remote', kind: 'mcp' }] });
    expect(refused.message).toMatch(/^workflow "notes" cannot start a run: system "remote" \(mcp\) fails its check: MCP system "remote" failed while listing its tools: .+\. Fix the system/);
    // The tidy workflow reaches only the memory server: its runs still start.
    expect((await harness.request('other', { method: 'POST', url: '/v1/runs', payload: { workflow: 'tidy' } })).statusCode).toBe(201);
    const refusedEvent = (await auditTrail(harness)).find((e) => e.type === 'run.refused');
    expect(refusedEvent).toMatchObject({ workflow: 'notes', data: { checks: expect.arrayContaining([expect.objectContaining({ system: 'remote', ok: false })]) } });
  });

  it('refuses a run of a workflow whose stdio MCP upstream exits at launch, with what it said', async () => {
    const broken = `  broken:\n    kind: mcp\n    command: ${JSON.stringify(process.execPath)}\n    args: ["-e", "console.error('the tickets database is unreachable'); process.exit(3)"]\n    timeout: 5s`;
    harness = await openHarness({ configYaml: mcpConfig({ extraSystems: broken, extraGrants: ['broken:list_tickets:read'] }), env: { MEM_FILE: join(memDir, 'memory.jsonl') } });
    expect(harness.gateway.warnings.join('\n')).toContain('MCP system "broken"');
    const refused = await startRunAs(harness, 'notes');
    expect(refused).toMatchObject({ status: 503, code: 'SYSTEM_CHECK_FAILED', failing: [{ system: 'broken', kind: 'mcp' }] });
    expect(refused.message).toMatch(/system "broken" \(mcp\) fails its check: MCP system "broken" failed while connecting: it stopped or could not be reached .*its last output on stderr: the tickets database is unreachable/);
  });

  afterAll(() => rmSync(memDir, { recursive: true, force: true }));
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
