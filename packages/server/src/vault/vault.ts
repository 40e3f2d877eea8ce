/**
 * The credential vault: system credentials (API keys, OAuth2 client secrets and refresh
 * tokens, database and SMTP passwords) sealed at rest in the gateway store under the master
 * key. Invariants: the store only ever holds sealed values; a value leaves the vault only as
 * the return value of `get`, to a connector, never to an API response, a log or the audit
 * trail (events name the secret, never its value); each write is audited atomically with it;
 * a key rotation re-seals every secret in one transaction, or changes nothing.
 */
import { PortcullisError, type Actor, type AuditEventDraft, type Clock } from '@portcullis/core';
import type { Store, StoredSecret } from '../store/store.js';
import { MASTER_KEY_ENV } from './master-key.js';
import { openSecret, sealSecret, type MasterKey } from './vault-crypto.js';

/** What `list` shows of a secret: never its value. */
export interface SecretInfo {
  readonly system: string;
  readonly name: string;
  readonly keyId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The vault. */
export interface Vault {
  /** The id of the master key in use, or undefined when no key is configured (locked). */
  readonly keyId: string | undefined;
  /**
   * Seals and stores `value` as (system, name), replacing any previous value, and audits
   * `vault.secret_set` (without the value).
   * @throws PortcullisError SECRET_UNAVAILABLE when locked; INVALID_REQUEST for an empty value.
   */
  set(system: string, name: string, value: string, actor: Actor, reason?: string): Promise<void>;
  /**
   * The plain value of (system, name).
   * @throws PortcullisError SECRET_UNAVAILABLE when locked, missing, under another master key, or tampered with.
   */
  get(system: string, name: string): Promise<string>;
  /** Every secret's name, key id and dates; works when locked. */
  list(): Promise<SecretInfo[]>;
  /**
   * Re-seals every secret under `next` in one transaction and audits `vault.key_rotated`.
   * Afterwards only `next` opens them: point PORTCULLIS_MASTER_KEY or vault.keyFile at it.
   * @throws PortcullisError SECRET_UNAVAILABLE if a secret does not open under the current key (nothing changes).
   */
  rotateKey(next: MasterKey, actor: Actor): Promise<{ rotated: number }>;
}

/** What a vault needs. */
export interface VaultOptions {
  readonly store: Store;
  /** The master key; undefined leaves the vault locked. */
  readonly key: MasterKey | undefined;
  readonly clock: Clock;
}

const VALUE_LIMIT = 64 * 1024;
const ROTATE_ATTEMPTS = 5;

/** Creates the vault over the store. */
export function createVault(options: VaultOptions): Vault {
  const { store, clock } = options;
  const unlocked = (): MasterKey => {
    if (options.key === undefined) {
      throw new PortcullisError('SECRET_UNAVAILABLE', `the vault is locked: no master key is configured; set ${MASTER_KEY_ENV} (base64 of 32 random bytes) or vault.keyFile in portcullis.yaml`);
    }
    return options.key;
  };
  const open = (key: MasterKey, secret: StoredSecret): string => {
    if (secret.keyId !== key.id) {
      throw new PortcullisError('SECRET_UNAVAILABLE', `vault secret ${secret.system}/${secret.name} is sealed under master key ${secret.keyId}, but the key in use (from ${key.source}) is ${key.id}: use the master key it was sealed with (after \`portcullis vault rotate-key\`, the new one)`, { system: secret.system, name: secret.name, keyId: secret.keyId });
    }
    return openSecret(key, secret, secret.sealed);
  };

  return {
    keyId: options.key?.id,

    async set(system, name, value, actor, reason) {
      const key = unlocked();
      if (value.length === 0) throw new PortcullisError('INVALID_REQUEST', `the value for vault secret ${system}/${name} is empty; pass the secret on standard input`);
      if (value.length > VALUE_LIMIT) throw new PortcullisError('INVALID_REQUEST', `the value for vault secret ${system}/${name} is longer than ${VALUE_LIMIT} characters`);
      const now = clock.now();
      const previous = await store.getSecret(system, name);
      const event: AuditEventDraft = {
        type: 'vault.secret_set', at: now, actor,
        data: { system, name, keyId: key.id, replaced: previous !== undefined, ...(reason === undefined ? {} : { reason }) },
      };
      await store.putSecret({ system, name, keyId: key.id, sealed: sealSecret(key, { system, name }, value), createdAt: previous?.createdAt ?? now, updatedAt: now }, [event]);
    },

    async get(system, name) {
      const key = unlocked();
      const secret = await store.getSecret(system, name);
      if (secret === undefined) {
        throw new PortcullisError('SECRET_UNAVAILABLE', `vault secret ${system}/${name} is not set; a person must store it with \`portcullis vault set ${system} ${name}\` (the value is read from standard input)`, { system, name });
      }
      return open(key, secret);
    },

    async list() {
      return (await store.listSecrets()).map(({ system, name, keyId, createdAt, updatedAt }) => ({ system, name, keyId, createdAt, updatedAt }));
    },

    async rotateKey(next, actor) {
      const key = unlocked();
      for (let attempt = 0; attempt < ROTATE_ATTEMPTS; attempt += 1) {
        const current = await store.listSecrets();
        const now = clock.now();
        const resealed = current.map((s) => ({ ...s, keyId: next.id, sealed: sealSecret(next, s, open(key, s)), updatedAt: now }));
        const event: AuditEventDraft = {
          type: 'vault.key_rotated', at: now, actor,
          data: { from: key.id, to: next.id, secrets: current.length },
        };
        if (await store.replaceAllSecrets(current, resealed, [event])) return { rotated: current.length };
      }
      throw new PortcullisError('SECRET_UNAVAILABLE', `the vault kept changing during the key rotation (${ROTATE_ATTEMPTS} attempts); nothing was changed; try again`);
    },
  };
}
