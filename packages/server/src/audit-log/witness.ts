/**
 * Asking a C2SP tlog-witness for a cosignature of a checkpoint (https://c2sp.org/tlog-witness,
 * https://c2sp.org/tlog-cosignature): the witness checks the checkpoint is consistent with the
 * newest it cosigned for this log and returns a timestamped Ed25519 cosignature, a note
 * signature line kept with the checkpoint. Invariant: only a cosignature that verifies with the
 * configured witness key is kept; anything else is a problem, never an exception, and the
 * checkpoint is published without it.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { MerkleHash } from '@portcullis/core';
import type { SignedCheckpoint } from './checkpoint.js';

/** The signature type byte of an Ed25519 cosignature/v1 key (tlog-cosignature). */
const COSIGNATURE_V1 = 0x04;
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** How long a witness may take to answer. */
const WITNESS_TIMEOUT_MS = 10_000;

/** A witness's public key: `<name>+<hex key id>+<base64(0x04 || 32-byte Ed25519 key)>`. */
export interface WitnessKey {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: KeyObject;
}

/** The key id of a cosignature/v1 key: SHA-256(name || 0x0A || 0x04 || public key)[:4], big-endian. */
export function witnessKeyId(name: string, raw: Uint8Array): number {
  return createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, COSIGNATURE_V1)).update(raw).digest().readUInt32BE(0);
}

/** Reads a witness's public key. @throws Error naming what is wrong with it. */
export function parseWitnessKey(text: string, what = 'the witness key'): WitnessKey {
  const match = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (match === null) throw new Error(`${what} must look like <name>+<8 hex digits>+<base64 key>`);
  const [, name, id, b64] = match as unknown as [string, string, string, string];
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== 33 || bytes[0] !== COSIGNATURE_V1) throw new Error(`${what} is not an Ed25519 cosignature/v1 key (base64 of 0x04 and 32 bytes)`);
  const raw = bytes.subarray(1);
  const keyId = witnessKeyId(name, raw);
  if (keyId.toString(16).padStart(8, '0') !== id) throw new Error(`${what}'s key id does not match its name and key`);
  return { name, keyId, publicKey: createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' }) };
}

/** The message a cosignature/v1 signs: `cosignature/v1\ntime <t>\n` and the checkpoint's note body. */
export function cosignatureMessage(checkpointText: string, timestamp: bigint): string {
  return `cosignature/v1\ntime ${timestamp.toString()}\n${checkpointText}`;
}

/** The witness's cosignature line of a note, verified: its timestamp (seconds), or undefined when there is none that verifies. */
export function findCosignature(note: string, key: WitnessKey): { line: string; timestamp: bigint } | undefined {
  const split = note.lastIndexOf('\n\n');
  if (split === -1) return undefined;
  const text = note.slice(0, split + 1);
  for (const line of note.slice(split + 2).split('\n')) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (match === null || match[1] !== key.name) continue;
    const bytes = Buffer.from(match[2] as string, 'base64');
    if (bytes.length !== 4 + 8 + 64 || bytes.readUInt32BE(0) !== key.keyId) continue;
    const timestamp = bytes.readBigUInt64BE(4);
    if (verify(null, Buffer.from(cosignatureMessage(text, timestamp), 'utf8'), key.publicKey, bytes.subarray(12))) return { line, timestamp };
  }
  return undefined;
}

/** The newest of `checkpoints` that at least `quorum` of `keys` cosigned, with those witnesses' names; undefined when none was. */
export function newestWitnessed(checkpoints: readonly SignedCheckpoint[], keys: readonly WitnessKey[], quorum: number): { readonly size: number; readonly by: readonly string[] } | undefined {
  let newest: { size: number; by: string[] } | undefined;
  for (const checkpoint of checkpoints) {
    if (newest !== undefined && checkpoint.size <= newest.size) continue;
    const by = keys.filter((key) => findCosignature(checkpoint.note, key) !== undefined).map((key) => key.name);
    if (by.length >= quorum) newest = { size: checkpoint.size, by };
  }
  return newest;
}

/** A cosignature asked for: the checkpoint with the witness's line added, or why not. */
export type Cosigned =
  | { readonly ok: true; readonly checkpoint: SignedCheckpoint; readonly timestamp: bigint }
  | { readonly ok: false; readonly problem: string };

/** What asking a witness needs. */
export interface WitnessRequest {
  /** The witness's submission prefix; the request goes to `<url>/add-checkpoint`. */
  readonly url: string;
  readonly key: WitnessKey;
  readonly checkpoint: SignedCheckpoint;
  /** The size of the newest checkpoint this witness cosigned, as far as the caller knows (0: none or unknown). */
  readonly oldSize: number;
  /** The RFC 6962 consistency proof from a size to the checkpoint's. */
  readonly consistency: (oldSize: number) => Promise<readonly MerkleHash[]>;
  readonly fetchImpl?: typeof fetch;
}

/**
 * POSTs `old <size>`, the consistency proof lines, a blank line and the checkpoint to the
 * witness. A 409 with the witness's size (text/x.tlog.size) is answered once more from that
 * size; the cosignature returned must verify with `key`.
 */
export async function requestCosignature(request: WitnessRequest): Promise<Cosigned> {
  const post = async (oldSize: number): Promise<Response | string> => {
    const proof = await request.consistency(oldSize);
    const body = `old ${oldSize}\n${proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('')}\n${request.checkpoint.note}`;
    try {
      return await (request.fetchImpl ?? fetch)(`${request.url.replace(/\/+$/, '')}/add-checkpoint`, { method: 'POST', body, signal: AbortSignal.timeout(WITNESS_TIMEOUT_MS) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return `the witness at ${request.url} cannot be reached: ${cause?.code ?? cause?.message ?? (error as Error).message}`;
    }
  };
  let response = await post(request.oldSize);
  if (typeof response !== 'string' && response.status === 409 && (response.headers.get('content-type') ?? '').startsWith('text/x.tlog.size')) {
    const known = Number((await response.text()).trim());
    if (!Number.isSafeInteger(known) || known < 0 || known > request.checkpoint.size) {
      return { ok: false, problem: `the witness at ${request.url} has cosigned ${known} events of this log, more than this checkpoint's ${request.checkpoint.size}: the log was rolled back, or forked` };
    }
    response = await post(known);
  }
  if (typeof response === 'string') return { ok: false, problem: response };
  const text = await response.text();
  if (response.status !== 200) return { ok: false, problem: `the witness at ${request.url} refused the checkpoint of ${request.checkpoint.size} events: HTTP ${response.status} ${text.trim().slice(0, 200)}`.trimEnd() };
  const cosigned = `${request.checkpoint.note}${text.split('\n').filter((line) => line.startsWith('\u2014 ')).map((line) => `${line}\n`).join('')}`;
  const found = findCosignature(cosigned, request.key);
  if (found === undefined) return { ok: false, problem: `the witness at ${request.url} answered no cosignature that verifies with its key ${request.key.name}` };
  // Keep only the log's own signatures and the one verified cosignature.
  return { ok: true, checkpoint: { ...request.checkpoint, note: `${request.checkpoint.note}${found.line}\n` }, timestamp: found.timestamp };
}
