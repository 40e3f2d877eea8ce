/**
 * A read run at once through the gateway, in front of the reference everything server's
 * long-running operation (which reports progress while it runs), over both ways in: the
 * upstream's notifications/progress reach the agent that asked for progress, and an agent that
 * cancels its call (notifications/cancelled) stops it: the upstream is told and the proposal
 * fails CALL_CANCELLED (which the circuit breaker does not count: core breaker.test.ts).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from '../testing/harness.js';
import { TRANSPORTS, connectAgent, mcpConfig, resultText } from '../testing/mcp-servers.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

const TOOL = 'trigger-long-running-operation';
const ACTION = `everything.${TOOL}`;

describe.each(TRANSPORTS)('an upstream\'s progress and the agent\'s cancellation, over %s', (transport) => {
  let dir: TempDir;
  let harness: Harness;
  let bot: Client;

  beforeAll(async () => {
    dir = makeTempDir('portcullis-upstream-progress');
    const env = { MEM_FILE: `${dir.path}/memory.jsonl` };
    harness = await openHarness({ configYaml: mcpConfig({ holdTime: '20s', extraGrants: [`everything:${TOOL}:read`] }), env });
    const baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
    bot = await connectAgent(transport, { harness, baseUrl, env, agent: 'bot', key: harness.secrets.agent });
  }, 60_000);

  afterAll(async () => {
    await bot?.close();
    await harness?.close();
    dir?.cleanup();
  });

  it('passes the upstream\'s progress on to the agent that asked for it, then its result', async () => {
    const progress: { progress: number; total?: number }[] = [];
    const result = await bot.callTool({ name: TOOL, arguments: { duration: 0.5, steps: 5 } }, undefined, { onprogress: (p) => progress.push({ progress: p.progress, total: p.total }) });
    expect(resultText(result)).toContain('Long running operation completed');
    // Progress is best effort: the SDK client may drop the upstream's last one, which races its
    // result (MCP, "Progress": a notification after the response is not required to arrive).
    expect(progress.slice(0, 4)).toEqual([1, 2, 3, 4].map((n) => ({ progress: n, total: 5 })));
    expect(progress.length).toBeLessThanOrEqual(5);
  });

  /** Starts the long operation, cancels it at its first progress, and returns its proposal once the gateway recorded the outcome. */
  async function cancelOne(): Promise<{ status: string; error?: { code: string } }> {
    const before = new Set((await harness.gateway.store.listProposals({ limit: 1000 })).map((p) => p.id));
    const abort = new AbortController();
    let firstProgress = (): void => undefined;
    const started = new Promise<void>((resolve) => { firstProgress = resolve; });
    const call = bot.request({ method: 'tools/call', params: { name: TOOL, arguments: { duration: 60, steps: 60 } } }, CallToolResultSchema, { signal: abort.signal, onprogress: () => firstProgress() });
    await started;
    abort.abort('the agent changed its mind');
    await expect(call).rejects.toThrow();
    const proposal = (await harness.gateway.store.listProposals({ limit: 1000 })).find((p) => !before.has(p.id) && p.action === ACTION);
    if (proposal === undefined) throw new Error('the call made no proposal');
    return harness.gateway.service.waitForChange(proposal.id, 'executing', 30_000);
  }

  it('stops a call the agent cancels: the proposal fails CALL_CANCELLED', async () => {
    for (let i = 0; i < 2; i += 1) {
      expect(await cancelOne()).toMatchObject({ status: 'failed', error: { code: 'CALL_CANCELLED' } });
    }
    // The gateway still serves the tool.
    expect(resultText(await bot.callTool({ name: TOOL, arguments: { duration: 0.1, steps: 1 } }))).toContain('completed');
  }, 60_000);
});
