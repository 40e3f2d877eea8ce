/**
 * SPEC rule 5: nothing executes unless its audit event is durable. With the audit store
 * failing for real (SQLite out of pages, or read-only), the gateway refuses, the CRM is
 * untouched, and /readyz says why.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => {
  (harness?.gateway.store as SqliteStore | undefined)?.database.pragma('query_only = OFF');
  await harness?.close();
});

const route = (id: number) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: 'rep-amara' } } });
const database = (h: Harness) => (h.gateway.store as SqliteStore).database;

describe('audit before execution (fail closed)', () => {
  it('executes nothing when the store is full, answers 503, and /readyz reports it', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
    expect((await harness.request(undefined, { method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const db = database(harness);
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const res = await proposeAs(harness, 'agent', { ...route(1), params: { ids: [1], set: { owner_id: 'r'.repeat(40_000) } } });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('STORE_UNAVAILABLE');
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    const ready = await harness.request(undefined, { method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.store).toMatch(/not writable.*refuses to execute/);
  });

  it('says in /readyz that appends are refused when the recorded head was moved under the running gateway', async () => {
    harness = await openHarness();
    expect((await harness.request(undefined, { method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    database(harness).exec('DROP TRIGGER audit_head_forward_only; UPDATE audit_head SET seq = seq - 1 WHERE id = 1;');
    const ready = await harness.request(undefined, { method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.audit).toMatch(/the audit tree ends at event (\d+) but the trail's recorded head is event \d+: the store was edited, and every append is refused/);
    expect((await proposeAs(harness, 'agent', route(1))).statusCode).toBe(503);
  });

  it('executes nothing after an approval when the store turns read-only before execution starts', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    const dana = harness.gateway.config.people.get('dana');
    if (dana === undefined) throw new Error('dana missing');
    await harness.gateway.service.recordApproval(dana, id, { reason: 'ok' });
    database(harness).pragma('query_only = ON');
    await expect(harness.gateway.service.executeApproved(id)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(readLead(harness, 1)?.owner_id).toBeNull();
    database(harness).pragma('query_only = OFF');
    // Once the store is back, the approved proposal runs exactly once.
    expect((await harness.gateway.service.executeApproved(id)).status).toBe('succeeded');
    expect(readLead(harness, 1)?.owner_id).toBe('rep-amara');
  });

  it('writes execution.started before the system changes and the result after, in chain order', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
    const { id } = (await proposeAs(harness, 'agent', route(2))).json();
    const events = (await auditTrail(harness)).filter((e) => e.proposalId === id);
    expect(events.map((e) => e.type)).toEqual(['proposal.received', 'proposal.decided', 'execution.started', 'execution.succeeded']);
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
  });

  it('flags a proposal left executing by a crash as outcome_unknown on the next start', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    database(harness).prepare("UPDATE proposals SET status = 'executing' WHERE id = ?").run(id);
    const result = await harness.gateway.service.recoverInterrupted();
    expect(result.flagged).toBe(1);
    expect((await harness.gateway.store.getProposal(id))?.status).toBe('outcome_unknown');
    expect((await auditTrail(harness)).some((e) => e.type === 'execution.outcome_unknown' && e.proposalId === id)).toBe(true);
  });
});
