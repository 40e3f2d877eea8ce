/**
 * Honest outcomes: a write sent to a system that answers only after the gateway's timeout (and
 * applies it) is `outcome_unknown`, never `failed`, and the agent is told so; an HTTP write
 * carries an Idempotency-Key derived from its proposal; when the store fails between the
 * connector's success and the outcome's commit, the agent is told the outcome is unknown (not
 * "nothing was executed"), the proposal becomes `outcome_unknown` once the store is writable
 * again without a restart, and re-sending with the same Idempotency-Key runs nothing.
 */
import { existsSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';
import { crmApiConfig, startJsonServer, type JsonServer } from '../testing/json-server.js';
import { FAULTY_SERVER, httpAgent, proposalIdOf, resultText, yamlList } from '../testing/mcp-servers.js';
import { makeTempDir } from '../testing/temp-dir.js';

let harness: Harness | undefined;
let server: JsonServer | undefined;
let bot: Client | undefined;
afterEach(async () => {
  await bot?.close();
  (harness?.gateway.store as SqliteStore | undefined)?.database.pragma('query_only = OFF');
  await harness?.close();
  await server?.close();
  harness = undefined;
  server = undefined;
  bot = undefined;
});

/** Resolves once `file` exists (watching its folder, no polling). */
function fileAppears(file: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(join(file, '..'), () => {
      if (existsSync(file)) { watcher.close(); resolve(); }
    });
    if (existsSync(file)) { watcher.close(); resolve(); }
  });
}

/** Resolves with the first proposal change the gateway publishes with `status`. */
function published(h: Harness, status: string): Promise<string> {
  const feed = h.gateway.service.deps.changes;
  const publish = feed.publish.bind(feed);
  return new Promise((resolve) => {
    vi.spyOn(feed, 'publish').mockImplementation((change) => {
      publish(change);
      if (change.kind === 'proposal' && change.status === status) resolve(change.id);
    });
  });
}

describe('a write the system applies after the gateway gave up', () => {
  it('over HTTP: is outcome_unknown, not failed, and the request carried the proposal\'s Idempotency-Key', async () => {
    server = await startJsonServer({ leads: [{ id: 1, name: 'Ada', email: 'ada@example.com', company: 'AE', owner_id: null, status: 'new' }] }, { requireToken: 'tok', lateWrites: true });
    harness = await openHarness({ configYaml: crmApiConfig(server.url, 'mode: { read: auto, write: auto, high: approval }').replace('timeout: 5s', 'timeout: 3s'), env: { CRM_API_TOKEN: 'tok' } });
    const res = await proposeAs(harness, 'agent', { workflow: 'crm-api', action: 'api.updateLead', params: { path: { id: '1' }, body: { owner_id: 'rep-amara' } } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: 'outcome_unknown', error: { code: 'OUTCOME_UNKNOWN' } });
    expect(body.error.message).toMatch(/no answer within 3000 ms; the request may have reached the system, so whether it took effect is unknown/);
    // The system applies it after all: the gateway did not call that a failure.
    await server.waitForOutput('late write applied');
    expect((await server.get('/leads/1')).body).toMatchObject({ owner_id: 'rep-amara' });
    expect(server.output()).toContain(`idempotency-key: portcullis-${body.id as string}`);
    const trail = (await auditTrail(harness)).filter((e) => e.proposalId === body.id).map((e) => e.type);
    expect(trail).toEqual(['proposal.received', 'proposal.decided', 'execution.started', 'execution.outcome_unknown']);
  });

  // The timeout also bounds starting the upstream and listing its tools, so it is not cut short on a busy machine.
  it('over MCP: the tool answering after the timeout leaves outcome_unknown, and the agent is told the outcome is unknown', async () => {
    const dir = makeTempDir('portcullis-late');
    const lateFile = join(dir.path, 'notes.txt');
    try {
      harness = await openHarness({
        configYaml: harnessConfig({
          extraSystemsYaml: `
  faulty:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    env: { FIXTURE_LATE_FILE: { env: LATE_FILE } }
    timeout: 4s`,
          extraWorkflowYaml: `
  notes:
    description: Write notes
    agent: other-agent
    department: finance
    owner: tom
    runbook: Write the note by hand.
    mode: { read: auto, write: auto }
    override: { by: ada, reason: "these tests run writes without approval" }
    grants: [faulty:late_write:update]`,
        }),
        env: { LATE_FILE: lateFile },
      });
      bot = await httpAgent(await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' }), harness.secrets.other);
      const result = await bot.callTool({ name: 'late_write', arguments: { note: 'hello' } });
      expect(result.isError).toBe(true);
      expect(resultText(result)).toMatch(/^OUTCOME UNKNOWN: this call was sent, but whether it took effect is unknown/);
      expect(resultText(result)).not.toMatch(/ran and failed/);
      const id = proposalIdOf(result) as string;
      expect(await harness.gateway.store.getProposal(id)).toMatchObject({ status: 'outcome_unknown', error: { code: 'OUTCOME_UNKNOWN' } });
      // The tool applies the write after all, once the gateway gave up.
      await fileAppears(lateFile);
      expect(readFileSync(lateFile, 'utf8')).toBe('hello\n');
    } finally {
      await bot?.close();
      bot = undefined;
      dir.cleanup();
    }
  });
});

describe('the store failing between the connector\'s success and the outcome\'s commit', () => {
  it('tells the agent the outcome is unknown, flags the proposal once the store recovers, and a re-send with the same key runs nothing', async () => {
    harness = await openHarness({ configYaml: harnessConfig({ mode: 'mode: { read: auto, write: auto }' }) });
    const h = harness;
    const db = (h.gateway.store as SqliteStore).database;
    const crm = h.gateway.service.deps.connectors.get('crm');
    if (crm === undefined) throw new Error('no crm connector');
    const execute = crm.execute.bind(crm);
    // The store turns read-only right after the system of record was written.
    const spy = vi.spyOn(crm, 'execute').mockImplementation(async (...args) => {
      const done = await execute(...args);
      db.pragma('query_only = ON');
      return done;
    });
    const body = { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } };
    const res = await proposeAs(h, 'agent', body, 'key-1');
    expect(res.statusCode).toBe(502);
    expect(res.json().error.code).toBe('OUTCOME_UNKNOWN');
    expect(res.json().error.message).toMatch(/which reported success, but its outcome could not be recorded .*whether it took effect is unknown/);
    expect(res.json().error.message).not.toMatch(/nothing was executed/);
    expect(readLead(h, 1)?.owner_id).toBe('rep-amara');
    const id = res.json().error.details.proposalId as string;
    expect((await h.gateway.store.getProposal(id))?.status).toBe('executing');
    spy.mockRestore();

    // The store recovers; no restart: the proposal is flagged for a person.
    const flagged = published(h, 'outcome_unknown');
    db.pragma('query_only = OFF');
    expect(await flagged).toBe(id);
    expect(await h.gateway.store.getProposal(id)).toMatchObject({ status: 'outcome_unknown', error: { code: 'OUTCOME_UNKNOWN' } });
    const event = (await auditTrail(h)).find((e) => e.proposalId === id && e.type === 'execution.outcome_unknown');
    expect(event?.data).toMatchObject({ reported: { reported: 'succeeded' } });

    // Re-sending with the same Idempotency-Key returns the same proposal and runs nothing.
    const again = await proposeAs(h, 'agent', body, 'key-1');
    expect(again.json()).toMatchObject({ id, status: 'outcome_unknown' });
    expect((await auditTrail(h)).filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(1);
  });
});
