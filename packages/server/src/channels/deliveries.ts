/**
 * One attempt at a delivery, recorded. Invariant: every attempt is recorded in the store with
 * the delivery's new state in one compare-and-set write (store.recordDeliveryAttempt), so an
 * attempt is recorded once even if two processes try; a delivery leaves `pending` for
 * `delivered` on a success, or for `dead` (the dead-letter list) once `attempts` attempts
 * failed or a failure is permanent.
 */
import type { AuditEventDraft, Clock } from '@portcullis/core';
import type { DeliveryStatus, NotificationDelivery, Store } from '../store/store.js';
import type { AttemptResult, Channel } from './channel.js';
import { retryDelay } from './scheduler.js';

/** How deliveries are retried. */
export interface RetryPolicy {
  /** Attempts before the dead-letter list. */
  readonly attempts: number;
  /** The wait before the first retry, in ms; doubled each time, with jitter. */
  readonly backoffMs: number;
  /** The longest wait, in ms. */
  readonly maxBackoffMs: number;
  /** A number in [0, 1) for the jitter (injected; default Math.random). */
  readonly random: () => number;
}

/** What recording an attempt needs. */
export interface AttemptDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly channels: ReadonlyMap<string, Channel>;
  readonly retry: RetryPolicy;
}

/**
 * Makes the next attempt at `delivery` (whose status is `from`) and records it. `last`: this
 * attempt is the last, whatever the count (a replay). Resolves with the delivery as saved, or
 * undefined when another process recorded that attempt first.
 * @throws PortcullisError STORE_UNAVAILABLE when the attempt cannot be recorded
 */
export async function attemptDelivery(
  deps: AttemptDeps, delivery: NotificationDelivery, from: DeliveryStatus, options: { last?: boolean; events?: (result: AttemptResult) => AuditEventDraft[] } = {},
): Promise<{ delivery: NotificationDelivery; result: AttemptResult } | undefined> {
  const channel = deps.channels.get(delivery.channel);
  const at = deps.clock.now();
  const result: AttemptResult = channel === undefined
    ? { ok: false, error: `channel ${delivery.channel} is no longer configured (notifications in the config)`, permanent: true }
    : await channel.deliver(delivery, at).catch((error: unknown): AttemptResult => ({ ok: false, error: `channel ${delivery.channel} failed: ${(error as Error).message}` }));
  const attempt = delivery.attempts + 1;
  const now = deps.clock.now();
  const dead = !result.ok && (options.last === true || result.permanent === true || attempt >= deps.retry.attempts);
  const outcome = result.ok ? { status: 'delivered' as const, updatedAt: now }
    : dead ? { status: 'dead' as const, updatedAt: now }
      : { status: 'pending' as const, updatedAt: now, nextAttemptAt: now + retryDelay(attempt, deps.retry.backoffMs, deps.retry.maxBackoffMs, deps.retry.random) };
  const saved = await deps.store.recordDeliveryAttempt({
    deliveryId: delivery.id, attempt, at, ok: result.ok,
    ...(result.code === undefined ? {} : { code: result.code }), ...(result.ok ? {} : { error: result.error }),
  }, from, outcome, options.events?.(result) ?? []);
  return saved === undefined ? undefined : { delivery: saved, result };
}
