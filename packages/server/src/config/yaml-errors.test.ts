/**
 * YAML mistakes as a person makes them: each yields one error at the line and column to edit,
 * with its hint, and no follow-on errors; a file with ten independent mistakes yields ten
 * errors in one run.
 */
import { describe, expect, it } from 'vitest';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { EXAMPLE_CONFIG } from './example.js';
import { formatConfigError, parseConfigText, type ConfigError } from './load.js';

function errors(text: string): ConfigError[] {
  const result = parseConfigText(text, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', env: {} });
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors;
}

/** The one error of `text`, as `LINE:COLUMN message`. */
function only(text: string): string {
  const found = errors(text);
  expect(found.map(formatConfigError)).toHaveLength(1);
  const [error] = found as [ConfigError];
  return `${error.line}:${error.column} ${error.message}`;
}

const PEOPLE = (dana: string): string => `version: 1\npeople:\n  dana:\n${dana}  tom:\n    name: Tom\n`;

describe('YAML mistakes, one error each at the place to edit', () => {
  it('a key indented less than its siblings', () => {
    expect(only(PEOPLE('    name: Dana\n   email: d@example.com\n'))).toMatch(/^5:4 YAML: bad indentation: "email:" is indented differently from the keys above it; indent it with spaces/);
    expect(only(PEOPLE('    name: Dana\n email: d@example.com\n'))).toMatch(/^5:2 YAML: bad indentation: "email:"/);
  });

  it('a key indented more than its siblings (not "nested mappings" on the line above)', () => {
    expect(only(PEOPLE('    name: Dana\n      email: d@example.com\n'))).toBe('5:7 YAML: bad indentation: "email:" is indented more than "name:" above it, so it reads as part of that value; indent it to the same column as "name:"');
  });

  it('a list item out of line', () => {
    expect(only('version: 1\nworkflows:\n  w:\n    grants:\n      - crm:leads:read\n     - crm:leads:update\n    owner: tom\n')).toMatch(/^6:6 YAML: bad indentation: this list item is indented differently from the items above it/);
  });

  it('tabs: one error for every line indented with a tab', () => {
    expect(only('version: 1\npeople:\n  dana:\n\tname: Dana\n\temail: x\n\tadmin: true\n  tom:\n\tname: Tom\n'))
      .toBe('4:1 YAML: a tab is used for indentation; YAML indents with spaces only: replace the tabs with spaces (also on lines 5, 6, 8)');
  });

  it('an unquoted colon in a value, at the colon, with the quoted fix', () => {
    expect(only('version: 1\nworkflows:\n  w:\n    runbook: Call: the lead\n'))
      .toBe('4:18 YAML: unquoted ": " inside a value (YAML says "Nested mappings are not allowed in compact mappings"): a colon followed by a space starts a key; put the value in quotes: runbook: "Call: the lead"');
  });

  it('a duplicate key, naming where it was first written', () => {
    expect(only(PEOPLE('    name: Dana\n    email: a@example.com\n    email: b@example.com\n'))).toBe('6:5 YAML: duplicate key "email" (first written on line 5): a mapping holds each key once; merge the two or rename one');
  });

  it('a duplicate quoted key, and one in a flow mapping', () => {
    expect(only('version: 1\nworkflows:\n  w:\n    bounds:\n      scope:\n        "crm:leads": { field: a, within: 1d }\n        "crm:leads": { field: b, within: 1d }\n'))
      .toBe('7:9 YAML: duplicate key "crm:leads" (first written on line 6): a mapping holds each key once; merge the two or rename one');
    expect(only('version: 1\nserver: { port: 1, port: 2 }\n')).toMatch(/^2:20 YAML: duplicate key "port" \(first written on line 2\)/);
  });

  it('an alias with no anchor, at the alias', () => {
    expect(only('version: 1\npeople:\n  dana: *nobody\n')).toMatch(/^3:9 YAML: alias "\*nobody" refers to no anchor: write "&nobody" on the value/);
  });

  it('an alias bomb is refused, at the alias that crosses the limit', () => {
    const bomb = 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
    expect(only(bomb)).toMatch(/^4:\d+ YAML: too many aliases: .*alias bomb/);
    // Aliases used sensibly are fine.
    expect(parseConfigText(EXAMPLE_CONFIG.replace('    delegates: []', '    delegates: &none []').replace('      maxActionsPerHour: 500', '      maxActionsPerHour: 500\n    approvalTimeout: &day 24h').replace(/ {4}approvalTimeout: 24h\n/, ''), { kinds: SYSTEM_KINDS, env: {} }).ok).toBe(true);
  });

  it('an unclosed [ list after a block scalar, at the [', () => {
    expect(only('version: 1\nworkflows:\n  w:\n    runbook: >-\n      line one\n      line two\n\n      line four\n    grants: [crm:leads:read\n')).toMatch(/^9:13 YAML: this \[ list is not closed: add the closing \]/);
  });

  it('positions after a block scalar are right', () => {
    const text = EXAMPLE_CONFIG.replace(/ {4}runbook: .*\n/, '    runbook: >-\n      Dana assigns new leads by hand\n\n      each morning.\n').replace('maxRecordsPerAction: 10', 'maxRecordsPerAction: 0');
    const line = text.split('\n').findIndex((l) => l.includes('maxRecordsPerAction')) + 1;
    expect(errors(text).map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual([`${line}:28 workflows.route-leads.bounds.maxRecordsPerAction`]);
  });
});

describe('every problem in one run', () => {
  it('independent YAML mistakes are each reported once, in one run', () => {
    const text = EXAMPLE_CONFIG
      .replace('  port: 7300', ' port: 7300')
      .replace('    name: Dana Lee', '    name: Dana Lee: the lead')
      .replace('    department: sales\n    keyHash', '    department: sales\n    department: sales\n    keyHash');
    expect(errors(text).map((e) => `${e.line}:${e.column} ${e.message.slice(0, 30)}`)).toEqual([
      '5:2 YAML: bad indentation: "port:"',
      '35:19 YAML: unquoted ": " inside a v',
      '48:5 YAML: duplicate key "departmen',
    ]);
  });


  it('ten independent mistakes yield ten errors', () => {
    const text = EXAMPLE_CONFIG
      .replace(/ {4}runbook: .*\n/, '')
      .replace('      - crm:leads:read', '      - crm:leads:read\n      - crm:leads:delete\n      - crm:contacts:read')
      .replace('    keyHash: "sha256:557f', '    keyEnv: NOPE_KEY\n    keyHashX: "sha256:557f')
      .replace('    driver: sqlite', '    driver: sqlit')
      .replace('        "crm:leads": { field: created_at, within: 24h }', '        "crm:leads": { field: created, within: 24h }')
      .replace('    delegates: []', '    delegates: [zed]')
      .replace('    admin: true', '    admin: yes please')
      .replace('  port: 7300', '  port: 99999');
    expect(errors(text).map((e) => e.path)).toEqual([
      'server.port',
      'systems.crm.driver',
      'departments.sales.delegates[0]',
      'people.tom.admin',
      'agents.lead-router.keyEnv',
      'agents.lead-router.keyHashX',
      'workflows.route-leads.runbook',
      'workflows.route-leads.grants[1]',
      'workflows.route-leads.grants[2]',
      'workflows.route-leads.bounds.scope["crm:leads"].field',
    ]);
  });
});
