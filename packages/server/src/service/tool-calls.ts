/**
 * An agent's tool calls (the MCP face), through the rules: every call is a proposal made with
 * `propose` (so grants, risk, modes, bounds and the audit trail hold as on the HTTP API).
 * Invariants: a call is keyed by the agent and the core's proposal digest of its workflow,
 * action and canonical arguments, plus a generation, so a retry of a call whose outcome the
 * agent has not yet been given attaches to the same proposal (it runs at most once) while the
 * same call made after its outcome was delivered is a new proposal — except a call whose
 * delivered outcome was a rejection, which is answered that rejection again for
 * `limits.rejectionCooldown` after it; a granted tool the gateway
 * does not offer (its upstream failed at start, its schema is invalid, an override would lower
 * its risk) is refused saying why, and audited with that reason.
 */
import { PortcullisError, proposalDigest } from '@portcullis/core';
import type { AgentConfig } from '../config/compiled.js';
import type { ProposalRecord } from '../store/store.js';
import { agentTools, QUALIFIED_SEPARATOR, type AgentTool } from './agent-tools.js';
import type { ServiceDeps } from './deps.js';
import { propose } from './propose.js';
import { auditRefusal } from './refusals.js';
import type { ExecutionRun } from './execute.js';

/** How old a system's action listing may be when an agent lists tools, so a changed tool is noticed. */
const RELIST_AFTER_MS = 2000;

/** What a tool call became: a proposal (with the key to mark its outcome delivered), or a refusal. */
export type ToolCallOutcome =
  | { readonly kind: 'proposed'; readonly proposal: ProposalRecord; readonly call: ToolCallKey }
  | { readonly kind: 'refused'; readonly error: unknown; readonly hint?: string };

/** Identifies one generation of an agent's identical calls. */
export interface ToolCallKey {
  readonly agent: string;
  readonly call: string;
  readonly generation: number;
}

/** The tools `agent` may call now: granted and not blocked (each system's listing refreshed if stale). */
export async function listTools(deps: ServiceDeps, agent: AgentConfig): Promise<AgentTool[]> {
  const index = agentTools(deps.config, agent);
  // Refresh the systems whose actions are listed online, so a changed tool is noticed.
  const systems = new Set(index.granted.map((t) => t.action.system));
  await Promise.all([...systems].map((system) => deps.connectors.get(system)?.refresh?.(RELIST_AFTER_MS)));
  const tools: AgentTool[] = [];
  for (const tool of index.granted) {
    const connector = deps.connectors.get(tool.action.system);
    if (connector === undefined || (await connector.blocked?.(tool.action.spec)) !== undefined) continue;
    tools.push(tool);
  }
  return tools;
}

/**
 * Why a name the agent called, which names no offered tool, is a tool its workflows grant that
 * the gateway does not offer (`<tool>` or `<system>__<tool>`); undefined when it is not one.
 */
function notOfferedGrant(deps: ServiceDeps, agent: AgentConfig, name: string): string | undefined {
  for (const workflow of deps.config.workflows.values()) {
    if (workflow.agent !== agent.id) continue;
    for (const system of workflow.systems) {
      const connector = deps.connectors.get(system);
      if (connector?.whyNotOffered === undefined) continue;
      const tool = name.startsWith(`${system}${QUALIFIED_SEPARATOR}`) ? name.slice(system.length + QUALIFIED_SEPARATOR.length) : name;
      if (![...workflow.grants.keys()].some((key) => key.startsWith(`${system}:${tool}:`))) continue;
      const why = connector.whyNotOffered(tool);
      if (why !== undefined) return why;
    }
  }
  return undefined;
}

/** Makes one tools/call of `agent` a proposal (run at once when policy allows), or refuses it (audited). Never throws for a call's outcome. */
export async function callTool(deps: ServiceDeps, agent: AgentConfig, name: string, args: Record<string, unknown> | undefined, run?: ExecutionRun): Promise<ToolCallOutcome> {
  const actor = { kind: 'agent', id: agent.id } as const;
  const tool = agentTools(deps.config, agent).resolve(name);
  const params = args ?? {};
  const shown = name.slice(0, 100);
  if (tool === undefined) {
    // A granted tool the gateway cannot offer now is named with why; any other name gets the
    // same answer whether or not some tool has it, so the answer tells of no tool outside the grants.
    const notOffered = notOfferedGrant(deps, agent, name);
    const error = notOffered === undefined
      ? new PortcullisError('ACTION_NOT_FOUND', `unknown tool "${shown}": call only the tools that tools/list shows`)
      : new PortcullisError('ACTION_NOT_FOUND', `tool "${shown}" is granted but not offered: ${notOffered}`);
    await auditRefusal(deps, actor, error, { action: name, route: 'mcp tools/call' });
    return { kind: 'refused', error };
  }
  const { workflow } = tool;
  const action = tool.action.name;
  const call = proposalDigest({ workflow, action, params });
  const generation = await deps.store.getCallGeneration(agent.id, call);
  // A rejection already answered is answered again, with its reason, for the cool-down: a
  // looping agent cannot put the same call before the approvers again at once.
  if (generation > 0) {
    const previous = await deps.store.findProposalByIdempotencyKey(agent.id, `mcp:${call}:${generation - 1}`);
    if (previous?.status === 'rejected' && deps.clock.now() - previous.updatedAt < deps.config.limits.rejectionCooldownMs) {
      return { kind: 'proposed', proposal: previous, call: { agent: agent.id, call, generation: generation - 1 } };
    }
  }
  try {
    // A call run at once advances its generation in its outcome's commit (one fsync fewer per call).
    const proposal = await propose(deps, agent, { workflow, action, params }, { idempotencyKey: `mcp:${call}:${generation}`, advanceCall: { call, from: generation }, ...(run === undefined ? {} : { run }) });
    return { kind: 'proposed', proposal, call: { agent: agent.id, call, generation } };
  } catch (error) {
    return { kind: 'refused', error };
  }
}

/**
 * Records that the outcome of a call is being delivered to the agent: the same call made again
 * from now on is a new proposal. (Already done in the outcome's commit when the call ran at once.)
 */
export async function markToolCallDelivered(deps: ServiceDeps, key: ToolCallKey): Promise<void> {
  if (await deps.store.getCallGeneration(key.agent, key.call) === key.generation) await deps.store.advanceCallGeneration(key.agent, key.call, key.generation);
}
