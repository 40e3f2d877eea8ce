/**
 * The systems and action catalog of a config, built without connecting to anything. Owns the
 * rule that config may raise an action's risk but never lower it: every action's class is
 * resolved by the core's `resolveRisk` from its verb, its tags and the configured override.
 */
import { resolve } from 'node:path';
import { impliedTags, resolveRisk, type HighRiskTag } from '@portcullis/core';
import type { CompiledAction, SqlSystemConfig, SqlTableConfig, SystemConfig } from './compiled.js';
import { sqlActionSpecs } from '../connectors/sql/sql-actions.js';
import type { ConfigIssue } from './issues.js';
import type { PortcullisConfig } from './schema.js';
import { didYouMean } from './suggest.js';

/** A file path from the config made absolute against the config file's folder; `:memory:` stays as it is. */
export function resolveConfigPath(baseDir: string, path: string): string {
  return path === ':memory:' ? path : resolve(baseDir, path);
}

/** The systems of a config, with absolute paths and tables by name. */
export function buildSystems(config: PortcullisConfig, baseDir: string): Map<string, SystemConfig> {
  const systems = new Map<string, SystemConfig>();
  for (const [name, settings] of Object.entries(config.systems)) {
    const tables = new Map<string, SqlTableConfig>();
    for (const [table, t] of Object.entries(settings.tables)) {
      tables.set(table, Object.freeze({ name: table, primaryKey: t.primaryKey, columns: Object.freeze([...t.columns]) }));
    }
    const system: SqlSystemConfig = { kind: 'sql', name, driver: settings.driver, path: resolveConfigPath(baseDir, settings.path), tables };
    systems.set(name, Object.freeze(system));
  }
  return systems;
}

/** Every action of every system, with its risk resolved and its configured overrides applied. */
export function buildActions(systems: ReadonlyMap<string, SystemConfig>, overrides: PortcullisConfig['actions']): { actions: Map<string, CompiledAction>; issues: ConfigIssue[] } {
  const actions = new Map<string, CompiledAction>();
  const issues: ConfigIssue[] = [];
  for (const system of systems.values()) {
    for (const spec of sqlActionSpecs(system)) {
      const override = overrides[spec.name];
      const tags: HighRiskTag[] = [...new Set([...impliedTags(spec.verb), ...spec.tags, ...(override?.tags ?? [])])];
      let risk = resolveRisk(spec.verb, tags, override?.risk);
      if (!risk.ok) {
        issues.push({ path: ['actions', spec.name, 'risk'], message: `${spec.name}: ${risk.error}` });
        // Keep the catalog complete so later checks do not report the action as missing.
        risk = resolveRisk(spec.verb, tags);
        if (!risk.ok) continue;
      }
      actions.set(spec.name, Object.freeze({
        name: spec.name, system: spec.system, resource: spec.resource, verb: spec.verb,
        risk: risk.value.risk, riskWhy: risk.value.why, tags: Object.freeze(tags), reversible: spec.reversible, spec,
      }));
    }
  }
  const names = [...actions.keys()];
  for (const name of Object.keys(overrides)) {
    if (actions.has(name)) continue;
    const hint = didYouMean(name, names);
    issues.push({ path: ['actions', name], at: 'key', message: `no system offers an action "${name}"${hint || `; action names are system.table.verb, e.g. ${names[0] ?? 'crm.leads.update'}`}` });
  }
  return { actions, issues };
}
