/**
 * The JSON Schema of portcullis.yaml, generated from the Zod schema so the two cannot
 * disagree. Editors use it for completion and inline checks; the committed copy in
 * schema/portcullis.schema.json is pinned to this output by a test.
 */
import { z } from 'zod';
import { configSchemaFor } from './schema.js';
import type { SystemKinds } from './system-kind.js';

/** Where the committed schema lives, relative to the repository root. */
export const CONFIG_SCHEMA_FILE = 'schema/portcullis.schema.json';

/**
 * The JSON Schema (draft 2020-12) of portcullis.yaml as written: optional keys optional,
 * defaults shown. Rules that span keys (references, scopes, explicit grants) are not in it;
 * `portcullis validate` checks those.
 */
export function configJsonSchema(kinds: SystemKinds): Record<string, unknown> {
  return z.toJSONSchema(configSchemaFor(kinds), { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}

/** The schema file's exact text: what `portcullis schema` prints and the committed file holds. */
export function configJsonSchemaText(kinds: SystemKinds): string {
  return `${JSON.stringify(configJsonSchema(kinds), null, 2)}\n`;
}
