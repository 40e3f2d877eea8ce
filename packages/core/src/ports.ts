/**
 * Ports the core declares for what it cannot do itself: tell the time, make ids, tell
 * waiters that something changed, tell people about an alert.
 * Adapters live in the server; a fake clock for tests lives in the server's testing module.
 */

/** The current time, in milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** Unique ids with a prefix, e.g. `prop_…`. */
export interface IdGenerator {
  next(prefix: string): string;
}

/** A change of state of a proposal, a workflow or an agent, as the change feed carries it. */
export interface StateChange {
  readonly kind: 'proposal' | 'workflow' | 'agent';
  readonly id: string;
  /** The new status (a proposal's status, or `disabled` / `enabled`). */
  readonly status: string;
}

/**
 * The change feed: the service publishes every state change it saved; long-polls, MCP holds
 * and (later) server-sent events wait on it. An in-process feed serves one gateway; several
 * gateways on one database share changes through the store's adapter (e.g. PostgreSQL
 * LISTEN/NOTIFY). A waiter re-reads the state it cares about: a change is a hint, never data.
 */
export interface ChangeFeed {
  /** Announces a saved change. Never throws. */
  publish(change: StateChange): void;
  /** Resolves with the next change of (`kind`, `id`), or undefined after `timeoutMs` milliseconds. */
  next(kind: StateChange['kind'], id: string, timeoutMs: number): Promise<StateChange | undefined>;
}

/** The kinds of alert the gateway raises (docs/alerts.md). */
export const ALERT_KINDS = [
  'breaker_tripped', 'approval_rate_low', 'workflow_demoted', 'outcome_unknown_waiting', 'notification_failing', 'pending_cap_reached',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * An alert as raised: audited as an `alert.raised` event (whose sequence number is `seq`), then
 * handed to the notifier. `to` are the person ids it is for (the agent's technical owner and
 * the department's leads); `data` carries the numbers, and `runbook` the manual fallback where
 * it applies.
 */
export interface Alert {
  readonly kind: AlertKind;
  /** The `alert.raised` event's sequence number: unique, so a delivery can be keyed by it. */
  readonly seq: number;
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly workflow?: string;
  /** One line a person reads first (an email subject). */
  readonly title: string;
  /** What happened and what to do, in sentences. */
  readonly message: string;
  readonly runbook?: string;
  readonly to: readonly string[];
  readonly data: { readonly [key: string]: unknown };
}

/**
 * Tells people about alerts, through the configured channels (signed webhooks, email; Slack
 * later). `notify` never throws and never waits for delivery: each channel delivers on its
 * own, retries, and records every attempt.
 */
export interface Notifier {
  notify(alert: Alert): void;
}
