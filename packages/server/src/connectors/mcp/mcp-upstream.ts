/**
 * One connection to an upstream MCP server, made with the official SDK client: a process the
 * gateway launches (stdio) or a Streamable HTTP endpoint. Invariants: every request has a
 * time limit (the system's timeout); an upstream that sends malformed JSON-RPC (a line that is
 * not JSON, JSON that is not a JSON-RPC 2.0 message, a response to a request never made) is
 * treated as broken: the connection is closed, what was waiting on it fails with a message that
 * says so, and the next use connects again (a late answer to a request that timed out is not a
 * fault and is dropped); closing stops a connection still being made at once (its process is
 * sent SIGTERM, its HTTP request aborted) rather than waiting out the timeout; the upstream
 * process gets only its configured environment (over the SDK's few safe defaults such as PATH
 * and HOME), and an HTTP upstream only the
 * gateway's own credential, so an agent's key is never passed upstream. The client offers the
 * upstream no sampling, elicitation or roots: an upstream cannot reach the agent through it.
 * Every credential passed upstream (env values, the bearer token or header) is redacted from
 * everything the upstream sends back (tool listings, results, errors, its standard error)
 * before it reaches a result, an error message, the audit trail or an agent.
 */
import { PortcullisError } from '@portcullis/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolResultSchema, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { McpSystemConfig } from './mcp-settings.js';
import type { ExecutionContext } from '../connector.js';
import { createSecretRedactor } from '../../vault/redact.js';
import { resolveSystemSecret } from '../../vault/resolve-secret.js';
import type { Vault } from '../../vault/vault.js';

/** The version the gateway gives upstreams as its client version. */
const CLIENT_INFO = { name: 'portcullis-gateway', version: '0.1.0' };
/** Most pages of a tools/list answer read, so an upstream cannot keep the gateway paging forever. */
const MAX_PAGES = 50;
/** How much of an upstream process's standard error is kept for messages. */
const STDERR_TAIL = 2000;

const toolsPage = z.object({ tools: z.array(z.unknown()), nextCursor: z.string().optional() }).passthrough();

/** A connection to one upstream; it connects on first use and again after a failure. */
export interface McpUpstream {
  /** Every tool the upstream lists, unparsed (each is checked by the caller). @throws PortcullisError UPSTREAM_FAILED */
  listTools(): Promise<unknown[]>;
  /**
   * Calls a tool. @throws PortcullisError UPSTREAM_FAILED when the upstream cannot be reached
   * (nothing sent); OUTCOME_UNKNOWN when the call was sent and the upstream hangs past the
   * timeout, stops, or answers malformed JSON-RPC (the tool may have run); CALL_CANCELLED when
   * `run.signal` aborts first: the upstream is sent notifications/cancelled (the tool may have run)
   */
  callTool(name: string, args: Record<string, unknown>, run?: Pick<ExecutionContext, 'signal' | 'onProgress'>): Promise<CallToolResult>;
  /** Registers a listener for the upstream's notifications/tools/list_changed. */
  onToolsChanged(listener: () => void): void;
  /** Closes the connection; one still being made is stopped at once, and this resolves once its process has exited. */
  close(): Promise<void>;
}

/** What an upstream connection needs besides its system's config. */
export interface McpUpstreamDeps {
  /** For credentials configured as { vault: NAME }. */
  readonly vault?: Vault;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The leaf issues of a (zod) error, union branches included. */
function leafIssues(issues: unknown): { path?: unknown[] }[] {
  if (!Array.isArray(issues)) return [];
  return issues.flatMap((issue: { errors?: unknown[] }) => (Array.isArray(issue.errors) ? issue.errors.flatMap(leafIssues) : [issue as { path?: unknown[] }]));
}

/** The SDK's words for a response whose id matches no request waiting for an answer. */
const UNKNOWN_RESPONSE = /^Received a response for an unknown message ID: (.*)$/s;

/**
 * Why an error the SDK client reports means the upstream broke the protocol, in words; undefined
 * for errors that do not. `highestRequestId` is the highest id the gateway has sent a request
 * under: a response above it answers a request never made, one at or below it is a late answer
 * to a request given up on (timed out), which is not the upstream's fault.
 */
function protocolViolation(error: Error, highestRequestId: number): string | undefined {
  // Not the parser's message: it quotes the start of the line, which may be a cut credential.
  if (error instanceof SyntaxError) return 'it sent malformed JSON-RPC: a line that is not JSON';
  if (error.name === 'ZodError') {
    const jsonrpc = leafIssues((error as Error & { issues?: unknown }).issues).some((issue) => issue.path?.[0] === 'jsonrpc');
    return `it sent malformed JSON-RPC: ${jsonrpc ? 'a message whose "jsonrpc" is not "2.0"' : 'a message that is JSON but not a JSON-RPC 2.0 request, notification or response'}`;
  }
  const stray = UNKNOWN_RESPONSE.exec(error.message);
  if (stray === null) return undefined;
  let id: unknown;
  try { id = (JSON.parse(stray[1] ?? '') as { id?: unknown }).id; } catch { id = undefined; }
  if (typeof id === 'number' && Number.isInteger(id) && id <= highestRequestId) return undefined;
  return `it sent malformed JSON-RPC: a response to a request the gateway never made (id ${JSON.stringify(id ?? null)}), so its answers cannot be matched to calls`;
}

/**
 * An error's message with what caused it, when the message alone does not say: fetch's
 * "fetch failed" hides the refused connection or unknown host under `cause` (a code such as
 * ECONNREFUSED, with the address), which is the part that tells an admin what to fix.
 */
function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? error.cause : undefined;
  if (!(cause instanceof Error)) return message;
  const code = (cause as NodeJS.ErrnoException).code;
  // A connection tried on several addresses (IPv6 and IPv4) fails with one error per address.
  const each = cause instanceof AggregateError ? cause.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ') : '';
  const why = cause.message !== '' ? cause.message : each !== '' ? each : code ?? cause.name;
  const said = code === undefined || why.includes(code) ? why : `${code}: ${why}`;
  return message.includes(said) ? message : `${message}: ${said}`;
}

/** Creates the connection of an MCP system. Nothing is started until the first request. */
export function createMcpUpstream(system: McpSystemConfig, deps: McpUpstreamDeps = {}): McpUpstream {
  let connecting: Promise<Client> | undefined;
  let broken: string | undefined;
  let stderr = '';
  let active: Client | undefined;
  // Every credential passed upstream, redacted from all the upstream says (answers, tool
  // listings, errors, standard error) before it reaches an agent, a result or the audit trail.
  const secrets = createSecretRedactor();
  const secret = async (ref: Parameters<typeof resolveSystemSecret>[0]): Promise<string> => {
    const value = await resolveSystemSecret(ref, deps.vault);
    secrets.add(value);
    return value;
  };
  const listeners: (() => void)[] = [];

  async function transportOf(): Promise<Transport> {
    const t = system.transport;
    if (t.kind === 'stdio') {
      const env: Record<string, string> = {};
      for (const [name, ref] of t.env) env[name] = await secret(ref);
      const transport = new StdioClientTransport({ command: t.command, args: [...t.args], env, stderr: 'pipe', ...(t.cwd === undefined ? {} : { cwd: t.cwd }) });
      transport.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL); });
      return transport;
    }
    const headers: Record<string, string> = {};
    if (t.auth.kind === 'bearer') headers.authorization = `Bearer ${await secret(t.auth.token)}`;
    if (t.auth.kind === 'header') headers[t.auth.name] = await secret(t.auth.value);
    return new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers } });
  }

  /** The connection attempts in progress, so `close` can stop them instead of waiting out their timeout. */
  const attempts = new Set<AbortController>();

  async function connect(): Promise<Client> {
    const attempt = new AbortController();
    attempts.add(attempt);
    try {
      return await connectUnless(attempt.signal);
    } finally {
      attempts.delete(attempt);
    }
  }

  /** Connects, unless `closed` is aborted first: then the process is ended or the request given up at once. */
  async function connectUnless(closed: AbortSignal): Promise<Client> {
    broken = undefined;
    stderr = '';
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    const transport = await transportOf();
    if (closed.aborted) throw closedWhileConnecting();
    // The SDK numbers requests 0, 1, 2…; remembering the highest sent tells a response to a
    // request never made from a late one to a request that timed out.
    let highestRequestId = -1;
    const send = transport.send.bind(transport);
    transport.send = async (message, options) => {
      if ('method' in message && 'id' in message && typeof message.id === 'number') highestRequestId = Math.max(highestRequestId, message.id);
      return send(message, options);
    };
    client.onerror = (error) => {
      // Not JSON-RPC, or an answer to nothing: nothing that upstream says can be trusted any more.
      const violation = protocolViolation(error, highestRequestId);
      if (violation !== undefined) {
        broken ??= violation;
        void client.close().catch(() => undefined);
      }
    };
    // A closed connection (the process exited, the server went away) is made again on next use.
    client.onclose = () => { if (active === client) { active = undefined; connecting = undefined; } };
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => { for (const listener of listeners) listener(); });
    // The SDK's own close first ends the process's input and waits (seconds) for it to exit, which
    // an upstream stuck at start may never notice: it is sent SIGTERM at once (the SDK still
    // escalates to SIGKILL), and an HTTP request in flight is aborted. The initialize request then
    // fails as the connection closes, so the attempt ends only once the process has exited.
    const stop = (): void => {
      const pid = transport instanceof StdioClientTransport ? transport.pid : null;
      if (pid !== null) {
        try { process.kill(pid, 'SIGTERM'); } catch { /* it has exited already */ }
      }
      void transport.close().catch(() => undefined);
    };
    closed.addEventListener('abort', stop, { once: true });
    try {
      await client.connect(transport, { timeout: system.timeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw closed.aborted ? closedWhileConnecting() : failure(error, 'connecting');
    } finally {
      closed.removeEventListener('abort', stop);
    }
    if (closed.aborted) {
      await client.close().catch(() => undefined);
      throw closedWhileConnecting();
    }
    active = client;
    return client;
  }

  const cancelled = (tool: string): PortcullisError => new PortcullisError('CALL_CANCELLED', `the agent cancelled its call to tool "${tool}" of MCP system "${system.name}"; the upstream was told to stop (notifications/cancelled)`, { system: system.name });
  const closedWhileConnecting = (): PortcullisError => new PortcullisError('UPSTREAM_FAILED', `MCP system "${system.name}" failed while connecting: the gateway closed the connection before the upstream answered`, { system: system.name });

  function ensure(): Promise<Client> {
    connecting ??= connect().catch((error: unknown) => { connecting = undefined; throw error; });
    return connecting;
  }

  /**
   * An upstream failure as UPSTREAM_FAILED, saying what happened in words; with `sent`, a
   * failure after the request went out (no answer in time, the connection lost, a malformed
   * answer) is OUTCOME_UNKNOWN: the tool may have run.
   */
  function failure(error: unknown, doing: string, sent = false): PortcullisError {
    if (error instanceof PortcullisError) return error;
    const message = messageOf(error);
    let why: string;
    if (broken !== undefined) why = broken;
    else if (/timed out|timeout/i.test(message)) why = `it did not answer within ${system.timeoutMs / 1000}s (${message})`;
    else if (/closed|EPIPE|ECONNRESET|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|exited|ENOENT|spawn|fetch failed/i.test(message)) why = `it stopped or could not be reached (${message})`;
    else why = message;
    // Redacted before the tail is cut, so a credential cut in two cannot survive as a fragment.
    const said = secrets.redact(stderr).trim();
    const tail = said === '' ? '' : `; its last output on stderr: ${said.slice(-300)}`;
    if (sent && !/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ENOENT|spawn/i.test(message)) {
      return new PortcullisError('OUTCOME_UNKNOWN', secrets.redact(`MCP system "${system.name}" failed while ${doing}: ${why}${tail}; the call was sent, so whether the tool took effect is unknown`), { system: system.name });
    }
    return new PortcullisError('UPSTREAM_FAILED', secrets.redact(`MCP system "${system.name}" failed while ${doing}: ${why}${tail}`), { system: system.name });
  }

  /**
   * Whether an HTTP upstream answered that the connection's session is gone: a 404 to a request
   * carrying its Mcp-Session-Id (the MCP Streamable HTTP transport, "Session Management": the
   * client MUST then start a new session), or the 400 "no valid session ID" that some servers
   * send instead (an upstream restarted). Either way it refused the request before running it.
   */
  function sessionGone(error: unknown, client: Client): boolean {
    if (!(error instanceof StreamableHTTPError)) return false;
    const transport = client.transport;
    if (!(transport instanceof StreamableHTTPClientTransport) || transport.sessionId === undefined) return false;
    return error.code === 404 || (error.code === 400 && /session/i.test(error.message));
  }

  async function withClient<T>(doing: string, use: (client: Client) => Promise<T>, sent = false): Promise<T> {
    let client = await ensure();
    try {
      return await use(client);
    } catch (error) {
      if (!sessionGone(error, client)) return failed(error, client, doing, sent);
    }
    // The upstream ended the session (it restarted): a new session, and the request sent once
    // more on it, since the old session's refusal ran nothing.
    await drop(client);
    client = await ensure();
    try {
      return await use(client);
    } catch (error) {
      return failed(error, client, doing, sent);
    }
  }

  /** Throws an upstream failure in words, dropping a connection that broke so the next use connects again. */
  async function failed(error: unknown, client: Client, doing: string, sent: boolean): Promise<never> {
    const failed = failure(error, doing, sent);
    if (broken !== undefined || /closed/i.test((error as Error).message ?? '') || sessionGone(error, client)) await drop(client);
    throw failed;
  }

  /** Closes a connection; if it is the current one, the next use connects again (a newer one being made is left alone). */
  async function drop(client: Client): Promise<void> {
    if (active === client) { active = undefined; connecting = undefined; }
    await client.close().catch(() => undefined);
  }

  return {
    async listTools() {
      return withClient('listing its tools', async (client) => {
        const tools: unknown[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < MAX_PAGES; page += 1) {
          const answer = await client.request({ method: 'tools/list', params: cursor === undefined ? {} : { cursor } }, toolsPage, { timeout: system.timeoutMs });
          tools.push(...secrets.redactJson(answer.tools));
          cursor = answer.nextCursor;
          if (cursor === undefined) return tools;
        }
        throw new Error(`it answered more than ${MAX_PAGES} pages of tools`);
      });
    },
    async callTool(name, args, run = {}) {
      const { signal, onProgress } = run;
      return withClient(`calling tool "${name}"`, async (client) => {
        // Asked for progress only when someone waits for it; the SDK then sends a progressToken,
        // and each notification restarts the timeout (a long call that reports progress is alive).
        const progress = onProgress === undefined ? {} : {
          onprogress: (p: { progress: number; total?: number; message?: string }) => onProgress({ progress: p.progress, ...(p.total === undefined ? {} : { total: p.total }), ...(p.message === undefined ? {} : { message: secrets.redact(p.message) }) }),
          resetTimeoutOnProgress: true,
        };
        try {
          const result = await client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema, { timeout: system.timeoutMs, ...(signal === undefined ? {} : { signal }), ...progress });
          return isRecord(result) ? secrets.redactJson(result as CallToolResult) : { content: [] };
        } catch (error) {
          // The SDK sent the upstream notifications/cancelled when the signal aborted.
          if (signal?.aborted === true) throw cancelled(name);
          throw error;
        }
      }, true);
    },
    onToolsChanged(listener) {
      listeners.push(listener);
    },
    async close() {
      const pending = connecting;
      connecting = undefined;
      active = undefined;
      // A connection still being made is stopped now, not waited for until its timeout.
      for (const attempt of attempts) attempt.abort();
      if (pending === undefined) return;
      const client = await pending.catch(() => undefined);
      await client?.close().catch(() => undefined);
    },
  };
}

/** Describes where an upstream is, for messages: never a credential. */
export function describeUpstream(system: McpSystemConfig): string {
  return system.transport.kind === 'stdio' ? `${system.transport.command} ${system.transport.args.join(' ')}`.trim() : system.transport.url;
}
