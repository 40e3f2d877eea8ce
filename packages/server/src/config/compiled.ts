/**
 * The compiled configuration: what `compileConfig` produces from a validated
 * portcullis.yaml. Frozen; everything the gateway needs is resolved here (paths made
 * absolute, keys hashed, risk classes resolved, grants indexed), so no other module
 * re-interprets the file or reads the environment.
 */
import type { ActionType, ApproverPolicy, HighRiskTag, RiskClass, WorkflowPolicy } from '@portcullis/core';
import type { ActionSpec, ScopeBound } from '../connectors/connector.js';
import type { HttpOperation } from '../connectors/http/openapi-document.js';
import type { CompiledSecret, OAuth2Config } from './system-secrets.js';

/** A table a SQL system exposes. */
export interface SqlTableConfig {
  readonly name: string;
  readonly primaryKey: string;
  readonly columns: readonly string[];
}

/** A SQL system (SQLite now; PostgreSQL later). */
export interface SqlSystemConfig {
  readonly kind: 'sql';
  readonly name: string;
  readonly driver: 'sqlite';
  /** Absolute path of the database file. */
  readonly path: string;
  readonly tables: ReadonlyMap<string, SqlTableConfig>;
}

/** How the gateway authenticates to an HTTP system. */
export type HttpAuthConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: CompiledSecret }
  | { readonly kind: 'header'; readonly name: string; readonly value: CompiledSecret }
  | { readonly kind: 'oauth2'; readonly oauth2: OAuth2Config };

/** An HTTP system described by an OpenAPI 3 document. */
export interface HttpSystemConfig {
  readonly kind: 'http';
  readonly name: string;
  /** Absolute path of the OpenAPI document. */
  readonly openapi: string;
  /** Where every request goes, without a trailing slash. */
  readonly baseUrl: string;
  readonly auth: HttpAuthConfig;
  /** Path `check()` GETs; default the base URL. */
  readonly healthPath?: string;
  /** How long one request may take. */
  readonly timeoutMs: number;
  /** The document's operations: one action each. */
  readonly operations: readonly HttpOperation[];
  /** Operations of the document that are not offered, with why. */
  readonly skipped: readonly string[];
}

/** An SMTP mail server. */
export interface SmtpSystemConfig {
  readonly kind: 'smtp';
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (else STARTTLS). */
  readonly secure: boolean;
  /** The sender of every email. */
  readonly from: string;
  readonly auth?: { readonly user: string; readonly password: CompiledSecret };
  /** How long connecting and each step of sending may take. */
  readonly timeoutMs: number;
}

/** How the gateway authenticates to a Streamable HTTP MCP upstream (with its own credential). */
export type McpAuthConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: CompiledSecret }
  | { readonly kind: 'header'; readonly name: string; readonly value: CompiledSecret };

/** How the gateway reaches an upstream MCP server. */
export type McpTransportConfig =
  | {
    readonly kind: 'stdio';
    readonly command: string;
    readonly args: readonly string[];
    /** The upstream process's environment variables, by name. */
    readonly env: ReadonlyMap<string, CompiledSecret>;
    /** Absolute working folder, if configured. */
    readonly cwd?: string;
  }
  | { readonly kind: 'http'; readonly url: string; readonly auth: McpAuthConfig };

/** An upstream MCP server; its tools become actions when the gateway starts (connectors/mcp/). */
export interface McpSystemConfig {
  readonly kind: 'mcp';
  readonly name: string;
  readonly transport: McpTransportConfig;
  /** How long connecting, listing tools or one call may take. */
  readonly timeoutMs: number;
  /** The `actions:` overrides of its tools, by tool name (risk may only be raised). */
  readonly overrides: ReadonlyMap<string, { readonly risk?: RiskClass; readonly tags: readonly HighRiskTag[] }>;
}

export type SystemConfig = SqlSystemConfig | HttpSystemConfig | SmtpSystemConfig | McpSystemConfig;

/** An action type with its resolved risk and its connector spec. */
export interface CompiledAction extends ActionType {
  readonly spec: ActionSpec;
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
  readonly store: StoreConfig;
  readonly audit: { readonly retentionDays: number };
  /** The vault's master-key source. */
  readonly vault: VaultConfig;
  /** The MCP gateway's settings (the top-level `mcp:` section). */
  readonly mcp: { readonly holdMs: number };
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
