/**
 * Signed webhooks delivered to a real HTTP receiver (node:http): signatures checked with an
 * independent implementation of Standard Webhooks (the `standardwebhooks` npm package), retries
 * driven by a manual scheduler and a fake clock (no sleeps), every attempt read back from a real
 * SQLite store; a receiver that never answers, redirects or answers too much is a recorded
 * failure, and a dead-lettered delivery is replayed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Alert } from '@portcullis/core';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookConfig } from '../../config/compiled.js';
import { createSqliteStore, type SqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { NotificationDelivery } from '../../store/store.js';
import { createFakeClock, type FakeClock } from '../../testing/fake-clock.js';
import { createManualScheduler, type ManualScheduler } from '../../testing/manual-scheduler.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.js';
import { deliveryId } from '../channel.js';
import { createNotificationsAdmin } from '../dead-letters.js';
import { createChannelNotifier, type ChannelNotifier } from '../notifier.js';
import { retryDelay } from '../scheduler.js';
import { createWebhookChannel } from './webhook-channel.js';
import { signStandardWebhook, webhookSecretKey } from './standard-webhooks.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const RETRY = { attempts: 3, backoffMs: 30_000, maxBackoffMs: 3_600_000, random: () => 0.5 };

const alert = (overrides: Partial<Alert> = {}): Alert => ({
  kind: 'breaker_tripped', seq: 42, at: Date.parse('2026-11-02T09:00:00Z'), workflow: 'route-leads',
  title: 'route-leads was disabled by its circuit breaker', message: '3 execution failures in a row.', runbook: 'Assign leads by hand in the CRM.',
  to: ['tom', 'dana'], data: { failures: 3, threshold: 3 }, ...overrides,
});

let store: SqliteStore;
let clock: FakeClock;
let scheduler: ManualScheduler;
let receiver: WebhookReceiver;
let notifier: ChannelNotifier | undefined;
let dead: NotificationDelivery[];

beforeEach(async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.migrate();
  clock = createFakeClock();
  scheduler = createManualScheduler(clock);
  receiver = await startWebhookReceiver();
  dead = [];
});
afterEach(async () => {
  await notifier?.close();
  notifier = undefined;
  await receiver.close();
  await store.close();
});

function webhook(overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return { name: 'ops', url: receiver.url, secret: { kind: 'env', variable: 'OPS_SECRET', value: SECRET }, ...overrides };
}

function open(config: WebhookConfig = webhook(), limits = { timeoutMs: 5000, maxResponseBytes: 1024 }): ChannelNotifier {
  notifier = createChannelNotifier({
    store, clock, scheduler, retry: RETRY, channels: [createWebhookChannel(config, limits)],
    onDeadLetter: (delivery) => { dead.push(delivery); },
  });
  return notifier;
}

/** Runs every due attempt (and what it schedules at the same time) and waits for them to finish. */
async function runNext(n: ChannelNotifier): Promise<void> {
  await n.idle();
  expect(scheduler.runNext()).toBe(true);
  await n.idle();
}

describe('the Standard Webhooks signature', () => {
  it('matches the scheme\'s published example and the standardwebhooks package', () => {
    // The example of the Standard Webhooks reference libraries' tests.
    const key = webhookSecretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const headers = signStandardWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(signStandardWebhook(webhookSecretKey(SECRET), 'msg_1', 1700000000, 'body')['webhook-signature'])
      .toBe(new Webhook(SECRET).sign('msg_1', new Date(1700000000 * 1000), 'body'));
  });

  it('refuses a secret that is not whsec_ + base64 of 24 to 64 bytes, without printing it', () => {
    expect(() => webhookSecretKey('hunter2hunter2hunter2hunter2')).toThrow(/not a Standard Webhooks secret/);
    expect(() => webhookSecretKey(`whsec_${Buffer.alloc(8).toString('base64')}`)).toThrow(/decodes to 8 bytes/);
  });
});

describe('docs/alerts.md', () => {
  it('its Node verifier accepts a real delivery and refuses a tampered one', async () => {
    const doc = readFileSync(new URL('../../../../../docs/alerts.md', import.meta.url), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(code, 'a ```js verifier in docs/alerts.md').toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-alerts-doc-'));
    try {
      writeFileSync(join(dir, 'verify.mjs'), code ?? '');
      const { verifyPortcullis } = await import(pathToFileURL(join(dir, 'verify.mjs')).href) as { verifyPortcullis: (body: string, headers: unknown, secret: string, now?: number) => boolean };
      const n = open();
      n.notify(alert());
      await runNext(n);
      const [request] = await receiver.waitFor(1);
      const now = Number(request?.headers['webhook-timestamp']);
      expect(verifyPortcullis(request?.body ?? '', request?.headers, SECRET, now)).toBe(true);
      expect(verifyPortcullis(`${request?.body ?? ''} `, request?.headers, SECRET, now)).toBe(false);
      expect(verifyPortcullis(request?.body ?? '', request?.headers, SECRET, now + 301)).toBe(false);
      expect(verifyPortcullis(request?.body ?? '', request?.headers, `whsec_${Buffer.alloc(32, 8).toString('base64')}`, now)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('webhook deliveries', () => {
  it('signs each attempt, retries a receiver that fails twice with backoff, and records every attempt', async () => {
    receiver.script({ status: 500 }, { status: 503, body: 'busy' }, { status: 204 });
    const n = open();
    n.notify(alert());
    const start = clock.now();
    for (let i = 0; i < 3; i += 1) await runNext(n);
    expect(scheduler.pending()).toBe(0);

    const requests = await receiver.waitFor(3);
    expect(requests).toHaveLength(3);
    const id = deliveryId(42, 'webhook:ops');
    const verifier = new Webhook(SECRET);
    for (const request of requests) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      // The same id on every attempt (receivers deduplicate by it); a timestamp of the attempt.
      expect(request.headers['webhook-id']).toBe(id);
      const timestamp = Number(request.headers['webhook-timestamp']);
      expect(request.headers['webhook-signature']).toBe(verifier.sign(id, new Date(timestamp * 1000), request.body));
      expect(JSON.parse(request.body)).toEqual({
        type: 'alert.breaker_tripped', timestamp: '2026-11-02T09:00:00.000Z',
        data: expect.objectContaining({ seq: 42, kind: 'breaker_tripped', workflow: 'route-leads', runbook: 'Assign leads by hand in the CRM.', to: ['tom', 'dana'] }),
      });
    }
    // A tampered body fails the independent check.
    const first = requests[0];
    expect(first?.headers['webhook-signature']).not.toBe(verifier.sign(id, new Date(Number(first?.headers['webhook-timestamp']) * 1000), `${first?.body ?? ''} `));
    // Exponential backoff with equal jitter: waits of 30 s then 60 s, each half fixed and half random (0.5 here): 22.5 s, then 45 s.
    const waits = [retryDelay(1, RETRY.backoffMs, RETRY.maxBackoffMs, RETRY.random), retryDelay(2, RETRY.backoffMs, RETRY.maxBackoffMs, RETRY.random)];
    expect(waits).toEqual([22_500, 45_000]);
    expect(requests.map((r) => Number(r.headers['webhook-timestamp']) - Math.floor(start / 1000))).toEqual([0, 22, 67]);

    const attempts = await store.listDeliveryAttempts(id);
    expect(attempts.map((a) => [a.attempt, a.ok, a.code, a.at - start])).toEqual([[1, false, 500, 0], [2, false, 503, 22_500], [3, true, 204, 67_500]]);
    expect(attempts[0]?.error).toMatch(/webhook "ops" \(http:\/\/127\.0\.0\.1:\d+\) answered 500; a receiver accepts a delivery with a 2xx status/);
    expect(await store.getDelivery(id)).toMatchObject({ status: 'delivered', attempts: 3, channel: 'webhook:ops', alertSeq: 42 });
    expect(dead).toEqual([]);
  });

  it('times out a receiver that never answers, dead-letters the delivery after the last attempt, and a replay delivers it', async () => {
    receiver.fallback('never');
    const n = open(webhook(), { timeoutMs: 150, maxResponseBytes: 1024 });
    n.notify(alert());
    for (let i = 0; i < 3; i += 1) await runNext(n);
    expect(scheduler.pending()).toBe(0);
    const id = deliveryId(42, 'webhook:ops');
    const attempts = await store.listDeliveryAttempts(id);
    expect(attempts.map((a) => a.ok)).toEqual([false, false, false]);
    expect(attempts[2]?.error).toMatch(/did not answer within 150 ms \(notifications\.timeout\)/);
    expect(await store.getDelivery(id)).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead.map((d) => d.id)).toEqual([id]);

    const admin = createNotificationsAdmin({ store, clock, retry: RETRY, actor: { kind: 'system', id: 'cli' }, channels: [createWebhookChannel(webhook(), { timeoutMs: 5000, maxResponseBytes: 1024 })] });
    expect((await admin.failed()).map((d) => [d.delivery.id, d.attempts.length])).toEqual([[id, 3]]);
    await expect(admin.replay(['ntf_nope'])).rejects.toThrow(/"ntf_nope" is not in the dead-letter list/);
    receiver.fallback({ status: 200, body: 'ok' });
    expect(await admin.replay('all')).toEqual([{ id, channel: 'webhook:ops', ok: true }]);
    const last = receiver.received.at(-1);
    expect(last?.headers['webhook-id']).toBe(id);
    expect(last?.headers['webhook-signature']).toBe(new Webhook(SECRET).sign(id, new Date(Number(last?.headers['webhook-timestamp']) * 1000), last?.body ?? ''));
    expect(await store.getDelivery(id)).toMatchObject({ status: 'delivered', attempts: 4 });
    expect(await admin.failed()).toEqual([]);
    const audit = await store.queryAudit({ limit: 10 });
    expect(audit.map((e) => [e.type, e.data])).toEqual([['notification.replayed', { delivery: id, channel: 'webhook:ops', alertSeq: 42, alertKind: 'breaker_tripped', ok: true }]]);
    await expect(admin.replay([id])).rejects.toThrow(/is not in the dead-letter list \(it is delivered\)/);
  });

  it('records a redirect as a failure and does not follow it', async () => {
    const elsewhere = await startWebhookReceiver();
    try {
      receiver.fallback({ status: 307, headers: { location: `${elsewhere.url}?token=abc` } });
      const n = open();
      n.notify(alert());
      await runNext(n);
      const [attempt] = await store.listDeliveryAttempts(deliveryId(42, 'webhook:ops'));
      expect(attempt).toMatchObject({ ok: false, code: 307 });
      expect(attempt?.error).toMatch(/answered 307, a redirect to http:\/\/127\.0\.0\.1:\d+\/hooks\/portcullis, which is not followed/);
      expect(attempt?.error).not.toContain('token=abc');
      expect(elsewhere.received).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('records an answer longer than maxResponseBytes as a failure, even with a 2xx status', async () => {
    receiver.fallback({ status: 200, body: Buffer.alloc(64 * 1024, 'x') });
    const n = open(webhook(), { timeoutMs: 5000, maxResponseBytes: 1024 });
    n.notify(alert());
    await runNext(n);
    const [attempt] = await store.listDeliveryAttempts(deliveryId(42, 'webhook:ops'));
    expect(attempt).toMatchObject({ ok: false, code: 200 });
    expect(attempt?.error).toMatch(/answered 200 with a body over 1024 bytes, which is refused \(notifications\.maxResponseBytes\)/);
    // A short answer is fine.
    receiver.fallback({ status: 200, body: 'ok' });
    await runNext(n);
    expect(await store.getDelivery(deliveryId(42, 'webhook:ops'))).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('sends only the kinds a webhook takes, never a notification_failing alert through the channel it is about, and never dead-letters that alert in a loop', async () => {
    receiver.fallback({ status: 500 });
    const n = open(webhook({ kinds: new Set(['breaker_tripped', 'notification_failing']) }));
    n.notify(alert({ kind: 'approval_rate_low', seq: 1 }));
    n.notify(alert({ kind: 'notification_failing', seq: 2, data: { channel: 'webhook:ops' } }));
    await n.idle();
    expect(scheduler.pending()).toBe(0);
    n.notify(alert({ kind: 'notification_failing', seq: 3, data: { channel: 'email' } }));
    for (let i = 0; i < 3; i += 1) await runNext(n);
    expect(await store.getDelivery(deliveryId(3, 'webhook:ops'))).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead).toEqual([]);
  });

  it('keeps pending deliveries across a restart: start schedules them again', async () => {
    receiver.script({ status: 500 });
    const n = open();
    n.notify(alert());
    await runNext(n);
    await n.close();
    const again = open();
    await again.start();
    expect(scheduler.pending()).toBe(1);
    await runNext(again);
    expect(await store.getDelivery(deliveryId(42, 'webhook:ops'))).toMatchObject({ status: 'delivered', attempts: 2 });
  });
});
