import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GRANT_VERBS, checkGrant, compileGrants, coveredVerbs, formatGrant, grantKey, parseGrant, type Grant } from './grants.js';
import { VERBS } from './risk.js';

function grants(...texts: string[]): Grant[] {
  return texts.map((text) => {
    const parsed = parseGrant(text);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  });
}

describe('parseGrant', () => {
  it.each([
    ['crm:leads:read', { system: 'crm', resource: 'leads', verb: 'read' }],
    ['crm:leads:write', { system: 'crm', resource: 'leads', verb: 'write' }],
    ['billing:invoices:pay', { system: 'billing', resource: 'invoices', verb: 'pay' }],
    ['crm:leads.owner_id:update', { system: 'crm', resource: 'leads', field: 'owner_id', verb: 'update' }],
    ['crm:leads.owner_id:write', { system: 'crm', resource: 'leads', field: 'owner_id', verb: 'write' }],
    ['crm:leads.email:read', { system: 'crm', resource: 'leads', field: 'email', verb: 'read' }],
    ['my-crm:_leads:create', { system: 'my-crm', resource: '_leads', verb: 'create' }],
  ])('accepts %s', (text, value) => {
    expect(parseGrant(text)).toEqual({ ok: true, value });
  });

  it('a resource-level grant has no field member at all', () => {
    const parsed = parseGrant('crm:leads:read');
    expect(parsed.ok && 'field' in parsed.value).toBe(false);
  });

  it.each([
    ['crm:leads', 'has 2 part(s)'],
    ['crm', 'has 1 part(s)'],
    ['crm:leads:read:extra', 'has 4 part(s)'],
    ['', 'has 1 part(s)'],
    ['1crm:leads:read', 'system "1crm" is not a valid name'],
    [':leads:read', 'system "" is not a valid name'],
    ['crm:lea ds:read', 'resource "lea ds" is not a valid name'],
    ['crm::read', 'resource "" is not a valid name'],
    ['crm:.owner_id:update', 'resource "" is not a valid name'],
    ['crm:leads.:update', 'field "" is not a valid name'],
    ['crm:leads.a.b:update', 'field "a.b" is not a valid name'],
    ['crm:leads.9x:update', 'field "9x" is not a valid name'],
    ['crm:leads:frobnicate', 'verb "frobnicate" is not one of'],
    ['crm:leads:READ', 'verb "READ" is not one of'],
    ['crm:leads:', 'verb "" is not one of'],
    ['crm:leads.owner_id:delete', 'a field-level grant can only read, create, update or write; "delete"'],
    ['crm:leads.owner_id:send', '"send" applies to whole records'],
    ['crm:leads.owner_id:pay', '"pay" applies to whole records'],
  ])('refuses %j, naming the bad part', (text, message) => {
    const parsed = parseGrant(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toContain(message);
    expect(parsed.error).toContain(`"${text}"`);
  });

  it('the shape hint shows an example', () => {
    const parsed = parseGrant('nope');
    expect(parsed).toEqual({ ok: false, error: expect.stringContaining('"crm:leads.owner_id:update"') });
  });

  it('property: formatGrant and parseGrant round-trip', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/);
    const grant = fc.oneof(
      fc.record({ system: name, resource: name, verb: fc.constantFrom(...GRANT_VERBS) }),
      fc.record({ system: name, resource: name, field: name, verb: fc.constantFrom('read', 'create', 'update', 'write') as fc.Arbitrary<Grant['verb']> }),
    );
    fc.assert(fc.property(grant, (g) => {
      expect(parseGrant(formatGrant(g))).toEqual({ ok: true, value: g });
    }));
  });
});

describe('coveredVerbs', () => {
  it('write covers create and update, nothing else', () => {
    expect(coveredVerbs('write')).toEqual(['create', 'update']);
  });
  it.each(VERBS)('%s covers only itself', (verb) => {
    expect(coveredVerbs(verb)).toEqual([verb]);
  });
});

describe('compileGrants + checkGrant', () => {
  it('deny by default: an empty index grants nothing', () => {
    const index = compileGrants([]);
    for (const verb of VERBS) {
      expect(checkGrant(index, 'crm', 'leads', verb, [])).toEqual({ kind: 'no_grant' });
      expect(checkGrant(index, 'crm', 'leads', verb, ['owner_id'])).toEqual({ kind: 'no_grant' });
    }
  });

  it('a resource-level grant covers every field of that verb, and only that verb, system and resource', () => {
    const index = compileGrants(grants('crm:leads:read'));
    expect(checkGrant(index, 'crm', 'leads', 'read', [])).toEqual({ kind: 'granted' });
    expect(checkGrant(index, 'crm', 'leads', 'read', ['email', 'owner_id'])).toEqual({ kind: 'granted' });
    expect(checkGrant(index, 'crm', 'leads', 'update', ['email'])).toEqual({ kind: 'no_grant' });
    expect(checkGrant(index, 'crm', 'contacts', 'read', [])).toEqual({ kind: 'no_grant' });
    expect(checkGrant(index, 'erp', 'leads', 'read', [])).toEqual({ kind: 'no_grant' });
  });

  it("'write' covers create and update, not read, delete, send or pay", () => {
    const index = compileGrants(grants('crm:leads:write'));
    expect(checkGrant(index, 'crm', 'leads', 'create', ['name'])).toEqual({ kind: 'granted' });
    expect(checkGrant(index, 'crm', 'leads', 'update', ['name'])).toEqual({ kind: 'granted' });
    for (const verb of ['read', 'delete', 'send', 'pay'] as const) {
      expect(checkGrant(index, 'crm', 'leads', verb, [])).toEqual({ kind: 'no_grant' });
    }
    expect([...index.keys()].sort()).toEqual([grantKey('crm', 'leads', 'create'), grantKey('crm', 'leads', 'update')]);
  });

  it('a field-level grant allows its field only; others are named, not trimmed', () => {
    const index = compileGrants(grants('crm:leads.owner_id:update'));
    expect(checkGrant(index, 'crm', 'leads', 'update', ['owner_id'])).toEqual({ kind: 'granted' });
    expect(checkGrant(index, 'crm', 'leads', 'update', ['owner_id', 'status', 'email'])).toEqual({ kind: 'fields_outside_grant', fields: ['status', 'email'] });
    expect(checkGrant(index, 'crm', 'leads', 'update', ['status'])).toEqual({ kind: 'fields_outside_grant', fields: ['status'] });
    // Touching no named field needs a resource-level grant.
    expect(checkGrant(index, 'crm', 'leads', 'update', [])).toEqual({ kind: 'no_grant' });
    // A field-level update does not grant create.
    expect(checkGrant(index, 'crm', 'leads', 'create', ['owner_id'])).toEqual({ kind: 'no_grant' });
  });

  it('a field-level write grant covers that field for create and update', () => {
    const index = compileGrants(grants('crm:leads.owner_id:write'));
    expect(checkGrant(index, 'crm', 'leads', 'create', ['owner_id'])).toEqual({ kind: 'granted' });
    expect(checkGrant(index, 'crm', 'leads', 'update', ['owner_id'])).toEqual({ kind: 'granted' });
    expect(checkGrant(index, 'crm', 'leads', 'update', ['name'])).toEqual({ kind: 'fields_outside_grant', fields: ['name'] });
  });

  it('field-level grants accumulate, and a resource-level grant beside them covers everything', () => {
    const fieldsOnly = compileGrants(grants('crm:leads.owner_id:update', 'crm:leads.status:write'));
    expect(checkGrant(fieldsOnly, 'crm', 'leads', 'update', ['owner_id', 'status'])).toEqual({ kind: 'granted' });
    expect(checkGrant(fieldsOnly, 'crm', 'leads', 'create', ['owner_id'])).toEqual({ kind: 'fields_outside_grant', fields: ['owner_id'] });
    const both = compileGrants(grants('crm:leads.owner_id:update', 'crm:leads:update'));
    expect(checkGrant(both, 'crm', 'leads', 'update', ['anything'])).toEqual({ kind: 'granted' });
  });

  it('property: a request is granted iff a resource grant exists or every touched field is granted', () => {
    const sys = fc.constantFrom('crm', 'erp');
    const res = fc.constantFrom('leads', 'deals');
    const field = fc.constantFrom('a', 'b', 'c');
    const grantArb: fc.Arbitrary<Grant> = fc.oneof(
      fc.record({ system: sys, resource: res, verb: fc.constantFrom(...GRANT_VERBS) }),
      fc.record({ system: sys, resource: res, field, verb: fc.constantFrom('read', 'create', 'update', 'write') as fc.Arbitrary<Grant['verb']> }),
    );
    fc.assert(fc.property(fc.array(grantArb, { maxLength: 8 }), sys, res, fc.constantFrom(...VERBS), fc.uniqueArray(field), (gs, s, r, verb, fields) => {
      const relevant = gs.filter((g) => g.system === s && g.resource === r && coveredVerbs(g.verb).includes(verb));
      const whole = relevant.some((g) => g.field === undefined);
      const grantedFields = new Set(relevant.flatMap((g) => (g.field === undefined ? [] : [g.field])));
      const outside = fields.filter((f) => !grantedFields.has(f));
      const result = checkGrant(compileGrants(gs), s, r, verb, fields);
      if (whole) expect(result).toEqual({ kind: 'granted' });
      else if (relevant.length === 0 || fields.length === 0) expect(result).toEqual({ kind: 'no_grant' });
      else if (outside.length === 0) expect(result).toEqual({ kind: 'granted' });
      else expect(result).toEqual({ kind: 'fields_outside_grant', fields: outside });
    }));
  });
});
