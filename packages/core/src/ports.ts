/**
 * Ports the core declares for what it cannot do itself: tell the time, make ids, tell
 * waiters that something changed.
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
