/**
 * The systems and action catalog of a config, built without connecting to anything. Owns the
 * rule that config may raise an action's risk but never lower it: every action's class is
 * resolved by the core's `resolveRisk` from its verb, its tags and the configured override.
 */
import { resolve } from 'node:path';
import { impliedTags, resolveRisk, type HighRiskTag, type RiskClass } from '@portcullis/core';
import type { ActionSpec } from './action-spec.js';
import type { CompiledAction, SystemConfig } from './compiled.js';
import type { ConfigIssue } from './issues.js';
import type { PortcullisConfig } from './schema.js';
import type { Env } from './secrets.js';
import { didYouMean } from './suggest.js';
import { unclassedMoneyOrMessage } from './money-and-messages.js';
import type { ActionUndoSettings, SystemKinds } from './system-kind.js';

/** A file path from the config made absolute against the config file's folder; `:memory:` stays as it is. */
export function resolveConfigPath(baseDir: string, path: string): string {
  return path === ':memory:' ? path : resolve(baseDir, path);
}

/**
 * The systems of a config, each compiled by its kind (paths made absolute, documents read,
 * credentials named). A system that cannot be built is left out, with the problems pushed to
 * `issues`; so is one of an unknown kind (the schema pass reports it).
 */
export function buildSystems(config: PortcullisConfig, kinds: SystemKinds, baseDir: string, env: Env = {}, issues: ConfigIssue[] = []): Map<string, SystemConfig> {
  const systems = new Map<string, SystemConfig>();
  const context = { env, resolvePath: (path: string) => resolveConfigPath(baseDir, path), overrides: config.actions };
  for (const [name, settings] of Object.entries(config.systems)) {
    const built = kinds.get(settings.kind)?.compile(name, settings, context, issues);
    if (built !== undefined) systems.set(name, Object.freeze(built));
  }
  return systems;
}

/**
 * An action of the catalog from its spec and the config's override: its tags (its verb's, its
 * own and the config's), its risk, and whether it can be rolled back (an action the config
 * declares irreversible cannot, whatever its kind could do); an error value when the override
 * would lower the risk.
 */
export function compileAction(given: ActionSpec, override: { readonly risk?: RiskClass; readonly tags?: readonly HighRiskTag[]; readonly undo?: ActionUndoSettings } | undefined, note?: string): { ok: true; action: CompiledAction } | { ok: false; error: string } {
  const declared = override?.undo !== undefined && 'irreversible' in override.undo ? override.undo.irreversible : undefined;
  const spec: ActionSpec = declared === undefined ? given
    : Object.freeze({ ...given, reversible: false, undo: `cannot be undone (declared irreversible in portcullis.yaml); manual fallback: ${declared}` });
  const tags: HighRiskTag[] = [...new Set([...impliedTags(spec.verb), ...spec.tags, ...(override?.tags ?? [])])];
  const risk = resolveRisk(spec.verb, tags, override?.risk);
  if (!risk.ok) return risk;
  return {
    ok: true,
    action: Object.freeze({
      name: spec.name, system: spec.system, resource: spec.resource, verb: spec.verb, risk: risk.value.risk,
      riskWhy: note === undefined ? risk.value.why : `${risk.value.why} (${note})`, tags: Object.freeze(tags), reversible: spec.reversible, spec,
      ...(declared === undefined ? {} : { manualFallback: declared }),
    }),
  };
}

/** Every action of every system, with its risk resolved and its configured overrides applied. */
export function buildActions(systems: ReadonlyMap<string, SystemConfig>, kinds: SystemKinds, overrides: PortcullisConfig['actions']): { actions: Map<string, CompiledAction>; issues: ConfigIssue[] } {
  const actions = new Map<string, CompiledAction>();
  const issues: ConfigIssue[] = [];
  for (const system of systems.values()) {
    for (const spec of kinds.get(system.kind)?.actionSpecs(system, issues) ?? []) {
      const override = overrides[spec.name];
      let compiled = compileAction(spec, override);
      if (!compiled.ok) {
        issues.push({ path: ['actions', spec.name, 'risk'], message: `${spec.name}: ${compiled.error}` });
        // Keep the catalog complete so later checks do not report the action as missing.
        compiled = compileAction(spec, override === undefined ? undefined : { tags: override.tags });
        if (!compiled.ok) continue;
      }
      const unclassed = unclassedMoneyOrMessage(compiled.action, override?.notMoneyOrMessages);
      if (unclassed !== undefined) issues.push({ path: override === undefined ? ['systems', system.name] : ['actions', spec.name], message: unclassed });
      if (override?.undo !== undefined && 'tool' in override.undo) {
        issues.push({ path: ['actions', spec.name, 'undo', 'tool'], message: `${spec.name}: a compensating tool undoes MCP tools only; ${system.kind} actions are undone by the gateway from what it recorded. Remove undo, or declare the action irreversible with undo: { irreversible: "the manual fallback" }` });
      }
      const declared = override?.notMoneyOrMessages;
      actions.set(spec.name, declared === undefined ? compiled.action : Object.freeze({ ...compiled.action, notMoneyOrMessages: declared }));
    }
  }
  const names = [...actions.keys()];
  // Actions listed online (an MCP system's tools) are known when the gateway starts; their overrides are applied then.
  const onlinePrefixes = [...systems.values()].filter((s) => kinds.get(s.kind)?.listsActionsOnline === true).map((s) => `${s.name}.`);
  for (const name of Object.keys(overrides)) {
    if (actions.has(name) || onlinePrefixes.some((prefix) => name.startsWith(prefix))) continue;
    const hint = didYouMean(name, names);
    issues.push({ path: ['actions', name], at: 'key', message: `no system offers an action "${name}"${hint || `; action names are system.table.verb, e.g. ${names[0] ?? 'crm.leads.update'}`}` });
  }
  return { actions, issues };
}
