/**
 * The vault on a real SQLite store: sealing round trip, tamper and wrong-key refusal, a
 * locked vault, key files and their mode, and master-key rotation.
 */
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store.js';
import { verifyStore } from '../store/store-conformance-fixtures.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { harnessConfig, openHarness } from '../testing/harness.js';
import { makeTempDir } from '../testing/temp-dir.js';
import { loadMasterKey, readMasterKeyFile, writeNewMasterKeyFile } from './master-key.js';
import { resolveSystemSecret } from './resolve-secret.js';
import { createVault, type Vault } from './vault.js';
import { newMasterKeyText, openSecret, parseMasterKey, sealSecret, type MasterKey } from './vault-crypto.js';

const dir = makeTempDir('portcullis-vault');
afterAll(() => dir.cleanup());
const actor = { kind: 'system', id: 'test' } as const;
const SECRET = 'sk_live_4f3c2b1a-the-crm-api-key';

let store: SqliteStore;
let key: MasterKey;
let vault: Vault;
const clock = createFakeClock();
let files = 0;

beforeEach(async () => {
  store = createSqliteStore({ path: join(dir.path, `vault-${(files += 1)}.db`) });
  await store.migrate();
  key = parseMasterKey(newMasterKeyText(), 'test');
  vault = createVault({ store, key, clock });
});
afterEach(async () => store.close());

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('sealing', () => {
  it('round-trips a value, with a fresh nonce every time, and never stores the plain value', async () => {
    const a = sealSecret(key, { system: 'crm', name: 'api_key' }, SECRET);
    const b = sealSecret(key, { system: 'crm', name: 'api_key' }, SECRET);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(openSecret(key, { system: 'crm', name: 'api_key' }, a)).toBe(SECRET);
    expect(openSecret(key, { system: 'crm', name: 'api_key' }, sealSecret(key, { system: 'crm', name: 'api_key' }, 'é✓ unicode'))).toBe('é✓ unicode');

    await vault.set('crm', 'api_key', SECRET, actor);
    expect(await vault.get('crm', 'api_key')).toBe(SECRET);
    const stored = await store.getSecret('crm', 'api_key');
    expect(stored?.sealed).not.toContain(SECRET);
    expect(stored?.keyId).toBe(key.id);
    const events = await store.queryAudit({ limit: 10 });
    expect(events.map((e) => e.type)).toEqual(['vault.secret_set']);
    expect(events[0]?.data).toEqual({ system: 'crm', name: 'api_key', keyId: key.id, replaced: false });
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it('refuses a sealed value with one byte of its ciphertext changed', async () => {
    await vault.set('crm', 'api_key', SECRET, actor);
    const stored = await store.getSecret('crm', 'api_key');
    if (stored === undefined) throw new Error('not stored');
    const [format, nonce, ciphertext, tag] = stored.sealed.split('.');
    const bytes = Buffer.from(ciphertext ?? '', 'base64url');
    bytes[0] = (bytes[0] ?? 0) ^ 0x01;
    store.database.prepare('UPDATE vault_secrets SET sealed = ? WHERE system = ? AND name = ?')
      .run([format, nonce, bytes.toString('base64url'), tag].join('.'), 'crm', 'api_key');
    const error = await failure(vault.get('crm', 'api_key'));
    expect(error.code).toBe('SECRET_UNAVAILABLE');
    expect(error.message).toContain('vault secret crm/api_key failed its integrity check');
    expect(error.message).toContain('portcullis vault set crm api_key');
  });

  it('refuses a sealed value moved onto another secret (the name is associated data)', async () => {
    await vault.set('crm', 'api_key', SECRET, actor);
    await vault.set('crm', 'other', 'x', actor);
    store.database.prepare("UPDATE vault_secrets SET sealed = (SELECT sealed FROM vault_secrets WHERE name = 'api_key') WHERE name = 'other'").run();
    expect((await failure(vault.get('crm', 'other'))).message).toContain('failed its integrity check');
  });

  it('refuses malformed sealed text with the fix', () => {
    expect(() => openSecret(key, { system: 's', name: 'n' }, 'v2.abc')).toThrow(/not in a format this Portcullis reads/);
  });
});

describe('master keys', () => {
  it('names the key in use and the one a secret was sealed with when they differ', async () => {
    await vault.set('crm', 'api_key', SECRET, actor);
    const other = parseMasterKey(newMasterKeyText(), 'PORTCULLIS_MASTER_KEY');
    const error = await failure(createVault({ store, key: other, clock }).get('crm', 'api_key'));
    expect(error.code).toBe('SECRET_UNAVAILABLE');
    expect(error.message).toBe(`vault secret crm/api_key is sealed under master key ${key.id}, but the key in use (from PORTCULLIS_MASTER_KEY) is ${other.id}: use the master key it was sealed with (after \`portcullis vault rotate-key\`, the new one)`);
  });

  it('a locked vault lists but neither reads nor writes, and says how to unlock it', async () => {
    await vault.set('crm', 'api_key', SECRET, actor);
    const locked = createVault({ store, key: undefined, clock });
    expect(locked.keyId).toBeUndefined();
    expect((await locked.list()).map((s) => s.name)).toEqual(['api_key']);
    expect((await failure(locked.get('crm', 'api_key'))).message).toMatch(/the vault is locked: no master key is configured; set PORTCULLIS_MASTER_KEY .* or vault\.keyFile/);
    expect((await failure(locked.set('crm', 'x', 'y', actor))).code).toBe('SECRET_UNAVAILABLE');
  });

  it('says when a secret is not set, and refuses an empty value', async () => {
    expect((await failure(vault.get('crm', 'missing'))).message).toBe('vault secret crm/missing is not set; a person must store it with `portcullis vault set crm missing` (the value is read from standard input)');
    expect((await failure(vault.set('crm', 'x', '', actor))).code).toBe('INVALID_REQUEST');
  });

  it('parses base64 keys of exactly 32 bytes and never shows the key', () => {
    const text = newMasterKeyText();
    const parsed = parseMasterKey(`${text}\n`, 'test');
    expect(parsed.id).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(parseMasterKey(Buffer.from(text, 'base64').toString('base64url'), 'test').id).toBe(parsed.id);
    expect(JSON.stringify({ parsed })).not.toContain(text);
    expect(inspect(parsed)).toBe(`MasterKey(${parsed.id})`);
    expect(() => parseMasterKey('c2hvcnQ=', 'PORTCULLIS_MASTER_KEY')).toThrow('the master key from PORTCULLIS_MASTER_KEY is 5 bytes; it must be 32 random bytes in base64');
    expect(() => parseMasterKey('not base64!', 'PORTCULLIS_MASTER_KEY')).toThrow(/is not base64/);
  });

  it('reads a key file only when its owner alone can read it', () => {
    const path = join(dir.path, `key-${(files += 1)}`);
    const key = writeNewMasterKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readMasterKeyFile(path).id).toBe(key.id);
    expect(() => writeNewMasterKeyFile(path)).toThrow();
    chmodSync(path, 0o644);
    expect(() => readMasterKeyFile(path)).toThrow(`master key file ${path} can be read by others (mode 0644); run \`chmod 600 ${path}\` so only its owner can`);
    expect(() => readMasterKeyFile(join(dir.path, 'nope'))).toThrow(/does not exist; make one with `portcullis vault new-key --out/);
  });

  it('takes PORTCULLIS_MASTER_KEY over the key file, and neither means locked', () => {
    const path = join(dir.path, `key-${(files += 1)}`);
    writeFileSync(path, newMasterKeyText(), { mode: 0o600 });
    const fromEnv = newMasterKeyText();
    expect(loadMasterKey({ keyFile: path, envKey: fromEnv })?.id).toBe(parseMasterKey(fromEnv, 'x').id);
    expect(loadMasterKey({ keyFile: path })?.id).toBe(parseMasterKey(readFileSync(path, 'utf8'), 'x').id);
    expect(loadMasterKey({})).toBeUndefined();
  });
});

describe('rotate-key', () => {
  it('re-seals every secret under the new key in one audited step; the old key no longer opens them', async () => {
    await vault.set('crm', 'api_key', SECRET, actor);
    await vault.set('mail', 'password', 'smtp-pass', actor);
    const next = parseMasterKey(newMasterKeyText(), 'new');
    expect(await vault.rotateKey(next, actor)).toEqual({ rotated: 2 });
    const rotated = createVault({ store, key: next, clock });
    expect(await rotated.get('crm', 'api_key')).toBe(SECRET);
    expect(await rotated.get('mail', 'password')).toBe('smtp-pass');
    expect((await rotated.list()).every((s) => s.keyId === next.id)).toBe(true);
    expect((await failure(vault.get('crm', 'api_key'))).message).toContain(`is sealed under master key ${next.id}`);
    const last = (await store.queryAudit({ limit: 10, order: 'desc' }))[0];
    expect(last).toMatchObject({ type: 'vault.key_rotated', data: { from: key.id, to: next.id, secrets: 2 } });
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it('changes nothing when a secret does not open under the current key', async () => {
    await vault.set('crm', 'api_key', SECRET, actor);
    await createVault({ store, key: parseMasterKey(newMasterKeyText(), 'other'), clock }).set('crm', 'foreign', 'x', actor);
    const before = await store.listSecrets();
    const error = await failure(vault.rotateKey(parseMasterKey(newMasterKeyText(), 'new'), actor));
    expect(error.code).toBe('SECRET_UNAVAILABLE');
    expect(await store.listSecrets()).toEqual(before);
  });
});

describe('the gateway and its master key', () => {
  it('does not start with a configured key file it cannot use, and says why', async () => {
    let folder = '';
    const opening = openHarness({
      configYaml: `${harnessConfig()}\nvault: { keyFile: ./master.key }\n`,
      prepare: (d) => { folder = d; writeFileSync(join(d, 'master.key'), newMasterKeyText(), { mode: 0o644 }); chmodSync(join(d, 'master.key'), 0o644); },
    });
    await expect(opening).rejects.toThrow(/master key file .*master\.key can be read by others \(mode 0644\); run `chmod 600 /);
    rmSync(folder, { recursive: true, force: true });
  });

  it('opens the vault the config names, so connectors can read its secrets', async () => {
    const h = await openHarness({
      configYaml: `${harnessConfig()}\nvault: { keyFile: ./master.key }\n`,
      prepare: (d) => { writeNewMasterKeyFile(join(d, 'master.key')); },
    });
    try {
      await h.gateway.vault.set('crm', 'api_key', SECRET, actor);
      expect(await resolveSystemSecret({ kind: 'vault', system: 'crm', name: 'api_key' }, h.gateway.vault)).toBe(SECRET);
      expect(await resolveSystemSecret({ kind: 'env', variable: 'X', value: 'from-env' }, undefined)).toBe('from-env');
      await expect(resolveSystemSecret({ kind: 'vault', system: 'crm', name: 'api_key' }, undefined)).rejects.toThrow(/cannot be read: this process has no vault/);
    } finally {
      await h.close();
    }
  });
});
