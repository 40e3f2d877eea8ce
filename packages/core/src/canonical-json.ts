/**
 * Canonical JSON, as RFC 8785 (the JSON Canonicalization Scheme, JCS) defines it: object keys
 * sorted by UTF-16 code unit, no whitespace, strings and numbers written as ECMAScript's
 * JSON.stringify writes them (tested against the RFC's examples); `undefined` members are
 * dropped. Two values that are equal as data serialise to the same bytes, so hashes over
 * them (approval digests, the audit chain) do not depend on key order.
 *
 * It runs for every audit event sealed and every proposal stored, so it is written for
 * speed (plain loops and string appends, keys sorted only when they are not already, quoted
 * keys memoised) without changing a byte of its output.
 */

/** A value that canonical JSON can represent. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Serialises a JSON value canonically.
 * @throws TypeError for values JSON cannot carry (non-finite numbers, functions, bigints, cycles).
 */
export function canonicalJson(value: unknown): string {
  return write(value, { path: [], deep: undefined });
}

/**
 * The objects being written, root first. A cycle nests without end, so it is looked for only
 * from this depth on (by then a cycle has repeated an ancestor): shallow values, nearly all
 * of them, pay nothing for the check, and deep ones pay one Set operation per object.
 */
const CYCLE_CHECK_DEPTH = 64;

interface Walk {
  readonly path: object[];
  /** The objects of `path` as a set, while `path` is at least CYCLE_CHECK_DEPTH deep. */
  deep: Set<object> | undefined;
}

function enter(walk: Walk, value: object): void {
  if (walk.path.length >= CYCLE_CHECK_DEPTH) {
    walk.deep ??= new Set(walk.path);
    if (walk.deep.has(value)) throw new TypeError('canonical JSON cannot carry a cycle');
    walk.deep.add(value);
  }
  walk.path.push(value);
}

function leave(walk: Walk): void {
  const value = walk.path.pop();
  if (walk.deep === undefined || value === undefined) return;
  if (walk.path.length >= CYCLE_CHECK_DEPTH) walk.deep.delete(value);
  else walk.deep = undefined;
}

/** Quoted object keys: the same few dozen names recur in every event and record. */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 4096;

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(key, quoted);
  }
  return quoted;
}

function write(value: unknown, walk: Walk): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot carry the number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      enter(walk, value);
      let out: string;
      if (Array.isArray(value)) {
        out = '[';
        for (let i = 0; i < value.length; i += 1) {
          if (i > 0) out += ',';
          const item: unknown = value[i];
          out += item === undefined ? 'null' : write(item, walk);
        }
        out += ']';
      } else {
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj);
        for (let i = 1; i < keys.length; i += 1) {
          if ((keys[i - 1] as string) > (keys[i] as string)) {
            keys.sort();
            break;
          }
        }
        out = '{';
        for (const key of keys) {
          const member = obj[key];
          if (member === undefined) continue;
          if (out.length > 1) out += ',';
          out += `${quoteKey(key)}:${write(member, walk)}`;
        }
        out += '}';
      }
      leave(walk);
      return out;
    }
    default:
      throw new TypeError(`canonical JSON cannot carry a ${typeof value}`);
  }
}
