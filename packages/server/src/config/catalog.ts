/**
 * The systems and action catalog of a config, built without connecting to anything. Owns the
 * rule that config may raise an action's risk but never lower it: every action's class is
 * resolved by the core's `resolveRisk` from its verb, its tags and the configured override.
 */
import { resolve } from 'node:path';
import { impliedTags, resolveRisk, type HighRiskTag, type RiskClass } from '@portcullis/core';
import type { ActionSpec } from '../connectors/connector.js';
import { httpActionSpecs } from '../connectors/http/http-actions.js';
import { smtpActionSpecs } from '../connectors/smtp/smtp-actions.js';
import type { CompiledAction, SqlSystemConfig, SqlTableConfig, SystemConfig } from './compiled.js';
import { sqlActionSpecs } from '../connectors/sql/sql-actions.js';
import { compileHttpSystem } from '../connectors/http/http-settings.js';
import type { ConfigIssue } from './issues.js';
import type { PortcullisConfig, SystemSettings } from './schema.js';
import type { Env } from './secrets.js';
import { compileSmtpSystem } from '../connectors/smtp/smtp-settings.js';
import { compileMcpSystem } from '../connectors/mcp/mcp-settings.js';
import { didYouMean } from './suggest.js';

/** A file path from the config made absolute against the config file's folder; `:memory:` stays as it is. */
export function resolveConfigPath(baseDir: string, path: string): string {
  return path === ':memory:' ? path : resolve(baseDir, path);
}

/**
 * The systems of a config, with absolute paths, tables by name and OpenAPI documents read.
 * A system that cannot be built (its document or credential is unusable) is left out, with
 * the problems pushed to `issues`.
 */
export function buildSystems(config: PortcullisConfig, baseDir: string, env: Env = {}, issues: ConfigIssue[] = []): Map<string, SystemConfig> {
  const systems = new Map<string, SystemConfig>();
  for (const [name, settings] of Object.entries(config.systems)) {
    const built = buildSystem(name, settings, baseDir, env, issues, config.actions);
    if (built !== undefined) systems.set(name, Object.freeze(built));
  }
  return systems;
}

/** One system by its kind, or undefined with its problems in `issues`. */
function buildSystem(name: string, settings: SystemSettings, baseDir: string, env: Env, issues: ConfigIssue[], overrides: PortcullisConfig['actions']): SystemConfig | undefined {
  switch (settings.kind) {
    case 'sql': {
      const tables = new Map<string, SqlTableConfig>();
      for (const [table, t] of Object.entries(settings.tables)) {
        tables.set(table, Object.freeze({ name: table, primaryKey: t.primaryKey, columns: Object.freeze([...t.columns]) }));
      }
      const system: SqlSystemConfig = { kind: 'sql', name, driver: settings.driver, path: resolveConfigPath(baseDir, settings.path), tables };
      return system;
    }
    case 'http': return compileHttpSystem(name, settings, { env, resolvePath: (path) => resolveConfigPath(baseDir, path) }, issues);
    case 'smtp': return compileSmtpSystem(name, settings, { env }, issues);
    case 'mcp': return compileMcpSystem(name, settings, { env, resolvePath: (path) => resolveConfigPath(baseDir, path), overrides }, issues);
  }
}

/**
 * An action of the catalog from its spec and the config's override: its tags (its verb's, its
 * own and the config's) and its risk; an error value when the override would lower the risk.
 */
export function compileAction(spec: ActionSpec, override: { readonly risk?: RiskClass; readonly tags?: readonly HighRiskTag[] } | undefined, note?: string): { ok: true; action: CompiledAction } | { ok: false; error: string } {
  const tags: HighRiskTag[] = [...new Set([...impliedTags(spec.verb), ...spec.tags, ...(override?.tags ?? [])])];
  const risk = resolveRisk(spec.verb, tags, override?.risk);
  if (!risk.ok) return risk;
  return {
    ok: true,
    action: Object.freeze({
      name: spec.name, system: spec.system, resource: spec.resource, verb: spec.verb, risk: risk.value.risk,
      riskWhy: note === undefined ? risk.value.why : `${risk.value.why} (${note})`, tags: Object.freeze(tags), reversible: spec.reversible, spec,
    }),
  };
}

/** Every action of every system, with its risk resolved and its configured overrides applied. */
export function buildActions(systems: ReadonlyMap<string, SystemConfig>, overrides: PortcullisConfig['actions']): { actions: Map<string, CompiledAction>; issues: ConfigIssue[] } {
  const actions = new Map<string, CompiledAction>();
  const issues: ConfigIssue[] = [];
  for (const system of systems.values()) {
    for (const spec of actionSpecsOf(system, issues)) {
      const override = overrides[spec.name];
      let compiled = compileAction(spec, override);
      if (!compiled.ok) {
        issues.push({ path: ['actions', spec.name, 'risk'], message: `${spec.name}: ${compiled.error}` });
        // Keep the catalog complete so later checks do not report the action as missing.
        compiled = compileAction(spec, override === undefined ? undefined : { tags: override.tags });
        if (!compiled.ok) continue;
      }
      actions.set(spec.name, compiled.action);
    }
  }
  const names = [...actions.keys()];
  // An MCP system's tools are listed when the gateway starts; their overrides are applied then.
  const mcpPrefixes = [...systems.values()].filter((s) => s.kind === 'mcp').map((s) => `${s.name}.`);
  for (const name of Object.keys(overrides)) {
    if (actions.has(name) || mcpPrefixes.some((prefix) => name.startsWith(prefix))) continue;
    const hint = didYouMean(name, names);
    issues.push({ path: ['actions', name], at: 'key', message: `no system offers an action "${name}"${hint || `; action names are system.table.verb, e.g. ${names[0] ?? 'crm.leads.update'}`}` });
  }
  return { actions, issues };
}

/** The actions a system offers, by its kind; problems with them go to `issues`. */
function actionSpecsOf(system: SystemConfig, issues: ConfigIssue[]): ActionSpec[] {
  switch (system.kind) {
    case 'sql': return sqlActionSpecs(system);
    case 'smtp': return smtpActionSpecs(system);
    case 'mcp': return [];
    case 'http': {
      const { specs, problems } = httpActionSpecs(system);
      issues.push(...problems.map((message) => ({ path: ['systems', system.name, 'openapi'], message: `${system.openapi}: ${message}` })));
      return specs;
    }
  }
}
