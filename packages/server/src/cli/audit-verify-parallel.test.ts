/**
 * `portcullis audit verify --workers N`, run as a command of its own (from its sources, the
 * worker threads too): the tree rebuilt in aligned parts by worker threads must give exactly
 * the answer of one thread — the same count and tree when it is intact, and the first break in
 * trail order when it is not, including a break on the boundary between two parts. With 300
 * events and 3 workers the parts are leaves 0–127, 128–255 and 256–299 (events 1–128, 129–256, 257–300).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeEvent } from '../store/store-conformance-fixtures.js';
import { writeLegacyTrail } from '../testing/legacy-trail.js';
import { createMerkleFrontier, merkleLeafHash, merkleRoot } from '@portcullis/core';
import { signCheckpoint } from '../audit-log/checkpoint.js';
import { generateNoteKey, parseNoteSigner } from '../audit-log/signed-note.js';
import { frontierToBlob } from '../store/sqlite/sqlite-audit.js';
import { cliFromSources } from '../testing/cli-from-sources.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

const EVENTS = 300;
let dir: TempDir;
let db: string;

beforeEach(async () => {
  dir = makeTempDir('portcullis-verify-workers');
  db = join(dir.path, 'portcullis.db');
  const store = createSqliteStore({ path: db });
  await store.migrate();
  await Promise.all(Array.from({ length: EVENTS }, (_, i) => store.appendAudit([makeEvent({ data: { i } })])));
  await store.close();
});
afterEach(() => dir.cleanup());

async function verify(workers: number, more: readonly string[] = []): Promise<{ code: number; out: string; err: string }> {
  try {
    const cli = cliFromSources(['audit', 'verify', '--db', db, '--workers', String(workers), ...more]);
    const { stdout, stderr } = await promisify(execFile)(cli.command, cli.args, { env: { ...process.env, ...cli.env } });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout, err: failed.stderr };
  }
}

function tamper(sql: string, ...args: unknown[]): void {
  const conn = new Database(db);
  conn.exec('DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete;');
  conn.prepare(sql).run(...args);
  conn.close();
}

describe('portcullis audit verify --workers', () => {
  it('verifies an intact trail with the same count and tree as one thread', async () => {
    const one = await verify(1);
    const three = await verify(3);
    expect(one).toMatchObject({ code: 0, out: `audit trail OK: ${EVENTS} events verified (through event ${EVENTS}); tree of ${EVENTS} events matches the stored tree\n` });
    expect(three).toMatchObject({ code: 0, out: one.out });
    expect(one.err).not.toContain('worker threads');
    expect(three.err).toContain(`verifying ${EVENTS} events in 3 worker threads`);
  });

  it('names an edited event in a middle segment, with the count before it', async () => {
    tamper("UPDATE audit_events SET body = replace(body, '\"i\":150', '\"i\":151') WHERE seq = 151");
    const result = await verify(3);
    expect(result.err).toContain('in 3 worker threads');
    expect(result.code).toBe(1);
    expect(result.err).toContain('audit trail BROKEN at event 151: event 151 was edited');
    expect(result.err).toContain('(150 events before it verified)');
  });

  it('reports the earliest break when two segments are broken', async () => {
    tamper("UPDATE audit_events SET body = replace(body, '\"i\":250', '\"i\":251') WHERE seq = 251");
    tamper("UPDATE audit_events SET body = replace(body, '\"i\":40', '\"i\":41') WHERE seq = 41");
    const result = await verify(3);
    expect(result.code).toBe(1);
    expect(result.err).toContain('BROKEN at event 41: event 41 was edited');
  });

  for (const seq of [128, 129]) {
    it(`finds event ${seq}, on the boundary between two parts, deleted`, async () => {
      tamper('DELETE FROM audit_events WHERE seq = ?', seq);
      const result = await verify(3);
      expect(result.code).toBe(1);
      expect(result.err).toContain(`BROKEN at event ${seq}: event ${seq} is missing`);
    });
  }

  it('names the first bad event in trail order whether its body or only a filter column was edited, as one thread does', async () => {
    tamper("UPDATE audit_events SET actor_id = 'mallory' WHERE seq = 250");
    tamper("UPDATE audit_events SET body = replace(body, '\"i\":150', '\"i\":151') WHERE seq = 151");
    const [one, three] = [await verify(1), await verify(3)];
    expect(three.err).toContain('audit trail BROKEN at event 151: event 151 was edited');
    expect(one.err).toContain('audit trail BROKEN at event 151: event 151 was edited');
    tamper("UPDATE audit_events SET actor_id = 'mallory' WHERE seq = 20");
    expect((await verify(3)).err).toContain("BROKEN at event 20: event 20's stored actor_id column does not match its hashed body");
  }, 60_000);

  it('finds a changed leaf hash at the start of a part', async () => {
    tamper('UPDATE audit_events SET hash = ? WHERE seq = 129', 'f'.repeat(64));
    const result = await verify(3);
    expect(result.code).toBe(1);
    expect(result.err).toContain('BROKEN at event 129: event 129 was edited: its body and its stored leaf hash no longer match (one of them was changed)');
  });

  it('finds a consistent re-hash (body and leaf hash edited together) through the stored tree, as one thread does', async () => {
    const conn = new Database(db);
    const { body } = conn.prepare('SELECT body FROM audit_events WHERE seq = 200').get() as { body: string };
    conn.close();
    const edited = body.replace('"i":199', '"i":991');
    tamper('UPDATE audit_events SET body = ?, hash = ? WHERE seq = 200', edited, Buffer.from(merkleLeafHash(edited)).toString('hex'));
    const [one, three] = [await verify(1), await verify(3)];
    expect(one.code).toBe(1);
    expect(three.err.split('\n').at(-2)).toBe(one.err.split('\n').at(-2));
    expect(three.err).toMatch(/the stored tree \(300 events, root .*\) is not the tree of the stored events/);
  });

  it('finds a changed link of an event from before the tree, at the start of a part', async () => {
    const legacy = join(dir.path, 'legacy.db');
    writeLegacyTrail(legacy, Array.from({ length: EVENTS }, (_, i) => makeEvent({ data: { i } })));
    const store = createSqliteStore({ path: legacy });
    await store.migrate();
    await store.close();
    db = legacy;
    expect((await verify(3)).code).toBe(0);
    tamper('UPDATE audit_events SET prev_hash = ? WHERE seq = 129', 'f'.repeat(64));
    const result = await verify(3);
    expect(result.code).toBe(1);
    expect(result.err).toContain('BROKEN at event 129: event 129 does not link to event 128');
  });

  it('finds the newest events cut off through the recorded head', async () => {
    tamper('DELETE FROM audit_events WHERE seq > 290');
    const result = await verify(3);
    expect(result.code).toBe(1);
    expect(result.err).toContain('BROKEN at event 291: event 291–300 is missing');
  });

  it('with --checkpoints, checks every checkpoint inside any part and names a consistent re-hash as one thread does', async () => {
    const key = generateNoteKey('portcullis.test/audit');
    const conn = new Database(db);
    const bodies = (conn.prepare('SELECT body FROM audit_events ORDER BY seq').raw().all() as [string][]).map(([body]) => body);
    conn.close();
    const leaves = bodies.map((body) => merkleLeafHash(body));
    const log = join(dir.path, 'log');
    mkdirSync(log);
    const notes = [100, 128, 300].map((size) => signCheckpoint({ origin: 'portcullis.test/audit', size, root: merkleRoot(leaves, size) }, parseNoteSigner(key.signer)).note);
    writeFileSync(join(log, 'checkpoints.jsonl'), notes.map((note) => `${JSON.stringify({ note })}\n`).join(''));
    const run = (workers: number) => verify(workers, ['--checkpoints', log, '--key', key.verifier]);
    const [one, three] = [await run(1), await run(3)];
    expect(one).toMatchObject({ code: 0, out: 'audit trail OK: 300 events verified; tree of 300 events consistent with 3 signed checkpoints\n' });
    expect(three).toMatchObject({ code: 0, out: one.out });
    expect(three.err).toContain('in 3 worker threads');

    // The attacker edits event 200 and re-hashes its leaf, the stored tree, the stored node over
    // events 1–256 (which verify checks, as proofs read it) and the head.
    const edited = (bodies[199] ?? '').replace('"i":199', '"i":991');
    tamper('UPDATE audit_events SET body = ?, hash = ? WHERE seq = 200', edited, Buffer.from(merkleLeafHash(edited)).toString('hex'));
    const forgedLeaves = leaves.map((leaf, i) => (i === 199 ? merkleLeafHash(edited) : leaf));
    const forged = createMerkleFrontier();
    for (const leaf of forgedLeaves) forged.append(leaf);
    const raw = new Database(db);
    raw.exec('DROP TRIGGER audit_tree_grows_only; DROP TRIGGER audit_tree_nodes_no_update;');
    raw.prepare('UPDATE audit_tree SET frontier = ? WHERE id = 1').run(frontierToBlob(forged.state()));
    raw.prepare('UPDATE audit_tree_nodes SET hash = ? WHERE height = 8 AND idx = 0').run(merkleRoot(forgedLeaves, 256));
    raw.close();
    expect((await verify(3)).code, 'the stored trail alone cannot tell').toBe(0);
    const [brokenOne, brokenThree] = [await run(1), await run(3)];
    expect(brokenThree.code).toBe(1);
    expect(brokenThree.err).toMatch(/checkpoint 300 \(root .*\) does not match the trail, whose first 300 events hash to .*: an event among 129–300 was edited/);
    expect(brokenThree.err.split('\n').at(-2)).toBe(brokenOne.err.split('\n').at(-2));
  }, 120_000);

  it('refuses a worker count it cannot use, verifying nothing', async () => {
    const result = await verify(0);
    expect(result.code).toBe(2);
    expect(result.err).toContain('--workers must be a whole number from 1 to 8');
  });
});
