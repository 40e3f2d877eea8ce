/**
 * Reading OpenAPI documents into operations, and confining URLs to the base URL: names,
 * resources and verbs; local $refs (also recursive ones); what is refused or skipped, with
 * the fix; and every way a path could try to leave the system's base URL.
 */
import { describe, expect, it } from 'vitest';
import { httpActionSpecs, verbOf } from './http-actions.js';
import { resolveUrl } from './http-client.js';
import { readOpenApiDocument, type HttpOperation } from './openapi-document.js';

const doc = (paths: Record<string, unknown>, components: Record<string, unknown> = {}) => ({ openapi: '3.1.0', info: { title: 't', version: '1' }, paths, components });
const ops = (d: unknown): readonly HttpOperation[] => {
  const read = readOpenApiDocument(d, 'api.yaml');
  if (!read.ok) throw new Error(read.problems.join('\n'));
  return read.value.operations;
};
const problems = (d: unknown): string[] => {
  const read = readOpenApiDocument(d, 'api.yaml');
  return read.ok ? [] : read.problems;
};

describe('operations from a document', () => {
  it('names an operation by its operationId, else by method and path, and takes the resource from the first literal segment', () => {
    const read = ops(doc({
      '/v2/{tenant}/invoices/{id}/lines': { get: {}, post: { operationId: 'add line!', requestBody: { content: { 'application/json': { schema: { type: 'object' } } } } } },
      '/': { get: { operationId: 'root' } },
      '/{id}': { delete: {} },
    }));
    expect(read.map((o) => [o.name, o.method, o.resource, verbOf(o.method)])).toEqual([
      ['get_v2_tenant_invoices_id_lines', 'GET', 'v2', 'read'],
      ['add_line_', 'POST', 'v2', 'create'],
      ['root', 'GET', 'root', 'read'],
      ['delete_id', 'DELETE', 'root', 'delete'],
    ]);
    expect(read[0]?.pathParams.map((p) => p.name)).toEqual(['tenant', 'id']);
  });

  it('resolves local $refs, including path-level parameters and a recursive schema, which is cut where it recurs', () => {
    const [patch] = ops(doc({
      '/nodes/{id}': {
        parameters: [{ $ref: '#/components/parameters/Id' }],
        patch: { requestBody: { $ref: '#/components/requestBodies/Node' } },
      },
    }, {
      parameters: { Id: { name: 'id', in: 'path', required: true, schema: { type: 'string' } } },
      requestBodies: { Node: { required: true, content: { 'application/merge-patch+json': { schema: { $ref: '#/components/schemas/Node' } } } } },
      schemas: { Node: { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } } },
    }));
    expect(patch?.pathParams).toEqual([{ name: 'id', required: true, schema: { type: 'string' } }]);
    expect(patch?.body?.required).toBe(true);
    const { specs } = httpActionSpecs({ name: 'api', operations: patch === undefined ? [] : [patch] });
    const params = specs[0]?.params;
    expect(params?.safeParse({ path: { id: 'a' }, body: { name: 'x', children: [{ name: 'y', children: [{ anything: 1 }] }] } }).success).toBe(true);
    expect(params?.safeParse({ path: { id: 'a' }, body: { name: 1 } }).success).toBe(false);
  });

  it('skips an operation whose body is not JSON, and says why', () => {
    const read = readOpenApiDocument(doc({
      '/files': { post: { requestBody: { content: { 'multipart/form-data': { schema: {} } } } }, get: {} },
    }), 'api.yaml');
    expect(read).toMatchObject({ ok: true, value: { skipped: ['POST /files: its request body is not JSON (multipart/form-data)'] } });
  });

  it('refuses what it cannot read, naming the fix', () => {
    expect(problems({ swagger: '2.0', paths: {} })).toEqual(['api.yaml is Swagger 2.0; only OpenAPI 3.x documents are read (convert a Swagger 2.0 document, e.g. with `npx swagger2openapi`)']);
    expect(problems(doc({}))).toEqual(['api.yaml has no paths, so the system would offer no actions']);
    expect(problems(doc({ '/a': { get: { parameters: [{ $ref: 'other.yaml#/P' }] } } }))).toEqual([
      'api.yaml: $ref "other.yaml#/P" points outside the document; only local refs (#/components/...) are read: bundle the document into one file first (e.g. `npx @redocly/cli bundle`)',
    ]);
    expect(problems(doc({ '/a': { get: { parameters: [{ $ref: '#/components/parameters/Nope' }] } } }))).toEqual(['api.yaml: $ref "#/components/parameters/Nope" names nothing in the document']);
    expect(problems(doc({ '/a': { get: { operationId: 'same' } }, '/b': { get: { operationId: 'same' } } }))).toEqual([
      'api.yaml: GET /b and GET /a both become action "same"; give them distinct operationIds',
    ]);
  });

  it('reports a schema zod cannot express as a problem of that operation', () => {
    const read = ops(doc({ '/a': { post: { requestBody: { content: { 'application/json': { schema: { if: { type: 'string' }, then: { minLength: 2 } } } } } } } }));
    const { specs, problems: found } = httpActionSpecs({ name: 'api', operations: read });
    expect(specs).toEqual([]);
    expect(found).toEqual([expect.stringMatching(/^POST \/a \(post_a\): its schemas cannot be used to check params: .*if\/then\/else/)]);
  });

  it('enforces required fields that allOf splits from their properties', () => {
    const [post] = ops(doc({ '/leads': { post: { requestBody: { required: true, content: { 'application/json': { schema: {
      allOf: [{ type: 'object', properties: { name: { type: 'string' } } }, { type: 'object', required: ['name', 'email'] }],
    } } } } } } }));
    const params = httpActionSpecs({ name: 'api', operations: post === undefined ? [] : [post] }).specs[0]?.params;
    expect(params?.safeParse({ body: { name: 'x' } }).success).toBe(false);
    expect(params?.safeParse({ body: { name: 'x', email: 'e' } }).success).toBe(true);
  });
});

describe('URLs stay inside the base URL', () => {
  const base = 'https://crm.example.com/api/v1';
  it('joins the base path and the operation path, encoding values and adding the query', () => {
    expect(resolveUrl(base, { template: '/leads/{id}', pathValues: { id: 'a b' }, query: { tag: ['x', 'y'], limit: 5 } }).href)
      .toBe('https://crm.example.com/api/v1/leads/a%20b?tag=x&tag=y&limit=5');
    expect(resolveUrl(`${base}/`, { template: '' }).href).toBe('https://crm.example.com/api/v1');
  });

  it('refuses values and paths that would leave it, before anything is sent', () => {
    const refused = (template: string, id?: unknown) => () => resolveUrl(base, { template, pathValues: { id } });
    for (const id of ['..', '.', '../admin', 'a/b', 'a\\b', '%2e%2e', '', undefined, { x: 1 }]) {
      expect(refused('/leads/{id}', id), String(id)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    }
    expect(refused('/../admin')).toThrow(/refused to send a request outside the system's base URL https:\/\/crm\.example\.com\/api\/v1: the path \/\.\.\/admin has a "\." or "\.\." segment; nothing was sent/);
    // A path that looks like another host stays a path on this one.
    expect(resolveUrl(base, { template: '//evil.example/x' }).origin).toBe('https://crm.example.com');
    expect(resolveUrl(base, { template: '/leads/{id}', pathValues: { id: 'http:evil.example' } }).origin).toBe('https://crm.example.com');
  });
});
