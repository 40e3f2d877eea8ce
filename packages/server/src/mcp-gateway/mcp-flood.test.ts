/**
 * Flood control over MCP, both transports, in front of the reference memory and everything
 * servers: a call whose rejection was answered is answered that rejection again, with its
 * reason, during `limits.rejectionCooldown`, and puts nothing new before the approvers (after
 * the cool-down, on the injected clock, it asks again); proposals per minute per agent hold for
 * tool calls as on the HTTP API (service/flood-control.test.ts), answered RATE_LIMITED.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../testing/fake-clock.js';
import { openHarness, type Harness } from '../testing/harness.js';
import { TRANSPORTS, connectAgent, heldCall, mcpConfig, proposalIdOf, resultText } from '../testing/mcp-servers.js';

describe.each(TRANSPORTS)('over %s', (transport) => {
  let harness: Harness;
  let bot: Client;
  let limited: Harness;
  let limitedBot: Client;
  const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
  const env = { MEM_FILE: join(memDir, 'memory.jsonl') };

  beforeAll(async () => {
    // Now, on the injected clock: the stdio process beside the harness reads the system clock.
    harness = await openHarness({ configYaml: mcpConfig({ holdTime: '20s', limits: '{ rejectionCooldown: 1h }' }), env, clock: createFakeClock(Date.now()) });
    bot = await connectAgent(transport, { harness, baseUrl: await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' }), agent: 'bot', key: harness.secrets.agent, env });
    limited = await openHarness({ configYaml: mcpConfig({ limits: '{ proposalsPerMinute: 2 }' }), env: { MEM_FILE: join(memDir, 'memory2.jsonl') } });
    limitedBot = await connectAgent(transport, { harness: limited, baseUrl: await limited.gateway.app.listen({ port: 0, host: '127.0.0.1' }), agent: 'bot', key: limited.secrets.agent, env: { MEM_FILE: join(memDir, 'memory2.jsonl') } });
  }, 60_000);

  afterAll(async () => {
    await bot?.close();
    await limitedBot?.close();
    await harness?.close();
    await limited?.close();
    rmSync(memDir, { recursive: true, force: true });
  });

  it('answers a rejected call again with its rejection during the cool-down, opening nothing', async () => {
    const args = { entities: [{ name: `Flood ${transport}`, entityType: 'person', observations: [] }] };
    const first = heldCall(bot, 'create_entities', args);
    const id = await first.proposal;
    const rejected = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/reject`, payload: { reason: 'not in this graph' } });
    expect(rejected.statusCode).toBe(200);
    expect(resultText(await first.result)).toContain('rejected it: not in this graph');
    const count = await harness.gateway.store.countProposals({ workflow: 'notes' });
    for (let i = 0; i < 3; i += 1) {
      const again = await bot.callTool({ name: 'create_entities', arguments: args });
      expect(again.isError).toBe(true);
      expect(resultText(again)).toContain('dana rejected it: not in this graph');
      expect(proposalIdOf(again)).toBe(id);
    }
    expect(await harness.gateway.store.countProposals({ workflow: 'notes' })).toBe(count);
    expect(await harness.gateway.store.listProposals({ status: 'pending_approval', agent: 'bot' })).toHaveLength(0);
  });

  it.runIf(transport === 'http')('asks again once the cool-down has passed (injected clock)', async () => {
    const args = { entities: [{ name: 'Flood later', entityType: 'person', observations: [] }] };
    const first = heldCall(bot, 'create_entities', args);
    const id = await first.proposal;
    await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/reject`, payload: { reason: 'not yet' } });
    await first.result;
    harness.clock.advance(60 * 60_000 + 1);
    const later = heldCall(bot, 'create_entities', args);
    const next = await later.proposal;
    expect(next).not.toBe(id);
    await harness.request('dana', { method: 'POST', url: `/v1/approvals/${next}/reject`, payload: { reason: 'still no' } });
    expect(resultText(await later.result)).toContain('still no');
  });

  it('refuses tool calls past the proposals per minute with RATE_LIMITED', async () => {
    expect(resultText(await limitedBot.callTool({ name: 'echo', arguments: { message: 'one' } }))).toBe('Echo: one');
    expect(resultText(await limitedBot.callTool({ name: 'echo', arguments: { message: 'two' } }))).toBe('Echo: two');
    const third = await limitedBot.callTool({ name: 'echo', arguments: { message: 'three' } });
    expect(third.isError).toBe(true);
    expect(resultText(third)).toMatch(/^RATE_LIMITED: agent "bot" made 2 proposals in the last minute, the most this gateway takes \(limits\.proposalsPerMinute\); retry after \d+ s/);
  });
});
