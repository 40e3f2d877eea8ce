/**
 * `portcullis audit verify --workers N`, run as a command of its own (from its sources, the
 * worker threads too): the chain split into segments verified by worker threads must give
 * exactly the answer of one thread — the same count when it is intact, and the first break in
 * chain order when it is not, including a break on the boundary between two segments.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeEvent } from '../store/store-conformance-fixtures.js';
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

async function verify(workers: number): Promise<{ code: number; out: string; err: string }> {
  try {
    const cli = cliFromSources(['audit', 'verify', '--db', db, '--workers', String(workers)]);
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
  it('verifies an intact chain with the same count as one thread', async () => {
    const one = await verify(1);
    const three = await verify(3);
    expect(one).toMatchObject({ code: 0, out: `audit chain OK: ${EVENTS} events verified (through event ${EVENTS})\n` });
    expect(three).toMatchObject({ code: 0, out: one.out });
    expect(one.err).not.toContain('worker threads');
    expect(three.err).toContain(`verifying ${EVENTS} events in 3 worker threads`);
  });

  it('names an edited event in a middle segment, with the count before it', async () => {
    tamper("UPDATE audit_events SET body = replace(body, '\"i\":150', '\"i\":151') WHERE seq = 151");
    const result = await verify(3);
    expect(result.err).toContain('in 3 worker threads');
    expect(result.code).toBe(1);
    expect(result.err).toContain('audit chain BROKEN at event 151: event 151 was edited');
    expect(result.err).toContain('(150 events before it verified)');
  });

  it('reports the earliest break when two segments are broken', async () => {
    tamper("UPDATE audit_events SET body = replace(body, '\"i\":250', '\"i\":251') WHERE seq = 251");
    tamper("UPDATE audit_events SET body = replace(body, '\"i\":40', '\"i\":41') WHERE seq = 41");
    const result = await verify(3);
    expect(result.code).toBe(1);
    expect(result.err).toContain('BROKEN at event 41: event 41 was edited');
  });

  it('finds an event deleted on the boundary between two segments', async () => {
    tamper('DELETE FROM audit_events WHERE seq = 100');
    const result = await verify(3);
    expect(result.code).toBe(1);
    expect(result.err).toContain('BROKEN at event 100: event 100 is missing');
  });

  it('finds a changed link at the start of a segment', async () => {
    tamper("UPDATE audit_events SET prev_hash = ? WHERE seq = 101", 'f'.repeat(64));
    const result = await verify(3);
    expect(result.code).toBe(1);
    expect(result.err).toContain('BROKEN at event 101: event 101 does not link to event 100');
  });

  it('finds the newest events cut off through the recorded head', async () => {
    tamper('DELETE FROM audit_events WHERE seq > 290');
    const result = await verify(3);
    expect(result.code).toBe(1);
    expect(result.err).toContain('BROKEN at event 291: event 291–300 is missing');
  });

  it('refuses a worker count it cannot use, verifying nothing', async () => {
    const result = await verify(0);
    expect(result.code).toBe(2);
    expect(result.err).toContain('--workers must be a whole number from 1 to 8');
  });
});
