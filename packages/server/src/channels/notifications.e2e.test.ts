/**
 * Alerts told through the configured channels, end to end: the circuit breaker trips for real
 * (the CRM refuses writes with a SQLite trigger), the gateway's own notifier (built by the
 * wiring from `notifications:`) signs a webhook to a real HTTP receiver and mails the owner and
 * the lead through a real SMTP server process. A notification SMTP system that refuses the
 * login is a recorded failure, dead-lettered, raising a `notification_failing` alert (audited,
 * told through the webhook, not through the failing email); the gateway keeps serving; the
 * operator lists and replays the dead letter with the CLI. Retries run on a manual scheduler
 * and the harness's fake clock: no sleeps.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { createManualScheduler, type ManualScheduler } from '../testing/manual-scheduler.js';
import { runCli } from '../testing/run-cli.js';
import { startSmtpServer, type SmtpServer } from '../testing/smtp-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../testing/webhook-receiver.js';
import { newMasterKeyText } from '../vault/vault-crypto.js';
import type { ChannelNotifier } from './notifier.js';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

let harness: Harness | undefined;
let smtp: SmtpServer | undefined;
let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  await harness?.close();
  await smtp?.close();
  await receiver?.close();
  harness = undefined;
});

function configYaml(mail: SmtpServer, hook: WebhookReceiver): string {
  return `${harnessConfig({
    mode: 'mode: { read: auto, write: auto, high: approval }',
    extraSystemsYaml: `  mail:
    kind: smtp
    host: 127.0.0.1
    port: ${mail.port}
    from: gateway@example.com
    auth: { user: ${mail.user}, passwordEnv: SMTP_PW }
    timeout: 5s`,
  }).replace('tom: { name: Tom,', 'tom: { name: Tom, email: tom@example.com,').replace('dana: { name: Dana,', 'dana: { name: Dana, email: dana@example.com,')
    .replace('ada: { name: Ada,', 'ada: { name: Ada, email: ada@example.com,')}
notifications:
  webhooks:
    ops: { url: "${hook.url}", secret: { env: HOOK_SECRET }, kinds: [breaker_tripped, notification_failing] }
  email: { system: mail, kinds: [breaker_tripped] }
  attempts: 2
  backoff: 1m
`;
}

async function open(password: (mail: SmtpServer) => string): Promise<{ h: Harness; scheduler: ManualScheduler; notifier: ChannelNotifier }> {
  smtp = await startSmtpServer();
  receiver = await startWebhookReceiver();
  const clock = createFakeClock();
  const scheduler = createManualScheduler(clock);
  const mail = smtp;
  harness = await openHarness({
    clock, configYaml: configYaml(mail, receiver), env: { SMTP_PW: password(mail), HOOK_SECRET: SECRET },
    gateway: { notifications: { scheduler, random: () => 0.5 } },
  });
  const notifier = harness.gateway.notifier;
  if (notifier === undefined) throw new Error('the gateway built no notifier from notifications:');
  return { h: harness, scheduler, notifier };
}

/** A quoted-printable text decoded (soft line breaks joined, =XX bytes as UTF-8). */
function quotedPrintable(text: string): string {
  return Buffer.from(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
}

/** Runs every scheduled attempt (moving the fake clock to each) until none is left. */
async function drain(notifier: ChannelNotifier, scheduler: ManualScheduler): Promise<void> {
  await notifier.idle();
  while (scheduler.runNext()) await notifier.idle();
}

/** Trips the breaker of route-leads for real: the CRM refuses writes, three executions fail. */
async function tripBreaker(h: Harness): Promise<void> {
  const db = new Database(h.crmPath);
  db.exec("CREATE TRIGGER maintenance BEFORE UPDATE ON leads BEGIN SELECT RAISE(ABORT, 'the CRM is in maintenance'); END");
  db.close();
  for (const id of [1, 2, 3]) {
    expect((await proposeAs(h, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: 'rep-amara' } } })).json().status).toBe('failed');
  }
}

describe('alerts through the configured channels', () => {
  it('tells a tripped breaker through a signed webhook and an email to the owner and the lead', async () => {
    const { h, scheduler, notifier } = await open((mail) => mail.password);
    await tripBreaker(h);
    await drain(notifier, scheduler);

    const [request] = await (receiver as WebhookReceiver).waitFor(1);
    // The trip also demotes the workflow (workflow_demoted), which these channels do not take.
    expect((await auditTrail(h)).filter((e) => e.type === 'alert.raised').map((e) => e.data.kind)).toEqual(['breaker_tripped', 'workflow_demoted']);
    const alert = (await auditTrail(h)).find((e) => e.type === 'alert.raised');
    const id = `ntf_${alert?.seq ?? 0}_webhook-ops`;
    expect(request?.headers['webhook-id']).toBe(id);
    expect(request?.headers['webhook-signature']).toBe(new Webhook(SECRET).sign(id, new Date(Number(request?.headers['webhook-timestamp']) * 1000), request?.body ?? ''));
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({ type: 'alert.breaker_tripped', data: { kind: 'breaker_tripped', workflow: 'route-leads', runbook: 'Assign leads by hand in the CRM.', to: ['tom', 'dana'] } });

    const [message] = await (smtp as SmtpServer).waitForMessages(1);
    expect(message?.from).toBe('gateway@example.com');
    expect(message?.to).toEqual(['tom@example.com', 'dana@example.com']);
    const raw = quotedPrintable(message?.raw ?? '');
    expect(raw).toMatch(/Subject: =\?UTF-8\?Q\?\[Portcullis\]_Workflow_"route-leads/);
    expect(raw).toContain('Runbook (the manual fallback): Assign leads by hand in the CRM.');
    expect(raw).toMatch(/Details: \{"failures":3,"lastError":\{"code":"UPSTREAM_FAILED",/);
    expect(await h.gateway.store.listDeliveries('delivered')).toHaveLength(2);
    // Notification mail is not an agent's action: no proposal was made for it.
    expect((await h.gateway.store.listProposals({})).map((p) => p.action)).toEqual(['crm.leads.update', 'crm.leads.update', 'crm.leads.update']);
  });

  it('records a refused SMTP login, dead-letters it, alerts through the webhook only, keeps serving; the CLI lists and replays it', async () => {
    const { h, scheduler, notifier } = await open(() => 'wrong-password');
    await tripBreaker(h);
    await drain(notifier, scheduler);

    const store = h.gateway.store;
    const [dead] = await store.listDeliveries('dead');
    expect(dead).toMatchObject({ channel: 'email', attempts: 2, alertKind: 'breaker_tripped' });
    const attempts = await store.listDeliveryAttempts(dead?.id ?? '');
    expect(attempts.map((a) => [a.ok, a.code])).toEqual([[false, 535], [false, 535]]);
    expect(attempts[0]?.error).toMatch(/email via system "mail" \(127\.0\.0\.1:\d+\): the mail server refused the login of user "portcullis" .*; check systems\.mail\.auth and its password/);
    expect(attempts[1]?.at).toBe((attempts[0]?.at ?? 0) + 45_000); // 1m doubled from 1m, half fixed and half jitter (0.5)
    expect((smtp as SmtpServer).messages()).toEqual([]);

    // notification_failing: audited, for the admins, told through the webhook and not through email.
    const raised = (await auditTrail(h)).filter((e) => e.type === 'alert.raised');
    expect(raised.map((e) => e.data.kind)).toEqual(['breaker_tripped', 'workflow_demoted', 'notification_failing']);
    expect(raised[2]?.data).toMatchObject({ channel: 'email', delivery: dead?.id, attempts: 2, to: ['ada'], lastError: expect.stringMatching(/refused the login/) });
    const bodies = (receiver as WebhookReceiver).received.map((r) => JSON.parse(r.body) as { type: string });
    expect(bodies.map((b) => b.type)).toEqual(['alert.breaker_tripped', 'alert.notification_failing']);
    expect((await store.listDeliveries('delivered')).map((d) => d.channel)).toEqual(['webhook:ops', 'webhook:ops']);

    // The gateway keeps serving.
    expect((await h.request(undefined, { method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await h.request('dana', { method: 'GET', url: '/v1/status' })).statusCode).toBe(200);

    // The operator, with the config: list, replay while the login is still refused, then with the right password.
    const file = join(h.dir, 'portcullis.yaml');
    const env: Record<string, string> = { K_AGENT: h.secrets.agent, K_OTHER: h.secrets.other, T_DANA: h.secrets.dana, T_DELE: h.secrets.dele, T_FAY: h.secrets.fay, T_TOM: h.secrets.tom, T_ADA: h.secrets.ada, HOOK_SECRET: SECRET, SMTP_PW: 'wrong-password' };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const listed = await runCli(['notifications', 'failed', '-c', file]);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(new RegExp(`^ID +CHANNEL +ALERT +ATTEMPTS +LAST ATTEMPT +LAST ERROR\\n${dead?.id ?? ''} +email +breaker_tripped #\\d+ +2 +2026-11-02T09:00:45Z +email via system "mail"`));
    const json = JSON.parse((await runCli(['notifications', 'failed', '--json', '-c', file])).out) as Array<{ delivery: { id: string }; attempts: Array<{ code: number }> }>;
    expect(json.map((d) => [d.delivery.id, d.attempts.map((a) => a.code)])).toEqual([[dead?.id, [535, 535]]]);
    const again = await runCli(['notifications', 'replay', dead?.id ?? '', '-c', file]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/failed again through email: .*refused the login.*\(it stays in the dead-letter list\)/);
    vi.stubEnv('SMTP_PW', (smtp as SmtpServer).password);
    const replayed = await runCli(['notifications', 'replay', '--all', '-c', file]);
    expect(replayed.err).toBe('');
    expect(replayed.code).toBe(0);
    expect(replayed.out).toBe(`${dead?.id ?? ''}: delivered through email\n`);
    const [message] = await (smtp as SmtpServer).waitForMessages(1);
    expect(message?.to).toEqual(['tom@example.com', 'dana@example.com']);
    expect(await store.getDelivery(dead?.id ?? '')).toMatchObject({ status: 'delivered', attempts: 4 });
    expect((await auditTrail(h)).filter((e) => e.type === 'notification.replayed').map((e) => [e.actor, e.data.ok])).toEqual([[{ kind: 'system', id: 'cli' }, false], [{ kind: 'system', id: 'cli' }, true]]);
    expect((await runCli(['notifications', 'failed', '-c', file])).out).toMatch(/^no failed deliveries/);
  });

  it('reads a webhook secret kept in the vault at each attempt: stored with `vault set notifications NAME`', async () => {
    receiver = await startWebhookReceiver();
    const clock = createFakeClock();
    const scheduler = createManualScheduler(clock);
    const masterKey = newMasterKeyText();
    harness = await openHarness({
      clock, env: { PORTCULLIS_MASTER_KEY: masterKey }, gateway: { notifications: { scheduler, random: () => 0.5 } },
      configYaml: `${harnessConfig({ mode: 'mode: { read: auto, write: auto, high: approval }' })}
notifications:
  webhooks:
    ops: { url: "${receiver.url}", secret: { vault: pager }, kinds: [breaker_tripped] }
`,
    });
    const h = harness;
    const notifier = h.gateway.notifier as ChannelNotifier;
    await tripBreaker(h);
    await notifier.idle();
    expect(scheduler.runNext()).toBe(true);
    await notifier.idle();
    const [pending] = await h.gateway.store.listDeliveries('pending');
    const [failed] = await h.gateway.store.listDeliveryAttempts(pending?.id ?? '');
    expect(failed?.error).toMatch(/webhook "ops" \(http:\/\/127\.0\.0\.1:\d+\): .*notifications\/pager.*; fix notifications\.webhooks\.ops\.secret/);
    expect((receiver as WebhookReceiver).received).toEqual([]);

    const env: Record<string, string> = { K_AGENT: h.secrets.agent, K_OTHER: h.secrets.other, T_DANA: h.secrets.dana, T_DELE: h.secrets.dele, T_FAY: h.secrets.fay, T_TOM: h.secrets.tom, T_ADA: h.secrets.ada, PORTCULLIS_MASTER_KEY: masterKey };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const stored = await runCli(['vault', 'set', 'notifications', 'pager', '-c', join(h.dir, 'portcullis.yaml')], `${SECRET}\n`);
    expect(stored.err).toBe('');
    expect(stored.code).toBe(0);
    expect(scheduler.runNext()).toBe(true);
    await notifier.idle();
    const [request] = await (receiver as WebhookReceiver).waitFor(1);
    expect(request?.headers['webhook-signature']).toBe(new Webhook(SECRET).sign(pending?.id ?? '', new Date(Number(request?.headers['webhook-timestamp']) * 1000), request?.body ?? ''));
    expect(await h.gateway.store.getDelivery(pending?.id ?? '')).toMatchObject({ status: 'delivered', attempts: 2 });
  });
});
