/**
 * `envFile`: the variables a config names, read from a file beside it (mode 0600), so whoever
 * launches the gateway passes none of them; the environment wins over the file.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@portcullis/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { makeTempDir } from '../testing/temp-dir.js';
import { formatConfigErrors, loadConfigFile } from './load.js';

const dir = makeTempDir('portcullis-env-file');
afterAll(() => dir.cleanup());

const CONFIG = `version: 1
envFile: ./portcullis.env
departments: { ops: { name: Ops, leads: [lee] } }
people: { lee: { name: Lee, tokenEnv: LEE_TOKEN }, owen: { name: Owen } }
agents: { bot: { name: Bot, owner: owen, department: ops, keyEnv: BOT_KEY } }
`;

function setUp(envText: string, mode = 0o600): string {
  const file = join(dir.path, 'portcullis.yaml');
  writeFileSync(file, CONFIG);
  const env = join(dir.path, 'portcullis.env');
  writeFileSync(env, envText);
  chmodSync(env, mode);
  return file;
}

describe('envFile', () => {
  it('gives the config its variables, the environment winning', () => {
    const file = setUp('# secrets of the gateway\nBOT_KEY=bot-key\nexport LEE_TOKEN="lee-token"\n');
    const loaded = loadConfigFile(file, { kinds: SYSTEM_KINDS, env: {} });
    if (!loaded.ok) throw new Error(formatConfigErrors(loaded.errors));
    expect(loaded.config.agents.get('bot')?.keyHash).toBe(sha256Hex('bot-key'));
    expect(loaded.config.people.get('lee')?.tokenHash).toBe(sha256Hex('lee-token'));
    const overridden = loadConfigFile(file, { kinds: SYSTEM_KINDS, env: { BOT_KEY: 'from-env' } });
    expect(overridden.ok && overridden.config.agents.get('bot')?.keyHash).toBe(sha256Hex('from-env'));
  });

  it('refuses a file others may read, at envFile, naming the fix', () => {
    const file = setUp('BOT_KEY=bot-key\nLEE_TOKEN=t\n', 0o644);
    const loaded = loadConfigFile(file, { kinds: SYSTEM_KINDS, env: {} });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(formatConfigErrors(loaded.errors)).toContain(`${file}:2:10 envFile: ${join(dir.path, 'portcullis.env')} holds secrets but others may read it (mode 0644); run \`chmod 600`);
  });

  it('refuses a missing file and a line that is not NAME=value', () => {
    const file = setUp('BOT_KEY bot-key\n');
    const bad = loadConfigFile(file, { kinds: SYSTEM_KINDS, env: {} });
    expect(!bad.ok && bad.errors[0]?.message).toBe(`${join(dir.path, 'portcullis.env')}:1: expected NAME=value (a # starts a comment line)`);
    writeFileSync(file, CONFIG.replace('./portcullis.env', './nope.env'));
    const missing = loadConfigFile(file, { kinds: SYSTEM_KINDS, env: {} });
    expect(!missing.ok && missing.errors[0]?.message).toMatch(/no env file at .*nope\.env; create it/);
  });

  it('without it, an unset variable is still an error naming it', () => {
    const file = join(dir.path, 'plain.yaml');
    writeFileSync(file, CONFIG.replace('envFile: ./portcullis.env\n', ''));
    const loaded = loadConfigFile(file, { kinds: SYSTEM_KINDS, env: {} });
    expect(!loaded.ok && formatConfigErrors(loaded.errors)).toMatch(/BOT_KEY is not set/);
  });
});
