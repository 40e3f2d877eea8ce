/**
 * The actions an HTTP system offers: one per operation of its OpenAPI document, named
 * `<system>.<operationId>`. Invariants: params are `{ path, query, body }`, validated against
 * the operation's parameter and request-body schemas (unknown path or query keys refused); a
 * path parameter is exactly one path segment, so no value can steer a request out of the
 * system's base URL; the fields a write touches are the top-level keys of its JSON body (all
 * the schema's fields for a PUT, which replaces the record), so field-level grants apply.
 */
import type { Verb } from '@portcullis/core';
import { z } from 'zod';
import type { ActionSpec } from '../../config/action-spec.js';
import type { HttpMethod, HttpOperation, HttpParameter, JsonSchemaObject } from './openapi-document.js';

/** The system an HTTP action belongs to, as far as its specs need it. */
export interface HttpActionSystem {
  readonly name: string;
  readonly operations: readonly HttpOperation[];
}

/** The params of an HTTP action, after validation. */
export interface HttpParams {
  readonly path?: Record<string, string | number | boolean>;
  readonly query?: Record<string, unknown>;
  readonly body?: unknown;
}

/** The verb of a method: GET reads, POST creates, PUT and PATCH update, DELETE deletes (high risk). */
export function verbOf(method: HttpMethod): Verb {
  switch (method) {
    case 'GET': return 'read';
    case 'POST': return 'create';
    case 'PUT': case 'PATCH': return 'update';
    case 'DELETE': return 'delete';
  }
}

/** The GET operation on the same path as a write, whose answer is the write's before-image. */
export function beforeImageOperation(operation: HttpOperation, operations: readonly HttpOperation[]): HttpOperation | undefined {
  if (operation.method !== 'PUT' && operation.method !== 'PATCH' && operation.method !== 'DELETE') return undefined;
  if (operation.pathParams.length === 0) return undefined;
  return operations.find((o) => o.method === 'GET' && o.path === operation.path);
}

/**
 * The operation that puts a record back after `operation` changed it: the same method for a
 * PATCH or PUT; for a DELETE, a POST of the old record to the collection above it or else a
 * PUT on the same path (an API that creates on PUT).
 */
export function restoreOperation(operation: HttpOperation, operations: readonly HttpOperation[]): HttpOperation | undefined {
  if (operation.method === 'PATCH' || operation.method === 'PUT') return operation;
  if (operation.method !== 'DELETE') return undefined;
  const collection = operation.path.replace(/\/[^/]+$/, '');
  return operations.find((o) => o.method === 'POST' && o.path === collection) ?? operations.find((o) => o.method === 'PUT' && o.path === operation.path);
}

/** How an operation's execution is rolled back, in words (ActionSpec.undo). */
function undoInWords(operation: HttpOperation, before: HttpOperation | undefined, restore: HttpOperation | undefined): string {
  if (operation.method === 'GET') return 'a read changes nothing';
  if (before === undefined || restore === undefined) {
    return `cannot be undone: the OpenAPI document has no ${before === undefined ? `GET on ${operation.path} to read the record before the write` : 'request that puts the record back'}`;
  }
  const check = operation.method === 'DELETE' ? 'if the record has not been created again since' : 'if the record still holds what the action wrote';
  return `sends the record as GET ${before.path} read it before the write back with ${restore.method} ${restore.path}, ${check}`;
}

/** Whether a value is one path segment: not empty, not `.` or `..`, no `/`, `\`, `?`, `#`, `%` or control characters. */
export function isSafeSegment(text: string): boolean {
  if (text === '' || text === '.' || text === '..') return false;
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || '/\\?#%'.includes(char)) return false;
  }
  return true;
}
const SEGMENT_MESSAGE = 'a path parameter must be one path segment: no "/", "\\", "?", "#", "%" or control characters, and not "." or ".." (requests may not leave the system\'s base URL)';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const isScalar = (v: unknown): boolean => ['string', 'number', 'boolean'].includes(typeof v);

/**
 * A copy of a schema in which every `required` key is also a property (`{}` when it was not
 * one): zod enforces `required` only for declared properties, and `allOf` often splits them.
 */
function withRequiredProperties(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withRequiredProperties);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = { ...schema };
  for (const key of ['items', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf', 'prefixItems']) {
    if (key in out) out[key] = withRequiredProperties(out[key]);
  }
  const properties = isObject(out.properties) ? Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, withRequiredProperties(v)])) : undefined;
  if (Array.isArray(schema.required) && schema.required.length > 0) {
    const all = { ...(properties ?? {}) };
    for (const key of schema.required) if (typeof key === 'string' && !(key in all)) all[key] = {};
    out.properties = all;
  } else if (properties !== undefined) out.properties = properties;
  return out;
}

function fromSchema(schema: JsonSchemaObject): z.ZodType {
  if (Object.keys(schema).length === 0) return z.unknown();
  return z.fromJSONSchema(withRequiredProperties(schema) as Parameters<typeof z.fromJSONSchema>[0], { defaultTarget: 'openapi-3.0' });
}

function pathParam(param: HttpParameter): z.ZodType {
  const base = Object.keys(param.schema).length === 0 ? scalar : fromSchema(param.schema);
  return base.refine((v) => isScalar(v) && isSafeSegment(String(v)), SEGMENT_MESSAGE);
}

function queryParam(param: HttpParameter): z.ZodType {
  const base = fromSchema(param.schema).refine((v) => isScalar(v) || (Array.isArray(v) && v.every(isScalar)), 'a query parameter is a string, number, boolean, or a list of them');
  return param.required ? base : base.optional();
}

function group(params: readonly HttpParameter[], of: (p: HttpParameter) => z.ZodType): z.ZodType | undefined {
  if (params.length === 0) return undefined;
  const object = z.strictObject(Object.fromEntries(params.map((p) => [p.name, of(p)])));
  return params.some((p) => p.required) ? object : object.optional();
}

/** The params schema of one operation. @throws Error when a schema uses what zod cannot express (if/then/else…). */
function operationParams(operation: HttpOperation): z.ZodType {
  const shape: Record<string, z.ZodType> = {};
  const path = group(operation.pathParams, pathParam);
  if (path !== undefined) shape.path = path;
  const query = group(operation.queryParams, queryParam);
  if (query !== undefined) shape.query = query;
  if (operation.body !== undefined) {
    const body = fromSchema(operation.body.schema);
    shape.body = operation.body.required ? body.refine((v) => v !== undefined, 'a request body is required') : body.optional();
  }
  return z.strictObject(shape);
}

/** The top-level fields of a body schema (with those of its `allOf` parts), when it lists them. */
function schemaFields(schema: JsonSchemaObject | undefined): string[] | undefined {
  if (schema === undefined) return undefined;
  const parts = [schema, ...(Array.isArray(schema.allOf) ? schema.allOf.filter(isObject) : [])];
  const fields = parts.flatMap((part) => (isObject(part.properties) ? Object.keys(part.properties) : []));
  return fields.length === 0 ? undefined : [...new Set(fields)];
}

function touchedFields(operation: HttpOperation, params: unknown): string[] {
  if (operation.method === 'GET' || operation.method === 'DELETE') return [];
  const body = (params as HttpParams).body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const keys = Object.keys(body);
  // A PUT replaces the record: every field it has may change, not only the ones sent.
  if (operation.method === 'PUT') return [...new Set([...keys, ...(schemaFields(operation.body?.schema) ?? [])])];
  return keys;
}

/**
 * The actions of an HTTP system, and the operations whose schemas cannot be used (each a
 * problem naming the operation), so config load can report them.
 */
export function httpActionSpecs(system: HttpActionSystem): { specs: ActionSpec[]; problems: string[] } {
  const specs: ActionSpec[] = [];
  const problems: string[] = [];
  for (const operation of system.operations) {
    let params: z.ZodType;
    try {
      params = operationParams(operation);
    } catch (error) {
      problems.push(`${operation.method} ${operation.path} (${operation.name}): its schemas cannot be used to check params: ${(error as Error).message}`);
      continue;
    }
    const before = beforeImageOperation(operation, system.operations);
    const restore = restoreOperation(operation, system.operations);
    const fields = schemaFields(operation.body?.schema);
    specs.push({
      name: `${system.name}.${operation.name}`, system: system.name, resource: operation.resource, verb: verbOf(operation.method), tags: [],
      // Reads change nothing; updates and deletes can be undone from their before-image.
      reversible: operation.method === 'GET' || (before !== undefined && restore !== undefined),
      undo: undoInWords(operation, before, restore),
      description: operation.description,
      params,
      ...(fields === undefined ? {} : { fields }),
      touchedFields: (p) => touchedFields(operation, p),
      recordCount: () => (operation.method === 'GET' ? undefined : operation.method === 'POST' || operation.pathParams.length > 0 ? 1 : undefined),
    });
  }
  return { specs, problems };
}
