/**
 * Reads the OpenAPI 3 document of an HTTP system into the operations the gateway offers, at
 * config load and without the network. Invariants: the result holds plain JSON data with
 * every local `$ref` resolved (a recursive schema is cut to "any value" where it recurs);
 * an operation's name and resource are valid parts of a grant; an operation the gateway
 * cannot call faithfully (a non-JSON request body) is skipped and said so, never half-offered.
 * Synchronous on purpose: config compiling is synchronous and runs once at start-up.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The HTTP methods that become actions. HEAD, OPTIONS and TRACE do not. */
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A JSON Schema (OpenAPI 3.0 or 3.1 dialect), as plain data. */
export type JsonSchemaObject = Record<string, unknown>;

/** A path or query parameter of an operation. */
export interface HttpParameter {
  readonly name: string;
  readonly required: boolean;
  /** Its schema; `{}` when the document gives none. */
  readonly schema: JsonSchemaObject;
}

/** One operation of the document: one action of the system. */
export interface HttpOperation {
  /** The action's name within the system: the operationId, or method and path, as grant-safe characters. */
  readonly name: string;
  readonly method: HttpMethod;
  /** The path template, e.g. `/leads/{id}`, appended to the system's baseUrl. */
  readonly path: string;
  /** The first literal path segment, e.g. `leads`: the resource grants name. */
  readonly resource: string;
  readonly description: string;
  readonly pathParams: readonly HttpParameter[];
  readonly queryParams: readonly HttpParameter[];
  /** The JSON request body, when the operation takes one. */
  readonly body?: { readonly required: boolean; readonly schema: JsonSchemaObject };
}

/** What a document yields: its operations, and the operations skipped with why. */
export interface OpenApiOperations {
  readonly operations: readonly HttpOperation[];
  readonly skipped: readonly string[];
}

const MAX_DEPTH = 64;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Makes a name fit a grant part (`[A-Za-z_][A-Za-z0-9_-]*`). */
function grantSafeName(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+(?=[A-Za-z])/, '');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/** Resolves local `$ref`s (`#/...`) in place of copies; other refs are problems. */
function createResolver(root: unknown, problems: string[]) {
  const cache = new Map<string, unknown>();
  const pointer = (ref: string): unknown => {
    let node: unknown = root;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (!isObject(node) && !Array.isArray(node)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    return node;
  };
  const resolve = (node: unknown, stack: readonly string[], depth: number): unknown => {
    if (depth > MAX_DEPTH) return {};
    if (Array.isArray(node)) return node.map((item) => resolve(item, stack, depth + 1));
    if (!isObject(node)) return node;
    const ref = node.$ref;
    if (typeof ref === 'string') {
      const { $ref: _ref, ...siblings } = node;
      if (!ref.startsWith('#/')) {
        problems.push(`$ref "${ref}" points outside the document; only local refs (#/components/...) are read: bundle the document into one file first (e.g. \`npx @redocly/cli bundle\`)`);
        return {};
      }
      // A schema that refers to itself: cut the recursion to "any value" at the repeat.
      if (stack.includes(ref)) return siblings;
      let target = cache.get(ref);
      if (target === undefined) {
        const found = pointer(ref);
        if (found === undefined) { problems.push(`$ref "${ref}" names nothing in the document`); return {}; }
        target = resolve(found, [...stack, ref], depth + 1);
        cache.set(ref, target);
      }
      return Object.keys(siblings).length === 0 ? target : { ...(isObject(target) ? target : {}), ...(resolve(siblings, stack, depth + 1) as object) };
    }
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = resolve(value, stack, depth + 1);
    return out;
  };
  return (node: unknown): unknown => resolve(node, [], 0);
}

const isJsonMedia = (media: string): boolean => /^application\/(?:[\w.+-]+\+)?json(?:;|$)/i.test(media.trim());

function parameters(list: unknown, problems: string[], where: string): Map<string, { in: string; param: HttpParameter }> {
  const out = new Map<string, { in: string; param: HttpParameter }>();
  if (list === undefined) return out;
  if (!Array.isArray(list)) { problems.push(`${where}: parameters must be a list`); return out; }
  for (const item of list) {
    // An empty item is a $ref that could not be resolved, already reported.
    if (isObject(item) && Object.keys(item).length === 0) continue;
    if (!isObject(item) || typeof item.name !== 'string' || typeof item.in !== 'string') { problems.push(`${where}: a parameter needs a name and an "in"`); continue; }
    const schema = isObject(item.schema) ? item.schema : {};
    out.set(`${item.in}:${item.name}`, { in: item.in, param: { name: item.name, required: item.in === 'path' || item.required === true, schema } });
  }
  return out;
}

function derivedName(method: HttpMethod, path: string): string {
  const parts = path.split('/').filter((s) => s !== '').map((s) => s.replace(/[{}]/g, ''));
  return grantSafeName([method.toLowerCase(), ...parts].join('_'));
}

function resourceOf(path: string): string {
  const literal = path.split('/').find((s) => s !== '' && !s.includes('{'));
  return literal === undefined ? 'root' : grantSafeName(literal);
}

function readOperation(method: HttpMethod, path: string, op: Record<string, unknown>, shared: unknown, resolve: (node: unknown) => unknown, problems: string[], skipped: string[]): HttpOperation | undefined {
  const where = `${method} ${path}`;
  const params = new Map([...parameters(resolve(shared), problems, where), ...parameters(resolve(op.parameters), problems, where)]);
  const pathParams = [...params.values()].filter((p) => p.in === 'path').map((p) => p.param);
  // A template variable the document forgot to declare is still a required path parameter.
  for (const match of path.matchAll(/\{([^}]+)\}/g)) {
    const name = match[1] as string;
    if (!pathParams.some((p) => p.name === name)) pathParams.push({ name, required: true, schema: {} });
  }
  const templated = new Set([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]));
  for (const p of pathParams) if (!templated.has(p.name)) problems.push(`${where}: path parameter "${p.name}" is not in the path template`);
  const queryParams = [...params.values()].filter((p) => p.in === 'query').map((p) => p.param);

  let body: HttpOperation['body'];
  if (op.requestBody !== undefined) {
    const resolved = resolve(op.requestBody);
    const requestBody = isObject(resolved) ? resolved : {};
    const content = isObject(requestBody.content) ? requestBody.content : {};
    const media = Object.keys(content).find(isJsonMedia);
    if (media === undefined) {
      skipped.push(`${where}: its request body is not JSON (${Object.keys(content).join(', ') || 'no content'})`);
      return undefined;
    }
    const entry = content[media];
    body = { required: requestBody.required === true, schema: isObject(entry) && isObject(entry.schema) ? entry.schema : {} };
  }
  const operationId = typeof op.operationId === 'string' && op.operationId.trim() !== '' ? op.operationId : undefined;
  const text = [op.summary, op.description].find((t): t is string => typeof t === 'string' && t.trim() !== '');
  return {
    name: operationId === undefined ? derivedName(method, path) : grantSafeName(operationId),
    method, path, resource: resourceOf(path),
    description: `${where}${text === undefined ? '' : `: ${text.trim()}`}`,
    pathParams, queryParams, ...(body === undefined ? {} : { body }),
  };
}

/**
 * Reads the operations of an OpenAPI 3 document (YAML or JSON) from a file.
 * Never throws: an unreadable file, another format, a broken `$ref` or two operations with
 * the same name are returned as problems, each naming the fix.
 */
export function readOpenApiFile(file: string): { ok: true; value: OpenApiOperations } | { ok: false; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, problems: [code === 'ENOENT' ? `OpenAPI document ${file} does not exist; write the path relative to the config file's folder` : `cannot read OpenAPI document ${file}: ${(error as Error).message}`] };
  }
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [`OpenAPI document ${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0] ?? ''}`] };
  }
  return readOpenApiDocument(doc, file);
}

/** Reads the operations of a parsed OpenAPI 3 document; `file` names it in problems. */
export function readOpenApiDocument(doc: unknown, file: string): { ok: true; value: OpenApiOperations } | { ok: false; problems: string[] } {
  if (!isObject(doc)) return { ok: false, problems: [`${file} is not an OpenAPI document (expected a mapping with "openapi" and "paths")`] };
  if (typeof doc.openapi !== 'string' || !/^3\.\d+/.test(doc.openapi)) {
    const found = typeof doc.swagger === 'string' ? `Swagger ${doc.swagger}` : `openapi: ${JSON.stringify(doc.openapi ?? null)}`;
    return { ok: false, problems: [`${file} is ${found}; only OpenAPI 3.x documents are read (convert a Swagger 2.0 document, e.g. with \`npx swagger2openapi\`)`] };
  }
  if (!isObject(doc.paths) || Object.keys(doc.paths).length === 0) return { ok: false, problems: [`${file} has no paths, so the system would offer no actions`] };
  const problems: string[] = [];
  const skipped: string[] = [];
  const resolve = createResolver(doc, problems);
  const operations: HttpOperation[] = [];
  for (const [path, rawItem] of Object.entries(doc.paths)) {
    if (!path.startsWith('/')) { problems.push(`path "${path}" must start with "/"`); continue; }
    // Only what becomes params is resolved: a broken $ref among the responses is not our concern.
    const item = isObject(rawItem) && typeof rawItem.$ref === 'string' ? resolve({ $ref: rawItem.$ref }) : rawItem;
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method.toLowerCase()];
      if (!isObject(op)) continue;
      const read = readOperation(method, path, op, item.parameters, resolve, problems, skipped);
      if (read !== undefined) operations.push(read);
    }
  }
  const byName = new Map<string, HttpOperation>();
  for (const op of operations) {
    const first = byName.get(op.name);
    if (first !== undefined) problems.push(`${op.method} ${op.path} and ${first.method} ${first.path} both become action "${op.name}"; give them distinct operationIds`);
    else byName.set(op.name, op);
  }
  if (problems.length > 0) return { ok: false, problems: [...new Set(problems)].map((p) => `${file}: ${p}`) };
  if (operations.length === 0) return { ok: false, problems: [`${file} has no GET, POST, PUT, PATCH or DELETE operation the gateway can call${skipped.length > 0 ? ` (skipped: ${skipped.join('; ')})` : ''}`] };
  return { ok: true, value: { operations, skipped } };
}
