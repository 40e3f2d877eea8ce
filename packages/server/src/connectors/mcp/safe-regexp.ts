/**
 * The regular-expression engine upstream tool schemas are compiled with (ajv's `code.regExp`):
 * RE2 (the `re2js` port), whose matching time is linear in the input, so no `pattern` or
 * `patternProperties` key an upstream sends (e.g. `(a+)+$`) can stall the gateway on a long
 * argument. Invariant: a pattern RE2 cannot run (backreferences, lookahead) is refused when the
 * schema is compiled, never handed to a backtracking engine.
 */
import type { RegExpEngine, RegExpLike } from 'ajv/dist/types/index.js';
import { RE2JS } from 're2js';

/** Thrown when a schema's pattern cannot be run in linear time; its message names the pattern and why. */
export class UnsafePatternError extends Error {
  override readonly name = 'UnsafePatternError';
}

/**
 * Compiles a JSON Schema `pattern` (ECMAScript syntax) for RE2. `test` finds the pattern anywhere
 * in the string, as JSON Schema's `pattern` does.
 * @throws UnsafePatternError naming the pattern when RE2 cannot run it (backreferences, lookahead, or bad syntax).
 */
function compileLinear(pattern: string): RegExpLike {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (error) {
    throw new UnsafePatternError(`pattern ${JSON.stringify(pattern.slice(0, 200))} cannot be run by the gateway's linear-time regular-expression engine (RE2: no backreferences or lookahead): ${(error as Error).message}`);
  }
  // ajv keys its compiled patterns by toString(): one per pattern.
  return { test: (s: string) => compiled.test(s), toString: () => `re2:${pattern}` } as RegExpLike;
}

/** The engine for ajv's `code: { regExp }` option. */
export const linearRegExp: RegExpEngine = Object.assign((pattern: string) => compileLinear(pattern), { code: 'linearRegExp' });
