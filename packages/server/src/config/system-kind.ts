/**
 * What the config module needs to know of a system kind (sql, http, smtp, mcp…): its settings
 * schema, how its settings compile, which actions it offers, and how grants and data scopes on
 * it are checked. Each kind's folder under `connectors/<kind>/` implements this contract and
 * the connector side of it; the wiring hands the registry of kinds to `compileConfig`, so the
 * config module never imports connector code and adding a kind touches no file here.
 */
import type { Grant, HighRiskTag, RiskClass } from '@portcullis/core';
import type { z } from 'zod';
import type { ActionSpec } from './action-spec.js';
import type { SystemConfig } from './compiled.js';
import type { ConfigIssue } from './issues.js';
import type { Env } from './env.js';

/** An `actions:` override of the config: risk may only be raised, tags only added. */
export interface ActionOverrideSettings {
  readonly risk?: RiskClass;
  readonly tags: readonly HighRiskTag[];
  readonly notMoneyOrMessages?: string;
  /** How the action is rolled back, when the config says (`actions.<name>.undo`). */
  readonly undo?: ActionUndoSettings;
}

/**
 * An action's `undo:` in the config: declared irreversible, with the manual fallback; or (MCP
 * tools) the compensating tool of the same system and how its arguments derive from the
 * original call: each argument is a path into the call (`params.…`) or its result
 * (`result.…`), where `*` maps over a list, or `{ value }` for a fixed value.
 */
export type ActionUndoSettings =
  | { readonly irreversible: string }
  | { readonly tool: string; readonly args: Readonly<Record<string, string | { readonly value?: unknown }>> };

/** A grant as the config writes it, with what the catalog checks need around it. */
export interface GrantAsWritten {
  /** The grant's text, e.g. `crm:leads.owner_id:update`. */
  readonly text: string;
  /** Whether it is confirmed with `explicit: true` (needed for high risk). */
  readonly explicit: boolean;
  /** The `actions:` override of the action it names, if any. */
  readonly override: ActionOverrideSettings | undefined;
}

/** What compiling one system's settings may use. */
export interface SystemCompileContext {
  /** The environment, for credentials named by variable (read once, by config). */
  readonly env: Env;
  /** Makes a path from the config absolute against the config file's folder. */
  resolvePath(path: string): string;
  /** The config's `actions:` overrides, by action name. */
  readonly overrides: Readonly<Record<string, ActionOverrideSettings>>;
}

/**
 * The config side of a system kind. `S` is the kind's compiled system, `T` its validated
 * settings. Every method reports problems as values (pushed to `issues`, or returned), never
 * by throwing, so `portcullis validate` can show them all with their file:line:column.
 */
export interface SystemKindConfig<S extends SystemConfig = SystemConfig, T = unknown> {
  /** The value of `kind:` in portcullis.yaml. */
  readonly kind: string;
  /** The settings schema: a strict object whose `kind` is the literal above. */
  readonly settings: z.ZodType;
  /** Compiles validated settings; undefined, with the problems in `issues`, when the system cannot be built. */
  compile(name: string, settings: T, context: SystemCompileContext, issues: ConfigIssue[]): S | undefined;
  /** The actions the system offers, known without connecting; problems go to `issues`. */
  actionSpecs(system: S, issues: ConfigIssue[]): ActionSpec[];
  /**
   * True when the system's actions are known only once the gateway connects (an MCP upstream
   * lists its tools): overrides naming them are applied then, and grants are checked by
   * `grantProblem` alone.
   */
  readonly listsActionsOnline?: boolean;
  /**
   * What is wrong with a grant on this system (a table or column that does not exist), when the
   * kind knows more than its action catalog: the whole message, naming the grant as written.
   */
  grantProblem?(system: S, grant: Grant, written: GrantAsWritten): string | undefined;
  /**
   * Data scopes, for kinds that bound records by a field (SQL tables): what is wrong with a
   * scope bounding `resource` by `field` (`at: 'key'` for the resource, `'field'` for the
   * field), undefined when nothing is. A kind with this hook requires a data scope on every
   * resource a workflow may write; a scope on a kind without it is refused.
   */
  scopeProblem?(system: S, resource: string, field: string): { readonly at: 'key' | 'field'; readonly message: string } | undefined;
}

/** The registered system kinds, by `kind` (see connectors/registry.ts). */
export type SystemKinds = ReadonlyMap<string, SystemKindConfig>;
