/**
 * One error shape, mapped once: the errors Fastify and Node's HTTP server would answer in
 * their own shapes (an unsupported Content-Type, a poisoned JSON key, a malformed or
 * over-long path, an unknown route, an unsupported Expect header) and the run-time errors a
 * route throws all answer `{ "error": { "code", "message" } }`, with a message naming the
 * problem and never repeating the path back.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PortcullisError } from '@portcullis/core';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';
import { buildApp, type App } from './app.js';

let harness: Harness;
let extraApp: App | undefined;
afterEach(async () => {
  await extraApp?.close();
  extraApp = undefined;
  await harness?.close();
});

const route = (id: number) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: 'rep-kenji' } } });

interface Answer { statusCode: number; headers: Record<string, unknown>; body: string }

/** Asserts the documented error shape, its status and code, and returns the message. */
function expectError(res: Answer, status: number, code: string): string {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { error: { code: unknown; message: unknown } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  return body.error.message as string;
}

const invalidRequests = async (h: Harness) => (await auditTrail(h)).filter((e) => e.type === 'request.invalid').map((e) => e.data.code);

describe('bodies', () => {
  it('answers a text/plain body with 415 naming the Content-Type to send, and audits the attempt', async () => {
    harness = await openHarness();
    const res = await harness.request('agent', { method: 'POST', url: '/v1/actions', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(route(1)) });
    const message = expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(message).toContain('"text/plain"');
    expect(message).toContain('Content-Type: application/json');
    expect(await harness.gateway.store.listProposals({ workflows: ['route-leads'], limit: 10 })).toEqual([]);
    expect(await invalidRequests(harness)).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
  });

  it('answers any other Content-Type the same way, without quoting a header that is not a media type', async () => {
    harness = await openHarness();
    const xml = await harness.request('dana', { method: 'POST', url: '/v1/approvals/prop_x/approve', headers: { 'content-type': 'application/xml' }, payload: '<approve/>' });
    expect(expectError(xml, 415, 'UNSUPPORTED_MEDIA_TYPE')).toContain('"application/xml"');
    const odd = await harness.request('dana', { method: 'POST', url: '/v1/approvals/prop_x/approve', headers: { 'content-type': 'nonsense <script>' }, payload: 'x' });
    const message = expectError(odd, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(message).not.toContain('script');
    expect(message).toContain('application/json');
  });

  it.each([
    ['"__proto__"', '{"workflow":"route-leads","action":"crm.leads.update","params":{"__proto__":{"admin":true}}}', 'body.params.__proto__'],
    ['"__proto__" spelt with escapes', '{"workflow":"route-leads","params":{"ids":[{"\\u005f_proto__":1}]}}', 'body.params.ids[0].__proto__'],
    ['"constructor" with a prototype', '{"workflow":"route-leads","constructor":{"prototype":{"admin":true}}}', 'body.constructor'],
  ])('refuses valid JSON with a %s key, naming the key and where it is', async (_name, payload, where) => {
    harness = await openHarness();
    const res = await harness.request('agent', { method: 'POST', url: '/v1/actions', headers: { 'content-type': 'application/json' }, payload });
    const message = expectError(res, 400, 'INVALID_JSON');
    expect(message).toContain(where);
    expect(message).toMatch(/"(__proto__|constructor)"/);
    expect(message).not.toMatch(/not valid JSON/);
    expect(await invalidRequests(harness)).toEqual(['INVALID_JSON']);
  });

  it('says a body is missing where one is needed, without mistaking that for bad JSON', async () => {
    harness = await openHarness();
    const none = await harness.request('agent', { method: 'POST', url: '/v1/actions' });
    expect(expectError(none, 400, 'INVALID_REQUEST')).toMatch(/^body: missing; send a JSON object/);
    const empty = await harness.request('agent', { method: 'POST', url: '/v1/actions', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(expectError(empty, 400, 'INVALID_REQUEST')).toMatch(/^body: missing/);
  });
});

describe('an approval without a body', () => {
  it('is accepted, with no Content-Type or with an empty JSON body, and executes', async () => {
    harness = await openHarness();
    const a = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    const b = (await proposeAs(harness, 'agent', route(2))).json().id as string;
    const bare = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${a}/approve` });
    expect(bare.statusCode).toBe(200);
    expect(bare.json()).toMatchObject({ status: 'succeeded', approval: { decision: 'approved', by: 'dana' } });
    const empty = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${b}/approve`, headers: { 'content-type': 'application/json' }, payload: '' });
    expect(empty.statusCode).toBe(200);
    expect(empty.json().status).toBe('succeeded');
    expect(readLead(harness, 1)?.owner_id).toBe('rep-kenji');
  });

  it('is documented as optional in the OpenAPI document, while a rejection\'s body stays required', async () => {
    harness = await openHarness();
    const doc = (await harness.request(undefined, { method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post: { requestBody: { required: boolean } } }> };
    expect(doc.paths['/v1/approvals/{id}/approve']?.post.requestBody.required).toBe(false);
    expect(doc.paths['/v1/approvals/{id}/reject']?.post.requestBody.required).toBe(true);
    expect(doc.paths['/v1/actions']?.post.requestBody.required).toBe(true);
  });

  it('is still refused for a rejection, which needs a reason', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route(1))).json().id as string;
    const res = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/reject` });
    expect(expectError(res, 400, 'INVALID_REQUEST')).toMatch(/body: missing/);
  });
});

describe('paths, routes and headers', () => {
  it('answers an over-long path parameter without echoing the path', async () => {
    harness = await openHarness();
    const id = `prop_${'a'.repeat(200)}`;
    const res = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: {} });
    const message = expectError(res, 400, 'INVALID_REQUEST');
    expect(message).toMatch(/longer than an id can be \(100 characters\)/);
    expect(message).not.toContain('aaaa');
    expect(message).not.toContain('/v1/approvals');
  });

  it('answers a malformed percent-encoding in the path without echoing the path', async () => {
    harness = await openHarness();
    const res = await harness.request('dana', { method: 'POST', url: '/v1/approvals/%ZZ/approve', payload: {} });
    const message = expectError(res, 400, 'INVALID_REQUEST');
    expect(message).toMatch(/malformed percent-encoding/);
    expect(message).not.toContain('%ZZ');
    expect(message).not.toContain('/v1/approvals');
  });

  it('answers an unknown route with 404 ROUTE_NOT_FOUND without echoing the path', async () => {
    harness = await openHarness();
    const res = await harness.request('dana', { method: 'GET', url: '/v1/approvalz/secret-looking-thing?token=abc' });
    const message = expectError(res, 404, 'ROUTE_NOT_FOUND');
    expect(message).toMatch(/no GET route has this path; see \/openapi\.json/);
    expect(message).not.toMatch(/approvalz|secret-looking|token/);
  });

  it('answers an Expect header other than 100-continue with 417 in the product shape, serving nothing', async () => {
    harness = await openHarness();
    await harness.gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = harness.gateway.app.server.address() as AddressInfo;
    const res = await new Promise<Answer>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1', port, method: 'POST', path: '/v1/actions',
        headers: { authorization: `Bearer ${harness.secrets.agent}`, 'content-type': 'application/json', expect: 'x-unsupported' },
      }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => { body += chunk; });
        response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(route(1)));
    });
    const message = expectError(res, 417, 'EXPECTATION_FAILED');
    expect(message).toMatch(/"Expect: 100-continue"/);
    expect(message).not.toContain('/v1/actions');
    expect(await harness.gateway.store.listProposals({ workflows: ['route-leads'], limit: 10 })).toEqual([]);
  });
});

describe('errors thrown by a route', () => {
  async function appThrowing(error: unknown): Promise<App> {
    harness = await openHarness();
    const { service } = harness.gateway;
    extraApp = await buildApp({
      service,
      extraRoutes: (app) => { app.get('/v1/boom', async () => { throw error; }); },
    });
    return extraApp;
  }

  it('answers a configuration error found at run time with 503 CONFIG_INVALID (the operator\'s to fix, not the caller\'s)', async () => {
    const app = await appThrowing(new PortcullisError('CONFIG_INVALID', 'portcullis.yaml systems.crm.path: the file is gone; fix the path and restart'));
    const message = expectError(await app.inject({ method: 'GET', url: '/v1/boom' }), 503, 'CONFIG_INVALID');
    expect(message).toMatch(/systems\.crm\.path/);
  });

  it('answers an unknown error with 500 INTERNAL, never a 4xx, and keeps its text to the log', async () => {
    const app = await appThrowing(new TypeError('cannot read properties of undefined (reading "secret")'));
    const message = expectError(await app.inject({ method: 'GET', url: '/v1/boom' }), 500, 'INTERNAL');
    expect(message).not.toMatch(/secret/);
  });
});
