/**
 * The email channel's guards, against a real SMTP server (smtp-server from npm, in process):
 * it never sends a password in plain text to a host other than the loopback interface (TLS is
 * required there), and an alert for people without an email is dead-lettered at once with the
 * fix instead of being retried.
 */
import type { AddressInfo } from 'node:net';
import type { Alert } from '@portcullis/core';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PersonConfig } from '../../config/compiled.js';
import type { SmtpSystemConfig } from '../../connectors/smtp/smtp-settings.js';
import { createSqliteStore, type SqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { NotificationDelivery } from '../../store/store.js';
import { createFakeClock } from '../../testing/fake-clock.js';
import { createManualScheduler, type ManualScheduler } from '../../testing/manual-scheduler.js';
import { deliveryId } from '../channel.js';
import { createChannelNotifier, type ChannelNotifier } from '../notifier.js';
import { createEmailChannel } from './email-channel.js';

const alert: Alert = {
  kind: 'breaker_tripped', seq: 7, at: Date.parse('2026-11-02T09:00:00Z'), workflow: 'route-leads', title: 'route-leads was disabled',
  message: 'Three failures in a row.', runbook: 'Assign leads by hand.', to: ['tom'], data: { failures: 3 },
};
const people = (email?: string): ReadonlyMap<string, PersonConfig> => new Map([['tom', { id: 'tom', name: 'Tom', admin: false, ...(email === undefined ? {} : { email }) }]]);

let store: SqliteStore;
let scheduler: ManualScheduler;
let notifier: ChannelNotifier | undefined;
let dead: NotificationDelivery[];
let server: SMTPServer | undefined;
let logins: string[];

beforeEach(async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.migrate();
  const clock = createFakeClock();
  scheduler = createManualScheduler(clock);
  dead = [];
  logins = [];
  notifier = undefined;
});
afterEach(async () => {
  await notifier?.close();
  await new Promise<void>((resolve) => { if (server === undefined) resolve(); else server.close(() => resolve()); });
  server = undefined;
  await store.close();
});

/** An SMTP server without STARTTLS that accepts plain-text logins, on `host`. */
async function plainServer(host: string): Promise<number> {
  server = new SMTPServer({
    secure: false, disabledCommands: ['STARTTLS'], allowInsecureAuth: true, authMethods: ['PLAIN', 'LOGIN'], logger: false,
    onAuth(auth, _session, callback) { logins.push(auth.username ?? ''); callback(null, { user: auth.username }); },
    onData(stream, _session, callback) { stream.resume(); stream.on('end', () => callback()); },
  });
  const s = server;
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  return (s.server.address() as AddressInfo).port;
}

function open(system: SmtpSystemConfig, who: ReadonlyMap<string, PersonConfig>): ChannelNotifier {
  notifier = createChannelNotifier({
    store, clock: createFakeClock(), scheduler, retry: { attempts: 3, backoffMs: 1000, maxBackoffMs: 60_000, random: () => 0.5 },
    channels: [createEmailChannel({ system, people: who, timeoutMs: 5000 })], onDeadLetter: (d) => { dead.push(d); },
  });
  return notifier;
}

const system = (host: string, port: number): SmtpSystemConfig => ({
  kind: 'smtp', name: 'mail', host, port, secure: false, from: 'gateway@example.com', timeoutMs: 5000,
  auth: { user: 'portcullis', password: { kind: 'env', variable: 'SMTP_PW', value: 'pw-not-for-plain-text' } },
});

describe('the email channel', () => {
  it('requires TLS to log in to a host that is not the loopback interface: the password is never sent in plain text', async () => {
    // 127.0.0.2 reaches this machine but is not one of the names treated as loopback.
    const port = await plainServer('127.0.0.2');
    const n = open(system('127.0.0.2', port), people('tom@example.com'));
    n.notify(alert);
    await n.idle();
    expect(scheduler.runNext()).toBe(true);
    await n.idle();
    const [attempt] = await store.listDeliveryAttempts(deliveryId(7, 'email'));
    expect(attempt?.ok).toBe(false);
    expect(attempt?.error).toMatch(/email via system "mail" \(127\.0\.0\.2:\d+\) failed: .*TLS/i);
    expect(attempt?.error).not.toContain('pw-not-for-plain-text');
    expect(logins).toEqual([]);
  });

  it('dead-letters at once, with the fix, an alert for people who have no email', async () => {
    const n = open(system('127.0.0.1', 1), people());
    n.notify(alert);
    await n.idle();
    expect(scheduler.pending()).toBe(0);
    const id = deliveryId(7, 'email');
    expect(await store.getDelivery(id)).toMatchObject({ status: 'dead', attempts: 1 });
    expect((await store.listDeliveryAttempts(id))[0]?.error).toBe('none of the people this alert is for (tom) has an email; add people.ID.email to the config');
    expect(dead.map((d) => d.id)).toEqual([id]);
  });
});
