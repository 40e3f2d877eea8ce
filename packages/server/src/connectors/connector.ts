/**
 * The Connector port: how the gateway acts on one system. A connector describes its actions
 * (statically, from config, so config can be validated without connecting) and executes
 * them, returning what undoes each execution. Connectors hold the system's credentials; an
 * agent never sees them.
 */
import type { HighRiskTag, JsonValue, Verb } from '@portcullis/core';
import type { z } from 'zod';

/** One action a system offers, before the config resolves its risk. */
export interface ActionSpec {
  /** `system.resource.verb`, e.g. `crm.leads.update`. */
  readonly name: string;
  readonly system: string;
  readonly resource: string;
  readonly verb: Verb;
  readonly tags: readonly HighRiskTag[];
  readonly reversible: boolean;
  readonly description: string;
  /** The parameter schema; params failing it are refused before policy (INVALID_PARAMS). */
  readonly params: z.ZodType;
  /**
   * The fields this action can touch, when its system declares them (an HTTP body schema's
   * properties); field-level grants on systems without tables are checked against them.
   */
  readonly fields?: readonly string[];
  /** The fields the (valid) params touch, for field-level grants. */
  touchedFields(params: unknown): string[];
  /** How many records the params name explicitly, when known before execution. */
  recordCount(params: unknown): number | undefined;
}

/** A data-scope bound on one resource: only records whose `field` is within the last `withinMs`. */
export interface ScopeBound {
  readonly field: string;
  readonly withinMs: number;
}

/** What a connector needs to know to execute one action. */
export interface ExecutionContext {
  readonly proposalId: string;
  readonly workflow: string;
  readonly now: number;
  /** The scope bound on the action's resource, if the workflow has one. */
  readonly scope?: ScopeBound;
  readonly maxRecords: number;
}

/** What an execution returns: its result for the agent and what undoes it. */
export interface ExecutionResult {
  readonly result: JsonValue;
  readonly undo?: JsonValue;
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
   * Checks, without changing anything, that the records the params name exist and lie
   * inside the workflow's data scope, so a proposal outside it is denied before anyone is
   * asked to approve it. Returns the problems found (empty when none).
   */
  precheck(spec: ActionSpec, params: unknown, context: ExecutionContext): Promise<string[]>;
  /**
   * Why the system will not run this action now, if it will not (e.g. an MCP tool that changed
   * since an admin pinned it): a proposal for it is denied TOOL_BLOCKED with this reason.
   * Optional; a connector without it never blocks an action.
   */
  blocked?(spec: ActionSpec): Promise<string | undefined>;
  /** Checks the system is reachable with the gateway's credentials. */
  check(): Promise<{ ok: true; detail: string } | { ok: false; error: string }>;
  close(): Promise<void>;
}
