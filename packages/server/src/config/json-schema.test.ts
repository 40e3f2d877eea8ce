import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA_FILE, configJsonSchema, configJsonSchemaText } from './json-schema.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';

const file = fileURLToPath(new URL(`../../../../${CONFIG_SCHEMA_FILE}`, import.meta.url));

describe('the JSON Schema of portcullis.yaml', () => {
  it('is the committed schema file', () => {
    const generated = configJsonSchemaText(SYSTEM_KINDS);
    // Regenerate: UPDATE_SCHEMA=1 npx vitest run packages/server/src/config/json-schema.test.ts
    // (or, once the CLI exists: portcullis schema > schema/portcullis.schema.json).
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(file, generated);
    let committed = '';
    try { committed = readFileSync(file, 'utf8'); } catch { /* missing: reported below */ }
    expect(committed === generated, `${CONFIG_SCHEMA_FILE} is out of date with config/schema.ts; regenerate it with UPDATE_SCHEMA=1 npx vitest run packages/server/src/config/json-schema.test.ts`).toBe(true);
  });

  it('describes the file as written: strict objects, defaults, and high mode pinned to approval', () => {
    const schema = configJsonSchema(SYSTEM_KINDS) as { required: string[]; additionalProperties: boolean; properties: Record<string, { default?: unknown }> };
    expect(schema.required).toEqual(['version']);
    expect(schema.additionalProperties).toBe(false);
    const text = configJsonSchemaText(SYSTEM_KINDS);
    expect(text).toContain('"const": "approval"');
    expect(text).toContain('"minimum": 90');
    expect(text).toContain('"default": "24h"');
  });
});
