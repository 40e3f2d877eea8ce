import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../testing/temp-dir.js';
import { makeEvent, verifyStore } from '../store-conformance-fixtures.js';
import { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

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

  it('copies the WAL into the database file from the worker; the connection never checkpoints inside a COMMIT', async () => {
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
