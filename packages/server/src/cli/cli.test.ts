/**
 * The CLI in-process: validate, audit verify (tamper evidence on the real SQLite file) and
 * export, and the exit codes of every command against docs/cli.md's convention. The
 * auditor's question is "was this trail edited?"; verify must answer no only when it was not.
 */
import { generateNoteKey } from '../audit-log/signed-note.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@portcullis/core';
import Database from 'better-sqlite3';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Command } from 'commander';
import { createFakeClock } from '../testing/fake-clock.js';
import { createCliHost } from '../wiring/cli-host.js';
import { createProgram } from './main.js';
import { openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { runCli, type CliResult } from '../testing/run-cli.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

const cli = (...args: string[]): Promise<CliResult> => runCli(args);

let harness: Harness | undefined;
afterEach(async () => { await harness?.close(); harness = undefined; });

/** A harness with some history, its gateway closed so the file is at rest. */
async function storeWithHistory(): Promise<Harness> {
  const h = await openHarness();
  const route = { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } };
  const { id } = (await proposeAs(h, 'agent', route)).json();
  await h.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
  await proposeAs(h, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: {} });
  await h.gateway.store.close();
  return h;
}

function tamper(h: Harness, sql: string, ...args: unknown[]): void {
  const db = new Database(h.storePath);
  db.exec('DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete;');
  db.prepare(sql).run(...args);
  db.close();
}

describe('portcullis audit verify', () => {
  it('passes on an untouched trail', async () => {
    harness = await storeWithHistory();
    const result = await cli('audit', 'verify', '--db', harness.storePath);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/audit trail OK: \d+ events verified/);
  });

  it('fails and names the event when one byte of one event changes', async () => {
    harness = await storeWithHistory();
    const db = new Database(harness.storePath, { readonly: true });
    const row = db.prepare('SELECT body FROM audit_events WHERE seq = 4').get() as { body: string };
    db.close();
    const i = row.body.indexOf('rep-amara');
    const edited = i >= 0 ? `${row.body.slice(0, i)}rep-amarb${row.body.slice(i + 9)}` : row.body.replace('"at":', '"at":1');
    expect(edited).not.toBe(row.body);
    tamper(harness, 'UPDATE audit_events SET body = ? WHERE seq = 4', edited);
    const result = await cli('audit', 'verify', '--db', harness.storePath);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/BROKEN at event 4: event 4 was edited/);
  });

  it('fails and names the event when one event is deleted', async () => {
    harness = await storeWithHistory();
    tamper(harness, 'DELETE FROM audit_events WHERE seq = 5');
    const result = await cli('audit', 'verify', '--db', harness.storePath);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/BROKEN at event 5: event 5 is missing/);
  });

  it('fails when the newest event is deleted (the recorded head disagrees)', async () => {
    harness = await storeWithHistory();
    const db = new Database(harness.storePath, { readonly: true });
    const { last } = db.prepare('SELECT max(seq) AS last FROM audit_events').get() as { last: number };
    db.close();
    tamper(harness, 'DELETE FROM audit_events WHERE seq = ?', last);
    const result = await cli('audit', 'verify', '--db', harness.storePath);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`BROKEN at event ${last}`);
  });

  it('exits 2 with a clear message for a missing database', async () => {
    const result = await cli('audit', 'verify', '--db', '/nonexistent/portcullis.db');
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/no audit database at \/nonexistent\/portcullis.db/);
  });
});

describe('portcullis audit purge', () => {
  it('purges only events past the retention period, leaving a chain that verifies', async () => {
    harness = await openHarness({ clock: createFakeClock(Date.now() - 200 * 86_400_000) });
    await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: {} });
    harness.clock.set(Date.now() - 10 * 86_400_000);
    await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: {} });
    await harness.gateway.store.close();
    const refused = await cli('audit', 'purge', '--db', harness.storePath, '--older-than-days', '30');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/at least 90/);
    const purged = await cli('audit', 'purge', '--db', harness.storePath, '--older-than-days', '90');
    expect(purged.code).toBe(0);
    expect(purged.out).toMatch(/purged \d+ audit events older than 90 days/);
    const verify = await cli('audit', 'verify', '--db', harness.storePath);
    expect(verify.code).toBe(0);
    const db = new Database(harness.storePath, { readonly: true });
    const types = (db.prepare('SELECT type FROM audit_events ORDER BY seq').all() as Array<{ type: string }>).map((r) => r.type);
    db.close();
    expect(types).toContain('audit.purged');
    expect(types.filter((t) => t === 'proposal.received')).toHaveLength(1); // the recent one stays
  });
});

describe('portcullis audit export', () => {
  it('writes every event as JSON lines and CSV, with hashes', async () => {
    harness = await storeWithHistory();
    const jsonl = join(harness.dir, 'trail.jsonl');
    const csv = join(harness.dir, 'trail.csv');
    expect((await cli('audit', 'export', '--db', harness.storePath, '--format', 'jsonl', '--out', jsonl)).code).toBe(0);
    expect((await cli('audit', 'export', '--db', harness.storePath, '--format', 'csv', '--out', csv)).code).toBe(0);
    const events = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; leafHash: string; treeIndex: number; type: string });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.treeIndex)).toEqual(events.map((_, i) => i));
    for (const event of events) expect(event.leafHash).toMatch(/^[0-9a-f]{64}$/);
    expect(events.map((e) => e.type)).toContain('approval.granted');
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('seq,at,type,actor_kind,actor_id,workflow,proposal_id,data,tree_index,leaf_hash');
    expect(lines).toHaveLength(events.length + 1);
    const bad = await cli('audit', 'export', '--db', harness.storePath, '--format', 'xml');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--format must be jsonl or csv/);
  });
});

/** The harness's config with every keyEnv/tokenEnv replaced by a hash, so it validates without the environment. */
function hashedConfig(h: Harness): string {
  let n = 0;
  return readFileSync(join(h.dir, 'portcullis.yaml'), 'utf8')
    .replace(/(key|token)Env: \w+/g, (_m, kind: string) => `${kind}Hash: "sha256:${sha256Hex(`secret-${(n += 1)}`)}"`);
}

describe('portcullis validate', () => {
  it('accepts a valid file and rejects an invalid one with file:line:column', async () => {
    harness = await openHarness();
    const good = join(harness.dir, 'good.yaml');
    const hashed = hashedConfig(harness);
    writeFileSync(good, hashed);
    const ok = await cli('validate', good);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/is valid: 1 workflow\(s\), 1 system\(s\), 4 action\(s\)/);

    const bad = join(harness.dir, 'bad.yaml');
    writeFileSync(bad, hashed.replace('mode: { read: auto, write: approval, high: approval }', 'mode: { read: auto, write: approval, high: auto }'));
    const refused = await cli('validate', bad);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/bad\.yaml:\d+:\d+ workflows\.route-leads\.mode\.high: .*always need approval/);
  });

  it('refuses a postgres store, which is planned, at file:line:column naming the fix (exit 1)', async () => {
    harness = await openHarness();
    const file = join(harness.dir, 'postgres.yaml');
    writeFileSync(file, hashedConfig(harness).replace('store: { kind: sqlite, path: ./portcullis.db }', 'store:\n  kind: postgres\n  urlEnv: PC_DATABASE_URL'));
    const refused = await cli('validate', file);
    expect(refused.code).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.err).toContain(`${file}:4:9 store.kind: "postgres" is planned, not available in this version; use kind: sqlite (the default: one file next to the config, nothing to set up), or leave store out`);
  });

  it('prints help with an Examples section for every command, and never a token from the environment', async () => {
    const program = createProgram(createCliHost(), { out: () => {}, err: () => {} }, () => {});
    const paths: string[][] = [[]];
    const walk = (command: Command, path: string[]): void => {
      for (const sub of command.commands) { paths.push([...path, sub.name()]); walk(sub, [...path, sub.name()]); }
    };
    walk(program, []);
    expect(paths.length).toBeGreaterThan(20);
    // A person's token in the environment is used, but never printed as a default in help.
    const secret = 'personal-token-never-shown-0123';
    process.env.PORTCULLIS_TOKEN = secret;
    try {
      for (const path of paths) {
        const result = await cli(...path, '--help');
        const what = ['portcullis', ...path].join(' ');
        expect(result.code, what).toBe(0);
        expect(result.out, what).toMatch(/Usage: portcullis/);
        expect(result.out, what).toMatch(/\nExamples:\n {2}\$ .*portcullis /);
        expect(result.out + result.err, what).not.toContain(secret);
      }
      const used = await cli('approvals', 'list', '--url', 'http://127.0.0.1:1');
      expect(used.err).toMatch(/cannot reach the gateway/);
    } finally {
      delete process.env.PORTCULLIS_TOKEN;
    }
  });
});

describe('exit codes: 0 ok, 1 the check or the work failed, 2 bad usage (docs/cli.md)', () => {
  let dir: TempDir;
  let h: Harness;
  const paths = { good: '', invalid: '', missing: '', db: '', key: '', fresh: '', taken: '' };
  let taken: Server;
  beforeAll(async () => {
    dir = makeTempDir('portcullis-exit');
    h = await openHarness();
    paths.good = join(h.dir, 'good.yaml');
    writeFileSync(paths.good, hashedConfig(h));
    paths.invalid = join(dir.path, 'invalid.yaml');
    writeFileSync(paths.invalid, 'version: 1\nsurprise: true\n');
    paths.missing = join(dir.path, 'missing.yaml');
    paths.db = h.storePath;
    paths.key = join(dir.path, 'master.key');
    writeFileSync(paths.key, 'taken');
    paths.fresh = join(dir.path, 'fresh', 'portcullis.yaml');
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    paths.taken = String((taken.address() as AddressInfo).port);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    await h.close();
    dir.cleanup();
  });

  // [what, argv (GOOD, INVALID, MISSING, DB, KEY stand for files), exit code, what standard error says]
  const table: Array<[string, string[], 0 | 1 | 2, RegExp]> = [
    ['no command', [], 2, /Usage: portcullis/],
    ['an unknown command', ['frobnicate'], 2, /unknown command 'frobnicate'/],
    ['an unknown option', ['schema', '--bogus'], 2, /unknown option '--bogus'/],
    ['validate: a valid file', ['validate', 'GOOD'], 0, /^$/],
    ['validate: an invalid file', ['validate', 'INVALID'], 1, /invalid\.yaml:2:1 surprise: unknown key/],
    ['validate: a missing file', ['validate', 'MISSING'], 2, /missing\.yaml: no such file; pass the right path, or write a starter with `portcullis init --kind sql`/],
    ['validate: no file', ['validate'], 2, /missing required argument 'file'/],
    ['start: an invalid config', ['start', '-c', 'INVALID'], 1, /surprise: unknown key/],
    ['start: a missing config', ['start', '-c', 'MISSING'], 2, /no such file/],
    ['start: its port is taken', ['start', '-c', 'GOOD', '-p', 'TAKEN', '--host', '127.0.0.1'], 1, /cannot start: port \d+ on 127\.0\.0\.1 is already in use/],
    ['start: a bad option', ['start', '--bogus'], 2, /unknown option '--bogus'/],
    ['demo: a bad option', ['demo', '--bogus'], 2, /unknown option '--bogus'/],
    ['init: a new file', ['init', '--kind', 'sql', '-c', 'FRESH'], 0, /^$/],
    ['init: a file that exists', ['init', '--kind', 'sql', '-c', 'GOOD'], 2, /already exists; init never overwrites a file/],
    ['init: no --kind', ['init', '-c', 'FRESH'], 2, /required option '--kind <kind>' not specified/],
    ['init: an unknown --kind', ['init', '--kind', 'ftp', '-c', 'FRESH'], 2, /Allowed choices are sql, http, mcp, smtp/],
    ['schema', ['schema'], 0, /^$/],
    ['keys new', ['keys', 'new'], 0, /^$/],
    ['keys new: a bad option', ['keys', 'new', '--bogus'], 2, /unknown option '--bogus'/],
    ['audit verify: an intact trail', ['audit', 'verify', '--db', 'DB'], 0, /^$/],
    ['audit verify: an invalid config', ['audit', 'verify', '-c', 'INVALID'], 1, /surprise: unknown key/],
    ['audit verify: a missing config', ['audit', 'verify', '-c', 'MISSING'], 2, /no such file/],
    ['audit verify: a missing database', ['audit', 'verify', '--db', 'MISSING'], 2, /no audit database at/],
    ['audit verify: a bad --workers', ['audit', 'verify', '--db', 'DB', '--workers', '0'], 2, /--workers must be a whole number/],
    ['audit verify: a checkpoint URL that cannot be reached', ['audit', 'verify', '--db', 'DB', '--checkpoints', 'http://127.0.0.1:1/checkpoints.jsonl', '--key', generateNoteKey('portcullis/audit').verifier], 1, /cannot fetch the checkpoints at http:\/\/127\.0\.0\.1:1\/checkpoints\.jsonl: /],
    ['audit export: a bad --format', ['audit', 'export', '--db', 'DB', '--format', 'xml'], 2, /--format must be jsonl or csv/],
    ['audit export: an invalid config', ['audit', 'export', '-c', 'INVALID'], 1, /surprise: unknown key/],
    ['audit export: --proofs without --checkpoints', ['audit', 'export', '--db', 'DB', '--proofs'], 2, /--proofs needs --checkpoints and --key/],
    ['audit purge: below the retention minimum', ['audit', 'purge', '--db', 'DB', '--older-than-days', '30'], 2, /at least 90/],
    ['audit purge: an invalid config', ['audit', 'purge', '-c', 'INVALID'], 1, /surprise: unknown key/],
    ['check: every system passes', ['check', '-c', 'GOOD'], 0, /^$/],
    ['check: an invalid config', ['check', '-c', 'INVALID'], 1, /surprise: unknown key/],
    ['check: a missing config', ['check', '-c', 'MISSING'], 2, /no such file/],
    ['check: a bad --timeout', ['check', '-c', 'GOOD', '--timeout', '0'], 2, /--timeout takes a number of seconds/],
    ['vault list', ['vault', 'list', '-c', 'GOOD'], 0, /^$/],
    ['vault list: an invalid config', ['vault', 'list', '-c', 'INVALID'], 1, /surprise: unknown key/],
    ['vault list: a missing config', ['vault', 'list', '-c', 'MISSING'], 2, /no such file/],
    ['vault set: a bad name', ['vault', 'set', 'crm', 'bad name', '-c', 'GOOD'], 2, /SYSTEM and NAME use letters/],
    ['vault rotate-key: no --new-key-file', ['vault', 'rotate-key', '-c', 'GOOD'], 2, /required option '--new-key-file <file>'/],
    ['vault rotate-key: a missing key file', ['vault', 'rotate-key', '--new-key-file', 'MISSING', '-c', 'GOOD'], 2, /no master key file at .*missing\.yaml; make one with `portcullis vault new-key/],
    ['vault new-key: a file that exists', ['vault', 'new-key', '--out', 'KEY'], 2, /already exists; a master key is never overwritten/],
    ['mcp: no --agent', ['mcp', '-c', 'GOOD'], 2, /--agent ID is required/],
    ['mcp: a wrong key', ['mcp', '-c', 'GOOD', '--agent', 'lead-router', '--key', 'wrong'], 2, /the key given is not the API key of agent "lead-router"/],
    ['mcp: an invalid config', ['mcp', '-c', 'INVALID', '--agent', 'lead-router', '--key', 'k'], 1, /surprise: unknown key/],
    ['mcp: --url with --standalone', ['mcp', '--agent', 'lead-router', '--key', 'k', '--url', 'http://127.0.0.1:1', '--standalone'], 2, /--url and --standalone exclude each other/],
    ['mcp: no gateway to bridge to', ['mcp', '--agent', 'lead-router', '--key', 'k', '--url', 'http://127.0.0.1:1'], 1, /cannot reach the gateway at http:\/\/127\.0\.0\.1:1\/mcp: .*start it \(`portcullis start`\), name its address with --url, or run this process with --standalone/],
    ['mcp pin: an invalid config', ['mcp', 'pin', '-c', 'INVALID'], 1, /surprise: unknown key/],
    ['mcp pin: a missing config', ['mcp', 'pin', '-c', 'MISSING'], 2, /no such file/],
    ['mcp pin: no MCP system', ['mcp', 'pin', '-c', 'GOOD'], 2, /has no mcp systems: pinning records the tools of upstream MCP servers \(systems with `kind: mcp`/],
    ['mcp pin: an unknown --system', ['mcp', 'pin', '-c', 'GOOD', '--system', 'crm'], 2, /no mcp system "crm" in .* \(it has none; systems with `kind: mcp` are pinned\)/],
    ['approvals list: no token', ['approvals', 'list'], 2, /no token: pass --token or set PORTCULLIS_TOKEN/],
    ['approvals list: the gateway cannot be reached', ['approvals', 'list', '--token', 't', '--url', 'http://127.0.0.1:1'], 1, /cannot reach the gateway at http:\/\/127\.0\.0\.1:1/],
    ['approvals reject: no --reason', ['approvals', 'reject', 'prop_x', '--token', 't'], 2, /reject needs --reason/],
    ['audit new-key: a required option missing', ['audit', 'new-key'], 2, /required option '--/],
    ['audit checkpoint: a required option missing', ['audit', 'checkpoint'], 2, /required option '--/],
    ['audit prove: a required option missing', ['audit', 'prove', '1'], 2, /required option '--/],
    ['audit check-proof: a required option missing', ['audit', 'check-proof', 'proof.json'], 2, /required option '--/],
    ['audit recover: a required option missing', ['audit', 'recover'], 2, /required option '--/],
    ['disable: no --reason', ['disable', 'workflow', 'route-leads', '--token', 't'], 2, /disable needs --reason/],
    ['disable: an unknown kind', ['disable', 'robot', 'x', '--reason', 'r', '--token', 't'], 2, /disable takes agent or workflow/],
    ['enable: no token', ['enable', 'workflow', 'route-leads', '--reason', 'r'], 2, /no token: pass --token/],
    ['status: the gateway cannot be reached', ['status', '--token', 't', '--url', 'http://127.0.0.1:1'], 1, /cannot reach the gateway/],
    ['workflows show: no token', ['workflows', 'show', 'route-leads'], 2, /no token: pass --token/],
    ['workflows deploy: --override without --reason', ['workflows', 'deploy', 'route-leads', '--override', '--token', 't'], 2, /deploy --override needs --reason/],
    ['workflows promote: no --reason', ['workflows', 'promote', 'route-leads', '--token', 't'], 2, /promote needs --reason/],
    ['workflows promote: the gateway cannot be reached', ['workflows', 'promote', 'route-leads', '--reason', 'r', '--token', 't', '--url', 'http://127.0.0.1:1'], 1, /cannot reach the gateway/],
    ['report: a bad --from', ['report', '--metrics', '--from', '1/11/2026', '--token', 't'], 2, /--from takes a day as YYYY-MM-DD/],
    ['report: the gateway cannot be reached', ['report', '--token', 't', '--url', 'http://127.0.0.1:1'], 1, /cannot reach the gateway/],
    ['rollback: no token', ['rollback', 'prop_x', '--reason', 'wrong rep'], 2, /no token: pass --token or set PORTCULLIS_TOKEN/],
    ['rollback: no --reason', ['rollback', 'prop_x', '--token', 't'], 2, /rollback needs --reason/],
    ['rollback: both a proposal and --run', ['rollback', 'prop_x', '--run', 'run_y', '--reason', 'r', '--token', 't'], 2, /rollback needs a PROPOSAL_ID or --run RUN_ID \(one of them\)/],
    ['rollback: the gateway cannot be reached', ['rollback', '--run', 'run_y', '--reason', 'r', '--token', 't', '--url', 'http://127.0.0.1:1'], 1, /cannot reach the gateway at http:\/\/127\.0\.0\.1:1/],
    ['proposals resolve: a bad option', ['proposals', 'resolve', 'prop_x', '--bogus'], 2, /unknown option '--bogus'/],
    ['notifications failed: no notifications section', ['notifications', 'failed', '-c', 'GOOD'], 2, /has no notifications section: there are no notification deliveries/],
    ['notifications failed: an invalid config', ['notifications', 'failed', '-c', 'INVALID'], 1, /surprise: unknown key/],
    ['notifications replay: neither an ID nor --all', ['notifications', 'replay', '-c', 'GOOD'], 2, /replay takes one delivery ID or --all/],
    ['notifications replay: a missing config', ['notifications', 'replay', '--all', '-c', 'MISSING'], 2, /no such file/],
    ['simulate: a missing script', ['simulate', 'MISSING'], 2, /missing\.yaml: no such file; pass the path of a simulation script/],
    ['simulate: an invalid script', ['simulate', 'INVALID'], 2, /invalid\.yaml:2:1 surprise: unknown key[\s\S]*nothing was run/],
  ];
  it('covers every command of the program and of the table in docs/cli.md', () => {
    const docs = readFileSync(new URL('../../../../docs/cli.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('### Exit codes'), docs.indexOf('## Pre-flight'));
    // `audit verify`, `approvals list/approve/reject`, `schema`, `keys new`: each command a row names.
    const documented = new Set([...section.matchAll(/^\| (.+?) \|/gm)].flatMap((m) => [...(m[1] as string).matchAll(/`([^`]+)`/g)])
      .flatMap((m) => { const [first = '', second] = (m[1] as string).split(' '); return second === undefined || /^[A-Z]/.test(second) ? [first] : second.split('/').map((sub) => `${first} ${sub}`); })
      .filter((name) => name !== '--help'));
    const program = createProgram(createCliHost(), { out: () => {}, err: () => {} }, () => {});
    const leaves = program.commands.flatMap((c) => (c.commands.length === 0 || c.name() === 'mcp' ? [c.name()] : [])
      .concat(c.commands.map((sub) => `${c.name()} ${sub.name()}`)));
    expect([...documented].sort()).toEqual([...leaves].sort());
    const tested = new Set(table.map(([, argv]) => argv.slice(0, 2).join(' ')).concat(table.map(([, argv]) => argv[0] ?? '')));
    tested.add('approvals approve'); // its own test below
    for (const name of documented) expect(tested, `an exit-code row for ${name}`).toContain(name);
  });

  for (const [what, argv, code, err] of table) {
    it(`${what} → ${code}`, async () => {
      vi.stubEnv('PORTCULLIS_TOKEN', undefined);
      try {
        const args = argv.map((a) => ({ GOOD: paths.good, INVALID: paths.invalid, MISSING: paths.missing, DB: paths.db, KEY: paths.key, FRESH: paths.fresh, TAKEN: paths.taken } as Record<string, string>)[a] ?? a);
        const result = await cli(...args);
        expect(result.code).toBe(code);
        expect(result.err.trim()).toMatch(err);
      } finally {
        vi.unstubAllEnvs();
      }
    });
  }

  it('approvals approve: a decision the gateway refuses → 1, one it takes → 0, one whose action then fails → 1', async () => {
    await h.gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(h.gateway.app.server.address() as AddressInfo).port}`;
    const refused = await cli('approvals', 'approve', 'prop_missing', '--url', url, '--token', h.secrets.dana);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^PROPOSAL_NOT_FOUND: /);
    const { id } = (await proposeAs(h, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [2], set: { owner_id: 'rep-kenji' } } })).json();
    const taken = await cli('approvals', 'approve', id, '--url', url, '--token', h.secrets.dana);
    expect(taken.code).toBe(0);
    expect(taken.out).toMatch(new RegExp(`^${id} is now succeeded`));
    // Approved, but the action then does not run (its record was deleted meanwhile, so it is cancelled): the work was not done → 1.
    const { id: doomed } = (await proposeAs(h, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [5], set: { owner_id: 'rep-kenji' } } })).json();
    const crm = new Database(h.crmPath);
    crm.prepare('DELETE FROM leads WHERE id = 5').run();
    crm.close();
    const failed = await cli('approvals', 'approve', doomed, '--url', url, '--token', h.secrets.dana);
    expect(failed.out).toMatch(new RegExp(`^${doomed} is now cancelled`));
    expect(failed.code).toBe(1);
  });

  it('rollback: a rollback that puts everything back → 0, one the gateway refuses → 1, one where a row drifted → 1', async () => {
    if (!h.gateway.app.server.listening) await h.gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(h.gateway.app.server.address() as AddressInfo).port}`;
    const approveAs = async (ids: number[], owner: string) => {
      const { id } = (await proposeAs(h, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids, set: { owner_id: owner } } })).json();
      expect((await h.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: {} })).json().status).toBe('succeeded');
      return id as string;
    };
    const id = await approveAs([3], 'rep-amara');
    const done = await cli('rollback', id, '--reason', 'wrong rep', '--url', url, '--token', h.secrets.dana);
    expect(done.code).toBe(0);
    expect(done.out).toBe(`undone      ${id} (crm.leads.update): leads 3\nrollback: everything was put back\n`);
    const twice = await cli('rollback', id, '--reason', 'again', '--url', url, '--token', h.secrets.dana);
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/^ILLEGAL_TRANSITION: proposal .* is rolled_back \(it was rolled back already/);
    const agent = await cli('rollback', id, '--reason', 'mine', '--url', url, '--token', h.secrets.agent);
    expect(agent.code).toBe(1);
    expect(agent.err).toMatch(/^FORBIDDEN: agents cannot roll back/);
    const drifting = await approveAs([4], 'rep-kenji');
    const db = new Database(h.crmPath);
    db.prepare('UPDATE leads SET owner_id = ? WHERE id = 4').run('rep-by-hand');
    db.close();
    const drifted = await cli('rollback', drifting, '--reason', 'wrong rep', '--url', url, '--token', h.secrets.dana);
    expect(drifted.code).toBe(1);
    expect(drifted.out).toMatch(/^drifted {5}\S+ \(crm\.leads\.update\): leads 4 left alone, changed since: owner_id is "rep-by-hand", not the "rep-kenji" the action wrote\nrollback: nothing was undone/);
  });
});
