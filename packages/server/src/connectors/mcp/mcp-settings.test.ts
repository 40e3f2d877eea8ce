import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfigText } from '../../config/load.js';
import { SYSTEM_KINDS } from '../registry.js';
import { isMcpSystem } from './mcp-settings.js';

const base = (system: string, grants = '[memory:read_graph:read]', actions = ''): string => `
version: 1
systems:
  memory:
${system}
${actions}
departments: { ops: { name: Ops, leads: [lee] } }
people: { lee: { name: Lee }, own: { name: Own } }
agents: { bot: { name: Bot, owner: own, department: ops, keyHash: "sha256:${'a'.repeat(64)}" } }
workflows:
  notes:
    description: Notes
    agent: bot
    department: ops
    owner: own
    runbook: By hand.
    grants: ${grants}
`;
const stdio = '    kind: mcp\n    command: npx\n    args: ["-y", "@modelcontextprotocol/server-memory"]';

function parse(text: string, env: Record<string, string> = {}) {
  return parseConfigText(text, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: '/srv/portcullis', env });
}
function errors(text: string, env: Record<string, string> = {}): string {
  const result = parse(text, env);
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors.map(formatConfigError).join('\n');
}

describe('kind: mcp systems', () => {
  it('compiles a stdio upstream with named environment values, and the hold time', () => {
    const result = parse(base(`${stdio}\n    env: { MEMORY_FILE_PATH: { env: MEM }, TOKEN: { vault: tok } }\n    cwd: ./work`).replace('version: 1', 'version: 1\nmcp: { holdTime: 20s }'), { MEM: '/data/mem.jsonl' });
    if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('\n'));
    const system = result.config.systems.get('memory');
    expect(system).toMatchObject({ kind: 'mcp', timeoutMs: 30_000, transport: { kind: 'stdio', command: 'npx', cwd: '/srv/portcullis/work' } });
    if (!isMcpSystem(system) || system.transport.kind !== 'stdio') throw new Error('not stdio');
    expect(system.transport.env.get('MEMORY_FILE_PATH')).toEqual({ kind: 'env', variable: 'MEM', value: '/data/mem.jsonl' });
    expect(system.transport.env.get('TOKEN')).toEqual({ kind: 'vault', system: 'memory', name: 'tok' });
    expect(result.config.mcp.holdMs).toBe(20_000);
    // Tools are listed when the gateway starts, not at load.
    expect([...result.config.actions.keys()]).toEqual([]);
  });

  it('defaults the hold time below the common 60 s client timeout', () => {
    const result = parse(base(stdio));
    expect(result.ok && result.config.mcp.holdMs).toBe(50_000);
  });

  it('refuses a plain value in env, and an unset variable', () => {
    expect(errors(base(`${stdio}\n    env: { API_KEY: sk-live-123 }`))).toMatch(/systems\.memory\.env\.API_KEY: write \{ env: VARIABLE \} or \{ vault: NAME \}/);
    expect(errors(base(`${stdio}\n    env: { API_KEY: { env: NOPE } }`))).toMatch(/environment variable NOPE is not set/);
  });

  it('needs exactly one of command and url, and keeps stdio keys off url upstreams', () => {
    expect(errors(base('    kind: mcp'))).toContain('needs exactly one of command');
    expect(errors(base(`${stdio}\n    url: https://tools.example.com/mcp`))).toContain('needs exactly one of command');
    expect(errors(base('    kind: mcp\n    url: https://tools.example.com/mcp\n    args: [x]'))).toContain('args applies to an upstream launched with command');
  });

  it('keeps credentials off plain http except on the loopback interface', () => {
    const auth = '\n    auth: { kind: bearer, tokenEnv: TOK }';
    expect(errors(base(`    kind: mcp\n    url: http://tools.example.com/mcp${auth}`), { TOK: 't' })).toContain('credentials would travel in plain text');
    expect(parse(base(`    kind: mcp\n    url: http://127.0.0.1:9000/mcp${auth}`), { TOK: 't' }).ok).toBe(true);
  });

  it('grants tools whole, by a verb a tool can have, and high-risk ones explicitly', () => {
    expect(errors(base(stdio, '[memory:create_entities.name:update]'))).toContain('MCP tools are granted whole');
    expect(errors(base(stdio, '[memory:create_entities:pay]'))).toContain('an MCP tool\'s verb is read');
    expect(errors(base(stdio, '[memory:delete_entities:delete]'))).toContain('{ grant: "memory:delete_entities:delete", explicit: true }');
    expect(parse(base(stdio, '[{ grant: memory:delete_entities:delete, explicit: true }]')).ok).toBe(true);
    const raised = 'actions:\n  memory.create_entities: { risk: high }';
    expect(errors(base(stdio, '[memory:create_entities:update]', raised))).toContain('raised to high in actions');
  });

  it('accepts overrides of tools that are listed only at start, and keeps them on the system', () => {
    const result = parse(base(stdio, '[memory:read_graph:read]', 'actions:\n  memory.read_graph: { risk: write }'));
    if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('\n'));
    const system = result.config.systems.get('memory');
    expect(isMcpSystem(system) && system.overrides.get('read_graph')).toEqual({ risk: 'write', tags: [] });
  });

  it('refuses a data scope on an mcp system', () => {
    const text = base(stdio).replace('    grants:', '    bounds: { scope: { "memory:read_graph": { field: at, within: 1d } } }\n    grants:');
    expect(errors(text)).toContain('data scopes bound records of sql systems only');
  });
});
