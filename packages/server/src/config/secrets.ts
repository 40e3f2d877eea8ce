/**
 * Secrets named by the config: agent keys, people's tokens and the PostgreSQL URL.
 * Invariants: only hashes are kept (a key read from the environment is SHA-256 hashed at
 * once and the plain key is dropped); every hash is lowercase hex without its `sha256:`
 * prefix; no two agents or people share a key, so a key always identifies one caller.
 */
import { sha256Hex } from '@portcullis/core';
import type { ConfigIssue, PathSegment } from './issues.js';
import { formatPath } from './issues.js';
import { AVAILABLE_STORE_KINDS, type PortcullisConfig } from './schema.js';

/** The environment the config reads: variable names to values. */
import type { Env } from './env.js';

export type { Env };

/** What the secrets resolve to. */
export interface ResolvedSecrets {
  /** Agent id → SHA-256 hex of its key. */
  readonly agentKeys: ReadonlyMap<string, string>;
  /** Person id → SHA-256 hex of their token, for people who have one. */
  readonly personTokens: ReadonlyMap<string, string>;
  /** The PostgreSQL connection URL, when the store is PostgreSQL. */
  readonly storeUrl?: string;
}

/** `sha256:ABC…` → `abc…`. */
export function normaliseHash(written: string): string {
  return written.slice('sha256:'.length).toLowerCase();
}

/**
 * Resolves every secret of the config from its hash or its environment variable. Returns
 * the problems found: an unset variable (named), or a key shared by two callers.
 */
export function resolveSecrets(config: PortcullisConfig, env: Env): { secrets: ResolvedSecrets; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, string>();
  const fromEnv = (variable: string, path: PathSegment[], what: string, instead: string): string | undefined => {
    const value = env[variable];
    if (value === undefined || value === '') {
      issues.push({ path, message: `environment variable ${variable} is not set${value === '' ? ' (it is empty)' : ''}; set it to ${what}, or use ${instead} instead` });
      return undefined;
    }
    return value;
  };
  // People first, in the order of the example file, so a clash is reported at the agent.
  const remember = (hash: string, path: PathSegment[]): void => {
    const first = seen.get(hash);
    if (first !== undefined) {
      issues.push({ path, message: `this is the same key as ${first}; every agent and person needs a key of their own (\`portcullis keys new\` prints a new one)` });
    } else {
      seen.set(hash, formatPath(path));
    }
  };

  const personTokens = new Map<string, string>();
  for (const [id, person] of Object.entries(config.people)) {
    let hash: string | undefined;
    if (person.tokenHash !== undefined) {
      hash = normaliseHash(person.tokenHash);
      remember(hash, ['people', id, 'tokenHash']);
    } else if (person.tokenEnv !== undefined) {
      const token = fromEnv(person.tokenEnv, ['people', id, 'tokenEnv'], `${id}'s API token`, 'tokenHash');
      if (token !== undefined) { hash = sha256Hex(token); remember(hash, ['people', id, 'tokenEnv']); }
    }
    if (hash !== undefined) personTokens.set(id, hash);
  }

  const agentKeys = new Map<string, string>();
  for (const [id, agent] of Object.entries(config.agents)) {
    let hash: string | undefined;
    if (agent.keyHash !== undefined) {
      hash = normaliseHash(agent.keyHash);
      remember(hash, ['agents', id, 'keyHash']);
    } else if (agent.keyEnv !== undefined) {
      const key = fromEnv(agent.keyEnv, ['agents', id, 'keyEnv'], `agent "${id}"'s API key`, 'keyHash');
      if (key !== undefined) { hash = sha256Hex(key); remember(hash, ['agents', id, 'keyEnv']); }
    }
    if (hash !== undefined) agentKeys.set(id, hash);
  }

  let storeUrl: string | undefined;
  // A store kind this version cannot open is refused by check.ts; its URL is not looked for.
  if (config.store.kind === 'postgres' && AVAILABLE_STORE_KINDS.includes(config.store.kind)) {
    storeUrl = config.store.url ?? (config.store.urlEnv === undefined ? undefined : fromEnv(config.store.urlEnv, ['store', 'urlEnv'], 'the PostgreSQL connection URL', 'url'));
  }
  return { secrets: storeUrl === undefined ? { agentKeys, personTokens } : { agentKeys, personTokens, storeUrl }, issues };
}
