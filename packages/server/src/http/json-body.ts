/**
 * The API's one body parser: JSON, refusing the keys that can poison objects. Invariant: a
 * body that reaches a route is plain JSON data with no "__proto__" key and no "constructor"
 * object holding a "prototype" (what Fastify's own parser refuses, but named here so the
 * caller can fix it); an empty body is no body, so the route's schema decides whether one
 * is needed. Failures are INVALID_JSON errors whose message never quotes the body.
 */
import { PortcullisError } from '@portcullis/core';

/** The Content-Type a request body must be sent with. */
export const JSON_CONTENT_TYPE = 'application/json';

// Cheap test first: only a body that mentions a suspect key, or escapes characters (and so
// might spell one in escapes), is walked key by key.
const SUSPECT = /__proto__|constructor|\\u/;

/**
 * Parses a request body. Returns undefined for an empty body; throws INVALID_JSON naming the
 * position of a syntax error, or the forbidden key and where it is.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PortcullisError('INVALID_JSON', `the request body is not valid JSON (${describeSyntaxError(error)}); send a JSON object`);
  }
  if (SUSPECT.test(text)) refusePoisonedKeys(value);
  return value;
}

/**
 * The parser's message without the piece of the body V8 quotes in some of them
 * (`Unexpected token 'x', "…" is not valid JSON`); the others give a position instead.
 */
function describeSyntaxError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!message.endsWith('is not valid JSON')) return message.slice(0, 200);
  return `${/^Unexpected token '.+?'/.exec(message)?.[0] ?? 'Unexpected input'} in JSON`;
}

/** Throws INVALID_JSON on the first "__proto__" key or "constructor.prototype" key, breadth first. */
function refusePoisonedKeys(root: unknown): void {
  const queue: Array<{ value: unknown; path: string }> = [{ value: root, path: 'body' }];
  for (let next = 0; next < queue.length; next += 1) {
    const { value, path } = queue[next] as { value: unknown; path: string };
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      value.forEach((element, index) => queue.push({ value: element, path: `${path}[${index}]` }));
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      const where = `${path}.${key}`;
      if (key === '__proto__') {
        throw new PortcullisError('INVALID_JSON', `${where}: the key "__proto__" is refused (it can change the prototype of objects); rename or remove it`);
      }
      if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
        throw new PortcullisError('INVALID_JSON', `${where}: a "constructor" key holding "prototype" is refused (it can change the prototype of objects); rename or remove it`);
      }
      queue.push({ value: child, path: where });
    }
  }
}
