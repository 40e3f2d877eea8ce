/**
 * Loading the tools of MCP systems when the gateway starts: each upstream is listed once, its
 * usable tools become actions (risk from annotations, raised by `actions:` overrides, never
 * lowered), and the compiled config the service runs on is extended with them. Invariants: an
 * upstream that cannot be listed, a tool that cannot be checked, and an override that would
 * lower a tool's risk are reported (and audited), never fatal: the gateway serves the rest; a
 * grant that names no listed tool, or the wrong verb for it, grants nothing and is reported;
 * why a tool is not offered is kept with its connector, so an agent that calls it is told.
 */
import type { AuditEventDraft, Clock, JsonValue } from '@portcullis/core';
import { compileAction } from '../../config/catalog.js';
import { describeCompensation } from './mcp-compensation.js';
import { unclassedMoneyOrMessage } from '../../config/money-and-messages.js';
import type { CompiledAction, CompiledConfig } from '../../config/compiled.js';
import { isMcpSystem, type McpSystemConfig } from './mcp-settings.js';
import type { Connector } from '../connector.js';
import { createMcpConnector, isMcpConnector, type McpConnector, type McpConnectorEvent } from './mcp-connector.js';
import type { McpActionSpec } from './mcp-tools.js';
import type { Store } from '../../store/store.js';
import type { Vault } from '../../vault/vault.js';

const GATEWAY = { kind: 'system', id: 'gateway' } as const;

/** What the start-up listing of an MCP system found it cannot offer: all of it, or some tools, with why. */
interface NotOffered { readonly failed?: string; readonly tools: ReadonlyMap<string, string> }

const notOfferedAtStart = new WeakMap<McpConnector, NotOffered>();

/**
 * Why the gateway does not offer tool `tool` of an MCP system, when it knows: the system could
 * not be listed when the gateway started, the tool was refused then (an override that would
 * lower its risk), or at the upstream's last listing (an input schema that is not valid JSON
 * Schema…). Undefined when it knows no reason (the upstream lists no such tool).
 */
export function whyNotOffered(connector: McpConnector, tool: string): string | undefined {
  const start = notOfferedAtStart.get(connector);
  if (start?.failed !== undefined) return notOfferedUntilRestart(start.failed);
  const problem = start?.tools.get(tool) ?? connector.rejected().get(tool);
  return problem === undefined ? undefined : `MCP system "${connector.system}": ${problem}`;
}

/** What the agent and the operator are told when an upstream could not be listed at start. */
const notOfferedUntilRestart = (error: string): string => `${error}; its tools are not offered until the gateway is restarted with it reachable`;

/** The audit event of an upstream whose tools could not be listed. */
const upstreamFailed = (at: number, system: string, error: string): AuditEventDraft => (
  { type: 'mcp.upstream_failed', at, actor: GATEWAY, data: { system, code: 'UPSTREAM_FAILED', message: error } });

/** The pins of a system as a map, tool name → digest. */
export async function pinsOf(store: Pick<Store, 'getToolPins'>, system: string): Promise<Map<string, string>> {
  return new Map((await store.getToolPins(system)).map((pin) => [pin.tool, pin.digest]));
}

/** Creates the connector of an MCP system, its pins read from `store` and its events audited there. */
export function connectMcpSystem(system: McpSystemConfig, deps: { vault?: Vault; store?: Store; clock?: Clock; maxResultBytes?: number }): McpConnector {
  const { store, clock } = deps;
  const onEvent = store === undefined || clock === undefined ? undefined : (event: McpConnectorEvent): void => {
    if (event.kind === 'upstream_failed') {
      // As at start: the listing failed; here after start, while re-listing the tools.
      void store.appendAudit([upstreamFailed(clock.now(), event.system, event.error)])
        .catch(() => undefined);
      return;
    }
    if (event.kind !== 'tool_blocked') return;
    void store.appendAudit([{ type: 'mcp.tool_blocked', at: clock.now(), actor: GATEWAY, data: { system: event.system, tool: event.tool, reason: event.reason, digest: event.digest ?? null } }])
      .catch(() => undefined);
  };
  const connector = createMcpConnector(system, {
    ...(deps.vault === undefined ? {} : { vault: deps.vault }),
    ...(deps.maxResultBytes === undefined ? {} : { maxResultBytes: deps.maxResultBytes }),
    ...(store === undefined ? {} : { pins: () => pinsOf(store, system.name) }),
    ...(onEvent === undefined ? {} : { onEvent }),
  });
  return Object.assign(connector, { whyNotOffered: (tool: string) => whyNotOffered(connector, tool) });
}

/** One tool as an action of the catalog, or why it is not offered (`lowersRisk`: an override that would lower its risk). */
function compileTool(system: McpSystemConfig, spec: McpActionSpec): { ok: true; action: CompiledAction } | { ok: false; problem: string; lowersRisk: boolean; unclassed?: boolean } {
  const override = system.overrides.get(spec.resource);
  // A tool with a compensating tool declared can be rolled back (see mcp-compensation.ts).
  const undo = override?.undo;
  const compensated = undo !== undefined && 'tool' in undo && spec.verb !== 'read'
    ? Object.freeze({ ...spec, reversible: true, undo: describeCompensation(undo) }) : spec;
  const compiled = compileAction(compensated, override, `MCP tool, ${spec.verb}: ${annotationWhy(spec)}`);
  if (!compiled.ok) return { ok: false, lowersRisk: true, problem: `tool "${spec.resource}": actions["${spec.name}"].risk: ${compiled.error}; the tool is not offered until the override is fixed` };
  // A write tool named like money or a message is not offered until the config classes it.
  const unclassed = unclassedMoneyOrMessage(compiled.action, override?.notMoneyOrMessages);
  if (unclassed !== undefined) return { ok: false, lowersRisk: false, unclassed: true, problem: `tool "${spec.resource}": ${unclassed}; the tool is not offered until it is classed` };
  const declared = override?.notMoneyOrMessages;
  return declared === undefined ? compiled : { ok: true, action: Object.freeze({ ...compiled.action, notMoneyOrMessages: declared }) };
}

function annotationWhy(spec: McpActionSpec): string {
  const a = spec.mcp.tool.annotations;
  if (a?.openWorldHint === true) return 'openWorldHint';
  if (a?.readOnlyHint === true) return 'readOnlyHint';
  return a?.destructiveHint === false ? 'destructiveHint: false' : 'not read-only, destructive unless it says otherwise';
}

/**
 * Grants of the config's workflows that name a tool of `system` the upstream does not list with
 * that verb. `lowering` collects those that grant a high-risk tool (destructive, or reaching
 * outside the company) under a lower verb: a config that would lower a tool's risk.
 */
function grantProblems(config: CompiledConfig, system: string, actions: ReadonlyMap<string, CompiledAction>, lowering: string[] = []): string[] {
  const problems: string[] = [];
  for (const workflow of config.workflows.values()) {
    for (const key of workflow.grants.keys()) {
      const [grantSystem, tool, verb] = key.split(':') as [string, string, string];
      if (grantSystem !== system) continue;
      const action = actions.get(`${system}.${tool}`);
      if (action === undefined) problems.push(`workflow "${workflow.id}" grants "${key}", but MCP system "${system}" offers no tool "${tool}"; the grant allows nothing`);
      else if (action.verb !== verb) {
        const problem = `workflow "${workflow.id}" grants "${key}", but tool "${tool}" is a ${action.verb} tool (${action.riskWhy}); grant "${system}:${tool}:${action.verb}"${action.risk === 'high' ? ' with explicit: true' : ''} instead`;
        problems.push(problem);
        if (action.risk === 'high') lowering.push(`workflows.${workflow.id}.grants: ${problem}`);
      }
    }
  }
  return problems;
}

/**
 * Lists every MCP system's tools and returns the config extended with them as actions, with
 * what was reported (also audited as `mcp.tools_listed` and `mcp.upstream_failed`).
 */
export async function loadMcpCatalog(config: CompiledConfig, connectors: ReadonlyMap<string, Connector>, store: Store, clock: Clock): Promise<{ config: CompiledConfig; warnings: string[]; refusals: string[]; unclassed: string[] }> {
  const actions = new Map(config.actions);
  // Write tools named like money or a message that the config does not class (not offered; `check` and `validate --online` fail on them).
  const unclassed: string[] = [];
  const warnings: string[] = [];
  // What would lower a destructive or open-world tool below high: the gateway refuses to serve such a config (SPEC rule 2).
  const refusals: string[] = [];
  for (const system of config.systems.values()) {
    if (!isMcpSystem(system)) continue;
    const connector = connectors.get(system.name);
    if (!isMcpConnector(connector)) continue;
    const listed = await connector.discover();
    if (!listed.ok) {
      notOfferedAtStart.set(connector, { failed: listed.error, tools: new Map() });
      warnings.push(notOfferedUntilRestart(listed.error));
      await store.appendAudit([upstreamFailed(clock.now(), system.name, listed.error)]);
      continue;
    }
    const rejected: { tool: string; problem: string }[] = [...listed.rejected];
    const offered: CompiledAction[] = [];
    for (const spec of listed.specs) {
      const compiled = compileTool(system, spec);
      if (compiled.ok) offered.push(compiled.action);
      else {
        rejected.push({ tool: spec.resource, problem: compiled.problem });
        if (compiled.lowersRisk) refusals.push(`actions["${spec.name}"].risk: MCP system "${system.name}": ${compiled.problem}`);
        if (compiled.unclassed === true) unclassed.push(`actions["${spec.name}"]: MCP system "${system.name}": ${compiled.problem}`);
      }
    }
    notOfferedAtStart.set(connector, { tools: new Map(rejected.map((r) => [r.tool, r.problem])) });
    for (const action of offered) actions.set(action.name, action);
    const systemActions = new Map(offered.map((a) => [a.name, a]));
    const problems = grantProblems(config, system.name, systemActions, refusals);
    warnings.push(...rejected.map((r) => `MCP system "${system.name}": ${r.problem}`), ...problems);
    for (const tool of system.overrides.keys()) {
      if (!listed.specs.some((s) => s.resource === tool)) warnings.push(`actions["${system.name}.${tool}"]: MCP system "${system.name}" lists no tool "${tool}"`);
      const undo = system.overrides.get(tool)?.undo;
      if (undo !== undefined && 'tool' in undo && !listed.specs.some((s) => s.resource === undo.tool)) {
        warnings.push(`actions["${system.name}.${tool}"].undo.tool: MCP system "${system.name}" lists no tool "${undo.tool}", so a rollback of "${tool}" will be refused until it does`);
      }
    }
    const blocked: JsonValue[] = [];
    for (const action of offered) {
      const reason = await connector.blocked(action.spec);
      if (reason !== undefined) blocked.push({ tool: action.resource, reason });
    }
    await store.appendAudit([{
      type: 'mcp.tools_listed', at: clock.now(), actor: GATEWAY,
      data: {
        system: system.name,
        tools: offered.map((a) => ({ name: a.resource, verb: a.verb, risk: a.risk, digest: (a.spec as McpActionSpec).mcp.digest })),
        rejected, blocked, grantProblems: problems,
      },
    }]);
  }
  return { config: Object.freeze({ ...config, actions }), warnings, refusals, unclassed };
}
