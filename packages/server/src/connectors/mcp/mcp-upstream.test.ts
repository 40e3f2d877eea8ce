/**
 * The upstream connection's own failures, below the gateway: closing while a connection attempt
 * is still in progress (a stdio server that never answers initialize, an HTTP endpoint that
 * never answers) stops it at once instead of waiting out the system's timeout, and an HTTP
 * upstream that is down is reported with why (the refused connection under fetch's
 * "fetch failed"); an HTTP upstream that restarted, and so no longer knows the connection's
 * session, gets a new session and the request again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createSocketServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { McpSystemConfig, McpTransportConfig } from './mcp-settings.js';
import { freePort } from '../../testing/json-server.js';
import { FAULTY_SERVER, startEverythingOverHttp } from '../../testing/mcp-servers.js';
import { createMcpConnector } from './mcp-connector.js';
import { createMcpUpstream } from './mcp-upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-upstream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The systems' timeout: far longer than a test here may run (vitest's 30 s), so a close that
 * waits for it fails the test, and a close that does not shows itself by resolving at all.
 */
const TIMEOUT_MS = 10 * 60_000;

const systemOf = (transport: McpTransportConfig): McpSystemConfig => ({ kind: 'mcp', name: 'slow', transport, timeoutMs: TIMEOUT_MS, overrides: new Map() });
const env = (vars: Record<string, string>): McpTransportConfig => ({
  kind: 'stdio', command: process.execPath, args: [FAULTY_SERVER],
  env: new Map(Object.entries(vars).map(([variable, value]) => [variable, { kind: 'env', variable, value } as const])),
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A Unix socket in the test's folder the fixture tells its pid on (FIXTURE_PID_SOCKET); `pid` resolves once it has. */
async function pidSocket(name: string): Promise<{ path: string; pid: Promise<number>; close(): void }> {
  const path = join(dir, name);
  let told = (_pid: number): void => undefined;
  const pid = new Promise<number>((resolve) => { told = resolve; });
  const server = createSocketServer((socket) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    socket.on('end', () => told(Number(text)));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, pid, close: () => server.close() };
}

describe('closing an MCP upstream while it is still connecting', () => {
  it('ends a stdio server that never answers initialize at once, instead of waiting for the timeout', async () => {
    const told = await pidSocket('hang.sock');
    try {
      const upstream = createMcpUpstream(systemOf(env({ FIXTURE_HANG_AT_START: '1', FIXTURE_PID_SOCKET: told.path })));
      const listing = upstream.listTools();
      listing.catch(() => undefined);
      const pid = await told.pid;
      expect(alive(pid)).toBe(true);
      await upstream.close();
      expect(alive(pid)).toBe(false);
      await expect(listing).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: 'MCP system "slow" failed while connecting: the gateway closed the connection before the upstream answered' });
    } finally {
      told.close();
    }
  });

  it('aborts an HTTP connect in flight at once', async () => {
    const requests: IncomingMessage[] = [];
    let received = (): void => undefined;
    const firstRequest = new Promise<void>((resolve) => { received = resolve; });
    // Takes the initialize request and never answers it.
    const server: Server = createServer((req) => { requests.push(req); received(); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
      const upstream = createMcpUpstream(systemOf({ kind: 'http', url, auth: { kind: 'none' } }));
      const listing = upstream.listTools();
      listing.catch(() => undefined);
      await firstRequest;
      expect(requests).toHaveLength(1);
      const aborted = new Promise<void>((resolve) => { requests[0]?.socket.once('close', () => resolve()); });
      await upstream.close();
      await expect(listing).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringContaining('the gateway closed the connection before the upstream answered') });
      // The request itself was given up, not left open on the server.
      await aborted;
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('an HTTP MCP upstream that is down', () => {
  it('says why it could not be reached, not only "fetch failed"', async () => {
    const port = await freePort();
    const connector = createMcpConnector(systemOf({ kind: 'http', url: `http://127.0.0.1:${port}/mcp`, auth: { kind: 'none' } }));
    try {
      const checked = await connector.check();
      expect(checked).toEqual({
        ok: false,
        error: `MCP system "slow" failed while connecting: it stopped or could not be reached (fetch failed: connect ECONNREFUSED 127.0.0.1:${port})`,
      });
    } finally {
      await connector.close();
    }
  });
});

const textOf = (result: CallToolResult): string => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

describe('an HTTP MCP upstream that restarts', () => {
  it('starts a new session when the reference everything server restarted (it answers 400 to the old session)', async () => {
    let server = await startEverythingOverHttp();
    const port = Number(new URL(server.url).port);
    const upstream = createMcpUpstream(systemOf({ kind: 'http', url: server.url, auth: { kind: 'none' } }));
    try {
      expect(textOf(await upstream.callTool('echo', { message: 'before' }))).toContain('before');
      await server.stop();
      server = await startEverythingOverHttp(port);
      expect(textOf(await upstream.callTool('echo', { message: 'after' }))).toContain('after');
      expect((await upstream.listTools()).length).toBeGreaterThan(0);
    } finally {
      await upstream.close();
      await server.stop();
    }
  });

  /**
   * A stateful server made with the SDK's own Streamable HTTP transport, which answers 404 to a
   * session it does not know, as the MCP transport spec says; `restart` forgets every session
   * and counts the echo calls that ran.
   */
  async function sdkServer(): Promise<{ url: string; ran: string[]; restart(): void; close(): Promise<void> }> {
    let sessions = new Map<string, StreamableHTTPServerTransport>();
    const ran: string[] = [];
    const http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body: unknown = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const id = req.headers['mcp-session-id'];
        const transport = typeof id === 'string' ? sessions.get(id) : undefined;
        if (transport === undefined && typeof id !== 'string' && isInitializeRequest(body)) {
          const fresh = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => { sessions.set(sid, fresh); } });
          const mcp = new McpServer({ name: 'restarting', version: '1.0.0' });
          mcp.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => {
            ran.push(message);
            return { content: [{ type: 'text', text: `echo: ${message}` }] };
          });
          void mcp.connect(fresh).then(() => fresh.handleRequest(req, res, body));
          return;
        }
        if (transport === undefined) {
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
          return;
        }
        void transport.handleRequest(req, res, body);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
      ran,
      restart: () => { sessions = new Map(); },
      close: async () => {
        http.closeAllConnections();
        await new Promise((resolve) => http.close(resolve));
      },
    };
  }

  it('starts a new session on a 404 to the old one, and the refused call runs once, on the new session', async () => {
    const server = await sdkServer();
    const upstream = createMcpUpstream(systemOf({ kind: 'http', url: server.url, auth: { kind: 'none' } }));
    try {
      expect(textOf(await upstream.callTool('echo', { message: 'one' }))).toBe('echo: one');
      server.restart();
      expect(textOf(await upstream.callTool('echo', { message: 'two' }))).toBe('echo: two');
      expect(server.ran).toEqual(['one', 'two']);
    } finally {
      await upstream.close();
      await server.close();
    }
  });
});
