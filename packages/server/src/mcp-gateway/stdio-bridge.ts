/**
 * `portcullis mcp` as a bridge: MCP over stdio (what clients launch) carried to a running
 * gateway's Streamable HTTP endpoint (`/mcp`) with the agent's key, so that the gateway's own
 * upstream processes and store serve every call: one upstream per system, one state. Invariants:
 * the bridge holds no config secret, no store and no upstream; it forwards tools/list and
 * tools/call (their progress notifications and cancellations included) and nothing else; the
 * agent is the one the gateway finds for the key; standard output carries JSON-RPC only. When
 * it is stopped (SIGTERM), each call the gateway is holding for approval is answered "pending"
 * at once with its approval id (the same call asked again with `_meta["portcullis/wait"]: false`,
 * which attaches to the same proposal), calls not held are let finish, and then it closes.
 */
import type { Readable, Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { McpError, type CallToolRequest, type CallToolResult, type ListToolsRequest } from '@modelcontextprotocol/sdk/types.js';
import { WAIT_META_KEY } from './call-tool.js';
import { GATEWAY_INFO, LooseCallToolRequest, LooseListToolsRequest } from './gateway-server.js';
import { AGENT_HEADER, MCP_PATH } from './http-route.js';
import { ProtocolError } from './results.js';

/** The gateway's protocol error passed on as it came (the SDK's McpError would prefix its message again). */
const passOn = (error: unknown): never => {
  if (error instanceof McpError) throw new ProtocolError(error.code, error.message.replace(/^MCP error -?\d+: /, ''));
  throw error;
};

/** Where the bridge connects, and how long one call may take (the gateway's hold time and a margin, reset by progress). */
export interface BridgeTarget {
  /** The gateway's base URL, e.g. http://127.0.0.1:7300. */
  readonly url: string;
  /** The agent this process serves (--agent): sent in the `x-portcullis-agent` header, so the gateway refuses a key of another agent. */
  readonly agent?: string;
  /** The agent's API key, sent as the Bearer token. */
  readonly key: string;
  /** How long one forwarded request may take without progress, in ms. */
  readonly timeoutMs: number;
}

/**
 * Connects to the gateway's `/mcp` as the key's agent.
 * @throws Error naming the URL and the fix when the gateway cannot be reached or refuses the key.
 */
export async function connectBridge(target: BridgeTarget): Promise<Client> {
  const endpoint = new URL(MCP_PATH, target.url);
  const client = new Client({ name: 'portcullis-mcp-bridge', version: GATEWAY_INFO.version });
  try {
    const headers: Record<string, string> = { authorization: `Bearer ${target.key}`, ...(target.agent === undefined ? {} : { [AGENT_HEADER]: target.agent }) };
    await client.connect(new StreamableHTTPClientTransport(endpoint, { requestInit: { headers } }));
  } catch (error) {
    const message = (error as Error).message;
    // The gateway's 403 (its JSON body, quoted inside the SDK's message).
    const otherAgent = /this API key belongs to agent \\?"([^"\\]*)\\?", not to \\?"([^"\\]*)\\?"/.exec(message);
    if (otherAgent !== null) throw new Error(`the gateway at ${endpoint.href} refused the key: this API key belongs to agent "${otherAgent[1] ?? ''}", not to "${otherAgent[2] ?? ''}"; set PORTCULLIS_AGENT_KEY (or --key) to the API key of the agent named by --agent`);
    if (/\b401\b|UNAUTHENTICATED/.test(message)) {
      throw new Error(`the gateway at ${endpoint.href} refused the agent key (HTTP 401): set PORTCULLIS_AGENT_KEY (or --key) to the API key of the agent named by --agent`);
    }
    throw new Error(`cannot reach the gateway at ${endpoint.href}: ${message}; start it (\`portcullis start\`), name its address with --url, or run this process with --standalone (its own upstreams: see docs/mcp.md)`);
  }
  return client;
}

/** A tools/call being forwarded. */
interface Forwarded {
  /** Whether the gateway holds it for approval (it sends progress only while it holds a call). */
  held: boolean;
  /** Settles when the call's answer has been written, or it failed. */
  readonly answered: Promise<unknown>;
  /** Answers the call with the gateway's answer to the same call made without waiting, and stops forwarding the held one. */
  answerWithoutWaiting(): Promise<unknown>;
}

/** Serves stdio by forwarding to `upstream` (from connectBridge) until the client closes its end or `stop` resolves. */
export async function serveMcpBridge(upstream: Client, target: BridgeTarget, io: { stdin: Readable; stdout: Writable }, stop?: Promise<unknown>): Promise<void> {
  const instructions = upstream.getInstructions();
  const server = new Server(GATEWAY_INFO, { capabilities: { tools: {} }, ...(instructions === undefined ? {} : { instructions }) });
  const calls = new Set<Forwarded>();
  /** The answers not yet written. */
  const unanswered = new Set<Promise<unknown>>();
  let stopping = false;
  server.setRequestHandler(LooseListToolsRequest, async (request, extra) => upstream.listTools(request.params as ListToolsRequest['params'], { signal: extra.signal }).catch(passOn));
  server.setRequestHandler(LooseCallToolRequest, async (raw, extra) => {
    // Checked by the SDK's Server before this handler runs (see LooseCallToolRequest).
    const request = raw as CallToolRequest;
    const token = extra._meta?.progressToken;
    const forwarding = new AbortController();
    const cancel = (): void => forwarding.abort();
    extra.signal.addEventListener('abort', cancel);
    let answerWith = (_answer: Promise<CallToolResult>): void => undefined;
    const released = new Promise<CallToolResult>((resolve, reject) => { answerWith = (answer) => { answer.then(resolve, reject); }; });
    const held = upstream.callTool(request.params, undefined, {
      signal: forwarding.signal, timeout: target.timeoutMs, resetTimeoutOnProgress: true,
      // Always asked for: progress is how the bridge knows the gateway holds the call.
      onprogress: (progress) => {
        call.held = true;
        // Held after the stop began: answered at once too.
        if (stopping) void call.answerWithoutWaiting();
        if (token !== undefined) void extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken: token } }).catch(() => undefined);
      },
    }) as Promise<CallToolResult>;
    let releasing = false;
    const answer = Promise.race([held.catch((error: unknown) => (releasing ? released : Promise.reject(error))), released]);
    const call: Forwarded = {
      held: false,
      // Settled once the SDK has written the answer (it does so when the handler's promise settles).
      answered: answer.then(() => new Promise((resolve) => setImmediate(resolve)), () => undefined),
      answerWithoutWaiting() {
        if (releasing) return call.answered;
        releasing = true;
        const params = { ...request.params, _meta: { ...request.params._meta, [WAIT_META_KEY]: false } };
        answerWith(upstream.callTool(params, undefined, { timeout: target.timeoutMs }) as Promise<CallToolResult>);
        void released.finally(() => forwarding.abort()).catch(() => undefined);
        return call.answered;
      },
    };
    calls.add(call);
    unanswered.add(call.answered);
    void call.answered.then(() => unanswered.delete(call.answered));
    try {
      return await answer.catch(passOn);
    } finally {
      calls.delete(call);
      extra.signal.removeEventListener('abort', cancel);
    }
  });
  const closed = new Promise<void>((resolve) => { server.onclose = () => resolve(); });
  const end = (): void => { void server.close(); };
  io.stdin.once('end', end);
  io.stdin.once('close', end);
  void stop?.then(async () => {
    stopping = true;
    for (const call of calls) if (call.held) void call.answerWithoutWaiting();
    // Calls not held finish; one the gateway starts holding now is answered at once (above).
    while (unanswered.size > 0) await Promise.allSettled([...unanswered]);
    end();
  });
  await server.connect(new StdioServerTransport(io.stdin, io.stdout));
  await closed;
  io.stdin.off('end', end);
  io.stdin.off('close', end);
  await upstream.close();
}
