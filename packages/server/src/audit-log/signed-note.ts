/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys. Invariant: a note is accepted
 * only when a signature line names a key the verifier holds, carries that key's id, and is a
 * valid Ed25519 signature over the note's text (which ends in its last newline); a line from
 * a known key that fails rejects the whole note. Keys use the text forms of Go's
 * golang.org/x/mod/sumdb/note, so other tools (witnesses, `note` verifiers) read them:
 *   signer   PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>
 *   verifier <name>+<hex key id>+<base64(0x01 || 32-byte public key)>
 * key id = the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

const ED25519 = 0x01;
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const SIGNATURE_PREFIX = '\u2014 ';
/** Notes with more signatures than this are refused, as Go's note package does. */
const MAX_SIGNATURES = 100;

/** A key that verifies notes: its name, its id and its Ed25519 public key. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: KeyObject;
  /** The key in its text form, to publish. */
  readonly text: string;
}

/** A key that signs notes. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly privateKey: KeyObject;
  /** Its verifier, to publish. */
  readonly verifier: NoteVerifier;
}

/** A key's text could not be read; the message names what is wrong. */
export class NoteKeyError extends Error {
  override readonly name = 'NoteKeyError';
}

/** The key id of an Ed25519 key: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), big-endian. */
export function noteKeyId(name: string, rawPublicKey: Uint8Array): number {
  return createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, ED25519)).update(rawPublicKey).digest().readUInt32BE(0);
}

/** Whether a key name is allowed: non-empty, no spaces, no '+', no control characters. */
function validName(name: string): boolean {
  if (name.length === 0 || /[\s+]/u.test(name)) return false;
  for (let i = 0; i < name.length; i += 1) if (name.charCodeAt(i) < 0x20 || name.charCodeAt(i) === 0x7f) return false;
  return true;
}

/** Whether text holds a control character other than newline. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

function verifierFromRaw(name: string, raw: Uint8Array): NoteVerifier {
  const keyId = noteKeyId(name, raw);
  return {
    name, keyId,
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }),
    text: `${name}+${hex8(keyId)}+${Buffer.concat([Uint8Array.of(ED25519), raw]).toString('base64')}`,
  };
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** Splits `name+id+key` (after any prefix) and checks the id against the name and key. */
function parseKeyText(text: string, what: string): { name: string; raw: Buffer } {
  // The base64 may hold '+' itself: the name and the id are the first two fields.
  const match = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(text.trim());
  if (match === null) throw new NoteKeyError(`${what} must look like <name>+<8 hex digits>+<base64 key>`);
  const [, name, id, b64] = match as unknown as [string, string, string, string];
  if (!validName(name)) throw new NoteKeyError(`${what} has an invalid key name "${name}" (no spaces or '+')`);
  if (!/^[0-9a-f]{8}$/.test(id)) throw new NoteKeyError(`${what} has an invalid key id "${id}" (8 lowercase hex digits)`);
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.toString('base64') !== b64 || bytes.length !== 33 || bytes[0] !== ED25519) throw new NoteKeyError(`${what} is not an Ed25519 key (base64 of 0x01 and 32 bytes)`);
  return { name, raw: bytes.subarray(1) };
}

/** Reads a verifier key's text. @throws NoteKeyError naming what is wrong. */
export function parseNoteVerifier(text: string, what = 'the public key'): NoteVerifier {
  const { name, raw } = parseKeyText(text, what);
  const verifier = verifierFromRaw(name, raw);
  if (hex8(verifier.keyId) !== text.trim().split('+')[1]) throw new NoteKeyError(`${what}'s key id does not match its name and key: it was edited or belongs to another key`);
  return verifier;
}

/** Reads a signer key's text. @throws NoteKeyError naming what is wrong (never the key itself). */
export function parseNoteSigner(text: string, what = 'the signing key'): NoteSigner {
  const trimmed = text.trim();
  if (!trimmed.startsWith('PRIVATE+KEY+')) throw new NoteKeyError(`${what} must start with PRIVATE+KEY+ (make one with \`portcullis audit new-key\`)`);
  const { name, raw: seed } = parseKeyText(trimmed.slice('PRIVATE+KEY+'.length), what);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const verifier = verifierFromRaw(name, rawPublicKey(createPublicKey(privateKey)));
  if (hex8(verifier.keyId) !== trimmed.split('+')[3]) throw new NoteKeyError(`${what}'s key id does not match its name and key: it was edited`);
  return { name, keyId: verifier.keyId, privateKey, verifier };
}

/** A new random signing key named `name`, as text, with its verifier's text. */
export function generateNoteKey(name: string): { signer: string; verifier: string } {
  if (!validName(name)) throw new NoteKeyError(`a key name must be non-empty with no spaces or '+', not "${name}"`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const verifier = verifierFromRaw(name, rawPublicKey(publicKey));
  return { signer: `PRIVATE+KEY+${name}+${hex8(verifier.keyId)}+${Buffer.concat([Uint8Array.of(ED25519), seed]).toString('base64')}`, verifier: verifier.text };
}

/** Signs `text` (which must end in a newline and hold no blank line) as a signed note. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n') || text.includes('\n\n') || hasControl(text)) {
    throw new TypeError('a note text must end in a newline, hold no blank line and no control character but newline');
  }
  const id = Buffer.alloc(4);
  id.writeUInt32BE(signer.keyId);
  const signature = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  return `${text}\n${SIGNATURE_PREFIX}${signer.name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
}

/** A note opened: its text and the names of the known keys that signed it. */
export type OpenedNote =
  | { readonly ok: true; readonly text: string; readonly signedBy: readonly string[] }
  | { readonly ok: false; readonly problem: string };

/**
 * Opens a signed note, accepting it when at least one of `verifiers` signed it validly and no
 * known key's line fails. Lines from unknown keys are ignored (a witness's cosignature, say).
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split === -1 || !note.endsWith('\n')) return { ok: false, problem: 'it is not a signed note: no blank line before signature lines, or no final newline' };
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return { ok: false, problem: `it has ${lines.length} signatures (at most ${MAX_SIGNATURES})` };
  const signedBy: string[] = [];
  for (const line of lines) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (match === null) return { ok: false, problem: `a signature line is malformed: "${line.slice(0, 80)}"` };
    const [, name, b64] = match as unknown as [string, string, string];
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.length < 5) return { ok: false, problem: `the signature of ${name} is too short` };
    const keyId = bytes.readUInt32BE(0);
    const key = verifiers.find((v) => v.name === name && v.keyId === keyId);
    if (key === undefined) continue;
    if (bytes.length !== 68 || !verify(null, Buffer.from(text, 'utf8'), key.publicKey, bytes.subarray(4))) {
      return { ok: false, problem: `the signature of ${name} (key ${hex8(keyId)}) does not match the text: the note was edited or signed by another key` };
    }
    signedBy.push(name);
  }
  if (signedBy.length === 0) {
    const names = verifiers.map((v) => `${v.name} (key ${hex8(v.keyId)})`).join(', ');
    return { ok: false, problem: `no signature by ${names}: it was signed by another key, or not at all` };
  }
  return { ok: true, text, signedBy };
}
