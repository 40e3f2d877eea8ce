/**
 * Ports the core declares for what it cannot do itself: tell the time, make ids, tell
 * waiters that something changed, tell people about an alert.
 * Adapters live in the server; a fake clock for tests lives in the server's testing module.
 */

import type { ProposalStatus } from './lifecycle.js';

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

/** A proposal reaching a status, as metrics count it. Durations in milliseconds. */
export interface ProposalMove {
  readonly workflow: string;
  /** The status reached (the first status of a new proposal, or the end of an edge). */
  readonly status: ProposalStatus;
  /** For a person's decision (approved, rejected): from the proposal's creation to the decision. */
  readonly waitMs?: number;
  /** For an execution's outcome (succeeded, failed, outcome_unknown): how long it ran. */
  readonly executionMs?: number;
}

/** The gateway's state when metrics are scraped: gauges, read from the store then. */
export interface GaugeSnapshot {
  /** Pending approvals by workflow id. */
  readonly pendingApprovals: Readonly<Record<string, number>>;
  /** Whether each workflow is disabled, by workflow id. */
  readonly workflowsDisabled: Readonly<Record<string, boolean>>;
  /** Whether each agent is disabled, by agent id. */
  readonly agentsDisabled: Readonly<Record<string, boolean>>;
  /** The audit trail's newest sequence number. */
  readonly auditEvents: number;
  /** Whether a write to the audit store can be made durable now. */
  readonly auditWritable: boolean;
  /** Whether the trail agrees with its published checkpoints (the gateway executes only then). */
  readonly auditTrusted: boolean;
}

/**
 * Counts what the gateway does, for a metrics system (Prometheus). `proposalMoved` never
 * throws; `render` gives the exposition text with the gauges of `snapshot`.
 */
export interface MetricsRecorder {
  proposalMoved(move: ProposalMove): void;
  render(snapshot: GaugeSnapshot): Promise<{ readonly contentType: string; readonly text: string }>;
}
