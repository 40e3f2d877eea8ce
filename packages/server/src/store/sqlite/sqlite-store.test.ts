import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMerkleFrontier, merkleLeafHash, merkleRoot, type SealedAuditEvent } from '@portcullis/core';
import { writeLegacyTrail } from '../../testing/legacy-trail.js';
import { makeTempDir } from '../../testing/temp-dir.js';
import { describeStoreConformance } from '../store-conformance.js';
import { T0, collectChain, makeEvent, makeProposal, rejectionCode, verifyStore } from '../store-conformance-fixtures.js';
import { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';

const dir = makeTempDir('portcullis-sqlite-store');
afterAll(() => dir.cleanup());
let files = 0;
const nextPath = (): string => join(dir.path, `store-${(files += 1)}.db`);

describeStoreConformance('sqlite (file)', async () => createSqliteStore({ path: nextPath() }));
describeStoreConformance('sqlite (:memory:)', async () => createSqliteStore({ path: ':memory:' }));

describe('SQLite store', () => {
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const handle of opened.splice(0)) await handle.close();
  });
  const open = async (options: Partial<SqliteStoreOptions> = {}): Promise<SqliteStore & { path: string }> => {
    const path = options.path ?? nextPath();
    const store = createSqliteStore({ ...options, path });
    opened.push(store);
    await store.migrate();
    return Object.assign(store, { path });
  };
  /** A second connection to the same file, as another process (or an attacker) would have. */
  const connect = (path: string): Database.Database => {
    const raw = new Database(path);
    opened.push(raw);
    return raw;
  };
  const withTenEvents = async (): Promise<{ store: SqliteStore & { path: string }; sealed: SealedAuditEvent[] }> => {
    const store = await open();
    const sealed = await store.appendAudit(Array.from({ length: 10 }, (_, i) => makeEvent({ data: { i } })));
    return { store, sealed };
  };

  const attacker = (path: string): Database.Database => {
    const raw = connect(path);
    raw.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;');
    return raw;
  };

  describe('tamper evidence (an attacker with the file drops the triggers and edits rows)', () => {

    it('refuses to open a store whose audit head row was deleted, saying the store was edited', async () => {
      const { store } = await withTenEvents();
      const path = store.path;
      await store.close();
      const raw = attacker(path);
      raw.exec('DROP TRIGGER IF EXISTS audit_head_no_delete; DELETE FROM audit_head;');
      raw.close();
      const reopened = createSqliteStore({ path });
      opened.push(reopened);
      await expect(reopened.migrate()).rejects.toThrow(/the audit head is missing \(table audit_head has no row\): the store was edited/);
    });

    it('names the event whose body lost or changed one byte', async () => {
      const { store } = await withTenEvents();
      const raw = attacker(store.path);
      const { body } = raw.prepare('SELECT body FROM audit_events WHERE seq = 4').get() as { body: string };
      const index = body.indexOf('"i":3') + 4;
      raw.prepare('UPDATE audit_events SET body = ? WHERE seq = 4').run(`${body.slice(0, index)}8${body.slice(index + 1)}`);
      const result = await verifyStore(store);
      expect(result).toMatchObject({ ok: false, count: 3, break: { seq: 4 } });
      expect(!result.ok && result.break.problem).toMatch(/event 4 was edited/);
    });

    it('names a deleted event', async () => {
      const { store } = await withTenEvents();
      attacker(store.path).exec('DELETE FROM audit_events WHERE seq = 6');
      const result = await verifyStore(store);
      expect(result).toMatchObject({ ok: false, break: { seq: 6 } });
      expect(!result.ok && result.break.problem).toMatch(/event 6 is missing/);
    });

    it('detects the deletion of the newest event through the recorded head', async () => {
      const { store } = await withTenEvents();
      attacker(store.path).exec('DELETE FROM audit_events WHERE seq = 10');
      expect((await collectChain(store.readAuditTrail())).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const result = await verifyStore(store);
      expect(result).toMatchObject({ ok: false, break: { seq: 10 } });
      expect(!result.ok && result.break.problem).toMatch(/recorded head is 10/);
    });

    it('refuses to purge a chain that does not verify', async () => {
      const { store } = await withTenEvents();
      attacker(store.path).exec('DELETE FROM audit_events WHERE seq = 2');
      await expect(store.purgeAudit(T0 + 1, T0 + 100 * 86_400_000, 'retention')).rejects.toThrow(/event 2 is missing.*nothing was deleted/);
      expect((await store.queryAudit({ limit: 100 })).length).toBe(9);
    });
  });

  describe('fails closed', () => {
    it('rejects every write of a batch with STORE_UNAVAILABLE when the database is full, and recovers', async () => {
      const store = await open();
      await store.insertProposal(makeProposal(), [makeEvent()]);
      const pages = store.database.pragma('page_count', { simple: true }) as number;
      store.database.pragma(`max_page_count = ${pages}`);
      const head = await store.auditHead();

      const big = makeProposal({ params: { blob: 'x'.repeat(200_000) } });
      const [small, large] = await Promise.allSettled([store.appendAudit([makeEvent()]), store.insertProposal(big, [makeEvent()])]);
      for (const outcome of [small, large]) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as Error & { code: string };
        expect(error.code).toBe('STORE_UNAVAILABLE');
        expect(error.message).toMatch(/^the audit store cannot be written \(SQLITE_FULL: database or disk is full.*\); nothing was executed$/);
      }
      const health = await store.checkWritable();
      expect(health.ok).toBe(false);
      expect(!health.ok && health.error).toMatch(/full/);
      expect(await store.getProposal(big.id)).toBeUndefined();
      expect(await store.auditHead()).toEqual(head);

      store.database.pragma('max_page_count = 1000000');
      expect(await store.checkWritable()).toEqual({ ok: true });
      await store.insertProposal(big, [makeEvent()]);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 2 });
    });

    it('reports a read-only database as not writable', async () => {
      const store = await open();
      store.database.pragma('query_only = ON');
      expect(await rejectionCode(store.appendAudit([makeEvent()]))).toBe('STORE_UNAVAILABLE');
      const health = await store.checkWritable();
      expect(health.ok).toBe(false);
      expect(!health.ok && health.error).toMatch(/SQLITE_READONLY/);
      store.database.pragma('query_only = OFF');
      expect(await store.checkWritable()).toEqual({ ok: true });
    });

    it('rejects the whole batch when BEGIN cannot take the write lock', async () => {
      const store = await open({ busyTimeoutMs: 10 });
      const other = connect(store.path);
      other.exec('BEGIN IMMEDIATE');
      const before = store.stats();
      const outcomes = await Promise.allSettled([store.appendAudit([makeEvent()]), store.insertProposal(makeProposal(), []), store.checkWritable()]);
      expect(outcomes.slice(0, 2).map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'resolved'))).toEqual(['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
      expect((outcomes[0] as PromiseRejectedResult).reason).toHaveProperty('message', expect.stringMatching(/SQLITE_BUSY.*nothing was executed/));
      expect(outcomes[2]).toMatchObject({ status: 'fulfilled', value: { ok: false } });
      expect(store.stats().failed - before.failed).toBe(1);
      other.exec('ROLLBACK');
      await store.appendAudit([makeEvent()]);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 1 });
    });
  });

  describe('group commit', () => {
    it('commits 200 concurrent appends in far fewer transactions, resolving each only after its commit', async () => {
      const store = await open();
      const reader = connect(store.path);
      const visible = reader.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE seq = ?');
      const before = store.stats();
      let notYetCommitted = 0;
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendAudit([makeEvent({ data: { i } })]).then(([event]) => {
        if ((visible.get(event?.seq) as { n: number }).n !== 1) notYetCommitted += 1;
      })));
      const after = store.stats();
      expect(notYetCommitted).toBe(0);
      expect(after.operations - before.operations).toBe(200);
      expect(after.batches - before.batches).toBeLessThanOrEqual(5);
      expect(after.committed - before.committed).toBe(after.batches - before.batches);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 200 });
    });

    it('keeps one chain when two connections (e.g. the gateway and the CLI) append to the same file', async () => {
      const first = await open();
      const second = await open({ path: first.path });
      for (let round = 0; round < 5; round += 1) {
        await Promise.all([first.appendAudit([makeEvent({ data: { round } })]), second.appendAudit([makeEvent({ data: { round } })])]);
        await second.appendAudit([makeEvent()]);
        await first.appendAudit([makeEvent()]);
      }
      await second.purgeAudit(T0 + 1, T0 + 100 * 86_400_000, 'retention');
      await first.appendAudit([makeEvent()]);
      expect(await verifyStore(first)).toMatchObject({ ok: true, count: 2 });
      expect(await first.auditHead()).toEqual(await second.auditHead());
    });

    it('runs a batch again, each write isolated, when one write throws, keeping the others and the head', async () => {
      const store = await open();
      const before = store.stats();
      const results = await Promise.allSettled([
        store.appendAudit([makeEvent({ data: { n: 1 } })]),
        store.appendAudit([makeEvent({ data: { n: 2 } }), makeEvent({ data: { n: Number.NaN } })]),
        store.appendAudit([makeEvent({ data: { n: 3 } })]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const after = store.stats();
      expect(after.batches - before.batches).toBe(1);
      expect(after.retried - before.retried).toBe(1);
      expect((await store.queryAudit({ limit: 10 })).map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }]);
      expect(await store.auditHead()).toMatchObject({ seq: 2 });
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 2 });
    });

    it('caps the size of a batch', async () => {
      const store = await open({ maxBatch: 50 });
      const before = store.stats();
      await Promise.all(Array.from({ length: 200 }, () => store.appendAudit([makeEvent()])));
      expect(store.stats().batches - before.batches).toBe(4);
      expect(store.stats().largestBatch).toBe(50);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 200 });
    });
  });

  describe('the Merkle tree', () => {
    const legacyDrafts = Array.from({ length: 600 }, (_, i) => makeEvent({ data: { i } }));
    const hexOf = (h: Uint8Array): string => Buffer.from(h).toString('hex');

    for (const schema of [5, 6] as const) {
      it(`upgrades a chained trail (schema ${schema}): verifies the old chain, builds the tree and its nodes, then seals new events with one leaf hash`, async () => {
        const path = nextPath();
        const chained = writeLegacyTrail(path, legacyDrafts, schema);
        const store = await open({ path });
        const tree = await store.auditTree();
        expect(tree.chainThrough).toBe(600);
        expect(hexOf(createMerkleFrontier(tree.frontier).root())).toBe(hexOf(merkleRoot(chained.map((e) => merkleLeafHash(e.body)))));
        // Interior nodes of height 8 and 9 (256 and 512 leaves) are kept for proofs.
        expect(store.database.prepare('SELECT height, idx FROM audit_tree_nodes ORDER BY height, idx').all()).toEqual([{ height: 8, idx: 0 }, { height: 8, idx: 1 }, { height: 9, idx: 0 }]);
        expect(hexOf(await store.auditTreeNode(9, 0) ?? new Uint8Array())).toBe(hexOf(merkleRoot(chained.slice(0, 512).map((e) => merkleLeafHash(e.body)))));
        // No stored row was rewritten.
        const first = store.database.prepare('SELECT body, prev_hash, hash FROM audit_events WHERE seq = 600').get();
        expect(first).toEqual({ body: chained[599]?.body, prev_hash: chained[599]?.prevHash, hash: chained[599]?.hash });
        const [next] = await store.appendAudit([makeEvent()]);
        expect(store.database.prepare('SELECT prev_hash, hash FROM audit_events WHERE seq = 601').get()).toEqual({ prev_hash: '', hash: hexOf(next?.leafHash ?? new Uint8Array()) });
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 601 });
        expect(await store.purgeAudit(T0 + 1, T0 + 100 * 86_400_000, 'retention')).toMatchObject({ purged: 601 });
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 1 });
      });
    }

    it('verifies the old chain before building the tree at upgrade, and refuses to build it over a broken one', async () => {
      const path = nextPath();
      writeLegacyTrail(path, legacyDrafts.slice(0, 10));
      const raw = connect(path);
      raw.exec(`DROP TRIGGER audit_events_no_update; UPDATE audit_events SET body = replace(body, '"i":4', '"i":9') WHERE seq = 5;`);
      const store = createSqliteStore({ path });
      opened.push(store);
      await expect(store.migrate()).rejects.toThrow(/cannot build the audit tree over the existing trail: event 5 was edited/);
      expect(store.database.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: 5 });
    });

    it('names an edited old event by its chain link, and an edited new one by its leaf hash', async () => {
      const path = nextPath();
      writeLegacyTrail(path, legacyDrafts.slice(0, 10), 6);
      const store = await open({ path });
      await store.appendAudit(legacyDrafts.slice(10, 20));
      const raw = attacker(store.path);
      raw.exec(`UPDATE audit_events SET body = replace(body, '"i":14', '"i":41') WHERE seq = 15;`);
      expect(await verifyStore(store)).toMatchObject({ ok: false, break: { seq: 15, problem: 'event 15 was edited: its body and its stored leaf hash no longer match (one of them was changed)' } });
      raw.exec(`UPDATE audit_events SET body = replace(body, '"i":3', '"i":7') WHERE seq = 4;`);
      expect(await verifyStore(store)).toMatchObject({ ok: false, break: { seq: 4, problem: 'event 4 was edited: its content no longer matches its hash' } });
    });

    it('appends nothing over a tree node planted before its events existed', async () => {
      const { store } = await withTenEvents();
      store.database.prepare('INSERT INTO audit_tree_nodes (height, idx, hash) VALUES (8, 0, ?)').run(Buffer.alloc(32, 7));
      await expect(store.appendAudit(Array.from({ length: 300 }, () => makeEvent()))).rejects.toThrow(/the stored audit tree node at height 8, index 0 \(table audit_tree_nodes\) was there before its events were appended, with another hash: the store was edited/);
      expect(store.database.prepare('SELECT MAX(seq) AS n FROM audit_events').get()).toEqual({ n: 10 });
    });

    it('names a tree-era event whose previous-hash column was filled in', async () => {
      const { store } = await withTenEvents();
      const raw = attacker(store.path);
      raw.exec(`UPDATE audit_events SET prev_hash = (SELECT hash FROM audit_events WHERE seq = 5) WHERE seq = 6;`);
      expect(await verifyStore(store)).toMatchObject({ ok: false, break: { seq: 6, problem: 'event 6 was edited: it is sealed by its leaf hash, so its stored previous-hash must be empty, and it is not' } });
    });

    it('refuses to move the end of the legacy chain', async () => {
      const store = await open();
      expect(() => store.database.prepare('UPDATE audit_tree SET chain_through = 5').run()).toThrow(/legacy audit chain never moves/);
      expect(() => store.database.prepare("INSERT INTO audit_tree_nodes (height, idx, hash) VALUES (8, 0, x'00')").run()).not.toThrow();
      expect(() => store.database.prepare('UPDATE audit_tree_nodes SET hash = x\'01\'').run()).toThrow(/append-only/);
    });

    it('refuses appends when the tree does not end at the head (events deleted and the head moved back)', async () => {
      const { store } = await withTenEvents();
      const raw = connect(store.path);
      raw.exec(`DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_head_forward_only;
        DELETE FROM audit_events WHERE seq > 8; UPDATE audit_head SET seq = 8, hash = (SELECT hash FROM audit_events WHERE seq = 8);`);
      await expect(store.appendAudit([makeEvent()])).rejects.toThrow(/the audit tree ends at event 10 but the trail's head is event 8/);
    });

    it('names an event whose filter columns were edited while its body was left alone', async () => {
      const { store } = await withTenEvents();
      expect(await store.findAuditColumnMismatch()).toBeUndefined();
      const raw = connect(store.path);
      raw.exec("DROP TRIGGER audit_events_no_update; UPDATE audit_events SET actor_id = 'mallory' WHERE seq = 7; UPDATE audit_events SET type = 'approval.granted' WHERE seq = 9;");
      expect(await store.findAuditColumnMismatch()).toEqual({ seq: 7, column: 'actor_id' });
      raw.exec("UPDATE audit_events SET actor_id = 'lead-router' WHERE seq = 7;");
      expect(await store.findAuditColumnMismatch()).toEqual({ seq: 9, column: 'type' });
    });
  });

  describe('append-only triggers', () => {
    it('refuse UPDATE and DELETE of audit events and checkpoints through SQL, and let purge through', async () => {
      const { store } = await withTenEvents();
      const db = store.database;
      expect(() => db.prepare("UPDATE audit_events SET body = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_events WHERE seq = 10').run()).toThrow(/append-only/);
      expect(() => db.prepare('UPDATE audit_head SET seq = 3').run()).toThrow(/only moves forward/);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 10 });

      await store.purgeAudit(T0 + 1, T0 + 100 * 86_400_000, 'retention');
      expect(db.prepare('SELECT COUNT(*) AS n FROM audit_purge_permit').get()).toEqual({ n: 0 });
      expect(() => db.prepare('DELETE FROM audit_purges').run()).toThrow(/append-only/);
      expect(() => db.prepare('UPDATE audit_purges SET anchor_hash = 0').run()).toThrow(/append-only/);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 1 });
    });
  });

  describe('schema and durability', () => {
    it('records migrations once and refuses a database from a newer Portcullis', async () => {
      const store = await open();
      await store.migrate();
      expect(store.database.prepare('SELECT version FROM schema_migrations').all()).toEqual(SQLITE_MIGRATIONS.map((m) => ({ version: m.version })));
      store.database.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)").run();
      await expect(store.migrate()).rejects.toThrow(`schema is version 99, newer than this Portcullis knows (${SQLITE_MIGRATIONS.at(-1)?.version})`);
    });

    it('creates missing directories, uses WAL with synchronous FULL, and keeps everything across a reopen', async () => {
      const path = join(dir.path, 'nested', 'deeper', 'portcullis.db');
      const first = await open({ path });
      expect(first.database.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(first.database.pragma('synchronous', { simple: true })).toBe(2);
      expect(first.database.pragma('foreign_keys', { simple: true })).toBe(1);
      const p = makeProposal({ idempotencyKey: 'k' });
      await first.insertProposal(p, [makeEvent({ proposalId: p.id })]);
      await first.close();
      const second = await open({ path, synchronous: 'NORMAL' });
      expect(second.database.pragma('synchronous', { simple: true })).toBe(1);
      expect(await second.getProposal(p.id)).toEqual(p);
      expect(await verifyStore(second)).toMatchObject({ ok: true, count: 1 });
      await second.appendAudit([makeEvent()]);
      expect(await verifyStore(second)).toMatchObject({ ok: true, count: 2 });
    });

    it('fails to open with STORE_UNAVAILABLE naming the path', () => {
      const file = join(dir.path, 'not-a-directory');
      writeFileSync(file, '');
      const path = join(file, 'x.db');
      expect(() => createSqliteStore({ path })).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining(`cannot open ${path}`) }));
    });
  });
});
