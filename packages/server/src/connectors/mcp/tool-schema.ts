/**
 * An upstream tool's input JSON Schema compiled with ajv, the same on every thread that checks
 * arguments (the main thread, and the schema workers of schema-workers.ts): draft-07 or 2020-12
 * by `$schema` (2020-12 when it says neither, as the MCP specification defaults), ajv-formats'
 * formats, and `pattern` / `patternProperties` on RE2 (safe-regexp.ts). A compiled schema
 * answers a value with its problems as plain data ({@link SchemaIssue}), so a worker thread can
 * send them back and the answer is the same whichever thread checked.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { linearRegExp } from './safe-regexp.js';

/** One way a value misses a schema: where (property names and array indexes) and what, in words. */
export interface SchemaIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A compiled schema: the problems of `value`, none when it matches. Never throws. */
export type SchemaCheck = (value: unknown) => SchemaIssue[];

/** Compiles schemas on this thread; each compiler has its own ajv instances and their cache. */
export interface SchemaCompiler {
  /**
   * Compiles a schema (ajv keeps it until `forget`).
   * @throws UnsafePatternError (safe-regexp.ts) when a pattern cannot run on RE2; ajv's Error
   *   when the schema is not a valid JSON Schema.
   */
  compile(schema: Readonly<Record<string, unknown>>): SchemaCheck;
  /** Drops a schema compiled from this very object, so its memory can be reclaimed. */
  forget(schema: Readonly<Record<string, unknown>>): void;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
// Upstream patterns run on RE2 (linear time): a catastrophic `pattern` cannot backtrack.
const ajvOptions = { strict: false, allErrors: true, validateSchema: true, logger: false, code: { regExp: linearRegExp } } as const;

function pathOf(error: ErrorObject): (string | number)[] {
  const path: (string | number)[] = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as { additionalProperty?: string; missingProperty?: string };
  if (params.missingProperty !== undefined) path.push(params.missingProperty);
  return path;
}

function messageOf(error: ErrorObject): string {
  const params = error.params as { additionalProperty?: string; missingProperty?: string };
  if (params.additionalProperty !== undefined) return `unknown field "${params.additionalProperty}"`;
  if (params.missingProperty !== undefined) return 'is required';
  return error.message ?? 'is invalid';
}

/** Creates a compiler; its ajv instances are made on first use. */
export function createSchemaCompiler(): SchemaCompiler {
  let validators: { draft07: Ajv; draft2020: Ajv } | undefined;
  const ajvFor = (schema: Readonly<Record<string, unknown>>): Ajv => {
    validators ??= { draft07: addFormats(new Ajv(ajvOptions)), draft2020: addFormats(new Ajv2020(ajvOptions) as unknown as Ajv) };
    const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
    // The MCP specification's default dialect is 2020-12; older servers still declare draft-07.
    return /draft-0[4-7]/.test(dialect) ? validators.draft07 : validators.draft2020;
  };
  return {
    compile(schema) {
      const validate = ajvFor(schema).compile(schema);
      return (value) => (validate(value) ? [] : (validate.errors ?? []).map((error) => ({ path: pathOf(error), message: messageOf(error) })));
    },
    forget(schema) {
      if (validators !== undefined) ajvFor(schema).removeSchema(schema);
    },
  };
}

/** The schema keywords whose check runs a regular expression over a string of the value. */
const REGEXP_KEYWORDS = new Set(['pattern', 'patternProperties', 'format']);

/**
 * Whether checking a value against `schema` may run a regular expression over its strings:
 * whether a `pattern`, `patternProperties` or `format` key appears anywhere in it. It
 * over-approximates (a property named "format" counts too), which only sends a schema to a
 * worker that did not need one.
 */
export function usesRegExps(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(usesRegExps);
  if (schema === null || typeof schema !== 'object') return false;
  return Object.entries(schema).some(([key, value]) => REGEXP_KEYWORDS.has(key) || usesRegExps(value));
}
