/**
 * `kind: http` systems in portcullis.yaml: an OpenAPI 3 document, a base URL and how the
 * gateway authenticates. Invariants: credentials are named (an environment variable or a
 * vault secret), never written; a credential never travels over plain http off the loopback
 * interface; the base URL has no query, fragment or user info, so "inside the base URL" has
 * one meaning. The document is read here, at load, so a broken one is a config error.
 */
import { z } from 'zod';
import { readOpenApiFile, type HttpOperation } from './openapi-document.js';
import type { ConfigIssue, PathSegment } from '../../config/issues.js';
import type { Env } from '../../config/secrets.js';
import { durationMs } from '../../config/duration.js';
import { durationSetting, headerName, isLoopback } from '../../config/system-common.js';
import { compileOAuth2, compileSecret, envOrVaultSecret, oauth2Settings, type CompiledSecret, type OAuth2Config } from '../../config/system-secrets.js';

/** How the gateway authenticates to an HTTP system. */
export type HttpAuthConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: CompiledSecret }
  | { readonly kind: 'header'; readonly name: string; readonly value: CompiledSecret }
  | { readonly kind: 'oauth2'; readonly oauth2: OAuth2Config };

/** An HTTP system described by an OpenAPI 3 document. */
export interface HttpSystemConfig {
  readonly kind: 'http';
  readonly name: string;
  /** Absolute path of the OpenAPI document. */
  readonly openapi: string;
  /** Where every request goes, without a trailing slash. */
  readonly baseUrl: string;
  readonly auth: HttpAuthConfig;
  /** Path `check()` GETs; default the base URL. */
  readonly healthPath?: string;
  /** How long one request may take. */
  readonly timeoutMs: number;
  /** The document's operations: one action each. */
  readonly operations: readonly HttpOperation[];
  /** Operations of the document that are not offered, with why. */
  readonly skipped: readonly string[];
}

/** How long one request to a system may take unless the config says otherwise. */
const DEFAULT_SYSTEM_TIMEOUT = '10s';


/** A duration key with the same spelling as the rest of the file. */
export const timeoutSetting = durationSetting(DEFAULT_SYSTEM_TIMEOUT, 'How long one request may take before it fails, e.g. "10s".');

const httpAuth = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({
    kind: z.literal('bearer'),
    tokenEnv: envOrVaultSecret.describe('Environment variable (or { vault: NAME }) holding the token sent as "Authorization: Bearer".'),
  }),
  z.strictObject({
    kind: z.literal('header'),
    name: headerName
      .refine((n) => !['host', 'content-length', 'content-type', 'transfer-encoding', 'connection'].includes(n.toLowerCase()), { error: 'pick a header the gateway does not set itself (not Host, Content-Length, Content-Type, Transfer-Encoding or Connection)' }),
    valueEnv: envOrVaultSecret.describe('Environment variable (or { vault: NAME }) holding the header\'s value.'),
  }),
  oauth2Settings,
], { error: 'expected auth kind: none, bearer, header or oauth2' });

/** The settings of an HTTP system. */
export const httpSystemSchema = z.strictObject({
  kind: z.literal('http'),
  openapi: z.string().min(1).describe('The OpenAPI 3 document (YAML or JSON), relative to the config file\'s folder. Each operation becomes an action.'),
  baseUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL, e.g. https://crm.example.com/api' })
    .refine((text) => { const u = new URL(text); return u.search === '' && u.hash === '' && u.username === '' && u.password === ''; }, {
      error: 'the base URL may not have a query, a fragment or a user name or password; put credentials in auth',
    })
    .describe('Every request goes to this URL plus the operation\'s path, and nowhere else.'),
  auth: httpAuth.default({ kind: 'none' }),
  healthPath: z.string().regex(/^\/[^?#]*$/, { error: 'expected a path starting with "/", e.g. /health' }).optional()
    .describe('Path GET by `portcullis check`; default the base URL itself.'),
  timeout: timeoutSetting,
}).superRefine((value, ctx) => {
  let url: URL;
  try { url = new URL(value.baseUrl); } catch { return; }
  if (value.auth.kind !== 'none' && url.protocol === 'http:' && !isLoopback(url.hostname)) {
    ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: 'credentials would travel in plain text: use https (plain http is accepted with auth on 127.0.0.1 and localhost only)' });
  }
});

export type HttpSystemSettings = z.output<typeof httpSystemSchema>;

/**
 * Compiles an HTTP system: reads its OpenAPI document and names its
 * credential. `resolvePath` makes a config path absolute. Returns undefined, with the problems in `issues`, when the document or a
 * credential cannot be used.
 */
export function compileHttpSystem(name: string, settings: HttpSystemSettings, context: { env: Env; resolvePath: (path: string) => string }, issues: ConfigIssue[]): HttpSystemConfig | undefined {
  const at = (...rest: PathSegment[]): PathSegment[] => ['systems', name, ...rest];
  const openapi = context.resolvePath(settings.openapi);
  const document = readOpenApiFile(openapi);
  if (!document.ok) issues.push(...document.problems.map((message) => ({ path: at('openapi'), message })));
  let auth: HttpAuthConfig | undefined;
  const { auth: a } = settings;
  const secret = (setting: Parameters<typeof compileSecret>[0], key: string) => {
    const compiled = compileSecret(setting, name, at('auth', key), context.env);
    issues.push(...compiled.issues);
    return compiled.secret;
  };
  if (a.kind === 'none') auth = { kind: 'none' };
  else if (a.kind === 'bearer') { const token = secret(a.tokenEnv, 'tokenEnv'); if (token !== undefined) auth = { kind: 'bearer', token }; }
  else if (a.kind === 'header') { const value = secret(a.valueEnv, 'valueEnv'); if (value !== undefined) auth = { kind: 'header', name: a.name, value }; }
  else {
    const compiled = compileOAuth2(a, name, at('auth'), context.env);
    issues.push(...compiled.issues);
    if (compiled.config !== undefined) auth = { kind: 'oauth2', oauth2: compiled.config };
  }
  if (!document.ok || auth === undefined) return undefined;
  return {
    kind: 'http', name, openapi, baseUrl: settings.baseUrl.replace(/\/+$/, ''), auth: Object.freeze(auth), timeoutMs: durationMs(settings.timeout),
    ...(settings.healthPath === undefined ? {} : { healthPath: settings.healthPath }),
    operations: Object.freeze(document.value.operations), skipped: Object.freeze(document.value.skipped),
  };
}
