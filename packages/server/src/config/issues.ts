/**
 * Config issues: a path into portcullis.yaml and a message that names the problem and the
 * fix. Zod's issues are turned into these here, one issue per offending key, with "did you
 * mean" suggestions for unknown keys. Positions are added later, by the loader.
 */
import { z } from 'zod';
import { didYouMean } from './suggest.js';

/** One step of a path into the config: a map key or a list index. */
export type PathSegment = string | number;

/** A problem with the config, not yet located in a file. */
export interface ConfigIssue {
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** Whether the problem is the key itself (unknown, misspelt) rather than its value. */
  readonly at?: 'key' | 'value';
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Formats a path the way the docs write it: `workflows.route-leads.grants[2]`, `bounds.scope["crm:leads"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Keys people write by mistake for secrets, with what to write instead. */
const SECRET_KEY_HINTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  agents: Object.fromEntries(['key', 'apiKey', 'secret'].map((key) => [key, `an agent's key is never written in the config: use keyHash: "sha256:<64 hex>" (\`portcullis keys new\` prints a key and its hash; or hash a key with \`printf %s "$KEY" | sha256sum\`) or keyEnv: NAME to read it from an environment variable`])),
  people: Object.fromEntries(['token', 'apiToken', 'password'].map((key) => [key, `a person's token is never written in the config: use tokenHash: "sha256:<64 hex>" (\`portcullis keys new\` prints a token and its hash) or tokenEnv: NAME to read it from an environment variable`])),
};

function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null (an empty value)';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `the string ${JSON.stringify(input)}`;
  return `${typeof input} ${String(input)}`;
}

const EXPECTED: Readonly<Record<string, string>> = { object: 'a mapping', array: 'a list', int: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false' };

/**
 * Default messages for Zod issues the schema does not word itself; passed to `safeParse`.
 * Schema-level messages take precedence over these.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required key is missing';
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeInput(issue.input)}`;
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v));
      const hint = typeof issue.input === 'string' ? didYouMean(issue.input, issue.values.map(String)) : '';
      return `expected ${options.length === 1 ? options[0] : `one of ${options.join(', ')}`}, got ${describeInput(issue.input)}${hint}`;
    }
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `list at least ${String(issue.minimum)} item(s)`;
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array' ? `list at most ${String(issue.maximum)} item(s)` : `must be at most ${String(issue.maximum)}`;
    case 'invalid_format':
      return `${describeInput(issue.input)} is not a valid ${issue.format}`;
    default:
      return undefined;
  }
};

/** The schema reached by following `path` from `schema`, through wrappers, records, lists and unions. */
function schemasAt(schema: z.ZodType, path: readonly PathSegment[]): z.ZodType[] {
  let current: z.ZodType[] = [schema];
  for (let i = 0; i <= path.length; i += 1) {
    const unwrapped: z.ZodType[] = [];
    const queue = [...current];
    while (queue.length > 0) {
      const s = queue.shift() as z.ZodType;
      if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable) queue.push(s.unwrap() as z.ZodType);
      else if (s instanceof z.ZodPipe) queue.push(s.in as z.ZodType);
      else if (s instanceof z.ZodUnion) queue.push(...(s.options as z.ZodType[]));
      else unwrapped.push(s);
    }
    if (i === path.length) return unwrapped;
    const segment = path[i] as PathSegment;
    current = [];
    for (const s of unwrapped) {
      if (s instanceof z.ZodObject && typeof segment === 'string' && segment in s.shape) current.push(s.shape[segment] as z.ZodType);
      else if (s instanceof z.ZodRecord) current.push(s.valueType as z.ZodType);
      else if (s instanceof z.ZodArray) current.push(s.element as z.ZodType);
    }
  }
  return current;
}

function knownKeys(root: z.ZodType, path: readonly PathSegment[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(root, path)) if (s instanceof z.ZodObject) for (const key of Object.keys(s.shape)) keys.add(key);
  return [...keys];
}

function unknownKeyMessage(root: z.ZodType, path: readonly PathSegment[], key: string): string {
  const hint = typeof path[0] === 'string' && path.length === 2 ? SECRET_KEY_HINTS[path[0]]?.[key] : undefined;
  if (hint !== undefined) return `unknown key "${key}": ${hint}`;
  const known = knownKeys(root, path);
  const suggestion = didYouMean(key, known);
  if (suggestion !== '') return `unknown key "${key}"${suggestion}`;
  return known.length > 0 ? `unknown key "${key}"; expected one of: ${known.join(', ')}` : `unknown key "${key}"`;
}

/**
 * Turns Zod issues into config issues: one per unknown key (with a suggestion), invalid map
 * keys pointed at the key, and for a value that matches no alternative of a union, the
 * problems of the alternative it was closest to.
 */
export function fromZodIssues(root: z.ZodType, issues: readonly z.core.$ZodIssue[], prefix: readonly PathSegment[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: unknownKeyMessage(root, path, key), at: 'key' });
    } else if (issue.code === 'invalid_key') {
      const key = path[path.length - 1];
      out.push({ path, message: `${JSON.stringify(String(key))} is not a valid name: ${issue.issues.map((i) => i.message).join('; ')}`, at: 'key' });
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const near = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (near.length === 1) out.push(...fromZodIssues(root, near[0] as z.core.$ZodIssue[], path));
      else out.push({ path, message: unionMessage(root, path) });
    } else if (path.length === 0 && issue.code === 'invalid_type') {
      const empty = issue.input === undefined || issue.input === null;
      out.push({ path, message: empty ? 'the file is empty; start it with `version: 1`' : 'the file must be a mapping of keys; start it with `version: 1`' });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function unionMessage(root: z.ZodType, path: readonly PathSegment[]): string {
  if (path.includes('grants')) return 'expected a grant: a string like "crm:leads:read", or { grant: "crm:leads:delete", explicit: true }';
  const kinds = schemasAt(root, path).map((s) => (s instanceof z.ZodObject ? 'a mapping' : s.type));
  return `expected ${[...new Set(kinds)].join(' or ')}`;
}

/**
 * A value the schema accepts at `path`, to stand in for a missing or invalid one while the
 * rest of the file is checked (the problem itself is already reported); undefined when none
 * of the candidates fits.
 */
export function placeholderAt(root: z.ZodType, path: readonly PathSegment[], choicesOnly = false): unknown {
  for (const schema of schemasAt(root, path)) {
    const options: unknown[] = schema instanceof z.ZodEnum ? [...schema.options] : schema instanceof z.ZodLiteral ? [...schema.values] : [];
    for (const candidate of choicesOnly ? options : [...options, 'placeholder', 1, false, [], {}]) {
      if (schema.safeParse(candidate).success) return candidate;
    }
  }
  return undefined;
}
