/**
 * The audit-trail part of the store conformance suite (see store-conformance.ts): appends,
 * the chain, queries and retention purges, through the port only.
 */
import { describe, expect, it } from 'vitest';
import {
  createMerkleFrontier, merkleLeafHash, merkleRoot, parseAuditBody, type AuditEventDraft, type MerkleFrontierState, type SealedAuditEvent,
} from '@portcullis/core';
import type { Store } from './store.js';
import { DAY, T0, collectChain, makeEvent, rejectionCode, verifyStore } from './store-conformance-fixtures.js';

const hex = (h: Uint8Array): string => Buffer.from(h).toString('hex');

/** Registers the audit tests inside the current describe; `getStore` returns a migrated store. */
export function describeAuditConformance(getStore: () => Store): void {
  describe('audit trail', () => {
    it('seals appended events in order after the head, each with one hash: its body\'s leaf hash, no chain link', async () => {
      const store = getStore();
      const sealed = await store.appendAudit([makeEvent({ data: { i: 1 } }), makeEvent({ data: { i: 2 } })]);
      expect(sealed.map((e) => e.seq)).toEqual([1, 2]);
      for (const event of sealed) expect(hex(event.leafHash)).toBe(hex(merkleLeafHash(event.body)));
      expect(parseAuditBody(sealed[1]?.body ?? '')).toMatchObject({ seq: 2, data: { i: 2 }, type: 'proposal.received' });
      expect(await store.auditHead()).toEqual({ seq: 2, hash: hex(sealed[1]?.leafHash ?? new Uint8Array()) });
      expect(await store.appendAudit([])).toEqual([]);
      expect(await collectChain(store.readAuditTrail())).toEqual(sealed.map((e) => ({ seq: e.seq, body: e.body, prevHash: '', hash: hex(e.leafHash) })));
      expect((await store.auditTree()).chainThrough).toBe(0);
    });

    it('keeps a verifiable chain under 500 concurrent appends', async () => {
      const store = getStore();
      const calls: Promise<SealedAuditEvent[]>[] = [];
      for (let i = 0; i < 500; i += 1) {
        const drafts: AuditEventDraft[] = [makeEvent({ data: { i } })];
        if (i % 5 === 0) drafts.push(makeEvent({ type: 'proposal.decided', data: { i } }));
        calls.push(store.appendAudit(drafts));
      }
      const results = await Promise.all(calls);
      const seqs = results.flat().map((e) => e.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 600 }, (_, k) => k + 1));
      for (const events of results) {
        for (let k = 1; k < events.length; k += 1) expect(events[k]?.seq).toBe((events[k - 1]?.seq ?? 0) + 1);
      }
      expect(await verifyStore(store, 97)).toMatchObject({ ok: true, count: 600, last: { seq: 600 } });
    });

    it('queries events by workflow, proposal, type, actor and time', async () => {
      const store = getStore();
      const ana = { kind: 'person', id: 'ana' } as const;
      await store.appendAudit([
        makeEvent({ workflow: 'w1', proposalId: 'p1', at: T0 }),
        makeEvent({ workflow: 'w2', proposalId: 'p2', at: T0 + 10 }),
        makeEvent({ workflow: 'w1', proposalId: 'p1', at: T0 + 20, type: 'approval.granted', actor: ana }),
        makeEvent({ workflow: undefined, at: T0 + 30, type: 'gateway.started', actor: { kind: 'system', id: 'gateway' } }),
        makeEvent({ workflow: 'w3', proposalId: 'p3', at: T0 + 40, type: 'approval.rejected', actor: ana }),
      ]);
      const seqs = async (filter: Parameters<Store['queryAudit']>[0]): Promise<number[]> => (await store.queryAudit(filter)).map((e) => e.seq);
      expect(await seqs({ limit: 100 })).toEqual([1, 2, 3, 4, 5]);
      expect(await seqs({ limit: 100, workflows: ['w1', 'w3'] })).toEqual([1, 3, 5]);
      expect(await seqs({ limit: 100, workflows: [] })).toEqual([]);
      expect(await seqs({ limit: 100, proposalId: 'p1' })).toEqual([1, 3]);
      expect(await seqs({ limit: 100, types: ['approval.granted', 'approval.rejected'] })).toEqual([3, 5]);
      expect(await seqs({ limit: 100, types: [] })).toEqual([]);
      expect(await seqs({ limit: 100, actorId: 'ana' })).toEqual([3, 5]);
      expect(await seqs({ limit: 100, from: T0 + 10, to: T0 + 30 })).toEqual([2, 3, 4]);
      expect(await seqs({ limit: 100, workflows: ['w1'], actorId: 'ana', from: T0 + 1 })).toEqual([3]);
      expect(await seqs({ limit: 0 })).toEqual([]);

      const [event] = await store.queryAudit({ limit: 1, types: ['gateway.started'] });
      expect(event).toMatchObject({ seq: 4, v: 1, type: 'gateway.started', at: T0 + 30, actor: { kind: 'system', id: 'gateway' }, data: {} });
      expect(event).not.toHaveProperty('workflow');
      const chain = await collectChain(store.readAuditTrail());
      expect(event?.leafHash).toBe(chain[3]?.hash);
      expect(event?.leafHash).toBe(hex(merkleLeafHash(chain[3]?.body ?? '')));
      expect(event?.treeIndex).toBe(3);
    });

    it('pages the audit trail by sequence, ascending and descending', async () => {
      const store = getStore();
      await store.appendAudit(Array.from({ length: 25 }, (_, i) => makeEvent({ data: { i } })));
      const pagesAsc: number[][] = [];
      let after = 0;
      for (;;) {
        const page = await store.queryAudit({ limit: 10, afterSeq: after });
        if (page.length === 0) break;
        pagesAsc.push(page.map((e) => e.seq));
        after = page.at(-1)?.seq ?? after;
      }
      expect(pagesAsc.map((p) => p.length)).toEqual([10, 10, 5]);
      expect(pagesAsc.flat()).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));

      const first = await store.queryAudit({ limit: 10, order: 'desc' });
      expect(first.map((e) => e.seq)).toEqual([25, 24, 23, 22, 21, 20, 19, 18, 17, 16]);
      const second = await store.queryAudit({ limit: 10, order: 'desc', beforeSeq: 16 });
      expect(second.map((e) => e.seq)).toEqual([15, 14, 13, 12, 11, 10, 9, 8, 7, 6]);
      expect((await store.queryAudit({ limit: 10, order: 'desc', beforeSeq: 4, afterSeq: 1 })).map((e) => e.seq)).toEqual([3, 2]);
    });

    it('reads the whole chain in batches of any size', async () => {
      const store = getStore();
      await store.appendAudit(Array.from({ length: 20 }, (_, i) => makeEvent({ data: { i } })));
      for (const size of [1, 7, 20, 21, 500]) {
        expect((await collectChain(store.readAuditTrail(size))).map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }
    });

    it('purges old events, leaving a checkpoint, a verifiable chain and an audit.purged event', async () => {
      const store = getStore();
      const sealed = await store.appendAudit(Array.from({ length: 10 }, (_, i) => makeEvent({ at: T0 + i * DAY, data: { i } })));
      const at = T0 + 200 * DAY;
      const result = await store.purgeAudit(T0 + 5 * DAY, at, 'retention');
      expect(result).toEqual({ purged: 5, anchor: { seq: 5, hash: hex(sealed[4]?.leafHash ?? new Uint8Array()) } });
      expect(await store.auditAnchor()).toEqual(result.anchor);
      const chain = await collectChain(store.readAuditTrail(3));
      expect(chain.map((e) => e.seq)).toEqual([6, 7, 8, 9, 10, 11]);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 6 });
      const [purgedEvent] = await store.queryAudit({ limit: 1, order: 'desc' });
      expect(purgedEvent).toMatchObject({
        seq: 11, type: 'audit.purged', at,
        data: { throughSeq: 5, anchorHash: hex(sealed[4]?.leafHash ?? new Uint8Array()), purged: 5, treeSize: 5, treeRoot: hex(merkleRoot(sealed.map((e) => e.leafHash), 5)) },
      });
      expect(await store.queryAudit({ limit: 100, to: T0 + 4 * DAY })).toEqual([]);

      // Nothing more to purge: nothing is written.
      const head = await store.auditHead();
      expect(await store.purgeAudit(T0 + 5 * DAY, at, 'retention')).toEqual({ purged: 0, anchor: result.anchor });
      expect(await store.auditHead()).toEqual(head);

      // Appends continue the chain after a purge, and a second purge anchors further on.
      await store.appendAudit([makeEvent({ at: at + 1 })]);
      const second = await store.purgeAudit(T0 + 8 * DAY, at + 2, 'retention');
      expect(second.purged).toBe(3);
      expect(second.anchor.seq).toBe(8);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 5 });
    });

    it('purges only a prefix of the chain, even if a later event carries an older time', async () => {
      const store = getStore();
      await store.appendAudit([T0, T0 + 10 * DAY, T0, T0 + 20 * DAY].map((t) => makeEvent({ at: t })));
      const result = await store.purgeAudit(T0 + 5 * DAY, T0 + 400 * DAY, 'retention');
      expect(result.purged).toBe(1);
      expect(result.anchor.seq).toBe(1);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 4 });
    });

    it('purges everything older, including the newest event, and still verifies from the checkpoint', async () => {
      const store = getStore();
      const sealed = await store.appendAudit([makeEvent({ at: T0 }), makeEvent({ at: T0 + 1 })]);
      const result = await store.purgeAudit(T0 + DAY, T0 + 100 * DAY, 'retention');
      expect(result).toEqual({ purged: 2, anchor: { seq: 2, hash: hex(sealed[1]?.leafHash ?? new Uint8Array()) } });
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 1 });
    });

    it('keeps the Merkle tree over every event body, appended in the same transaction as the events', async () => {
      const store = getStore();
      expect(await store.auditTree()).toEqual({ baseSeq: 0, chainThrough: 0, frontier: { size: 0, hashes: [] } });
      await Promise.all(Array.from({ length: 13 }, (_, i) => store.appendAudit([makeEvent({ data: { i } }), makeEvent({ data: { i, again: true } })])));
      const chain = await collectChain(store.readAuditTrail());
      const leaves = chain.map((e) => merkleLeafHash(e.body));
      const tree = await store.auditTree();
      expect(tree.baseSeq).toBe(0);
      expect(tree.frontier.size).toBe(26);
      expect(hex(createMerkleFrontier(tree.frontier).root())).toBe(hex(merkleRoot(leaves)));
      expect((await store.queryAudit({ limit: 3, afterSeq: 10 })).map((e) => e.treeIndex)).toEqual([10, 11, 12]);
    });

    it('keeps the tree\'s interior nodes of 256 leaves and more as they complete, for proofs', async () => {
      const store = getStore();
      const sealed: SealedAuditEvent[] = [];
      for (let i = 0; i < 6; i += 1) sealed.push(...await store.appendAudit(Array.from({ length: 100 }, (_, k) => makeEvent({ data: { i, k } }))));
      const leaves = sealed.map((e) => e.leafHash);
      const node = async (height: number, index: number): Promise<string | undefined> => {
        const hash = await store.auditTreeNode(height, index);
        return hash === undefined ? undefined : hex(hash);
      };
      expect(await node(8, 0)).toBe(hex(merkleRoot(leaves.slice(0, 256))));
      expect(await node(8, 1)).toBe(hex(merkleRoot(leaves.slice(256, 512))));
      expect(await node(9, 0)).toBe(hex(merkleRoot(leaves.slice(0, 512))));
      // Not complete yet (leaves 512–599 of 768), or below the kept height.
      expect(await node(8, 2)).toBeUndefined();
      expect(await node(7, 0)).toBeUndefined();
    });

    it('keeps the tree through a purge, with the frontier at the purge point', async () => {
      const store = getStore();
      const sealed = await store.appendAudit(Array.from({ length: 10 }, (_, i) => makeEvent({ at: T0 + i * DAY, data: { i } })));
      const leaves = sealed.map((e) => merkleLeafHash(e.body));
      await store.purgeAudit(T0 + 5 * DAY, T0 + 200 * DAY, 'retention');
      const [purge, ...more] = await store.auditPurges();
      expect(more).toEqual([]);
      expect(purge?.throughSeq).toBe(5);
      expect(hex(createMerkleFrontier(purge?.frontier as MerkleFrontierState).root())).toBe(hex(merkleRoot(leaves, 5)));
      const tree = await store.auditTree();
      expect(tree.frontier.size).toBe(11);
      // A purge removes bodies, not leaves: the events that stay keep their tree index.
      expect((await store.queryAudit({ limit: 2 })).map((e) => [e.seq, e.treeIndex])).toEqual([[6, 5], [7, 6]]);
      const purgedEvent = (await collectChain(store.readAuditTrail())).at(-1);
      const all = [...leaves, merkleLeafHash(purgedEvent?.body ?? '')];
      expect(hex(createMerkleFrontier(tree.frontier).root())).toBe(hex(merkleRoot(all)));
      // The deleted events' leaf hashes are kept, and the purge event says so.
      const kept = (await collectChain(store.readPurgedLeaves(2))).map((l) => [l.seq, hex(l.leafHash)]);
      expect(kept).toEqual(leaves.slice(0, 5).map((leaf, i) => [i + 1, hex(leaf)]));
      expect(purgedEvent?.body).toContain('"leavesKept":true');
    });

    it('finds no column mismatch in a trail written through the port, whatever its strings hold', async () => {
      const store = getStore();
      await store.appendAudit([
        makeEvent({ workflow: undefined, proposalId: undefined }),
        makeEvent({ workflow: 'w\n"\\é\u2028', proposalId: 'p\t1', actor: { kind: 'person', id: 'ana\u0001 \ud83d\ude00' } }),
        makeEvent({ type: 'approval.granted', at: T0 + 2 ** 40 }),
      ]);
      expect(await store.findAuditColumnMismatch()).toBeUndefined();
    });

    it('refuses to purge events younger than 90 days', async () => {
      const store = getStore();
      await store.appendAudit([makeEvent({ at: T0 })]);
      const at = T0 + 100 * DAY;
      await expect(store.purgeAudit(at - 89 * DAY, at, 'retention')).rejects.toThrow(/90 days/);
      expect(await rejectionCode(store.purgeAudit(at, at, 'retention'))).toBe('INVALID_REQUEST');
      expect(await store.auditHead()).toMatchObject({ seq: 1 });
      expect((await store.purgeAudit(at - 90 * DAY, at, 'retention')).purged).toBe(1);
    });
  });
}
