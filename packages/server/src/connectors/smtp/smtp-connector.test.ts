/**
 * The SMTP connector through the real gateway, against a real SMTP server process
 * (smtp-server from npm, testing/fixtures/smtp-server.mjs): sending is external
 * communication, so it always waits for a person (even where writes run unattended) and
 * says up front that it cannot be undone; once approved, the message arrives as proposed;
 * the SMTP password never appears in a response or the audit trail.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../../testing/harness.js';
import { startSmtpServer, type SmtpServer } from '../../testing/smtp-server.js';

const FROM = 'lead-router@portcullis.example';

function mailConfig(port: number): string {
  return harnessConfig({
    extraSystemsYaml: `  mail:
    kind: smtp
    host: 127.0.0.1
    port: ${port}
    from: ${FROM}
    auth: { user: portcullis, passwordEnv: SMTP_PASSWORD }
    timeout: 5s`,
    extraWorkflowYaml: `  welcome-leads:
    description: Send new leads a welcome email
    agent: lead-router
    department: sales
    owner: tom
    runbook: Sales sends the welcome email by hand.
    mode: { read: auto, write: auto, high: approval }
    override: { by: ada, reason: "these tests run writes without approval" }
    grants:
      - { grant: mail:email:send, explicit: true }
    bounds: { maxRecordsPerAction: 2 }`,
  });
}

const welcome = { to: ['ada@example.com'], cc: ['dana@example.com'], subject: 'Welcome to Analytical Engines', text: 'Hello Ada,\nthank you for your interest.\nDana' };

let server: SmtpServer;
let harness: Harness;
const observed: string[] = [];

async function call(who: keyof Harness['secrets'], method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) {
  const res = await harness.request(who, { method, url, ...(payload === undefined ? {} : { payload }) });
  observed.push(res.payload);
  return res;
}
const send = async (params: unknown) => {
  const res = await proposeAs(harness, 'agent', { workflow: 'welcome-leads', action: 'mail.email.send', params, reason: 'welcome the new lead' });
  observed.push(res.payload);
  return res;
};

describe('an SMTP system', () => {
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterEach(async () => {
    observed.push(JSON.stringify(await auditTrail(harness)));
    await harness.close();
  });
  afterAll(async () => {
    await server.close();
    // The password is never in an API response or an audit event, whatever happened.
    expect(observed.length).toBeGreaterThan(5);
    for (const text of observed) expect(text).not.toContain(server.password);
  });

  it('holds every send for a person, says it is irreversible, and delivers the message once approved', async () => {
    harness = await openHarness({ configYaml: mailConfig(server.port), env: { SMTP_PASSWORD: server.password } });
    const before = server.messages().length;
    const proposed = await send(welcome);
    expect(proposed.json()).toMatchObject({ status: 'pending_approval', reversible: false, decision: { outcome: 'needs_approval', risk: 'high' } });
    expect(proposed.json().decision.reasons.join(' ')).toMatch(/communicates outside the company; high-risk actions always need a person's approval/);
    const received = (await auditTrail(harness)).find((e) => e.type === 'proposal.received');
    expect(received?.data).toMatchObject({ reversible: false, risk: 'high' });
    // The approver's view says so too.
    const inbox = await call('dana', 'GET', '/v1/approvals');
    expect(inbox.json().proposals).toEqual([expect.objectContaining({ id: proposed.json().id, reversible: false })]);
    expect(server.messages()).toHaveLength(before);

    const done = await call('dana', 'POST', `/v1/approvals/${proposed.json().id}/approve`, { reason: 'good welcome' });
    expect(done.json()).toMatchObject({ status: 'succeeded', result: { accepted: ['ada@example.com', 'dana@example.com'], rejected: [], from: FROM } });
    const [message] = (await server.waitForMessages(before + 1)).slice(before);
    expect(message).toMatchObject({ from: FROM, to: ['ada@example.com', 'dana@example.com'], user: 'portcullis' });
    expect(message?.raw).toMatch(/^Subject: Welcome to Analytical Engines\r$/m);
    expect(message?.raw).toMatch(/^To: ada@example\.com\r$/m);
    expect(message?.raw).toMatch(/^Cc: dana@example\.com\r$/m);
    expect(message?.raw).toMatch(new RegExp(`^From: ${FROM.replace(/\./g, '\\.')}\r$`, 'm'));
    expect(message?.raw).toContain('Hello Ada,\r\nthank you for your interest.\r\nDana');
    const stored = await harness.gateway.store.getProposal(proposed.json().id);
    expect(stored?.undo).toBeUndefined();
  });

  it('lists the send as high risk and irreversible, and refuses bad addresses, a two-line subject and too many recipients', async () => {
    harness = await openHarness({ configYaml: mailConfig(server.port), env: { SMTP_PASSWORD: server.password } });
    const workflows = await call('agent', 'GET', '/v1/workflows');
    const action = workflows.json().workflows.find((w: { id: string }) => w.id === 'welcome-leads').actions.find((a: { name: string }) => a.name === 'mail.email.send');
    expect(action).toMatchObject({ risk: 'high', reversible: false, riskWhy: 'high risk: communicates outside the company' });

    const bad = await send({ ...welcome, to: ['not an address'], subject: 'Hi\r\nBcc: everyone@example.com' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.message).toMatch(/params\.to\.0: expected an email address; params\.subject: the subject is one line: no line breaks/);
    const many = await send({ ...welcome, to: ['a@example.com', 'b@example.com', 'c@example.com'] });
    expect(many.json()).toMatchObject({ status: 'denied', decision: { code: 'BOUND_EXCEEDED' } });
  });

  it('passes the pre-flight check with the right password and fails it, and the send, with a wrong one', async () => {
    harness = await openHarness({ configYaml: mailConfig(server.port), env: { SMTP_PASSWORD: server.password } });
    expect(await harness.gateway.connectors.get('mail')?.check()).toEqual({ ok: true, detail: `127.0.0.1:${server.port} accepted the login of portcullis` });
    await harness.close();

    const wrong = `${server.password}_old`;
    harness = await openHarness({ configYaml: mailConfig(server.port), env: { SMTP_PASSWORD: wrong } });
    const check = await harness.gateway.connectors.get('mail')?.check();
    expect(check).toMatchObject({ ok: false, error: expect.stringMatching(/^system "mail": connecting via 127\.0\.0\.1:\d+ failed: Invalid login: 535/) });
    const proposed = await send(welcome);
    const done = await call('dana', 'POST', `/v1/approvals/${proposed.json().id}/approve`, { reason: 'ok' });
    expect(done.json()).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_FAILED', message: expect.stringMatching(/^system "mail": sending via 127\.0\.0\.1:\d+ failed: Invalid login: 535/) } });
    const trail = JSON.stringify(await auditTrail(harness));
    expect(trail).toContain('execution.failed');
    expect(trail).not.toContain(wrong);
    expect(JSON.stringify(check)).not.toContain(wrong);
  });
});
