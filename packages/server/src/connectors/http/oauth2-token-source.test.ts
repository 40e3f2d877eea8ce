/**
 * OAuth2 token sources against a real authorisation server (oidc-provider from npm, started
 * as a child process): client credentials, refresh tokens rotated back into the vault,
 * refresh before expiry on an injected clock, and a revoked token producing an error that
 * says a person must re-authorise, without any credential in it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OAuth2Config } from '../../config/system-secrets.js';
import { createSqliteStore, type SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { createFakeClock } from '../../testing/fake-clock.js';
import { startOidcServer, type OidcServer } from '../../testing/oidc-server.js';
import { makeTempDir } from '../../testing/temp-dir.js';
import { createOAuth2TokenSource } from './oauth2-token-source.js';
import { createVault, type Vault } from '../../vault/vault.js';
import { newMasterKeyText, parseMasterKey } from '../../vault/vault-crypto.js';

const ACCESS_TTL_S = 120;
const dir = makeTempDir('portcullis-oauth2');
let server: OidcServer;
let store: SqliteStore;
let vault: Vault;
const clock = createFakeClock();
const actor = { kind: 'system', id: 'test' } as const;

beforeAll(async () => {
  server = await startOidcServer({ accessTtlSeconds: ACCESS_TTL_S });
  store = createSqliteStore({ path: join(dir.path, 'store.db') });
  await store.migrate();
  vault = createVault({ store, key: parseMasterKey(newMasterKeyText(), 'test'), clock });
});
afterAll(async () => {
  await server?.close();
  await store?.close();
  dir.cleanup();
});
beforeEach(async () => {
  await vault.set('crm', 'client_secret', server.clientSecret, actor);
});

/** A fetch that counts token requests. */
function countingFetch(): { fetch: typeof fetch; count: () => number } {
  let n = 0;
  return { fetch: (input, init) => { n += 1; return fetch(input, init); }, count: () => n };
}

const clientCredentials = (overrides: Partial<OAuth2Config> = {}): OAuth2Config => ({
  grant: 'client_credentials', tokenUrl: server.tokenEndpoint, clientId: server.clientId,
  clientSecret: { kind: 'vault', system: 'crm', name: 'client_secret' }, scopes: ['crm.read'], clientAuth: 'basic', refreshBeforeMs: 60_000, ...overrides,
});

const refreshGrant = (overrides: Partial<OAuth2Config> = {}): OAuth2Config => clientCredentials({
  grant: 'refresh_token', refreshToken: { kind: 'vault', system: 'crm', name: 'refresh_token' }, scopes: [], ...overrides,
});

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try { await promise; } catch (error) { return error as { code: string; message: string; details: Record<string, unknown> }; }
  throw new Error('expected a rejection');
}

describe('client credentials', () => {
  it('obtains a token the server accepts, caches it, and shares one request between concurrent callers', async () => {
    const counter = countingFetch();
    const source = createOAuth2TokenSource({ system: 'crm', config: clientCredentials(), vault, clock, fetch: counter.fetch });
    const tokens = await Promise.all([source.getAccessToken(), source.getAccessToken(), source.getAccessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(counter.count()).toBe(1);
    expect(await server.isActive(tokens[0] as string)).toBe(true);
    expect(await source.getAccessToken()).toBe(tokens[0]);
    expect(counter.count()).toBe(1);
  });

  it('refreshes refreshBefore ahead of expiry, not earlier (injected clock)', async () => {
    const counter = countingFetch();
    const source = createOAuth2TokenSource({ system: 'crm', config: clientCredentials({ clientAuth: 'post' }), vault, clock, fetch: counter.fetch });
    const first = await source.getAccessToken();
    clock.advance((ACCESS_TTL_S - 60) * 1000 - 1);
    expect(await source.getAccessToken()).toBe(first);
    clock.advance(1);
    const second = await source.getAccessToken();
    expect(second).not.toBe(first);
    expect(counter.count()).toBe(2);
    expect(await server.isActive(second)).toBe(true);
    source.invalidate();
    expect(await source.getAccessToken()).not.toBe(second);
  });

  it('forgets the cached token on invalidate(token) only while that token is the cached one', async () => {
    const counter = countingFetch();
    const source = createOAuth2TokenSource({ system: 'crm', config: clientCredentials(), vault, clock, fetch: counter.fetch });
    const first = await source.getAccessToken();
    source.invalidate(first);
    const second = await source.getAccessToken();
    expect(second).not.toBe(first);
    // A late 401 to a request that carried the first token does not throw away the second.
    source.invalidate(first);
    expect(await source.getAccessToken()).toBe(second);
    expect(counter.count()).toBe(2);
  });

  it('names the system and where the credentials live when the server refuses the client', async () => {
    await vault.set('crm', 'client_secret', 'not-the-secret', actor);
    const error = await failure(createOAuth2TokenSource({ system: 'crm', config: clientCredentials(), vault, clock }).getAccessToken());
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.message).toMatch(/^system "crm": the OAuth2 server refused the client credentials \(invalid_client: .*\)\. A person must re-authorise: check the client with the provider and replace vault secret crm\/client_secret$/);
    expect(error.message).not.toContain('not-the-secret');
  });

  it('says when the token endpoint cannot be reached or a vault secret is missing', async () => {
    const unreachable = createOAuth2TokenSource({ system: 'crm', config: clientCredentials({ tokenUrl: 'http://127.0.0.1:9/token' }), vault, clock });
    expect((await failure(unreachable.getAccessToken())).message).toMatch(/^system "crm": cannot reach its OAuth2 token endpoint http:\/\/127\.0\.0\.1:9\/token: /);
    const missing = createOAuth2TokenSource({ system: 'crm', config: clientCredentials({ clientSecret: { kind: 'vault', system: 'crm', name: 'nope' } }), vault, clock });
    expect(await failure(missing.getAccessToken())).toMatchObject({ code: 'SECRET_UNAVAILABLE', message: expect.stringContaining('portcullis vault set crm nope') });
  });
});

describe('refresh tokens', () => {
  it('uses the refresh token, writes the rotated one back to the vault, and keeps working after expiry', async () => {
    const initial = await server.mintRefreshToken();
    await vault.set('crm', 'refresh_token', initial, actor);
    const source = createOAuth2TokenSource({ system: 'crm', config: refreshGrant(), vault, clock });
    const first = await source.getAccessToken();
    expect(await server.isActive(first)).toBe(true);
    const rotated = await vault.get('crm', 'refresh_token');
    expect(rotated).not.toBe(initial);
    expect(await server.isActive(rotated)).toBe(true);
    const event = (await store.queryAudit({ limit: 1, order: 'desc' }))[0];
    expect(event).toMatchObject({ type: 'vault.secret_set', actor: { kind: 'system', id: 'oauth2' }, data: { system: 'crm', name: 'refresh_token', replaced: true, reason: 'rotated by the authorisation server' } });
    expect(JSON.stringify(event)).not.toContain(rotated);

    clock.advance(ACCESS_TTL_S * 1000);
    const second = await source.getAccessToken();
    expect(second).not.toBe(first);
    expect(await vault.get('crm', 'refresh_token')).not.toBe(rotated);
  });

  it('a revoked refresh token gives a clear error: re-authorise, naming the system, with no secret in it', async () => {
    const token = await server.mintRefreshToken();
    await vault.set('crm', 'refresh_token', token, actor);
    const source = createOAuth2TokenSource({ system: 'crm', config: refreshGrant(), vault, clock });
    await source.getAccessToken();
    const current = await vault.get('crm', 'refresh_token');
    await server.revoke(current, 'refresh_token');
    expect(await server.isActive(current)).toBe(false);

    clock.advance(ACCESS_TTL_S * 1000);
    const error = await failure(source.getAccessToken());
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.message).toMatch(/^system "crm": the OAuth2 server refused the refresh token \(invalid_grant: [^)]*\); it was revoked or has expired\. A person must re-authorise Portcullis for "crm" and store the new refresh token with `portcullis vault set crm refresh_token`$/);
    expect(error.details).toMatchObject({ system: 'crm', oauthError: 'invalid_grant', reauthorise: true });
    for (const secret of [current, token, server.clientSecret]) expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(secret);

    // After a person stores a new refresh token, the same source works again without a restart.
    await vault.set('crm', 'refresh_token', await server.mintRefreshToken(), actor);
    expect(await server.isActive(await source.getAccessToken())).toBe(true);
  });
});
