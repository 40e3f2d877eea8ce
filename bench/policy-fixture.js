/**
 * The policy of the policy benchmark, built the way the config compiler builds it: 1,000
 * workflows, 10,000 grants (10 per workflow: 2 resource-level reads, 1 resource-level
 * create, 7 field-level writes/updates), 250 agents with 4 workflows each, over 5 systems
 * of 20 resources of 12 fields. Grants are parsed with the core's `parseGrant` and indexed
 * with `compileGrants`, exactly as `config/compile.ts` does. The same grants are also laid
 * out for the plain-Map floor, Cedar and casbin, and one stream of requests (80% allowed,
 * 10% touching a field outside the grants, 10% with no grant at all) is shared by every
 * engine, so they decide the same questions.
 */

const SYSTEMS = ['crm', 'erp', 'billing', 'support', 'hr'];
const RESOURCES = 20;
const FIELDS = 12;

/** A small deterministic PRNG (mulberry32), so every run builds the same policy. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds the fixture.
 * @param core the built @portcullis/core module
 */
export function buildPolicyFixture(core, { workflows = 1000, grantsPerWorkflow = 10, agentsEvery = 4, requests = 8192, seed = 42 } = {}) {
  const random = prng(seed);
  const pick = (n) => Math.floor(random() * n);
  const resource = (s, r) => ({ system: SYSTEMS[s], resource: `res${r}` });
  const field = (f) => `field${f}`;

  /** Action types, one per (system, resource, verb), as the catalog compiles them. */
  const actions = new Map();
  const actionOf = (system, res, verb) => {
    const name = `${system}.${res}.${verb}`;
    let action = actions.get(name);
    if (action === undefined) {
      const risk = verb === 'read' ? 'read' : verb === 'delete' ? 'high' : 'write';
      action = Object.freeze({ name, system, resource: res, verb, risk, riskWhy: `${verb} of ${res}`, tags: Object.freeze([]), reversible: true });
      actions.set(name, action);
    }
    return action;
  };

  const policies = new Map();
  /** Grant texts by workflow, for the reference engines. */
  const grantTexts = new Map();
  let grantCount = 0;
  for (let w = 0; w < workflows; w += 1) {
    const id = `wf-${w}`;
    const agent = `agent-${Math.floor(w / agentsEvery)}`;
    const s = pick(SYSTEMS.length);
    const [r1, r2, r3] = [pick(RESOURCES), pick(RESOURCES), pick(RESOURCES)];
    const a = resource(s, r1);
    const b = resource(s, r2 === r1 ? (r1 + 1) % RESOURCES : r2);
    const c = resource(s, r3);
    const texts = [
      `${a.system}:${a.resource}:read`,
      `${b.system}:${b.resource}:read`,
      `${c.system}:${c.resource}:create`,
    ];
    const start = pick(FIELDS);
    for (let i = 0; texts.length < grantsPerWorkflow; i += 1) {
      const target = i < 4 ? a : b;
      texts.push(`${target.system}:${target.resource}.${field((start + i) % FIELDS)}:${i < 4 ? 'write' : 'update'}`);
    }
    const grants = texts.map((text) => {
      const parsed = core.parseGrant(text);
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value;
    });
    grantCount += grants.length;
    grantTexts.set(id, grants);
    policies.set(id, Object.freeze({
      id, agent, department: `dept-${w % 20}`,
      mode: Object.freeze({ read: 'auto', write: 'auto', high: 'approval' }),
      grants: core.compileGrants(grants),
      bounds: Object.freeze({ maxRecordsPerAction: 10 }),
      // Kept for building requests; the policy itself reads only the fields above.
      fixture: { a, b, c, start },
    }));
  }

  /** The request stream: [workflowId, PolicyRequest, expected outcome]. */
  const stream = [];
  for (let i = 0; i < requests; i += 1) {
    const w = pick(workflows);
    const policy = policies.get(`wf-${w}`);
    const { a, b, start } = policy.fixture;
    const roll = random();
    let action;
    let fields;
    if (roll < 0.15) {
      action = actionOf(a.system, a.resource, 'read');
      fields = [];
    } else if (roll < 0.8) {
      // An update of 1–3 granted fields: allowed.
      const onA = random() < 0.6;
      const target = onA ? a : b;
      const first = onA ? 0 : 4;
      const span = onA ? 4 : 3;
      const n = 1 + pick(Math.min(3, span));
      action = actionOf(target.system, target.resource, onA && random() < 0.3 ? 'create' : 'update');
      fields = Array.from({ length: n }, (_, k) => field((start + first + ((k + pick(span)) % span)) % FIELDS));
      fields = [...new Set(fields)];
    } else if (roll < 0.9) {
      // One granted field and one outside the grants: denied, nothing trimmed.
      action = actionOf(a.system, a.resource, 'update');
      fields = [field(start % FIELDS), field((start + 7 + pick(4)) % FIELDS)];
    } else {
      // A resource no grant of this workflow names: denied.
      const other = SYSTEMS[(SYSTEMS.indexOf(a.system) + 1) % SYSTEMS.length];
      action = actionOf(other, a.resource, 'update');
      fields = [field(0)];
    }
    stream.push({ workflow: policy.id, request: Object.freeze({ agent: policy.agent, action, fields: Object.freeze(fields), recordCount: 1 }) });
  }
  return { policies, grantTexts, grantCount, stream, context: Object.freeze({ agentActive: true, workflowActive: true }) };
}

/**
 * The floor: one Map keyed by (agent, workflow, system:resource, verb) whose value says
 * whether the whole resource is granted or which fields are, plus a field-subset check.
 */
export function buildMapFloor(core, fixture) {
  const map = new Map();
  for (const [workflow, grants] of fixture.grantTexts) {
    const agent = fixture.policies.get(workflow).agent;
    for (const grant of grants) {
      for (const verb of core.coveredVerbs(grant.verb)) {
        const key = `${agent}|${workflow}|${grant.system}:${grant.resource}|${verb}`;
        let entry = map.get(key);
        if (entry === undefined) map.set(key, entry = { whole: false, fields: new Set() });
        if (grant.field === undefined) entry.whole = true;
        else entry.fields.add(grant.field);
      }
    }
  }
  return (workflow, request) => {
    const { action, fields } = request;
    const entry = map.get(`${request.agent}|${workflow}|${action.system}:${action.resource}|${action.verb}`);
    if (entry === undefined) return false;
    if (entry.whole) return true;
    if (fields.length === 0) return false;
    for (let i = 0; i < fields.length; i += 1) if (!entry.fields.has(fields[i])) return false;
    return true;
  };
}

/**
 * The same policy in Cedar: each agent is an entity whose `grants` attribute is the set of
 * `workflow|system:resource:verb` and `workflow|system:resource.field:verb` strings it holds
 * (write expanded to create and update, as compileGrants does); one policy permits a
 * request whose resource-level key is granted, or whose every field key is.
 * @param cedar the @cedar-policy/cedar-wasm/nodejs module
 */
export function buildCedar(core, cedar, fixture) {
  const grantsByAgent = new Map();
  for (const [workflow, grants] of fixture.grantTexts) {
    const agent = fixture.policies.get(workflow).agent;
    let set = grantsByAgent.get(agent);
    if (set === undefined) grantsByAgent.set(agent, set = []);
    for (const grant of grants) {
      for (const verb of core.coveredVerbs(grant.verb)) {
        set.push(`${workflow}|${grant.system}:${grant.resource}${grant.field === undefined ? '' : `.${grant.field}`}:${verb}`);
      }
    }
  }
  const entities = new Map([...grantsByAgent].map(([agent, grants]) => [agent, [{ uid: { type: 'Agent', id: agent }, attrs: { grants }, parents: [] }]]));
  const policyText = `permit (principal, action, resource)
when {
  principal.grants.contains(context.whole) ||
  (context.fields != [] && principal.grants.containsAll(context.fields))
};`;
  const parsed = cedar.preparsePolicySet('portcullis-bench', { staticPolicies: policyText });
  if (parsed.type !== 'success') throw new Error(`cedar policy did not parse: ${JSON.stringify(parsed.errors)}`);
  return (workflow, request) => {
    const { action } = request;
    const prefix = `${workflow}|${action.system}:${action.resource}`;
    const answer = cedar.statefulIsAuthorized({
      principal: { type: 'Agent', id: request.agent },
      action: { type: 'Action', id: action.verb },
      resource: { type: 'Resource', id: `${action.system}:${action.resource}` },
      context: { whole: `${prefix}:${action.verb}`, fields: request.fields.map((f) => `${prefix}.${f}:${action.verb}`) },
      preparsedPolicySetId: 'portcullis-bench',
      validateRequest: false,
      entities: entities.get(request.agent) ?? [],
    });
    if (answer.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(answer.errors)}`);
    return answer.response.decision === 'allow';
  };
}

/** The casbin model: one policy line per grant (write expanded), matched on every request part. */
export const CASBIN_MODEL = `
[request_definition]
r = sub, wf, obj, act

[policy_definition]
p = sub, wf, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.wf == p.wf && r.obj == p.obj && r.act == p.act
`;

/**
 * The same policy in node-casbin: a request is allowed when the resource-level line matches,
 * or when a field-level line matches for every field it touches.
 * @param casbin the casbin module
 */
export async function buildCasbin(core, casbin, fixture) {
  const enforcer = await casbin.newEnforcer(casbin.newModelFromString(CASBIN_MODEL));
  const lines = [];
  for (const [workflow, grants] of fixture.grantTexts) {
    const agent = fixture.policies.get(workflow).agent;
    for (const grant of grants) {
      for (const verb of core.coveredVerbs(grant.verb)) {
        lines.push([agent, workflow, `${grant.system}:${grant.resource}${grant.field === undefined ? '' : `.${grant.field}`}`, verb]);
      }
    }
  }
  await enforcer.addPolicies(lines);
  const decide = (workflow, request) => {
    const { action, fields } = request;
    const obj = `${action.system}:${action.resource}`;
    if (enforcer.enforceSync(request.agent, workflow, obj, action.verb)) return true;
    if (fields.length === 0) return false;
    for (const f of fields) if (!enforcer.enforceSync(request.agent, workflow, `${obj}.${f}`, action.verb)) return false;
    return true;
  };
  return { decide, lines: lines.length };
}
