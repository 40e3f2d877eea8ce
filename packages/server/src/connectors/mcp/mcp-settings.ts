/**
 * `kind: mcp` systems in portcullis.yaml: an upstream MCP server the gateway launches (stdio:
 * `command`, `args`, `env`, `cwd`) or reaches (Streamable HTTP: `url`, `auth`), and the
 * top-level `mcp:` settings of the MCP gateway itself. Invariants: no credential is written
 * in the file (each `env` value of the upstream process, and each upstream credential, is
 * named as `{ env: VAR }` or `{ vault: NAME }`); the upstream process inherits nothing else
 * of the gateway's environment but the few variables a process needs to run (PATH, HOME…),
 * so the agent's key never reaches it; a credential never travels over plain http off the
 * loopback interface. Tools are not known here: the gateway lists them when it starts.
 */
import { defaultRisk, type HighRiskTag, type RiskClass, type Verb } from '@portcullis/core';
import { z } from 'zod';
import { MCP_GRANT_VERBS } from './mcp-tools.js';
import type { SystemConfig } from '../../config/compiled.js';
import type { ActionUndoSettings, SystemCompileContext } from '../../config/system-kind.js';
import type { ConfigIssue, PathSegment } from '../../config/issues.js';
import { durationMs } from '../../config/duration.js';
import { ENV_NAME_PATTERN, durationSetting, headerName, isLoopback } from '../../config/system-common.js';
import { compileSecret, envOrVaultSecret, secretRef, type CompiledSecret } from '../../config/system-secrets.js';

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
  readonly overrides: ReadonlyMap<string, { readonly risk?: RiskClass; readonly tags: readonly HighRiskTag[]; readonly notMoneyOrMessages?: string; readonly undo?: ActionUndoSettings }>;
}

/** How long one request to an upstream MCP server may take unless the config says otherwise. */
export const DEFAULT_MCP_TIMEOUT = '30s';

const duration = durationSetting;

const mcpAuth = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({
    kind: z.literal('bearer'),
    tokenEnv: envOrVaultSecret.describe('Environment variable (or { vault: NAME }) holding the token sent upstream as "Authorization: Bearer". Never the agent\'s key.'),
  }),
  z.strictObject({
    kind: z.literal('header'),
    name: headerName,
    valueEnv: envOrVaultSecret.describe('Environment variable (or { vault: NAME }) holding the header\'s value.'),
  }),
], { error: 'expected auth kind: none, bearer or header' });

/** The settings of an MCP system: exactly one of `command` (stdio) or `url` (Streamable HTTP). */
export const mcpSystemSchema = z.strictObject({
  kind: z.literal('mcp'),
  command: z.string().trim().min(1).optional().describe('stdio: the program that runs the upstream MCP server, e.g. node or npx.'),
  args: z.array(z.string()).optional().describe('stdio: its arguments.'),
  env: z.record(z.string().regex(ENV_NAME_PATTERN, { error: 'expected an environment variable name' }), z.union([z.string(), secretRef])).optional()
    .describe('stdio: environment of the upstream process, each value named as { env: VAR } or { vault: NAME }, never written here.'),
  cwd: z.string().min(1).optional().describe('stdio: working folder of the upstream process, relative to the config file\'s folder.'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of a Streamable HTTP MCP endpoint, e.g. https://tools.example.com/mcp' }).optional()
    .describe('Streamable HTTP: the upstream\'s MCP endpoint.'),
  auth: mcpAuth.optional().describe('Streamable HTTP: how the gateway authenticates upstream (its own credential, never the agent\'s).'),
  timeout: duration(DEFAULT_MCP_TIMEOUT, 'How long connecting, listing tools or one tool call may take before it fails, e.g. "30s".'),
}).superRefine((value, ctx) => {
  for (const [variable, ref] of Object.entries(value.env ?? {})) {
    if (typeof ref === 'string') ctx.addIssue({ code: 'custom', path: ['env', variable], message: `write { env: VARIABLE } or { vault: NAME }: the upstream's environment is named, never written in the file (it may hold a secret); e.g. ${variable}: { env: ${variable} }` });
  }
  if ((value.command === undefined) === (value.url === undefined)) {
    ctx.addIssue({ code: 'custom', path: [], message: 'an mcp system needs exactly one of command (an upstream launched over stdio) or url (a Streamable HTTP endpoint)' });
    return;
  }
  if (value.url !== undefined) {
    for (const key of ['args', 'env', 'cwd'] as const) {
      if (value[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to an upstream launched with command; remove it, or replace url by command` });
    }
    const url = new URL(value.url);
    if (value.auth !== undefined && value.auth.kind !== 'none' && url.protocol === 'http:' && !isLoopback(url.hostname)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'credentials would travel in plain text: use https (plain http is accepted with auth on 127.0.0.1 and localhost only)' });
    }
  } else if (value.auth !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['auth'], message: 'auth applies to a url upstream; pass a stdio upstream its credentials through env: { NAME: { env: VAR } }' });
  }
});

export type McpSystemSettings = z.output<typeof mcpSystemSchema>;

/** Whether a compiled system is an MCP system. */
export function isMcpSystem(system: SystemConfig | undefined): system is McpSystemConfig {
  return system?.kind === 'mcp';
}

/**
 * Compiles an MCP system; undefined, with the problems in `issues`, when a credential or an
 * environment value of it cannot be named. `resolvePath` makes a config path absolute.
 */
export function compileMcpSystem(name: string, settings: McpSystemSettings, context: Pick<SystemCompileContext, 'env' | 'resolvePath'> & Partial<Pick<SystemCompileContext, 'overrides'>>, issues: ConfigIssue[]): McpSystemConfig | undefined {
  const at = (...rest: PathSegment[]): PathSegment[] => ['systems', name, ...rest];
  const before = issues.length;
  const secret = (setting: Parameters<typeof compileSecret>[0], path: PathSegment[]): CompiledSecret | undefined => {
    const compiled = compileSecret(setting, name, path, context.env);
    issues.push(...compiled.issues);
    return compiled.secret;
  };
  const timeoutMs = durationMs(settings.timeout);
  // The `actions:` overrides of this system's tools, applied when the tools are listed.
  const overrides = new Map(Object.entries(context.overrides ?? {}).filter(([key]) => key.startsWith(`${name}.`))
    .map(([key, value]) => [key.slice(name.length + 1), Object.freeze({
      ...(value.risk === undefined ? {} : { risk: value.risk }), tags: Object.freeze([...value.tags]),
      ...(value.notMoneyOrMessages === undefined ? {} : { notMoneyOrMessages: value.notMoneyOrMessages }),
      ...(value.undo === undefined ? {} : { undo: value.undo }),
    })]));
  if (settings.url !== undefined) {
    const a = settings.auth ?? { kind: 'none' as const };
    let auth: McpAuthConfig | undefined;
    if (a.kind === 'none') auth = { kind: 'none' };
    else if (a.kind === 'bearer') { const token = secret(a.tokenEnv, at('auth', 'tokenEnv')); if (token !== undefined) auth = { kind: 'bearer', token }; }
    else { const value = secret(a.valueEnv, at('auth', 'valueEnv')); if (value !== undefined) auth = { kind: 'header', name: a.name, value }; }
    if (auth === undefined) return undefined;
    return { kind: 'mcp', name, transport: Object.freeze({ kind: 'http', url: settings.url, auth: Object.freeze(auth) }), timeoutMs, overrides };
  }
  const env: [string, CompiledSecret][] = [];
  for (const [variable, ref] of Object.entries(settings.env ?? {})) {
    if (typeof ref === 'string') continue; // refused by the schema
    const value = secret(ref, at('env', variable));
    if (value !== undefined) env.push([variable, value]);
  }
  if (issues.length > before) return undefined;
  return {
    kind: 'mcp', name, timeoutMs, overrides,
    transport: Object.freeze({
      kind: 'stdio', command: settings.command as string, args: Object.freeze([...(settings.args ?? [])]), env: Object.freeze(new Map(env)),
      ...(settings.cwd === undefined ? {} : { cwd: context.resolvePath(settings.cwd) }),
    }),
  };
}

/**
 * What is wrong with a grant on an MCP system, checked before its tools are known: tools are
 * granted whole (no fields), by one of the verbs a tool can have; a high-risk grant (delete,
 * send, or a tool the config raises to high) must be confirmed with `explicit: true`.
 */
export function mcpGrantProblem(grant: { system: string; resource: string; field?: string; verb: string }, explicit: boolean, override: { risk?: RiskClass; tags: readonly HighRiskTag[] } | undefined): string | undefined {
  const text = `${grant.system}:${grant.resource}${grant.field === undefined ? '' : `.${grant.field}`}:${grant.verb}`;
  if (grant.field !== undefined) return `grant "${text}": MCP tools are granted whole; write "${grant.system}:${grant.resource}:${grant.verb}"`;
  if (!(MCP_GRANT_VERBS as readonly string[]).includes(grant.verb)) {
    return `grant "${text}": an MCP tool's verb is read (read-only), update (changes data), delete (destructive) or send (reaches outside, openWorldHint); "${grant.verb}" matches no tool`;
  }
  const high = override?.risk === 'high' || defaultRisk(grant.verb as Verb, override?.tags) === 'high';
  if (high && !explicit) {
    return `grant "${text}" is high risk (${grant.verb === 'delete' ? 'a destructive tool' : grant.verb === 'send' ? 'a tool that reaches outside the company' : 'raised to high in actions'}); confirm it by writing { grant: "${text}", explicit: true } (its calls will always need approval)`;
  }
  return undefined;
}
