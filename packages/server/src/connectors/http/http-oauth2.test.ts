/**
 * OAuth2 end to end through the HTTP connector: the real gateway, a real authorisation server
 * (oidc-provider, testing/fixtures/oidc-server.mjs) and a real REST server (json-server) that
 * accepts only bearer tokens that server issued and still considers active, checked on every
 * request at its introspection endpoint (testing/fixtures/json-server-introspect.cjs).
 * Client credentials: the token is fetched, reused, and replaced `refreshBefore` ahead of its
 * expiry (on the gateway's injected clock) while the old one is still valid; a token revoked
 * at the server's revocation endpoint makes the API answer 401, and the connector gets a new
 * token and sends the request once more. Refresh token: the rotated refresh token is kept in
 * the vault; once it is revoked, the agent is told which system needs a person to
 * re-authorise it and how, the failure is audited, and storing a new one fixes it without a
 * restart. No credential or token appears in an answer or the audit trail.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../../testing/harness.js';
import { LEADS_OPENAPI as OPENAPI, startJsonServer, type JsonServer } from '../../testing/json-server.js';
import { startOidcServer, type IssuedToken, type OidcServer } from '../../testing/oidc-server.js';
import { writeNewMasterKeyFile } from '../../vault/master-key.js';

const ACCESS_TTL_S = 120;
const REFRESH_BEFORE_S = 60;

const LEADS = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', company: 'Analytical Engines', owner_id: null, status: 'new' },
  { id: 2, name: 'Grace Hopper', email: 'grace@example.com', company: 'Navy', owner_id: null, status: 'new' },
  { id: 3, name: 'Alan Turing', email: 'alan@example.com', company: 'Bletchley', owner_id: 'rep-jo', status: 'contacted' },
];

let oidc: OidcServer;
let api: JsonServer;

beforeAll(async () => {
  oidc = await startOidcServer({ accessTtlSeconds: ACCESS_TTL_S });
  api = await startJsonServer({ leads: LEADS }, { introspect: { url: oidc.introspectionEndpoint, ...oidc.resourceServer, scope: 'crm.read' } });
}, 30_000);
afterAll(async () => {
  await api?.close();
  await oidc?.close();
});

/** How the API's log names a token: the first 12 hex digits of its SHA-256. */
const fingerprint = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 12);
const issuedOf = async (kind: IssuedToken['kind']): Promise<string[]> => (await oidc.issued()).filter((t) => t.kind === kind).map((t) => t.token);
/** What the API logged (json-server colours its request log). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const apiLog = (): string => api.output().replace(ANSI, '');
/** The API's decisions about one token, in order: "accepted" or "refused: why". */
const decisions = (token: string): string[] => [...api.output().matchAll(new RegExp(`^token ${fingerprint(token)} (accepted|refused: [^\\n]*)`, 'gm'))].map((m) => m[1] as string);

function oauthConfig(auth: string): string {
  return harnessConfig({
    extraSystemsYaml: `  api:
    kind: http
    openapi: ${OPENAPI}
    baseUrl: ${api.url}
    auth:
${auth}
    healthPath: /leads
    timeout: 5s`,
    extraWorkflowYaml: `  crm-api:
    description: Read leads through the CRM's REST API
    agent: lead-router
    department: sales
    owner: tom
    runbook: Look the lead up in the CRM by hand.
    grants:
      - api:leads:read`,
  });
}

/** Everything an agent or a person was answered, and the audit trail, for the final leak check. */
const observed: string[] = [];
const secrets = new Set<string>();

async function read(harness: Harness, id: string) {
  const res = await proposeAs(harness, 'agent', { workflow: 'crm-api', action: 'api.getLead', params: { path: { id } }, reason: 'look up the lead' });
  observed.push(res.payload);
  return res;
}

afterAll(async () => {
  for (const { token } of await oidc.issued()) secrets.add(token);
  secrets.add(oidc.clientSecret);
  expect(observed.length).toBeGreaterThan(5);
  for (const secret of secrets) for (const text of observed) expect(text).not.toContain(secret);
});

describe('an HTTP system with OAuth2 client credentials', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await openHarness({
      configYaml: oauthConfig(`      kind: oauth2
      grant: client_credentials
      tokenUrl: ${oidc.tokenEndpoint}
      clientId: ${oidc.clientId}
      clientSecret: { env: CRM_CLIENT_SECRET }
      scopes: [crm.read]
      refreshBefore: ${REFRESH_BEFORE_S}s`),
      env: { CRM_CLIENT_SECRET: oidc.clientSecret },
    });
  });
  afterAll(async () => {
    observed.push(JSON.stringify(await auditTrail(harness)));
    await harness?.close();
  });

  it('runs a read with an access token the authorisation server issued, which the API checks at each request', async () => {
    // The API really checks: without a token, or with one the server did not issue, it refuses.
    expect((await fetch(`${api.url}/leads/2`)).status).toBe(401);
    const forged = await fetch(`${api.url}/leads/2`, { headers: { authorization: 'Bearer not-a-token-the-server-issued' } });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual({ error: 'invalid_token', error_description: 'the access token is not active (unknown, expired or revoked)' });
    expect(await issuedOf('client_credentials')).toEqual([]);

    const res = await read(harness, '2');
    expect(res.json()).toMatchObject({ status: 'succeeded', result: { status: 200, body: LEADS[1] } });
    const [token] = await issuedOf('client_credentials');
    expect(token).toBeDefined();
    expect(decisions(token as string)).toEqual(['accepted']);
    expect(api.output()).toContain(`token ${fingerprint(token as string)} accepted client=${oidc.clientId} `);
    expect(await harness.gateway.connectors.get('api')?.check()).toMatchObject({ ok: true, detail: expect.stringMatching(/\/leads answered 200; 6 operation\(s\)$/) });
  });

  it('reuses the token until refreshBefore ahead of its expiry, then gets a new one while the old one is still valid', async () => {
    const [first, ...others] = await issuedOf('client_credentials');
    expect(others).toEqual([]);
    const used = decisions(first as string).length;
    // The token was fetched at the clock's current time (the clock has not moved since).
    harness.clock.advance((ACCESS_TTL_S - REFRESH_BEFORE_S) * 1000 - 1);
    expect((await read(harness, '1')).json()).toMatchObject({ status: 'succeeded', result: { body: LEADS[0] } });
    expect(await issuedOf('client_credentials')).toEqual([first]);
    expect(decisions(first as string)).toHaveLength(used + 1);

    harness.clock.advance(1);
    expect((await read(harness, '1')).json()).toMatchObject({ status: 'succeeded', result: { body: LEADS[0] } });
    const tokens = await issuedOf('client_credentials');
    expect(tokens).toHaveLength(2);
    const second = tokens[1] as string;
    expect(decisions(second)).toEqual(['accepted']);
    expect(decisions(first as string)).toHaveLength(used + 1);
    // Replaced before it expired: the server still accepts the old one.
    expect(await oidc.isActive(first as string)).toBe(true);
  });

  it('when the API refuses a revoked token, gets a new one and sends the request once more', async () => {
    const held = (await issuedOf('client_credentials')).at(-1) as string;
    await oidc.revoke(held, 'access_token');
    expect(await oidc.isActive(held)).toBe(false);
    const requests = (apiLog().match(/GET \/leads\/3 /g) ?? []).length;

    const res = await read(harness, '3');
    expect(res.json()).toMatchObject({ status: 'succeeded', result: { status: 200, body: LEADS[2] } });
    const tokens = await issuedOf('client_credentials');
    const fresh = tokens.at(-1) as string;
    expect(fresh).not.toBe(held);
    expect(decisions(held).at(-1)).toBe('refused: not active');
    expect(decisions(fresh)).toEqual(['accepted']);
    // Exactly two requests: the refused one and the retry.
    expect(apiLog().match(/GET \/leads\/3 \d+/g)?.slice(requests)).toEqual(['GET /leads/3 401', 'GET /leads/3 200']);
    const events = (await auditTrail(harness)).filter((e) => e.proposalId === res.json().id).map((e) => e.type);
    expect(events).toEqual(['proposal.received', 'proposal.decided', 'execution.started', 'execution.succeeded']);
  });

  it('a client the server refuses fails the action, naming the system and the credential to replace, audited', async () => {
    const wrong = `${oidc.clientSecret}-old`;
    secrets.add(wrong);
    const refused = await openHarness({ configYaml: oauthConfig(`      kind: oauth2
      grant: client_credentials
      tokenUrl: ${oidc.tokenEndpoint}
      clientId: ${oidc.clientId}
      clientSecret: { env: CRM_CLIENT_SECRET }
      scopes: [crm.read]`), env: { CRM_CLIENT_SECRET: wrong } });
    try {
      const res = await read(refused, '1');
      expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_FAILED' } });
      expect(res.json().error.message).toMatch(/^system "api": the OAuth2 server refused the client credentials \(invalid_client: [^)]*\)\. A person must re-authorise: check the client with the provider and replace environment variable CRM_CLIENT_SECRET$/);
      const failed = (await auditTrail(refused)).filter((e) => e.type === 'execution.failed');
      expect(failed.map((e) => e.data)).toEqual([expect.objectContaining({ code: 'UPSTREAM_FAILED', message: res.json().error.message })]);
    } finally {
      observed.push(JSON.stringify(await auditTrail(refused)));
      await refused.close();
    }
  });
});

describe('an HTTP system with an OAuth2 refresh token in the vault', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await openHarness({
      configYaml: `${oauthConfig(`      kind: oauth2
      grant: refresh_token
      tokenUrl: ${oidc.tokenEndpoint}
      clientId: ${oidc.clientId}
      clientSecret: { vault: client_secret }
      refreshToken: { vault: refresh_token }
      refreshBefore: ${REFRESH_BEFORE_S}s`)}\nvault: { keyFile: ./master.key }\n`,
      prepare: (dir) => writeNewMasterKeyFile(join(dir, 'master.key')),
    });
    const actor = { kind: 'person', id: 'ada' } as const;
    await harness.gateway.vault.set('api', 'client_secret', oidc.clientSecret, actor);
    await harness.gateway.vault.set('api', 'refresh_token', await oidc.mintRefreshToken(), actor);
  });
  afterAll(async () => {
    observed.push(JSON.stringify(await auditTrail(harness)));
    await harness?.close();
  });

  it('reads with access tokens from the refresh-token grant, keeping each rotated refresh token in the vault', async () => {
    const initial = await harness.gateway.vault.get('api', 'refresh_token');
    expect((await read(harness, '2')).json()).toMatchObject({ status: 'succeeded', result: { body: LEADS[1] } });
    const [first] = await issuedOf('access_token');
    expect(decisions(first as string)).toEqual(['accepted']);
    const rotated = await harness.gateway.vault.get('api', 'refresh_token');
    expect(rotated).not.toBe(initial);
    expect(await oidc.isActive(rotated)).toBe(true);
    expect(await oidc.isActive(initial)).toBe(false);
    const saved = (await auditTrail(harness)).filter((e) => e.type === 'vault.secret_set' && e.actor.id === 'oauth2');
    expect(saved.map((e) => e.data)).toEqual([expect.objectContaining({ system: 'api', name: 'refresh_token', reason: 'rotated by the authorisation server' })]);

    harness.clock.advance((ACCESS_TTL_S - REFRESH_BEFORE_S) * 1000);
    expect((await read(harness, '3')).json()).toMatchObject({ status: 'succeeded', result: { body: LEADS[2] } });
    const tokens = await issuedOf('access_token');
    expect(tokens).toHaveLength(2);
    expect(decisions(tokens[1] as string)).toEqual(['accepted']);
    expect(await harness.gateway.vault.get('api', 'refresh_token')).not.toBe(rotated);
  });

  it('once the refresh token is revoked, tells the agent a person must re-authorise the system and how, audited; a new one fixes it without a restart', async () => {
    const refreshToken = await harness.gateway.vault.get('api', 'refresh_token');
    const held = (await issuedOf('access_token')).at(-1) as string;
    // Revoking the refresh token revokes its grant, and with it the access token the gateway holds.
    await oidc.revoke(refreshToken, 'refresh_token');
    expect(await oidc.isActive(held)).toBe(false);
    const issued = (await oidc.issued()).length;

    const res = await read(harness, '1');
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_FAILED' } });
    const message = res.json().error.message as string;
    expect(message).toMatch(/^system "api": the OAuth2 server refused the refresh token \(invalid_grant: [^)]*\); it was revoked or has expired\. A person must re-authorise Portcullis for "api" and store the new refresh token with `portcullis vault set api refresh_token`$/);
    // The API refused the held token (401), the connector asked for a new one, and was refused.
    expect(decisions(held).at(-1)).toBe('refused: not active');
    expect((await oidc.issued()).length).toBe(issued);
    const failed = (await auditTrail(harness)).filter((e) => e.proposalId === res.json().id && e.type === 'execution.failed');
    expect(failed.map((e) => e.data)).toEqual([expect.objectContaining({ code: 'UPSTREAM_FAILED', message })]);

    // The pre-flight check says the same to an operator.
    const check = await harness.request('ada', { method: 'GET', url: '/v1/systems/check' });
    observed.push(check.payload);
    expect(JSON.stringify(check.json())).toContain('A person must re-authorise Portcullis for \\"api\\"');

    // A person re-authorises and stores the new refresh token: the next read works.
    await harness.gateway.vault.set('api', 'refresh_token', await oidc.mintRefreshToken(), { kind: 'person', id: 'ada' });
    expect((await read(harness, '1')).json()).toMatchObject({ status: 'succeeded', result: { body: LEADS[0] } });
    expect(decisions((await issuedOf('access_token')).at(-1) as string)).toEqual(['accepted']);
  });
});
