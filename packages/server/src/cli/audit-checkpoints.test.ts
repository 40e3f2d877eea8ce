/**
 * `portcullis audit verify --checkpoints --key`, `audit checkpoint`, `audit prove` and
 * `audit check-proof`, run in-process on real SQLite files, against an attacker who can write
 * the database (and drops its triggers) but holds neither the signing key nor the published
 * checkpoint log. Each tamper is shown to pass the plain chain check where it did before, and
 * to be caught against the published checkpoints, naming the event or the checkpoint.
 */
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createMerkleFrontier, merkleLeafHash, type AuditEventDraft } from '@portcullis/core';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { frontierToBlob } from '../store/sqlite/sqlite-audit.js';
import { runCli, type CliResult } from '../testing/run-cli.js';
import { makeTempDir } from '../testing/temp-dir.js';

const dir = makeTempDir('portcullis-audit-checkpoints');
afterAll(() => dir.cleanup());
let n = 0;
const fresh = (name: string): string => join(dir.path, `${name}-${(n += 1)}`);
const cli = (...args: string[]): Promise<CliResult> => runCli(args);

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

function draft(i: number, overrides: Partial<AuditEventDraft> = {}): AuditEventDraft {
  return { type: 'proposal.received', at: T0 + i * 1000, actor: { kind: 'agent', id: 'lead-router' }, workflow: 'route-leads', proposalId: `p${i}`, data: { i }, ...overrides };
}

/** A store file of `count` events (event 12 is dana's approval), closed. */
async function storeFile(count = 30, at: (i: number) => number = (i) => T0 + i * 1000): Promise<string> {
  const path = `${fresh('store')}.db`;
  const store = createSqliteStore({ path });
  await store.migrate();
  await store.appendAudit(Array.from({ length: count }, (_, i) => (i + 1 === 12
    ? draft(i, { type: 'approval.granted', actor: { kind: 'person', id: 'dana' }, at: at(i), data: { reason: 'ok' } })
    : draft(i, { at: at(i) }))));
  await store.close();
  return path;
}

async function append(path: string, count: number): Promise<void> {
  const store = createSqliteStore({ path });
  await store.migrate();
  await store.appendAudit(Array.from({ length: count }, (_, i) => draft(1000 + i)));
  await store.close();
}

/** A signing key and its public key, and a checkpoint log directory. */
async function keys(): Promise<{ keyFile: string; publicKey: string; log: string }> {
  const keyFile = fresh('key');
  const made = await cli('audit', 'new-key', '--out', keyFile, '--name', 'portcullis.test/audit');
  expect(made.code).toBe(0);
  return { keyFile, publicKey: made.out.trim(), log: fresh('log') };
}

async function checkpoint(db: string, k: { keyFile: string; log: string }): Promise<void> {
  const cut = await cli('audit', 'checkpoint', '--db', db, '--signing-key', k.keyFile, '--out', k.log, '--origin', 'portcullis.test/audit');
  expect(cut.err).toBe('');
  expect(cut.code).toBe(0);
}

const verify = (db: string, k: { publicKey: string; log: string }): Promise<CliResult> => cli('audit', 'verify', '--db', db, '--checkpoints', k.log, '--key', k.publicKey);
const plainVerify = (db: string): Promise<CliResult> => cli('audit', 'verify', '--db', db);

/** A trail with a published checkpoint covering all of it. */
async function published(count = 30): Promise<{ db: string; k: Awaited<ReturnType<typeof keys>> }> {
  const db = await storeFile(count);
  const k = await keys();
  await checkpoint(db, k);
  return { db, k };
}

/** The attacker: the database file, its triggers dropped. */
function attacker(db: string): Database.Database {
  const raw = new Database(db);
  raw.exec(`DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete;
    DROP TRIGGER IF EXISTS audit_head_forward_only; DROP TRIGGER IF EXISTS audit_tree_grows_only;
    DROP TRIGGER IF EXISTS audit_checkpoints_no_update; DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;
    DROP TRIGGER IF EXISTS audit_purged_leaves_no_update; DROP TRIGGER IF EXISTS audit_purged_leaves_no_delete;`);
  return raw;
}

/** What a careful attacker does after an edit: re-hash every leaf from `fromSeq`, reset the head and rebuild the stored tree. */
function rehash(raw: Database.Database, fromSeq: number): void {
  const rows = raw.prepare('SELECT seq, body, hash FROM audit_events ORDER BY seq').all() as { seq: number; body: string; hash: string }[];
  const update = raw.prepare('UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?');
  const leafHex = (body: string): string => Buffer.from(merkleLeafHash(body)).toString('hex');
  for (const row of rows) if (row.seq >= fromSeq) update.run('', leafHex(row.body), row.seq);
  const last = rows.at(-1);
  raw.prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1').run(last?.seq ?? 0, last === undefined ? '' : leafHex(last.body));
  const frontier = createMerkleFrontier();
  for (const row of rows) frontier.append(merkleLeafHash(row.body));
  raw.prepare('UPDATE audit_tree SET size = ?, frontier = ? WHERE id = 1').run(frontier.size, frontierToBlob(frontier.state()));
}

/** A consistent forgery of event 12 (dana's approval): its approver becomes `who` in body and column, every leaf, the head and the tree re-hashed. */
function forgeApprover(db: string, who: string): void {
  const raw = attacker(db);
  const { body } = raw.prepare('SELECT body FROM audit_events WHERE seq = 12').get() as { body: string };
  raw.prepare('UPDATE audit_events SET body = ?, actor_id = ? WHERE seq = 12').run(body.replace('"id":"dana"', `"id":"${who}"`), who);
  rehash(raw, 12);
  raw.close();
}

describe('audit checkpoints: the happy path and bad input', () => {
  it('fetches the checkpoint log over HTTP (an off-host copy), and names an unreachable or failing URL', async () => {
    const { db, k } = await published();
    const logText = readFileSync(join(k.log, 'checkpoints.jsonl'), 'utf8');
    const server = createServer((request, response) => {
      // connection: close, so the fetch after the server stopped opens a new connection.
      if (request.url === '/audit/checkpoints.jsonl') response.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(logText);
      else response.writeHead(404, { connection: 'close' }).end('not here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ok = await verify(db, { ...k, log: `${base}/audit/checkpoints.jsonl` });
      expect(ok.err).toBe('');
      expect(ok.out).toMatch(/audit trail OK: 30 events verified; tree of 30 events consistent with 1 signed checkpoint/);
      expect(ok.code).toBe(0);
      const proved = await cli('audit', 'prove', '12', '--db', db, '--checkpoints', `${base}/audit/checkpoints.jsonl`, '--key', k.publicKey);
      expect(proved.code).toBe(0);
      const missing = await verify(db, { ...k, log: `${base}/nothing.jsonl` });
      expect(missing.code).toBe(1);
      expect(missing.err).toContain(`cannot fetch the checkpoints at ${base}/nothing.jsonl: HTTP 404 Not Found`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const down = await verify(db, { ...k, log: `${base}/audit/checkpoints.jsonl` });
    expect(down.code).toBe(1);
    expect(down.err).toContain(`cannot fetch the checkpoints at ${base}/audit/checkpoints.jsonl: ECONNREFUSED`);
  });

  it('verifies after a key rotation with several --key, each checkpoint by the key of its key id', async () => {
    const { db, k } = await published();
    const next = await keys();
    await append(db, 3);
    await checkpoint(db, { ...next, log: k.log });
    expect((await verify(db, k)).err).toMatch(/checkpoints\.jsonl:2 is refused: no signature by portcullis\.test\/audit \(key [0-9a-f]{8}\)/);
    const both = await cli('audit', 'verify', '--db', db, '--checkpoints', k.log, '--key', k.publicKey, '--key', next.publicKey);
    expect(both.out).toMatch(/audit trail OK: 33 events verified; tree of 33 events consistent with 2 signed checkpoints/);
    expect(both.code).toBe(0);
  });

  it('writes a 0600 signing key, cuts checkpoints into an append-only log, and verifies against them', async () => {
    const { db, k } = await published();
    expect(statSync(k.keyFile).mode & 0o777).toBe(0o600);
    expect(k.publicKey).toMatch(/^portcullis\.test\/audit\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    await append(db, 5);
    await checkpoint(db, k);
    expect(readFileSync(join(k.log, 'checkpoints.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    const result = await verify(db, k);
    expect(result.err).toBe('');
    expect(result.out).toMatch(/audit trail OK: 35 events verified; tree of 35 events consistent with 2 signed checkpoints/);
    expect(result.code).toBe(0);
  });

  it('refuses a missing or wrong key, an unreadable log and a malformed or edited checkpoint, clearly', async () => {
    const { db, k } = await published();
    const other = await keys();
    const wrongKey = await verify(db, { ...k, publicKey: other.publicKey });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(/checkpoints\.jsonl:1 is refused: no signature by portcullis\.test\/audit \(key [0-9a-f]{8}\)/);
    const badKey = await verify(db, { ...k, publicKey: 'not-a-key' });
    expect(badKey.err).toMatch(/public key \(--key\) must look like <name>\+<8 hex digits>\+<base64 key>/);
    const missing = await verify(db, { ...k, log: join(dir.path, 'nowhere') });
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no checkpoint log at .*nowhere; nothing was verified/);
    const logFile = join(k.log, 'checkpoints.jsonl');
    const text = readFileSync(logFile, 'utf8');
    writeFileSync(logFile, text.replace('\\n30\\n', '\\n31\\n'));
    const edited = await verify(db, k);
    expect(edited.code).toBe(1);
    expect(edited.err).toMatch(/checkpoints\.jsonl:1 is refused: the signature of portcullis\.test\/audit .* does not match the text/);
    writeFileSync(logFile, '{"note": 3}\n');
    expect((await verify(db, k)).err).toMatch(/checkpoints\.jsonl:1 has no "note" string/);
    expect((await cli('audit', 'verify', '--db', db, '--checkpoints', k.log)).err).toMatch(/--checkpoints and --key go together/);
    const noKey = await cli('audit', 'checkpoint', '--db', db, '--signing-key', join(dir.path, 'no-key'), '--out', k.log);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toMatch(/signing key file .*no-key does not exist; make one with `portcullis audit new-key`/);
  });

  it('cuts no checkpoint of a trail that does not verify, and names the log after the key by default', async () => {
    const db = await storeFile(5);
    const keyFile = fresh('key');
    const made = await cli('audit', 'new-key', '--out', keyFile, '--name', 'example.test/own-log');
    const log = fresh('log');
    const cut = await cli('audit', 'checkpoint', '--db', db, '--signing-key', keyFile, '--out', log);
    expect(cut.code).toBe(0);
    expect(readFileSync(join(log, 'checkpoints.jsonl'), 'utf8')).toContain('"note":"example.test/own-log\\n5\\n');
    expect((await verify(db, { publicKey: made.out.trim(), log })).code).toBe(0);
    const raw = attacker(db);
    raw.prepare("UPDATE audit_events SET body = replace(body, 'lead-router', 'someone') WHERE seq = 3").run();
    raw.close();
    const refused = await cli('audit', 'checkpoint', '--db', db, '--signing-key', keyFile, '--out', log);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/the stored trail does not verify \(event 3 .*\); signing it would vouch for the break, so no checkpoint was cut/);
    expect(readFileSync(join(log, 'checkpoints.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('cuts no checkpoint of a rewritten store into a log it does not extend (a consistent re-hash forgery), and names audit recover', async () => {
    const { db, k } = await published();
    forgeApprover(db, 'tom');
    expect((await plainVerify(db)).code, 'consistent in itself').toBe(0);
    const refused = await cli('audit', 'checkpoint', '--db', db, '--signing-key', k.keyFile, '--out', k.log, '--origin', 'portcullis.test/audit');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/the store does not extend the newest checkpoint in .*checkpoints\.jsonl \(30 events\): its first 30 events do not hash to the checkpoint's root \(they were changed\); signing it there would publish a rewritten trail, so no checkpoint was cut\. If this store is the one to keep \(a restored backup\), accept it with `portcullis audit recover/);
    expect(readFileSync(join(k.log, 'checkpoints.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('refuses a signing key file others can read', async () => {
    const { db, k } = await published();
    const loose = fresh('loose-key');
    writeFileSync(loose, readFileSync(k.keyFile), { mode: 0o644 });
    const result = await cli('audit', 'checkpoint', '--db', db, '--signing-key', loose, '--out', k.log);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/can be read by others \(mode 0644\); run `chmod 600/);
  });
});

describe('audit verify against published checkpoints: every tamper is named', () => {
  it('a byte flipped in a body, in a hash, in a filter column, in a previous-hash or in the recorded head', async () => {
    for (const [sql, expected] of [
      ["UPDATE audit_events SET body = replace(body, '\"i\":7', '\"i\":8') WHERE seq = 8", /event 8 was edited/],
      ["UPDATE audit_events SET hash = '0' || substr(hash, 2) WHERE seq = 9", /event 10 does not link to event 9|event 9 was edited/],
      ["UPDATE audit_events SET actor_id = 'mallory' WHERE seq = 12", /event 12's stored actor_id column does not match its hashed body/],
      ["UPDATE audit_events SET type = 'approval.rejected' WHERE seq = 12", /event 12's stored type column does not match its hashed body/],
      ["UPDATE audit_events SET prev_hash = (SELECT hash FROM audit_events WHERE seq = 19) WHERE seq = 20", /event 20 was edited: it is sealed by its leaf hash, so its stored previous-hash must be empty/],
      ["UPDATE audit_head SET hash = (SELECT hash FROM audit_events WHERE seq = 29)", /the trail's recorded head names event 30 with hash [0-9a-f]{64}, but that event's hash is [0-9a-f]{64}: the head was edited/],
    ] as const) {
      const { db, k } = await published();
      const raw = attacker(db);
      raw.exec(sql);
      raw.close();
      const result = await verify(db, k);
      expect(result.code, sql).toBe(1);
      expect(result.err, sql).toMatch(expected);
      // The plain chain check (no checkpoints) names these too, columns included.
      const plain = await plainVerify(db);
      expect(plain.code, sql).toBe(1);
      expect(plain.err, sql).toMatch(expected);
    }
  });

  it('a stored tree node (which proofs read) edited: named by verify, with its events, however the rebuild is split', async () => {
    for (const [height, index, events] of [[8, 1, '257–512'], [9, 0, '1–512']] as const) {
      const db = await storeFile(600);
      const raw = attacker(db);
      raw.exec('DROP TRIGGER audit_tree_nodes_no_update');
      raw.prepare('UPDATE audit_tree_nodes SET hash = ? WHERE height = ? AND idx = ?').run(Buffer.alloc(32, 9), height, index);
      raw.close();
      // With 3 workers the parts are 256 events long: the node of height 9 is completed by joining two of them.
      for (const workers of ['1', '2', '3']) {
        const result = await cli('audit', 'verify', '--db', db, '--workers', workers);
        expect(result.code, `${height}/${index} ${workers}`).toBe(1);
        expect(result.err, `${height}/${index} ${workers}`).toContain(`BROKEN at event 512: the stored tree node at height ${height}, index ${index} (table audit_tree_nodes) is not the hash of events ${events}: it was edited`);
      }
    }
  });

  it('a body that is not JSON, its leaf hash recomputed: named, not a crash of the column check', async () => {
    const { db, k } = await published();
    const raw = attacker(db);
    const body = (raw.prepare('SELECT body FROM audit_events WHERE seq = 12').pluck().get() as string).slice(0, -1);
    raw.prepare('UPDATE audit_events SET body = ?, hash = ? WHERE seq = 12').run(body, Buffer.from(merkleLeafHash(body)).toString('hex'));
    raw.close();
    for (const result of [await verify(db, k), await plainVerify(db)]) {
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/event 12's body is not JSON/);
    }
  });

  it('a middle event deleted, and two events swapped', async () => {
    const deleted = await published();
    const raw = attacker(deleted.db);
    raw.exec('DELETE FROM audit_events WHERE seq = 15');
    raw.close();
    expect((await verify(deleted.db, deleted.k)).err).toMatch(/event 15 is missing/);

    const swapped = await published();
    const raw2 = attacker(swapped.db);
    const a = raw2.prepare('SELECT body FROM audit_events WHERE seq = 5').get() as { body: string };
    const b = raw2.prepare('SELECT body FROM audit_events WHERE seq = 6').get() as { body: string };
    raw2.prepare('UPDATE audit_events SET body = ? WHERE seq = 5').run(b.body);
    raw2.prepare('UPDATE audit_events SET body = ? WHERE seq = 6').run(a.body);
    raw2.close();
    const result = await verify(swapped.db, swapped.k);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/event 5 /);
  });

  it('the newest events deleted and the head and tree moved back: the last one, and the last ten', async () => {
    for (const keep of [29, 20]) {
      const { db, k } = await published();
      const raw = attacker(db);
      raw.prepare('DELETE FROM audit_events WHERE seq > ?').run(keep);
      rehash(raw, keep + 1);
      raw.close();
      expect((await plainVerify(db)).code, 'the stored trail alone cannot tell').toBe(0);
      const result = await verify(db, k);
      expect(result.code).toBe(1);
      expect(result.err).toContain(`checkpoint 30 covers events through 30, but the store's trail ends at event ${keep}: events ${keep + 1}–30 were deleted`);
    }
  });

  it('a consistent re-hash forgery of an edited approval', async () => {
    const { db, k } = await published();
    forgeApprover(db, 'mallory');
    expect((await plainVerify(db)).code, 'the stored trail alone cannot tell').toBe(0);
    const result = await verify(db, k);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/checkpoint 30 \(root .*\) does not match the trail, whose first 30 events hash to .*: an event among 1–30 was edited, deleted, inserted or re-hashed/);
  });

  it('a forged purge: the oldest events deleted and a purge row inserted, with no purge event', async () => {
    const { db, k } = await published();
    const raw = attacker(db);
    const rows = raw.prepare('SELECT body, hash FROM audit_events WHERE seq <= 5 ORDER BY seq').all() as { body: string; hash: string }[];
    const frontier = createMerkleFrontier();
    for (const row of rows) frontier.append(merkleLeafHash(row.body));
    raw.exec("INSERT INTO audit_purge_permit (through_seq) VALUES (5); DELETE FROM audit_events WHERE seq <= 5; DELETE FROM audit_purge_permit;");
    raw.prepare('INSERT INTO audit_purges (through_seq, anchor_hash, purged_at, actor, tree_frontier) VALUES (5, ?, ?, ?, ?)')
      .run(rows.at(-1)?.hash, T0 + 200 * DAY, 'retention', frontierToBlob(frontier.state()));
    raw.close();
    // Even without checkpoints, a purge the trail does not record is refused.
    expect((await plainVerify(db)).err).toMatch(/the purge of events through 5 has no audit.purged event in the trail: it was forged/);
    const result = await verify(db, k);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/the purge of events through 5 has no audit.purged event in the trail: it was forged/);
  });

  it('a purge that removed events younger than 90 days (a purge event forged with a recent cut-off)', async () => {
    const db = await storeFile(30, (i) => T0 + i * DAY);
    const store = createSqliteStore({ path: db });
    await store.migrate();
    // The attacker writes a purge event and its row directly, cutting off events only 10 days old.
    await store.appendAudit([{ type: 'audit.purged', at: T0 + 40 * DAY, actor: { kind: 'system', id: 'retention' }, data: { throughSeq: 5, purged: 5, before: T0 + 30 * DAY } }]);
    await store.close();
    // Published while the purge event was in the trail, before the attacker deleted the events.
    const k = await keys();
    await checkpoint(db, k);
    const raw = attacker(db);
    const rows = raw.prepare('SELECT body, hash FROM audit_events WHERE seq <= 5 ORDER BY seq').all() as { body: string; hash: string }[];
    const frontier = createMerkleFrontier();
    for (const row of rows) frontier.append(merkleLeafHash(row.body));
    raw.exec('INSERT INTO audit_purge_permit (through_seq) VALUES (5); DELETE FROM audit_events WHERE seq <= 5; DELETE FROM audit_purge_permit;');
    raw.prepare('INSERT INTO audit_purges (through_seq, anchor_hash, purged_at, actor, tree_frontier) VALUES (5, ?, ?, ?, ?)')
      .run(rows.at(-1)?.hash, T0 + 40 * DAY, 'retention', frontierToBlob(frontier.state()));
    raw.close();
    const result = await verify(db, k);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/the purge of events through 5 \(recorded by event 31\) removed events younger than the 90-day retention minimum/);
  });

  it('accepts a real purge covered by a later checkpoint, and names one not yet covered', async () => {
    const db = await storeFile(30, (i) => T0 + i * DAY);
    const k = await keys();
    await checkpoint(db, k);
    const purged = await cli('audit', 'purge', '--db', db, '--older-than-days', '90');
    expect(purged.code).toBe(0);
    const uncovered = await verify(db, k);
    expect(uncovered.err).toMatch(/is not yet covered by a published checkpoint/);
    await checkpoint(db, k);
    const result = await verify(db, k);
    expect(result.err).toBe('');
    expect(result.out).toMatch(/audit trail OK/);
  });

  it('passes with a checkpoint log rolled back to an older checkpoint, and fails on a store rolled back to an older backup', async () => {
    const { db, k } = await published(20);
    const backup = `${db}.bak`;
    copyFileSync(db, backup);
    const firstLog = readFileSync(join(k.log, 'checkpoints.jsonl'), 'utf8');
    await append(db, 10);
    await checkpoint(db, k);
    // The log rolled back: still consistent.
    const rolledLog = { ...k, log: fresh('old-log') };
    writeFileSync(`${rolledLog.log}.jsonl`, firstLog);
    const passes = await verify(db, { ...k, log: `${rolledLog.log}.jsonl` });
    expect(passes.out).toMatch(/audit trail OK: 30 events verified; tree of 30 events consistent with 1 signed checkpoint; the newest 10 events \(after the newest checkpoint, of 20\) are not covered by a signed checkpoint yet$/m);
    // The store rolled back to the backup: the newer checkpoint names what is missing.
    const fails = await verify(backup, k);
    expect(fails.code).toBe(1);
    expect(fails.err).toMatch(/checkpoint 30 covers events through 30, but the store's trail ends at event 20: events 21–30 were deleted, or the store was rolled back/);
  });
});

describe('a retention purge keeps the leaf hashes of the events it deleted', () => {
  /** Checkpoints at 7 and 19 (unaligned sizes), then events through 30, all purged (event 31 records it), and a checkpoint at 31. */
  async function purgedTrail(): Promise<{ db: string; k: Awaited<ReturnType<typeof keys>> }> {
    const db = await storeFile(7);
    const k = await keys();
    await checkpoint(db, k);
    await append(db, 12);
    await checkpoint(db, k);
    await append(db, 11);
    const purged = await cli('audit', 'purge', '--db', db, '--older-than-days', '90');
    expect(purged.code).toBe(0);
    await checkpoint(db, k);
    return { db, k };
  }

  it('proves the checkpoints published before the purge consistent with today\'s tree', async () => {
    const { db, k } = await purgedTrail();
    const result = await verify(db, k);
    expect(result.err).toBe('');
    expect(result.out).toMatch(/audit trail OK: 1 event verified; tree of 31 events consistent with 3 signed checkpoints$/m);
  });

  it('proves a kept event whose path runs through purged events, from their kept leaf hashes; check-proof accepts it', async () => {
    const { db, k } = await purgedTrail();
    const out = join(dirname(db), 'proof-31.json');
    const proved = await cli('audit', 'prove', '31', '--db', db, '--checkpoints', k.log, '--key', k.publicKey, '--out', out);
    expect(proved.err).toMatch(/wrote the proof of event 31/);
    expect(proved.code).toBe(0);
    const checked = await cli('audit', 'check-proof', out, '--key', k.publicKey);
    expect(checked.code).toBe(0);
  });

  it('names an edited kept leaf hash, by the checkpoint before the purge that covers it or by the purge\'s kept tree', async () => {
    const { db, k } = await purgedTrail();
    const covered = attacker(db);
    covered.prepare('UPDATE audit_purged_leaves SET leaf_hash = ? WHERE seq = 10').run(Buffer.alloc(32, 7));
    covered.close();
    const first = await verify(db, k);
    expect(first.code).toBe(1);
    expect(first.err).toMatch(/checkpoint 19 \(root .*\) does not match the trail, whose first 19 events hash to .*: an event among 8–19 was edited, deleted, inserted or re-hashed \(rebuilt from the leaf hashes kept by the purges\)/);

    const { db: other, k: k2 } = await purgedTrail();
    const uncovered = attacker(other);
    uncovered.prepare('UPDATE audit_purged_leaves SET leaf_hash = ? WHERE seq = 25').run(Buffer.alloc(32, 7));
    uncovered.close();
    const second = await verify(other, k2);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(/the leaf hashes kept for purged events 1–30 do not rebuild the tree the purge through 30 kept: a kept leaf hash was edited/);
  });

  /** Purges through the store (a purge's own event is young: a second purge can delete it only once it is 90 days old). */
  async function purgeAt(db: string, before: number, at: number, more: number = 0): Promise<void> {
    const store = createSqliteStore({ path: db });
    await store.migrate();
    await store.purgeAudit(before, at, 'retention');
    if (more > 0) await store.appendAudit(Array.from({ length: more }, (_, i) => draft(100 + i, { at: at + DAY + i * 1000 })));
    await store.close();
  }

  /** Two purges: 10 events, a checkpoint, purged on day 200 (event 11 records it); 9 more, a checkpoint, purged with event 11 on day 400 (event 21 records both); a checkpoint. */
  async function purgedTwice(): Promise<{ db: string; k: Awaited<ReturnType<typeof keys>> }> {
    const db = await storeFile(10, (i) => T0 + i * DAY);
    const k = await keys();
    await checkpoint(db, k);
    await purgeAt(db, T0 + 100 * DAY, T0 + 200 * DAY, 9);
    await checkpoint(db, k);
    await purgeAt(db, T0 + 300 * DAY, T0 + 400 * DAY);
    await checkpoint(db, k);
    return { db, k };
  }

  it('verifies a trail purged twice, the second purge deleting the first one\'s event, against every checkpoint', async () => {
    const { db, k } = await purgedTwice();
    const result = await verify(db, k);
    expect(result.err).toBe('');
    expect(result.out).toMatch(/audit trail OK: 1 event verified; tree of 21 events consistent with 3 signed checkpoints$/m);
    expect((await plainVerify(db)).code).toBe(0);
  });

  it('names what an attacker removed after two purges: the first purge\'s leaf hashes, or its record', async () => {
    const { db, k } = await purgedTwice();
    const leaves = attacker(db);
    leaves.exec('DELETE FROM audit_purged_leaves WHERE seq <= 10');
    leaves.close();
    expect((await verify(db, k)).err).toMatch(/the purge of events through 10 \(recorded by event 21\) kept the leaf hashes of events 1–10, but they are missing from the store: they were deleted/);

    const { db: other, k: k2 } = await purgedTwice();
    const record = attacker(other);
    record.exec('DELETE FROM audit_purges WHERE through_seq = 10');
    record.close();
    expect((await verify(other, k2)).err).toMatch(/the purge of events through 10 recorded by event 21 has no stored purge record: it was deleted/);
  });

  it('names a purge record whose kept tree frontier was cut short, by its table', async () => {
    const { db, k } = await purgedTrail();
    const raw = attacker(db);
    raw.exec('UPDATE audit_purges SET tree_frontier = substr(tree_frontier, 1, 32) WHERE through_seq = 30');
    raw.close();
    for (const result of [await verify(db, k), await plainVerify(db)]) {
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/the purge record of events through 30 \(table audit_purges\) is damaged: its kept tree frontier is wrong \(.+\): the store was edited/);
    }
  });

  it('names kept leaf hashes that were deleted, one or all', async () => {
    const { db, k } = await purgedTrail();
    const one = attacker(db);
    one.exec('DELETE FROM audit_purged_leaves WHERE seq = 12');
    one.close();
    expect((await verify(db, k)).err).toMatch(/the leaf hash kept for purged event 12 is missing: the kept leaf hashes were edited/);
    const all = attacker(db);
    all.exec('DELETE FROM audit_purged_leaves');
    all.close();
    expect((await verify(db, k)).err).toMatch(/the purge of events through 30 \(recorded by event 31\) kept the leaf hashes of events 1–30, but they are missing from the store: they were deleted/);
  });
});

/**
 * An independent RFC 6962 inclusion verifier, written from RFC 6962 section 2.1.1 (the audit
 * path) and 2.1 (MTH), not from the product's code: it recomputes the root by walking the path
 * with the recursive split of the tree at the largest power of two below n.
 */
function rfc6962VerifyInclusion(leaf: Buffer, m: number, n: number, path: Buffer[], root: Buffer): boolean {
  const sha = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
  // PATH(m, D[n]) lists siblings deepest first; walking the recursion from the top consumes it from the end.
  const walk = (index: number, size: number, siblings: Buffer[]): Buffer | undefined => {
    if (size === 1) return siblings.length === 0 ? sha(Buffer.from([0]), leaf) : undefined;
    let k = 1;
    while (k * 2 < size) k *= 2;
    const sibling = siblings.at(-1);
    if (sibling === undefined) return undefined;
    const rest = siblings.slice(0, -1);
    if (index < k) {
      const left = walk(index, k, rest);
      return left === undefined ? undefined : sha(Buffer.from([1]), left, sibling);
    }
    const right = walk(index - k, size - k, rest);
    return right === undefined ? undefined : sha(Buffer.from([1]), sibling, right);
  };
  const computed = m >= 0 && m < n ? walk(m, n, path) : undefined;
  return computed !== undefined && computed.equals(root);
}

describe('audit export --proofs', () => {
  it('adds each covered event\'s inclusion proof, which check-proof accepts, and says why a newer event has none', async () => {
    const { db, k } = await published();
    await append(db, 2);
    const out = `${fresh('export')}.jsonl`;
    const exported = await cli('audit', 'export', '--db', db, '--out', out, '--proofs', '--checkpoints', k.log, '--key', k.publicKey);
    expect(exported.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; treeIndex: number; proof?: unknown; proofUnavailable?: string });
    expect(lines).toHaveLength(32);
    for (const line of lines.slice(0, 30)) {
      expect(line.treeIndex).toBe(line.seq - 1);
      const file = `${fresh('proof')}.json`;
      writeFileSync(file, JSON.stringify(line.proof));
      expect((await cli('audit', 'check-proof', file, '--key', k.publicKey)).code, `event ${line.seq}`).toBe(0);
    }
    expect(lines[31]?.proofUnavailable).toMatch(/event 32 is newer than the newest checkpoint \(30 events\)/);
    const bad = await cli('audit', 'export', '--db', db, '--proofs', '--format', 'csv', '--checkpoints', k.log, '--key', k.publicKey);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--proofs needs --checkpoints and --key .* and --format jsonl/);
    const wrongKey = await cli('audit', 'export', '--db', db, '--proofs', '--checkpoints', k.log, '--key', (await keys()).publicKey);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(/no proofs: the checkpoint at .* is refused/);
  });
});

describe('audit prove and check-proof', () => {
  it('writes a proof that check-proof and an independent RFC 6962 verifier accept, and that a changed event fails', async () => {
    const { db, k } = await published(30);
    const out = `${fresh('proof')}.json`;
    const proved = await cli('audit', 'prove', '12', '--db', db, '--checkpoints', k.log, '--key', k.publicKey, '--out', out);
    expect(proved.err).toMatch(/wrote the proof of event 12/);
    expect(proved.code).toBe(0);
    const checked = await cli('audit', 'check-proof', out, '--key', k.publicKey);
    expect(checked.out).toMatch(/proof OK: event 12 \(approval.granted by person dana\) is in portcullis.test\/audit's signed tree of 30 events/);

    const proof = JSON.parse(readFileSync(out, 'utf8')) as { body: string; leafIndex: number; treeSize: number; inclusionProof: string[]; checkpoint: string };
    const root = Buffer.from(proof.checkpoint.split('\n')[2] as string, 'base64');
    const path = proof.inclusionProof.map((p) => Buffer.from(p, 'base64'));
    expect(rfc6962VerifyInclusion(Buffer.from(proof.body), proof.leafIndex, proof.treeSize, path, root)).toBe(true);
    const forged = proof.body.replace('"id":"dana"', '"id":"mallory"');
    expect(rfc6962VerifyInclusion(Buffer.from(forged), proof.leafIndex, proof.treeSize, path, root)).toBe(false);

    writeFileSync(out, JSON.stringify({ ...proof, body: forged }));
    const refused = await cli('audit', 'check-proof', out, '--key', k.publicKey);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/proof REFUSED: the inclusion proof does not lead from event 12's body to the checkpoint's root/);
    const other = await keys();
    writeFileSync(out, JSON.stringify(proof));
    expect((await cli('audit', 'check-proof', out, '--key', other.publicKey)).err).toMatch(/its checkpoint is refused: no signature/);
  });

  it('refuses to prove an event the newest checkpoint does not cover', async () => {
    const { db, k } = await published(10);
    await append(db, 2);
    const result = await cli('audit', 'prove', '11', '--db', db, '--checkpoints', k.log, '--key', k.publicKey);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/no proof of event 11: event 11 is newer than the newest checkpoint \(10 events\)/);
  });
});
