/**
 * The risk floor of MCP tools: `actions:` in the config may raise a tool's class above what its
 * annotations give it, never lower it. A config whose override or grant would lower a
 * destructive tool is refused when the tools are known: `portcullis validate --online`,
 * `portcullis check` and start (SPEC rule 2: such a config is rejected at load); an override
 * that raises a read tool to write makes its calls wait for approval. Against the reference
 * memory and everything servers, over Streamable HTTP.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { harnessEnv, httpAgent, mcpConfig, proposalIdOf, resultText } from '../testing/mcp-servers.js';
import { runCli } from '../testing/run-cli.js';

let harness: Harness;
let bot: Client;
let autoBot: Client;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
const memFile = join(memDir, 'memory.jsonl');
const LOWERED = /actions\["memory\.delete_entities"\]\.risk: risk "write" is below "high", the lowest class allowed because it is tagged delete; risk can be raised, never lowered/;

beforeAll(async () => {
  harness = await openHarness({
    configYaml: mcpConfig({ holdTime: '1s', actions: { 'everything.echo': '{ risk: write }' } }),
    env: { MEM_FILE: memFile },
  });
  const baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
  bot = await httpAgent(baseUrl, harness.secrets.agent);
  autoBot = await httpAgent(baseUrl, harness.secrets.other);
}, 60_000);

afterAll(async () => {
  await bot?.close();
  await autoBot?.close();
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

describe('risk overrides of MCP tools', () => {
  it('refuses to start on an override that would lower a destructive tool, naming it', async () => {
    await expect(openHarness({ configYaml: mcpConfig({ actions: { 'memory.delete_entities': '{ risk: write }' } }), env: { MEM_FILE: memFile } })).rejects.toThrow(LOWERED);
  });

  it('refuses to start on a grant that names a destructive tool with a lower verb', async () => {
    const yaml = mcpConfig({}).replace('{ grant: memory:delete_entities:delete, explicit: true }', 'memory:delete_entities:update');
    expect(yaml).toContain('memory:delete_entities:update');
    await expect(openHarness({ configYaml: yaml, env: { MEM_FILE: memFile } })).rejects.toThrow(/grants "memory:delete_entities:update", but tool "delete_entities" is a delete tool/);
  });

  it('fails validate --online and check on such a config, while plain validate says the risk is checked online', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-risk-'));
    try {
      const config = join(dir, 'portcullis.yaml');
      writeFileSync(config, mcpConfig({ actions: { 'memory.delete_entities': '{ risk: write }' } }));
      Object.assign(process.env, harnessEnv(harness, { MEM_FILE: memFile }));
      const plain = await runCli(['validate', config]);
      expect(plain).toMatchObject({ code: 0, out: expect.stringMatching(/check their risk with `portcullis validate --online`/) });
      const online = await runCli(['validate', '--online', config]);
      expect(online.code).toBe(1);
      expect(online.err).toMatch(LOWERED);
      // Located where the override is written: file:line:column of actions["memory.delete_entities"].risk.
      const line = readFileSync(config, 'utf8').split('\n').findIndex((l) => l.includes('memory.delete_entities')) + 1;
      expect(online.err).toMatch(new RegExp(`^${config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}:\\d+ actions\\["memory\\.delete_entities"\\]\\.risk: `, 'm'));
      const check = await runCli(['check', '-c', config]);
      expect(check.code).toBe(1);
      expect(check.err).toMatch(LOWERED);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes a read tool raised to write wait for a person\'s approval, then run once', async () => {
    const echo = (await bot.listTools()).tools.find((t) => t.name === 'echo');
    expect(echo?.description).toMatch(/\[Portcullis: write risk: raised by configuration .*; waits for a person's approval\.\]$/);
    const args = { message: 'raised by the config' };
    const first = await bot.callTool({ name: 'echo', arguments: args });
    expect(resultText(first)).toMatch(/^PENDING - not done yet/);
    expect(first.structuredContent).toMatchObject({ portcullis: { status: 'pending_approval' } });
    const id = proposalIdOf(first) as string;
    const trail = (await auditTrail(harness)).filter((e) => e.proposalId === id);
    expect(trail.find((e) => e.type === 'proposal.received')?.data).toMatchObject({ action: 'everything.echo', risk: 'write' });
    expect(String(trail.find((e) => e.type === 'proposal.received')?.data.riskWhy)).toContain('raised by configuration');
    expect(trail.find((e) => e.type === 'proposal.decided')?.data.outcome).toBe('needs_approval');
    expect(trail.filter((e) => e.type === 'execution.started')).toEqual([]);

    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'fine to echo' } });
    expect(approved.statusCode).toBe(200);
    const outcome = await bot.callTool({ name: 'echo', arguments: args });
    expect(proposalIdOf(outcome)).toBe(id);
    expect(resultText(outcome)).toBe('Echo: raised by the config');
    expect((await auditTrail(harness)).filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(1);
  });
});
