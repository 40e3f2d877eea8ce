/**
 * The Connector port: how the gateway acts on one system. A connector describes its actions
 * (statically, from config, so config can be validated without connecting) and executes
 * them, returning what undoes each execution. Connectors hold the system's credentials; an
 * agent never sees them.
 */
import type { Clock, JsonValue } from '@portcullis/core';
import type { ActionSpec, ScopeBound } from '../config/action-spec.js';
import type { CompiledConfig, SystemConfig } from '../config/compiled.js';
import type { SystemKindConfig } from '../config/system-kind.js';
import type { Store } from '../store/store.js';
import type { Vault } from '../vault/vault.js';

/** What a connector needs to know to execute one action. */
export interface ExecutionContext {
  readonly proposalId: string;
  readonly workflow: string;
  readonly now: number;
  /** The scope bound on the action's resource, if the workflow has one. */
  readonly scope?: ScopeBound;
  readonly maxRecords: number;
  /**
   * The agent's request, when it waits for this execution (an MCP tool call run at once): aborted
   * when the agent cancels it (notifications/cancelled), so a connector that can stop the call
   * (an MCP upstream) tells its system to stop too.
   */
  readonly signal?: AbortSignal;
  /** Told the system's progress on this execution (an MCP upstream's notifications/progress), to pass on to the agent waiting for it. */
  readonly onProgress?: (progress: ExecutionProgress) => void;
}

/** Progress of a long execution, as MCP's notifications/progress carries it. */
export interface ExecutionProgress {
  readonly progress: number;
  readonly total?: number;
  readonly message?: string;
}

/** What an execution returns: its result for the agent and what undoes it. */
export interface ExecutionResult {
  readonly result: JsonValue;
  readonly undo?: JsonValue;
}

/** A record a rollback left alone because it changed since the action, and why. */
export interface DriftedRecord {
  /** The record, as its system names it (`leads 3`, `/leads/3`). */
  readonly record: string;
  readonly why: string;
}

/**
 * What rolling back one execution did: the records put back as they were, and the records left
 * alone because someone changed them since (each with why). Both empty never happens.
 */
export interface RollbackOutcome {
  readonly undone: readonly string[];
  readonly drifted: readonly DriftedRecord[];
}

/**
 * One record an action would change, each field's value now and after, side by side (rule 3:
 * the approval request shows each field's old and new value). `old` is absent for a record
 * the action creates, `new` for one it deletes.
 */
export interface RecordChange {
  /** The record, as its system names it (`leads 3`). */
  readonly record: string;
  readonly fields: readonly { readonly field: string; readonly old?: JsonValue; readonly new?: JsonValue }[];
}

/** A system the gateway can act on. */
export interface Connector {
  readonly system: string;
  /**
   * Executes an action whose params already passed its schema and policy.
   * Re-checks scope and record bounds inside the system's own transaction.
   * @throws PortcullisError FORBIDDEN when records are outside the scope or over the bound
   *   (nothing changed), UPSTREAM_FAILED when the system fails.
   */
  execute(spec: ActionSpec, params: unknown, context: ExecutionContext): Promise<ExecutionResult>;
  /**
   * Undoes one execution of `spec` from the undo data it returned (`undo`) and its result, with
   * the gateway's credentials: a record is put back only where it still holds what the action
   * wrote; a record changed since is left alone and returned as drifted. Optional: a connector
   * without it (email) cannot roll anything back.
   * @throws PortcullisError NOT_REVERSIBLE when the undo data offers no way back (nothing was
   *   changed), UPSTREAM_FAILED when the system fails (for SQL, nothing was changed).
   */
  rollback?(spec: ActionSpec, params: unknown, undo: JsonValue, result: JsonValue | undefined, context: ExecutionContext): Promise<RollbackOutcome>;
  /**
   * Checks, without changing anything, that the records the params name exist and lie
   * inside the workflow's data scope, so a proposal outside it is denied before anyone is
   * asked to approve it. Returns the problems found (empty when none).
   */
  precheck(spec: ActionSpec, params: unknown, context: ExecutionContext): Promise<string[]>;
  /**
   * What the action would change if it ran now, read without changing anything: each record's
   * fields with their current and new values. Optional; a connector without it (or an action it
   * cannot read ahead, such as an MCP tool's) shows no changes, only the params.
   */
  preview?(spec: ActionSpec, params: unknown, context: ExecutionContext): Promise<RecordChange[] | undefined>;
  /**
   * Why the system will not run this action now, if it will not (e.g. an MCP tool that changed
   * since an admin pinned it): a proposal for it is denied TOOL_BLOCKED with this reason.
   * Optional; a connector without it never blocks an action.
   */
  blocked?(spec: ActionSpec): Promise<string | undefined>;
  /**
   * Lists the system's actions again if the last listing is older than `maxAgeMs` (systems whose
   * actions are listed online, like MCP upstreams), so a changed action is noticed. Never throws.
   */
  refresh?(maxAgeMs: number): Promise<void>;
  /**
   * Why the system does not offer an action on `resource` (an MCP tool with an unusable schema,
   * an upstream that could not be listed), when it knows; undefined otherwise.
   */
  whyNotOffered?(resource: string): string | undefined;
  /** Checks the system is reachable with the gateway's credentials. */
  check(): Promise<{ ok: true; detail: string } | { ok: false; error: string }>;
  close(): Promise<void>;
}

/** What connectors may need besides their system's config. */
export interface ConnectorDeps {
  /** System credentials configured as { vault: NAME }; read with resolveSystemSecret. */
  readonly vault?: Vault;
  readonly clock?: Clock;
  /** Where MCP tool pins are read and MCP events audited. */
  readonly store?: Store;
  /** The largest upstream MCP tool result kept, in UTF-8 bytes of JSON (`limits.resultBytes`; default 1 MiB). */
  readonly maxResultBytes?: number;
}

/**
 * A system kind: the config side (settings, catalog, grant and scope checks; see
 * config/system-kind.ts) and the connector side. One descriptor per folder under connectors/,
 * listed in connectors/registry.ts.
 */
export interface SystemKind<S extends SystemConfig = SystemConfig, T = unknown> extends SystemKindConfig<S, T> {
  /** Creates the connector of one system of this kind. Connects lazily: never throws for an unreachable system. */
  connect(system: S, deps: ConnectorDeps): Connector;
  /**
   * What about a system makes serving it unsafe, found by reading it (a SQL primaryKey that is
   * not unique): the gateway refuses to start while any is reported. A system that cannot be
   * reached reports nothing here (pre-flight checks say so). Never throws.
   */
  problemsAtStart?(system: S): Promise<string[]>;
  /**
   * Adds the actions known only once connected (an MCP upstream's tools) to the catalog, when
   * the gateway starts. What cannot be listed is returned as warnings (and audited), never fatal;
   * what the config would do to lower a listed action's risk below high (SPEC rule 2) is returned
   * as refusals, and the gateway refuses to start on them; a listed write named like money or a
   * message that the config does not class is `unclassed` (not offered; check and validate --online fail).
   */
  listActions?(config: CompiledConfig, connectors: ReadonlyMap<string, Connector>, deps: Required<Pick<ConnectorDeps, 'store' | 'clock'>>): Promise<{ config: CompiledConfig; warnings: string[]; refusals: string[]; unclassed?: string[] }>;
}
