/**
 * `portcullis vault` and `portcullis check` in-process, on a real config, store and CRM:
 * values come from standard input only and are never printed; rotate-key is all or nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSampleCrm } from '../demo/sample-crm.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';
import type { Output } from './output.js';
import { readSecretInput } from './vault-commands.js';
import { runCli } from '../testing/run-cli.js';

let dir: TempDir;
let config: string;
const SECRET = 'sk_live_Zq8uN3vW-the-billing-api-key';

beforeEach(() => {
  dir = makeTempDir('portcullis-cli-vault');
  createSampleCrm(join(dir.path, 'crm.db'), Date.now());
  config = join(dir.path, 'portcullis.yaml');
  writeFileSync(config, `version: 1
store: { kind: sqlite, path: ./portcullis.db }
vault: { keyFile: ./master.key }
systems:
  crm:
    kind: sql
    driver: sqlite
    path: ./crm.db
    tables:
      leads: { columns: [id, name, owner_id] }
`);
});
afterEach(() => dir.cleanup());

const cli = runCli;

describe('portcullis vault', () => {
  it('makes a key, stores a value read from standard input, and lists names and dates only', async () => {
    const made = await cli(['vault', 'new-key', '--out', join(dir.path, 'master.key')]);
    expect(made.out).toMatch(/^wrote master key mk_[0-9a-f]{16} to .*master\.key \(mode 0600\)/);
    const set = await cli(['vault', 'set', 'crm', 'api_key', '-c', config], `${SECRET}\n`);
    expect(set).toMatchObject({ code: 0, err: '' });
    expect(set.out).toMatch(/^stored vault secret crm\/api_key \(sealed under master key mk_[0-9a-f]{16}\); refer to it in .* as \{ vault: api_key \} under systems\.crm/);
    const list = await cli(['vault', 'list', '-c', config]);
    expect(list.code).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^SYSTEM\s+NAME\s+MASTER KEY\s+UPDATED\s+CREATED$/);
    expect(list.out).toMatch(/crm\s+api_key\s+mk_[0-9a-f]{16}\s+\d{4}-/);
    const json = JSON.parse((await cli(['vault', 'list', '-c', config, '--json'])).out) as Array<Record<string, unknown>>;
    expect(Object.keys(json[0] ?? {}).sort()).toEqual(['createdAt', 'keyId', 'name', 'system', 'updatedAt']);
    for (const output of [set.out, set.err, list.out, JSON.stringify(json)]) expect(output).not.toContain(SECRET);

    // The value was stored exactly, without the newline, and only sealed.
    const store = createSqliteStore({ path: join(dir.path, 'portcullis.db') });
    expect((await store.getSecret('crm', 'api_key'))?.sealed).not.toContain(SECRET);
    await store.close();
    expect(readFileSync(join(dir.path, 'portcullis.db')).includes(SECRET)).toBe(false);
  });

  it('refuses an unknown system, bad names, an empty value and a missing key, saying why', async () => {
    await cli(['vault', 'new-key', '--out', join(dir.path, 'master.key')]);
    expect(await cli(['vault', 'set', 'billing', 'api_key', '-c', config], 'x')).toMatchObject({ code: 2, err: expect.stringContaining('no system "billing" in') });
    expect((await cli(['vault', 'set', 'crm', 'bad name', '-c', config], 'x')).code).toBe(2);
    expect(await cli(['vault', 'set', 'crm', 'api_key', '-c', config], '\n')).toMatchObject({ code: 1, err: expect.stringContaining('is empty; pass the secret on standard input') });
    writeFileSync(config, readFileSync(config, 'utf8').replace('./master.key', './missing.key'));
    expect((await cli(['vault', 'set', 'crm', 'api_key', '-c', config], 'x')).err).toMatch(/master key file .*missing\.key does not exist; make one with `portcullis vault new-key --out/);
  });

  it('rotate-key re-seals everything under the new key; the old key is then refused with a clear error', async () => {
    await cli(['vault', 'new-key', '--out', join(dir.path, 'master.key')]);
    await cli(['vault', 'set', 'crm', 'api_key', '-c', config], SECRET);
    await cli(['vault', 'set', 'crm', 'password', '-c', config], 'db-pass');
    const made = await cli(['vault', 'new-key', '--out', join(dir.path, 'next.key')]);
    const nextId = /mk_[0-9a-f]{16}/.exec(made.out)?.[0];
    const rotated = await cli(['vault', 'rotate-key', '--new-key-file', join(dir.path, 'next.key'), '-c', config]);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toContain(`re-sealed 2 secret(s) under master key ${nextId}`);
    expect((await cli(['vault', 'list', '-c', config])).out.match(new RegExp(nextId ?? 'x', 'g'))).toHaveLength(2);
    const stale = await cli(['vault', 'rotate-key', '--new-key-file', join(dir.path, 'next.key'), '-c', config]);
    expect(stale.code).toBe(1);
    expect(stale.err).toMatch(new RegExp(`vault secret crm/api_key is sealed under master key ${nextId}, but the key in use \\(from key file .*master\\.key\\) is mk_`));
  });
});

describe('reading a secret', () => {
  it('takes everything from a pipe (one trailing newline dropped) and one unechoed line from a terminal', async () => {
    const sink: Output = { out: () => {}, err: () => {} };
    expect(await readSecretInput(Readable.from([Buffer.from('line one\nline two\n')]), sink)).toBe('line one\nline two');
    const terminal = Object.assign(new PassThrough(), { isTTY: true });
    let prompt = '';
    const reading = readSecretInput(terminal, { out: () => {}, err: (t) => { prompt += t; } });
    terminal.write('typed-secret\r\n');
    expect(await reading).toBe('typed-secret');
    expect(prompt).toBe('type the secret and press Enter (it is not shown):');
  });
});

describe('portcullis check', () => {
  it('reports a configured master key that cannot be used as a failed row, and still checks the systems', async () => {
    const result = await cli(['check', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^SYSTEM\s+KIND\s+STATUS\s+TIME\s+DETAIL\n\(vault\)\s+vault\s+FAILED\s+0 ms\s+master key file .*master\.key does not exist.*\ncrm\s+sql\s+ok\s+/);
  });

  it('prints a table and exits 0 when every system passes, 1 when one fails', async () => {
    await cli(['vault', 'new-key', '--out', join(dir.path, 'master.key')]);
    const ok = await cli(['check', '-c', config]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^SYSTEM\s+KIND\s+STATUS\s+TIME\s+DETAIL\n\(vault\)\s+vault\s+ok\s+0 ms\s+master key mk_[0-9a-f]{16}; 0 secret\(s\) stored\ncrm\s+sql\s+ok\s+\d+ ms\s+1 table\(s\) readable, each keyed by a unique column\nall 2 system\(s\) OK/);
    const db = new Database(join(dir.path, 'crm.db'));
    db.exec('DROP TABLE leads');
    db.close();
    const failed = await cli(['check', '-c', config]);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/crm\s+sql\s+FAILED\s+\d+ ms\s+no such table: leads\n1 of 2 system\(s\) FAILED/);
    expect(JSON.parse((await cli(['check', '-c', config, '--json'])).out)).toMatchObject({ ok: false, systems: [{ system: '(vault)', ok: true }, { system: 'crm', ok: false }] });
    expect((await cli(['check', '-c', join(dir.path, 'nope.yaml')])).code).toBe(2);
  });
});
