/**
 * A schema worker thread (run by the pool of schema-workers.ts, piscina): checks one argument
 * value against an upstream tool's input schema and answers its problems ({@link SchemaIssue}).
 * Compiled schemas are kept by the digest the caller sends (the SHA-256 of the canonical
 * schema), the most recently used {@link MAX_COMPILED} of them, so a tool's schema is compiled
 * once per thread, not once per call. Patterns run on RE2 here as on the main thread
 * (tool-schema.ts), so the answer is the one the main thread would give.
 */
import { createSchemaCompiler, type SchemaCheck, type SchemaIssue } from './tool-schema.js';

/** One check: the value, the schema, and the schema's digest, which keys the compiled schema. */
export interface SchemaJob {
  readonly digest: string;
  readonly schema: Readonly<Record<string, unknown>>;
  readonly value: unknown;
}

/** How many compiled schemas a worker keeps. */
export const MAX_COMPILED = 256;

let compiler = createSchemaCompiler();
const compiled = new Map<string, { schema: Readonly<Record<string, unknown>>; check: SchemaCheck }>();

function compile(schema: Readonly<Record<string, unknown>>): SchemaCheck {
  try {
    return compiler.compile(schema);
  } catch {
    // Another schema with the same `$id` may be kept: start afresh, once.
    compiler = createSchemaCompiler();
    compiled.clear();
    return compiler.compile(schema);
  }
}

/**
 * Checks `job.value` against `job.schema`: its problems, none when it matches.
 * @throws Error when the schema does not compile (the main thread compiled it first, so this
 *   does not happen for a tool that is offered).
 */
export default function checkSchemaJob(job: SchemaJob): SchemaIssue[] {
  let entry = compiled.get(job.digest);
  if (entry === undefined) {
    entry = { schema: job.schema, check: compile(job.schema) };
    if (compiled.size >= MAX_COMPILED) {
      const [oldest] = compiled;
      if (oldest !== undefined) {
        compiled.delete(oldest[0]);
        compiler.forget(oldest[1].schema);
      }
    }
  } else {
    // Most recently used last: the first entry is the one dropped.
    compiled.delete(job.digest);
  }
  compiled.set(job.digest, entry);
  return entry.check(job.value);
}
