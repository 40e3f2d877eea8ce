/**
 * Compensating tools: how an MCP tool call is rolled back, when the config declares it
 * (`actions.<system>.<tool>.undo: { tool, args }`). Invariant: the compensating call's
 * arguments are derived once, when the original call succeeds, from its params and its result,
 * and recorded as its undo data; the rollback sends exactly what was recorded. A path that finds
 * nothing is recorded as a problem, so the rollback is refused with it rather than guessing.
 */
import type { JsonValue } from '@portcullis/core';

/** A compensating tool as the config declares it. */
export interface McpCompensation {
  readonly tool: string;
  readonly args: Readonly<Record<string, string | { readonly value?: unknown }>>;
}

/** Undo data of an MCP call: the compensating call to make, or why none can be made. */
export type McpUndo =
  | { readonly kind: 'mcp.compensate'; readonly tool: string; readonly args: { readonly [key: string]: JsonValue } }
  | { readonly kind: 'mcp.compensate'; readonly tool: string; readonly problem: string };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Follows `segments` into `value`; `*` maps the rest over a list. Undefined when a step finds nothing. */
function follow(value: unknown, segments: readonly string[]): unknown {
  const [head, ...rest] = segments;
  if (head === undefined) return value;
  if (head === '*') {
    if (!Array.isArray(value)) return undefined;
    const items = value.map((item) => follow(item, rest));
    return items.some((item) => item === undefined) ? undefined : items;
  }
  if (Array.isArray(value) && /^\d+$/.test(head)) return follow(value[Number(head)], rest);
  return isRecord(value) && Object.hasOwn(value, head) ? follow(value[head], rest) : undefined;
}

/**
 * The compensating call's arguments, from the original call's params and its result (the MCP
 * `CallToolResult`; `result.structuredContent.id`, or the JSON of its first text content as
 * `result.json.…`). Returns the undo data to record.
 */
export function compensatingCall(compensation: McpCompensation, params: unknown, result: unknown): McpUndo {
  const args: Record<string, JsonValue> = {};
  const first = isRecord(result) && Array.isArray(result.content) ? (result.content[0] as { type?: string; text?: string } | undefined) : undefined;
  let json: unknown;
  try { json = first?.type === 'text' && first.text !== undefined ? JSON.parse(first.text) : undefined; } catch { json = undefined; }
  const sources: Record<string, unknown> = { params, result: isRecord(result) ? { ...result, ...(json === undefined ? {} : { json }) } : result };
  for (const [name, source] of Object.entries(compensation.args)) {
    if (typeof source !== 'string') { args[name] = (source.value ?? null) as JsonValue; continue; }
    const [root = '', ...path] = source.split('.');
    const found = follow(sources[root], path);
    if (found === undefined) {
      return { kind: 'mcp.compensate', tool: compensation.tool, problem: `argument "${name}" of the compensating tool "${compensation.tool}" comes from ${source}, which the call did not have` };
    }
    args[name] = JSON.parse(JSON.stringify(found)) as JsonValue;
  }
  return { kind: 'mcp.compensate', tool: compensation.tool, args };
}

/** How a compensated tool is rolled back, in words (ActionSpec.undo). */
export function describeCompensation(compensation: McpCompensation): string {
  const args = Object.entries(compensation.args).map(([name, source]) => `${name} from ${typeof source === 'string' ? source : JSON.stringify(source.value ?? null)}`);
  return `calls the compensating tool "${compensation.tool}" of the same system${args.length === 0 ? '' : ` with ${args.join(', ')}`}`;
}
