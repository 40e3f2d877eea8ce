/**
 * One `tools/call` of an agent, through the rules: every call is a proposal made with
 * `service.propose` (so grants, risk, modes, bounds and the audit trail hold as on the HTTP
 * API). Invariants: a call is keyed by the agent, the workflow, the tool and its canonical
 * arguments plus a generation, so a retry of a call whose outcome the agent has not yet been
 * given attaches to the same proposal (it runs at most once) while the same call made after
 * its outcome was delivered is a new proposal; a call that needs approval is held at most the
 * hold time, with progress notifications when the client asked for them, then answered
 * "pending"; approval never comes through the agent's own client (no elicitation); a granted
 * tool the gateway does not offer (its upstream failed at start, its schema is invalid, an
 * override would lower its risk) is refused saying why, and audited with that reason.
 */
import { PortcullisError, canonicalJson, sha256Hex, type JsonValue } from '@portcullis/core';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { AgentConfig, CompiledConfig } from '../config/compiled.js';
import type { Connector } from '../connectors/connector.js';
import { isMcpConnector } from '../connectors/mcp/mcp-connector.js';
import { whyNotOffered } from '../connectors/mcp/mcp-catalog.js';
import type { GatewayService } from '../service/gateway-service.js';
import type { ProposalRecord } from '../store/store.js';
import { QUALIFIED_SEPARATOR, agentTools } from './agent-tools.js';
import { failureAnswer, isSettled, outcomeResult, pendingResult } from './results.js';

/** How the MCP gateway serves calls. */
export interface McpGatewayDeps {
  readonly service: GatewayService;
  /** How long a call that needs approval is held before it is answered "pending" (default the config's `mcp.holdTime`). */
  readonly holdMs?: number;
  /** How often a held call sends a progress notification (default 5 s). */
  readonly progressEveryMs?: number;
  /** The gateway's HTTP address people approve at, for the pending answer. */
  readonly gatewayUrl: string;
}

export type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The key of a call: the same for every identical call of an agent in a workflow. */
export function callDigest(workflow: string, action: string, params: unknown): string {
  return sha256Hex(canonicalJson({ workflow, action, params: params as JsonValue }));
}

/**
 * Why a name the agent called, which names no offered tool, is a tool its workflows grant that
 * the gateway does not offer (`<tool>` or `<system>__<tool>`); undefined when it is not one.
 */
function notOfferedGrant(config: CompiledConfig, connectors: ReadonlyMap<string, Connector>, agent: AgentConfig, name: string): string | undefined {
  for (const workflow of config.workflows.values()) {
    if (workflow.agent !== agent.id) continue;
    for (const system of workflow.systems) {
      const connector = connectors.get(system);
      if (!isMcpConnector(connector)) continue;
      const tool = name.startsWith(`${system}${QUALIFIED_SEPARATOR}`) ? name.slice(system.length + QUALIFIED_SEPARATOR.length) : name;
      if (![...workflow.grants.keys()].some((key) => key.startsWith(`${system}:${tool}:`))) continue;
      const why = whyNotOffered(connector, tool);
      if (why !== undefined) return why;
    }
  }
  return undefined;
}

/** Waits for a proposal to settle, at most until `deadline`, telling the client it is waiting. */
async function hold(deps: McpGatewayDeps, proposal: ProposalRecord, extra: CallExtra, deadline: number): Promise<ProposalRecord> {
  const token = extra._meta?.progressToken;
  const every = deps.progressEveryMs ?? 5000;
  const started = Date.now();
  let current = proposal;
  let progress = 0;
  while (!isSettled(current) && !extra.signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (token !== undefined) {
      progress += 1;
      const waited = Math.round((Date.now() - started) / 1000);
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, message: `proposal ${current.id} is ${current.status.replace('_', ' ')} (waited ${waited}s); a person decides through Portcullis` },
      }).catch(() => undefined);
    }
    current = await deps.service.waitForChange(current.id, current.status, Math.min(left, every));
  }
  return current;
}

/** Handles one tools/call of `agent`. Never throws for a call's outcome; throws McpError for protocol errors (failureAnswer). */
export async function callTool(deps: McpGatewayDeps, agent: AgentConfig, name: string, args: Record<string, unknown> | undefined, extra: CallExtra): Promise<CallToolResult> {
  const { service } = deps;
  const { config, store, connectors } = service.deps;
  const deadline = Date.now() + (deps.holdMs ?? config.mcp.holdMs);
  const target = agentTools(config, agent).resolve(name);
  const action = target.action?.name ?? name;
  const params = args ?? {};
  if (target.workflow === undefined) {
    await store.appendAudit([{ type: 'request.invalid', at: service.deps.clock.now(), actor: { kind: 'agent', id: agent.id }, data: { code: 'WORKFLOW_NOT_FOUND', message: `agent "${agent.id}" takes part in no workflow`, action: action.slice(0, 200) } }]);
    return failureAnswer(new PortcullisError('FORBIDDEN', `agent "${agent.id}" takes part in no workflow, so it may call no tool`));
  }
  const notOffered = target.action === undefined ? notOfferedGrant(config, connectors, agent, name) : undefined;
  if (notOffered !== undefined) {
    await store.appendAudit([{ type: 'request.invalid', at: service.deps.clock.now(), actor: { kind: 'agent', id: agent.id }, workflow: target.workflow, data: { code: 'ACTION_NOT_FOUND', message: notOffered, action: action.slice(0, 200) } }]);
    return failureAnswer(new PortcullisError('ACTION_NOT_FOUND', `tool "${name}" is granted but not offered: ${notOffered}`));
  }
  const call = callDigest(target.workflow, action, params);
  const generation = await store.getCallGeneration(agent.id, call);
  let proposal: ProposalRecord;
  try {
    // A call run at once advances its generation in its outcome's commit (one fsync fewer per call).
    proposal = await service.propose(agent, { workflow: target.workflow, action, params }, { idempotencyKey: `mcp:${call}:${generation}`, advanceCall: { call, from: generation } });
  } catch (error) {
    // Why a listed-but-refused tool is not offered, so the agent is told more than "unknown".
    const refused = [...connectors.values()].flatMap((c) => (isMcpConnector(c) ? [c.rejected().get(name)] : [])).find((p) => p !== undefined);
    return failureAnswer(error, refused);
  }
  proposal = await hold(deps, proposal, extra, deadline);
  if (!isSettled(proposal)) return pendingResult(config, proposal, deps.gatewayUrl);
  // The outcome is being delivered: the same call made again from now on is a new proposal.
  // (Already done in the outcome's transaction when the call ran at once.)
  if (await store.getCallGeneration(agent.id, call) === generation) await store.advanceCallGeneration(agent.id, call, generation);
  return outcomeResult(proposal);
}
