/**
 * The checkpoint signing key. It is never stored in the audit database: it comes from a key
 * file readable by its owner only (mode 0600), like the vault's master key, or from the
 * environment through the config module. The key's text never appears in an error.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { generateNoteKey, parseNoteSigner, type NoteSigner } from './signed-note.js';

/** A key read, or why it could not be. */
export type KeyRead<T> = { readonly ok: true; readonly key: T } | { readonly ok: false; readonly problem: string };

/** Reads a signing key file, refusing one that group or others can read. */
export function readSigningKeyFile(path: string): KeyRead<NoteSigner> {
  let mode: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return { ok: false, problem: `signing key file ${path} is not a file` };
    mode = stat.mode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, problem: `signing key file ${path} ${code === 'ENOENT' ? 'does not exist; make one with `portcullis audit new-key`' : `cannot be read (${(error as Error).message})`}` };
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    return { ok: false, problem: `signing key file ${path} can be read by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run \`chmod 600 ${path}\`` };
  }
  return parseSigningKey(readFileSync(path, 'utf8'), `signing key file ${path}`);
}

/** Reads a signing key's text. */
export function parseSigningKey(text: string, what: string): KeyRead<NoteSigner> {
  try {
    return { ok: true, key: parseNoteSigner(text, what) };
  } catch (error) {
    return { ok: false, problem: (error as Error).message };
  }
}

/** Writes a new signing key named `name` to a new file with mode 0600; returns its public key's text. @throws Error when the file exists. */
export function writeNewSigningKeyFile(path: string, name: string): string {
  const { signer, verifier } = generateNoteKey(name);
  writeFileSync(path, `${signer}\n`, { mode: 0o600, flag: 'wx' });
  return verifier;
}
