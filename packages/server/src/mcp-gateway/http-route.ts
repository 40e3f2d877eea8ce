/**
 * The MCP gateway over Streamable HTTP at `/mcp` on the gateway's Fastify server, stateless:
 * each POST is served by a fresh SDK server and transport for the agent its Bearer API key
 * names (authentication is the API's own, in app.ts's onRequest hook). Invariants: only an
 * agent's key is accepted (a person's token is refused: people approve, they do not call
 * tools); the key is used to pick the agent and goes no further; GET and DELETE (streams and
 * sessions, which a stateless endpoint has none of) answer 405; once `deps.shutdown` aborts (the
 * gateway is stopping), held calls answer "pending" at once, so closing never waits out a hold;
 * a request whose `Origin` is not the gateway's own is refused (403) before anything else, as
 * the MCP transport spec requires against DNS rebinding
 * (https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#security-warning):
 * MCP clients that are not browsers send no `Origin`. A client cancels a call by POSTing
 * notifications/cancelled (MCP, "Cancellation"): with no session to find the call in, calls in
 * flight are kept by agent and JSON-RPC request id, so the agent's cancellation reaches its own
 * call (and only an agent's own: its key picks the agent).
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AgentConfig } from '../service/contracts.js';
import type { McpGatewayDeps } from './call-tool.js';
import { createMcpGatewayServer } from './gateway-server.js';

/** The path of the Streamable HTTP endpoint. */
export const MCP_PATH = '/mcp';
/** The request header a client may send to name the agent it means to be: a key of another agent is then refused (403). */
export const AGENT_HEADER = 'x-portcullis-agent';

const notAllowed = (reply: FastifyReply): FastifyReply => reply.status(405).header('allow', 'POST').send({
  jsonrpc: '2.0', id: null, error: { code: -32000, message: 'this endpoint is stateless: send JSON-RPC requests with POST (no GET stream, no session to DELETE)' },
});

/**
 * Whether a request's `Origin` (RFC 6454), if it has one, is the gateway's own: the same host
 * and port as its `Host` header. A page that reached the gateway through DNS rebinding sends its
 * own origin; "null" (a sandboxed or file page) is never the gateway's.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === new URL(`${url.protocol}//${host}`).host;
  } catch {
    return false;
  }
}

/**
 * Registers `/mcp` on the HTTP API. `bodyLimit` (bytes) is the wiring's room for a call's params (http/app.ts callBodyLimit). `agentOf` is the API's authentication: the calling agent,
 * or a throw (no key, or a person's token) that the API answers and audits. Call before the app is ready.
 */
export function registerMcpRoute(app: FastifyInstance, deps: Omit<McpGatewayDeps, 'gatewayUrl'> & { agentOf(request: FastifyRequest): AgentConfig; bodyLimit?: number }): void {
  /** The calls being served, by agent and request id, each with what cancels it. */
  const running = new Map<string, AbortController>();
  const keyOf = (agent: string, id: unknown): string => `${agent}\u0000${JSON.stringify(id)}`;
  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: MCP_PATH,
    ...(deps.bodyLimit === undefined ? {} : { bodyLimit: deps.bodyLimit }),
    schema: { hide: true },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      if (!sameOrigin(request.headers.origin, request.headers.host)) {
        return reply.status(403).send({
          jsonrpc: '2.0', id: null,
          error: { code: -32000, message: `refused a request from origin ${request.headers.origin}: /mcp serves MCP clients, not web pages of other sites (DNS rebinding); nothing ran` },
        });
      }
      const agent = deps.agentOf(request);
      // A client that names the agent it means to be (the stdio bridge's --agent) is refused if the key is another agent's.
      const meant = request.headers[AGENT_HEADER];
      if (typeof meant === 'string' && meant !== agent.id) {
        return reply.status(403).send({
          jsonrpc: '2.0', id: null,
          error: { code: -32000, message: `this API key belongs to agent "${agent.id}", not to "${meant}" (${AGENT_HEADER}); use the key of agent "${meant}", or name agent "${agent.id}"; nothing ran` },
        });
      }
      if (request.method !== 'POST') return notAllowed(reply);
      const { agentOf: _agentOf, bodyLimit: _bodyLimit, ...served } = deps;
      const messages = (Array.isArray(request.body) ? request.body : [request.body]) as { method?: unknown; id?: unknown; params?: { requestId?: unknown } }[];
      for (const message of messages) {
        if (message?.method === 'notifications/cancelled') running.get(keyOf(agent.id, message.params?.requestId))?.abort();
      }
      // The tools/call requests of this POST, cancellable by a later POST of the same agent.
      const mine = new Map<string, AbortController>();
      for (const message of messages) {
        if (message?.method !== 'tools/call' || message.id === undefined) continue;
        const key = keyOf(agent.id, message.id);
        const controller = new AbortController();
        running.set(key, controller);
        mine.set(key, controller);
      }
      const cancelOf = (id: unknown): AbortSignal | undefined => mine.get(keyOf(agent.id, id))?.signal;
      const server = createMcpGatewayServer({ ...served, gatewayUrl: `${request.protocol}://${request.host}`, cancelOf }, agent);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      reply.hijack();
      reply.raw.on('close', () => {
        for (const [key, controller] of mine) if (running.get(key) === controller) running.delete(key);
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(request.raw, reply.raw, request.body);
      } catch (error) {
        request.log.error({ err: error }, 'MCP request failed');
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'the gateway failed to serve this MCP request; nothing ran' } }));
        }
      }
      return reply;
    },
  });
}
