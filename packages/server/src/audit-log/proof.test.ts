/**
 * Proofs of one event over a real SQLite store: correct against checkpoints of every size, and
 * made from O(log n) stored tree nodes and a few blocks of bodies, never from the whole trail.
 * The rows read are counted by wrapping the real store's `readAuditTrail`.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createMerkleFrontier, merkleLeafHash, merkleRoot, verifyInclusion } from '@portcullis/core';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { DAY, T0, makeEvent } from '../store/store-conformance-fixtures.js';
import type { Store } from '../store/store.js';
import { makeTempDir } from '../testing/temp-dir.js';
import { signCheckpoint } from './checkpoint.js';
import { checkInclusionProofDocument, proveEvent, ProofUnavailable } from './proof.js';
import { generateNoteKey, parseNoteSigner, parseNoteVerifier } from './signed-note.js';

const dir = makeTempDir('portcullis-proof');
afterAll(() => dir.cleanup());
const key = generateNoteKey('portcullis.test/audit');
const signer = parseNoteSigner(key.signer);
const verifier = parseNoteVerifier(key.verifier);
let files = 0;

async function trail(count: number, at: (i: number) => number = () => T0) {
  const path = join(dir.path, `proof-${(files += 1)}.db`);
  const store = createSqliteStore({ path });
  await store.migrate();
  const sealed = [];
  for (let from = 0; from < count; from += 1000) {
    sealed.push(...await store.appendAudit(Array.from({ length: Math.min(1000, count - from) }, (_, k) => makeEvent({ at: at(from + k), data: { i: from + k } }))));
  }
  return { path, store, leaves: sealed.map((e) => e.leafHash) };
}

/** The real store, its trail reads counted. */
function counting(store: Store): { store: Store; rows: () => number } {
  let rows = 0;
  const wrapped: Store = Object.create(store) as Store;
  wrapped.readAuditTrail = async function* (batchSize, range) {
    for await (const page of store.readAuditTrail(batchSize, range)) {
      rows += page.length;
      yield page;
    }
  };
  return { store: wrapped, rows: () => rows };
}

const checkpointAt = (store: Store, size?: number) => store.auditTree().then((tree) => {
  const frontier = createMerkleFrontier(tree.frontier);
  return signCheckpoint({ origin: 'portcullis.test/audit', size: size ?? frontier.size, root: frontier.root() }, signer);
});

describe('proveEvent', () => {
  it('proves any event against checkpoints of any size, reading at most a few blocks of 256 bodies', async () => {
    const { store, leaves } = await trail(5000);
    for (const size of [1, 255, 256, 257, 1000, 4096, 4097, 5000]) {
      const checkpoint = signCheckpoint({ origin: 'portcullis.test/audit', size, root: merkleRoot(leaves, size) }, signer);
      for (const seq of [1, Math.ceil(size / 2), size]) {
        const counted = counting(store);
        const proof = await proveEvent(counted.store, seq, checkpoint);
        expect(proof.leafIndex).toBe(seq - 1);
        const path = proof.inclusionProof.map((p) => new Uint8Array(Buffer.from(p, 'base64')));
        expect(verifyInclusion(merkleLeafHash(proof.body), seq - 1, size, path, merkleRoot(leaves, size)), `event ${seq} of ${size}`).toBe(true);
        expect(checkInclusionProofDocument(proof, [verifier])).toMatchObject({ ok: true, treeSize: size });
        // The leaf's block and the tree's ragged right edge: never the whole trail.
        expect(counted.rows(), `rows read for event ${seq} of ${size}`).toBeLessThanOrEqual(2 * 256);
      }
    }
    await store.close();
  });

  it('still proves events kept after a purge, from the nodes the purge left', async () => {
    const { store } = await trail(1200, (i) => T0 + (i < 600 ? 0 : 200) * DAY);
    await store.purgeAudit(T0 + DAY, T0 + 300 * DAY, 'retention');
    const checkpoint = await checkpointAt(store);
    expect(checkpoint.size).toBe(1201);
    const proof = await proveEvent(store, 1000, checkpoint);
    expect(checkInclusionProofDocument(proof, [verifier])).toMatchObject({ ok: true });
    // A purged event itself has no body to prove (its path would come from the kept leaf hashes).
    await expect(proveEvent(store, 100, checkpoint)).rejects.toThrow(/event 100 is missing from the store \(purged, or deleted\): only events the store still holds can be proven/);
    await store.close();
  });

  it('gives no proof, never a wrong one, when a stored node was changed', async () => {
    const { path, store } = await trail(1024);
    const checkpoint = await checkpointAt(store);
    const raw = new Database(path);
    raw.exec("DROP TRIGGER audit_tree_nodes_no_update; UPDATE audit_tree_nodes SET hash = zeroblob(32) WHERE height = 9 AND idx = 1;");
    raw.close();
    await expect(proveEvent(store, 10, checkpoint)).rejects.toThrow(ProofUnavailable);
    await expect(proveEvent(store, 10, checkpoint)).rejects.toThrow(/do not lead to the checkpoint's root/);
    // A proof that does not need the changed node is still given.
    expect((await proveEvent(store, 1000, checkpoint)).seq).toBe(1000);
    await store.close();
  });

  it('refuses an event the checkpoint does not cover, and a store shorter than the checkpoint', async () => {
    const { store, leaves } = await trail(10);
    const small = signCheckpoint({ origin: 'portcullis.test/audit', size: 5, root: merkleRoot(leaves, 5) }, signer);
    await expect(proveEvent(store, 6, small)).rejects.toThrow(/newer than the newest checkpoint \(5 events\)/);
    const big = signCheckpoint({ origin: 'portcullis.test/audit', size: 20, root: merkleRoot(leaves, 10) }, signer);
    await expect(proveEvent(store, 3, big)).rejects.toThrow(/fewer than the checkpoint's 20: the store was cut or rolled back/);
    await store.close();
  });
});
