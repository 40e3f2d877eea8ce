/**
 * The HTTP client against a misbehaving server (a real node:http server on 127.0.0.1, for
 * what json-server never does): a credential echoed back is redacted from answers and
 * errors, also encoded or cut short in an excerpt; redirects are not followed; a hanging
 * server, an oversized answer and malformed JSON each fail with UPSTREAM_FAILED saying which;
 * requests refused together with 401 share one new OAuth2 token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpSystemConfig } from './http-settings.js';
import { createHttpClient, EXCERPT_CHARS, expectSuccess, MAX_RESPONSE_BYTES } from './http-client.js';

const TOKEN = `tok_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
let server: Server;
let baseUrl: string;

/** The token endpoint's state: how many tokens it issued, and requests held until enough arrive. */
const oauth = { issued: 0, held: [] as ServerResponse[], onRetry: undefined as (() => void) | undefined };

/**
 * /api/barrier: requests with the first token are held until three arrive; the first is then
 * refused (401), and the other two only once a request with the next token has arrived, so
 * their 401s reach the client after it already holds a new token.
 */
function barrier(req: IncomingMessage, res: ServerResponse, json: (status: number, body: unknown) => void): void {
  if (req.headers.authorization !== 'Bearer access-1') {
    oauth.onRetry?.();
    json(200, { ok: true });
    return;
  }
  oauth.held.push(res);
  if (oauth.held.length < 3) return;
  const [first, ...rest] = oauth.held;
  const refuse = (r: ServerResponse | undefined): void => { r?.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}'); };
  oauth.onRetry = () => { oauth.onRetry = undefined; for (const r of rest) refuse(r); };
  refuse(first);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const json = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    switch (req.url) {
      case '/oauth/token': oauth.issued += 1; return json(200, { access_token: `access-${oauth.issued}`, token_type: 'Bearer', expires_in: 3600 });
      case '/api/barrier': return barrier(req, res, json);
      case '/api/echo-encoded': return json(200, { b64: Buffer.from(TOKEN).toString('base64'), url: encodeURIComponent(`${TOKEN}/x`) });
      case '/api/echo-long': return json(500, { error: `${'x'.repeat(EXCERPT_CHARS - 30)} ${req.headers.authorization ?? ''}` });
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

describe('credentials in what the server says', () => {
  it('are redacted in their encoded forms too, and before an excerpt is cut short', async () => {
    const client = createHttpClient(system());
    const encoded = await client.send({ method: 'GET', template: '/echo-encoded' });
    expect(encoded.body).toEqual({ b64: '[redacted]', url: '[redacted]%2Fx' });
    const long = await client.send({ method: 'GET', template: '/echo-long' });
    expect(long.excerpt).toHaveLength(EXCERPT_CHARS);
    // The cut falls inside the token: no fragment of it is left.
    expect(long.excerpt).toMatch(/ Bearer \[redacted\]"\}$/);
    expect(long.excerpt).not.toContain(TOKEN.slice(0, 6));
  });
});

describe('an OAuth2 system whose token is refused', () => {
  it('gets one new token for requests refused together, even when a 401 arrives after the new token', async () => {
    const oauth2: HttpSystemConfig = {
      ...system(),
      timeoutMs: 5000,
      auth: { kind: 'oauth2', oauth2: { grant: 'client_credentials', tokenUrl: `${baseUrl.replace('/api', '')}/oauth/token`, clientId: 'portcullis', clientSecret: { kind: 'env', variable: 'SECRET', value: 'client-secret' }, scopes: [], clientAuth: 'basic', refreshBeforeMs: 60_000 } },
    };
    const client = createHttpClient(oauth2);
    const answers = await Promise.all([1, 2, 3].map(() => client.send({ method: 'GET', template: '/barrier' })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(oauth.issued).toBe(2);
  });
});
