/**
 * The MCP gateway's server for one agent (the official SDK's low-level `Server`, one per
 * connection): `tools/list` shows the upstream tools the agent's workflows grant and that are
 * not blocked; `tools/call` runs through call-tool.ts. Invariants: the agent is fixed when the
 * server is created (by the operator's launch for stdio, by its API key over HTTP) and never
 * taken from a message; the server offers tools only (no sampling, elicitation or resources
 * pass through it); output schemas are not advertised, as a governed call may answer
 * "pending" or "denied" instead of the tool's structured result.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, type CallToolRequest, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AgentConfig, AgentTool } from '../service/contracts.js';
import { callTool, type McpGatewayDeps } from './call-tool.js';
import { ProtocolError } from './results.js';

/** The server's name and version as MCP clients see them. */
export const GATEWAY_INFO = { name: 'portcullis', version: '0.1.0' };

const INSTRUCTIONS = 'These tools are governed by Portcullis. Reads usually run at once; changes may wait for a person\'s approval. '
  + 'A call that answers "PENDING" has not run: call the same tool again with exactly the same arguments later to get its outcome (it runs at most once). '
  + 'A denied call will not run however it is retried.';

/**
 * The requests as the handlers are registered: any params. With the SDK's own request schemas a
 * malformed tools/call (arguments that are not an object, no name) failed the SDK's first parse
 * and was answered Internal error (-32603); registered loosely, the SDK's `Server` checks a
 * tools/call itself and answers Invalid params (-32602), as the MCP specification says, and the
 * handler gets only well-formed calls. tools/list params are checked in its handler.
 */
export const LooseListToolsRequest = z.object({ method: z.literal('tools/list'), params: z.unknown().optional() });
export const LooseCallToolRequest = z.object({ method: z.literal('tools/call'), params: z.unknown().optional() });

/** A tool as MCP's tools/list shows it; the service describes it (risk, approval, undo, narrowed schema). */
function describeTool(tool: AgentTool): Tool {
  return {
    name: tool.name,
    ...(tool.tool.title === undefined ? {} : { title: tool.tool.title }),
    ...(tool.tool.description === undefined ? {} : { description: tool.tool.description }),
    inputSchema: tool.tool.inputSchema as Tool['inputSchema'],
    ...(tool.tool.annotations === undefined ? {} : { annotations: tool.tool.annotations as Tool['annotations'] }),
  };
}

/** The tools `agent` may call now: granted and not blocked. */
export async function listAgentTools(deps: McpGatewayDeps, agent: AgentConfig): Promise<Tool[]> {
  return (await deps.service.listTools(agent)).map(describeTool);
}

/**
 * Creates the MCP server an agent connects to. Connect it to a transport (stdio or Streamable
 * HTTP). Each call being served is in `inFlight` until it is answered, so a stopping process can
 * wait for the answers (held calls answer "pending" once `deps.shutdown` aborts) before it closes.
 */
export function createMcpGatewayServer(deps: McpGatewayDeps, agent: AgentConfig, inFlight?: Set<Promise<unknown>>): Server {
  const server = new Server(GATEWAY_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  server.setRequestHandler(LooseListToolsRequest, async (request) => {
    // Every tool is listed in one page, so no cursor is one this server gave out.
    const cursor = (request.params as { cursor?: unknown } | undefined)?.cursor;
    if (cursor !== undefined) throw new ProtocolError(ErrorCode.InvalidParams, `unknown cursor ${JSON.stringify(cursor)}: this server lists every tool in one page and gives out no cursor`);
    return { tools: await listAgentTools(deps, agent) };
  });
  server.setRequestHandler(LooseCallToolRequest, async (raw, extra) => {
    // Checked by the SDK's Server before this handler runs (see LooseCallToolRequest).
    const request = raw as CallToolRequest;
    // A cancellation may come on another request (stateless HTTP): either one stops the call.
    const cancelled = deps.cancelOf?.(extra.requestId);
    const answer = callTool(deps, agent, request.params.name, request.params.arguments, cancelled === undefined ? extra : { ...extra, signal: AbortSignal.any([extra.signal, cancelled]) });
    if (inFlight === undefined) return answer;
    // Removed once the SDK has written the answer (it does so when this handler's promise settles).
    const tracked = answer.then(() => new Promise((resolve) => setImmediate(resolve)), () => undefined);
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    return answer;
  });
  return server;
}
