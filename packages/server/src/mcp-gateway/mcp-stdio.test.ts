/**
 * The MCP gateway over stdio, as an MCP client launches it: the `portcullis mcp --agent`
 * command (run from its sources), driven by the official SDK client, in front of the reference
 * memory server. A department lead approves a held call through the HTTP API of the gateway
 * running beside it on the same store. The behaviours both ways in
 * share (grants, approval, pending retries, pinning, no elicitation, no key upstream) are
 * tested over stdio too by the suites that run over each transport (mcp-http, mcp-pending,
 * mcp-pinning, mcp-upstream-url); this file keeps what only the stdio command has.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFromSources } from '../testing/cli-from-sources.js';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { harnessEnv, heldCall, mcpConfig, proposalIdOf, resultText, stdioAgent } from '../testing/mcp-servers.js';

let harness: Harness;
let client: Client;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
const memFile = join(memDir, 'memory.jsonl');

/** The environment the config names, as the MCP client's launch would give it. */
const launchEnv = (): Record<string, string> => harnessEnv(harness, { MEM_FILE: memFile });

beforeAll(async () => {
  harness = await openHarness({ configYaml: mcpConfig({ holdTime: '20s' }), env: { MEM_FILE: memFile } });
  client = await stdioAgent({ config: join(harness.dir, 'portcullis.yaml'), agent: 'bot', key: harness.secrets.agent, env: launchEnv() });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

describe('portcullis mcp over stdio (memory and everything servers)', () => {
  it('lists the granted tools and runs a read tool at once', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['create_entities', 'delete_entities', 'echo', 'get-env', 'read_graph']);
    const echoed = await client.callTool({ name: 'echo', arguments: { message: 'over stdio' } });
    expect(resultText(echoed)).toContain('over stdio');
  });

  it('holds a write until a lead approves it on the running gateway, then returns its result', async () => {
    const call = heldCall(client, 'create_entities', { entities: [{ name: 'Linus', entityType: 'person', observations: [] }] });
    const id = await call.proposal;
    expect(await harness.gateway.store.getProposal(id)).toMatchObject({ action: 'memory.create_entities', status: 'pending_approval' });
    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
    expect(approved.statusCode).toBe(200);
    const result = await call.result;
    expect(result.isError).not.toBe(true);
    expect(proposalIdOf(result)).toBe(id);
    expect(readFileSync(memFile, 'utf8')).toContain('"Linus"');
    expect((await auditTrail(harness)).filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(1);
  });

  it('refuses to serve without the agent\'s key, or with another key', () => {
    const config = join(harness.dir, 'portcullis.yaml');
    /** Runs `portcullis ARGS…` with `env` (and no other variables), standard input empty. */
    const mcp = (args: string[], env: Record<string, string>) => {
      const cli = cliFromSources(args);
      return spawnSync(cli.command, cli.args, { env: { ...env, ...cli.env }, encoding: 'utf8', input: '' });
    };
    const noKey = mcp(['mcp', '--agent', 'bot', '-c', config], { ...launchEnv(), PATH: process.env.PATH ?? '' });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('no agent key: set PORTCULLIS_AGENT_KEY');
    expect(noKey.stdout).toBe('');
    const wrong = mcp(['mcp', '--agent', 'bot', '-c', config], { ...launchEnv(), PORTCULLIS_AGENT_KEY: harness.secrets.other });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('the key given is not the API key of agent "bot"');
    const noAgent = mcp(['mcp', '-c', config], { ...launchEnv(), PORTCULLIS_AGENT_KEY: harness.secrets.agent });
    expect(noAgent.status).toBe(2);
    expect(noAgent.stderr).toContain('--agent ID is required');
  });
});
