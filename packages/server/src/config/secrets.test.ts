import { describe, expect, it } from 'vitest';
import { sha256Hex } from '@portcullis/core';
import { EXAMPLE_CONFIG } from './example.js';
import { formatConfigError, parseConfigText } from './load.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';

const AGENT_KEY_LINE = 'keyHash: "sha256:557f23340682781f6137ad4d653eb0a4f48de03cbbbe936f5a2234e6f2dfced5"';
const withKeyEnv = EXAMPLE_CONFIG.replace(AGENT_KEY_LINE, 'keyEnv: PC_LEAD_ROUTER_KEY');

function load(text: string, env: Record<string, string>) {
  return parseConfigText(text, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: '/srv/portcullis', env });
}

describe('keys and tokens from the environment', () => {
  it('hashes an agent key read from the environment and keeps only the hash', () => {
    const result = load(withKeyEnv, { PC_LEAD_ROUTER_KEY: 'pc_secret_from_env' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const hash = sha256Hex('pc_secret_from_env');
    expect(result.config.agents.get('lead-router')?.keyHash).toBe(hash);
    expect(result.config.agentsByKeyHash.get(hash)?.id).toBe('lead-router');
    expect(JSON.stringify([...result.config.agents.values()])).not.toContain('pc_secret_from_env');
  });

  it('names the variable when it is not set, at the keyEnv line', () => {
    const result = load(withKeyEnv, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatConfigError)).toEqual([
      'portcullis.yaml:48:13 agents.lead-router.keyEnv: environment variable PC_LEAD_ROUTER_KEY is not set; set it to agent "lead-router"\'s API key, or use keyHash instead',
    ]);
  });

  it('treats an empty variable as unset', () => {
    const result = load(withKeyEnv, { PC_LEAD_ROUTER_KEY: '' });
    expect(!result.ok && result.errors[0]?.message).toContain('PC_LEAD_ROUTER_KEY is not set (it is empty)');
  });

  it('rejects an env key equal to another caller\'s key', () => {
    const result = load(withKeyEnv, { PC_LEAD_ROUTER_KEY: 'pc_person_dana_example' });
    expect(!result.ok && result.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'agents.lead-router.keyEnv: this is the same key as people.dana.tokenHash; every agent and person needs a key of their own (`portcullis keys new` prints a new one)',
    ]);
  });

  it('reads a person\'s token from tokenEnv', () => {
    const text = EXAMPLE_CONFIG.replace('tokenHash: "sha256:171d0d8a25cec313731ab1e5d33d36a652e819ef3616562ae4121474729173f3"', 'tokenEnv: PC_DANA_TOKEN');
    const result = load(text, { PC_DANA_TOKEN: 'dana-token' });
    expect(result.ok && result.config.peopleByTokenHash.get(sha256Hex('dana-token'))?.id).toBe('dana');
    const missing = load(text, {});
    expect(!missing.ok && missing.errors[0]?.path).toBe('people.dana.tokenEnv');
  });

  it('does not ask for the URL of a postgres store, which is refused until it lands', () => {
    const text = EXAMPLE_CONFIG.replace('  kind: sqlite\n  path: ./.portcullis/portcullis.db', '  kind: postgres\n  urlEnv: PC_DATABASE_URL');
    const refusal = expect.stringMatching(/^portcullis\.yaml:8:9 store\.kind: "postgres" is planned, not available in this version/);
    for (const env of [{ PC_DATABASE_URL: 'postgres://gateway@db/portcullis' }, {}] as Array<Record<string, string>>) {
      const result = load(text, env);
      expect(!result.ok && result.errors.map(formatConfigError)).toEqual([refusal]);
    }
  });
});
