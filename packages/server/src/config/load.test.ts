import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkGrant, sha256Hex } from '@portcullis/core';
import type { SqlSystemConfig } from '../connectors/sql/sql-settings.js';
import { EXAMPLE_CONFIG, EXAMPLE_KEYS } from './example.js';
import { formatConfigErrors, loadConfigFile, parseConfigText, type ConfigError } from './load.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compile(text: string) {
  const result = parseConfigText(text, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: dir, env: {} });
  if (!result.ok) throw new Error(formatConfigErrors(result.errors));
  return result.config;
}

function errors(text: string, env: Record<string, string> = {}): ConfigError[] {
  const result = parseConfigText(text, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: dir, env });
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors;
}

describe('a valid config', () => {
  it('compiles the example into the frozen runtime config', () => {
    const config = compile(EXAMPLE_CONFIG);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.source).toBe(join(process.cwd(), 'portcullis.yaml'));
    expect(config.server).toEqual({ host: '127.0.0.1', port: 7300, bodyLimitBytes: 65_536 });
    expect(config.store).toEqual({ kind: 'sqlite', path: join(dir, '.portcullis/portcullis.db') });
    expect(config.audit.retentionDays).toBe(365);

    const crm = config.systems.get('crm') as SqlSystemConfig | undefined;
    expect(crm?.path).toBe(join(dir, 'crm.db'));
    expect(crm?.tables.get('leads')).toEqual({ name: 'leads', primaryKey: 'id', columns: ['id', 'name', 'email', 'owner_id', 'status', 'created_at'] });
    expect([...config.actions.keys()]).toEqual(['crm.leads.read', 'crm.leads.create', 'crm.leads.update', 'crm.leads.delete']);
    expect(config.actions.get('crm.leads.delete')).toMatchObject({ verb: 'delete', risk: 'high', tags: ['delete'], reversible: true });
    expect(config.actions.get('crm.leads.update')?.spec.name).toBe('crm.leads.update');

    const agent = config.agents.get('lead-router');
    expect(agent).toEqual({ id: 'lead-router', name: 'Lead router', owner: 'tom', department: 'sales', keyHash: sha256Hex(EXAMPLE_KEYS.leadRouter) });
    expect(config.agentsByKeyHash.get(sha256Hex(EXAMPLE_KEYS.leadRouter))).toBe(agent);
    expect(config.people.get('dana')).toEqual({ id: 'dana', name: 'Dana Lee', email: 'dana@example.com', admin: false, tokenHash: sha256Hex(EXAMPLE_KEYS.dana) });
    expect(config.peopleByTokenHash.get(sha256Hex(EXAMPLE_KEYS.tom))?.id).toBe('tom');
    expect(config.departments.get('sales')).toEqual({ id: 'sales', name: 'Sales', leads: ['dana'], delegates: [] });

    const workflow = config.workflows.get('route-leads');
    expect(workflow).toMatchObject({
      id: 'route-leads', agent: 'lead-router', department: 'sales', owner: 'tom',
      mode: { read: 'auto', write: 'approval', high: 'approval' },
      bounds: { maxRecordsPerAction: 10, maxActionsPerRun: 100, maxActionsPerHour: 500 },
      approvalTimeoutMs: 86_400_000, approvalValidityMs: 900_000, systems: ['crm'],
    });
    expect(workflow?.approvers).toEqual({ department: 'sales', approvers: new Set(['dana']), technicalOwner: 'tom', allowOwnerApproval: false });
    expect(workflow?.scope.get('crm:leads')).toEqual({ field: 'created_at', withinMs: 86_400_000 });
    expect(workflow && checkGrant(workflow.grants, 'crm', 'leads', 'update', ['owner_id', 'status'])).toEqual({ kind: 'granted' });
    expect(workflow && checkGrant(workflow.grants, 'crm', 'leads', 'update', ['email'])).toEqual({ kind: 'fields_outside_grant', fields: ['email'] });
  });

  it('applies every default to a minimal config', () => {
    const config = compile('version: 1\n');
    expect(config.server).toEqual({ host: '127.0.0.1', port: 7300, bodyLimitBytes: 65_536 });
    expect(config.store).toEqual({ kind: 'sqlite', path: join(dir, '.portcullis/portcullis.db') });
    expect(config.audit.retentionDays).toBe(365);
    expect(config.workflows.size).toBe(0);
  });

  it('defaults a workflow to approval-first, 10 records per action, 24h timeout and 15m validity', () => {
    const text = EXAMPLE_CONFIG
      .replace('    mode: { read: auto, write: approval, high: approval }\n', '')
      .replace(/ {6}maxRecordsPerAction: 10\n/, '')
      .replace('    approvalTimeout: 24h\n    approvalValidity: 15m\n    allowOwnerApproval: false\n', '');
    const workflow = compile(text).workflows.get('route-leads');
    expect(workflow).toMatchObject({ mode: { read: 'auto', write: 'approval', high: 'approval' }, bounds: { maxRecordsPerAction: 10 }, approvalTimeoutMs: 86_400_000, approvalValidityMs: 900_000 });
    expect(workflow?.approvers.allowOwnerApproval).toBe(false);
  });

  it('loads a file and resolves its relative paths against its folder, without opening the databases', () => {
    const file = join(dir, 'portcullis.yaml');
    writeFileSync(file, EXAMPLE_CONFIG);
    const result = loadConfigFile(file, { kinds: SYSTEM_KINDS, env: {} });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.source).toBe(file);
    expect((result.config.systems.get('crm') as SqlSystemConfig | undefined)?.path).toBe(join(dir, 'crm.db'));
    expect(result.config.store).toEqual({ kind: 'sqlite', path: join(dir, '.portcullis/portcullis.db') });
  });

  it('is the example shown in docs/config.md', () => {
    const docs = readFileSync(new URL('../../../../docs/config.md', import.meta.url), 'utf8');
    expect(docs, 'docs/config.md must show EXAMPLE_CONFIG (example.ts) verbatim; update one from the other').toContain(`\`\`\`yaml\n${EXAMPLE_CONFIG}\`\`\``);
  });

  it('reports a missing file as an error value naming it', () => {
    const result = loadConfigFile(join(dir, 'nope.yaml'), { kinds: SYSTEM_KINDS });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatConfigErrors(result.errors)).toBe(`${join(dir, 'nope.yaml')}: no such file; pass the right path, or write a starter with \`portcullis init --kind sql\` (or http, mcp, smtp)\n1 error in ${join(dir, 'nope.yaml')}`);
  });
});

describe('error locations', () => {
  it('reports YAML syntax errors with line and column', () => {
    expect(errors('version: 1\nserver:\n  port: 7300\n host: x\n')).toEqual([
      { file: 'portcullis.yaml', line: 4, column: 2, path: '', message: 'YAML: bad indentation: "host:" is indented differently from the keys above it; indent it with spaces to the same column as the other keys of its mapping' },
    ]);
    expect(errors('version: 1\nserver:\n  host: "127.0.0.1\n  port: 7300\n')[0]).toMatchObject({ line: 5, column: 1, message: 'YAML syntax error: Missing closing "quote' });
    const duplicate = errors('version: 1\nserver: {}\nserver: {}\n');
    expect(duplicate[0]).toMatchObject({ line: 3, column: 1, message: 'YAML: duplicate key "server" (first written on line 2): a mapping holds each key once; merge the two or rename one' });
  });

  it('points at the offending value, in block and flow style', () => {
    const text = EXAMPLE_CONFIG.replace('retentionDays: 365', 'retentionDays: 30').replace('high: approval }', 'high: auto }');
    const lines = formatConfigErrors(errors(text)).split('\n');
    expect(lines).toEqual([
      'portcullis.yaml:12:18 audit.retentionDays: 30 is below the 90-day minimum the audit trail must be kept; set 90 or more',
      'portcullis.yaml:57:48 workflows.route-leads.mode.high: high-risk actions always need approval; remove mode.high or set it to approval',
      '2 errors in portcullis.yaml',
    ]);
  });

  it('points at the nearest parent when a required key is missing', () => {
    const text = EXAMPLE_CONFIG.replace(/ {4}runbook: .*\n/, '');
    expect(errors(text)).toEqual([{
      file: 'portcullis.yaml', line: 51, column: 3, path: 'workflows.route-leads.runbook',
      message: 'the manual-fallback runbook is required: say what people do when the agent is off',
    }]);
  });

  it('points at an empty value\'s key', () => {
    const text = EXAMPLE_CONFIG.replace(/runbook: .*\n/, 'runbook:\n');
    expect(errors(text)[0]).toMatchObject({ line: 56, column: 5, path: 'workflows.route-leads.runbook' });
  });

  it('rejects unknown keys at the key, with a suggestion when one is close', () => {
    const text = EXAMPLE_CONFIG.replace('  port: 7300', '  prot: 7300').replace('    allowOwnerApproval: false', '    frobnicate: true');
    expect(formatConfigErrors(errors(text)).split('\n').slice(0, 2)).toEqual([
      'portcullis.yaml:5:3 server.prot: unknown key "prot"; did you mean "port"?',
      `portcullis.yaml:70:5 workflows.route-leads.frobnicate: unknown key "frobnicate"; expected one of: description, agent, department, owner, runbook, mode, grants, bounds, breaker, approvalTimeout, approvalValidity, allowOwnerApproval, override`,
    ]);
  });

  it('reports every error of the file in one run, schema and cross-key alike, sorted by position', () => {
    const text = EXAMPLE_CONFIG
      .replace('  port: 7300', '  port: "7300"')
      .replace('leads: [dana]', 'leads: [dan]')
      .replace('      - crm:leads:read', '      - crm:leads:read\n      - crm:leads:delete')
      .replace('approvalTimeout: 24h', 'approvalTimeout: 1 day');
    expect(errors(text).map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual([
      '5:9 server.port',
      '30:13 departments.sales.leads[0]',
      '60:9 workflows.route-leads.grants[1]',
      '69:22 workflows.route-leads.approvalTimeout',
    ]);
  });

  it('says an empty file is empty', () => {
    expect(errors('')).toEqual([{ file: 'portcullis.yaml', line: 1, column: 1, path: '', message: 'the file is empty; start it with `version: 1`' }]);
  });

  it('quotes keys that are not plain names in paths', () => {
    const text = EXAMPLE_CONFIG.replace('crm.leads.update: { tags: [] }', 'crm.leads.update: { tags: [costly] }');
    expect(errors(text)[0]?.path).toBe('actions["crm.leads.update"].tags[0]');
  });
});
