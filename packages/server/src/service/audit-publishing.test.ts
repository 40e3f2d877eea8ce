import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createMerkleFrontier, merkleLeafHash, merkleRoot } from '@portcullis/core';
import { writeLegacyTrail } from '../testing/legacy-trail.js';
import { generateNoteKey, parseNoteSigner } from '../audit-log/signed-note.js';
import type { CheckpointsConfig, CompiledConfig } from '../config/compiled.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { frontierToBlob } from '../store/sqlite/sqlite-audit.js';
import { makeEvent } from '../store/store-conformance-fixtures.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { makeTempDir } from '../testing/temp-dir.js';
import { openGateway, type Gateway } from '../wiring/gateway.js';
import { createAdminService } from './admin.js';
import { startAuditPublishing } from './audit-publishing.js';
import { checkAuditProof } from './audit-checkpoints.js';

const key = generateNoteKey('portcullis.test/audit');

function settings(dir: string, overrides: Partial<CheckpointsConfig> = {}): CheckpointsConfig {
  return { origin: 'portcullis.test/audit', envKey: key.signer, previousKeys: [], dir, everyEvents: 1000, everyMs: 10_000, stdout: false, maxLagMs: 60_000, ...overrides };
}

const withCheckpoints = (config: CompiledConfig): CompiledConfig => ({ ...config, audit: { ...config.audit, checkpoints: settings(join(dirname(config.source), 'checkpoints')) } });

/** Deletes the newest `count` events and re-hashes chain, head and tree, as an attacker with the file would. */
function rollBack(path: string, count: number): void {
  const raw = new Database(path);
  raw.exec('DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_head_forward_only; DROP TRIGGER audit_tree_grows_only;');
  raw.prepare('DELETE FROM audit_events WHERE seq > (SELECT MAX(seq) FROM audit_events) - ?').run(count);
  const rows = raw.prepare('SELECT seq, body, hash FROM audit_events ORDER BY seq').all() as { seq: number; body: string; hash: string }[];
  const frontier = createMerkleFrontier();
  for (const row of rows) frontier.append(merkleLeafHash(row.body));
  const last = rows.at(-1);
  raw.prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1').run(last?.seq, last?.hash);
  raw.prepare('UPDATE audit_tree SET size = ?, frontier = ? WHERE id = 1').run(frontier.size, frontierToBlob(frontier.state()));
  raw.close();
  expect(Buffer.from(merkleLeafHash(rows[0]?.body ?? '')).toString('hex')).toBe(rows[0]?.hash);
}

describe('the gateway with signed checkpoints', () => {
  let harness: Harness | undefined;
  const gateways: Gateway[] = [];
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.close();
    await harness?.close();
    harness = undefined;
  });

  it('cuts a checkpoint at shutdown; refuses to execute on a store rolled back behind it, says so in /readyz, and recovers through the audited command', async () => {
    harness = await openHarness({ adjustConfig: withCheckpoints });
    const read = { workflow: 'route-leads', action: 'crm.leads.read', params: {} };
    expect((await proposeAs(harness, 'agent', read)).statusCode).toBe(200);
    const config = harness.gateway.config;
    await harness.gateway.close();
    const log = readFileSync(join(harness.dir, 'checkpoints', 'checkpoints.jsonl'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(1);

    rollBack(harness.storePath, 2);
    const refused = await openGateway(config, { expiryIntervalMs: 0, clock: harness.clock });
    gateways.push(refused);
    const ready = await refused.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ ready: false, checks: { audit: expect.stringMatching(/the audit store disagrees with the newest published checkpoint \(\d+ events\): checkpoint \d+ covers events through \d+, but the store's trail ends at event \d+/) } });
    const attempt = await refused.app.inject({ method: 'POST', url: '/v1/actions', headers: { authorization: `Bearer ${harness.secrets.agent}` }, payload: read });
    expect(attempt.statusCode).toBe(503);
    expect(attempt.json()).toMatchObject({ error: { code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/disagrees with the newest published checkpoint.*nothing was executed/) } });
    expect((await refused.app.inject({ method: 'GET', url: '/v1/audit', headers: { authorization: `Bearer ${harness.secrets.dana}` } })).statusCode).toBe(200);
    await gateways.pop()?.close();

    const store = createSqliteStore({ path: harness.storePath });
    await store.migrate();
    const admin = createAdminService({ store, clock: harness.clock, storeLocation: config.store, config });
    const recovered = await admin.audit.recover('restored the backup after a disk loss');
    expect(recovered.problem).toMatch(/covers events through/);
    const [event] = await store.queryAudit({ limit: 1, order: 'desc' });
    expect(event).toMatchObject({ type: 'audit.recovered', actor: { kind: 'system', id: 'cli' }, data: { reason: 'restored the backup after a disk loss' } });
    await expect(admin.audit.recover('again')).rejects.toThrow(/nothing to recover/);
    await store.close();

    const restarted = await openGateway(config, { expiryIntervalMs: 0, clock: harness.clock });
    gateways.push(restarted);
    expect((await restarted.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await restarted.app.inject({ method: 'POST', url: '/v1/actions', headers: { authorization: `Bearer ${harness.secrets.agent}` }, payload: read })).statusCode).toBe(200);
  });

  it('starts again after `audit recover` accepted a restored backup much shorter than the newest checkpoint', async () => {
    harness = await openHarness({ adjustConfig: withCheckpoints });
    const read = { workflow: 'route-leads', action: 'crm.leads.read', params: {} };
    const config = harness.gateway.config;
    await harness.gateway.close();
    const backup = `${harness.storePath}.backup`;
    copyFileSync(harness.storePath, backup);

    const later = await openGateway(config, { expiryIntervalMs: 0, clock: harness.clock });
    for (let i = 0; i < 5; i += 1) expect((await later.app.inject({ method: 'POST', url: '/v1/actions', headers: { authorization: `Bearer ${harness.secrets.agent}` }, payload: read })).statusCode).toBe(200);
    await later.close();
    const sizes = () => readFileSync(join(harness?.dir ?? '', 'checkpoints', 'checkpoints.jsonl'), 'utf8').trim().split('\n').map((line) => Number((JSON.parse(line) as { note: string }).note.split('\n')[1]));
    const largest = Math.max(...sizes());

    for (const suffix of ['-wal', '-shm']) rmSync(`${harness.storePath}${suffix}`, { force: true });
    copyFileSync(backup, harness.storePath);
    expect(await readyz(config)).toMatchObject({ ready: false });
    await gateways.pop()?.close();

    const store = createSqliteStore({ path: harness.storePath });
    await store.migrate();
    const recovered = await createAdminService({ store, clock: harness.clock, storeLocation: config.store, config }).audit.recover('restored last night\'s backup');
    expect(recovered.size).toBeLessThan(largest);
    expect(sizes().at(-1)).toBe(recovered.size);
    await store.close();
    expect(await readyz(config)).toMatchObject({ ready: true });
  });

  /** A gateway with checkpoints whose trail began 200 days ago, closed (its shutdown checkpoint covers the trail), and an admin over its store at `now`. */
  async function oldTrail(withConfig: boolean) {
    harness = await openHarness({ adjustConfig: withCheckpoints, clock: createFakeClock(Date.now() - 200 * 86_400_000) });
    expect((await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: {} })).statusCode).toBe(200);
    harness.clock.set(Date.now());
    const config = harness.gateway.config;
    await harness.gateway.close();
    const store = createSqliteStore({ path: harness.storePath });
    await store.migrate();
    const admin = createAdminService({ store, clock: harness.clock, storeLocation: config.store, ...(withConfig ? { config } : {}) });
    return { config, store, admin };
  }
  const readyz = async (config: CompiledConfig) => {
    const gateway = await openGateway(config, { expiryIntervalMs: 0, clock: harness?.clock });
    gateways.push(gateway);
    return (await gateway.app.inject({ method: 'GET', url: '/readyz' })).json() as { ready: boolean; checks: { audit?: string } };
  };

  it('starts again after `audit purge` with the config: it signs a checkpoint that covers the purge', async () => {
    const { config, store, admin } = await oldTrail(true);
    const purged = await admin.audit.purge(90);
    expect(purged.purged).toBeGreaterThan(0);
    expect(purged.published).toEqual({ size: createMerkleFrontier((await store.auditTree()).frontier).size, dir: join(harness?.dir ?? '', 'checkpoints') });
    await store.close();
    expect(await readyz(config)).toMatchObject({ ready: true });
  });

  it('names a purge no published checkpoint covers (`audit purge --db`) with what settles it, not as a broken store', async () => {
    const { config, store, admin } = await oldTrail(false);
    const purged = await admin.audit.purge(90);
    expect(purged.purged).toBeGreaterThan(0);
    expect(purged.published).toBeUndefined();
    await store.close();
    const answer = await readyz(config);
    expect(answer.ready).toBe(false);
    expect(answer.checks.audit).toMatch(/is not yet covered by a published checkpoint .*if you ran it, sign a checkpoint now/);
    expect(answer.checks.audit).not.toMatch(/the store itself is broken/);
  });

  it('refuses to recover a store whose own events are broken (an edited body), and says to restore a backup first; nothing is recorded', async () => {
    harness = await openHarness({ adjustConfig: withCheckpoints });
    expect((await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: {} })).statusCode).toBe(200);
    const config = harness.gateway.config;
    await harness.gateway.close();
    const raw = new Database(harness.storePath);
    raw.exec('DROP TRIGGER audit_events_no_update');
    raw.prepare("UPDATE audit_events SET body = replace(body, '\"gateway.started\"', '\"gateway.stopped\"') WHERE seq = 1").run();
    raw.close();
    const refused = await openGateway(config, { expiryIntervalMs: 0, clock: harness.clock });
    gateways.push(refused);
    const ready = await refused.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.audit).toMatch(/event 1 .*; the store itself is broken: restore it from a backup taken before the break, then run `portcullis audit recover`/);
    await gateways.pop()?.close();
    const store = createSqliteStore({ path: harness.storePath });
    await store.migrate();
    const admin = createAdminService({ store, clock: harness.clock, storeLocation: config.store, config });
    const before = (await store.auditHead()).seq;
    await expect(admin.audit.recover('accept it')).rejects.toThrow(/the store itself is broken, not only different from the published checkpoints: event 1 .*Restore the store from a backup taken before the break, then run `portcullis audit recover`/);
    expect((await store.auditHead()).seq).toBe(before);
    await store.close();
  });

  it('gives each event of GET /v1/audit?proof=true its inclusion proof against the newest published checkpoint, which check-proof accepts', async () => {
    harness = await openHarness({ adjustConfig: withCheckpoints });
    const read = { workflow: 'route-leads', action: 'crm.leads.read', params: {} };
    expect((await proposeAs(harness, 'agent', read)).statusCode).toBe(200);
    const asDana = { authorization: `Bearer ${harness.secrets.dana}` };
    const before = (await harness.gateway.app.inject({ method: 'GET', url: '/v1/audit?proof=true', headers: asDana })).json() as { events: { proofUnavailable?: string }[] };
    expect(before.events[0]?.proofUnavailable).toBe('no signed checkpoint has been published yet');
    const config = harness.gateway.config;
    await harness.gateway.close();

    const reopened = await openGateway(config, { expiryIntervalMs: 0, clock: harness.clock });
    gateways.push(reopened);
    const plain = (await reopened.app.inject({ method: 'GET', url: '/v1/audit', headers: asDana })).json() as { events: Record<string, unknown>[] };
    const first = plain.events[0] as { seq: number };
    expect(first).toMatchObject({ treeIndex: first.seq - 1, leafHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(plain.events[0]).not.toHaveProperty('proof');
    expect((await reopened.app.inject({ method: 'POST', url: '/v1/actions', headers: { authorization: `Bearer ${harness.secrets.agent}` }, payload: read })).statusCode).toBe(200);
    const response = await reopened.app.inject({ method: 'GET', url: '/v1/audit?proof=true&limit=1000', headers: asDana });
    expect(response.statusCode).toBe(200);
    const { events } = response.json() as { events: { seq: number; type: string; proof?: { treeSize: number }; proofUnavailable?: string }[] };
    const proven = events.filter((e) => e.proof !== undefined);
    expect(proven.length).toBeGreaterThan(2);
    for (const event of proven) {
      const checked = checkAuditProof(JSON.stringify(event.proof), key.verifier);
      expect(checked, `event ${event.seq}`).toMatchObject({ ok: true, event: { seq: event.seq, type: event.type } });
    }
    // The events of this start came after the newest checkpoint: no proof yet, and why.
    const newer = events.filter((e) => e.proof === undefined);
    expect(newer.length).toBeGreaterThan(0);
    for (const event of newer) expect(event.proofUnavailable).toMatch(/newer than the newest checkpoint/);
    expect((await reopened.app.inject({ method: 'GET', url: '/v1/audit?proof=maybe', headers: asDana })).statusCode).toBe(400);
  });

  it('rotates the signing key: the old key\'s checkpoints still verify with its public key, at start and in audit verify with several --key', async () => {
    harness = await openHarness({ adjustConfig: withCheckpoints });
    const read = { workflow: 'route-leads', action: 'crm.leads.read', params: {} };
    expect((await proposeAs(harness, 'agent', read)).statusCode).toBe(200);
    const config = harness.gateway.config;
    await harness.gateway.close();
    const checkpoints = config.audit.checkpoints as CheckpointsConfig;
    const next = generateNoteKey('portcullis.test/audit');
    const keyId = (text: string): string => text.split('+')[1] as string;
    expect(keyId(next.verifier)).not.toBe(keyId(key.verifier));

    // The new key alone cannot read the old checkpoints: the gateway refuses to start on a log it cannot check.
    const withoutOld = { ...config, audit: { ...config.audit, checkpoints: { ...checkpoints, envKey: next.signer } } };
    const refused = await openGateway(withoutOld, { expiryIntervalMs: 0, clock: harness.clock });
    gateways.push(refused);
    expect((await refused.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ checks: { audit: expect.stringMatching(new RegExp(`the checkpoint log cannot be trusted: .*checkpoints.jsonl:1 is refused: no signature by portcullis.test/audit \\(key ${keyId(next.verifier)}\\)`)) } });
    await gateways.pop()?.close();

    const rotated = { ...config, audit: { ...config.audit, checkpoints: { ...checkpoints, envKey: next.signer, previousKeys: [key.verifier] } } };
    const restarted = await openGateway(rotated, { expiryIntervalMs: 0, clock: harness.clock });
    gateways.push(restarted);
    expect((await restarted.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await restarted.app.inject({ method: 'POST', url: '/v1/actions', headers: { authorization: `Bearer ${harness.secrets.agent}` }, payload: read })).statusCode).toBe(200);
    await gateways.pop()?.close();
    const lines = readFileSync(join(checkpoints.dir, 'checkpoints.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { note: string }).note);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`— portcullis.test/audit `);

    const store = createSqliteStore({ path: harness.storePath });
    await store.migrate();
    const admin = createAdminService({ store, clock: harness.clock, storeLocation: config.store, config });
    expect(await admin.audit.verifyCheckpoints(checkpoints.dir, [key.verifier, next.verifier])).toMatchObject({ ok: true, matched: 2 });
    expect(await admin.audit.verifyCheckpoints(checkpoints.dir, [next.verifier])).toMatchObject({ ok: false, problem: expect.stringMatching(/checkpoints.jsonl:1 is refused: no signature by portcullis.test\/audit \(key [0-9a-f]{8}\)/) });
    await store.close();
  });

  it('signs and publishes a first checkpoint over a trail migrated from the old chain when first started with a signing key, audited as audit.upgraded, once', async () => {
    harness = await openHarness({});
    const config = harness.gateway.config;
    await harness.gateway.close();
    const legacyPath = join(harness.dir, 'legacy.db');
    const chained = writeLegacyTrail(legacyPath, Array.from({ length: 40 }, (_, i) => makeEvent({ data: { i } })), 5);
    const upgraded = withCheckpoints({ ...config, store: { kind: 'sqlite', path: legacyPath } });
    const logDir = (upgraded.audit.checkpoints as CheckpointsConfig).dir;
    const first = await openGateway(upgraded, { expiryIntervalMs: 0, clock: harness.clock });
    gateways.push(first);
    const log = readFileSync(join(logDir, 'checkpoints.jsonl'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(1);
    const note = (JSON.parse(log[0] as string) as { note: string }).note;
    const root = merkleRoot(chained.map((e) => merkleLeafHash(e.body)));
    expect(note.split('\n').slice(0, 3)).toEqual(['portcullis.test/audit', '40', Buffer.from(root).toString('base64')]);
    const [event] = await first.store.queryAudit({ limit: 1, types: ['audit.upgraded'] });
    expect(event).toMatchObject({ seq: 41, actor: { kind: 'system', id: 'gateway' }, data: { chainThrough: 40, treeSize: 40, treeRoot: Buffer.from(root).toString('base64'), origin: 'portcullis.test/audit', keyId: key.verifier.split('+')[1] } });
    expect((await first.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await gateways.pop()?.close();

    const again = await openGateway(upgraded, { expiryIntervalMs: 0, clock: harness.clock });
    gateways.push(again);
    expect(await again.store.queryAudit({ limit: 10, types: ['audit.upgraded'] })).toHaveLength(1);
    await gateways.pop()?.close();
    const store = createSqliteStore({ path: legacyPath });
    await store.migrate();
    const admin = createAdminService({ store, clock: harness.clock, storeLocation: { kind: 'sqlite', path: legacyPath }, config: upgraded });
    expect(await admin.audit.verifyCheckpoints(logDir, key.verifier)).toMatchObject({ ok: true, matched: 3 });
    await store.close();
  });

  it('refuses to start with a missing or wrong signing key', async () => {
    await expect(openHarness({ adjustConfig: (c) => ({ ...withCheckpoints(c), audit: { ...c.audit, checkpoints: { ...settings('x'), envKey: 'PRIVATE+KEY+nope' } } }) }))
      .rejects.toThrow(/PORTCULLIS_AUDIT_SIGNING_KEY must look like/);
    const { envKey: _drop, ...noKey } = settings('x');
    await expect(openHarness({ adjustConfig: (c) => ({ ...c, audit: { ...c.audit, checkpoints: noKey } }) }))
      .rejects.toThrow(/audit.checkpoints needs a signing key/);
  });
});

describe('publishing lag', () => {
  const dir = makeTempDir('portcullis-publishing');
  afterEach(() => undefined);

  it('refuses executions once no sink accepted a checkpoint for longer than maxLag, until one does', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    const clock = createFakeClock();
    // The log's directory is under a file: the file sink fails.
    const blocked = join(dir.path, 'not-a-dir');
    writeFileSync(blocked, '');
    const warnings: string[] = [];
    const publishing = await startAuditPublishing({ store, settings: settings(join(blocked, 'log'), { everyEvents: 1 }), clock, signer: parseNoteSigner(key.signer), stdout: () => undefined, warn: (m) => warnings.push(m) });
    await store.appendAudit([makeEvent()]);
    await publishing.poll();
    expect(warnings[0]).toMatch(/audit checkpoint sink file .* failed/);
    expect(publishing.gate()).toBeUndefined();
    clock.advance(60_001);
    expect(publishing.gate()).toMatch(/no checkpoint sink has accepted a checkpoint of the newest audit events for 60s \(more than 60s\); last failure: file/);
    const fixed = await startAuditPublishing({ store, settings: settings(join(dir.path, 'log'), { everyEvents: 1 }), clock, signer: parseNoteSigner(key.signer), stdout: () => undefined, warn: () => undefined });
    await fixed.poll();
    expect(fixed.gate()).toBeUndefined();
    await store.close();
  });

  it('refuses executions for good once the store is edited under it and re-hashed: its tree no longer extends the checkpoint it published', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    const warnings: string[] = [];
    const publishing = await startAuditPublishing({ store, settings: settings(join(dir.path, 'log-fork'), { everyEvents: 1 }), clock: createFakeClock(), signer: parseNoteSigner(key.signer), stdout: () => undefined, warn: (m) => warnings.push(m) });
    await store.appendAudit([makeEvent({ data: { i: 1 } }), makeEvent({ data: { i: 2 } })]);
    await publishing.poll();
    // Event 1 replaced by another and the store's tree re-hashed to match (fewer than 256 events: no stored nodes).
    const raw = store.database;
    raw.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_tree_grows_only;');
    raw.prepare("UPDATE audit_events SET body = replace(body, '\"i\":1', '\"i\":7') WHERE seq = 1").run();
    const frontier = createMerkleFrontier();
    for (const { body } of raw.prepare('SELECT body FROM audit_events ORDER BY seq').all() as { body: string }[]) frontier.append(merkleLeafHash(body));
    raw.prepare('UPDATE audit_tree SET frontier = ? WHERE id = 1').run(frontierToBlob(frontier.state()));
    await store.appendAudit([makeEvent()]);
    await publishing.poll();
    expect(publishing.gate()).toMatch(/the stored audit tree \(3 events\) does not extend the newest published checkpoint \(2 events\).*nothing is signed or executed until it is resolved/);
    expect(warnings.at(-1)).toMatch(/does not extend the newest published checkpoint/);
    await store.close();
    dir.cleanup();
  });
});
