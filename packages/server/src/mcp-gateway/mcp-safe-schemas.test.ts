/**
 * Upstream tool schemas cannot stall the gateway: an upstream (the fixture server, a real MCP
 * server process built with the SDK) lists a tool whose input schema has the catastrophic
 * pattern `(a+)+$`, and a tool whose pattern (`x(?=y)`) the linear-time engine cannot run.
 * Over both transports, a call with a long (1.5 MB) non-matching argument is refused naming the
 * pattern, and a call started once the gateway has received it is answered first: the check
 * runs in a schema worker thread, not on the event loop every call is served by (on the main
 * thread, even RE2's linear check of 1.5 MB would hold every other call until it ends; on a
 * backtracking engine, forever). The second tool is not offered, saying why.
 */
import type { IncomingMessage } from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, type Harness } from '../testing/harness.js';
import { FAULTY_SERVER, TRANSPORTS, resultText, yamlList, openMemoryAgent } from '../testing/mcp-servers.js';

const patterns = `
  patterns:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    env: { FIXTURE_PATTERN_TOOLS: { env: PATTERN_TOOLS } }
    timeout: 10s
`;

describe.each(TRANSPORTS)('over %s', (transport) => {
  let opened: Awaited<ReturnType<typeof openMemoryAgent>> | undefined;
  let harness: Harness;
  let bot: Client;

  beforeAll(async () => {
    // Params up to 2 MiB, so one call's argument takes its check a while (about 0.2 s for RE2).
    opened = await openMemoryAgent(transport, { limits: '{ paramsBytes: 2097152 }', extraSystems: patterns, extraGrants: ['patterns:match:read', 'patterns:lookahead:read', 'patterns:ping:read'] }, { PATTERN_TOOLS: '1' });
    ({ harness, bot } = opened);
  }, 60_000);

  afterAll(async () => opened?.close());

  it('refuses a long argument that misses a catastrophic pattern, and answers a call started after it first', async () => {
    const long = `${'a'.repeat(1_500_000)}!`;
    // Armed before the long call is sent: resolved when the gateway has read its whole request.
    const received = new Promise<void>((resolve) => {
      const server = harness.gateway.app.server;
      const onRequest = (request: IncomingMessage): void => {
        if (Number(request.headers['content-length'] ?? 0) < long.length) return;
        server.off('request', onRequest);
        request.on('end', () => resolve());
      };
      server.on('request', onRequest);
    });
    const answered: string[] = [];
    const evil = bot.callTool({ name: 'match', arguments: { text: long } }).then((r) => { answered.push('match'); return r; });
    await received;
    const after = bot.callTool({ name: 'ping', arguments: {} }).then((r) => { answered.push('ping'); return r; });
    const [refused, pong] = await Promise.all([evil, after]);
    expect(answered).toEqual(['ping', 'match']);
    expect(resultText(pong)).toBe('pong');
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toContain('INVALID_PARAMS');
    expect(resultText(refused)).toContain('text: must match pattern "(a+)+$"');
    // Refused before anything was stored: no proposal of the tool.
    expect((await auditTrail(harness)).some((e) => e.type === 'proposal.received' && e.data.action === 'patterns.match')).toBe(false);
    // A matching argument runs.
    expect(resultText(await bot.callTool({ name: 'match', arguments: { text: 'baaa' } }))).toBe('said: baaa');
  });

  it('does not offer a tool whose pattern the linear-time engine cannot run, and says why when it is called', async () => {
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name)).toContain('match');
    expect(tools.map((t) => t.name)).not.toContain('lookahead');
    expect(harness.gateway.warnings.join('\n')).toContain('tool "lookahead": its inputSchema\'s pattern "x(?=y)" cannot be run by the gateway\'s linear-time regular-expression engine');
    const listed = (await auditTrail(harness)).find((e) => e.type === 'mcp.tools_listed' && e.data.system === 'patterns');
    expect(JSON.stringify(listed?.data.rejected)).toContain('x(?=y)');
    await expect(bot.callTool({ name: 'lookahead', arguments: { text: 'xy' } })).rejects.toThrow(/tool "lookahead" is granted but not offered: .*pattern "x\(\?=y\)" cannot be run/);
  });
});
