/**
 * The proof of one event: the event's body, its leaf index, the RFC 6962 inclusion proof and
 * the signed checkpoint it leads to, as one JSON document an auditor checks offline with the
 * log's public key (docs/audit.md gives the format). Invariant: a proof is written only when
 * the stored trail rebuilds the checkpoint's root, and checked with nothing but the document
 * and the key.
 */
import {
  inclusionProof, merkleLeafHash, merkleNodeHash, merkleRoot, parseAuditBody, verifyInclusion,
  type AuditEvent, type MerkleHash,
} from '@portcullis/core';
import type { Store } from '../store/store.js';
import { openCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import type { NoteVerifier } from './signed-note.js';

/** The format name of a proof document. */
export const PROOF_FORMAT = 'portcullis-audit-proof/1';

/** A proof document. */
export interface AuditInclusionProof {
  readonly format: typeof PROOF_FORMAT;
  /** The event's sequence number (also inside its body). */
  readonly seq: number;
  /** The event's canonical body (RFC 8785), exactly as hashed. */
  readonly body: string;
  /** The event's leaf index in the tree. */
  readonly leafIndex: number;
  /** The tree size of the checkpoint. */
  readonly treeSize: number;
  /** The RFC 6962 inclusion proof, base64 hashes from the leaf up. */
  readonly inclusionProof: readonly string[];
  /** The signed checkpoint (C2SP signed note). */
  readonly checkpoint: string;
}

/** Why a proof could not be made. */
export class ProofUnavailable extends Error {
  override readonly name = 'ProofUnavailable';
}

/** Leaves are read from the bodies in blocks of at most this many; larger aligned subtrees come from stored nodes. */
const LEAF_BLOCK = 256;

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Reads roots of ranges of the stored tree: a stored node for an aligned subtree of 256 leaves
 * or more, else split at the largest power of two, down to blocks of bodies hashed as leaves.
 * `onBody` is told each body read.
 */
function treeReader(store: Store, base: number, onBody?: (seq: number, body: string) => void): {
  leaves: (start: number, end: number) => Promise<MerkleHash[]>;
  rangeRoot: (start: number, end: number) => Promise<MerkleHash>;
} {
  /**
   * The leaf hashes of leaves [start, end): those a retention purge kept for the events it
   * deleted (a prefix of the range, when it reaches back past the purge), then hashed from the
   * stored bodies. Evidence only: the proof built from them is checked against the signed root.
   */
  const leaves = async (start: number, end: number): Promise<MerkleHash[]> => {
    const hashes: MerkleHash[] = [];
    for await (const page of store.readPurgedLeaves(LEAF_BLOCK, { afterSeq: base + start, throughSeq: base + end })) {
      for (const leaf of page) {
        if (leaf.seq !== base + start + hashes.length + 1) break;
        hashes.push(leaf.leafHash);
      }
    }
    for await (const page of store.readAuditTrail(LEAF_BLOCK, { afterSeq: base + start + hashes.length, throughSeq: base + end })) {
      for (const event of page) {
        if (event.seq !== base + start + hashes.length + 1) break;
        onBody?.(event.seq, event.body);
        hashes.push(merkleLeafHash(event.body));
      }
    }
    if (hashes.length !== end - start) {
      throw new ProofUnavailable(`event ${base + start + hashes.length + 1} is missing from the store (purged, or deleted) and no stored tree node covers it; run \`portcullis audit verify --checkpoints LOG --key PUBLIC_KEY\` to find where`);
    }
    return hashes;
  };
  /** MTH(D[start:end]). */
  const rangeRoot = async (start: number, end: number): Promise<MerkleHash> => {
    const n = end - start;
    if (n >= LEAF_BLOCK && (n & (n - 1)) === 0 && start % n === 0) {
      const node = await store.auditTreeNode(Math.log2(n), start / n);
      if (node !== undefined) return node;
    }
    if (n <= LEAF_BLOCK) return merkleRoot(await leaves(start, end));
    const k = splitPoint(n);
    return merkleNodeHash(await rangeRoot(start, start + k), await rangeRoot(start + k, end));
  };
  return { leaves, rangeRoot };
}

/**
 * The RFC 6962 consistency proof (RFC 9162 2.1.4.1, PROOF(first, D[second])) between the trees
 * of the first `first` and `second` leaves, from stored nodes and a few blocks of bodies, like
 * an inclusion proof. Empty when first is 0 or equals second.
 * @throws ProofUnavailable when a part of the tree it needs is neither stored nor rebuildable; RangeError unless 0 <= first <= second <= the stored tree's size.
 */
export async function proveConsistency(store: Store, first: number, second: number): Promise<MerkleHash[]> {
  const tree = await store.auditTree();
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second || second > tree.frontier.size) {
    throw new RangeError(`no consistency proof from size ${first} to size ${second} in a tree of ${tree.frontier.size}`);
  }
  const proof: MerkleHash[] = [];
  if (first === 0 || first === second) return proof;
  const { rangeRoot } = treeReader(store, tree.baseSeq);
  const sub = async (m: number, start: number, end: number, whole: boolean): Promise<void> => {
    const n = end - start;
    if (m === n) { if (!whole) proof.push(await rangeRoot(start, end)); return; }
    const k = splitPoint(n);
    if (m <= k) { await sub(m, start, start + k, whole); proof.push(await rangeRoot(start + k, end)); }
    else { await sub(m - k, start + k, end, false); proof.push(await rangeRoot(start, start + k)); }
  };
  await sub(first, 0, second, true);
  return proof;
}

/**
 * Writes the proof of event `seq` against `checkpoint`, reading O(log n) stored tree nodes and
 * at most a few blocks of 256 bodies (never the whole trail, when the store keeps its nodes):
 * each sibling on the RFC 9162 2.1.3.1 path is the root of a range of leaves, taken from a
 * stored node when the range is an aligned subtree of more than 256 leaves, else split or
 * hashed from the bodies. The proof is checked against the checkpoint's signed root before it
 * is returned, so a stored node or body that was changed yields no proof, never a wrong one.
 * @throws ProofUnavailable when the event is not covered, was purged with nothing kept to prove it, or the trail does not lead to the checkpoint's root.
 */
export async function proveEvent(store: Store, seq: number, checkpoint: SignedCheckpoint): Promise<AuditInclusionProof> {
  const tree = await store.auditTree();
  const base = tree.baseSeq;
  const leafIndex = seq - base - 1;
  const size = checkpoint.size;
  if (!Number.isSafeInteger(seq) || leafIndex < 0) throw new ProofUnavailable(`event ${seq} is not in the tree (it starts after event ${base})`);
  if (leafIndex >= size) throw new ProofUnavailable(`event ${seq} is newer than the newest checkpoint (${size} events); wait for the next checkpoint`);
  if (size > tree.frontier.size) throw new ProofUnavailable(`the store's tree has ${tree.frontier.size} events, fewer than the checkpoint's ${size}: the store was cut or rolled back; run \`portcullis audit verify --checkpoints LOG --key PUBLIC_KEY\` to find where`);

  let body: string | undefined;
  const { leaves, rangeRoot } = treeReader(store, base, (eventSeq, eventBody) => { if (eventSeq === seq) body = eventBody; });
  // PATH(m, D[start:end]) of RFC 9162 2.1.3.1, siblings from the leaf up. The block holding the
  // leaf is read once, so the leaf's body comes with it.
  const path: MerkleHash[] = [];
  const walk = async (m: number, start: number, end: number): Promise<void> => {
    const n = end - start;
    if (n <= LEAF_BLOCK) {
      const block = await leaves(start, end);
      for (const hash of inclusionProof(block, m)) path.push(hash);
      return;
    }
    const k = splitPoint(n);
    if (m < k) { await walk(m, start, start + k); path.push(await rangeRoot(start + k, end)); }
    else { await walk(m - k, start + k, end); path.push(await rangeRoot(start, start + k)); }
  };
  await walk(leafIndex, 0, size);
  if (body === undefined) throw new ProofUnavailable(`event ${seq} is missing from the store (purged, or deleted): only events the store still holds can be proven`);
  if (!verifyInclusion(merkleLeafHash(body), leafIndex, size, path, checkpoint.root)) {
    throw new ProofUnavailable(`the store's events and tree nodes do not lead to the checkpoint's root (${size} events): the store was changed; run \`portcullis audit verify --checkpoints LOG --key PUBLIC_KEY\` to find where`);
  }
  return {
    format: PROOF_FORMAT, seq, body, leafIndex, treeSize: size,
    inclusionProof: path.map((h) => Buffer.from(h).toString('base64')),
    checkpoint: checkpoint.note,
  };
}

/** A proof checked: the event it proves, or why it does not. */
export type ProofCheck =
  | { readonly ok: true; readonly event: AuditEvent; readonly origin: string; readonly treeSize: number }
  | { readonly ok: false; readonly problem: string };

/** Checks a proof document (parsed JSON) with only the log's public key. */
export function checkInclusionProofDocument(document: unknown, verifiers: readonly NoteVerifier[]): ProofCheck {
  const d = document as Partial<Record<keyof AuditInclusionProof, unknown>> | null;
  if (d === null || typeof d !== 'object' || d.format !== PROOF_FORMAT) return { ok: false, problem: `not a proof document (format "${PROOF_FORMAT}")` };
  if (typeof d.body !== 'string' || typeof d.seq !== 'number' || typeof d.leafIndex !== 'number' || typeof d.treeSize !== 'number'
    || !Array.isArray(d.inclusionProof) || !d.inclusionProof.every((p) => typeof p === 'string') || typeof d.checkpoint !== 'string') {
    return { ok: false, problem: 'the proof document lacks seq, body, leafIndex, treeSize, inclusionProof or checkpoint' };
  }
  const opened = openCheckpoint(d.checkpoint, verifiers);
  if (!opened.ok) return { ok: false, problem: `its checkpoint is refused: ${opened.problem}` };
  if (opened.checkpoint.size !== d.treeSize) return { ok: false, problem: `its tree size ${d.treeSize} is not its checkpoint's (${opened.checkpoint.size})` };
  let event: AuditEvent;
  try {
    event = parseAuditBody(d.body);
  } catch {
    return { ok: false, problem: 'its body is not JSON' };
  }
  if (event.seq !== d.seq) return { ok: false, problem: `its body is event ${event.seq}, not event ${d.seq}` };
  const proof = (d.inclusionProof as string[]).map((p) => new Uint8Array(Buffer.from(p, 'base64')));
  if (!verifyInclusion(merkleLeafHash(d.body), d.leafIndex, d.treeSize, proof, opened.checkpoint.root)) {
    return { ok: false, problem: `the inclusion proof does not lead from event ${d.seq}'s body to the checkpoint's root: the event or the proof was changed` };
  }
  return { ok: true, event, origin: opened.checkpoint.origin, treeSize: opened.checkpoint.size };
}
