/**
 * The only way the gateway sends a request to an HTTP system. Invariants: a request goes to
 * the system's base URL plus a path below it, or nowhere (a resolved URL with another origin,
 * a path outside the base path, or a `.`/`..` segment is refused before anything is sent);
 * redirects are not followed; every request has a timeout and a response-size limit; no
 * credential appears in an error message or an answer (values echoed by the server are
 * redacted), so none reaches a result, undo data or the audit trail.
 */
import { PortcullisError, type Clock, type JsonValue } from '@portcullis/core';
import type { HttpSystemConfig } from './http-settings.js';
import { resolveSystemSecret } from '../../vault/resolve-secret.js';
import { createOAuth2TokenSource, type TokenSource } from './oauth2-token-source.js';
import { createSecretRedactor } from '../../vault/redact.js';
import type { Vault } from '../../vault/vault.js';
import { isSafeSegment } from './http-actions.js';

/** The largest response body read from a system, in bytes. */
export const MAX_RESPONSE_BYTES = 1_048_576;
/** How much of an error response is quoted in the error, in characters. */
export const EXCERPT_CHARS = 200;

/** What an HTTP connector needs besides its system's config. */
export interface HttpClientDeps {
  /** Where `{ vault: NAME }` credentials are read. */
  readonly vault?: Vault;
  readonly clock?: Clock;
  /** The fetch to use; default the global one. */
  readonly fetch?: typeof fetch;
}

/** A system's answer. `body` is parsed JSON, text, or null when empty. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: JsonValue;
  /** The start of the body as text, for error messages (credentials redacted). */
  readonly excerpt: string;
}

/** One request, before it is resolved against the base URL. */
export interface HttpRequest {
  readonly method: string;
  /** The operation's path template, e.g. `/leads/{id}`. */
  readonly template: string;
  readonly pathValues?: Readonly<Record<string, unknown>>;
  readonly query?: Readonly<Record<string, unknown>>;
  readonly body?: unknown;
  /** Sent as the `Idempotency-Key` header, so a system that honours it applies a retried write once. */
  readonly idempotencyKey?: string;
}

/** Connection errors that happen before a request is sent: the system cannot have acted on it. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ERR_INVALID_URL', 'UND_ERR_CONNECT_TIMEOUT']);
/** Methods that change nothing: when they fail, nothing took effect whatever the cause. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Resolves a path template and its values against a base URL.
 * @throws PortcullisError FORBIDDEN when the result would leave the base URL (nothing is sent).
 */
export function resolveUrl(baseUrl: string, request: Pick<HttpRequest, 'template' | 'pathValues' | 'query'>): URL {
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const refuse = (why: string): never => {
    throw new PortcullisError('FORBIDDEN', `refused to send a request outside the system's base URL ${base.origin}${basePath}: ${why}; nothing was sent`, { template: request.template });
  };
  const path = request.template.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const value = request.pathValues?.[name];
    if (!['string', 'number', 'boolean'].includes(typeof value)) refuse(`path parameter "${name}" is missing`);
    if (!isSafeSegment(String(value))) refuse(`path parameter "${name}" is not one path segment`);
    return encodeURIComponent(String(value));
  });
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) refuse(`the path ${path} has a "." or ".." segment`);
  // Concatenated, never resolved relative to the base: "//host" or "http:" in a path stays a path.
  const url = new URL(`${base.origin}${basePath}${path}`);
  if (url.origin !== base.origin) refuse(`it resolves to ${url.origin}`);
  if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) refuse(`it resolves to ${url.pathname}`);
  for (const [key, value] of Object.entries(request.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) url.searchParams.append(key, String(item));
  }
  return url;
}

async function readLimited(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) throw new Error(`the response is ${declared} bytes, over the ${MAX_RESPONSE_BYTES}-byte limit`);
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new Error(`the response is over the ${MAX_RESPONSE_BYTES}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A client for one HTTP system. */
export interface HttpClient {
  /**
   * Sends one request and returns the answer, whatever its status.
   * @throws PortcullisError FORBIDDEN (the URL would leave the base URL; nothing sent),
   *   UPSTREAM_FAILED (unreachable before sending, redirected, too large, malformed JSON, or any
   *   failure of a GET/HEAD/OPTIONS), OUTCOME_UNKNOWN (a write sent and then timed out or its
   *   connection lost before the whole answer came),
   *   SECRET_UNAVAILABLE (the credential cannot be read).
   */
  send(request: HttpRequest): Promise<HttpAnswer>;
  /** Removes every credential this client has used from a text. */
  redact(text: string): string;
}

/** Creates the client of an HTTP system. Credentials are read for each request, so a rotated one is used at once. */
export function createHttpClient(system: HttpSystemConfig, deps: HttpClientDeps = {}): HttpClient {
  const doFetch = deps.fetch ?? fetch;
  const secrets = createSecretRedactor();
  let tokens: TokenSource | undefined;
  if (system.auth.kind === 'oauth2') {
    tokens = createOAuth2TokenSource({
      system: system.name, config: system.auth.oauth2, vault: deps.vault, clock: deps.clock ?? { now: () => Date.now() }, ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }), timeoutMs: system.timeoutMs,
    });
  }
  const redact = (text: string): string => secrets.redact(text);
  const fail = (message: string, details: Record<string, unknown> = {}, cause?: unknown): PortcullisError =>
    new PortcullisError('UPSTREAM_FAILED', redact(`system "${system.name}": ${message}`), { system: system.name, ...details }, { cause });
  /** A write that may have reached the system and whose answer never came: its outcome is unknown. */
  const unknown = (message: string, details: Record<string, unknown> = {}, cause?: unknown): PortcullisError =>
    new PortcullisError('OUTCOME_UNKNOWN', redact(`system "${system.name}": ${message}; the request may have reached the system, so whether it took effect is unknown`), { system: system.name, ...details }, { cause });

  /** The credential header of the next request, and the OAuth2 access token in it (if any). */
  async function authHeaders(): Promise<{ headers: Record<string, string>; accessToken?: string }> {
    const { auth } = system;
    if (auth.kind === 'none') return { headers: {} };
    const value = auth.kind === 'bearer' ? await resolveSystemSecret(auth.token, deps.vault)
      : auth.kind === 'header' ? await resolveSystemSecret(auth.value, deps.vault)
        : await (tokens as TokenSource).getAccessToken();
    secrets.add(value);
    // A header value with a scheme ("Bearer xyz", "Token xyz"): the server may echo the credential alone.
    const scheme = /^[A-Za-z-]+ +(\S+)$/.exec(value.trim());
    if (scheme?.[1] !== undefined) secrets.add(scheme[1]);
    if (auth.kind === 'header') return { headers: { [auth.name]: value } };
    return { headers: { authorization: `Bearer ${value}` }, ...(auth.kind === 'oauth2' ? { accessToken: value } : {}) };
  }

  async function once(request: HttpRequest, url: URL): Promise<{ answer: HttpAnswer; accessToken?: string }> {
    const where = `${request.method} ${url.origin}${url.pathname}`;
    const hasBody = request.body !== undefined;
    const auth = await authHeaders();
    let response: Response;
    try {
      response = await doFetch(url, {
        method: request.method, redirect: 'manual', signal: AbortSignal.timeout(system.timeoutMs),
        headers: {
          accept: 'application/json', ...(hasBody ? { 'content-type': 'application/json' } : {}),
          ...(request.idempotencyKey === undefined ? {} : { 'idempotency-key': request.idempotencyKey }), ...auth.headers,
        },
        ...(hasBody ? { body: JSON.stringify(request.body) } : {}),
      });
    } catch (error) {
      const e = error as Error & { cause?: { message?: string; code?: string } };
      const reason = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${system.timeoutMs} ms` : e.cause?.message ?? e.message;
      const code = e.cause?.code ?? e.name;
      const sent = !NOT_SENT.has(code) && !SAFE_METHODS.has(request.method.toUpperCase());
      throw (sent ? unknown : fail)(`${where} failed: ${reason}`, { code }, error);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw fail(`${where} answered ${response.status} redirecting to ${response.headers.get('location') ?? '(no location)'}; redirects are not followed (requests go only to the base URL)`, { status: response.status });
    }
    let text: string;
    try {
      text = await readLimited(response);
    } catch (error) {
      const e = error as Error;
      // A status that proves the write was refused stays a failure; otherwise the answer was lost.
      const sent = response.status < 400 && !SAFE_METHODS.has(request.method.toUpperCase());
      throw (sent ? unknown : fail)(`${where}: ${e.name === 'TimeoutError' || e.name === 'AbortError' ? `no complete answer within ${system.timeoutMs} ms` : e.message}`, { status: response.status }, error);
    }
    // Redacted before it is cut short, so a credential cut in two cannot survive as a fragment.
    const excerpt = redact(text).replace(/\s+/g, ' ').trim().slice(0, EXCERPT_CHARS);
    let body: JsonValue = text === '' ? null : text;
    if (text !== '' && /json/i.test(response.headers.get('content-type') ?? '')) {
      try {
        body = JSON.parse(text) as JsonValue;
      } catch {
        if (response.ok) throw fail(`${where} answered ${response.status} with malformed JSON: ${excerpt}`, { status: response.status });
      }
    }
    // A system that echoes the request (its headers included) must not put the credential in a result or undo data.
    return { answer: { status: response.status, body: secrets.redactJson(body), excerpt }, ...(auth.accessToken === undefined ? {} : { accessToken: auth.accessToken }) };
  }

  return {
    redact,
    async send(request) {
      const url = resolveUrl(system.baseUrl, request);
      const { answer, accessToken } = await once(request, url);
      // An expired or revoked OAuth2 access token: get a new one and try once more (a 401 was
      // not acted on). Only the token this request sent is forgotten: when requests sent
      // together are all refused, the first to retry fetches a new token and the others share it.
      if (answer.status === 401 && tokens !== undefined && accessToken !== undefined) {
        tokens.invalidate(accessToken);
        return (await once(request, url)).answer;
      }
      return answer;
    },
  };
}

/**
 * The answer if it is a success (2xx).
 * @throws PortcullisError UPSTREAM_FAILED naming the status and a short excerpt of the body.
 */
export function expectSuccess(system: string, request: { method: string; path: string }, answer: HttpAnswer): HttpAnswer {
  if (answer.status >= 200 && answer.status < 300) return answer;
  const excerpt = answer.excerpt === '' ? '' : `: ${answer.excerpt}`;
  throw new PortcullisError('UPSTREAM_FAILED', `system "${system}": ${request.method} ${request.path} answered ${answer.status}${excerpt}`, { system, status: answer.status, excerpt: answer.excerpt });
}
