/**
 * The operator's use cases for the audit tree's signed checkpoints: cut and publish one,
 * verify the trail against published ones, prove one event, check a proof offline. Invariant:
 * verification and proof checking trust only the public key given: the checkpoints, the store
 * and the proof are all evidence checked against it. Bad input (a missing or malformed key, an
 * unreadable or malformed checkpoint file) is an outcome with a message, not a throw.
 */
import { join } from 'node:path';
import { createMerkleFrontier, verifyConsistency } from '@portcullis/core';
import type { Store } from '../store/store.js';
import { signCheckpoint, type SignedCheckpoint } from '../audit-log/checkpoint.js';
import { CHECKPOINT_LOG_FILE, appendCheckpointLog, lastCheckpointOf, parseCheckpointLog, readCheckpointLog, type CheckpointsRead } from '../audit-log/checkpoint-log.js';
import { checkInclusionProofDocument, proveConsistency, proveEvent, ProofUnavailable, type AuditInclusionProof, type ProofCheck } from '../audit-log/proof.js';
import { parseNoteVerifier, type NoteSigner, type NoteVerifier } from '../audit-log/signed-note.js';
import { readSigningKeyFile } from '../audit-log/signing-key.js';
import type { TreeVerification } from '../audit-log/tree-verify.js';
import { newestWitnessed, parseWitnessKey, type WitnessKey } from '../audit-log/witness.js';
import { verifyStoredTrail, type ParallelVerify } from './audit.js';

export type { AuditInclusionProof, ProofCheck, TreeVerification };

/** An outcome, or the problem that prevented it. */
export type Outcome<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly problem: string };

/** The public keys given (several after a key rotation: each checkpoint verifies with the key of its key id). */
export type PublicKeys = string | readonly string[];

function verifiersFrom(publicKeys: PublicKeys): Outcome<{ verifiers: NoteVerifier[] }> {
  const texts = typeof publicKeys === 'string' ? [publicKeys] : publicKeys;
  if (texts.length === 0) return { ok: false, problem: 'no public key was given; pass the log\'s public key with --key' };
  const verifiers: NoteVerifier[] = [];
  for (const text of texts) {
    try {
      verifiers.push(parseNoteVerifier(text, 'the public key (--key)'));
    } catch (error) {
      return { ok: false, problem: `${(error as Error).message}; pass the log's public key, as \`portcullis audit new-key\` printed it, or a file holding it` };
    }
  }
  return { ok: true, verifiers };
}

/** Whether a checkpoint location is an http(s) URL rather than a file or directory. */
export function isCheckpointUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** How long fetching a checkpoint log over HTTP may take. */
const FETCH_TIMEOUT_MS = 30_000;

/**
 * Reads and checks the checkpoints at `location`: a log file, its directory, or an http(s) URL
 * serving the log's text (e.g. the off-host copy the HTTP sink fed). Never throws: an
 * unreachable URL or an HTTP error is the problem.
 */
export async function readCheckpoints(location: string, verifiers: readonly NoteVerifier[]): Promise<CheckpointsRead> {
  if (!isCheckpointUrl(location)) return readCheckpointLog(location, verifiers);
  let response: Response;
  try {
    response = await fetch(location, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, problem: `cannot fetch the checkpoints at ${location}: ${cause?.code ?? cause?.message ?? (error as Error).message}` };
  }
  if (!response.ok) return { ok: false, problem: `cannot fetch the checkpoints at ${location}: HTTP ${response.status} ${response.statusText}`.trimEnd() };
  return parseCheckpointLog(await response.text(), location, verifiers);
}

/** The C2SP tlog-witnesses an auditor trusts: their cosignature/v1 public keys, and how many must have cosigned (default all). */
export interface WitnessPolicy {
  readonly keys: readonly string[];
  readonly quorum?: number;
}

/** A verification against checkpoints; with a witness policy, the newest checkpoint its quorum cosigned, and by whom. */
export type CheckpointVerification =
  | (Extract<TreeVerification, { ok: true }> & {
    readonly witnessed?: { readonly size: number; readonly by: readonly string[] };
    /** The size of the newest checkpoint read: tree leaves past it are not covered by any signature yet. */
    readonly newestSize: number;
  })
  | Extract<TreeVerification, { ok: false }>;

/**
 * Verifies the stored trail against the checkpoints at `location` (file, directory or http(s) URL), checked
 * with `publicKey`; `parallel` (see audit.ts) rebuilds a long trail in worker threads. With
 * `witnesses`, at least one checkpoint must carry cosignatures (tlog-cosignature/v1) of the
 * quorum; the answer names the newest such checkpoint, the part of the trail the witnesses vouch for.
 */
export async function verifyAgainstCheckpoints(
  store: Store, location: string, publicKey: PublicKeys, onProgress?: (verified: number) => void, parallel?: ParallelVerify, witnesses?: WitnessPolicy,
): Promise<CheckpointVerification> {
  const verifier = verifiersFrom(publicKey);
  if (!verifier.ok) return { ok: false, count: 0, problem: verifier.problem };
  let keys: WitnessKey[] = [];
  try {
    // A witness named twice counts once.
    const parsed = (witnesses?.keys ?? []).map((text) => parseWitnessKey(text, `the witness key "${text}"`));
    keys = parsed.filter((key, i) => parsed.findIndex((k) => k.name === key.name && k.keyId === key.keyId) === i);
  } catch (error) {
    return { ok: false, count: 0, problem: `${(error as Error).message}; pass the witness's public key as its operator publishes it (C2SP tlog-cosignature)` };
  }
  const quorum = witnesses?.quorum ?? keys.length;
  if (witnesses !== undefined && (keys.length === 0 || !Number.isInteger(quorum) || quorum < 1 || quorum > keys.length)) {
    return { ok: false, count: 0, problem: `the witness quorum must be a whole number from 1 to the ${keys.length} different witness keys given, not ${quorum}` };
  }
  const read = await readCheckpoints(location, verifier.verifiers);
  if (!read.ok) return { ok: false, count: 0, problem: read.problem };
  const unwitnessed = `no checkpoint in ${location} carries cosignatures of ${quorum} of the ${keys.length} witness${keys.length === 1 ? '' : 'es'} given (${keys.map((k) => k.name).join(', ')})`;
  if (witnesses !== undefined && newestWitnessed(read.checkpoints, keys, quorum) === undefined) {
    return { ok: false, count: 0, problem: `${unwitnessed}: it was not witnessed, or the witnesses' lines were removed` };
  }
  const result = await verifyStoredTrail(store, onProgress, parallel, read.checkpoints);
  if (!result.ok) return result;
  const newestSize = Math.max(0, ...read.checkpoints.map((c) => c.size));
  if (witnesses === undefined) return { ...result, newestSize };
  // Only a checkpoint the trail was checked against counts: not one older than a purge that kept no leaf hashes.
  const checked = [...read.checkpoints].sort((a, b) => a.size - b.size).slice(result.beforePurge);
  const witnessed = newestWitnessed(checked, keys, quorum);
  if (witnessed === undefined) return { ok: false, count: result.count, problem: `${unwitnessed} among those the trail could be checked against (${result.beforePurge} older ones predate a purge that kept no leaf hashes)` };
  return { ...result, newestSize, witnessed };
}

/** Signs the store's current tree head as a checkpoint of `origin` with `signer`. */
export async function cutCheckpoint(store: Store, signer: NoteSigner, origin: string): Promise<SignedCheckpoint> {
  const tree = await store.auditTree();
  const frontier = createMerkleFrontier(tree.frontier);
  return signCheckpoint({ origin, size: frontier.size, root: frontier.root() }, signer);
}

/**
 * Why the store's tree does not extend the newest checkpoint `signer` wrote to the log in `dir`,
 * if it does not: signing it into that log would publish a rewritten trail as its continuation.
 * Accepting a store that differs (a restored backup) is `audit recover`'s, which is audited.
 */
export async function whyNotExtendingLog(store: Store, signer: NoteSigner, dir: string): Promise<string | undefined> {
  const read = lastCheckpointOf(dir, signer.verifier);
  if (!read.ok) return `${read.problem}; no checkpoint was cut into a log that cannot be read`;
  const last = read.last;
  if (last === undefined) return undefined;
  // An RFC 6962 consistency proof from the log's checkpoint to the store's tree (RFC 9162 2.1.4),
  // checked against both roots: only a tree that extends the signed one passes.
  const frontier = createMerkleFrontier((await store.auditTree()).frontier);
  let why = `its tree of ${frontier.size} events is shorter`;
  if (frontier.size >= last.size) {
    try {
      const proof = await proveConsistency(store, last.size, frontier.size);
      if (verifyConsistency(last.size, frontier.size, last.root, frontier.root(), proof)) return undefined;
      why = `its first ${last.size} events do not hash to the checkpoint's root (they were changed)`;
    } catch (error) {
      why = (error as Error).message;
    }
  }
  return `the store does not extend the newest checkpoint in ${join(dir, CHECKPOINT_LOG_FILE)} (${last.size} events): ${why}; signing it there would publish a rewritten trail, so no checkpoint was cut. If this store is the one to keep (a restored backup), accept it with \`portcullis audit recover -c CONFIG --reason "…"\`, which is audited (docs/audit.md)`;
}

/** Cuts a checkpoint with the key file at `keyFile` and appends it to the checkpoint log in `dir`. */
export async function publishCheckpoint(store: Store, keyFile: string, origin: string | undefined, dir: string): Promise<Outcome<{ checkpoint: SignedCheckpoint; path: string }> | { readonly ok: false; readonly problem: string; readonly broken: true }> {
  const key = readSigningKeyFile(keyFile);
  if (!key.ok) return key;
  // A checkpoint of a trail that does not verify would sign the break as the truth.
  const trail = await verifyStoredTrail(store);
  if (!trail.ok) return { ok: false, broken: true, problem: `the stored trail does not verify (${trail.problem}); signing it would vouch for the break, so no checkpoint was cut (see \`portcullis audit verify\`)` };
  const rewritten = await whyNotExtendingLog(store, key.key, dir);
  if (rewritten !== undefined) return { ok: false, broken: true, problem: rewritten };
  const checkpoint = await cutCheckpoint(store, key.key, origin ?? key.key.name);
  try {
    return { ok: true, checkpoint, path: appendCheckpointLog(dir, checkpoint) };
  } catch (error) {
    return { ok: false, problem: `cannot write the checkpoint log in ${dir}: ${(error as Error).message}` };
  }
}

/** The proof of event `seq` against the newest checkpoint at `location` that covers it. */
export async function proveAuditEvent(store: Store, seq: number, location: string, publicKey: PublicKeys): Promise<Outcome<{ proof: AuditInclusionProof }>> {
  const verifier = verifiersFrom(publicKey);
  if (!verifier.ok) return verifier;
  const read = await readCheckpoints(location, verifier.verifiers);
  if (!read.ok) return read;
  const newest = read.checkpoints.at(-1) as SignedCheckpoint;
  try {
    return { ok: true, proof: await proveEvent(store, seq, newest) };
  } catch (error) {
    if (error instanceof ProofUnavailable) return { ok: false, problem: error.message };
    throw error;
  }
}

/** The newest checkpoint at `location` (file, directory or URL), its signature checked with `publicKey`. */
export async function newestCheckpoint(location: string, publicKey: PublicKeys): Promise<Outcome<{ checkpoint: SignedCheckpoint }>> {
  const verifier = verifiersFrom(publicKey);
  if (!verifier.ok) return verifier;
  const read = await readCheckpoints(location, verifier.verifiers);
  if (!read.ok) return read;
  return { ok: true, checkpoint: read.checkpoints.at(-1) as SignedCheckpoint };
}

/** Checks a proof document's text with only `publicKey`. */
export function checkAuditProof(text: string, publicKey: PublicKeys): ProofCheck {
  const verifier = verifiersFrom(publicKey);
  if (!verifier.ok) return verifier;
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the proof file is not JSON' };
  }
  return checkInclusionProofDocument(document, verifier.verifiers);
}
