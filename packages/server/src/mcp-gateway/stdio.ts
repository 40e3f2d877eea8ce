/**
 * The MCP gateway over stdio, for clients that launch a command (Claude Desktop, Cursor,
 * VS Code…): one agent per process, chosen by the operator who configured the launch and
 * proven by its API key (checked by the CLI before this runs). Invariants: standard output
 * carries JSON-RPC only; everything else the gateway says goes to standard error; when `stop`
 * resolves (SIGTERM), held calls are answered "pending" at once and written out before the
 * server closes.
 */
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { AgentConfig } from '../service/contracts.js';
import type { McpGatewayDeps } from './call-tool.js';
import { createMcpGatewayServer } from './gateway-server.js';

/** Serves `agent` on the given streams until the client closes its end (or `stop` resolves: then held calls answer "pending" first). */
export async function serveMcpStdio(deps: McpGatewayDeps, agent: AgentConfig, io: { stdin: Readable; stdout: Writable }, stop?: Promise<unknown>): Promise<void> {
  const stopping = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  const server = createMcpGatewayServer({ ...deps, shutdown: stopping.signal }, agent, inFlight);
  const closed = new Promise<void>((resolve) => { server.onclose = () => resolve(); });
  const end = (): void => { void server.close(); };
  io.stdin.once('end', end);
  io.stdin.once('close', end);
  void stop?.then(async () => {
    stopping.abort();
    await Promise.allSettled([...inFlight]);
    end();
  });
  await server.connect(new StdioServerTransport(io.stdin, io.stdout));
  await closed;
  io.stdin.off('end', end);
  io.stdin.off('close', end);
}
