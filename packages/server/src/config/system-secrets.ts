/**
 * How portcullis.yaml names a system credential, and the OAuth2 settings of an HTTP system.
 * Invariant: no credential is ever written in the file. A credential is named either by an
 * environment variable (read here, at compile time, as the config module is the only reader
 * of the environment) or by a vault secret `{ vault: NAME }` of the same system (read at run
 * time by vault/resolve-secret.ts, under the master key).
 *
 * Two spellings, one meaning:
 * - a `*Env` key (e.g. `passwordEnv`) takes a variable name or `{ vault: NAME }`
 *   (`envOrVaultSecret`);
 * - a plain key (e.g. `clientSecret`) takes `{ env: VAR }` or `{ vault: NAME }` (`secretRef`),
 *   so a bare string there is never mistaken for a variable name or a value.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.js';
import type { ConfigIssue, PathSegment } from './issues.js';
import { NAME_PATTERN, envName, isLoopback } from './system-common.js';
import type { Env } from './env.js';

// The same patterns as schema.ts's; not imported from there, so schema.ts can import this module.

const vaultName = z.string().regex(NAME_PATTERN, { error: 'expected a vault secret name: letters, digits, _ and -, starting with a letter or _' });
const vaultRef = z.strictObject({ vault: vaultName.describe('A secret of this system in the vault: `portcullis vault set SYSTEM NAME`.') });

/** A credential at a plain key: `{ env: VAR }` or `{ vault: NAME }`. */
export const secretRef = z.union([z.strictObject({ env: envName.describe('Environment variable holding the credential.') }), vaultRef], {
  error: 'expected { env: VARIABLE } or { vault: NAME } (credentials are never written in the config; store one with `portcullis vault set SYSTEM NAME`)',
});

/** A credential at a `*Env` key: a variable name, or `{ vault: NAME }`. */
export const envOrVaultSecret = z.union([envName, vaultRef], {
  error: 'expected an environment variable name or { vault: NAME } (store one with `portcullis vault set SYSTEM NAME`)',
});

export type SecretRefSettings = z.output<typeof secretRef>;
export type EnvOrVaultSettings = z.output<typeof envOrVaultSecret>;

/**
 * A credential after compiling: an environment value captured at compile time, or the
 * address of a vault secret read when it is needed. Never print one.
 */
export type CompiledSecret =
  | { readonly kind: 'env'; readonly variable: string; readonly value: string }
  | { readonly kind: 'vault'; readonly system: string; readonly name: string };

/**
 * Compiles a credential of `system` written at `path` (either spelling). An unset variable
 * is returned as an issue naming it; a vault secret is not looked up here (compiling never
 * opens the store): a missing one fails the system's pre-flight check.
 */
export function compileSecret(setting: SecretRefSettings | EnvOrVaultSettings, system: string, path: readonly PathSegment[], env: Env): { secret?: CompiledSecret; issues: ConfigIssue[] } {
  if (typeof setting !== 'string' && 'vault' in setting) return { secret: Object.freeze({ kind: 'vault', system, name: setting.vault }), issues: [] };
  const variable = typeof setting === 'string' ? setting : setting.env;
  const value = env[variable];
  if (value === undefined || value === '') {
    return { issues: [{ path, message: `environment variable ${variable} is not set${value === '' ? ' (it is empty)' : ''}; set it, or keep the credential in the vault: \`portcullis vault set ${system} NAME\` and write { vault: NAME }` }] };
  }
  return { secret: Object.freeze({ kind: 'env', variable, value }), issues: [] };
}

/** A token endpoint: https, or http on the loopback interface only (client secrets travel in it). */
const tokenUrl = z.url({ error: 'expected the token endpoint\'s URL, e.g. https://auth.example.com/oauth/token' }).refine((text) => {
  const url = new URL(text);
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
}, { error: 'the token endpoint must use https (plain http is accepted on 127.0.0.1 and localhost only): client secrets and tokens travel in it' });

/** The OAuth2 settings of an HTTP system (`auth: { kind: oauth2, … }`). */
export const oauth2Settings = z.strictObject({
  kind: z.literal('oauth2'),
  grant: z.enum(['client_credentials', 'refresh_token']).describe('client_credentials: the gateway acts as itself; refresh_token: it acts for a person who authorised it once.'),
  tokenUrl,
  clientId: z.union([z.string().min(1), secretRef]).describe('The client id, or { env } / { vault } if it should not be in the file.'),
  clientSecret: secretRef.optional().describe('The client secret; omit for a public client.'),
  refreshToken: vaultRef.optional().describe('For grant refresh_token: the vault secret holding it (the vault, as the server may rotate it).'),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, { error: 'a scope is one token without spaces, quotes or backslashes' })).default([]),
  clientAuth: z.enum(['basic', 'post']).default('basic').describe('How the client authenticates: HTTP Basic (client_secret_basic) or form fields (client_secret_post).'),
  refreshBefore: z.string().regex(DURATION_PATTERN, { error: 'write a whole number and a unit, e.g. "60s"' }).default('60s').describe('Get a new access token this long before the current one expires.'),
}).superRefine((value, ctx) => {
  if (value.grant === 'refresh_token' && value.refreshToken === undefined) {
    ctx.addIssue({ code: 'custom', path: ['refreshToken'], message: 'grant refresh_token needs refreshToken: { vault: NAME }; store the token with `portcullis vault set SYSTEM NAME`' });
  }
  if (value.grant === 'client_credentials' && value.clientSecret === undefined) {
    ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: 'grant client_credentials needs clientSecret: { vault: NAME } or { env: VAR }' });
  }
});

export type OAuth2Settings = z.output<typeof oauth2Settings>;

/** OAuth2 settings after compiling. */
export interface OAuth2Config {
  readonly grant: 'client_credentials' | 'refresh_token';
  readonly tokenUrl: string;
  readonly clientId: string | CompiledSecret;
  readonly clientSecret?: CompiledSecret;
  /** Where the refresh token lives (the vault), for grant refresh_token. */
  readonly refreshToken?: Extract<CompiledSecret, { kind: 'vault' }>;
  readonly scopes: readonly string[];
  readonly clientAuth: 'basic' | 'post';
  readonly refreshBeforeMs: number;
}

/** Compiles the OAuth2 settings of `system` written at `path`; unset variables are issues. */
export function compileOAuth2(settings: OAuth2Settings, system: string, path: readonly PathSegment[], env: Env): { config?: OAuth2Config; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const secret = (s: SecretRefSettings, key: string): CompiledSecret | undefined => {
    const compiled = compileSecret(s, system, [...path, key], env);
    issues.push(...compiled.issues);
    return compiled.secret;
  };
  const clientId = typeof settings.clientId === 'string' ? settings.clientId : secret(settings.clientId, 'clientId');
  const clientSecret = settings.clientSecret === undefined ? undefined : secret(settings.clientSecret, 'clientSecret');
  const before = parseDuration(settings.refreshBefore);
  if (!before.ok) issues.push({ path: [...path, 'refreshBefore'], message: before.error });
  if (issues.length > 0 || clientId === undefined || !before.ok) return { issues };
  return {
    issues,
    config: Object.freeze({
      grant: settings.grant, tokenUrl: settings.tokenUrl, clientId, clientAuth: settings.clientAuth,
      scopes: Object.freeze([...settings.scopes]), refreshBeforeMs: before.value,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      ...(settings.refreshToken === undefined ? {} : { refreshToken: Object.freeze({ kind: 'vault' as const, system, name: settings.refreshToken.vault }) }),
    }),
  };
}
