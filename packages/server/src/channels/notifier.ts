/**
 * The notifier the service calls (the core's `Notifier` port): each alert becomes one delivery
 * per channel that takes its kind, recorded in the store, attempted at once and retried with
 * exponential backoff and jitter (deliveries.ts) until delivered or dead-lettered.
 * Invariants: `notify` never throws and never waits for delivery; every attempt is recorded;
 * retries run on the injected scheduler and clock (no timer of its own, so tests need no
 * sleeps); a delivery that goes to the dead-letter list is reported through `onDeadLetter`
 * (the wiring raises a `notification_failing` alert), except a delivery of a
 * `notification_failing` alert, and a `notification_failing` alert is never sent through the
 * channel it is about, so a failing channel cannot feed itself in a loop. Pending deliveries
 * survive a restart: `start` schedules those the store holds.
 */
import type { Alert, Clock, Notifier } from '@portcullis/core';
import type { NotificationDelivery, Store } from '../store/store.js';
import { deliveryId, type Channel } from './channel.js';
import { attemptDelivery, type RetryPolicy } from './deliveries.js';
import type { Scheduler } from './scheduler.js';

/** What the notifier is built over. */
export interface ChannelNotifierDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly channels: readonly Channel[];
  readonly retry: RetryPolicy;
  /** Told when a delivery goes to the dead-letter list (never for a `notification_failing` alert's own delivery). Never awaited for long: errors are reported to `warn`. */
  readonly onDeadLetter?: (delivery: NotificationDelivery) => Promise<void> | void;
  /** Where problems of the notifier itself go (the store failing while recording). Default console.warn. */
  readonly warn?: (message: string) => void;
}

/** The notifier, with what the wiring and tests need around it. */
export interface ChannelNotifier extends Notifier {
  /** Schedules the pending deliveries the store holds (from before a restart). */
  start(): Promise<void>;
  /** Resolves once no delivery is being created or attempted (tests wait on this, not on time). */
  idle(): Promise<void>;
  /** Cancels scheduled retries (they stay pending in the store, resumed by the next start) and waits for attempts under way. */
  close(): Promise<void>;
}

/** Creates the notifier. */
export function createChannelNotifier(deps: ChannelNotifierDeps): ChannelNotifier {
  const { store, clock, scheduler } = deps;
  const channels = new Map(deps.channels.map((c) => [c.name, c]));
  const warn = deps.warn ?? ((message: string) => { console.warn(message); });
  const scheduled = new Map<string, () => void>();
  const running = new Set<Promise<void>>();
  let closed = false;

  const track = (work: Promise<void>): void => {
    const guarded = work.catch((error: unknown) => warn(`portcullis: notifications: ${(error as Error).message}`));
    running.add(guarded);
    void guarded.finally(() => running.delete(guarded));
  };

  const schedule = (id: string, at: number): void => {
    if (closed || scheduled.has(id)) return;
    scheduled.set(id, scheduler.schedule(at, () => {
      scheduled.delete(id);
      if (!closed) track(attempt(id));
    }));
  };

  const deadLettered = async (delivery: NotificationDelivery): Promise<void> => {
    if (delivery.alertKind === 'notification_failing' || deps.onDeadLetter === undefined) return;
    await deps.onDeadLetter(delivery);
  };

  async function attempt(id: string): Promise<void> {
    const delivery = await store.getDelivery(id);
    if (delivery?.status !== 'pending') return;
    const done = await attemptDelivery({ store, clock, channels, retry: deps.retry }, delivery, 'pending');
    if (done === undefined) return;
    if (done.delivery.status === 'pending') schedule(id, done.delivery.nextAttemptAt ?? clock.now());
    if (done.delivery.status === 'dead') await deadLettered(done.delivery);
  }

  async function create(alert: Alert, channel: Channel): Promise<void> {
    const prepared = channel.prepare(alert);
    const now = clock.now();
    const delivery: NotificationDelivery = {
      id: deliveryId(alert.seq, channel.name), channel: channel.name, alertSeq: alert.seq, alertKind: alert.kind,
      body: 'body' in prepared ? prepared.body : '', status: 'pending', attempts: 0, nextAttemptAt: now, createdAt: now, updatedAt: now,
    };
    if (!(await store.insertDelivery(delivery))) return;
    if ('problem' in prepared) {
      // Nothing to send (nobody has an address): recorded as a failed attempt, dead at once.
      const saved = await store.recordDeliveryAttempt({ deliveryId: delivery.id, attempt: 1, at: now, ok: false, error: prepared.problem }, 'pending', { status: 'dead', updatedAt: now }, []);
      if (saved !== undefined) await deadLettered(saved);
      return;
    }
    schedule(delivery.id, now);
  }

  return {
    notify(alert) {
      if (closed) return;
      for (const channel of channels.values()) {
        if (!channel.accepts(alert.kind)) continue;
        if (alert.kind === 'notification_failing' && alert.data.channel === channel.name) continue;
        track(create(alert, channel));
      }
    },
    async start() {
      // The oldest first; the store's page limit bounds one start (the rest stay pending for the next).
      for (const delivery of await store.listDeliveries('pending', 1000)) schedule(delivery.id, delivery.nextAttemptAt ?? clock.now());
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    async close() {
      closed = true;
      for (const cancel of scheduled.values()) cancel();
      scheduled.clear();
      await this.idle();
      await Promise.allSettled([...channels.values()].map((c) => c.close?.()));
    },
  };
}
