/**
 * Compiles a config object (parsed YAML, or a literal in tests) into the frozen
 * `CompiledConfig` the gateway runs on. Invariant: a config is compiled only when the schema
 * pass, the cross-key checks and the secrets all succeed; otherwise every problem found is
 * returned, and nothing is half-built. Compiling never opens a database or the network.
 */
import { resolve } from 'node:path';
import { compileGrants, parseGrant, type Grant, type Mode, type RiskClass } from '@portcullis/core';
import type { ScopeBound } from './action-spec.js';
import { buildActions, buildSystems, resolveConfigPath } from './catalog.js';
import { validateConfig, grantParts } from './validate.js';
import type { AgentConfig, CheckpointsConfig, CompiledAction, CompiledConfig, CompiledWorkflow, DepartmentConfig, PersonConfig, StoreConfig, SystemConfig } from './compiled.js';
import { durationMs } from './duration.js';
import { recoverValidPart } from './recover.js';
import { configErrorMap, fromZodIssues, placeholderAt, type ConfigIssue } from './issues.js';
import { configSchemaFor, type PortcullisConfig, type WorkflowSettings } from './schema.js';
import type { SystemKinds } from './system-kind.js';
import { resolveSecrets, type Env, type ResolvedSecrets } from './secrets.js';
import { compileNotifications, type NotificationsConfig } from './notifications.js';

/** The environment variable holding the vault's master key (base64 of 32 bytes). */
export const MASTER_KEY_ENV = 'PORTCULLIS_MASTER_KEY';
/** The environment variable holding the checkpoint signing key; it wins over audit.checkpoints.keyFile. */
export const AUDIT_SIGNING_KEY_ENV = 'PORTCULLIS_AUDIT_SIGNING_KEY';

/** Where a config came from and what it may read. */
export interface CompileOptions {
  /** The system kinds the config may use, by `kind` (the wiring passes connectors/registry.ts). */
  readonly kinds: SystemKinds;
  /** The config file's path, or '<inline>' (the default). */
  readonly source?: string;
  /** Folder relative paths are resolved against: the config file's folder. Default: the current directory. */
  readonly baseDir?: string;
  /** Environment for keyEnv, tokenEnv, urlEnv and PORTCULLIS_MASTER_KEY. Default: process.env. */
  readonly env?: Env;
}

/** A compiled config, or every problem that prevented it. */
export type CompileResult = { ok: true; config: CompiledConfig } | { ok: false; issues: ConfigIssue[] };

/**
 * Validates a config object against the schema (defaults applied), returning the typed
 * config or the schema problems. Does not run the cross-key checks; `compileConfig` does.
 */
export function validateConfigShape(input: unknown, kinds: SystemKinds): { ok: true; config: PortcullisConfig } | { ok: false; issues: ConfigIssue[] } {
  const schema = configSchemaFor(kinds);
  const parsed = schema.safeParse(input, { error: configErrorMap, reportInput: true });
  return parsed.success ? { ok: true, config: parsed.data } : { ok: false, issues: fromZodIssues(schema, parsed.error.issues) };
}

/**
 * Validates and compiles a config object. Never throws for a bad config: the schema
 * problems are returned if there are any, else all cross-key and secret problems together.
 */
export function compileConfig(input: unknown, options: CompileOptions): CompileResult {
  const { kinds } = options;
  const baseDir = options.baseDir ?? process.cwd();
  const env = options.env ?? process.env;
  const shape = validateConfigShape(input, kinds);
  if (!shape.ok) {
    // Report the cross-key problems of the valid remainder too, so one run shows them all.
    const schema = configSchemaFor(kinds);
    const rest = recoverValidPart(input, shape.issues, (value) => validateConfigShape(value, kinds), (path) => placeholderAt(schema, path, path[0] === 'systems'));
    // (In a system, only a choice: its catalog depends on the rest, so a system missing more is dropped whole.)
    if (rest === undefined) return shape;
    const more = crossChecks(rest.config, kinds, baseDir, env, rest.dropped).issues.filter((issue) => !rest.touches(issue.path));
    return { ok: false, issues: [...shape.issues, ...more] };
  }
  const checked = crossChecks(shape.config, kinds, baseDir, env, new Set());
  if (checked.issues.length > 0) return { ok: false, issues: checked.issues };
  const source = options.source ?? '<inline>';
  return { ok: true, config: build(shape.config, { ...checked, source: source === '<inline>' ? source : resolve(source), baseDir, masterKey: env[MASTER_KEY_ENV], signingKey: env[AUDIT_SIGNING_KEY_ENV] }) };
}

function crossChecks(config: PortcullisConfig, kinds: SystemKinds, baseDir: string, env: Env, dropped: ReadonlySet<string>) {
  const systemIssues: ConfigIssue[] = [];
  const systems = buildSystems(config, kinds, baseDir, env, systemIssues);
  const catalog = buildActions(systems, kinds, config.actions);
  const { secrets, issues: secretIssues } = resolveSecrets(config, env);
  const catalogIssues = catalog.issues.filter((i) => !dropped.has(`systems.${String(i.path[1]).split('.')[0]}`));
  const notifications = config.notifications === undefined ? undefined : compileNotifications(config.notifications, systems, env);
  const issues = [...systemIssues, ...catalogIssues, ...validateConfig(config, systems, catalog.actions, kinds, dropped), ...secretIssues, ...(notifications?.issues ?? [])];
  return { systems, actions: catalog.actions, secrets, issues, notifications: notifications?.config };
}

interface BuildContext {
  readonly source: string;
  readonly baseDir: string;
  readonly systems: ReadonlyMap<string, SystemConfig>;
  readonly actions: ReadonlyMap<string, CompiledAction>;
  readonly secrets: ResolvedSecrets;
  readonly notifications: NotificationsConfig | undefined;
  /** The value of PORTCULLIS_MASTER_KEY, if set. */
  readonly masterKey: string | undefined;
  readonly signingKey: string | undefined;
}

function build(config: PortcullisConfig, context: BuildContext): CompiledConfig {
  const { secrets } = context;
  const people = new Map<string, PersonConfig>();
  const peopleByTokenHash = new Map<string, PersonConfig>();
  for (const [id, p] of Object.entries(config.people)) {
    const tokenHash = secrets.personTokens.get(id);
    const person: PersonConfig = Object.freeze({ id, name: p.name, admin: p.admin, ...(p.email === undefined ? {} : { email: p.email }), ...(tokenHash === undefined ? {} : { tokenHash }) });
    people.set(id, person);
    if (tokenHash !== undefined) peopleByTokenHash.set(tokenHash, person);
  }
  const departments = new Map<string, DepartmentConfig>();
  for (const [id, d] of Object.entries(config.departments)) {
    departments.set(id, Object.freeze({ id, name: d.name, leads: Object.freeze([...d.leads]), delegates: Object.freeze([...d.delegates]) }));
  }
  const agents = new Map<string, AgentConfig>();
  const agentsByKeyHash = new Map<string, AgentConfig>();
  for (const [id, a] of Object.entries(config.agents)) {
    const keyHash = secrets.agentKeys.get(id) as string;
    const agent: AgentConfig = Object.freeze({ id, name: a.name, owner: a.owner, department: a.department, keyHash });
    agents.set(id, agent);
    agentsByKeyHash.set(keyHash, agent);
  }
  const workflows = new Map<string, CompiledWorkflow>();
  for (const [id, w] of Object.entries(config.workflows)) {
    workflows.set(id, compileWorkflow(id, w, config));
  }
  const store: StoreConfig = config.store.kind === 'sqlite'
    ? { kind: 'sqlite', path: resolveConfigPath(context.baseDir, config.store.path) }
    : { kind: 'postgres', url: secrets.storeUrl as string };
  return Object.freeze({
    source: context.source,
    server: Object.freeze({ ...config.server }),
    limits: Object.freeze({
      paramsBytes: config.limits.paramsBytes, resultBytes: config.limits.resultBytes, proposalsPerMinute: config.limits.proposalsPerMinute,
      maxPendingPerAgent: config.limits.maxPendingPerAgent, maxPendingPerWorkflow: config.limits.maxPendingPerWorkflow,
      rejectionCooldownMs: durationMs(config.limits.rejectionCooldown),
    }),
    store: Object.freeze(store),
    audit: Object.freeze({
      retentionDays: config.audit.retentionDays,
      ...(config.audit.checkpoints === undefined ? {} : { checkpoints: compileCheckpoints(config.audit.checkpoints, context.baseDir, context.signingKey) }),
    }),
    vault: Object.freeze({
      ...(config.vault.keyFile === undefined ? {} : { keyFile: resolveConfigPath(context.baseDir, config.vault.keyFile) }),
      ...(context.masterKey === undefined || context.masterKey === '' ? {} : { envKey: context.masterKey }),
    }),
    ...(context.notifications === undefined ? {} : { notifications: context.notifications }),
    timeZone: config.timeZone,
    rollout: Object.freeze({ minDecisions: config.rollout.minDecisions }),
    alerts: Object.freeze({
      approvalRate: Object.freeze({ ...config.alerts.approvalRate }),
      outcomeUnknownAfterMs: durationMs(config.alerts.outcomeUnknownAfter),
      evaluateEveryMs: durationMs(config.alerts.evaluateEvery),
    }),
    mcp: Object.freeze({ holdMs: durationMs(config.mcp.holdTime), progressMs: durationMs(config.mcp.progressInterval), aliases: new Map(Object.entries(config.mcp.aliases)) }),
    systems: context.systems,
    actions: context.actions,
    agents,
    agentsByKeyHash,
    people,
    peopleByTokenHash,
    departments,
    workflows,
  });
}

function compileWorkflow(id: string, w: WorkflowSettings, config: PortcullisConfig): CompiledWorkflow {
  const grants: Grant[] = [];
  for (const item of w.grants) {
    const parsed = parseGrant(grantParts(item).text);
    if (parsed.ok) grants.push(parsed.value);
  }
  const scope = new Map<string, ScopeBound>();
  for (const [key, bound] of Object.entries(w.bounds.scope)) {
    scope.set(key, Object.freeze({ field: bound.field, withinMs: durationMs(bound.within) }));
  }
  const department = config.departments[w.department];
  const technicalOwner = config.agents[w.agent]?.owner as string;
  const mode: Readonly<Record<RiskClass, Mode>> = Object.freeze({ read: w.mode.read, write: w.mode.write, high: w.mode.high });
  const { maxRecordsPerAction, maxActionsPerRun, maxActionsPerHour } = w.bounds;
  return Object.freeze({
    id,
    agent: w.agent,
    department: w.department,
    mode,
    grants: compileGrants(grants),
    bounds: Object.freeze({
      maxRecordsPerAction,
      ...(maxActionsPerRun === undefined ? {} : { maxActionsPerRun }),
      ...(maxActionsPerHour === undefined ? {} : { maxActionsPerHour }),
    }),
    description: w.description,
    owner: w.owner,
    runbook: w.runbook,
    breakerThreshold: w.breaker.failures,
    ...(w.override === undefined ? {} : { override: Object.freeze({ ...w.override }) }),
    approvers: Object.freeze({
      department: w.department,
      approvers: new Set([...(department?.leads ?? []), ...(department?.delegates ?? [])]),
      technicalOwner,
      allowOwnerApproval: w.allowOwnerApproval,
    }),
    approvalTimeoutMs: durationMs(w.approvalTimeout),
    approvalValidityMs: durationMs(w.approvalValidity),
    scope,
    systems: Object.freeze([...new Set(grants.map((g) => g.system))].sort()),
  });
}

/** The checkpoint settings with paths resolved and the environment's key taken. */
function compileCheckpoints(c: NonNullable<PortcullisConfig['audit']['checkpoints']>, baseDir: string, envKey: string | undefined): CheckpointsConfig {
  return Object.freeze({
    origin: c.origin,
    ...(c.keyFile === undefined ? {} : { keyFile: resolveConfigPath(baseDir, c.keyFile) }),
    previousKeys: Object.freeze([...c.previousKeys]),
    ...(envKey === undefined || envKey === '' ? {} : { envKey }),
    dir: resolveConfigPath(baseDir, c.dir),
    everyEvents: c.everyEvents,
    everyMs: durationMs(c.every),
    stdout: c.stdout,
    ...(c.url === undefined ? {} : { url: c.url }),
    maxLagMs: durationMs(c.maxLag),
    ...(c.witness === undefined ? {} : { witness: Object.freeze({ url: c.witness.url, key: c.witness.key }) }),
  });
}
