/** Temporary directories for tests that need real files (SQLite stores, config files). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory and how to remove it. */
export interface TempDir {
  readonly path: string;
  /** Removes the directory and everything in it. Safe to call twice. */
  cleanup(): void;
}

/** Creates a fresh directory under the OS temp dir, named `<prefix>-XXXXXX`. */
export function makeTempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
