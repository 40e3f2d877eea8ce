/**
 * OAuth2 access tokens for HTTP systems: the client-credentials and refresh-token grants
 * (RFC 6749 sections 4.4 and 6). Invariants: an access token is reused until `refreshBefore`
 * ahead of its expiry (at most half its lifetime ahead), then replaced; concurrent callers
 * share one token request; a refresh token the server rotates is written back to the vault
 * before the old one is forgotten; no error message ever contains a credential or a token
 * (values the server echoes are redacted), and a refused grant says that a person must
 * re-authorise, naming the system and where its credential lives.
 */
import { PortcullisError, type Clock } from '@portcullis/core';
import type { CompiledSecret, OAuth2Config } from '../../config/system-secrets.js';
import { createSecretRedactor } from '../../vault/redact.js';
import { describeSecret, resolveSystemSecret } from '../../vault/resolve-secret.js';
import type { Vault } from '../../vault/vault.js';

/** What an HTTP connector needs: a bearer token for the next request. */
export interface TokenSource {
  /**
   * A valid access token, fetched when none is cached or the cached one is about to expire.
   * @throws PortcullisError UPSTREAM_FAILED (endpoint unreachable, grant refused: re-authorise),
   *   SECRET_UNAVAILABLE (a credential cannot be read from the vault).
   */
  getAccessToken(): Promise<string>;
  /**
   * Forgets the cached access token (call it when the API answers 401), so the next call
   * fetches one. With `token`, only if that is still the cached one: a 401 to a request sent
   * with an older token does not throw away a newer token another request already fetched.
   */
  invalidate(token?: string): void;
}

/** What an OAuth2 token source needs. */
export interface OAuth2TokenSourceOptions {
  readonly system: string;
  readonly config: OAuth2Config;
  readonly vault: Vault | undefined;
  readonly clock: Clock;
  /** The fetch to use; default the global one. */
  readonly fetch?: typeof fetch;
  /** How long a token request may take; default 10 s. */
  readonly timeoutMs?: number;
}

/** Lifetime assumed when the server does not send `expires_in`. */
const DEFAULT_TOKEN_LIFETIME_MS = 300_000;

interface TokenResponse {
  readonly access_token?: unknown;
  readonly token_type?: unknown;
  readonly expires_in?: unknown;
  readonly refresh_token?: unknown;
  readonly error?: unknown;
  readonly error_description?: unknown;
}

const form = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');

/** Creates a token source for one system. Nothing is requested until the first `getAccessToken`. */
export function createOAuth2TokenSource(options: OAuth2TokenSourceOptions): TokenSource {
  const { system, config, vault, clock } = options;
  const doFetch = options.fetch ?? fetch;
  let cached: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  /** A rotated refresh token not yet saved in the vault (the save failed): used until it is. */
  let unsaved: string | undefined;
  const redactor = createSecretRedactor();

  const fail = (message: string, details: Record<string, unknown> = {}): PortcullisError =>
    new PortcullisError('UPSTREAM_FAILED', redactor.redact(message), { system, ...details });
  const secret = (ref: CompiledSecret): Promise<string> => resolveSystemSecret(ref, vault);

  async function requestToken(): Promise<string> {
    const startedAt = clock.now();
    const clientId = typeof config.clientId === 'string' ? config.clientId : await secret(config.clientId);
    const clientSecret = config.clientSecret === undefined ? undefined : await secret(config.clientSecret);
    const refreshRef = config.refreshToken;
    const refreshToken = config.grant === 'refresh_token' && refreshRef !== undefined ? unsaved ?? (await secret(refreshRef)) : undefined;
    for (const value of [clientSecret, refreshToken]) if (value !== undefined) redactor.add(value);

    const body = new URLSearchParams({ grant_type: config.grant });
    if (refreshToken !== undefined) body.set('refresh_token', refreshToken);
    if (config.scopes.length > 0) body.set('scope', config.scopes.join(' '));
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (clientSecret !== undefined && config.clientAuth === 'basic') {
      headers.authorization = `Basic ${Buffer.from(`${form(clientId)}:${form(clientSecret)}`).toString('base64')}`;
    } else {
      body.set('client_id', clientId);
      if (clientSecret !== undefined) body.set('client_secret', clientSecret);
    }

    let response: Response;
    let payload: TokenResponse;
    try {
      response = await doFetch(config.tokenUrl, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    } catch (error) {
      throw fail(`system "${system}": cannot reach its OAuth2 token endpoint ${config.tokenUrl}: ${(error as Error).message}; check the URL and that the server is up`);
    }
    try {
      payload = (await response.json()) as TokenResponse;
      if (payload === null || typeof payload !== 'object') throw new Error('not an object');
    } catch {
      throw fail(`system "${system}": its OAuth2 token endpoint ${config.tokenUrl} answered HTTP ${response.status} without a JSON object; check tokenUrl`, { status: response.status });
    }
    if (!response.ok || typeof payload.error === 'string') throw refused(response.status, payload);

    const token = payload.access_token;
    if (typeof token !== 'string' || token === '') throw fail(`system "${system}": the OAuth2 token response has no access_token`);
    if (payload.token_type !== undefined && String(payload.token_type).toLowerCase() !== 'bearer') {
      throw fail(`system "${system}": the OAuth2 server issued a "${String(payload.token_type)}" token; only bearer tokens are supported`);
    }
    const lifetime = typeof payload.expires_in === 'number' && payload.expires_in > 0 ? payload.expires_in * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
    cached = { token, refreshAt: startedAt + lifetime - Math.min(config.refreshBeforeMs, lifetime / 2) };

    const rotated = payload.refresh_token;
    if (refreshRef !== undefined && typeof rotated === 'string' && rotated !== '' && rotated !== refreshToken) {
      // The server rotated the refresh token: the old one may already be dead, so keep the
      // new one in memory until the vault has it.
      unsaved = rotated;
      if (vault === undefined) throw fail(`system "${system}": the OAuth2 server rotated the refresh token, but there is no vault to keep it in`);
      await vault.set(refreshRef.system, refreshRef.name, rotated, { kind: 'system', id: 'oauth2' }, 'rotated by the authorisation server');
      unsaved = undefined;
    }
    return token;
  }

  function refused(status: number, payload: TokenResponse): PortcullisError {
    const code = typeof payload.error === 'string' ? payload.error : `HTTP ${status}`;
    const said = `${code}${typeof payload.error_description === 'string' ? `: ${payload.error_description}` : ''}`;
    cached = undefined;
    if (code === 'invalid_grant' && config.refreshToken !== undefined) {
      return fail(`system "${system}": the OAuth2 server refused the refresh token (${said}); it was revoked or has expired. A person must re-authorise Portcullis for "${system}" and store the new refresh token with \`portcullis vault set ${config.refreshToken.system} ${config.refreshToken.name}\``, { oauthError: code, reauthorise: true });
    }
    if (code === 'invalid_client' || code === 'unauthorized_client' || status === 401) {
      const where = [typeof config.clientId === 'string' ? undefined : describeSecret(config.clientId), config.clientSecret === undefined ? undefined : describeSecret(config.clientSecret)].filter(Boolean).join(' and ');
      return fail(`system "${system}": the OAuth2 server refused the client credentials (${said}). A person must re-authorise: check the client with the provider and replace ${where || 'the client id'}`, { oauthError: code, reauthorise: true });
    }
    return fail(`system "${system}": the OAuth2 token endpoint answered HTTP ${status} (${said})`, { oauthError: code, status });
  }

  return {
    getAccessToken() {
      if (cached !== undefined && clock.now() < cached.refreshAt) return Promise.resolve(cached.token);
      inflight ??= requestToken().finally(() => { inflight = undefined; });
      return inflight;
    },
    invalidate(token) {
      if (token === undefined || cached?.token === token) cached = undefined;
    },
  };
}
