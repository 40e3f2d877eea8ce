/**
 * The schema of portcullis.yaml: the single source of truth for its shape, its defaults and
 * the rules that need one value only. Invariants held here: unknown keys are rejected
 * (strict objects); no secret is ever written in plain text (keys and tokens are SHA-256
 * hashes or environment variable names; system credentials are environment variable names or
 * vault references, see system-secrets.ts); `mode.high` can only be `approval` (SPEC rule 2);
 * the audit trail is kept at least 90 days. Rules that span keys (references, grants,
 * scopes, duplicate keys) are checked after this pass, in validate.ts. Each system kind's
 * settings schema comes from its folder under connectors/, handed in by `configSchemaFor`. Types are inferred from
 * here; the JSON Schema in schema/portcullis.schema.json is generated from here.
 */
import { z } from 'zod';
import { APPROVAL_FIRST, DEFAULT_BREAKER_THRESHOLD, HIGH_RISK_TAGS, MODES, RISK_CLASSES } from '@portcullis/core';
import { DURATION_PATTERN, parseDuration } from './duration.js';
import { durationSetting, envName, nameSetting } from './system-common.js';
import { notificationsSchema } from './notifications.js';
import type { SystemKinds } from './system-kind.js';

/** The config format version this code reads. */
export const CONFIG_VERSION = 1;

/** The shortest audit retention accepted (SPEC: retained at least 90 days). */
export const MIN_RETENTION_DAYS = 90;

/**
 * The store kinds this version can open. The file's shape also describes `postgres`, which is
 * planned: a config naming it is refused at validation (check.ts), not at start.
 */
export const AVAILABLE_STORE_KINDS: readonly string[] = ['sqlite'];

/** Defaults of optional keys, as written in the file. */
export const CONFIG_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 7300,
  bodyLimitBytes: 65_536,
  paramsBytes: 65_536,
  resultBytes: 1_048_576,
  proposalsPerMinute: 120,
  maxPendingPerAgent: 50,
  maxPendingPerWorkflow: 100,
  rejectionCooldown: '1h',
  storePath: './.portcullis/portcullis.db',
  retentionDays: 365,
  primaryKey: 'id',
  maxRecordsPerAction: 10,
  approvalTimeout: '24h',
  approvalValidity: '15m',
  breakerFailures: DEFAULT_BREAKER_THRESHOLD,
  timeZone: 'UTC',
  approvalRateBelow: 0.9,
  minDecisions: 10,
  outcomeUnknownAfter: '1h',
  alertsEvery: '1m',
  rolloutMinDecisions: 20,
});

/** Ids of people, departments, agents and workflows. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** A stored secret: `sha256:` and 64 hex digits. */
export const HASH_PATTERN = /^sha256:[0-9a-fA-F]{64}$/;

const name = nameSetting;
const id = z.string().regex(ID_PATTERN, { error: 'use letters, digits, _ and -, starting with a letter or digit' });
const text = z.string().trim().min(1, { error: 'must not be empty' });
const hash = z.string().regex(HASH_PATTERN, { error: 'expected "sha256:" and 64 hex digits; `portcullis keys new` prints a new key and its hash' });
const duration = z.string()
  .regex(DURATION_PATTERN, { abort: true, error: (issue) => { const r = parseDuration(issue.input); return r.ok ? undefined : r.error; } })
  .superRefine((value, ctx) => {
    const parsed = parseDuration(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error, input: value });
  })
  .meta({ description: 'A whole number and a unit: s, m, h or d.', examples: ['30s', '15m', '24h', '7d'] });
const positiveInt = z.number().int({ error: 'expected a whole number' }).min(1, { error: 'must be at least 1' });

const server = z.strictObject({
  host: z.string().min(1).default(CONFIG_DEFAULTS.host).describe('Interface the HTTP API listens on.'),
  port: z.number().int().min(0).max(65_535, { error: 'a port is at most 65535' }).default(CONFIG_DEFAULTS.port),
  bodyLimitBytes: positiveInt.default(CONFIG_DEFAULTS.bodyLimitBytes).describe('Largest request body accepted, in bytes.'),
}).prefault({});

/** The top-level `limits:` section: what one agent may send and be sent back, the same on every face. */
const limits = z.strictObject({
  paramsBytes: positiveInt.default(CONFIG_DEFAULTS.paramsBytes).describe('Largest params of one proposal or tool call (their JSON, in UTF-8 bytes), on every face (POST /v1/actions, /mcp, `portcullis mcp`); larger ones are refused with PARAMS_TOO_LARGE before anything is stored.'),
  resultBytes: positiveInt.default(CONFIG_DEFAULTS.resultBytes).describe('Largest result of an upstream MCP tool kept and returned (its JSON, in UTF-8 bytes); a larger one is replaced by a marker saying so and keeping the first part of its text.'),
  proposalsPerMinute: positiveInt.default(CONFIG_DEFAULTS.proposalsPerMinute).describe('Most proposals (MCP tool calls included) one agent may make in one minute (a 60-second window of real time opened by its first proposal), on every face together; more are refused with RATE_LIMITED (HTTP 429 with Retry-After). Per gateway process.'),
  maxPendingPerAgent: positiveInt.default(CONFIG_DEFAULTS.maxPendingPerAgent).describe('Most proposals of one agent waiting for approval at once; a new one that needs approval is refused with TOO_MANY_PENDING and an alert is audited.'),
  maxPendingPerWorkflow: positiveInt.default(CONFIG_DEFAULTS.maxPendingPerWorkflow).describe('Most proposals of one workflow waiting for approval at once; a new one that needs approval is refused with TOO_MANY_PENDING and an alert is audited.'),
  rejectionCooldown: durationSetting(CONFIG_DEFAULTS.rejectionCooldown, 'After a rejected MCP tool call was answered, the same call (same tool, same arguments) answers that rejection again, with its reason, for this long instead of asking for approval again.'),
}).prefault({});

const store = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('sqlite'),
    path: z.string().min(1).default(CONFIG_DEFAULTS.storePath).describe('Database file, relative to the config file\'s folder.'),
  }),
  z.strictObject({
    kind: z.literal('postgres').describe('Planned, not available in this version: `portcullis validate` refuses it; use sqlite.'),
    url: z.string().min(1).optional().describe('Connection URL. Prefer urlEnv so the password stays out of the file.'),
    urlEnv: envName.optional().describe('Environment variable holding the connection URL.'),
  }),
], { error: 'expected kind: sqlite or kind: postgres' }).prefault({ kind: 'sqlite' });

const checkpoints = z.strictObject({
  origin: z.string().min(1).regex(/^[^\s+]+$/, { error: 'expected a name with no spaces or "+", e.g. portcullis.example.com/audit' })
    .describe('The log\'s origin: the first line of every checkpoint and the signing key\'s name.'),
  keyFile: z.string().min(1).optional().describe('File holding the Ed25519 signing key (portcullis audit new-key), mode 0600, relative to the config file\'s folder. PORTCULLIS_AUDIT_SIGNING_KEY, when set, wins. Never stored in the audit database.'),
  previousKeys: z.array(z.string().min(1)).default([]).describe('Public keys of earlier signing keys of this log, as `portcullis audit new-key` printed them (name+key id+key): after a key rotation, the checkpoints they signed still verify, at start and in `audit recover`.'),
  dir: z.string().min(1).describe('Directory of the append-only checkpoint log (checkpoints.jsonl), outside the store; relative to the config file\'s folder.'),
  everyEvents: z.number().int().min(1).default(1000).describe('Cut a checkpoint once this many events were appended since the last one.'),
  every: durationSetting('10s', 'Cut a checkpoint this often when events were appended since the last one.'),
  stdout: z.boolean().default(false).describe('Also print each checkpoint to standard output, for log shipping.'),
  url: z.string().url().optional().describe('Also POST each checkpoint (text/plain signed note) to this URL, off this host.'),
  maxLag: durationSetting('5m', 'When no sink has accepted a checkpoint of newer events for this long, refuse new executions (reads keep working) until one does.'),
  witness: z.strictObject({
    url: z.string().url().describe('The witness\'s submission prefix: checkpoints are POSTed to <url>/add-checkpoint (C2SP tlog-witness).'),
    key: z.string().min(1).describe('The witness\'s public key, <name>+<key id>+<base64(0x04 || Ed25519 key)> (C2SP tlog-cosignature).'),
  }).optional().describe('Optional: ask this C2SP tlog-witness to cosign each checkpoint; its cosignature is kept with the checkpoint. A witness that fails is alerted on and the checkpoint is published without it.'),
}).describe('Signed checkpoints of the audit trail\'s Merkle tree, published outside the store (docs/audit.md).');

const audit = z.strictObject({
  retentionDays: z.number()
    .int({ error: 'expected a whole number of days' })
    .min(MIN_RETENTION_DAYS, { error: (issue) => `${String(issue.input)} is below the ${MIN_RETENTION_DAYS}-day minimum the audit trail must be kept; set ${MIN_RETENTION_DAYS} or more` })
    .default(CONFIG_DEFAULTS.retentionDays)
    .describe(`Days audit events are kept; at least ${MIN_RETENTION_DAYS}.`),
  checkpoints: checkpoints.optional(),
}).prefault({});

/** Whether `zone` is an IANA time zone this Node.js knows (Intl throws RangeError otherwise). */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const timeZone = z.string().default(CONFIG_DEFAULTS.timeZone)
  .refine(isTimeZone, { error: (issue) => `"${String(issue.input)}" is not an IANA time zone; write one like UTC, Europe/Paris or America/New_York` })
  .describe('The IANA time zone of the gateway\'s calendar days (daily figures, the approval-rate alert, reports).');

const alerts = z.strictObject({
  approvalRate: z.strictObject({
    below: z.number().gt(0, { error: 'a rate is a fraction above 0, like 0.9' }).max(1, { error: 'a rate is a fraction at most 1, like 0.9 for 90%' }).default(CONFIG_DEFAULTS.approvalRateBelow)
      .describe('Alert when a workflow\'s approval rate over a day falls below this fraction (0.9: 90%).'),
    minDecisions: positiveInt.default(CONFIG_DEFAULTS.minDecisions).describe('Decisions a day needs before its approval rate counts.'),
  }).prefault({}),
  outcomeUnknownAfter: durationSetting(CONFIG_DEFAULTS.outcomeUnknownAfter, 'Alert when a proposal has waited this long in outcome_unknown for a person to check the system.'),
  evaluateEvery: durationSetting(CONFIG_DEFAULTS.alertsEvery, 'How often the gateway evaluates the approval rate and waiting unknown outcomes.'),
}).prefault({});

const rollout = z.strictObject({
  minDecisions: positiveInt.default(CONFIG_DEFAULTS.rolloutMinDecisions)
    .describe('Decisions (approved + rejected) a workflow needs over the last 7 days to be stable or promoted.'),
}).prefault({});

const vault = z.strictObject({
  keyFile: z.string().min(1).optional().describe('File holding the vault master key (base64 of 32 bytes), mode 0600, relative to the config file\'s folder. PORTCULLIS_MASTER_KEY, when set, wins.'),
}).prefault({});

/** How long an MCP call that needs approval is held open by default: below the common 60 s client timeout. */
export const DEFAULT_MCP_HOLD = '50s';

/** How often a held MCP call sends a progress notification by default. */
export const DEFAULT_MCP_PROGRESS = '5s';

/** The top-level `mcp:` section: how the MCP gateway treats its clients. */
/**
 * The names MCP tools may have: what every common client accepts (the OpenAI function-name
 * rule, the strictest of them).
 */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

const mcpGateway = z.strictObject({
  aliases: z.record(z.string().min(1), z.string().regex(TOOL_NAME_PATTERN, { error: 'a tool name is 1 to 64 letters, digits, _ or -' })).default({})
    .describe('Tool names by action name, e.g. { "crm.leads.update": route_lead }: renames a tool the MCP gateway offers (to resolve two tools that would share a name).'),
  holdTime: durationSetting(DEFAULT_MCP_HOLD, 'How long a tool call that needs approval is held open (with progress notifications) before it answers "pending"; keep it below your MCP clients\' request timeout (often 60s).'),
  progressInterval: durationSetting(DEFAULT_MCP_PROGRESS, 'How often a held tool call sends a progress notification to a client that asked for them (sent a progress token); clients that reset their timeout on progress need one well within it.'),
}).prefault({});

/** A system's settings as the rest of the config sees them: `kind` names the kind, whose own schema checks the rest. */
const anySystem = z.looseObject({ kind: z.string() });

/** Where an argument of a compensating tool comes from: a path into the original call or its result, or a fixed value. */
const undoArgument = z.union([
  z.string().regex(/^(params|result)(\.[^.\s]+)*$/, { error: 'expected a path into the original call, like "params.entities.*.name" or "result.structuredContent.id" ("*" maps over a list), or { value: … }' }),
  z.strictObject({ value: z.unknown() }),
]);

const actionUndo = z.union([
  z.strictObject({
    irreversible: z.string().trim().min(1, 'say the manual fallback: what a person does instead of a rollback').max(500)
      .describe('Declares the action irreversible: a rollback is refused, naming this manual fallback.'),
  }),
  z.strictObject({
    tool: z.string().trim().min(1).describe('MCP tools only: the tool of the same system that undoes this one (e.g. delete_entities for create_entities).'),
    args: z.record(z.string(), undoArgument).default({}).describe('Its arguments, each a path into the original call ("params.…") or its result ("result.…"), "*" mapping over a list, or { value: … }.'),
  }),
], { error: 'expected undo: { irreversible: "the manual fallback" } or, for an MCP tool, { tool: NAME, args: { … } }' });

const actionOverride = z.strictObject({
  risk: z.enum(RISK_CLASSES).optional().describe('Raise the risk class; lowering it is rejected.'),
  tags: z.array(z.enum(HIGH_RISK_TAGS)).default([]).describe('High-risk tags; any tag makes the action high risk.'),
  notMoneyOrMessages: z.string().trim().min(1, 'say why this action moves no money and sends no message').max(500).optional()
    .describe('A write whose name says refund, payment, transfer, invoice, send, email… is refused at load unless tagged high; this declares it is neither money nor a message leaving the company, with the reason (audited at start).'),
  undo: actionUndo.optional().describe('How the action is rolled back: declared irreversible (with the manual fallback), or for an MCP tool its compensating tool. See docs/rollback.md.'),
});

const department = z.strictObject({
  name: text,
  leads: z.array(id).default([]).describe('Person ids who approve this department\'s workflows; at least one.'),
  delegates: z.array(id).default([]).describe('Person ids who may approve on the leads\' behalf.'),
});

const person = z.strictObject({
  name: text,
  email: z.email({ error: 'expected an email address' }).optional(),
  admin: z.boolean().default(false),
  tokenHash: hash.optional().describe('SHA-256 of the person\'s API token, as "sha256:<hex>".'),
  tokenEnv: envName.optional().describe('Environment variable holding the person\'s API token.'),
});

const agent = z.strictObject({
  name: text,
  owner: id.describe('Person id of the technical owner.'),
  department: id,
  keyHash: hash.optional().describe('SHA-256 of the agent\'s API key, as "sha256:<hex>".'),
  keyEnv: envName.optional().describe('Environment variable holding the agent\'s API key.'),
});

const mode = z.strictObject({
  read: z.enum(MODES).default(APPROVAL_FIRST.read),
  write: z.enum(MODES).default(APPROVAL_FIRST.write),
  high: z.literal('approval', { error: 'high-risk actions always need approval; remove mode.high or set it to approval' }).default('approval'),
}).prefault({});

const grant = z.union([
  z.string().describe('"system:resource:verb" or "system:resource.field:verb".'),
  z.strictObject({
    grant: z.string(),
    explicit: z.boolean().default(false).describe('Must be true for a high-risk grant (delete, send, pay, or raised to high).'),
  }),
]);

const scopeBound = z.strictObject({
  field: name.describe('A time column of the table.'),
  within: duration.describe('Only records whose field lies within this much of now.'),
});

const bounds = z.strictObject({
  scope: z.record(z.string(), scopeBound).default({}).describe('Data scope per "system:resource"; every written SQL table needs one (other kinds take none).'),
  maxRecordsPerAction: positiveInt.default(CONFIG_DEFAULTS.maxRecordsPerAction),
  maxActionsPerRun: positiveInt.optional(),
  maxActionsPerHour: positiveInt.optional(),
}).prefault({});

const workflow = z.strictObject({
  description: text,
  agent: id,
  department: id.describe('Department whose leads approve this workflow\'s actions.'),
  owner: id.describe('Person id of the workflow\'s owner.'),
  runbook: z.string({ error: (issue) => (issue.input === undefined ? 'the manual-fallback runbook is required: say what people do when the agent is off' : undefined) })
    .trim()
    .min(1, { error: 'the manual-fallback runbook must not be empty: say what people do when the agent is off' }),
  mode,
  grants: z.array(grant).default([]),
  bounds,
  breaker: z.strictObject({
    failures: positiveInt.default(CONFIG_DEFAULTS.breakerFailures)
      .describe('Consecutive execution failures (upstream errors, timeouts, unknown outcomes; not denials, rejections or cancellations) that disable the workflow until a person enables it again (SPEC rule 8).'),
  }).prefault({}).describe('The circuit breaker.'),
  approvalTimeout: duration.default(CONFIG_DEFAULTS.approvalTimeout).describe('Pending proposals expire after this.'),
  approvalValidity: duration.default(CONFIG_DEFAULTS.approvalValidity).describe('An approval must be used within this.'),
  allowOwnerApproval: z.boolean().default(false).describe('Let the agent\'s technical owner approve its actions.'),
  override: z.strictObject({
    by: id.describe('An admin\'s person id.'),
    reason: z.string().trim().min(1, { error: 'say why this workflow\'s writes run without approval before they earned it' }).max(2000),
  }).optional().describe('Required with mode.write: auto: an admin automates writes without a promotion. Audited at every start; shown in every report.'),
});

/** The whole of portcullis.yaml, with `system` the schema of one system's settings. */
function buildConfigSchema<S extends z.ZodType<z.output<typeof anySystem>, z.input<typeof anySystem>>>(system: S) {
  return z.strictObject({
    version: z.literal(CONFIG_VERSION, { error: `expected version: ${CONFIG_VERSION} (the only config format this Portcullis reads)` }),
    envFile: z.string().min(1).optional().describe('A file of NAME=value lines (mode 0600), relative to this file: the variables the config names (keyEnv, tokenEnv, a system\'s env…) are read from it when the environment does not set them. So an MCP client launching `portcullis mcp` passes only PORTCULLIS_AGENT_KEY.'),
    server,
    limits: limits.describe('Size limits that hold on every face: params of a call, results of upstream tools.'),
    store,
    audit,
    timeZone,
    alerts: alerts.describe('When the gateway raises alerts (docs/alerts.md).'),
    rollout: rollout.describe('Earned automation: stages, promotion and the rollout gate (docs/rollout.md).'),
    vault,
    notifications: notificationsSchema.optional(),
    mcp: mcpGateway.describe('The MCP gateway (`portcullis mcp` and /mcp): how calls that need approval are held.'),
    systems: z.record(name, system).default({}),
    actions: z.record(z.string(), actionOverride).default({}).describe('Per-action overrides, keyed by action name like crm.leads.update.'),
    departments: z.record(id, department).default({}),
    people: z.record(id, person).default({}),
    agents: z.record(id, agent).default({}),
    workflows: z.record(id, workflow).default({}),
  }).meta({ title: 'portcullis.yaml', description: 'Portcullis gateway configuration. Reference: docs/config.md.' });
}

type ConfigSchema = ReturnType<typeof buildConfigSchema<typeof anySystem>>;

const schemas = new WeakMap<SystemKinds, ConfigSchema>();

/**
 * The schema of portcullis.yaml for the registered system kinds: each system's settings are
 * checked by its kind's schema (an unknown kind is an error naming the known ones).
 */
export function configSchemaFor(kinds: SystemKinds): ConfigSchema {
  let schema = schemas.get(kinds);
  if (schema === undefined) {
    const options = [...kinds.values()].map((k) => k.settings) as unknown as [typeof anySystem, ...(typeof anySystem)[]];
    const names = [...kinds.keys()];
    const expected = names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1) as string}`;
    schema = buildConfigSchema(options.length === 0 ? anySystem : z.discriminatedUnion('kind', options, { error: `expected kind: ${expected}` })) as unknown as ConfigSchema;
    schemas.set(kinds, schema);
  }
  return schema;
}

/** portcullis.yaml after validation, with defaults applied. */
export type PortcullisConfig = z.output<ConfigSchema>;
/** portcullis.yaml as written (optional keys optional). */
export type PortcullisConfigInput = z.input<ConfigSchema>;
export type ServerSettings = PortcullisConfig['server'];
export type StoreSettings = PortcullisConfig['store'];
export type SystemSettings = PortcullisConfig['systems'][string];
export type ActionOverride = PortcullisConfig['actions'][string];
export type DepartmentSettings = PortcullisConfig['departments'][string];
export type PersonSettings = PortcullisConfig['people'][string];
export type AgentSettings = PortcullisConfig['agents'][string];
export type WorkflowSettings = PortcullisConfig['workflows'][string];
export type GrantSettings = WorkflowSettings['grants'][number];
export type BoundsSettings = WorkflowSettings['bounds'];
