/**
 * The dead-letter list of the notification channels, as the operator's CLI sees it. The
 * channels (channels/dead-letters.ts) implement it; the wiring hands it to the admin service,
 * so neither the service nor a face imports a channel.
 */
import type { DeliveryAttempt, NotificationDelivery } from '../store/store.js';

/** A dead-lettered delivery with every attempt. */
export interface DeadLetterView {
  readonly delivery: NotificationDelivery;
  readonly attempts: readonly DeliveryAttempt[];
}

/** What one replay came to. */
export interface ReplayView {
  readonly id: string;
  readonly channel: string;
  readonly ok: boolean;
  /** Why it failed again (it stays in the dead-letter list). */
  readonly error?: string;
}

/** Listing and replaying dead-lettered deliveries. */
export interface NotificationsAdmin {
  /** The dead-lettered deliveries, oldest first. */
  failed(): Promise<DeadLetterView[]>;
  /**
   * One more attempt now at each of `ids` (or every dead-lettered delivery), audited as
   * `notification.replayed`; a failed one stays in the list.
   * @throws PortcullisError INVALID_REQUEST for an id not in the dead-letter list (nothing replayed)
   */
  replay(ids: readonly string[] | 'all'): Promise<ReplayView[]>;
}
