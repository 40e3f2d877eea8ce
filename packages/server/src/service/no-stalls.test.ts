/**
 * No stalls: while another process holds a write lock on a SQLite target, a proposal waiting
 * on that system does not block the gateway: a /healthz request and a proposal for another
 * system, both started while the lock is held, are answered before the lock is released, and
 * the waiting proposal then completes. An ordering check, not a timing.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');
/** Holds an exclusive transaction on argv[2] until a line arrives on stdin; says "locked" once it holds it. */
const LOCKER = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2]);
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });
`;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function holdLock(path: string): Promise<{ release: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', LOCKER, BETTER_SQLITE3, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', () => resolve({
      release: async () => {
        child.stdin.write('go\n');
        await exited;
      },
    }));
  });
}

/** Resolves when the gateway announces a proposal as executing (its connector is called next). */
function nextExecuting(h: Harness): Promise<string> {
  const feed = h.gateway.service.deps.changes;
  const publish = feed.publish.bind(feed);
  return new Promise((resolve) => {
    vi.spyOn(feed, 'publish').mockImplementation((change) => {
      publish(change);
      if (change.kind === 'proposal' && change.status === 'executing') resolve(change.id);
    });
  });
}

describe('a SQLite target locked by another process', () => {
  it('answers /healthz and a proposal for another system while a write waits for the lock', async () => {
    harness = await openHarness({
      configYaml: harnessConfig({
        mode: 'mode: { read: auto, write: auto }',
        extraSystemsYaml: `
  notes:
    kind: sql
    driver: sqlite
    path: ./notes.db
    tables:
      notes: { primaryKey: id, columns: [id, text] }`,
        extraWorkflowYaml: `
  read-notes:
    description: Read notes
    agent: other-agent
    department: finance
    owner: tom
    runbook: Read them by hand.
    grants: [notes:notes:read]`,
      }),
      prepare: (dir) => {
        const db = new Database(join(dir, 'notes.db'));
        db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('hello')");
        db.close();
      },
    });
    const h = harness;
    const lock = await holdLock(h.crmPath);
    let released = false;
    try {
      const executing = nextExecuting(h);
      let writeSettled = false;
      const write = proposeAs(h, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } })
        .finally(() => { writeSettled = true; });
      await executing; // the write is now waiting on the locked CRM

      const [health, other] = await Promise.all([
        h.request(undefined, { method: 'GET', url: '/healthz' }),
        proposeAs(h, 'other', { workflow: 'read-notes', action: 'notes.notes.read', params: { ids: [1] } }),
      ]);
      expect(health.statusCode).toBe(200);
      expect(other.json()).toMatchObject({ status: 'succeeded', result: { rows: [{ id: 1, text: 'hello' }] } });
      // Both were answered while the lock was held and the write was still waiting.
      expect(writeSettled).toBe(false);

      await lock.release();
      released = true;
      expect((await write).json()).toMatchObject({ status: 'succeeded' });
      expect(readLead(h, 1)?.owner_id).toBe('rep-amara');
    } finally {
      if (!released) await lock.release();
    }
  });
});
