/**
 * Recovery after schema errors, so one run of `portcullis validate` reports the cross-key
 * problems of the rest of the file too. The invalid parts are removed (the offending key
 * first; if that is not enough, the whole entry such as `agents.x`), the remainder is
 * validated again, and cross-key problems at or around what was removed are not reported:
 * they would be echoes of errors already shown.
 */
import type { ConfigIssue, PathSegment } from './issues.js';
import { CONFIG_VERSION, type PortcullisConfig } from './schema.js';

const SECTIONS: readonly string[] = ['systems', 'actions', 'departments', 'people', 'agents', 'workflows'];

type Validate = (input: unknown) => { ok: true; config: PortcullisConfig } | { ok: false; issues: ConfigIssue[] };

/** A value the schema accepts at a path (issues.ts `placeholderAt`, bound to the schema). */
type Placeholder = (path: readonly PathSegment[]) => unknown;

/** The valid part of an invalid config, or undefined when nothing sensible remains. */
export interface Recovered {
  readonly config: PortcullisConfig;
  /** Entries (`agents.x`) and sections removed whole: references to them are not errors. */
  readonly dropped: ReadonlySet<string>;
  /** Whether `path` is at, inside or above something removed. */
  touches(path: readonly PathSegment[]): boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deletes the key at the end of `path` from its parent mapping; false when it cannot. */
function deleteKey(root: Record<string, unknown>, path: readonly PathSegment[]): boolean {
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) {
    node = Array.isArray(node) && typeof segment === 'number' ? node[segment] : isRecord(node) && typeof segment === 'string' ? node[segment] : undefined;
  }
  const last = path[path.length - 1];
  if (!isRecord(node) || typeof last !== 'string' || !(last in node)) return false;
  delete node[last];
  return true;
}

/** Puts a placeholder where a required key is missing or its value was removed; true when it did. */
function fillKey(root: Record<string, unknown>, path: readonly PathSegment[], placeholder: Placeholder): boolean {
  if (path.length < 3) return false;
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) {
    node = Array.isArray(node) && typeof segment === 'number' ? node[segment] : isRecord(node) && typeof segment === 'string' ? node[segment] : undefined;
  }
  const last = path[path.length - 1];
  if (!isRecord(node) || typeof last !== 'string') return false;
  const value = placeholder(path);
  if (value === undefined) return false;
  node[last] = structuredClone(value);
  return true;
}

/** Removes the entry holding `path` (`workflows.x`), or the section when that is what is wrong. */
function dropEntry(root: Record<string, unknown>, path: readonly PathSegment[], dropped: Set<string>): readonly PathSegment[] {
  const [section, id] = path;
  if (section === 'version') { root.version = CONFIG_VERSION; return ['version']; }
  const entries = typeof section === 'string' ? root[section] : undefined;
  if (typeof section === 'string' && SECTIONS.includes(section) && typeof id === 'string' && isRecord(entries)) {
    delete entries[id];
    dropped.add(`${section}.${id}`);
    return [section, id];
  }
  if (typeof section === 'string') { delete root[section]; dropped.add(section); }
  return path.slice(0, 1);
}

/**
 * Removes what the schema rejected (putting placeholders for required keys outside systems)
 * and validates the rest. Returns undefined when the file is not a mapping or the remainder
 * still does not validate.
 */
export function recoverValidPart(input: unknown, issues: readonly ConfigIssue[], validate: Validate, placeholder: Placeholder = () => undefined): Recovered | undefined {
  if (!isRecord(input) || issues.some((i) => i.path.length === 0)) return undefined;
  const copy = structuredClone(input);
  const removed: (readonly PathSegment[])[] = [];
  const dropped = new Set<string>();
  for (const issue of issues) if (deleteKey(copy, issue.path)) removed.push(issue.path);
  let result = validate(copy);
  if (!result.ok) {
    // A required key that is missing (or was just removed) gets a placeholder; its entry stays checked.
    for (const issue of result.issues) if (fillKey(copy, issue.path, placeholder)) removed.push(issue.path);
    result = validate(copy);
  }
  if (!result.ok) {
    for (const issue of result.issues) removed.push(dropEntry(copy, issue.path, dropped));
    result = validate(copy);
  }
  if (!result.ok) return undefined;
  const isPrefix = (a: readonly PathSegment[], b: readonly PathSegment[]): boolean => a.length <= b.length && a.every((s, i) => s === b[i]);
  const touches = (path: readonly PathSegment[]): boolean => removed.some((r) => isPrefix(r, path) || isPrefix(path, r));
  return { config: result.config, dropped, touches };
}
