/**
 * The CLI in-process: validate, audit verify (tamper evidence on the real SQLite file) and
 * export. The auditor's question is "was this trail edited?"; verify must answer no only
 * when it was not.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@portcullis/core';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../testing/fake-clock.js';
import { openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { runCli, type CliResult } from '../testing/run-cli.js';

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
    expect(result.out).toMatch(/audit chain OK: \d+ events verified/);
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
    const events = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string; prevHash: string; type: string });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    for (let i = 1; i < events.length; i++) expect(events[i]?.prevHash).toBe(events[i - 1]?.hash);
    expect(events.map((e) => e.type)).toContain('approval.granted');
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('seq,at,type,actor_kind,actor_id,workflow,proposal_id,data,prev_hash,hash');
    expect(lines).toHaveLength(events.length + 1);
    const bad = await cli('audit', 'export', '--db', harness.storePath, '--format', 'xml');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--format must be jsonl or csv/);
  });
});

describe('portcullis validate', () => {
  it('accepts a valid file and rejects an invalid one with file:line:column', async () => {
    harness = await openHarness();
    const good = join(harness.dir, 'good.yaml');
    let n = 0;
    const hashed = readFileSync(join(harness.dir, 'portcullis.yaml'), 'utf8')
      .replace(/(key|token)Env: \w+/g, (_m, kind: string) => `${kind}Hash: "sha256:${sha256Hex(`secret-${(n += 1)}`)}"`);
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

  it('prints help for every command', async () => {
    for (const args of [['--help'], ['start', '--help'], ['demo', '--help'], ['validate', '--help'], ['audit', 'verify', '--help'], ['audit', 'export', '--help'], ['approvals', 'list', '--help'], ['approvals', 'approve', '--help'], ['approvals', 'reject', '--help'], ['keys', 'new', '--help']]) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.out, args.join(' ')).toMatch(/Usage: portcullis/);
    }
  });
});
