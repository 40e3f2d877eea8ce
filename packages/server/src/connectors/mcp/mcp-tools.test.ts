import { describe, expect, it } from 'vitest';
import { classifyTool, toolActionSpec, toolDigest, type McpToolDefinition } from './mcp-tools.js';

const tool = (over: Partial<McpToolDefinition> = {}): McpToolDefinition => ({
  name: 'create_note', description: 'Creates a note.',
  inputSchema: { type: 'object', properties: { title: { type: 'string', minLength: 1 }, tags: { type: 'array', items: { type: 'string' } } }, required: ['title'], additionalProperties: false },
  ...over,
});

describe('MCP tool risk from annotations', () => {
  it('reads only what says it is read-only; a non-read-only tool is destructive unless it says otherwise', () => {
    expect(classifyTool({ readOnlyHint: true }).verb).toBe('read');
    expect(classifyTool({ readOnlyHint: false, destructiveHint: false }).verb).toBe('update');
    expect(classifyTool({ readOnlyHint: false, destructiveHint: true }).verb).toBe('delete');
    expect(classifyTool(undefined).verb).toBe('delete');
    expect(classifyTool({ destructiveHint: false }).verb).toBe('update');
    // readOnlyHint must be exactly true: a truthy string does not make a tool a read.
    expect(classifyTool({ readOnlyHint: 'yes' }).verb).toBe('delete');
  });

  it('treats a tool that reaches an open world as external communication', () => {
    expect(classifyTool({ readOnlyHint: true, openWorldHint: true })).toMatchObject({ verb: 'send', tags: [] });
    expect(classifyTool({ openWorldHint: true })).toMatchObject({ verb: 'send', tags: ['delete'] });
    expect(classifyTool({ readOnlyHint: true, openWorldHint: false }).verb).toBe('read');
  });
});

describe('MCP tool action specs', () => {
  it('names the action <system>.<tool> with the tool as resource, and checks params against the input schema', () => {
    const built = toolActionSpec('notes', tool({ annotations: { destructiveHint: false } }));
    if (!built.ok) throw new Error(built.problem);
    expect(built.spec).toMatchObject({ name: 'notes.create_note', system: 'notes', resource: 'create_note', verb: 'update', reversible: false });
    expect(built.spec.params.safeParse({ title: 'Hello', tags: ['a'] }).success).toBe(true);
    const bad = built.spec.params.safeParse({ tags: [1], extra: true });
    expect(bad.success).toBe(false);
    const issues = bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues).toEqual(expect.arrayContaining(['title: is required', 'tags.0: must be string', ': unknown field "extra"']));
  });

  it('accepts draft-07 and 2020-12 schemas, and refuses a schema that is not valid JSON Schema or not an object', () => {
    expect(toolActionSpec('s', tool({ inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { a: { type: 'string' } } } })).ok).toBe(true);
    expect(toolActionSpec('s', tool({ inputSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }] } } } })).ok).toBe(true);
    const invalid = toolActionSpec('s', tool({ inputSchema: { type: 'object', properties: { a: { type: 'strin' } } } }));
    expect(invalid.ok === false && invalid.problem).toMatch(/tool "create_note": its inputSchema is not a valid JSON Schema/);
    const notObject = toolActionSpec('s', tool({ inputSchema: { type: 'string' } }));
    expect(notObject.ok === false && notObject.problem).toContain('must have type "object"');
  });

  it('refuses a tool whose name cannot be part of a grant', () => {
    const built = toolActionSpec('s', tool({ name: 'files/read' }));
    expect(built.ok === false && built.problem).toContain('cannot be part of a grant');
  });

  it('changes the digest when the description, schema or annotations change, not when keys are reordered', () => {
    const digest = toolDigest(tool());
    expect(toolDigest(tool({ description: 'Creates a note. Then emails it out.' }))).not.toBe(digest);
    expect(toolDigest(tool({ annotations: { readOnlyHint: true } }))).not.toBe(digest);
    expect(toolDigest(tool({ inputSchema: { ...tool().inputSchema, required: [] } }))).not.toBe(digest);
    const reordered = tool({ inputSchema: { additionalProperties: false, required: ['title'], properties: tool().inputSchema.properties, type: 'object' } });
    expect(toolDigest(reordered)).toBe(digest);
  });

  it('runs upstream patterns on a linear-time engine, in a schema worker: a catastrophic pattern answers at once on a long argument', async () => {
    // On a backtracking engine `(a+)+$` against 40 000 "a"s and a "!" never finishes: this test would time out.
    const built = toolActionSpec('s', tool({ inputSchema: { type: 'object', properties: { text: { type: 'string', pattern: '(a+)+$' } }, patternProperties: { '^(x+x+)+y$': { type: 'string' } } } }));
    if (!built.ok) throw new Error(built.problem);
    const long = `${'a'.repeat(40_000)}!`;
    const bad = await built.spec.params.safeParseAsync({ text: long });
    expect(bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['text: must match pattern "(a+)+$"']);
    expect((await built.spec.params.safeParseAsync({ text: 'aaaa' })).success).toBe(true);
    expect((await built.spec.params.safeParseAsync({ [`${'x'.repeat(40_000)}`]: 1 })).success).toBe(true);
    // Checked in a worker thread: the type cannot be parsed synchronously.
    expect(() => built.spec.params.safeParse({ text: 'aaaa' })).toThrow(/async/i);
    // JSON Schema's pattern is unanchored, as on ECMAScript's engine.
    const digits = toolActionSpec('s', tool({ inputSchema: { type: 'object', properties: { code: { type: 'string', pattern: '\\d{3}' } } } }));
    if (!digits.ok) throw new Error(digits.problem);
    expect((await digits.spec.params.safeParseAsync({ code: 'ab123cd' })).success).toBe(true);
    expect((await digits.spec.params.safeParseAsync({ code: 'ab12cd' })).success).toBe(false);
  });

  it('refuses a tool whose pattern the linear-time engine cannot run, naming the pattern', () => {
    for (const pattern of ['^(a)\\1$', 'x(?=y)']) {
      const built = toolActionSpec('s', tool({ inputSchema: { type: 'object', properties: { text: { type: 'string', pattern } } } }));
      expect(built.ok === false && built.problem).toContain(`tool "create_note": its inputSchema's pattern ${JSON.stringify(pattern)} cannot be run by the gateway's linear-time regular-expression engine`);
    }
  });
});
