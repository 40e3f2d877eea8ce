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
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AgentConfig, AgentTool } from '../service/contracts.js';
import { callTool, type McpGatewayDeps } from './call-tool.js';

/** The server's name and version as MCP clients see them. */
export const GATEWAY_INFO = { name: 'portcullis', version: '0.1.0' };

const INSTRUCTIONS = 'These tools are governed by Portcullis. Reads usually run at once; changes may wait for a person\'s approval. '
  + 'A call that answers "PENDING" has not run: call the same tool again with exactly the same arguments later to get its outcome (it runs at most once). '
  + 'A denied call will not run however it is retried.';

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
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: await listAgentTools(deps, agent) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const answer = callTool(deps, agent, request.params.name, request.params.arguments, extra);
    if (inFlight === undefined) return answer;
    // Removed once the SDK has written the answer (it does so when this handler's promise settles).
    const tracked = answer.then(() => new Promise((resolve) => setImmediate(resolve)), () => undefined);
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    return answer;
  });
  return server;
}
