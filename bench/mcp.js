/**
 * MCP tool call through the gateway against the same call straight to the upstream server.
 * The MCP gateway (packages/server/src/mcp/) is not built yet, so this reports the row as not
 * measured, saying why. When it lands, fill `measure` in: start a reference MCP server (the
 * official SDK's in-memory or Streamable HTTP transport) with one read tool, a gateway whose
 * workflow grants that tool with `read: auto` and a durable audit store, then time N calls
 * with tinybench through each path and report added p50 and p99 (targets: ≤ 0.4 ms, ≤ 1 ms).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { row } from './lib.js';

/** Where the built MCP gateway will be; its presence turns the benchmark on. */
const MCP_DIST = fileURLToPath(new URL('../packages/server/dist/mcp/', import.meta.url));

/** Runs the MCP benchmark, or reports it as not measured yet. */
export async function runMcpBenchmark() {
  const rows = (value, note, pass = null) => [
    row({ id: 'mcp.p50', figure: 'MCP tool call through the gateway (auto-approved read, audit durable), added p50', value, unit: 'ms', baseline: 'the same call straight to the upstream server', target: '≤ 0.4 ms', pass, note }),
    row({ id: 'mcp.p99', figure: 'MCP tool call through the gateway, added p99', value, unit: 'ms', baseline: 'the same call straight to the upstream server', target: '≤ 1 ms', pass, note }),
  ];
  if (!existsSync(MCP_DIST)) {
    return { rows: rows(undefined, 'not measured yet (MCP gateway not built)'), details: { measured: false, reason: 'packages/server/dist/mcp/ does not exist' } };
  }
  // The gateway exists but this benchmark has not been written against its API yet.
  return { rows: rows(undefined, 'not measured yet (MCP gateway present; benchmark to be written against its API)'), details: { measured: false, reason: 'bench/mcp.js has no measurement yet' } };
}
