/**
 * Where the vault's master key comes from: `PORTCULLIS_MASTER_KEY` (read by the config
 * module and handed over in the compiled config) or the file named by `vault.keyFile`. A key
 * file must be readable by its owner only (mode 0600): a key others can read protects
 * nothing. The key's text never appears in an error; only where it came from does.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { PortcullisError } from '@portcullis/core';
import { MASTER_KEY_ENV } from '../config/compile.js';
import type { VaultConfig } from '../config/compiled.js';
import { newMasterKeyText, parseMasterKey, type MasterKey } from './vault-crypto.js';

export { MASTER_KEY_ENV };

/**
 * Reads a master key file, refusing one that group or others can access.
 * @throws PortcullisError SECRET_UNAVAILABLE naming the file and the fix.
 */
export function readMasterKeyFile(path: string): MasterKey {
  let mode: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new PortcullisError('SECRET_UNAVAILABLE', `master key file ${path} is not a file`);
    mode = stat.mode;
  } catch (error) {
    if (error instanceof PortcullisError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new PortcullisError('SECRET_UNAVAILABLE', `master key file ${path} ${reason}; make one with \`portcullis vault new-key --out ${path}\`, or set ${MASTER_KEY_ENV}`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new PortcullisError('SECRET_UNAVAILABLE', `master key file ${path} can be read by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run \`chmod 600 ${path}\` so only its owner can`);
  }
  return parseMasterKey(readFileSync(path, 'utf8'), `key file ${path}`);
}

/**
 * The master key the settings name: the environment variable if set, else the key file,
 * else undefined (the vault is then locked: listing works, reading and writing do not).
 * @throws PortcullisError SECRET_UNAVAILABLE for a malformed key or an unsafe key file.
 */
export function loadMasterKey(settings: VaultConfig | undefined): MasterKey | undefined {
  if (settings?.envKey !== undefined && settings.envKey !== '') return parseMasterKey(settings.envKey, MASTER_KEY_ENV);
  if (settings?.keyFile !== undefined) return readMasterKeyFile(settings.keyFile);
  return undefined;
}

/**
 * Writes a new random master key to `path`, created with mode 0600; never overwrites.
 * @throws Error when the file exists or cannot be written.
 */
export function writeNewMasterKeyFile(path: string): MasterKey {
  const text = newMasterKeyText();
  writeFileSync(path, `${text}\n`, { mode: 0o600, flag: 'wx' });
  return parseMasterKey(text, `key file ${path}`);
}
