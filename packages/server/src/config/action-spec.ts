/**
 * The action catalog's entries: what one action of a system is (its name, verb, risk tags,
 * parameter schema, the fields it touches), and the data-scope bound a workflow puts on a
 * resource. Each system kind (connectors/<kind>/) produces its actions' specs; config compiles
 * them into the catalog, and the service checks proposals against them.
 */
import type { HighRiskTag, Verb } from '@portcullis/core';
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
  /**
   * How an execution is rolled back, in words a person deciding on it reads (the API shows it
   * with a pending approval as `undo`); for an irreversible action, why it cannot be.
   */
  readonly undo?: string;
  readonly description: string;
  /** The parameter schema; params failing it are refused before policy (INVALID_PARAMS). */
  readonly params: z.ZodType;
  /**
   * The fields this action can touch, when its system declares them (an HTTP body schema's
   * properties); field-level grants on systems without tables are checked against them.
   */
  readonly fields?: readonly string[];
  /**
   * How the action is offered as an MCP tool, when its system describes it as one (an upstream
   * MCP server's tool definition); the MCP face offers the actions that have one.
   */
  readonly tool?: ToolDescription;
  /** The fields the (valid) params touch, for field-level grants. */
  touchedFields(params: unknown): string[];
  /** How many records the params name explicitly, when known before execution. */
  recordCount(params: unknown): number | undefined;
}

/** An action as an MCP tool is described (MCP specification, `Tool`): title, description, input schema, annotations. */
export interface ToolDescription {
  readonly title?: string;
  readonly description?: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/** A data-scope bound on one resource: only records whose `field` is within the last `withinMs`. */
export interface ScopeBound {
  readonly field: string;
  readonly withinMs: number;
}
