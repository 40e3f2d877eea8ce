/**
 * The HTTP client against a misbehaving server (a real node:http server on 127.0.0.1, for
 * what json-server never does): a credential echoed back is redacted from answers and
 * errors; redirects are not followed; a hanging server, an oversized answer and malformed
 * JSON each fail with UPSTREAM_FAILED saying which.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpSystemConfig } from '../../config/compiled.js';
import { createHttpClient, expectSuccess, MAX_RESPONSE_BYTES } from './http-client.js';

const TOKEN = `tok_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const json = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    switch (req.url) {
      case '/api/echo': return json(200, { headers: req.headers, [`key-${req.headers.authorization ?? ''}`]: 1 });
      case '/api/echo-error': return json(500, { error: `bad token ${req.headers.authorization ?? ''}` });
      case '/api/redirect': res.writeHead(302, { location: 'https://evil.example/steal' }); return res.end();
      case '/api/hang': return undefined;
      case '/api/huge': res.writeHead(200, { 'content-type': 'application/json' }); return res.end(`"${'x'.repeat(MAX_RESPONSE_BYTES + 10)}"`);
      case '/api/malformed': res.writeHead(200, { 'content-type': 'application/json' }); return res.end('{"not json');
      default: return json(404, { error: 'no such path' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const system = (): HttpSystemConfig => ({
  kind: 'http', name: 'api', openapi: '/dev/null', baseUrl, timeoutMs: 300, operations: [], skipped: [],
  auth: { kind: 'bearer', token: { kind: 'env', variable: 'TOKEN', value: TOKEN } },
});

describe('the HTTP client', () => {
  it('sends the credential but redacts it from what the server echoes back', async () => {
    const client = createHttpClient(system());
    const answer = await client.send({ method: 'GET', template: '/echo' });
    expect(JSON.stringify(answer.body)).not.toContain(TOKEN);
    expect(answer.body).toMatchObject({ headers: { authorization: 'Bearer [redacted]' }, 'key-Bearer [redacted]': 1 });
    const failed = await client.send({ method: 'GET', template: '/echo-error' });
    expect(() => expectSuccess('api', { method: 'GET', path: '/echo-error' }, failed)).toThrow('system "api": GET /echo-error answered 500: {"error":"bad token Bearer [redacted]"}');
  });

  it('does not follow a redirect', async () => {
    await expect(createHttpClient(system()).send({ method: 'GET', template: '/redirect' })).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED', message: `system "api": GET ${baseUrl.replace('/api', '')}/api/redirect answered 302 redirecting to https://evil.example/steal; redirects are not followed (requests go only to the base URL)`,
    });
  });

  it('gives up on a server that does not answer in time, an oversized answer and malformed JSON', async () => {
    const client = createHttpClient(system());
    await expect(client.send({ method: 'GET', template: '/hang' })).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringMatching(/\/api\/hang failed: no answer within 300 ms$/) });
    await expect(client.send({ method: 'GET', template: '/huge' })).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringMatching(/\/api\/huge: the response is over the 1048576-byte limit$/) });
    await expect(client.send({ method: 'GET', template: '/malformed' })).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringMatching(/\/api\/malformed answered 200 with malformed JSON: \{"not json$/) });
  });
});
