/**
 * A notification channel: one way of telling people about an alert (a webhook receiver, email).
 * The notifier (notifier.ts) owns retries and recording; a channel only turns an alert into
 * what it sends, and makes one attempt at sending it.
 */
import type { Alert, AlertKind } from '@portcullis/core';
import type { NotificationDelivery } from '../store/store.js';

/** What one attempt came to. */
export type AttemptResult =
  | { readonly ok: true; readonly code?: number }
  | {
    readonly ok: false;
    readonly code?: number;
    /** Why, naming the problem and the fix; never a secret. */
    readonly error: string;
    /** Retrying cannot help (nobody to send to): the delivery goes to the dead-letter list at once. */
    readonly permanent?: boolean;
  };

/** What a channel sends for an alert, or why it cannot send it at all. */
export type PreparedBody = { readonly body: string } | { readonly problem: string };

export interface Channel {
  /** Unique among the channels: `webhook:NAME` or `email`. */
  readonly name: string;
  /** Whether this channel tells alerts of `kind` (its configured kinds filter). */
  accepts(kind: AlertKind): boolean;
  /** The bytes every attempt of the alert's delivery sends (fixed once, so retries and replays send the same). */
  prepare(alert: Alert): PreparedBody;
  /** Makes one attempt. Never throws: a failure is a result. */
  deliver(delivery: NotificationDelivery, now: number): Promise<AttemptResult>;
  /** Releases what it holds (connections). */
  close?(): Promise<void>;
}

/** The id of the delivery of alert `seq` through `channel`: a webhook's `webhook-id`, the same for every attempt and a replay. */
export function deliveryId(seq: number, channel: string): string {
  return `ntf_${seq}_${channel.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

const SHOWN = new Set(['kind', 'title', 'message', 'runbook', 'to', 'workflow']);

/** The alert's numbers and context, without what the alert already says (kind, title, message, runbook, to, workflow). */
export function alertDetails(alert: Alert): Record<string, unknown> {
  return Object.fromEntries(Object.entries(alert.data).filter(([key]) => !SHOWN.has(key)));
}
