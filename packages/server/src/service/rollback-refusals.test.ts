/**
 * What a rollback refuses, through the real gateway (HTTP API in-process, real SQLite store and
 * CRM, a real SMTP server process): an irreversible action (naming the manual fallback), a
 * proposal rolled back already, a run with open proposals or nothing left, a caller without the
 * role (an agent's key, a person of another department, a workflow owner who is no approver),
 * no reason. Each refusal is clear, changes nothing, and is audited once.
 */
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';
import { runCli } from '../testing/run-cli.js';
import { formatConfigErrors, parseConfigText } from '../config/load.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { makeProposal } from '../store/store-conformance-fixtures.js';
import { createGatewayService } from './gateway-service.js';
import { startSmtpServer, type SmtpServer } from '../testing/smtp-server.js';

let harness: Harness;
afterEach(async () => harness?.close());

async function execute(action: string, params: unknown, options: { runId?: string; workflow?: string } = {}): Promise<string> {
  const proposed = await proposeAs(harness, 'agent', { workflow: options.workflow ?? 'route-leads', action, params, reason: 'routing', ...(options.runId === undefined ? {} : { runId: options.runId }) });
  expect(proposed.statusCode, proposed.payload).toBe(200);
  if (proposed.json().status === 'succeeded') return proposed.json().id as string;
  const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id}/approve`, payload: { reason: 'ok' } });
  expect(approved.json(), approved.payload).toMatchObject({ status: 'succeeded' });
  return proposed.json().id as string;
}
const update = (ids: number[], owner: string, runId?: string) => execute('crm.leads.update', { ids, set: { owner_id: owner } }, runId === undefined ? {} : { runId });
const rollback = (id: string, who: keyof Harness['secrets'] = 'dana', payload: Record<string, unknown> = { reason: 'wrong rep' }) =>
  harness.request(who, { method: 'POST', url: `/v1/proposals/${id}/rollback`, payload });
const rollbackRun = (runId: string, who: keyof Harness['secrets'] = 'dana') =>
  harness.request(who, { method: 'POST', url: `/v1/runs/${runId}/rollback`, payload: { reason: 'wrong reps' } });

function crmSnapshot(h: Harness): unknown[] {
  const db = new Database(h.crmPath, { readonly: true });
  try {
    return db.prepare('SELECT * FROM leads ORDER BY id').all();
  } finally {
    db.close();
  }
}

/** Expects the refusal, that the CRM and the proposals are as they were, and that it was audited once as `type`. */
async function expectRefused(send: () => Promise<{ statusCode: number; json(): unknown }>, status: number, code: string, message: RegExp, type: 'request.invalid' | 'request.refused') {
  const crm = crmSnapshot(harness);
  const proposals = await harness.gateway.store.listProposals({ limit: 100 });
  const trailBefore = (await auditTrail(harness)).length;
  const res = await send();
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message);
  expect(crmSnapshot(harness)).toEqual(crm);
  expect(await harness.gateway.store.listProposals({ limit: 100 })).toEqual(proposals);
  const added = (await auditTrail(harness)).slice(trailBefore);
  expect(added.map((e) => [e.type, e.data.code])).toEqual([[type, code]]);
  expect(added.some((e) => e.type.startsWith('rollback.'))).toBe(false);
}

describe('rollback refusals', () => {
  it('refuses to roll back twice, and a run with nothing left to roll back', async () => {
    harness = await openHarness();
    const run = (await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).json().runId as string;
    const id = await update([1], 'rep-a', run);
    expect((await rollback(id)).json()).toMatchObject({ outcome: 'rolled_back' });
    await expectRefused(() => rollback(id), 409, 'ILLEGAL_TRANSITION', /is rolled_back \(it was rolled back already; a proposal is rolled back once\); only a succeeded proposal can be rolled back; nothing was changed/, 'request.invalid');
    await expectRefused(() => rollbackRun(run), 409, 'ILLEGAL_TRANSITION', /run .* has no succeeded write left to roll back \(it was rolled back already\)/, 'request.invalid');
    // A proposal that never ran cannot be rolled back either.
    const pending = (await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [2], set: { owner_id: 'x' } } })).json().id as string;
    await expectRefused(() => rollback(pending), 409, 'ILLEGAL_TRANSITION', /is pending_approval; only a succeeded proposal can be rolled back/, 'request.invalid');
  });

  it('refuses a run while one of its proposals is still open, naming it', async () => {
    harness = await openHarness();
    const run = (await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).json().runId as string;
    await update([1], 'rep-a', run);
    const open = (await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [2], set: { owner_id: 'x' } }, runId: run })).json().id as string;
    await expectRefused(() => rollbackRun(run), 409, 'ILLEGAL_TRANSITION', new RegExp(`proposals still open \\(${open} pending_approval\\), which could run after the rollback`), 'request.invalid');
    await expectRefused(() => rollbackRun('run_nope'), 404, 'RUN_NOT_FOUND', /no run has id "run_nope"/, 'request.invalid');
  });

  it('refuses an agent, a person of another department and a workflow owner without the role; the agent\'s owner, a delegate and an admin may', async () => {
    // Fay, lead of Finance, owns the workflow (she sees it) but neither approves for Sales nor owns its agent.
    harness = await openHarness({ configYaml: harnessConfig().replace('    owner: tom\n', '    owner: fay\n') });
    const id = await update([1], 'rep-a');
    await expectRefused(() => rollback(id, 'agent'), 403, 'FORBIDDEN', /agents cannot roll back/, 'request.refused');
    await expectRefused(() => rollback(id, 'fay'), 403, 'FORBIDDEN', /fay may not roll back proposal .*: only a lead or delegate of department "sales" \(dana, dele\), the agent's technical owner \(tom\) or an admin/, 'request.refused');
    await expectRefused(() => rollback(id, 'dana', { reason: '   ' }), 400, 'INVALID_REQUEST', /reason: say why you roll back/, 'request.invalid');
    expect(readLead(harness, 1)?.owner_id).toBe('rep-a');
    // The agent's technical owner, a delegate and an admin each roll back.
    expect((await rollback(id, 'tom')).json()).toMatchObject({ outcome: 'rolled_back' });
    expect((await rollback(await update([2], 'rep-b'), 'dele')).json()).toMatchObject({ outcome: 'rolled_back' });
    expect((await rollback(await update([3], 'rep-c'), 'ada')).json()).toMatchObject({ outcome: 'rolled_back' });
    expect([1, 2, 3].map((n) => readLead(harness, n)?.owner_id)).toEqual([null, null, null]);
  });

  it('answers a person of another department as if the proposal or run did not exist', async () => {
    harness = await openHarness();
    const run = (await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).json().runId as string;
    const id = await update([1], 'rep-a', run);
    await expectRefused(() => rollback(id, 'fay'), 404, 'PROPOSAL_NOT_FOUND', /no proposal has id/, 'request.invalid');
    await expectRefused(() => rollbackRun(run, 'fay'), 404, 'RUN_NOT_FOUND', /no run has id/, 'request.invalid');
  });

  it('rolls a proposal back once when two requests ask at the same time', async () => {
    harness = await openHarness();
    const id = await update([1], 'rep-a');
    const answers = await Promise.all([rollback(id), rollback(id, 'ada')]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.statusCode === 409)?.json().error.code).toBe('ILLEGAL_TRANSITION');
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    expect((await auditTrail(harness)).filter((e) => e.type.startsWith('rollback.')).map((e) => e.type)).toEqual(['rollback.started', 'rollback.succeeded']);
  });

  it('reads the proposal again once it holds it, so a rollback that finished meanwhile is not run twice', async () => {
    harness = await openHarness();
    const id = await update([1], 'rep-a');
    const { deps } = harness.gateway.service;
    // The same store, whose first read of a proposal answers only once the other rollback is done.
    let release = (): void => {};
    const done = new Promise<void>((resolve) => { release = resolve; });
    let reads = 0;
    const store = Object.assign(Object.create(deps.store) as typeof deps.store, {
      async getProposal(pid: string) {
        const read = await deps.store.getProposal(pid);
        reads += 1;
        if (reads === 1) await done;
        return read;
      },
    });
    const late = createGatewayService({ ...deps, store });
    const dana = deps.config.people.get('dana');
    if (dana === undefined) throw new Error('no dana');
    const waiting = late.rollbackProposal(dana, id, { reason: 'wrong rep' });
    expect((await harness.gateway.service.rollbackProposal(dana, id, { reason: 'wrong rep' })).outcome).toBe('rolled_back');
    release();
    await expect(waiting).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION', message: expect.stringMatching(/is rolled_back \(it was rolled back already/) });
    expect((await auditTrail(harness)).filter((e) => e.type.startsWith('rollback.')).map((e) => e.type)).toEqual(['rollback.started', 'rollback.succeeded']);
  });

  it('leaves out of a run\'s rollback a proposal rolled back by another request meanwhile', async () => {
    harness = await openHarness();
    const run = (await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).json().runId as string;
    const [first, second] = [await update([1], 'rep-a', run), await update([2], 'rep-b', run)];
    const { deps } = harness.gateway.service;
    let release = (): void => {};
    const done = new Promise<void>((resolve) => { release = resolve; });
    const store = Object.assign(Object.create(deps.store) as typeof deps.store, {
      async listProposals(filter: Parameters<typeof deps.store.listProposals>[0]) {
        const listed = await deps.store.listProposals(filter);
        await done;
        return listed;
      },
    });
    const dana = deps.config.people.get('dana');
    if (dana === undefined) throw new Error('no dana');
    const waiting = createGatewayService({ ...deps, store }).rollbackRun(dana, run, { reason: 'wrong reps' });
    await harness.gateway.service.rollbackProposal(dana, second, { reason: 'wrong rep' });
    release();
    expect(await waiting).toMatchObject({ outcome: 'rolled_back', steps: [{ proposalId: first, undone: ['leads 1'] }] });
    expect((await waiting).steps).toHaveLength(1);
    expect((await auditTrail(harness)).filter((e) => e.type === 'rollback.started').map((e) => e.proposalId)).toEqual([second, first]);
  });

  it('refuses a succeeded proposal that recorded no undo data (its outcome resolved by a person)', async () => {
    harness = await openHarness();
    const resolved = makeProposal({ status: 'succeeded', params: { ids: [1], set: { owner_id: 'rep-a' } }, result: { resolvedBy: 'dana', note: 'checked', resolved: 'succeeded' } });
    await harness.gateway.store.insertProposal(resolved, []);
    await expectRefused(() => rollback(resolved.id), 409, 'NOT_REVERSIBLE', /no undo data was recorded when it ran/, 'request.invalid');
  });

  it('rolls back nothing while the audit trail cannot be vouched for', async () => {
    harness = await openHarness();
    const id = await update([1], 'rep-a');
    const gated = createGatewayService({ ...harness.gateway.service.deps, trailGate: () => 'no checkpoint was published for 2 hours' });
    const dana = harness.gateway.service.config.people.get('dana');
    if (dana === undefined) throw new Error('no dana');
    await expect(gated.rollbackProposal(dana, id, { reason: 'wrong rep' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/^no checkpoint was published for 2 hours; the gateway executes nothing/) });
    expect(readLead(harness, 1)?.owner_id).toBe('rep-a');
    expect((await auditTrail(harness)).some((e) => e.type.startsWith('rollback.'))).toBe(false);
  });

  it('refuses an action the config declares irreversible, naming its manual fallback, and says so before approval', async () => {
    harness = await openHarness({ configYaml: `${harnessConfig()}\nactions:\n  crm.leads.delete: { tags: [delete], undo: { irreversible: "Restore the lead from the nightly CRM export" } }\n` });
    const proposed = await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.delete', params: { ids: [4] } });
    const pending = (await harness.request('dana', { method: 'GET', url: '/v1/approvals' })).json().proposals as { id: string }[];
    expect(pending.find((p) => p.id === proposed.json().id)).toMatchObject({ reversible: false, undo: 'cannot be undone (declared irreversible in portcullis.yaml); manual fallback: Restore the lead from the nightly CRM export' });
    await harness.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id}/approve`, payload: { reason: 'ok' } });
    expect(readLead(harness, 4)).toBeUndefined();
    await expectRefused(() => rollback(proposed.json().id), 409, 'NOT_REVERSIBLE', /it is irreversible \(cannot be undone \(declared irreversible in portcullis\.yaml\); manual fallback: Restore the lead from the nightly CRM export\)/, 'request.invalid');
    expect(readLead(harness, 4)).toBeUndefined();
  });

  it('refuses a compensating tool on a SQL action at load, at its place in the file', () => {
    const text = `${harnessConfig()}\nactions:\n  crm.leads.update: { undo: { tool: delete_entities } }\n`;
    const parsed = parseConfigText(text, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: '/tmp', env: { K_AGENT: 'a', K_OTHER: 'b', T_DANA: 'c', T_DELE: 'd', T_FAY: 'e', T_TOM: 'f', T_ADA: 'g' } });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(formatConfigErrors(parsed.errors)).toMatch(/portcullis\.yaml:\d+:\d+ actions\["crm\.leads\.update"\]\.undo\.tool: crm\.leads\.update: a compensating tool undoes MCP tools only; sql actions are undone by the gateway from what it recorded/);
  });

  it('refuses a read, which changed nothing', async () => {
    harness = await openHarness();
    const id = await execute('crm.leads.read', { ids: [1] });
    await expectRefused(() => rollback(id), 409, 'NOT_REVERSIBLE', /a read changes nothing, so there is nothing to roll back\. Manual fallback \(workflow "route-leads"\): Assign leads by hand in the CRM\./, 'request.invalid');
  });
});

describe('rolling back a sent email', () => {
  let server: SmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(async () => server.close());

  it('is refused as irreversible, naming the manual fallback, alone and within a run', async () => {
    harness = await openHarness({
      env: { SMTP_PASSWORD: server.password },
      configYaml: harnessConfig({
        extraSystemsYaml: `  mail:
    kind: smtp
    host: 127.0.0.1
    port: ${server.port}
    from: lead-router@portcullis.example
    auth: { user: portcullis, passwordEnv: SMTP_PASSWORD }
    timeout: 5s`,
      }).replace('      - { grant: crm:leads:delete, explicit: true }\n', '      - { grant: crm:leads:delete, explicit: true }\n      - { grant: mail:email:send, explicit: true }\n'),
    });
    const run = (await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).json().runId as string;
    await update([1], 'rep-a', run);
    // Before anyone approves: `portcullis approvals list` marks the send irreversible and says how the update is undone.
    await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'mail.email.send', params: { to: ['grace@example.com'], subject: 'Hi', text: 'Hello' } });
    await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [2], set: { owner_id: 'rep-b' } } });
    await harness.gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const listed = await runCli(['approvals', 'list', '--url', `http://127.0.0.1:${(harness.gateway.app.server.address() as AddressInfo).port}`, '--token', harness.secrets.dana]);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/pending_approval +high {2}route-leads {2}mail\.email\.send {2}IRREVERSIBLE {2}.*\n(.*\n)+ {4}undo: cannot be undone: a sent email cannot be recalled/);
    expect(listed.out).toMatch(/route-leads {2}crm\.leads\.update {2}\{.*\n(.*\n)+ {4}undo: restores the changed columns from the before-image/);
    expect(listed.out).not.toMatch(/crm\.leads\.update {2}IRREVERSIBLE/);
    const sent = await execute('mail.email.send', { to: ['ada@example.com'], subject: 'Welcome', text: 'Hello' }, { runId: run });
    const inbox = (await harness.request('dana', { method: 'GET', url: '/v1/approvals?status=succeeded' })).json().proposals as { id: string; reversible: boolean; undo: string }[];
    expect(inbox.find((p) => p.id === sent)).toMatchObject({ reversible: false, undo: 'cannot be undone: a sent email cannot be recalled' });
    const fallback = /Manual fallback \(workflow "route-leads"\): Assign leads by hand in the CRM\.; nothing was changed$/;
    await expectRefused(() => rollback(sent), 409, 'NOT_REVERSIBLE', new RegExp(`proposal ${sent} \\(mail\\.email\\.send\\) cannot be rolled back: it is irreversible \\(cannot be undone: a sent email cannot be recalled\\)\\. ${fallback.source}`), 'request.invalid');
    await expectRefused(() => rollbackRun(run), 409, 'NOT_REVERSIBLE', new RegExp(`run ${run} cannot be rolled back: ${sent} \\(mail\\.email\\.send\\) cannot be undone .*Roll back its other proposals one by one .*${fallback.source}`), 'request.invalid');
    expect(readLead(harness, 1)?.owner_id).toBe('rep-a');
  });
});
