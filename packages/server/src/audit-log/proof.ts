/**
 * The proof of one event: the event's body, its leaf index, the RFC 6962 inclusion proof and
 * the signed checkpoint it leads to, as one JSON document an auditor checks offline with the
 * log's public key (docs/audit.md gives the format). Invariant: a proof is written only when
 * the stored trail rebuilds the checkpoint's root, and checked with nothing but the document
 * and the key.
 */
import {
  inclusionProof, merkleLeafHash, merkleRoot, parseAuditBody, sameHash, verifyInclusion,
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

/**
 * Writes the proof of event `seq` against `checkpoint`.
 * @throws ProofUnavailable when the event is not covered, was purged, or the trail does not rebuild the checkpoint's root.
 */
export async function proveEvent(store: Store, seq: number, checkpoint: SignedCheckpoint): Promise<AuditInclusionProof> {
  const [tree, purges] = await Promise.all([store.auditTree(), store.auditPurges()]);
  const base = tree.baseSeq;
  const leafIndex = seq - base - 1;
  if (!Number.isSafeInteger(seq) || leafIndex < 0) throw new ProofUnavailable(`event ${seq} is not in the tree (it starts after event ${base})`);
  if (leafIndex >= checkpoint.size) throw new ProofUnavailable(`event ${seq} is newer than the newest checkpoint (${checkpoint.size} events); wait for the next checkpoint`);
  if (purges.some((p) => p.throughSeq > base)) throw new ProofUnavailable('the trail was purged; proofs after a purge are not supported yet');
  const leaves: MerkleHash[] = [];
  let body: string | undefined;
  for await (const page of store.readAuditChain(5000, { afterSeq: base, throughSeq: base + checkpoint.size })) {
    for (const event of page) {
      if (event.seq !== base + leaves.length + 1) throw new ProofUnavailable(`event ${base + leaves.length + 1} is missing from the store`);
      if (event.seq === seq) body = event.body;
      leaves.push(merkleLeafHash(event.body));
    }
  }
  if (leaves.length !== checkpoint.size || body === undefined) throw new ProofUnavailable(`the store holds ${leaves.length} of the checkpoint's ${checkpoint.size} events`);
  if (!sameHash(merkleRoot(leaves), checkpoint.root)) throw new ProofUnavailable(`the store's first ${checkpoint.size} events do not hash to the checkpoint's root; run \`portcullis audit verify --checkpoints\``);
  return {
    format: PROOF_FORMAT, seq, body, leafIndex, treeSize: checkpoint.size,
    inclusionProof: inclusionProof(leaves, leafIndex, checkpoint.size).map((h) => Buffer.from(h).toString('base64')),
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
