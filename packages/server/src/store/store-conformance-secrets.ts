/**
 * Conformance cases for the vault's sealed secrets and the workflow runs (part of the ONE
 * suite in store-conformance.ts). The store treats a sealed value as opaque text.
 */
import { describe, expect, it } from 'vitest';
import type { RunRecord, Store, StoredSecret } from './store.js';
import { T0, makeEvent, rejectionCode, verifyStore } from './store-conformance-fixtures.js';

const secret = (overrides: Partial<StoredSecret> = {}): StoredSecret => ({
  system: 'crm', name: 'api_key', keyId: 'k1', sealed: `v1.sealed-${Math.random().toString(36).slice(2)}`, createdAt: T0, updatedAt: T0, ...overrides,
});

/** Registers the secret and run cases. */
export function describeSecretAndRunConformance(getStore: () => Store): void {
  describe('vault secrets', () => {
    it('puts, reads, replaces and lists sealed secrets with their events', async () => {
      const store = getStore();
      expect(await store.getSecret('crm', 'api_key')).toBeUndefined();
      expect(await store.listSecrets()).toEqual([]);
      const first = secret();
      await store.putSecret(first, [makeEvent({ type: 'vault.secret_set', data: { system: 'crm', name: 'api_key' } })]);
      expect(await store.getSecret('crm', 'api_key')).toEqual(first);
      const replaced = secret({ createdAt: T0 + 5, updatedAt: T0 + 5, keyId: 'k2' });
      await store.putSecret(replaced, []);
      expect(await store.getSecret('crm', 'api_key')).toEqual({ ...replaced, createdAt: T0 });
      const other = secret({ system: 'billing', name: 'token' });
      await store.putSecret(other, []);
      expect((await store.listSecrets()).map((s) => `${s.system}/${s.name}`)).toEqual(['billing/token', 'crm/api_key']);
      expect((await store.queryAudit({ limit: 10 })).map((e) => e.type)).toEqual(['vault.secret_set']);
    });

    it('replaces the whole vault only if nothing changed since it was read', async () => {
      const store = getStore();
      const a = secret({ name: 'a' });
      const b = secret({ name: 'b' });
      await store.putSecret(a, []);
      await store.putSecret(b, []);
      const read = await store.listSecrets();
      const next = read.map((s) => ({ ...s, keyId: 'k2', sealed: `${s.sealed}-resealed`, updatedAt: T0 + 9 }));
      // b changed after the read: the rotation must not overwrite it with a stale value.
      const changedB = secret({ name: 'b', updatedAt: T0 + 3 });
      await store.putSecret(changedB, []);
      const head = await store.auditHead();
      expect(await store.replaceAllSecrets(read, next, [makeEvent({ type: 'vault.key_rotated' })])).toBe(false);
      expect(await store.getSecret('crm', 'b')).toEqual({ ...changedB, createdAt: T0 });
      expect(await store.auditHead()).toEqual(head);

      const fresh = await store.listSecrets();
      const resealed = fresh.map((s) => ({ ...s, keyId: 'k2', sealed: `${s.sealed}-resealed` }));
      expect(await store.replaceAllSecrets(fresh, resealed, [makeEvent({ type: 'vault.key_rotated' })])).toBe(true);
      expect(await store.listSecrets()).toEqual(resealed);
      expect((await store.auditHead()).seq).toBe(head.seq + 1);
      expect((await verifyStore(store)).ok).toBe(true);
    });
  });

  describe('runs', () => {
    it('inserts a run with its event, reads it back and refuses a duplicate id', async () => {
      const store = getStore();
      const run: RunRecord = { id: 'run_1', workflow: 'route-leads', startedBy: 'agent:lead-router', startedAt: T0, checks: [{ system: 'crm', ok: true }] };
      expect(await store.getRun('run_1')).toBeUndefined();
      await store.insertRun(run, [makeEvent({ type: 'run.started', data: { runId: 'run_1' } })]);
      expect(await store.getRun('run_1')).toEqual(run);
      expect(await rejectionCode(store.insertRun(run, [makeEvent({ type: 'run.started' })]))).not.toBe('resolved');
      expect((await store.queryAudit({ limit: 10 })).map((e) => e.type)).toEqual(['run.started']);
    });
  });
}
