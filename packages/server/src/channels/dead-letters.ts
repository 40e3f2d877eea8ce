/**
 * The dead-letter list, for an admin (`portcullis notifications failed|replay`): deliveries whose
 * attempts ran out, with every attempt, and a replay that makes one more attempt now through
 * the same channel, with the same id and body. Invariants: a replay is audited
 * (`notification.replayed`, with its outcome) in the same write that records its attempt; a
 * replay that fails leaves the delivery in the list; only dead deliveries are replayed, so a
 * replay never races the running gateway's retries of a pending one.
 */
import { PortcullisError, type Actor, type Clock } from '@portcullis/core';
import type { DeliveryAttempt, NotificationDelivery, Store } from '../store/store.js';
import type { Channel } from './channel.js';
import { attemptDelivery, type RetryPolicy } from './deliveries.js';

/** A dead-lettered delivery with its attempts. */
export interface DeadLetter {
  readonly delivery: NotificationDelivery;
  readonly attempts: readonly DeliveryAttempt[];
}

/** What one replay came to. */
export interface ReplayResult {
  readonly id: string;
  readonly channel: string;
  readonly ok: boolean;
  /** Why it failed again (it stays in the dead-letter list). */
  readonly error?: string;
}

/** The dead-letter list's use cases. */
export interface NotificationsAdmin {
  /** The dead-lettered deliveries, oldest first (at most 1000). */
  failed(): Promise<DeadLetter[]>;
  /**
   * Replays dead-lettered deliveries: `ids`, or every one for 'all'.
   * @throws PortcullisError INVALID_REQUEST naming an id that is not in the dead-letter list (nothing replayed)
   */
  replay(ids: readonly string[] | 'all'): Promise<ReplayResult[]>;
}

/** Creates the admin over a store and the configured channels. */
export function createNotificationsAdmin(deps: { store: Store; clock: Clock; channels: readonly Channel[]; retry: RetryPolicy; actor: Actor }): NotificationsAdmin {
  const { store, clock, actor } = deps;
  const channels = new Map(deps.channels.map((c) => [c.name, c]));
  return {
    async failed() {
      const dead = await store.listDeliveries('dead', 1000);
      return Promise.all(dead.map(async (delivery) => ({ delivery, attempts: await store.listDeliveryAttempts(delivery.id) })));
    },
    async replay(ids) {
      let targets: NotificationDelivery[];
      if (ids === 'all') {
        targets = await store.listDeliveries('dead', 1000);
      } else {
        targets = [];
        for (const id of ids) {
          const delivery = await store.getDelivery(id);
          if (delivery?.status !== 'dead') {
            throw new PortcullisError('INVALID_REQUEST', `"${id}" is not in the dead-letter list${delivery === undefined ? '' : ` (it is ${delivery.status})`}; list it with \`portcullis notifications failed\`; nothing was replayed`);
          }
          targets.push(delivery);
        }
      }
      const results: ReplayResult[] = [];
      for (const delivery of targets) {
        const done = await attemptDelivery({ store, clock, channels, retry: deps.retry }, delivery, 'dead', {
          last: true,
          events: (result) => [{
            type: 'notification.replayed', at: clock.now(), actor,
            data: { delivery: delivery.id, channel: delivery.channel, alertSeq: delivery.alertSeq, alertKind: delivery.alertKind, ok: result.ok, ...(result.ok ? {} : { error: result.error }) },
          }],
        });
        if (done === undefined) { results.push({ id: delivery.id, channel: delivery.channel, ok: false, error: 'another process attempted it at the same time; list again' }); continue; }
        results.push({ id: delivery.id, channel: delivery.channel, ok: done.result.ok, ...(done.result.ok ? {} : { error: done.result.error }) });
      }
      return results;
    },
  };
}
