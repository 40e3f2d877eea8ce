/**
 * The ONE conformance suite of the Store port: every adapter runs it, so SQLite and
 * PostgreSQL behave the same. It covers every method of store.ts through the port only.
 * Proposal, disabled-state and health tests are here; audit-trail tests are in
 * store-conformance-audit.ts; vault-secret and run tests in store-conformance-secrets.ts; MCP pin and call-generation tests in store-conformance-mcp.ts; notification deliveries in store-conformance-notifications.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_ANCHOR, type ProposalStatus } from '@portcullis/core';
import type { ProposalRecord, Store } from './store.js';
import { describeAuditConformance } from './store-conformance-audit.js';
import { describeSecretAndRunConformance } from './store-conformance-secrets.js';
import { describeMcpConformance } from './store-conformance-mcp.js';
import { describeNotificationConformance } from './store-conformance-notifications.js';
import { DAY, T0, makeEvent, makeProposal, rejectionCode, verifyStore } from './store-conformance-fixtures.js';

/**
 * Registers the conformance suite for one adapter.
 * @param makeStore returns a fresh, empty store (not yet migrated); the suite migrates and closes it.
 */
export function describeStoreConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });
    const getStore = (): Store => store;

    describeProposalConformance(getStore);
    describeAuditConformance(getStore);
    describeDisabledAndHealthConformance(getStore);
    describeSecretAndRunConformance(getStore);
    describeMcpConformance(getStore);
    describeNotificationConformance(getStore);
  });
}

function describeProposalConformance(getStore: () => Store): void {
  const pending = async (overrides: Partial<ProposalRecord> = {}): Promise<ProposalRecord> => {
    const p = makeProposal({ status: 'pending_approval', expiresAt: T0 + DAY, ...overrides });
    await getStore().insertProposal(p, [makeEvent({ proposalId: p.id })]);
    return p;
  };

  describe('proposals', () => {
    it('migrate is idempotent and starts an empty chain at the genesis', async () => {
      const store = getStore();
      await store.migrate();
      expect(await store.auditHead()).toEqual(GENESIS_ANCHOR);
      expect(await store.auditAnchor()).toEqual(GENESIS_ANCHOR);
      expect(await store.listProposals({})).toEqual([]);
    });

    it('inserts a proposal with its events and reads it back unchanged', async () => {
      const store = getStore();
      const p = makeProposal({
        reason: 'lead is in EMEA', runId: 'run_1', idempotencyKey: 'k1', expiresAt: T0 + DAY, status: 'approved',
        approval: { decision: 'approved', by: 'ana', reason: 'ok', at: T0, digest: 'd'.repeat(64), expiresAt: T0 + DAY },
        result: { rows: 1 }, undo: { before: [{ owner_id: null }] }, error: { code: 'X', message: 'y' },
        params: { nested: { list: [1, 'two', null, true] }, unicode: 'é✓' },
      });
      const result = await store.insertProposal(p, [makeEvent({ proposalId: p.id }), makeEvent({ proposalId: p.id, type: 'proposal.decided' })]);
      expect(result).toEqual({ created: true, proposal: p });
      expect(await store.getProposal(p.id)).toEqual(p);
      const events = await store.queryAudit({ proposalId: p.id, limit: 10 });
      expect(events.map((e) => e.type)).toEqual(['proposal.received', 'proposal.decided']);
    });

    it('leaves optional fields absent, not null, when they were not given', async () => {
      const store = getStore();
      const p = makeProposal();
      await store.insertProposal(p, []);
      const read = await store.getProposal(p.id);
      expect(read).toEqual(p);
      for (const key of ['reason', 'runId', 'idempotencyKey', 'expiresAt', 'approval', 'result', 'undo', 'error']) {
        expect(read).not.toHaveProperty(key);
      }
      expect(await store.getProposal('prop_missing')).toBeUndefined();
    });

    it('returns the existing proposal for a reused idempotency key and writes nothing', async () => {
      const store = getStore();
      const first = makeProposal({ idempotencyKey: 'same' });
      await store.insertProposal(first, [makeEvent({ proposalId: first.id })]);
      const head = await store.auditHead();
      const second = makeProposal({ idempotencyKey: 'same', params: { other: true } });
      expect(await store.insertProposal(second, [makeEvent({ proposalId: second.id })])).toEqual({ created: false, proposal: first });
      expect(await store.getProposal(second.id)).toBeUndefined();
      expect(await store.auditHead()).toEqual(head);
      expect(await store.findProposalByIdempotencyKey(first.agent, 'same')).toEqual(first);
      expect(await store.findProposalByIdempotencyKey('another-agent', 'same')).toBeUndefined();
      const otherAgent = makeProposal({ idempotencyKey: 'same', agent: 'another-agent' });
      expect((await store.insertProposal(otherAgent, [])).created).toBe(true);
    });

    it('creates one proposal when two inserts race with the same idempotency key', async () => {
      const store = getStore();
      const a = makeProposal({ idempotencyKey: 'race' });
      const b = makeProposal({ idempotencyKey: 'race' });
      const results = await Promise.all([store.insertProposal(a, [makeEvent()]), store.insertProposal(b, [makeEvent()])]);
      expect(results.map((r) => r.created).sort()).toEqual([false, true]);
      expect(results[0]?.proposal.id).toBe(results[1]?.proposal.id);
      expect((await store.auditHead()).seq).toBe(1);
    });

    it('lets exactly one of two concurrent updates from the same status win; the loser writes no events', async () => {
      const store = getStore();
      const p = await pending();
      const decide = (to: ProposalStatus, type: 'approval.granted' | 'approval.rejected') => store.updateProposal(
        p.id, 'pending_approval', { status: to, updatedAt: T0 + 5 }, [makeEvent({ type, proposalId: p.id, actor: { kind: 'person', id: 'ana' } })],
      );
      const [approved, rejected] = await Promise.all([decide('approved', 'approval.granted'), decide('rejected', 'approval.rejected')]);
      const winners = [approved, rejected].filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      const events = await store.queryAudit({ proposalId: p.id, limit: 10 });
      expect(events.map((e) => e.type)).toEqual(['proposal.received', winners[0]?.status === 'approved' ? 'approval.granted' : 'approval.rejected']);
      expect((await store.getProposal(p.id))?.status).toBe(winners[0]?.status);
      expect((await verifyStore(store)).ok).toBe(true);
    });

    it('writes nothing when the status is no longer the expected one', async () => {
      const store = getStore();
      const p = await pending();
      const head = await store.auditHead();
      expect(await store.updateProposal(p.id, 'approved', { status: 'executing', updatedAt: T0 + 9 }, [makeEvent()])).toBeUndefined();
      expect(await store.updateProposal('prop_missing', 'approved', { status: 'executing', updatedAt: T0 + 9 }, [makeEvent()])).toBeUndefined();
      expect(await store.getProposal(p.id)).toEqual(p);
      expect(await store.auditHead()).toEqual(head);
    });

    it('applies a patch with its events atomically and keeps fields the patch leaves out', async () => {
      const store = getStore();
      const p = await pending();
      const approval = { decision: 'approved', by: 'ana', reason: 'fine', at: T0 + 1, digest: p.digest, expiresAt: T0 + DAY } as const;
      const approved = await store.updateProposal(p.id, 'pending_approval', { status: 'approved', updatedAt: T0 + 2, approval }, [makeEvent({ type: 'approval.granted', proposalId: p.id })]);
      expect(approved).toEqual({ ...p, status: 'approved', updatedAt: T0 + 2, approval });
      await store.updateProposal(p.id, 'approved', { status: 'executing', updatedAt: T0 + 3 }, [makeEvent({ type: 'execution.started', proposalId: p.id })]);
      const done = await store.updateProposal(p.id, 'executing', { status: 'succeeded', updatedAt: T0 + 4, result: { ok: 1 }, undo: { before: [] } }, []);
      expect(done).toEqual({ ...p, status: 'succeeded', updatedAt: T0 + 4, approval, result: { ok: 1 }, undo: { before: [] } });
      expect(await store.getProposal(p.id)).toEqual(done);
      expect((await store.queryAudit({ proposalId: p.id, limit: 10 })).map((e) => e.type))
        .toEqual(['proposal.received', 'approval.granted', 'execution.started']);
    });

    it('rolls back only the write that failed, with its events', async () => {
      const store = getStore();
      const p = makeProposal();
      const results = await Promise.allSettled([
        store.insertProposal(p, [makeEvent({ proposalId: p.id })]),
        // the second draft cannot be encoded (NaN), after the first was sealed
        store.appendAudit([makeEvent({ data: { n: 1 } }), makeEvent({ data: { n: Number.NaN } })]),
        store.insertProposal({ ...makeProposal(), id: p.id }, [makeEvent({ data: { duplicate: true } })]),
        store.appendAudit([makeEvent({ data: { n: 2 } })]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      const chain = await verifyStore(store);
      expect(chain).toMatchObject({ ok: true, count: 2 });
      const data = (await store.queryAudit({ limit: 10 })).map((e) => e.data);
      expect(data).toEqual([{}, { n: 2 }]);
    });

    it('lists proposals newest first, filtered and paged', async () => {
      const store = getStore();
      const a = makeProposal({ createdAt: T0 + 100, workflow: 'w1', agent: 'x', runId: 'run-a' });
      const b = makeProposal({ createdAt: T0 + 200, workflow: 'w2', agent: 'y', status: 'pending_approval' });
      const c = makeProposal({ createdAt: T0 + 300, workflow: 'w1', agent: 'y' });
      for (const p of [a, b, c]) await store.insertProposal(p, []);
      expect((await store.listProposals({})).map((p) => p.id)).toEqual([c.id, b.id, a.id]);
      expect((await store.listProposals({ workflows: ['w1'] })).map((p) => p.id)).toEqual([c.id, a.id]);
      expect(await store.listProposals({ workflows: [] })).toEqual([]);
      expect((await store.listProposals({ status: 'pending_approval' })).map((p) => p.id)).toEqual([b.id]);
      expect((await store.listProposals({ agent: 'y' })).map((p) => p.id)).toEqual([c.id, b.id]);
      expect((await store.listProposals({ runId: 'run-a' })).map((p) => p.id)).toEqual([a.id]);
      expect((await store.listProposals({ limit: 1 })).map((p) => p.id)).toEqual([c.id]);
      expect((await store.listProposals({ beforeId: c.id, limit: 1 })).map((p) => p.id)).toEqual([b.id]);
      expect((await store.listProposals({ beforeId: a.id }))).toEqual([]);
    });

    it('counts proposals by workflow, run, time and denial', async () => {
      const store = getStore();
      const w = 'count-me';
      await store.insertProposal(makeProposal({ workflow: w, runId: 'r1', createdAt: T0 }), []);
      await store.insertProposal(makeProposal({ workflow: w, runId: 'r1', createdAt: T0 + 10, status: 'denied' }), []);
      await store.insertProposal(makeProposal({ workflow: w, runId: 'r2', createdAt: T0 + 20 }), []);
      await store.insertProposal(makeProposal({ workflow: 'other', runId: 'r1', createdAt: T0 + 30 }), []);
      expect(await store.countProposals({ workflow: w })).toBe(3);
      expect(await store.countProposals({ workflow: w, runId: 'r1' })).toBe(2);
      expect(await store.countProposals({ workflow: w, createdSince: T0 + 10 })).toBe(2);
      expect(await store.countProposals({ workflow: w, excludeDenied: true })).toBe(2);
      expect(await store.countProposals({ workflow: w, runId: 'r1', excludeDenied: true, createdSince: T0 })).toBe(1);
      expect(await store.countProposals({ workflow: 'none' })).toBe(0);
    });

    it('lists pending proposals expired at a time, oldest expiry first', async () => {
      const store = getStore();
      const late = await pending({ expiresAt: T0 + 50 });
      const early = await pending({ expiresAt: T0 + 10 });
      const exact = await pending({ expiresAt: T0 + 100 });
      await pending({ expiresAt: T0 + 101 });
      await store.insertProposal(makeProposal({ status: 'approved', expiresAt: T0 }), []);
      expect((await store.listExpiredPending(T0 + 100, 10)).map((p) => p.id)).toEqual([early.id, late.id, exact.id]);
      expect((await store.listExpiredPending(T0 + 100, 2)).map((p) => p.id)).toEqual([early.id, late.id]);
      expect(await store.listExpiredPending(T0, 10)).toEqual([]);
    });

    it('lists proposals left executing', async () => {
      const store = getStore();
      const running = makeProposal({ status: 'executing' });
      await store.insertProposal(running, []);
      await store.insertProposal(makeProposal({ status: 'succeeded' }), []);
      const p = await pending();
      expect((await store.listExecuting()).map((r) => r.id)).toEqual([running.id]);
      await store.updateProposal(p.id, 'pending_approval', { status: 'approved', updatedAt: T0 + 1 }, []);
      await store.updateProposal(p.id, 'approved', { status: 'executing', updatedAt: T0 + 2 }, []);
      expect((await store.listExecuting()).map((r) => r.id).sort()).toEqual([running.id, p.id].sort());
    });
  });
}

function describeDisabledAndHealthConformance(getStore: () => Store): void {
  describe('disabled state and health', () => {
    it('sets, reads and clears a disabled agent or workflow, with its events', async () => {
      const store = getStore();
      expect(await store.getDisabled('agent', 'lead-router')).toBeUndefined();
      const state = { by: 'ana', reason: 'kill switch', at: T0 };
      await store.setDisabled('agent', 'lead-router', state, [makeEvent({ type: 'proposal.cancelled', actor: { kind: 'person', id: 'ana' } })]);
      expect(await store.getDisabled('agent', 'lead-router')).toEqual(state);
      expect(await store.getDisabled('workflow', 'lead-router')).toBeUndefined();
      const again = { by: 'system', reason: 'circuit breaker', at: T0 + 1 };
      await store.setDisabled('agent', 'lead-router', again, []);
      expect(await store.getDisabled('agent', 'lead-router')).toEqual(again);
      await store.setDisabled('agent', 'lead-router', undefined, [makeEvent()]);
      expect(await store.getDisabled('agent', 'lead-router')).toBeUndefined();
      expect((await store.auditHead()).seq).toBe(2);
    });

    it('saves a workflow\'s rollout by compare-and-set, and seeds the configured workflows once', async () => {
      const store = getStore();
      const record = { workflow: 'route-leads', deployedAt: T0, writeMode: 'approval' as const, byOverride: false, version: 1, updatedAt: T0 };
      expect(await store.seedRollouts([record], T0, [makeEvent()])).toBe(true);
      expect(await store.seedRollouts([{ ...record, workflow: 'other' }], T0, [makeEvent()])).toBe(false);
      expect(await store.getRollout('route-leads')).toEqual(record);
      expect(await store.getRollout('other')).toBeUndefined();
      const promoted = { ...record, writeMode: 'auto' as const, promotedAt: T0 + 1, updatedAt: T0 + 1 };
      expect(await store.putRollout(promoted, 0, [makeEvent()])).toBe(false);
      expect(await store.putRollout(promoted, 1, [makeEvent()])).toBe(true);
      expect(await store.putRollout(promoted, 1, [makeEvent()])).toBe(false);
      expect(await store.getRollout('route-leads')).toEqual({ ...promoted, version: 2 });
      const draft = { workflow: 'new-one', writeMode: 'approval' as const, byOverride: false, version: 1, updatedAt: T0 };
      expect(await store.putRollout(draft, 0, [])).toBe(true);
      expect((await store.listRollouts()).map((r) => r.workflow)).toEqual(['new-one', 'route-leads']);
      expect((await store.auditHead()).seq).toBe(2);
    });

    it('reports a healthy store as writable, and a closed one as unavailable', async () => {
      const store = getStore();
      expect(await store.checkWritable()).toEqual({ ok: true });
      expect(await store.checkWritable()).toEqual({ ok: true });
      await store.close();
      expect(await rejectionCode(store.getProposal('x'))).toBe('STORE_UNAVAILABLE');
      expect(await rejectionCode(store.appendAudit([makeEvent()]))).toBe('STORE_UNAVAILABLE');
      expect((await store.checkWritable()).ok).toBe(false);
    });
  });
}
