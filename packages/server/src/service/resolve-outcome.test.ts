/**
 * Resolution by a person: a lead of the workflow's department (or an admin) resolves an
 * `outcome_unknown` proposal as succeeded or failed with a note, over the API and the CLI; it is
 * audited and the agent waiting on it is told. Bad input (a proposal that is not
 * outcome_unknown, no note, a person of another department) is refused clearly, changes
 * nothing, and is audited.
 */
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { runCli } from '../testing/run-cli.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const route = (id: number) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: 'rep-amara' } } });

/** A proposal left executing by a stop, flagged outcome_unknown by the next start's recovery. */
async function unknownOutcome(h: Harness, lead = 1): Promise<string> {
  const id = (await proposeAs(h, 'agent', route(lead))).json().id as string;
  const db = new Database(h.storePath);
  db.prepare("UPDATE proposals SET status = 'executing' WHERE id = ?").run(id);
  db.close();
  await h.gateway.service.recoverInterrupted();
  expect((await h.gateway.store.getProposal(id))?.status).toBe('outcome_unknown');
  return id;
}

const resolve = (h: Harness, who: 'dana' | 'dele' | 'fay' | 'ada' | 'agent', id: string, payload: Record<string, unknown>) =>
  h.request(who, { method: 'POST', url: `/v1/proposals/${id}/resolve`, payload });

describe('resolving an unknown outcome', () => {
  it('a lead resolves it as succeeded with a note; audited; the agent waiting on it is told', async () => {
    harness = await openHarness();
    const h = harness;
    const id = await unknownOutcome(h);
    // The agent long-polls the proposal while a person checks the CRM.
    const waiting = h.request('agent', { method: 'GET', url: `/v1/actions/${id}?wait=20` });
    const res = await resolve(h, 'dana', id, { as: 'succeeded', note: 'the CRM shows owner rep-amara on lead 1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'succeeded' });
    expect((await waiting).json()).toMatchObject({ id, status: 'succeeded' });
    const event = (await auditTrail(h)).find((e) => e.proposalId === id && e.type === 'outcome.resolved');
    expect(event).toMatchObject({ actor: { kind: 'person', id: 'dana' }, data: { as: 'succeeded', note: 'the CRM shows owner rep-amara on lead 1' } });
  });

  it('an admin resolves it as failed; the error says who found what', async () => {
    harness = await openHarness();
    const id = await unknownOutcome(harness);
    const res = await resolve(harness, 'ada', id, { as: 'failed', note: 'lead 1 still has no owner' });
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'RESOLVED_FAILED', message: expect.stringContaining('ada checked the system') } });
  });

  it.each([
    ['a proposal that is not outcome_unknown', 'pending', 'dana', { as: 'succeeded', note: 'looked' }, 409, 'ILLEGAL_TRANSITION', /is pending_approval, not outcome_unknown/, 'request.invalid'],
    ['no note', 'unknown', 'dana', { as: 'succeeded' }, 400, 'INVALID_REQUEST', /note/, 'request.invalid'],
    ['a blank note', 'unknown', 'dana', { as: 'failed', note: '   ' }, 400, 'INVALID_REQUEST', /note: say what you found/, 'request.invalid'],
    ['an outcome other than succeeded or failed', 'unknown', 'dana', { as: 'rolled_back', note: 'x' }, 400, 'INVALID_REQUEST', /as/, 'request.invalid'],
    ['a lead of another department', 'unknown', 'fay', { as: 'succeeded', note: 'looked' }, 403, 'FORBIDDEN', /only a lead of department "sales"/, 'request.refused'],
    ['a delegate (who approves, but does not resolve)', 'unknown', 'dele', { as: 'succeeded', note: 'looked' }, 403, 'FORBIDDEN', /only a lead of department "sales"/, 'request.refused'],
  ] as const)('refuses %s, changes nothing, and audits it', async (_what, kind, who, payload, status, code, message, audited) => {
    harness = await openHarness();
    const h = harness;
    const id = kind === 'unknown' ? await unknownOutcome(h) : (await proposeAs(h, 'agent', route(2))).json().id as string;
    const before = await h.gateway.store.getProposal(id);
    const res = await resolve(h, who, id, payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(res.json().error.message).toMatch(message);
    expect(await h.gateway.store.getProposal(id)).toEqual(before);
    const trail = await auditTrail(h);
    expect(trail.filter((e) => e.type === 'outcome.resolved')).toHaveLength(0);
    expect(trail.filter((e) => e.type === audited && e.actor.id === who)).toHaveLength(1);
  });

  it('over the CLI: `portcullis proposals resolve ID --as failed --note …` with the person\'s token', async () => {
    harness = await openHarness({ configYaml: harnessConfig() });
    const h = harness;
    const id = await unknownOutcome(h);
    await h.gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(h.gateway.app.server.address() as AddressInfo).port}`;
    const noNote = await runCli(['proposals', 'resolve', id, '--as', 'failed', '--url', url, '--token', h.secrets.dana]);
    expect(noNote.code).toBe(2);
    expect(noNote.err).toMatch(/resolve needs --note/);
    const wrong = await runCli(['proposals', 'resolve', id, '--as', 'failed', '--note', 'checked', '--url', url, '--token', h.secrets.fay]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/^FORBIDDEN: fay may not resolve/);
    const done = await runCli(['proposals', 'resolve', id, '--as', 'failed', '--note', 'lead 1 has no owner', '--url', url, '--token', h.secrets.dana]);
    expect(done.code).toBe(0);
    expect(done.out).toMatch(new RegExp(`^${id} is now failed`));
    expect((await h.gateway.store.getProposal(id))?.status).toBe('failed');
  });
});
