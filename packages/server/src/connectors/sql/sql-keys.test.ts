/**
 * SQL keys that identify one row: a configured primaryKey that is neither the table's primary
 * key nor a UNIQUE column fails `portcullis check` and refuses start, naming table and column
 * (an update naming one "id" could change several rows); a UNIQUE column is accepted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { harnessConfig, openHarness, type Harness } from '../../testing/harness.js';
import { runCli } from '../../testing/run-cli.js';

let harness: Harness | undefined;
afterEach(async () => { await harness?.close(); harness = undefined; });

/** The harness config plus system `contacts` keyed by `email`, in a database made by `prepare`. */
function config(): string {
  return harnessConfig({ extraSystemsYaml: `
  book:
    kind: sql
    driver: sqlite
    path: ./book.db
    tables:
      contacts: { primaryKey: email, columns: [id, email, name] }` });
}

const makeBook = (uniqueEmail: boolean) => (dir: string): void => {
  const db = new Database(join(dir, 'book.db'));
  db.exec(`CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT${uniqueEmail ? ' UNIQUE' : ''}, name TEXT)`);
  db.close();
};

describe('SQL tables and their configured columns', () => {
  it('refuses to start on a table that lacks a configured column, naming table and column, and check fails on it', async () => {
    const lacking = (dir: string): void => {
      const db = new Database(join(dir, 'book.db'));
      db.exec('CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT UNIQUE)');
      db.close();
    };
    await expect(openHarness({ configYaml: config(), prepare: lacking }))
      .rejects.toThrow(/book:contacts: the table has no column "name", which systems\.book\.tables\.contacts\.columns names; add it to the table or take it out of the config/);
  });
});

describe('SQL primary keys', () => {
  it('refuses to start on a primaryKey that is not unique, naming the table and the column', async () => {
    await expect(openHarness({ configYaml: config(), prepare: makeBook(false) }))
      .rejects.toThrow(/book:contacts: primaryKey "email" is not unique in the table .*set systems\.book\.tables\.contacts\.primaryKey to a unique column \(the table's primary key is "id"\)/);
  });

  it('fails portcullis check on it, and passes once the column is UNIQUE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-keys-'));
    try {
      makeBook(false)(dir);
      const path = join(dir, 'portcullis.yaml');
      writeFileSync(path, `version: 1
store: { kind: sqlite, path: ./portcullis.db }
systems:
  book:
    kind: sql
    driver: sqlite
    path: ./book.db
    tables:
      contacts: { primaryKey: email, columns: [id, email, name] }
`);
      const failing = await runCli(['check', '-c', path]);
      expect(failing.code).toBe(1);
      expect(failing.out).toMatch(/book .*primaryKey "email" is not unique/);
      const db = new Database(join(dir, 'book.db'));
      db.exec('CREATE UNIQUE INDEX contacts_email ON contacts (email)');
      db.close();
      expect(await runCli(['check', '-c', path])).toMatchObject({ code: 0, out: expect.stringMatching(/each keyed by a unique column/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts when the primaryKey is a UNIQUE column', async () => {
    harness = await openHarness({ configYaml: config(), prepare: makeBook(true) });
    expect(harness.gateway.config.systems.has('book')).toBe(true);
  });
});
