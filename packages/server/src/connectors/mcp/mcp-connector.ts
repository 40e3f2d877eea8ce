/**
 * The MCP connector: runs an upstream MCP server's tools as actions, and owns tool pinning.
 * Invariants: a tool is run only while its current definition (as last listed) is the one the
 * gateway loaded at start and, when the system has pins, the one an admin pinned; otherwise it
 * is blocked, with a reason, until it is pinned again (and the gateway restarted, if it
 * changed since start); a tool the upstream reports failing (`isError`) is a failed execution;
 * an upstream that fails, hangs or answers malformed JSON-RPC fails the call, never the gateway;
 * an upstream whose tools cannot be listed again after start (it crashed while re-listing them
 * after a tools/list_changed) is reported once, and none of its tools is run (or offered) until
 * a listing succeeds again, as the last good listing no longer says what it serves.
 */
import { PortcullisError, isPortcullisError, type JsonValue } from '@portcullis/core';
import type { McpSystemConfig } from './mcp-settings.js';
import type { Connector } from '../connector.js';
import type { ActionSpec } from '../../config/action-spec.js';
import { isMcpSpec, parseToolDefinition, toolActionSpec, toolDigest, type McpActionSpec, type McpToolDefinition } from './mcp-tools.js';
import { createMcpUpstream, describeUpstream, type McpUpstream, type McpUpstreamDeps } from './mcp-upstream.js';
import { compensatingCall, type McpCompensation } from './mcp-compensation.js';
import { holdSchemaWorkers } from './schema-workers.js';

/** What the connector reports for the audit trail (the runtime records it). */
export type McpConnectorEvent =
  | { readonly kind: 'tool_blocked'; readonly system: string; readonly tool: string; readonly reason: string; readonly digest?: string }
  /** Listing the tools again after start failed; reported once until a listing succeeds. */
  | { readonly kind: 'upstream_failed'; readonly system: string; readonly error: string };

/** The result of listing an upstream's tools. */
export type McpDiscovery =
  | { readonly ok: true; readonly specs: readonly McpActionSpec[]; readonly rejected: readonly { readonly tool: string; readonly problem: string }[] }
  | { readonly ok: false; readonly error: string };

/** What the MCP connector needs besides its system's config. */
export interface McpConnectorDeps extends McpUpstreamDeps {
  /** The pinned digests of the system's tools, by tool name (empty: not pinned). */
  readonly pins?: () => Promise<ReadonlyMap<string, string>>;
  /** Told of blocked tools and failed listings after start, for the audit trail. */
  readonly onEvent?: (event: McpConnectorEvent) => void;
  /** Replaces the SDK connection (tests). */
  readonly upstream?: McpUpstream;
  /** The largest result kept, in UTF-8 bytes of its JSON (default 1 MiB): a larger one is replaced by a marker (limitResult). */
  readonly maxResultBytes?: number;
}

/** The default of `limits.resultBytes`. */
const DEFAULT_MAX_RESULT_BYTES = 1_048_576;

/**
 * An upstream tool's result as kept and returned: itself when its JSON is at most `limit`
 * UTF-8 bytes; else a text result that starts with `RESULT TRUNCATED` and says the tool ran, its
 * size and the limit, followed by the start of its text (about half the limit), so the
 * proposal's stored result and the agent's answer stay within the limit.
 */
export function limitResult(result: JsonValue, limit: number, where: string): JsonValue {
  const size = Buffer.byteLength(JSON.stringify(result), 'utf8');
  if (size <= limit) return result;
  const marker = `RESULT TRUNCATED by Portcullis: ${where} ran and answered ${size} bytes, more than the ${limit} bytes kept (limits.resultBytes); ask for less (a page, a filter), or ask the gateway's operator to raise limits.resultBytes. The start of its text follows.\n`;
  let kept = textOf(result as { content?: unknown });
  // Cut by characters, then by bytes: the marker and the kept text fit in the limit.
  const room = Math.max(0, Math.floor(limit / 2) - Buffer.byteLength(marker, 'utf8'));
  kept = kept.slice(0, room);
  while (Buffer.byteLength(kept, 'utf8') > room) kept = kept.slice(0, Math.floor(kept.length * 0.9));
  return { content: [{ type: 'text', text: `${marker}${kept}` }] };
}

/** The connector of an MCP system, with what only MCP systems have. */
export interface McpConnector extends Connector {
  readonly kind: 'mcp';
  /** Lists the upstream's tools now (connecting if needed), as action specs and refused tools. Never throws. */
  discover(): Promise<McpDiscovery>;
  /** Lists the tools again if the last listing (or attempt) is older than `maxAgeMs`, so changes are seen. Never throws. */
  refresh(maxAgeMs: number): Promise<void>;
  /** Tools that were listed but are not offered, with why (an invalid input schema…). */
  rejected(): ReadonlyMap<string, string>;
  /** The tool definitions as last listed, with their digests (for `portcullis mcp pin`). */
  current(): ReadonlyMap<string, { readonly tool: McpToolDefinition; readonly digest: string }>;
  blocked(spec: ActionSpec): Promise<string | undefined>;
}

/** Whether a connector is an MCP connector. */
export function isMcpConnector(connector: Connector | undefined): connector is McpConnector {
  return (connector as Partial<McpConnector> | undefined)?.kind === 'mcp';
}

/** How long after a failed listing a call of one of the system's tools tries listing again. */
const RELIST_FAILED_AFTER_MS = 2000;

const textOf = (result: { content?: unknown }): string => (Array.isArray(result.content) ? result.content : [])
  .map((c: { type?: string; text?: string }) => (c.type === 'text' ? c.text ?? '' : `[${c.type ?? 'content'}]`)).join(' ').trim();

/** Creates the connector of an MCP system. Nothing is started until `discover` or the first call. */
export function createMcpConnector(system: McpSystemConfig, deps: McpConnectorDeps = {}): McpConnector {
  const upstream = deps.upstream ?? createMcpUpstream(system, deps);
  // Its tools' arguments may be checked in the schema workers: they stop when the last connector closes.
  const schemaWorkers = holdSchemaWorkers();
  let current = new Map<string, { tool: McpToolDefinition; digest: string }>();
  let rejected = new Map<string, string>();
  let listedAt = 0;
  /** When the last listing ended, whether it succeeded or not. */
  let triedAt = 0;
  /** Why the tools are not run: listing them again after start failed (cleared by a listing that succeeds). */
  let unavailable: string | undefined;
  let listing: Promise<McpDiscovery> | undefined;
  const reported = new Set<string>();

  upstream.onToolsChanged(() => { void list(); });

  async function list(): Promise<McpDiscovery> {
    listing ??= (async (): Promise<McpDiscovery> => {
      try {
        const raw = await upstream.listTools();
        const next = new Map<string, { tool: McpToolDefinition; digest: string }>();
        const refused = new Map<string, string>();
        const specs: McpActionSpec[] = [];
        const parsedTools: McpToolDefinition[] = [];
        for (const entry of raw) {
          const parsed = parseToolDefinition(entry);
          if (parsed.ok) parsedTools.push(parsed.tool);
          else refused.set(String((entry as { name?: unknown } | null)?.name ?? '?'), parsed.problem);
        }
        const count = new Map<string, number>();
        for (const tool of parsedTools) count.set(tool.name, (count.get(tool.name) ?? 0) + 1);
        for (const tool of parsedTools) {
          if ((count.get(tool.name) ?? 0) > 1) { refused.set(tool.name, `tool "${tool.name}" is listed more than once; none of them is offered`); continue; }
          next.set(tool.name, { tool, digest: toolDigest(tool) });
          const built = toolActionSpec(system.name, tool);
          if (built.ok) specs.push(built.spec);
          else refused.set(tool.name, built.problem);
        }
        current = next;
        rejected = refused;
        listedAt = Date.now();
        unavailable = undefined;
        return { ok: true, specs, rejected: [...refused].map(([tool, problem]) => ({ tool, problem })) };
      } catch (error) {
        const message = (error as Error).message;
        // At start the catalog reports it; after start the last listing is no longer what the upstream serves.
        if (listedAt > 0) {
          if (unavailable === undefined) deps.onEvent?.({ kind: 'upstream_failed', system: system.name, error: message });
          unavailable = message;
        }
        return { ok: false, error: message };
      } finally {
        triedAt = Date.now();
        listing = undefined;
      }
    })();
    return listing;
  }

  async function blockedReason(spec: McpActionSpec): Promise<string | undefined> {
    if (unavailable !== undefined && Date.now() - triedAt >= RELIST_FAILED_AFTER_MS) await list();
    if (unavailable !== undefined) {
      return `${unavailable}; the tools of MCP system "${system.name}" are not run until it lists them again (the gateway tries again when they are listed or called)`;
    }
    const tool = spec.resource;
    const now = current.get(tool);
    const pins = (await deps.pins?.()) ?? new Map<string, string>();
    const fix = `an admin must review it and run \`portcullis mcp pin --system ${system.name}\` to accept it`;
    let reason: string | undefined;
    if (now === undefined) reason = `tool "${tool}" of MCP system "${system.name}" is no longer offered by its upstream`;
    else if (pins.size > 0 && !pins.has(tool)) reason = `tool "${tool}" of MCP system "${system.name}" has not been pinned (the system's other tools are); ${fix}`;
    else if (pins.size > 0 && pins.get(tool) !== now.digest) reason = `tool "${tool}" of MCP system "${system.name}" changed since it was pinned: its name, description, input schema or annotations differ (digest ${now.digest.slice(0, 12)}…, pinned ${pins.get(tool)?.slice(0, 12)}…); ${fix}`;
    else if (now.digest !== spec.mcp.digest) reason = `tool "${tool}" of MCP system "${system.name}" changed since the gateway started (digest ${now.digest.slice(0, 12)}…, loaded ${spec.mcp.digest.slice(0, 12)}…); ${fix}, then restart the gateway`;
    if (reason !== undefined) {
      const key = `${tool}:${now?.digest ?? 'gone'}`;
      if (!reported.has(key)) {
        reported.add(key);
        deps.onEvent?.({ kind: 'tool_blocked', system: system.name, tool, reason, ...(now === undefined ? {} : { digest: now.digest }) });
      }
    }
    return reason;
  }

  /** The compensating tool the config declares for a tool, if any. */
  const compensationOf = (tool: string): McpCompensation | undefined => {
    const undo = system.overrides.get(tool)?.undo;
    return undo !== undefined && 'tool' in undo ? undo : undefined;
  };

  const mcpSpec = (spec: ActionSpec): McpActionSpec => {
    if (!isMcpSpec(spec) || spec.system !== system.name) throw new PortcullisError('INTERNAL', `action "${spec.name}" is not a tool of MCP system "${system.name}"`);
    return spec;
  };

  return {
    kind: 'mcp',
    system: system.name,
    discover: list,
    async refresh(maxAgeMs) {
      if (Date.now() - triedAt >= maxAgeMs) await list();
    },
    rejected: () => rejected,
    current: () => current,
    blocked: (spec) => blockedReason(mcpSpec(spec)),
    async execute(spec, params, context) {
      const tool = mcpSpec(spec);
      const reason = await blockedReason(tool);
      if (reason !== undefined) throw new PortcullisError('UPSTREAM_FAILED', `${reason}; the tool was not called`, { system: system.name });
      let result: Awaited<ReturnType<McpUpstream['callTool']>>;
      try {
        result = await upstream.callTool(tool.resource, (params ?? {}) as Record<string, unknown>, { ...(context.signal === undefined ? {} : { signal: context.signal }), ...(context.onProgress === undefined ? {} : { onProgress: context.onProgress }) });
      } catch (error) {
        // A read the agent cancelled changed nothing; a write it cancelled after sending may have run.
        if (isPortcullisError(error, 'CALL_CANCELLED') && tool.verb !== 'read') {
          throw new PortcullisError('OUTCOME_UNKNOWN', `${error.message} after the call was sent; whether the tool took effect is unknown`, { system: system.name });
        }
        throw error;
      }
      if (result.isError === true) {
        throw new PortcullisError('UPSTREAM_FAILED', `tool "${tool.resource}" of MCP system "${system.name}" reported an error: ${textOf(result).slice(0, 2000) || '(no text)'}`, { system: system.name });
      }
      const recorded = JSON.parse(JSON.stringify(result)) as JsonValue;
      const compensation = compensationOf(tool.resource);
      const kept = limitResult(recorded, deps.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES, `tool "${tool.resource}" of MCP system "${system.name}"`);
      // The compensating call is derived from the whole result, even when the agent is given it truncated.
      return { result: kept, ...(compensation === undefined || tool.verb === 'read' ? {} : { undo: compensatingCall(compensation, params, recorded) }) };
    },
    async rollback(spec, _params, undo) {
      const tool = mcpSpec(spec);
      const u = undo as { kind?: unknown; tool?: unknown; args?: unknown; problem?: unknown } | null;
      if (u === null || typeof u !== 'object' || u.kind !== 'mcp.compensate' || typeof u.tool !== 'string') {
        throw new PortcullisError('NOT_REVERSIBLE', `tool "${tool.resource}" of MCP system "${system.name}" recorded no compensating call when it ran (declare one with actions.${spec.name}.undo: { tool, args }); nothing was changed`);
      }
      if (typeof u.problem === 'string') throw new PortcullisError('NOT_REVERSIBLE', `${u.problem}; nothing was changed`);
      // The compensating tool runs under the same rules as any tool: listed now, and pinned when the system has pins.
      const compensating = current.get(u.tool);
      const pins = (await deps.pins?.()) ?? new Map<string, string>();
      const blocked = unavailable !== undefined ? unavailable
        : compensating === undefined ? `the compensating tool "${u.tool}" is not offered by MCP system "${system.name}" now`
          : pins.size > 0 && pins.get(u.tool) !== compensating.digest ? `the compensating tool "${u.tool}" of MCP system "${system.name}" is not pinned as it is now; an admin must review it and run \`portcullis mcp pin --system ${system.name}\`` : undefined;
      if (blocked !== undefined) throw new PortcullisError('UPSTREAM_FAILED', `${blocked}; it was not called`, { system: system.name });
      const args = (u.args ?? {}) as Record<string, unknown>;
      const result = await upstream.callTool(u.tool, args);
      if (result.isError === true) {
        throw new PortcullisError('UPSTREAM_FAILED', `the compensating tool "${u.tool}" of MCP system "${system.name}" reported an error: ${textOf(result).slice(0, 2000) || '(no text)'}`, { system: system.name });
      }
      return { undone: [`${u.tool} ${JSON.stringify(args)}`], drifted: [] };
    },
    async precheck() {
      return [];
    },
    async check() {
      const listed = await list();
      if (!listed.ok) return { ok: false, error: listed.error };
      const refused = listed.rejected.length === 0 ? '' : `; ${listed.rejected.length} not offered (${listed.rejected.map((r) => r.tool).join(', ')})`;
      return { ok: true, detail: `${describeUpstream(system)} lists ${listed.specs.length} usable tool(s)${refused}` };
    },
    async close() {
      try {
        await upstream.close();
      } finally {
        await schemaWorkers.release();
      }
    },
  };
}
