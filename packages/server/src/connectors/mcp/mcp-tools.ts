/**
 * An upstream MCP tool as an action: `<system>.<tool>`, its resource the tool's name, its verb
 * (and so its grant and its risk floor) from the tool's annotations, its params checked against
 * the tool's input JSON Schema. Invariants: a tool that does not say it is read-only is at
 * least a write; a non-read-only tool is destructive (high) unless it says it is not, as the
 * MCP specification defaults; a tool that says it reaches an open world is external
 * communication (high); a tool whose definition cannot be checked is refused, never offered
 * with unchecked params. The digest of a tool covers everything an agent is told about it.
 */
import { canonicalJson, sha256Hex, type HighRiskTag, type Verb } from '@portcullis/core';
import { z } from 'zod';
import type { ActionSpec } from '../../config/action-spec.js';
import { UnsafePatternError } from './safe-regexp.js';
import { checkInWorker } from './schema-workers.js';
import { createSchemaCompiler, usesRegExps, type SchemaCheck, type SchemaIssue } from './tool-schema.js';

/** A tool as an upstream lists it (the fields the gateway uses; others are kept as they came). */
export interface McpToolDefinition {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/** An action spec of an MCP tool: what the gateway offers agents, and the digest it was loaded with. */
export interface McpActionSpec extends ActionSpec {
  readonly mcp: { readonly tool: McpToolDefinition; readonly digest: string };
}

/** Whether a spec is an MCP tool's. */
export function isMcpSpec(spec: ActionSpec): spec is McpActionSpec {
  return (spec as Partial<McpActionSpec>).mcp !== undefined;
}

/** The names a tool may have to be granted: a grant's resource. */
export const MCP_TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * SHA-256 of a tool's canonical name, title, description, input schema and annotations: what
 * `portcullis mcp pin` records and what must match for the tool to be offered.
 */
export function toolDigest(tool: McpToolDefinition): string {
  return sha256Hex(canonicalJson({
    name: tool.name, title: tool.title ?? null, description: tool.description ?? null,
    inputSchema: tool.inputSchema, annotations: tool.annotations ?? null,
  }));
}

/** The verbs classifyTool gives a tool, so the verbs a grant of an MCP tool may name (write: any change). */
export const MCP_GRANT_VERBS = ['read', 'update', 'write', 'delete', 'send'] as const;

/** The verb and high-risk tags of a tool, from its annotations (hints), with why in words. */
export function classifyTool(annotations: McpToolDefinition['annotations']): { verb: Verb; tags: HighRiskTag[]; why: string } {
  const readOnly = annotations?.readOnlyHint === true;
  const openWorld = annotations?.openWorldHint === true;
  const destructive = !readOnly && annotations?.destructiveHint !== false;
  const destructiveWhy = annotations?.destructiveHint === true ? 'destructiveHint' : 'no destructiveHint: false, so destructive as MCP defaults';
  if (openWorld) return { verb: 'send', tags: destructive ? ['delete'] : [], why: `openWorldHint${destructive ? `; ${destructiveWhy}` : ''}` };
  if (destructive) return { verb: 'delete', tags: [], why: destructiveWhy };
  return readOnly ? { verb: 'read', tags: [], why: 'readOnlyHint' } : { verb: 'update', tags: [], why: 'not read-only, destructiveHint: false' };
}

// Compiles each tool's schema once when it is listed: refuses what cannot be checked, and checks here what needs no worker.
const compiler = createSchemaCompiler();

/** The parts of a schema shown as the action's params in `GET /v1/workflows` (identifiers removed). */
function displaySchema(schema: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { $schema: _s, $id: _i, id: _id, ...rest } = schema;
  return rest;
}

/**
 * The params validator of a tool: a zod type that accepts what the tool's input schema accepts
 * and reports each JSON Schema error as an issue at its path. Its `pattern`s run on RE2 (linear
 * time, see safe-regexp.ts). A schema whose check runs regular expressions (`pattern`,
 * `patternProperties`, `format`) is checked in a schema worker thread (schema-workers.ts), so
 * its type is asynchronous: parse it with `safeParseAsync`; others are checked on this thread.
 * @throws Error naming the problem when the schema is not a usable JSON Schema of an object,
 *   or has a pattern RE2 cannot run (a backreference, a lookahead).
 */
export function toolParams(tool: McpToolDefinition): z.ZodType {
  const schema = tool.inputSchema;
  if (schema.type !== 'object') throw new Error(`its inputSchema must have type "object" (MCP tools take named arguments), not ${JSON.stringify(schema.type ?? null)}`);
  let check: SchemaCheck;
  try {
    check = compiler.compile(schema);
  } catch (error) {
    if (error instanceof UnsafePatternError) throw new Error(`its inputSchema's ${error.message}; ask its maintainer for a pattern without them`);
    throw new Error(`its inputSchema is not a valid JSON Schema: ${(error as Error).message}`);
  }
  const report = (issues: readonly SchemaIssue[], ctx: z.RefinementCtx): void => {
    for (const issue of issues) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  };
  if (!usesRegExps(schema)) return z.unknown().superRefine((value, ctx) => report(check(value), ctx)).meta(displaySchema(schema));
  // The worker compiles the schema itself, once per digest.
  compiler.forget(schema);
  const digest = sha256Hex(canonicalJson(schema));
  return z.unknown().superRefine(async (value, ctx) => report(await checkInWorker({ digest, schema, value }), ctx)).meta(displaySchema(schema));
}

/**
 * The action spec of one tool of `system`, or the problem that keeps it from being offered
 * (a name that cannot be granted, an unusable input schema).
 */
export function toolActionSpec(system: string, tool: McpToolDefinition): { ok: true; spec: McpActionSpec; why: string } | { ok: false; problem: string } {
  if (!MCP_TOOL_NAME.test(tool.name)) {
    return { ok: false, problem: `tool "${tool.name}": its name cannot be part of a grant (use letters, digits, _ and -, starting with a letter or _), so it is not offered` };
  }
  let params: z.ZodType;
  try {
    params = toolParams(tool);
  } catch (error) {
    return { ok: false, problem: `tool "${tool.name}": ${(error as Error).message}; it is not offered` };
  }
  const { verb, tags, why } = classifyTool(tool.annotations);
  return {
    ok: true, why,
    spec: {
      name: `${system}.${tool.name}`, system, resource: tool.name, verb, tags,
      // A read changes nothing; a tool's effect cannot be undone by the gateway.
      reversible: verb === 'read',
      undo: verb === 'read' ? 'a read changes nothing' : 'cannot be undone: the gateway cannot undo what an MCP tool did',
      description: tool.description ?? tool.title ?? tool.name,
      params,
      touchedFields: () => [],
      recordCount: () => undefined,
      tool,
      mcp: { tool, digest: toolDigest(tool) },
    },
  };
}

const toolShape = z.object({
  name: z.string().min(1),
  title: z.string().optional(),
  description: z.string().optional(),
  inputSchema: z.record(z.string(), z.unknown()),
  annotations: z.record(z.string(), z.unknown()).optional(),
});

/** Reads one entry of a tools/list answer; the problem when it is not a tool definition. */
export function parseToolDefinition(raw: unknown): { ok: true; tool: McpToolDefinition } | { ok: false; problem: string } {
  const parsed = toolShape.safeParse(raw);
  if (parsed.success) return { ok: true, tool: raw as McpToolDefinition };
  const name = typeof (raw as { name?: unknown } | null)?.name === 'string' ? `tool "${(raw as { name: string }).name}"` : 'a tool without a name';
  return { ok: false, problem: `${name}: not a valid tool definition (${parsed.error.issues.map((i) => `${i.path.join('.') || 'tool'}: ${i.message}`).join('; ')}); it is not offered` };
}
