/**
 * Rolling back SQL actions through the real gateway (HTTP API in-process, real SQLite store and
 * CRM database): a run of updates is undone newest first to the exact before-images; a row
 * someone changed since is named as drifted and left alone; a rollback that fails halfway
 * reports what was undone and what was not attempted; a create and a delete are undone.
 */
import type { JsonValue } from '@portcullis/core';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

/** The harness's workflow with creates granted too. */
const withCreate = (): string => harnessConfig().replace('      - crm:leads:read\n', '      - crm:leads:read\n      - crm:leads:create\n');

async function startRun(): Promise<string> {
  const res = await harness.request('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } });
  expect(res.statusCode).toBe(201);
  return res.json().runId as string;
}

/** Proposes as the agent and has Dana approve it; returns the proposal id once it succeeded. */
async function execute(action: string, params: unknown, runId?: string): Promise<string> {
  const proposed = await proposeAs(harness, 'agent', { workflow: 'route-leads', action, params, reason: 'routing', ...(runId === undefined ? {} : { runId }) });
  expect(proposed.statusCode, proposed.payload).toBe(200);
  const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id}/approve`, payload: { reason: 'ok' } });
  expect(approved.json(), approved.payload).toMatchObject({ status: 'succeeded' });
  return proposed.json().id as string;
}

const update = (ids: number[], owner: string, runId?: string) => execute('crm.leads.update', { ids, set: { owner_id: owner } }, runId);

function allLeads(h: Harness): Record<string, unknown>[] {
  const db = new Database(h.crmPath, { readonly: true });
  try {
    return db.prepare('SELECT * FROM leads ORDER BY id').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Changes the CRM behind the gateway's back, as a person using the CRM would. */
function crm(h: Harness, sql: string, ...args: unknown[]): void {
  const db = new Database(h.crmPath);
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

const rollbackRun = (runId: string, who: keyof Harness['secrets'] = 'dana') =>
  harness.request(who, { method: 'POST', url: `/v1/runs/${runId}/rollback`, payload: { reason: 'the agent routed to the wrong reps' } });
const rollback = (id: string, who: keyof Harness['secrets'] = 'dana') =>
  harness.request(who, { method: 'POST', url: `/v1/proposals/${id}/rollback`, payload: { reason: 'wrong rep' } });
const statusOf = async (id: string) => (await harness.gateway.store.getProposal(id))?.status;

describe('rolling back a run of SQL updates', () => {
  it('undoes five updates newest first, restoring every before-image exactly, and audits each step', async () => {
    harness = await openHarness();
    const before = allLeads(harness);
    const runId = await startRun();
    // Lead 1 is updated twice: only newest-first order restores it (the older undo expects rep-a).
    const ids = [
      await update([1], 'rep-a', runId), await update([2, 3], 'rep-b', runId), await update([4], 'rep-c', runId),
      await update([5], 'rep-d', runId), await update([1], 'rep-e', runId),
    ];
    expect(allLeads(harness)).not.toEqual(before);

    const res = await rollbackRun(runId);
    expect(res.statusCode, res.payload).toBe(200);
    expect(res.json()).toEqual({
      outcome: 'rolled_back', runId, notAttempted: [],
      steps: [...ids].reverse().map((id) => ({ proposalId: id, action: 'crm.leads.update', outcome: 'rolled_back', undone: expect.any(Array), drifted: [] })),
    });
    expect(res.json().steps.map((s: { undone: string[] }) => s.undone)).toEqual([['leads 1'], ['leads 5'], ['leads 4'], ['leads 2', 'leads 3'], ['leads 1']]);
    expect(allLeads(harness)).toEqual(before);
    for (const id of ids) expect(await statusOf(id)).toBe('rolled_back');

    const trail = await auditTrail(harness);
    const steps = trail.filter((e) => e.type.startsWith('rollback.'));
    expect(steps.map((e) => [e.type, e.proposalId, e.actor.id])).toEqual([...ids].reverse().flatMap((id) => [['rollback.started', id, 'dana'], ['rollback.succeeded', id, 'dana']]));
    expect(trail.at(-1)).toMatchObject({ type: 'run.rolled_back', workflow: 'route-leads', actor: { kind: 'person', id: 'dana' }, data: { runId, outcome: 'rolled_back', reason: 'the agent routed to the wrong reps', notAttempted: [], drifted: [] } });
    // No second approver: nothing else asked anyone.
    expect(trail.filter((e) => e.type === 'approval.granted')).toHaveLength(5);
  });

  it('names a row someone changed since as drifted and leaves it alone, undoing the rest', async () => {
    harness = await openHarness();
    const runId = await startRun();
    const first = await update([1, 2], 'rep-a', runId);
    const second = await update([3], 'rep-b', runId);
    crm(harness, 'UPDATE leads SET owner_id = ? WHERE id = ?', 'rep-by-hand', 2);
    crm(harness, 'UPDATE leads SET owner_id = ? WHERE id = ?', 'rep-also-by-hand', 3);

    const res = await rollbackRun(runId);
    expect(res.json()).toEqual({
      outcome: 'partial', runId, notAttempted: [],
      steps: [
        { proposalId: second, action: 'crm.leads.update', outcome: 'drifted', undone: [], drifted: [{ record: 'leads 3', why: 'changed since: owner_id is "rep-also-by-hand", not the "rep-b" the action wrote' }] },
        { proposalId: first, action: 'crm.leads.update', outcome: 'rolled_back', undone: ['leads 1'], drifted: [{ record: 'leads 2', why: 'changed since: owner_id is "rep-by-hand", not the "rep-a" the action wrote' }] },
      ],
    });
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    expect(readLead(harness, 2)?.owner_id).toBe('rep-by-hand');
    expect(readLead(harness, 3)?.owner_id).toBe('rep-also-by-hand');
    // Something of the first was undone: rolled back; nothing of the second: still succeeded.
    expect(await statusOf(first)).toBe('rolled_back');
    expect(await statusOf(second)).toBe('succeeded');
    const trail = await auditTrail(harness);
    expect(trail.find((e) => e.type === 'rollback.drifted')).toMatchObject({ proposalId: second, data: { drifted: [{ record: 'leads 3' }] } });
    expect(trail.find((e) => e.type === 'rollback.succeeded')).toMatchObject({ proposalId: first, data: { undone: ['leads 1'], drifted: [{ record: 'leads 2' }] } });
    expect(trail.at(-1)).toMatchObject({ type: 'run.rolled_back', data: { outcome: 'partial', drifted: [{ proposalId: second, record: 'leads 3' }, { proposalId: first, record: 'leads 2' }] } });
  });

  it('stops at the first failure, reporting what was undone, what failed and what was not attempted', async () => {
    harness = await openHarness();
    const runId = await startRun();
    const ids = [await update([1], 'rep-a', runId), await update([2], 'rep-b', runId), await update([3], 'rep-c', runId)];
    // The CRM refuses to clear lead 2's owner (a real constraint of the system of record).
    crm(harness, "CREATE TRIGGER keep_owner BEFORE UPDATE OF owner_id ON leads WHEN OLD.id = 2 AND NEW.owner_id IS NULL BEGIN SELECT RAISE(ABORT, 'lead 2 is locked by the CRM'); END");

    const res = await rollbackRun(runId);
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({
      outcome: 'partial', runId, notAttempted: [ids[0]],
      steps: [
        { proposalId: ids[2], outcome: 'rolled_back', undone: ['leads 3'], drifted: [] },
        { proposalId: ids[1], outcome: 'failed', undone: [], drifted: [], error: { code: 'UPSTREAM_FAILED', message: expect.stringContaining('lead 2 is locked by the CRM') } },
      ],
    });
    expect(report.steps).toHaveLength(2);
    expect([readLead(harness, 1)?.owner_id, readLead(harness, 2)?.owner_id, readLead(harness, 3)?.owner_id]).toEqual(['rep-a', 'rep-b', null]);
    expect([await statusOf(ids[0] as string), await statusOf(ids[1] as string), await statusOf(ids[2] as string)]).toEqual(['succeeded', 'succeeded', 'rolled_back']);
    const trail = await auditTrail(harness);
    expect(trail.find((e) => e.type === 'rollback.failed')).toMatchObject({ proposalId: ids[1], data: { code: 'UPSTREAM_FAILED' } });
    expect(trail.at(-1)).toMatchObject({
      type: 'run.rolled_back',
      data: { outcome: 'partial', undone: [{ proposalId: ids[2], records: ['leads 3'] }], failed: { proposalId: ids[1], code: 'UPSTREAM_FAILED' }, notAttempted: [ids[0]] },
    });
    // Once the CRM allows it, the rest of the run rolls back: what was undone is not touched again.
    crm(harness, 'DROP TRIGGER keep_owner');
    const again = await rollbackRun(runId);
    expect(again.json()).toMatchObject({ outcome: 'rolled_back', steps: [{ proposalId: ids[1] }, { proposalId: ids[0] }] });
    expect(allLeads(harness).slice(0, 3).map((l) => l.owner_id)).toEqual([null, null, null]);
  });
});

describe('the SQL connector\'s rollback', () => {
  it('refuses undo data that is not SQL undo data, changing nothing', async () => {
    harness = await openHarness();
    const spec = harness.gateway.service.config.actions.get('crm.leads.update')?.spec;
    const connector = harness.gateway.connectors.get('crm');
    if (spec === undefined || connector?.rollback === undefined) throw new Error('no crm.leads.update');
    const before = allLeads(harness);
    const context = { proposalId: 'prop_x', workflow: 'route-leads', now: harness.clock.now(), maxRecords: 3 };
    const undos: JsonValue[] = [null, { kind: 'http.restore' }, { kind: 'sql.update', table: 'leads' }];
    for (const undo of undos) {
      await expect(connector.rollback(spec, { ids: [1], set: { owner_id: 'x' } }, undo, null, context)).rejects.toMatchObject({ code: 'NOT_REVERSIBLE' });
    }
    expect(allLeads(harness)).toEqual(before);
  });
});

describe('rolling back one SQL create or delete', () => {
  it('deletes a created row that is unchanged since, and names one that changed as drifted', async () => {
    harness = await openHarness({ configYaml: withCreate() });
    const values = (name: string) => ({ name, email: `${name}@example.com`, region: 'emea', status: 'new', created_at: new Date(harness.clock.now()).toISOString() });
    const created = await execute('crm.leads.create', { values: values('new-lead') });
    const newId = (await harness.gateway.store.getProposal(created))?.result as { created: number };
    expect(readLead(harness, newId.created)).toMatchObject({ name: 'new-lead' });
    const res = await rollback(created);
    expect(res.json()).toEqual({ outcome: 'rolled_back', notAttempted: [], steps: [{ proposalId: created, action: 'crm.leads.create', outcome: 'rolled_back', undone: [`leads ${newId.created}`], drifted: [] }] });
    expect(readLead(harness, newId.created)).toBeUndefined();
    expect(await statusOf(created)).toBe('rolled_back');

    const other = await execute('crm.leads.create', { values: values('edited-lead') });
    const otherId = ((await harness.gateway.store.getProposal(other))?.result as { created: number }).created;
    crm(harness, 'UPDATE leads SET status = ? WHERE id = ?', 'contacted', otherId);
    const drifted = await rollback(other);
    expect(drifted.json()).toMatchObject({ outcome: 'none', steps: [{ outcome: 'drifted', undone: [], drifted: [{ record: `leads ${otherId}`, why: 'changed since it was created: status is "contacted", not "new"' }] }] });
    expect(readLead(harness, otherId)).toMatchObject({ name: 'edited-lead', status: 'contacted' });
    expect(await statusOf(other)).toBe('succeeded');
  });

  it('re-inserts a deleted row from its before-image while its key is free, and not over a row that took its key', async () => {
    harness = await openHarness();
    const lead4 = readLead(harness, 4);
    const lead5 = readLead(harness, 5);
    const deleted = await execute('crm.leads.delete', { ids: [4] });
    expect(readLead(harness, 4)).toBeUndefined();
    expect((await rollback(deleted)).json()).toMatchObject({ outcome: 'rolled_back', steps: [{ outcome: 'rolled_back', undone: ['leads 4'] }] });
    expect(readLead(harness, 4)).toEqual(lead4);

    const again = await execute('crm.leads.delete', { ids: [5] });
    crm(harness, "INSERT INTO leads (id, name, email, region, created_at) VALUES (5, 'someone else', 'x@example.com', 'na', '2026-01-01')");
    const res = await rollback(again);
    expect(res.json()).toMatchObject({ outcome: 'none', steps: [{ outcome: 'drifted', drifted: [{ record: 'leads 5', why: 'its key is taken again by another row' }] }] });
    expect(readLead(harness, 5)).toMatchObject({ name: 'someone else' });
    expect(readLead(harness, 5)).not.toEqual(lead5);
  });
});
