/**
 * The vault's sealed secrets and the workflow runs in SQLite. The functions here are
 * synchronous: writes must be called inside a write of the write queue (so each is atomic
 * with its audit events), reads anywhere. Secrets are opaque here: the store never sees a
 * plain value, only what vault/ sealed.
 */
import type { AuditEventDraft, JsonValue } from '@portcullis/core';
import type { RunRecord, StoredSecret } from '../store.js';
import type { Prepare, SqliteAuditLog } from './sqlite-audit.js';

interface SecretRow {
  system: string;
  name: string;
  key_id: string;
  sealed: string;
  created_at: number;
  updated_at: number;
}

interface RunRow {
  id: string;
  workflow: string;
  started_by: string;
  started_at: number;
  checks: string;
}

/** Secret and run statements over one connection. */
export interface SqliteSecretsAndRuns {
  putSecret(secret: StoredSecret, events: readonly AuditEventDraft[]): void;
  getSecret(system: string, name: string): StoredSecret | undefined;
  listSecrets(): StoredSecret[];
  replaceAllSecrets(expected: readonly StoredSecret[], next: readonly StoredSecret[], events: readonly AuditEventDraft[]): boolean;
  insertRun(run: RunRecord, events: readonly AuditEventDraft[]): void;
  getRun(id: string): RunRecord | undefined;
}

const toSecret = (row: SecretRow): StoredSecret => ({
  system: row.system, name: row.name, keyId: row.key_id, sealed: row.sealed, createdAt: row.created_at, updatedAt: row.updated_at,
});

const identity = (s: Pick<StoredSecret, 'system' | 'name' | 'sealed'>): string => JSON.stringify([s.system, s.name, s.sealed]);

/** Creates the statements. */
export function createSqliteSecretsAndRuns(prepare: Prepare, audit: SqliteAuditLog): SqliteSecretsAndRuns {
  const insertSecret = (secret: StoredSecret): void => {
    prepare(`INSERT INTO vault_secrets (system, name, key_id, sealed, created_at, updated_at)
      VALUES (@system, @name, @keyId, @sealed, @createdAt, @updatedAt)
      ON CONFLICT (system, name) DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed, updated_at = excluded.updated_at`)
      .run({ system: secret.system, name: secret.name, keyId: secret.keyId, sealed: secret.sealed, createdAt: secret.createdAt, updatedAt: secret.updatedAt });
  };
  const listSecrets = (): StoredSecret[] => (prepare('SELECT * FROM vault_secrets ORDER BY system, name').all() as SecretRow[]).map(toSecret);

  return {
    putSecret(secret, events) {
      insertSecret(secret);
      audit.append(events);
    },
    getSecret(system, name) {
      const row = prepare('SELECT * FROM vault_secrets WHERE system = ? AND name = ?').get(system, name) as SecretRow | undefined;
      return row === undefined ? undefined : toSecret(row);
    },
    listSecrets,
    replaceAllSecrets(expected, next, events) {
      const current = listSecrets().map(identity).sort();
      const wanted = expected.map(identity).sort();
      if (current.length !== wanted.length || current.some((value, i) => value !== wanted[i])) return false;
      prepare('DELETE FROM vault_secrets').run();
      for (const secret of next) insertSecret(secret);
      audit.append(events);
      return true;
    },
    insertRun(run, events) {
      prepare('INSERT INTO runs (id, workflow, started_by, started_at, checks) VALUES (?, ?, ?, ?, ?)')
        .run(run.id, run.workflow, run.startedBy, run.startedAt, JSON.stringify(run.checks));
      audit.append(events);
    },
    getRun(id) {
      const row = prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
      return row === undefined ? undefined : {
        id: row.id, workflow: row.workflow, startedBy: row.started_by, startedAt: row.started_at, checks: JSON.parse(row.checks) as JsonValue,
      };
    },
  };
}
