import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../testing/temp-dir.js';
import { makeEvent, verifyStore } from '../store-conformance-fixtures.js';
import { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { startWalCheckpointer, type CheckpointRow } from './sqlite-wal-checkpointer.js';
import { openStore } from '../../wiring/gateway.js';

const dir = makeTempDir('portcullis-wal-checkpointer');
afterAll(() => dir.cleanup());
let files = 0;

describe('WAL checkpoints in a worker thread', () => {
  const opened: SqliteStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  const open = async (options: Partial<SqliteStoreOptions> = {}): Promise<SqliteStore & { path: string }> => {
    const path = join(dir.path, `wal-${(files += 1)}.db`);
    const store = createSqliteStore({ path, ...options });
    opened.push(store);
    await store.migrate();
    return Object.assign(store, { path });
  };
  /** `batches` transactions of `size` events each, each sent as soon as the one before committed. */
  const appendBatches = async (store: SqliteStore, batches: number, size: number, each?: () => void): Promise<void> => {
    for (let b = 0; b < batches; b += 1) {
      await Promise.all(Array.from({ length: size }, (_, i) => store.appendAudit([makeEvent({ data: { b, i, pad: 'x'.repeat(400) } })])));
      each?.();
    }
  };
  const walBytes = (path: string): number => statSync(`${path}-wal`).size;
  const autocheckpoint = (db: Database.Database): number => db.pragma('wal_autocheckpoint', { simple: true }) as number;

  it('copies the WAL into the database file from the worker; the connection\'s own automatic checkpoint is off', async () => {
    const store = await open({ checkpointer: { intervalMs: 0 } });
    expect(autocheckpoint(store.database)).toBe(0);
    await appendBatches(store, 3, 200);
    await store.checkpointsIdle();
    const stats = store.checkpointStats();
    expect(stats?.checkpoints).toBeGreaterThan(0);
    expect(stats?.failure).toBeUndefined();
    expect(stats?.checkpointedFrames).toBe(stats?.walFrames);
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it('keeps a WAL under steady writes from growing without end: the writer finishes the checkpoint, and the WAL restarts', async () => {
    const restartFrames = 40;
    const store = await open({ checkpointer: { intervalMs: 0, restartFrames } });
    // The worker is running once it has answered (the WAL file keeps the size it grew to meanwhile).
    await appendBatches(store, 1, 100);
    await store.checkpointsIdle();
    const before = walBytes(store.path);
    // Each transaction is sent as soon as the one before committed, so the worker always trails the newest commit.
    await appendBatches(store, 40, 100);
    expect(store.checkpointStats()?.catchUps).toBeGreaterThan(0);
    // 40 transactions of 100 events (about 40 WAL frames each) would add some 6 MB to a WAL that never restarted.
    expect(walBytes(store.path) - before).toBeLessThan(10 * restartFrames * (4096 + 24));
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it('starts no checkpoint in the worker while the writer\'s catch-up is due: one running then would make the catch-up busy, and the WAL would not restart', async () => {
    const path = join(dir.path, `wal-${(files += 1)}.db`);
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (x TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const write = (rows: number): void => { db.transaction(() => { for (let i = 0; i < rows; i += 1) insert.run('x'.repeat(2000)); })(); };
    const checkpointer = startWalCheckpointer({ path, intervalMs: 0, restartFrames: 20, fallBack: () => {} });
    try {
      write(50);
      checkpointer.committed();
      await checkpointer.idle();
      expect(checkpointer.catchUpDue()).toBe(true);
      const ran = checkpointer.stats().checkpoints;
      // The next commits, before the writer's next transaction.
      write(50);
      checkpointer.committed();
      await checkpointer.idle();
      expect(checkpointer.stats().checkpoints).toBe(ran);
      // The writer's catch-up then finds no checkpoint running, copies the whole WAL, and the worker resumes.
      const [row] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
      expect(row).toMatchObject({ busy: 0 });
      checkpointer.caughtUp(row as CheckpointRow);
      expect(checkpointer.catchUpDue()).toBe(false);
      write(1);
      checkpointer.committed();
      await checkpointer.idle();
      expect(checkpointer.stats().checkpoints).toBe(ran + 1);
    } finally {
      await checkpointer.close();
      db.close();
    }
  });

  it('falls back to SQLite\'s automatic checkpoint when the worker cannot start, and keeps writing', async () => {
    const store = await open({ checkpointer: { driver: join(dir.path, 'no-such-driver.js') } });
    await appendBatches(store, 1, 10);
    await store.checkpointsIdle();
    expect(store.checkpointStats()?.failure).toMatch(/the WAL checkpoint worker failed: cannot open .*no-such-driver/);
    expect(autocheckpoint(store.database)).toBe(1000);
    await appendBatches(store, 2, 10);
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it('starts no worker for a store that is only read, in memory, or set to checkpoint inline', async () => {
    const reader = await open();
    const path = reader.path;
    await reader.close();
    const again = createSqliteStore({ path });
    opened.push(again);
    await again.auditHead();
    expect(again.checkpointStats()).toBeUndefined();

    const memory = await open({ path: ':memory:' });
    await memory.appendAudit([makeEvent()]);
    expect(memory.checkpointStats()).toBeUndefined();

    const inline = await open({ checkpoints: 'inline' });
    await inline.appendAudit([makeEvent()]);
    expect(inline.checkpointStats()).toBeUndefined();
    expect(autocheckpoint(inline.database)).toBe(1000);
  });

  it('holds no process open: an idle worker and its message port are unref\'d (a store left unclosed lets the process end)', async () => {
    const held = (): string[] => process.getActiveResourcesInfo().filter((kind) => kind === 'MessagePort' || kind === 'Worker');
    const before = held();
    const store = await open({ checkpointer: { intervalMs: 0 } });
    await appendBatches(store, 1, 10);
    await store.checkpointsIdle();
    expect(store.checkpointStats()?.checkpoints).toBeGreaterThan(0);
    expect(held()).toEqual(before);
  });

  it('starts no worker for a transaction that kept no write, and closes once for every caller', async () => {
    const path = join(dir.path, `wal-${(files += 1)}.db`);
    const unmigrated = createSqliteStore({ path });
    opened.push(unmigrated);
    await expect(unmigrated.appendAudit([makeEvent()])).rejects.toThrow(/cannot be written/);
    expect(unmigrated.stats().committed).toBe(1);
    expect(unmigrated.checkpointStats()).toBeUndefined();

    const store = await open({ checkpointer: { intervalMs: 0 } });
    await appendBatches(store, 1, 10);
    const [first, second] = [store.close(), store.close()];
    await second;
    expect(store.database.open).toBe(false);
    await first;
  });

  it('openStore closes a store it could not migrate (a database from a newer Portcullis): nothing is left open', async () => {
    const path = join(dir.path, `wal-${(files += 1)}.db`);
    const newer = new Database(path);
    newer.pragma('journal_mode = WAL');
    newer.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT; INSERT INTO schema_migrations VALUES (9999, 'from the future', 0);");
    newer.close();
    const held = (): string[] => process.getActiveResourcesInfo().filter((kind) => kind === 'MessagePort' || kind === 'Worker');
    const before = held();
    await expect(openStore({ kind: 'sqlite', path })).rejects.toThrow(/newer than this Portcullis knows/);
    expect(held()).toEqual(before);
    // Closed: its WAL was checkpointed and removed by the last connection.
    expect(() => statSync(`${path}-wal`)).toThrow(/ENOENT/);
  });

  it('leaves no WAL behind after close: the gateway\'s connection closes last and checkpoints it all', async () => {
    const store = await open({ checkpointer: { intervalMs: 0 } });
    await appendBatches(store, 2, 50);
    await store.close();
    expect(() => statSync(`${store.path}-wal`)).toThrow(/ENOENT/);
    const raw = new Database(store.path, { readonly: true });
    try {
      expect((raw.prepare('SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n).toBeGreaterThanOrEqual(100);
    } finally {
      raw.close();
    }
  });
});
