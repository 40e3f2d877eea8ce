/** Tool names: every name matches the pattern clients accept, long names included, and is stable. */
import { describe, expect, it } from 'vitest';
import { TOOL_NAME_PATTERN } from '../config/schema.js';
import { parseConfigText } from '../config/load.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { harnessConfig } from '../testing/harness.js';
import { agentTools } from './agent-tools.js';

const LONG = `t${'x'.repeat(79)}`;

function compile() {
  const yaml = harnessConfig({ extraWorkflowYaml: `
  long:
    description: A table with a long name
    agent: lead-router
    department: sales
    owner: tom
    runbook: By hand.
    grants: [crm:${LONG}:read, crm:${LONG}.name:update]
    bounds: { scope: { "crm:${LONG}": { field: created_at, within: 24h } } }` })
    .replace('leads: { primaryKey: id,', `${LONG}: { primaryKey: id, columns: [id, name, created_at] }\n      leads: { primaryKey: id,`);
  const parsed = parseConfigText(yaml, { kinds: SYSTEM_KINDS, source: 'p.yaml', baseDir: '/tmp', env: { K_AGENT: 'a', K_OTHER: 'b', T_DANA: 'c', T_DELE: 'd', T_FAY: 'e', T_TOM: 'f', T_ADA: 'g' } });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  return parsed.config;
}

describe('agent tool names', () => {
  it('match ^[a-zA-Z0-9_-]{1,64}$, long and dotted names included, and stay the same across compiles', () => {
    const config = compile();
    const agent = config.agents.get('lead-router');
    if (agent === undefined) throw new Error('no agent');
    const names = agentTools(config, agent).granted.map((t) => t.name);
    expect(names).toContain('crm__leads__update');
    const long = names.filter((n) => n.includes('txxx'));
    expect(long).toHaveLength(2);
    for (const name of names) expect(name).toMatch(TOOL_NAME_PATTERN);
    expect(new Set(names).size).toBe(names.length);
    expect(agentTools(compile(), agent).granted.map((t) => t.name)).toEqual(names);
  });
});
