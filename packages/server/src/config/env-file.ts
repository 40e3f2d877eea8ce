/**
 * The env file a config may name (`envFile: ./portcullis.env`): the variables the config
 * names, kept beside it, so that whoever launches the gateway (an MCP client, systemd) need
 * not repeat them. Invariants: the environment wins over the file; the file must be readable
 * by its owner only (it holds secrets), else it is refused; its values are never printed.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Env } from './env.js';

/** The variables of an env file, or why it cannot be used (a message naming the fix). */
export function readEnvFile(path: string): { ok: true; vars: Env } | { ok: false; message: string } {
  let text: string;
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) return { ok: false, message: `${path} holds secrets but others may read it (mode ${mode.toString(8).padStart(4, '0')}); run \`chmod 600 ${path}\`` };
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, message: (error as NodeJS.ErrnoException).code === 'ENOENT' ? `no env file at ${path}; create it (NAME=value lines, mode 0600) or remove envFile` : `cannot read ${path}: ${(error as Error).message}` };
  }
  const vars: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (match === null) return { ok: false, message: `${path}:${i + 1}: expected NAME=value (a # starts a comment line)` };
    const value = (match[2] as string).trim();
    const quoted = /^(["'])(.*)\1$/.exec(value);
    vars[match[1] as string] = quoted === null ? value : (quoted[2] as string);
  }
  return { ok: true, vars };
}

/** The environment with the env file's variables under it: a variable the environment sets wins. */
export function withEnvFile(env: Env, vars: Env): Env {
  const merged: Record<string, string | undefined> = { ...vars };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  return merged;
}
