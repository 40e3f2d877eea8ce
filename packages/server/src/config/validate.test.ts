import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG } from './example.js';
import { formatConfigError, parseConfigText } from './load.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';

/** The formatted errors of a config that must be rejected. */
function reject(text: string, env: Record<string, string> = {}): string[] {
  const result = parseConfigText(text, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: '/srv/portcullis', env });
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors.map(formatConfigError);
}

function accept(text: string, env: Record<string, string> = {}) {
  const result = parseConfigText(text, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: '/srv/portcullis', env });
  if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('\n'));
  return result.config;
}

/** `line:column` of the first occurrence of `needle` in `text`, 1-based. */
function at(text: string, needle: string): string {
  const index = text.indexOf(needle);
  if (index === -1) throw new Error(`"${needle}" is not in the text`);
  const before = text.slice(0, index).split('\n');
  return `${before.length}:${(before[before.length - 1] as string).length + 1}`;
}

function edit(...pairs: [string, string][]): string {
  let text = EXAMPLE_CONFIG;
  for (const [from, to] of pairs) {
    if (!text.includes(from)) throw new Error(`"${from}" is not in the example`);
    // A function, so a "$'" or "$&" in generated text is taken as it is, not as a replacement pattern.
    text = text.replace(from, () => to);
  }
  return text;
}

const GRANTS = '      - crm:leads.status:update\n';
const withGrant = (grant: string): string => edit([GRANTS, `${GRANTS}      - ${grant}\n`]);

describe('references', () => {
  it('rejects references to people, departments and agents that do not exist, suggesting a close name', () => {
    const text = edit(['    owner: tom\n    department: sales', '    owner: tomm\n    department: sales'], ['agent: lead-router', 'agent: lead-routr'], ['    department: sales\n    owner: tom', '    department: marketing\n    owner: tom'], ['delegates: []', 'delegates: [bob]']);
    expect(reject(text)).toEqual([
      `portcullis.yaml:${at(text, 'bob')} departments.sales.delegates[0]: no person "bob" in people`,
      `portcullis.yaml:${at(text, 'tomm')} agents.lead-router.owner: no person "tomm" in people; did you mean "tom"?`,
      `portcullis.yaml:${at(text, 'lead-routr')} workflows.route-leads.agent: no agent "lead-routr" in agents; did you mean "lead-router"?`,
      `portcullis.yaml:${at(text, 'marketing')} workflows.route-leads.department: no department "marketing" in departments`,
    ]);
  });

  it('rejects a department with no leads: nobody could approve', () => {
    const text = edit(['leads: [dana]', 'leads: []']);
    expect(reject(text)).toEqual([
      `portcullis.yaml:30:12 departments.sales.leads: department "sales" has no leads, so nobody could approve its workflows' actions; list at least one person id in leads`,
    ]);
  });

  it('rejects a workflow whose only approver is its agent\'s technical owner, unless owner approval is allowed', () => {
    const text = edit(['leads: [dana]', 'leads: [tom]']);
    expect(reject(text)[0]).toContain('workflows.route-leads.department: nobody could approve workflow "route-leads": the only lead or delegate of department "sales" is tom');
    expect(accept(text.replace('allowOwnerApproval: false', 'allowOwnerApproval: true')).workflows.get('route-leads')?.approvers.allowOwnerApproval).toBe(true);
  });

  it('rejects a primary key that is not a column', () => {
    expect(reject(edit(['primaryKey: id', 'primaryKey: lead_id']))).toEqual([
      'portcullis.yaml:21:21 systems.crm.tables.leads.primaryKey: primary key "lead_id" is not one of the columns of crm:leads; add it to columns or name the right column',
    ]);
  });
});

describe('grants', () => {
  it('rejects grants on systems, tables and columns that do not exist', () => {
    const text = edit([GRANTS, `${GRANTS}      - crmm:leads:read\n      - crm:lead:read\n      - crm:leads.ownerid:update\n      - crm:leads:send\n      - crm/leads/read\n`]);
    expect(reject(text)).toEqual([
      'portcullis.yaml:62:9 workflows.route-leads.grants[3]: grant "crmm:leads:read": no system "crmm" in systems; did you mean "crm"?',
      'portcullis.yaml:63:9 workflows.route-leads.grants[4]: grant "crm:lead:read": system "crm" has no table "lead"; did you mean "leads"?',
      'portcullis.yaml:64:9 workflows.route-leads.grants[5]: grant "crm:leads.ownerid:update": crm:leads has no column "ownerid"; did you mean "owner_id"?',
      'portcullis.yaml:65:9 workflows.route-leads.grants[6]: grant "crm:leads:send": crm:leads has no send action; its actions are read, create, update, delete',
      'portcullis.yaml:66:9 workflows.route-leads.grants[7]: grant "crm/leads/read" has 1 part(s); expected "system:resource:verb" or "system:resource.field:verb", e.g. "crm:leads.owner_id:update"',
    ]);
  });

  it('rejects a delete grant without explicit: true, saying how to confirm it', () => {
    expect(reject(withGrant('crm:leads:delete'))).toEqual([
      'portcullis.yaml:62:9 workflows.route-leads.grants[3]: grant "crm:leads:delete" is high risk (deletes data); confirm it by writing { grant: "crm:leads:delete", explicit: true } (its actions will always need approval)',
    ]);
    const config = accept(withGrant('{ grant: crm:leads:delete, explicit: true }'));
    expect(config.workflows.get('route-leads')?.grants.has('crm:leads:delete')).toBe(true);
  });

  it('rejects a write without a data scope on its resource, once per resource', () => {
    const text = edit(['      scope:\n        "crm:leads": { field: created_at, within: 24h }\n', '']);
    expect(reject(text)).toEqual([
      'portcullis.yaml:60:9 workflows.route-leads.grants[1]: grant "crm:leads.owner_id:update" writes crm:leads, and writes must be bounded to a data scope: add bounds.scope["crm:leads"], e.g. { field: created_at, within: 24h }',
    ]);
  });

  it('lets a read-only workflow go without a scope', () => {
    const text = edit(['      - crm:leads.owner_id:update\n      - crm:leads.status:update\n', ''], ['      scope:\n        "crm:leads": { field: created_at, within: 24h }\n', '']);
    expect(accept(text).workflows.get('route-leads')?.scope.size).toBe(0);
  });

  it('rejects scopes on unknown resources and scope fields that are not columns', () => {
    const text = edit(['"crm:leads": { field: created_at, within: 24h }', '"crm:leads": { field: createdAt, within: 24h }\n        "crm:contacts": { field: created_at, within: 1d }\n        crm.leads: { field: created_at, within: 1d }']);
    expect(reject(text)).toEqual([
      'portcullis.yaml:64:31 workflows.route-leads.bounds.scope["crm:leads"].field: "createdAt" is not a column of crm:leads; did you mean "created_at"?',
      'portcullis.yaml:65:9 workflows.route-leads.bounds.scope["crm:contacts"]: scope "crm:contacts": system "crm" has no table "contacts"',
      'portcullis.yaml:66:9 workflows.route-leads.bounds.scope["crm.leads"]: scope key "crm.leads" must be "system:resource", e.g. "crm:leads"',
    ]);
  });

  it('rejects a scope window that is not a duration', () => {
    const text = edit(['within: 24h', 'within: 24 hours']);
    expect(reject(text)).toEqual([
      'portcullis.yaml:64:51 workflows.route-leads.bounds.scope["crm:leads"].within: "24 hours" is not a duration; write a whole number followed by a unit: s (seconds), m (minutes), h (hours) or d (days), e.g. "30s", "15m", "24h", "7d"',
    ]);
  });
});

describe('high-risk mode', () => {
  it('never compiles a workflow whose high-risk actions run without approval', () => {
    fc.assert(fc.property(fc.oneof(fc.constantFrom('auto', 'approval', 'Auto', 'never', ''), fc.string()), (high) => {
      const result = parseConfigText(edit(['high: approval }', `high: ${JSON.stringify(high)} }`]), { kinds: SYSTEM_KINDS, env: {} });
      if (result.ok) expect(result.config.workflows.get('route-leads')?.mode.high).toBe('approval');
      else expect(result.errors.map((e) => e.message)).toContain('high-risk actions always need approval; remove mode.high or set it to approval');
      expect(result.ok).toBe(high === 'approval');
    }), { numRuns: 50 });
  });
});

describe('risk overrides', () => {
  it('rejects lowering the risk of an action', () => {
    const text = edit(['crm.leads.update: { tags: [] }', 'crm.leads.delete: { risk: write }']);
    expect(reject(text)).toEqual([
      'portcullis.yaml:25:29 actions["crm.leads.delete"].risk: crm.leads.delete: risk "write" is below "high", the lowest class allowed because it is tagged delete; risk can be raised, never lowered',
    ]);
  });

  it('raises risk by class or by tag, and then the grant must be explicit', () => {
    for (const override of ['{ risk: high }', '{ tags: [financial] }']) {
      const text = edit(['crm.leads.update: { tags: [] }', `crm.leads.update: ${override}`]);
      expect(reject(text)[0]).toContain('workflows.route-leads.grants[1]: grant "crm:leads.owner_id:update" is high risk');
      const config = accept(text.replace('- crm:leads.owner_id:update', '- { grant: crm:leads.owner_id:update, explicit: true }').replace('- crm:leads.status:update', '- { grant: crm:leads.status:update, explicit: true }'));
      expect(config.actions.get('crm.leads.update')?.risk).toBe('high');
    }
    expect(accept(edit(['crm.leads.update: { tags: [] }', 'crm.leads.read: { risk: write }'])).actions.get('crm.leads.read')).toMatchObject({ risk: 'write', riskWhy: 'write risk: raised by configuration' });
  });

  it('rejects overrides of actions no system offers', () => {
    expect(reject(edit(['crm.leads.update: { tags: [] }', 'crm.leads.updat: { risk: high }']))).toEqual([
      'portcullis.yaml:25:3 actions["crm.leads.updat"]: no system offers an action "crm.leads.updat"; did you mean "crm.leads.update"?',
    ]);
  });
});

describe('keys and secrets', () => {
  it('rejects a plain key, saying to use keyHash or keyEnv and how to get a hash', () => {
    const text = edit(['    keyHash: "sha256:557f', '    key: "sha256:557f']);
    const [error] = reject(text);
    expect(error).toContain(`portcullis.yaml:${at(text, 'key: "sha256')} agents.lead-router.key: unknown key "key": an agent's key is never written in the config: use keyHash`);
    expect(error).toContain('keyEnv');
    expect(error).toContain('`portcullis keys new` prints a key and its hash');
  });

  it('rejects a plain token for a person', () => {
    const text = edit(['    tokenHash: "sha256:171d', '    token: "sha256:171d']);
    expect(reject(text)[0]).toContain('people.dana.token: unknown key "token": a person\'s token is never written in the config: use tokenHash');
  });

  it('rejects an agent with no key, and a malformed hash', () => {
    const noKey = edit([/* the agent's key line */ '    keyHash: "sha256:557f23340682781f6137ad4d653eb0a4f48de03cbbbe936f5a2234e6f2dfced5"\n', '']);
    expect(reject(noKey)[0]).toContain('agents.lead-router: agent "lead-router" has no key: add keyHash');
    const short = edit(['keyHash: "sha256:557f23340682781f6137ad4d653eb0a4f48de03cbbbe936f5a2234e6f2dfced5"', 'keyHash: "557f2334"']);
    expect(reject(short)[0]).toContain('agents.lead-router.keyHash: expected "sha256:" and 64 hex digits');
  });

  it('rejects two callers with the same key', () => {
    const text = edit(['keyHash: "sha256:557f23340682781f6137ad4d653eb0a4f48de03cbbbe936f5a2234e6f2dfced5"', 'keyHash: "sha256:171D0D8A25CEC313731AB1E5D33D36A652E819EF3616562AE4121474729173F3"']);
    expect(reject(text)).toEqual([
      `portcullis.yaml:${at(text, '"sha256:171D')} agents.lead-router.keyHash: this is the same key as people.dana.tokenHash; every agent and person needs a key of their own (\`portcullis keys new\` prints a new one)`,
    ]);
  });
});

describe('store', () => {
  it('refuses a postgres store, which is planned, at store.kind with the fix (not only when the gateway starts)', () => {
    const refusal = 'portcullis.yaml:8:9 store.kind: "postgres" is planned, not available in this version; use kind: sqlite (the default: one file next to the config, nothing to set up), or leave store out';
    const text = edit(['  kind: sqlite\n  path: ./.portcullis/portcullis.db', '  kind: postgres\n  url: postgres://localhost/portcullis']);
    expect(reject(text)).toEqual([refusal]);
    // Only the refusal: no advice on a url the gateway could not use anyway.
    expect(reject(text.replace('\n  url: postgres://localhost/portcullis', ''))).toEqual([refusal]);
  });

  it('rejects an unknown store kind', () => {
    expect(reject(edit(['kind: sqlite\n', 'kind: mysql\n']))).toEqual(['portcullis.yaml:8:9 store.kind: expected kind: sqlite or kind: postgres']);
  });
});
