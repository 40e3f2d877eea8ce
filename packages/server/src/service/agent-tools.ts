/**
 * Which actions an agent is offered as MCP tools, under which names, and in which workflow
 * each call is proposed. Invariants: an agent sees only tools a workflow of its own grants (a
 * whole-tool grant with the tool's verb); a tool granted by several of its workflows is
 * proposed in the first of them in config order; a tool keeps its name unless two systems the
 * agent is granted offer the same name, and then both are shown as `<system>__<tool>`.
 */
import { grantKey } from '@portcullis/core';
import type { ToolDescription } from '../config/action-spec.js';
import type { AgentConfig, CompiledAction, CompiledConfig, CompiledWorkflow } from '../config/compiled.js';

/** A tool an agent is granted, as it is shown to the agent. */
export interface AgentTool {
  /** The name the agent calls it by. */
  readonly name: string;
  readonly action: CompiledAction;
  /** How the action describes itself as a tool. */
  readonly tool: ToolDescription;
  /** The workflow its calls are proposed in. */
  readonly workflow: string;
}

/** What a name an agent called resolves to. */
export interface ResolvedCall {
  /** The granted tool, when the name is one. */
  readonly tool?: AgentTool;
  /** The action the name means (granted or not), when it means one. */
  readonly action?: CompiledAction;
  /** The workflow to propose in: the granting one, else the agent's first on the action's system, else its first. */
  readonly workflow?: string;
}

/** An agent's view of the tools. */
export interface AgentToolIndex {
  /** The granted tools, in catalog order (blocked ones included: the caller filters them). */
  readonly granted: readonly AgentTool[];
  resolve(name: string): ResolvedCall;
}

/** The separator of a system-qualified tool name. */
export const QUALIFIED_SEPARATOR = '__';

function toolActions(config: CompiledConfig): CompiledAction[] {
  return [...config.actions.values()].filter((a) => a.spec.tool !== undefined);
}

function grants(workflow: CompiledWorkflow, action: CompiledAction): boolean {
  return workflow.grants.get(grantKey(action.system, action.resource, action.verb))?.whole === true;
}

/** Builds the index of an agent's tools from the (started) gateway's config. */
export function agentTools(config: CompiledConfig, agent: AgentConfig): AgentToolIndex {
  const workflows = [...config.workflows.values()].filter((w) => w.agent === agent.id);
  const all = toolActions(config);
  const grantedPairs = all.flatMap((action) => {
    const workflow = workflows.find((w) => grants(w, action));
    return workflow === undefined ? [] : [{ action, workflow: workflow.id }];
  });
  const count = new Map<string, number>();
  for (const { action } of grantedPairs) count.set(action.resource, (count.get(action.resource) ?? 0) + 1);
  const granted: AgentTool[] = grantedPairs.map(({ action, workflow }) => ({
    name: (count.get(action.resource) ?? 0) > 1 ? `${action.system}${QUALIFIED_SEPARATOR}${action.resource}` : action.resource,
    action, tool: action.spec.tool as ToolDescription, workflow,
  }));
  const byName = new Map(granted.map((t) => [t.name, t]));
  return {
    granted,
    resolve(name) {
      const tool = byName.get(name) ?? granted.find((t) => `${t.action.system}${QUALIFIED_SEPARATOR}${t.action.resource}` === name);
      if (tool !== undefined) return { tool, action: tool.action, workflow: tool.workflow };
      const split = name.indexOf(QUALIFIED_SEPARATOR);
      const qualified = split > 0 ? all.find((a) => a.system === name.slice(0, split) && a.resource === name.slice(split + QUALIFIED_SEPARATOR.length)) : undefined;
      const plain = all.filter((a) => a.resource === name);
      const action = qualified ?? (plain.length === 1 ? plain[0] : undefined);
      const workflow = (action === undefined ? undefined : workflows.find((w) => w.systems.includes(action.system))) ?? workflows[0];
      return { ...(action === undefined ? {} : { action }), ...(workflow === undefined ? {} : { workflow: workflow.id }) };
    },
  };
}
