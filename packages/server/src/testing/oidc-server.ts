/**
 * Starts the real OAuth2 authorisation server of testing/fixtures/oidc-server.mjs
 * (oidc-provider from npm) as a child process on 127.0.0.1, and talks to its revocation and
 * introspection endpoints as the provider's own clients would. It also registers a resource
 * server client, whose credentials an API (the json-server introspection middleware) uses to
 * check the tokens it is sent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** A token the server issued: a client-credentials or refresh-grant access token, or a refresh token. */
export interface IssuedToken {
  readonly kind: 'client_credentials' | 'access_token' | 'refresh_token';
  readonly token: string;
}

/** A running authorisation server. */
export interface OidcServer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly revocationEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The credentials of the resource server, which may introspect any token. */
  readonly resourceServer: { readonly clientId: string; readonly clientSecret: string };
  /** Every token issued so far, oldest first. */
  issued(): Promise<IssuedToken[]>;
  /** A refresh token for the client, as if a person had authorised Portcullis in a browser. */
  mintRefreshToken(): Promise<string>;
  /** Revokes a token at the revocation endpoint (RFC 7009). */
  revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void>;
  /** Whether the server considers a token active (RFC 7662). */
  isActive(token: string): Promise<boolean>;
  /** Everything the server wrote to standard error. */
  stderr(): string;
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./fixtures/oidc-server.mjs', import.meta.url));

/** Starts the server; resolves once it listens. Access tokens live `accessTtlSeconds` (default 120). */
export async function startOidcServer(options: { clientId?: string; clientSecret?: string; accessTtlSeconds?: number } = {}): Promise<OidcServer> {
  const clientId = options.clientId ?? 'portcullis-gateway';
  const clientSecret = options.clientSecret ?? `cs_${randomBytes(18).toString('base64url')}`;
  const resourceServer = { clientId: 'crm-api', clientSecret: `rs_${randomBytes(18).toString('base64url')}` };
  const child: ChildProcess = spawn(process.execPath, [SCRIPT], {
    env: {
      PATH: process.env.PATH ?? '', CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, ACCESS_TTL: String(options.accessTtlSeconds ?? 120),
      RS_CLIENT_ID: resourceServer.clientId, RS_CLIENT_SECRET: resourceServer.clientSecret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => { errors += chunk.toString(); });
  const endpoints = await new Promise<{ issuer: string; tokenEndpoint: string; revocationEndpoint: string; introspectionEndpoint: string }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`the OAuth2 fixture did not start within 15 s: ${errors}`)); }, 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) { clearTimeout(timer); resolve(JSON.parse(line)); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the OAuth2 fixture exited with ${code}: ${errors}`)); });
  });
  const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  const post = (url: string, form: Record<string, string>): Promise<Response> => fetch(url, {
    method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form),
  });
  return {
    issuer: endpoints.issuer, tokenEndpoint: endpoints.tokenEndpoint, revocationEndpoint: endpoints.revocationEndpoint,
    introspectionEndpoint: endpoints.introspectionEndpoint, clientId, clientSecret, resourceServer,
    async issued() {
      return (await (await fetch(`${endpoints.issuer}/_test/issued`)).json()) as IssuedToken[];
    },
    async mintRefreshToken() {
      const res = await fetch(`${endpoints.issuer}/_test/refresh-token`, { method: 'POST' });
      return ((await res.json()) as { refreshToken: string }).refreshToken;
    },
    async revoke(token, hint) {
      const res = await post(endpoints.revocationEndpoint, { token, token_type_hint: hint });
      if (res.status !== 200) throw new Error(`revocation answered ${res.status}: ${await res.text()}`);
    },
    async isActive(token) {
      const res = await post(endpoints.introspectionEndpoint, { token });
      return ((await res.json()) as { active: boolean }).active;
    },
    stderr: () => errors,
    close: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return; }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
