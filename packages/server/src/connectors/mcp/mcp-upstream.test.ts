/**
 * The upstream connection's own failures, below the gateway: closing while a connection attempt
 * is still in progress (a stdio server that never answers initialize, an HTTP endpoint that
 * never answers) stops it at once instead of waiting out the system's timeout, and an HTTP
 * upstream that is down is reported with why (the refused connection under fetch's
 * "fetch failed").
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import type { McpSystemConfig, McpTransportConfig } from './mcp-settings.js';
import { freePort } from '../../testing/json-server.js';
import { FAULTY_SERVER } from '../../testing/mcp-servers.js';
import { createMcpConnector } from './mcp-connector.js';
import { createMcpUpstream } from './mcp-upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-upstream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Far longer than any test here may take, so a close that waits for it fails the test. */
const TIMEOUT_MS = 20_000;

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

async function pidIn(file: string): Promise<number> {
  for (let i = 0; i < 200; i += 1) {
    if (existsSync(file) && readFileSync(file, 'utf8') !== '') return Number(readFileSync(file, 'utf8'));
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the fixture wrote no pid to ${file}`);
}

describe('closing an MCP upstream while it is still connecting', () => {
  it('ends a stdio server that never answers initialize at once, instead of waiting for the timeout', async () => {
    const pidFile = join(dir, 'hang.pid');
    const upstream = createMcpUpstream(systemOf(env({ FIXTURE_HANG_AT_START: '1', FIXTURE_PID_FILE: pidFile })));
    const listing = upstream.listTools();
    listing.catch(() => undefined);
    const pid = await pidIn(pidFile);
    expect(alive(pid)).toBe(true);
    const started = performance.now();
    await upstream.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(alive(pid)).toBe(false);
    await expect(listing).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: 'MCP system "slow" failed while connecting: the gateway closed the connection before the upstream answered' });
  }, 3 * TIMEOUT_MS);

  it('aborts an HTTP connect in flight at once', async () => {
    const requests: IncomingMessage[] = [];
    // Takes the initialize request and never answers it.
    const server: Server = createServer((req) => { requests.push(req); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
      const upstream = createMcpUpstream(systemOf({ kind: 'http', url, auth: { kind: 'none' } }));
      const listing = upstream.listTools();
      listing.catch(() => undefined);
      for (let i = 0; i < 200 && requests.length === 0; i += 1) await new Promise((r) => setTimeout(r, 25));
      expect(requests).toHaveLength(1);
      const aborted = new Promise<void>((resolve) => { requests[0]?.socket.once('close', () => resolve()); });
      const started = performance.now();
      await upstream.close();
      expect(performance.now() - started).toBeLessThan(2000);
      await expect(listing).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringContaining('the gateway closed the connection before the upstream answered') });
      // The request itself was given up, not left open on the server.
      await aborted;
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 3 * TIMEOUT_MS);
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
