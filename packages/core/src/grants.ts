/**
 * Grants: least privilege, deny by default. A grant names a system, a resource, optionally
 * one field, and a verb: `crm:leads:read`, `crm:leads.owner_id:update`. The verb `write`
 * stands for create and update together. A field-level grant allows touching that field
 * only; anything outside every grant is denied, never trimmed (SPEC rule 4).
 */
import { VERBS, type Verb } from './risk.js';

/** Verbs a grant may name: the action verbs, plus `write` for create + update. */
export const GRANT_VERBS = [...VERBS, 'write'] as const;
export type GrantVerb = (typeof GRANT_VERBS)[number];

/** A parsed grant. `field` is absent for a resource-level grant. */
export interface Grant {
  readonly system: string;
  readonly resource: string;
  readonly field?: string;
  readonly verb: GrantVerb;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Parses `system:resource[.field]:verb`. Returns an error value that names the part that is
 * wrong and shows the expected shape.
 */
export function parseGrant(text: string): { ok: true; value: Grant } | { ok: false; error: string } {
  const parts = text.split(':');
  const shape = 'expected "system:resource:verb" or "system:resource.field:verb", e.g. "crm:leads.owner_id:update"';
  if (parts.length !== 3) return { ok: false, error: `grant "${text}" has ${parts.length} part(s); ${shape}` };
  const [system, target, verb] = parts as [string, string, string];
  const dot = target.indexOf('.');
  const resource = dot === -1 ? target : target.slice(0, dot);
  const field = dot === -1 ? undefined : target.slice(dot + 1);
  if (!NAME.test(system)) return { ok: false, error: `grant "${text}": system "${system}" is not a valid name; ${shape}` };
  if (!NAME.test(resource)) return { ok: false, error: `grant "${text}": resource "${resource}" is not a valid name; ${shape}` };
  if (field !== undefined && !NAME.test(field)) return { ok: false, error: `grant "${text}": field "${field}" is not a valid name; ${shape}` };
  if (!(GRANT_VERBS as readonly string[]).includes(verb)) {
    return { ok: false, error: `grant "${text}": verb "${verb}" is not one of ${GRANT_VERBS.join(', ')}` };
  }
  if (field !== undefined && verb !== 'read' && verb !== 'update' && verb !== 'create' && verb !== 'write') {
    return { ok: false, error: `grant "${text}": a field-level grant can only read, create, update or write; "${verb}" applies to whole records` };
  }
  return { ok: true, value: field === undefined ? { system, resource, verb: verb as GrantVerb } : { system, resource, field, verb: verb as GrantVerb } };
}

/** Formats a grant back to its text form. */
export function formatGrant(grant: Grant): string {
  return `${grant.system}:${grant.resource}${grant.field === undefined ? '' : `.${grant.field}`}:${grant.verb}`;
}

/** The action verbs a grant verb covers. */
export function coveredVerbs(verb: GrantVerb): Verb[] {
  return verb === 'write' ? ['create', 'update'] : [verb];
}

/** What one (system, resource, verb) is allowed: everything, or only some fields. */
export interface GrantCoverage {
  readonly whole: boolean;
  readonly fields: ReadonlySet<string>;
}

/** Grants compiled for lookup by `system:resource:verb`; built once per workflow. */
export type GrantIndex = ReadonlyMap<string, GrantCoverage>;

/** The lookup key of a grant index. */
export function grantKey(system: string, resource: string, verb: Verb): string {
  return `${system}:${resource}:${verb}`;
}

/** Compiles grants into an index for constant-time checks. */
export function compileGrants(grants: readonly Grant[]): GrantIndex {
  const index = new Map<string, { whole: boolean; fields: Set<string> }>();
  for (const grant of grants) {
    for (const verb of coveredVerbs(grant.verb)) {
      const key = grantKey(grant.system, grant.resource, verb);
      let coverage = index.get(key);
      if (coverage === undefined) {
        coverage = { whole: false, fields: new Set() };
        index.set(key, coverage);
      }
      if (grant.field === undefined) coverage.whole = true;
      else coverage.fields.add(grant.field);
    }
  }
  return index;
}

/** The outcome of checking a request against a grant index. */
export type GrantCheck =
  | { readonly kind: 'granted' }
  | { readonly kind: 'no_grant' }
  | { readonly kind: 'fields_outside_grant'; readonly fields: readonly string[] };

/**
 * Checks that `verb` on `system:resource` touching `fields` is granted. A resource-level
 * grant covers every field; otherwise every touched field must be granted one by one.
 * An action that touches no named field (a delete, a whole-record read) needs a
 * resource-level grant.
 */
export function checkGrant(index: GrantIndex, system: string, resource: string, verb: Verb, fields: readonly string[]): GrantCheck {
  const coverage = index.get(grantKey(system, resource, verb));
  if (coverage === undefined) return { kind: 'no_grant' };
  if (coverage.whole) return { kind: 'granted' };
  if (fields.length === 0) return { kind: 'no_grant' };
  let outside: string[] | undefined;
  for (const field of fields) {
    if (!coverage.fields.has(field)) (outside ??= []).push(field);
  }
  return outside === undefined ? { kind: 'granted' } : { kind: 'fields_outside_grant', fields: outside };
}
