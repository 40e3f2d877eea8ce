/**
 * The compiled configuration: what `compileConfig` produces from a validated
 * portcullis.yaml. Frozen; everything the gateway needs is resolved here (paths made
 * absolute, keys hashed, risk classes resolved, grants indexed), so no other module
 * re-interprets the file or reads the environment.
 */
import type { ActionType, ApproverPolicy, WorkflowPolicy } from '@portcullis/core';
import type { ActionSpec, ScopeBound } from './action-spec.js';
import type { NotificationsConfig } from './notifications.js';

export type { NotificationsConfig, WebhookConfig } from './notifications.js';

/**
 * A compiled system: every kind's compiled settings carry its kind and name; the rest is the
 * kind's own (see connectors/<kind>/<kind>-settings.ts).
 */
export interface SystemConfig {
  /** The value of `kind:` in portcullis.yaml. */
  readonly kind: string;
  readonly name: string;
}

/** Where and how often signed checkpoints of the audit tree are cut and published. */
export interface CheckpointsConfig {
  readonly origin: string;
  /** The signing key file (absolute), when the key does not come from the environment. */
  readonly keyFile?: string;
  /** The signing key's text from PORTCULLIS_AUDIT_SIGNING_KEY, when set. */
  readonly envKey?: string;
  /** Public keys (note verifier text) of earlier signing keys, whose checkpoints still verify after a rotation. */
  readonly previousKeys: readonly string[];
  /** The checkpoint log's directory (absolute). */
  readonly dir: string;
  readonly everyEvents: number;
  readonly everyMs: number;
  readonly stdout: boolean;
  readonly url?: string;
  readonly maxLagMs: number;
  /** A C2SP tlog-witness to ask for a cosignature of each checkpoint. */
  readonly witness?: { readonly url: string; readonly key: string };
}

/** An action type with its resolved risk and its connector spec. */
export interface CompiledAction extends ActionType {
  readonly spec: ActionSpec;
  /** Why this write, named like money or a message, is neither (declared in the config; audited at start). */
  readonly notMoneyOrMessages?: string;
  /** How people undo it by hand, when the config declares it irreversible (`actions.<name>.undo.irreversible`). */
  readonly manualFallback?: string;
}

export interface AgentConfig {
  readonly id: string;
  readonly name: string;
  /** Person id of the technical owner. */
  readonly owner: string;
  readonly department: string;
  /** SHA-256 hex of the agent's API key. */
  readonly keyHash: string;
}

export interface PersonConfig {
  readonly id: string;
  readonly name: string;
  readonly email?: string;
  readonly admin: boolean;
  /** SHA-256 hex of the person's API token, if they have one. */
  readonly tokenHash?: string;
}

export interface DepartmentConfig {
  readonly id: string;
  readonly name: string;
  readonly leads: readonly string[];
  readonly delegates: readonly string[];
}

/** A workflow: the policy the core evaluates plus what the service needs around it. */
export interface CompiledWorkflow extends WorkflowPolicy {
  readonly description: string;
  /** Person id of the workflow's owner. */
  readonly owner: string;
  /** The manual-fallback runbook: what people do when the agent is off. */
  readonly runbook: string;
  /** The admin's override that automates writes from the config (mode.write: auto), if any. */
  readonly override?: { readonly by: string; readonly reason: string };
  /** Consecutive execution failures that trip the circuit breaker (disable the workflow); at least 1. */
  readonly breakerThreshold: number;
  readonly approvers: ApproverPolicy;
  /** How long a pending proposal waits for a decision before it expires. */
  readonly approvalTimeoutMs: number;
  /** How long an approval stays usable before execution must have started. */
  readonly approvalValidityMs: number;
  /** Data-scope bounds by `system:resource`. */
  readonly scope: ReadonlyMap<string, ScopeBound>;
  /** The systems the workflow's grants reach. */
  readonly systems: readonly string[];
}

export type StoreConfig =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

/** Where the vault's master key comes from (see vault/master-key.ts). */
export interface VaultConfig {
  /** Absolute path of `vault.keyFile`, if configured. */
  readonly keyFile?: string;
  /** The value of PORTCULLIS_MASTER_KEY, if set; wins over the key file. Never print it. */
  readonly envKey?: string;
}

export interface CompiledConfig {
  /** Absolute path of the file it came from, or '<inline>'. */
  readonly source: string;
  readonly server: { readonly host: string; readonly port: number; readonly bodyLimitBytes: number };
  /** Size limits that hold on every face (`limits:`), in UTF-8 bytes of JSON. */
  readonly limits: {
    readonly paramsBytes: number;
    readonly resultBytes: number;
    readonly proposalsPerMinute: number;
    readonly maxPendingPerAgent: number;
    readonly maxPendingPerWorkflow: number;
    /** `limits.rejectionCooldown`, in milliseconds. */
    readonly rejectionCooldownMs: number;
  };
  readonly store: StoreConfig;
  readonly audit: { readonly retentionDays: number; readonly checkpoints?: CheckpointsConfig };
  /** The vault's master-key source. */
  readonly vault: VaultConfig;
  /** The IANA time zone of calendar days (daily figures, alerts, reports). */
  readonly timeZone: string;
  /** Earned automation: decisions a 7-day window needs (the top-level `rollout:` section). */
  readonly rollout: { readonly minDecisions: number };
  /** When alerts are raised (the top-level `alerts:` section). */
  readonly alerts: {
    /** Alert when a day's approval rate is below `below` (a fraction) over at least `minDecisions` decisions. */
    readonly approvalRate: { readonly below: number; readonly minDecisions: number };
    readonly outcomeUnknownAfterMs: number;
    readonly evaluateEveryMs: number;
  };
  /** The MCP gateway's settings (the top-level `mcp:` section). */
  readonly mcp: {
    readonly holdMs: number;
    /** How often a held call sends a progress notification (`mcp.progressInterval`), in milliseconds. */
    readonly progressMs: number;
    /** Tool names by action name (`mcp.aliases`). */
    readonly aliases: ReadonlyMap<string, string>;
  };
  /** Where alerts are told (the top-level `notifications:` section), if configured. */
  readonly notifications?: NotificationsConfig;
  readonly systems: ReadonlyMap<string, SystemConfig>;
  /** Every action of every system, by name. */
  readonly actions: ReadonlyMap<string, CompiledAction>;
  readonly agents: ReadonlyMap<string, AgentConfig>;
  readonly agentsByKeyHash: ReadonlyMap<string, AgentConfig>;
  readonly people: ReadonlyMap<string, PersonConfig>;
  readonly peopleByTokenHash: ReadonlyMap<string, PersonConfig>;
  readonly departments: ReadonlyMap<string, DepartmentConfig>;
  readonly workflows: ReadonlyMap<string, CompiledWorkflow>;
}
