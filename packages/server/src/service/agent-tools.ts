/**
 * Which actions an agent is offered as MCP tools, under which names, and in which workflow
 * each call is proposed. Invariants: every action a workflow of the agent grants is a tool,
 * whatever its system's kind (SQL tables, HTTP operations, email, upstream MCP tools), and no
 * other action is; a tool granted by several of the agent's workflows is proposed in the first
 * of them in config order; every name matches TOOL_NAME_PATTERN and is stable across restarts;
 * two tools never share a name (the gateway refuses to start instead, naming both; an alias in
 * `mcp.aliases` renames one); a tool's input schema offers only what the grant allows (a
 * field-level grant offers only its fields), and its annotations and description follow from
 * the action's risk class.
 *
 * Naming: an alias when configured; else an upstream MCP tool keeps its own name, unless
 * another tool the agent is offered has that name too, and then it is `<system>__<tool>`; any
 * other action is its name with `.` as `__` (`crm.leads.update` → `crm__leads__update`).
 * Characters outside `[a-zA-Z0-9_-]` become `_`; a name over 64 characters keeps its first 55
 * and ends with `-` and 8 hex digits of the SHA-256 of the action's name.
 */
import { grantKey, sha256Hex, type GrantCoverage } from '@portcullis/core';
import { z } from 'zod';
import type { ToolDescription } from '../config/action-spec.js';
import type { AgentConfig, CompiledAction, CompiledConfig, CompiledWorkflow } from '../config/compiled.js';
import { TOOL_NAME_PATTERN } from '../config/schema.js';

/** A tool an agent is granted, as it is shown to the agent. */
export interface AgentTool {
  /** The name the agent calls it by. */
  readonly name: string;
  readonly action: CompiledAction;
  /** How it is shown: title, description (with its risk), input schema (narrowed to the grant), annotations. */
  readonly tool: ToolDescription;
  /** The workflow its calls are proposed in. */
  readonly workflow: string;
}

/** An agent's view of the tools. */
export interface AgentToolIndex {
  /** The granted tools, in catalog order (blocked ones included: the caller filters them). */
  readonly granted: readonly AgentTool[];
  /** Two tools that would share a name, each named by its action (empty when none). */
  readonly collisions: readonly { readonly name: string; readonly actions: readonly string[] }[];
  /** The granted tool an agent's call names, if it names one. */
  resolve(name: string): AgentTool | undefined;
}

/** The separator of a qualified tool name. */
export const QUALIFIED_SEPARATOR = '__';

const MAX_NAME = 64;

/** `name` made to match TOOL_NAME_PATTERN: other characters as `_`, a long name shortened with a digest of `of`. */
function clampName(name: string, of: string): string {
  const safe = name.replace(/[^a-zA-Z0-9_-]/g, '_');
  return safe.length <= MAX_NAME ? safe : `${safe.slice(0, MAX_NAME - 9)}-${sha256Hex(of).slice(0, 8)}`;
}

/** The coverage of the grant an action needs in a workflow, if the workflow grants it. */
function coverageOf(workflow: CompiledWorkflow, action: CompiledAction): GrantCoverage | undefined {
  return workflow.grants.get(grantKey(action.system, action.resource, action.verb));
}

/** Whether a workflow grants an action: whole, or (for actions that name fields) some of its fields. */
function grants(workflow: CompiledWorkflow, action: CompiledAction): boolean {
  const coverage = coverageOf(workflow, action);
  if (coverage === undefined) return false;
  // An upstream MCP tool is granted whole or not at all.
  return coverage.whole || (action.spec.tool === undefined && coverage.fields.size > 0);
}

type JsonSchema = Record<string, unknown>;

/** The input schema with only the granted fields under each field container (`set`, `values`, `body`). */
function narrow(schema: JsonSchema, fields: ReadonlySet<string> | undefined): JsonSchema {
  if (fields === undefined) return schema;
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties === undefined) return schema;
  const narrowed: Record<string, JsonSchema> = {};
  for (const [key, value] of Object.entries(properties)) {
    const inner = value.properties as Record<string, unknown> | undefined;
    if (!['set', 'values', 'body'].includes(key) || inner === undefined) { narrowed[key] = value; continue; }
    const kept = Object.fromEntries(Object.entries(inner).filter(([field]) => fields.has(field)));
    const required = Array.isArray(value.required) ? (value.required as string[]).filter((f) => fields.has(f)) : undefined;
    narrowed[key] = { ...value, properties: kept, ...(required === undefined ? {} : { required }) };
  }
  return { ...schema, properties: narrowed };
}

/** How the gateway describes an action as a tool: its own words, then its risk, whether a person approves it, whether it can be undone. */
function describe(action: CompiledAction, workflow: CompiledWorkflow, fields: ReadonlySet<string> | undefined): ToolDescription {
  const upstream = action.spec.tool;
  const mode = action.risk === 'high' ? 'approval' : workflow.mode[action.risk];
  const gate = action.risk === 'high' ? 'always needs a person\'s approval' : mode === 'auto' ? 'runs at once' : 'waits for a person\'s approval';
  const undo = action.verb === 'read' ? '' : action.reversible ? ' It can be undone.' : ' It cannot be undone.';
  const own = upstream?.description ?? action.spec.description;
  const why = action.riskWhy.replace(/^(read|write|high)( risk)?: /, '');
  const inputSchema = upstream?.inputSchema ?? narrow(z.toJSONSchema(action.spec.params, { io: 'input', unrepresentable: 'any' }) as JsonSchema, fields);
  const { $schema: _dialect, ...schema } = inputSchema as JsonSchema;
  return {
    ...(upstream?.title === undefined ? {} : { title: upstream.title }),
    description: `${own}${own === '' ? '' : '\n\n'}[Portcullis: ${action.risk} risk: ${why}; ${gate}.${undo}]`,
    inputSchema: schema,
    annotations: {
      readOnlyHint: action.risk === 'read',
      destructiveHint: action.risk === 'high',
      openWorldHint: action.tags.includes('external'),
    },
  };
}

/** Builds the index of an agent's tools from the (started) gateway's config. */
export function agentTools(config: CompiledConfig, agent: AgentConfig): AgentToolIndex {
  const workflows = [...config.workflows.values()].filter((w) => w.agent === agent.id);
  const granted = [...config.actions.values()].flatMap((action) => {
    const workflow = workflows.find((w) => grants(w, action));
    return workflow === undefined ? [] : [{ action, workflow }];
  });
  const plainCount = new Map<string, number>();
  const plainOf = (action: CompiledAction): string => (action.spec.tool === undefined ? action.name.split('.').join(QUALIFIED_SEPARATOR) : action.resource);
  for (const { action } of granted) plainCount.set(plainOf(action), (plainCount.get(plainOf(action)) ?? 0) + 1);
  const tools: AgentTool[] = granted.map(({ action, workflow }) => {
    const alias = config.mcp.aliases.get(action.name);
    const plain = plainOf(action);
    const name = alias ?? clampName((plainCount.get(plain) ?? 0) > 1 && action.spec.tool !== undefined ? `${action.system}${QUALIFIED_SEPARATOR}${action.resource}` : plain, action.name);
    const coverage = coverageOf(workflow, action);
    const fields = coverage === undefined || coverage.whole ? undefined : coverage.fields;
    return { name, action, tool: describe(action, workflow, fields), workflow: workflow.id };
  });
  const byName = new Map<string, AgentTool[]>();
  for (const tool of tools) byName.set(tool.name, [...(byName.get(tool.name) ?? []), tool]);
  const collisions = [...byName.entries()].filter(([, same]) => same.length > 1).map(([name, same]) => ({ name, actions: same.map((t) => t.action.name) }));
  return {
    granted: tools,
    collisions,
    resolve: (name) => (TOOL_NAME_PATTERN.test(name) ? byName.get(name)?.[0] : undefined),
  };
}

/**
 * Why a config cannot be served for the tool names it gives: each agent that would be offered
 * two tools with one name, naming both actions and the alias that fixes it (empty when none).
 */
export function toolNameProblems(config: CompiledConfig): string[] {
  return [...config.agents.values()].flatMap((agent) => agentTools(config, agent).collisions.map(({ name, actions: [a, b] }) => (
    `agent "${agent.id}" would be offered two tools named "${name}": ${a} and ${b}; `
    + `rename one in mcp.aliases, e.g. mcp: { aliases: { "${b}": ${clampName(`${b ?? ''}`.split('.').join('_'), b ?? '')} } }`)));
}
