/**
 * An upstream MCP server reached by URL (`url:` in the system's config, Streamable HTTP): the
 * reference everything server from npm, serving Streamable HTTP, behind a small recording
 * proxy that keeps every request the upstream receives. Over both ways an agent comes in
 * (Streamable HTTP at /mcp, and stdio, where the `portcullis mcp` process holds the agent's key
 * in PORTCULLIS_AGENT_KEY): a read tool runs through the gateway to the URL upstream, and the
 * upstream is sent the gateway's own configured credential and never the agent's key.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { TRANSPORTS, connectAgent, resultText, startEverythingOverHttp } from '../testing/mcp-servers.js';

/** A request as the upstream received it. */
interface Received { readonly method: string; readonly headers: IncomingHttpHeaders; readonly body: string }

const UPSTREAM_TOKEN = `upstream-credential-${process.pid}-0123456789`;
const received: Received[] = [];
let upstream: { url: string; stop(): Promise<void> } | undefined;
let proxy: Server | undefined;
let harness: Harness;
let baseUrl: string;

/** A proxy on the loopback interface that records each request, then passes it (and its streamed answer) on to `upstreamUrl`. */
async function startRecordingProxy(upstreamUrl: string): Promise<{ server: Server; url: string }> {
  const { port } = new URL(upstreamUrl);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', headers: req.headers, body: body.toString('utf8') });
      const onward = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${port}` } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      onward.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
      onward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` };
}

const config = (url: string): string => `
version: 1
store: { kind: sqlite, path: ./portcullis.db }
mcp: { holdTime: 5s }
systems:
  remote:
    kind: mcp
    url: ${url}
    auth: { kind: bearer, tokenEnv: T_UPSTREAM }
    timeout: 20s
departments:
  ops: { name: Operations, leads: [dana] }
people:
  dana: { name: Dana, tokenEnv: T_DANA }
  tom: { name: Tom, tokenEnv: T_TOM }
agents:
  bot: { name: Remote bot, owner: tom, department: ops, keyEnv: K_AGENT }
workflows:
  remote-tools:
    description: Use the remote tools
    agent: bot
    department: ops
    owner: tom
    runbook: Use them by hand.
    grants: [remote:echo:read, remote:get-sum:read]
actions:
  # Its description says it "sends" progress notifications to the caller, not a message out of the company.
  remote.simulate-research-query: { notMoneyOrMessages: "it sends progress notifications to the MCP client, nothing leaves the company" }
`;

beforeAll(async () => {
  upstream = await startEverythingOverHttp();
  const recording = await startRecordingProxy(upstream.url);
  proxy = recording.server;
  harness = await openHarness({ configYaml: config(recording.url), env: { T_UPSTREAM: UPSTREAM_TOKEN } });
  baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);

afterAll(async () => {
  await harness?.close();
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve) ?? resolve(undefined));
  await upstream?.stop();
});

describe('the gateway starts with an upstream reached by URL', () => {
  it('lists its tools when it starts, authenticating with its own credential', async () => {
    expect(harness.gateway.warnings).toEqual([]);
    const listed = (await auditTrail(harness)).find((e) => e.type === 'mcp.tools_listed' && e.data.system === 'remote');
    expect(JSON.stringify(listed?.data.tools)).toContain('"echo"');
    expect(received.some((r) => r.body.includes('"tools/list"'))).toBe(true);
    for (const r of received) expect(r.headers.authorization).toBe(`Bearer ${UPSTREAM_TOKEN}`);
  });
});

describe.each(TRANSPORTS)('an agent over %s, with an upstream reached by URL', (transport) => {
  let bot: Client;
  let from = 0;

  beforeAll(async () => {
    from = received.length;
    bot = await connectAgent(transport, { harness, baseUrl, agent: 'bot', key: harness.secrets.agent, env: { T_UPSTREAM: UPSTREAM_TOKEN } });
  }, 60_000);

  afterAll(async () => {
    await bot?.close();
  });

  it('runs a read tool through the gateway on the URL upstream', async () => {
    expect((await bot.listTools()).tools.map((t) => t.name).sort()).toEqual(['echo', 'get-sum']);
    const result = await bot.callTool({ name: 'echo', arguments: { message: `over a URL, via ${transport}` } });
    expect(result.isError).not.toBe(true);
    expect(resultText(result)).toBe(`Echo: over a URL, via ${transport}`);
    const sum = await bot.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } });
    expect(resultText(sum)).toContain('42');
    const calls = received.slice(from).filter((r) => r.body.includes('"tools/call"'));
    expect(calls.map((r) => JSON.parse(r.body) as { params: { name: string } }).map((m) => m.params.name)).toEqual(['echo', 'get-sum']);
  });

  it('sends the upstream the gateway\'s own credential and never the agent\'s key', () => {
    const seen = received.slice(from);
    // The gateway (the `portcullis mcp` process, over stdio) connected and called the upstream itself.
    expect(seen.filter((r) => r.method === 'POST').length).toBeGreaterThan(0);
    for (const r of seen) expect(r.headers.authorization).toBe(`Bearer ${UPSTREAM_TOKEN}`);
    const everything = JSON.stringify(seen);
    expect(everything).not.toContain(harness.secrets.agent);
    expect(everything).not.toContain(harness.secrets.agent.slice(-16));
  });
});

