/**
 * Conformance cases for the notification channels' deliveries and attempts (part of the ONE
 * suite in store-conformance.ts).
 */
import { describe, expect, it } from 'vitest';
import type { NotificationDelivery, Store } from './store.js';
import { T0, makeEvent, verifyStore } from './store-conformance-fixtures.js';

const delivery = (overrides: Partial<NotificationDelivery> = {}): NotificationDelivery => ({
  id: 'ntf_1_webhook-ops', channel: 'webhook:ops', alertSeq: 1, alertKind: 'breaker_tripped', body: '{"type":"alert.breaker_tripped"}',
  status: 'pending', attempts: 0, nextAttemptAt: T0, createdAt: T0, updatedAt: T0, ...overrides,
});

/** Registers the notification cases. */
export function describeNotificationConformance(getStore: () => Store): void {
  describe('notification deliveries', () => {
    it('inserts a delivery once and reads it back unchanged', async () => {
      const store = getStore();
      expect(await store.insertDelivery(delivery())).toBe(true);
      expect(await store.insertDelivery(delivery({ body: 'other' }))).toBe(false);
      expect(await store.getDelivery('ntf_1_webhook-ops')).toEqual(delivery());
      expect(await store.getDelivery('ntf_missing')).toBeUndefined();
      expect(await store.listDeliveryAttempts('ntf_1_webhook-ops')).toEqual([]);
    });

    it('records each attempt with the delivery\'s new state and its events, atomically, compare-and-set on the attempt number', async () => {
      const store = getStore();
      await store.insertDelivery(delivery());
      const failed = await store.recordDeliveryAttempt(
        { deliveryId: 'ntf_1_webhook-ops', attempt: 1, at: T0, ok: false, code: 500, error: 'answered 500' },
        'pending', { status: 'pending', nextAttemptAt: T0 + 1000, updatedAt: T0 + 1 }, [],
      );
      expect(failed).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: T0 + 1000, lastError: 'answered 500', updatedAt: T0 + 1 });
      // The same attempt again (another process made it): nothing written.
      expect(await store.recordDeliveryAttempt({ deliveryId: 'ntf_1_webhook-ops', attempt: 1, at: T0, ok: true }, 'pending', { status: 'delivered', updatedAt: T0 + 2 }, [makeEvent()])).toBeUndefined();
      // The wrong status: nothing written.
      expect(await store.recordDeliveryAttempt({ deliveryId: 'ntf_1_webhook-ops', attempt: 2, at: T0, ok: true }, 'dead', { status: 'delivered', updatedAt: T0 + 2 }, [makeEvent()])).toBeUndefined();
      const dead = await store.recordDeliveryAttempt({ deliveryId: 'ntf_1_webhook-ops', attempt: 2, at: T0 + 1000, ok: false, error: 'timed out' }, 'pending', { status: 'dead', updatedAt: T0 + 1001 }, []);
      expect(dead).toMatchObject({ status: 'dead', attempts: 2, lastError: 'timed out' });
      expect(dead?.nextAttemptAt).toBeUndefined();
      expect((await store.listDeliveries('dead')).map((d) => d.id)).toEqual(['ntf_1_webhook-ops']);
      expect(await store.listDeliveries('pending')).toEqual([]);
      const replayed = await store.recordDeliveryAttempt({ deliveryId: 'ntf_1_webhook-ops', attempt: 3, at: T0 + 5000, ok: true, code: 204 }, 'dead', { status: 'delivered', updatedAt: T0 + 5001 }, [makeEvent({ type: 'notification.replayed' })]);
      expect(replayed).toMatchObject({ status: 'delivered', attempts: 3, lastError: 'timed out' });
      expect(await store.listDeliveryAttempts('ntf_1_webhook-ops')).toEqual([
        { deliveryId: 'ntf_1_webhook-ops', attempt: 1, at: T0, ok: false, code: 500, error: 'answered 500' },
        { deliveryId: 'ntf_1_webhook-ops', attempt: 2, at: T0 + 1000, ok: false, error: 'timed out' },
        { deliveryId: 'ntf_1_webhook-ops', attempt: 3, at: T0 + 5000, ok: true, code: 204 },
      ]);
      expect((await store.queryAudit({ limit: 10 })).map((e) => e.type)).toEqual(['notification.replayed']);
      expect((await verifyStore(store)).ok).toBe(true);
    });

    it('lists a status oldest first, up to the limit', async () => {
      const store = getStore();
      for (const n of [3, 1, 2]) await store.insertDelivery(delivery({ id: `ntf_${n}`, alertSeq: n, createdAt: T0 + n }));
      await store.insertDelivery(delivery({ id: 'ntf_done', status: 'delivered' }));
      expect((await store.listDeliveries('pending')).map((d) => d.id)).toEqual(['ntf_1', 'ntf_2', 'ntf_3']);
      expect((await store.listDeliveries('pending', 2)).map((d) => d.id)).toEqual(['ntf_1', 'ntf_2']);
      expect((await store.listDeliveries('delivered')).map((d) => d.id)).toEqual(['ntf_done']);
    });
  });
}
