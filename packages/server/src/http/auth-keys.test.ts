/**
 * Keys are accepted only as themselves. The config holds only the SHA-256 hash of each agent
 * key and personal token; whoever can read the config (or the environment it names) must not
 * be able to act with what they read. Presenting the configured hash, in any spelling, as the
 * bearer is refused on the HTTP API and at /mcp, and `portcullis mcp` refuses it as the key.
 */
import { join } from 'node:path';
import { sha256Hex } from '@portcullis/core';
import { afterEach, describe, expect, it } from 'vitest';
import { harnessConfig, openHarness, type Harness } from '../testing/harness.js';
import { harnessEnv } from '../testing/mcp-servers.js';
import { runCli } from '../testing/run-cli.js';

let harness: Harness;
afterEach(async () => harness?.close());

const AGENT_KEY = 'pc_agent_key_for_auth_test_0123456789abcdef';
const DANA_TOKEN = 'pc_person_token_for_auth_test_0123456789abcdef';
const AGENT_HASH = sha256Hex(AGENT_KEY);
const DANA_HASH = sha256Hex(DANA_TOKEN);

/** The harness config with the agent's key and Dana's token written as hashes, as an operator writes them. */
const hashedConfig = (): string => harnessConfig()
  .replace('keyEnv: K_AGENT', `keyHash: "sha256:${AGENT_HASH}"`)
  .replace('tokenEnv: T_DANA', `tokenHash: "sha256:${DANA_HASH}"`);

/** Every way the configured hash could be presented instead of the key. */
const spellings = (hash: string): string[] => [`sha256:${hash}`, hash, hash.toUpperCase(), `sha256:${hash.toUpperCase()}`];

const read = { workflow: 'route-leads', action: 'crm.leads.read', params: { ids: [1] } };
const as = (bearer: string) => ({ authorization: `Bearer ${bearer}` });

describe('keys accepted as themselves, never as their configured hash', () => {
  it('the HTTP API accepts the agent key and personal token, and refuses their hashes with 401', async () => {
    const configYaml = hashedConfig();
    expect(configYaml).toContain(`keyHash: "sha256:${AGENT_HASH}"`);
    expect(configYaml).toContain(`tokenHash: "sha256:${DANA_HASH}"`);
    harness = await openHarness({ configYaml });
    const { app } = harness.gateway;

    const byKey = await app.inject({ method: 'POST', url: '/v1/actions', headers: as(AGENT_KEY), payload: read });
    expect(byKey.statusCode).toBe(200);
    expect(byKey.json()).toMatchObject({ agent: 'lead-router', status: 'succeeded' });
    expect((await app.inject({ method: 'GET', url: '/v1/approvals', headers: as(DANA_TOKEN) })).statusCode).toBe(200);

    for (const bearer of spellings(AGENT_HASH)) {
      const res = await app.inject({ method: 'POST', url: '/v1/actions', headers: as(bearer), payload: read });
      expect(res.statusCode, `agent key hash presented as ${bearer}`).toBe(401);
      expect(res.json().error).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    for (const bearer of spellings(DANA_HASH)) {
      const res = await app.inject({ method: 'GET', url: '/v1/approvals', headers: as(bearer) });
      expect(res.statusCode, `token hash presented as ${bearer}`).toBe(401);
    }
    // Only the one proposal made with the key itself exists.
    expect((await harness.gateway.store.listProposals({ limit: 100 })).map((p) => p.id)).toEqual([byKey.json().id]);
  });

  it('/mcp accepts the agent key and refuses its hash as the bearer', async () => {
    harness = await openHarness({ configYaml: hashedConfig() });
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const byKey = await harness.gateway.app.inject({ method: 'POST', url: '/mcp', headers: { ...headers, ...as(AGENT_KEY) }, payload: initialize });
    expect(byKey.statusCode).toBe(200);
    expect(byKey.body).toContain('"serverInfo"');
    for (const bearer of spellings(AGENT_HASH)) {
      const res = await harness.gateway.app.inject({ method: 'POST', url: '/mcp', headers: { ...headers, ...as(bearer) }, payload: initialize });
      expect(res.statusCode, `agent key hash presented as ${bearer}`).toBe(401);
    }
  });

  it('portcullis mcp refuses the agent key hash as the key', async () => {
    harness = await openHarness({ configYaml: hashedConfig() });
    const config = join(harness.dir, 'portcullis.yaml');
    const saved = { ...process.env };
    Object.assign(process.env, harnessEnv(harness));
    try {
      for (const key of spellings(AGENT_HASH)) {
        const result = await runCli(['mcp', '--agent', 'lead-router', '-c', config, '--key', key]);
        expect(result.err, `agent key hash given as ${key}`).toMatch(/the key given is not the API key of agent "lead-router"/);
        expect(result.code).toBe(2);
      }
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});
