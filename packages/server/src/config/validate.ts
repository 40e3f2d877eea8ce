/**
 * Checks of portcullis.yaml that span keys, run after the schema pass. Invariants owned here:
 * every reference names something defined; every grant names a real system, table, column
 * and action; a high-risk grant is confirmed with `explicit: true`; every resource a
 * workflow may write is bounded by a data scope; every department has someone who can
 * approve, and every workflow has an approver who is not barred from approving; the store
 * is of a kind this version can open.
 */
import { coveredVerbs, parseGrant, type Grant } from '@portcullis/core';
import type { CompiledAction, SystemConfig } from './compiled.js';
import type { ConfigIssue, PathSegment } from './issues.js';
import { AVAILABLE_STORE_KINDS, type GrantSettings, type PortcullisConfig, type WorkflowSettings } from './schema.js';
import type { SystemKinds } from './system-kind.js';
import { didYouMean } from './suggest.js';

/** The text and the `explicit` flag of a grant as written, in either form. */
export function grantParts(item: GrantSettings): { text: string; explicit: boolean } {
  return typeof item === 'string' ? { text: item, explicit: false } : { text: item.grant, explicit: item.explicit };
}

/** Splits a scope key `system:resource`; undefined when it has another shape. */
export function parseScopeKey(key: string): { system: string; resource: string } | undefined {
  const match = /^([^:.]+):([^:.]+)$/.exec(key);
  return match === null ? undefined : { system: match[1] as string, resource: match[2] as string };
}

function missing(kind: string, value: string, section: string, defined: Record<string, unknown>): string {
  const names = Object.keys(defined);
  if (names.length === 0) return `no ${kind} "${value}": ${section} is empty; add ${section}.${value}`;
  return `no ${kind} "${value}" in ${section}${didYouMean(value, names)}`;
}

type Section = 'systems' | 'departments' | 'people' | 'agents';

/** What grants and scopes are checked against. */
interface Catalog {
  readonly systems: ReadonlyMap<string, SystemConfig>;
  readonly actions: ReadonlyMap<string, CompiledAction>;
  readonly kinds: SystemKinds;
}

/**
 * Runs every cross-key check; returns all the problems found (empty when none). `dropped`
 * names entries (`agents.x`) or sections the schema rejected: references to them are not
 * reported again.
 */
export function validateConfig(config: PortcullisConfig, systems: ReadonlyMap<string, SystemConfig>, actions: ReadonlyMap<string, CompiledAction>, kinds: SystemKinds, dropped: ReadonlySet<string> = new Set()): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const has = (section: Section, id: string): boolean => Object.hasOwn(config[section], id) || dropped.has(section) || dropped.has(`${section}.${id}`);
  const need = (ok: boolean, path: PathSegment[], message: string, at?: 'key'): void => {
    if (!ok) issues.push(at === undefined ? { path, message } : { path, message, at });
  };
  const { people, departments, agents } = config;

  if (!AVAILABLE_STORE_KINDS.includes(config.store.kind)) {
    // Refused here, with its position, rather than when the gateway starts.
    issues.push({ path: ['store', 'kind'], message: `"${config.store.kind}" is planned, not available in this version; use kind: sqlite (the default: one file next to the config, nothing to set up), or leave store out` });
  } else if (config.store.kind === 'postgres') {
    const { url, urlEnv } = config.store;
    need((url === undefined) !== (urlEnv === undefined), ['store'], url === undefined ? 'a postgres store needs url or urlEnv (prefer urlEnv, so the password stays out of the file)' : 'set url or urlEnv, not both');
  }

  for (const [id, department] of Object.entries(departments)) {
    need(department.leads.length > 0, ['departments', id, 'leads'], `department "${id}" has no leads, so nobody could approve its workflows' actions; list at least one person id in leads`);
    for (const list of ['leads', 'delegates'] as const) {
      department[list].forEach((person, i) => need(has('people', person), ['departments', id, list, i], missing('person', person, 'people', people)));
    }
  }

  for (const [id, person] of Object.entries(people)) {
    need(person.tokenHash === undefined || person.tokenEnv === undefined, ['people', id, 'tokenEnv'], 'set tokenHash or tokenEnv, not both');
  }

  for (const [id, agent] of Object.entries(agents)) {
    need(has('people', agent.owner), ['agents', id, 'owner'], missing('person', agent.owner, 'people', people));
    need(has('departments', agent.department), ['agents', id, 'department'], missing('department', agent.department, 'departments', departments));
    if (agent.keyHash === undefined && agent.keyEnv === undefined) {
      issues.push({ path: ['agents', id], at: 'key', message: `agent "${id}" has no key: add keyHash: "sha256:<64 hex>" (\`portcullis keys new\` prints a key and its hash) or keyEnv: NAME to read the key from an environment variable` });
    }
    need(agent.keyHash === undefined || agent.keyEnv === undefined, ['agents', id, 'keyEnv'], 'set keyHash or keyEnv, not both');
  }

  for (const [id, workflow] of Object.entries(config.workflows)) {
    issues.push(...checkWorkflow(config, id, workflow, { systems, actions, kinds }, has));
  }
  return issues;
}

function checkWorkflow(config: PortcullisConfig, id: string, workflow: WorkflowSettings, catalog: Catalog, has: (section: Section, id: string) => boolean): ConfigIssue[] {
  const { systems, actions, kinds } = catalog;
  const issues: ConfigIssue[] = [];
  const at = (...rest: PathSegment[]): PathSegment[] => ['workflows', id, ...rest];
  const agent = config.agents[workflow.agent];
  const department = config.departments[workflow.department];
  if (!has('agents', workflow.agent)) issues.push({ path: at('agent'), message: missing('agent', workflow.agent, 'agents', config.agents) });
  if (!has('departments', workflow.department)) issues.push({ path: at('department'), message: missing('department', workflow.department, 'departments', config.departments) });
  if (!has('people', workflow.owner)) issues.push({ path: at('owner'), message: missing('person', workflow.owner, 'people', config.people) });

  if (agent !== undefined && department !== undefined && !workflow.allowOwnerApproval) {
    const approvers = new Set([...department.leads, ...department.delegates]);
    if (approvers.size > 0 && [...approvers].every((p) => p === agent.owner)) {
      issues.push({ path: at('department'), message: `nobody could approve workflow "${id}": the only lead or delegate of department "${workflow.department}" is ${agent.owner}, the technical owner of agent "${workflow.agent}", who may not approve its actions; add another lead or delegate to departments.${workflow.department}` });
    }
  }

  // SPEC rule 6: writes are automated by promotion, earned; a config says `write: auto` only with an admin's override.
  if (workflow.mode.write === 'auto' && workflow.override === undefined) {
    issues.push({ path: at('mode', 'write'), message: `workflow "${id}" sets mode.write: auto, but writes are automated only by promotion once earned (portcullis workflows promote); remove it, or add override: { by: ADMIN, reason: "why" } (audited at every start and shown in every report)` });
  }
  if (workflow.override !== undefined) {
    const by = config.people[workflow.override.by];
    if (by === undefined || by.admin !== true) {
      issues.push({ path: at('override', 'by'), message: `override.by must be an admin (people.<id>.admin: true); "${workflow.override.by}" is ${by === undefined ? 'not a configured person' : 'not an admin'}` });
    }
    if (workflow.mode.write !== 'auto') issues.push({ path: at('override'), message: 'override is only for mode.write: auto; remove it' });
  }

  const unscoped = new Set<string>();
  workflow.grants.forEach((item, i) => {
    const { text, explicit } = grantParts(item);
    const path = at('grants', i);
    const parsed = parseGrant(text);
    if (!parsed.ok) { issues.push({ path, message: parsed.error }); return; }
    if (!systems.has(parsed.value.system) && has('systems', parsed.value.system)) return;
    const target = systems.get(parsed.value.system);
    const kind = target === undefined ? undefined : kinds.get(target.kind);
    const written = { text, explicit, override: config.actions[`${parsed.value.system}.${parsed.value.resource}`] };
    const kindProblem = target === undefined ? undefined : kind?.grantProblem?.(target, parsed.value, written);
    if (kindProblem !== undefined) { issues.push({ path, message: kindProblem }); return; }
    // Actions listed online (MCP tools) are checked when the gateway starts.
    if (kind?.listsActionsOnline === true) return;
    const problem = grantTargetProblem(parsed.value, systems, actions);
    if (problem !== undefined) { issues.push({ path, message: `grant "${text}": ${problem}` }); return; }
    const { system, resource } = parsed.value;
    const high: CompiledAction[] = [];
    const onResource = [...actions.values()].filter((a) => a.system === system && a.resource === resource);
    for (const verb of coveredVerbs(parsed.value.verb)) {
      const matching = onResource.filter((a) => a.verb === verb);
      if (matching.length === 0) {
        issues.push({ path, message: `grant "${text}": ${system}:${resource} has no ${verb} action; its actions are ${[...new Set(onResource.map((a) => a.verb))].join(', ')}` });
        return;
      }
      high.push(...matching.filter((a) => a.risk === 'high'));
    }
    const first = high[0];
    if (first !== undefined && !explicit) {
      issues.push({ path, message: `grant "${text}" is high risk (${first.riskWhy.replace(/^high risk: /, '')}); confirm it by writing { grant: "${text}", explicit: true } (its actions will always need approval)` });
    }
    const scopeKey = `${system}:${resource}`;
    // Only kinds that bound records by a field (SQL tables) take data scopes; others are bounded by their grants.
    if (parsed.value.verb !== 'read' && kind?.scopeProblem !== undefined && !(scopeKey in workflow.bounds.scope) && !unscoped.has(scopeKey)) {
      unscoped.add(scopeKey);
      issues.push({ path, message: `grant "${text}" writes ${scopeKey}, and writes must be bounded to a data scope: add bounds.scope["${scopeKey}"], e.g. { field: created_at, within: 24h }` });
    }
  });

  for (const [key, bound] of Object.entries(workflow.bounds.scope)) {
    const path = at('bounds', 'scope', key);
    const target = parseScopeKey(key);
    if (target === undefined) { issues.push({ path, at: 'key', message: `scope key "${key}" must be "system:resource", e.g. "crm:leads"` }); continue; }
    if (!systems.has(target.system) && has('systems', target.system)) continue;
    const scoped = systems.get(target.system);
    if (scoped === undefined) { issues.push({ path, at: 'key', message: `scope "${key}": ${noSystem(target.system, systems)}` }); continue; }
    const scopeProblem = kinds.get(scoped.kind)?.scopeProblem;
    if (scopeProblem === undefined) {
      const scopable = [...kinds.values()].filter((k) => k.scopeProblem !== undefined).map((k) => k.kind).join(', ');
      issues.push({ path, at: 'key', message: `scope "${key}": data scopes bound records of ${scopable} systems only; ${scoped.kind} system "${target.system}" cannot be bounded by a field, so remove this scope (its grants bound it)` });
      continue;
    }
    const problem = scopeProblem(scoped, target.resource, bound.field);
    if (problem !== undefined) issues.push(problem.at === 'key' ? { path, at: 'key', message: `scope "${key}": ${problem.message}` } : { path: [...path, 'field'], message: problem.message });
  }
  return issues;
}

/** Why a system name names no system, with a suggestion. */
function noSystem(name: string, systems: ReadonlyMap<string, SystemConfig>): string {
  const names = [...systems.keys()];
  return names.length === 0 ? `no system "${name}": systems is empty` : `no system "${name}" in systems${didYouMean(name, names)}`;
}

/** What is wrong with the system or the resource and field a grant names, if anything, from the action catalog. */
function grantTargetProblem(grant: Grant, systems: ReadonlyMap<string, SystemConfig>, actions: ReadonlyMap<string, CompiledAction>): string | undefined {
  if (!systems.has(grant.system)) return noSystem(grant.system, systems);
  return resourceProblem(grant, [...actions.values()].filter((a) => a.system === grant.system));
}

/** What is wrong with the resource or field a grant names on a system without tables, from its actions. */
function resourceProblem(grant: Grant, actions: readonly CompiledAction[]): string | undefined {
  const resources = [...new Set(actions.map((a) => a.resource))];
  const onResource = actions.filter((a) => a.resource === grant.resource);
  if (onResource.length === 0) return `system "${grant.system}" has no resource "${grant.resource}"${didYouMean(grant.resource, resources) || `; its resources are ${resources.join(', ')}`}`;
  if (grant.field === undefined) return undefined;
  // A field is known when an action lists it; when some action's fields are not listed (a free-form body), any field may be granted.
  if (onResource.some((a) => a.spec.fields === undefined && a.verb !== 'read' && a.verb !== 'delete')) return undefined;
  const fields = [...new Set(onResource.flatMap((a) => a.spec.fields ?? []))];
  return fields.includes(grant.field) ? undefined : `${grant.system}:${grant.resource} has no field "${grant.field}"${didYouMean(grant.field, fields) || (fields.length > 0 ? `; its fields are ${fields.join(', ')}` : '')}`;
}
