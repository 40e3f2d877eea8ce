/**
 * Checkpoints of the audit tree in the C2SP tlog-checkpoint format (c2sp.org/tlog-checkpoint):
 *   <origin>\n<tree size, decimal>\n<root hash, base64>\n[extension lines]
 * signed as a C2SP signed note. A checkpoint commits the gateway to the first `size` events of
 * its trail: any other tree of that size has another root, and a later tree that does not
 * extend it fails the RFC 6962 consistency proof.
 */
import type { MerkleHash } from '@portcullis/core';
import { openNote, signNote, type NoteSigner, type NoteVerifier } from './signed-note.js';

/** A signed tree head. */
export interface Checkpoint {
  /** The log's unique name, e.g. `portcullis.example.com/audit`. */
  readonly origin: string;
  readonly size: number;
  readonly root: MerkleHash;
}

/** A checkpoint with the note that carries it. */
export interface SignedCheckpoint extends Checkpoint {
  readonly note: string;
}

/** The checkpoint's text body, as the signature covers it. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (checkpoint.origin === '' || /[\n\r]/.test(checkpoint.origin)) throw new TypeError('a checkpoint origin is one non-empty line');
  return `${checkpoint.origin}\n${checkpoint.size}\n${Buffer.from(checkpoint.root).toString('base64')}\n`;
}

/** Signs a checkpoint. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): SignedCheckpoint {
  return { ...checkpoint, note: signNote(formatCheckpoint(checkpoint), signer) };
}

/** A checkpoint's text read, or why it could not be. */
export type ParsedCheckpoint = { readonly ok: true; readonly checkpoint: Checkpoint } | { readonly ok: false; readonly problem: string };

/** Reads a checkpoint's text body (without checking any signature). */
export function parseCheckpointText(text: string): ParsedCheckpoint {
  const lines = text.split('\n');
  const [origin, size, root] = lines;
  if (origin === undefined || origin === '' || size === undefined || root === undefined || lines.length < 4) {
    return { ok: false, problem: 'a checkpoint has an origin line, a tree size line and a root hash line' };
  }
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) return { ok: false, problem: `the tree size "${size.slice(0, 40)}" is not a decimal number` };
  const hash = Buffer.from(root, 'base64');
  if (hash.length !== 32 || hash.toString('base64') !== root) return { ok: false, problem: 'the root hash is not the base64 of 32 bytes' };
  return { ok: true, checkpoint: { origin, size: Number(size), root: new Uint8Array(hash) } };
}

/** A checkpoint opened, or why it was refused. */
export type OpenedCheckpoint = { readonly ok: true; readonly checkpoint: SignedCheckpoint } | { readonly ok: false; readonly problem: string };

/**
 * Checks a signed checkpoint's signature with `verifiers` and reads it; with `origin`, the
 * checkpoint must be of that log.
 */
export function openCheckpoint(note: string, verifiers: readonly NoteVerifier[], origin?: string): OpenedCheckpoint {
  const opened = openNote(note, verifiers);
  if (!opened.ok) return opened;
  const parsed = parseCheckpointText(opened.text);
  if (!parsed.ok) return parsed;
  if (origin !== undefined && parsed.checkpoint.origin !== origin) return { ok: false, problem: `it is a checkpoint of "${parsed.checkpoint.origin}", not of "${origin}"` };
  return { ok: true, checkpoint: { ...parsed.checkpoint, note } };
}
