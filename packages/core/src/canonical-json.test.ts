import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type JsonValue } from './canonical-json.js';

/** Rebuilds a value with every object's keys in a shuffled order (driven by `seed`). */
function reorder(value: JsonValue, seed: number): JsonValue {
  if (Array.isArray(value)) return value.map((item, i) => reorder(item, seed + i));
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    const order = keys.map((key, i) => ({ key, rank: (Math.imul(seed + i + 1, 2654435761) >>> 0) % 1009 })).sort((a, b) => a.rank - b.rank);
    const out: { [key: string]: JsonValue } = {};
    for (const { key } of order) Object.defineProperty(out, key, { value: reorder(value[key] as JsonValue, seed * 31 + 7), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

// JSON.parse(JSON.stringify(...)) drops -0, which JSON cannot carry distinctly.
const jsonArb = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: true, y: null }], c: undefined } })).toBe('{"a":{"d":[1,{"y":null,"z":true}]},"b":1}');
  });
  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson({ n: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(/cycle/);
  });
  it('writes undefined array items as null, like JSON.stringify', () => {
    expect(canonicalJson([1, undefined, 2])).toBe('[1,null,2]');
  });
  it('allows the same object twice when it is not a cycle', () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"a":1},"y":{"a":1}}');
  });
  it('finds cycles and allows shared objects at any depth (cycles are looked for from depth 64)', () => {
    const nest = (depth: number, leaf: unknown): unknown => (depth === 0 ? leaf : { a: nest(depth - 1, leaf) });
    const shared = { x: [1] };
    const deep = { left: nest(100, shared), right: nest(100, shared), after: nest(70, 1) };
    expect(JSON.parse(canonicalJson(deep))).toStrictEqual(deep);
    const loop: Record<string, unknown> = { n: 0 };
    loop.next = nest(80, loop);
    expect(() => canonicalJson({ root: nest(10, loop) })).toThrow(/cycle/);
  });
  it('sorts keys by code unit, not locale', () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, é: 4, '10': 5, '9': 6 })).toBe('{"10":5,"9":6,"B":2,"a":3,"b":1,"é":4}');
  });

  it('property: writes the same bytes as the plain definition (sorted keys, JSON.stringify for scalars)', () => {
    const reference = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : reference(item))).join(',')}]`;
      if (value !== null && typeof value === 'object') {
        const obj = value as Record<string, unknown>;
        return `{${Object.keys(obj).filter((k) => obj[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(',')}}`;
      }
      return JSON.stringify(value);
    };
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue), fc.nat(), (value, seed) => {
      expect(canonicalJson(reorder(value, seed))).toBe(reference(value));
    }));
  });
  it('property: invariant under key reordering', () => {
    fc.assert(fc.property(jsonArb, fc.nat(), (value, seed) => {
      expect(canonicalJson(reorder(value, seed))).toBe(canonicalJson(value));
    }));
  });

  it('property: round-trips via JSON.parse to an equal value, and is a fixed point', () => {
    fc.assert(fc.property(jsonArb, (value) => {
      const text = canonicalJson(value);
      const parsed = JSON.parse(text) as JsonValue;
      expect(parsed).toStrictEqual(value);
      expect(canonicalJson(parsed)).toBe(text);
    }));
  });

  it('property: has no whitespace outside strings', () => {
    fc.assert(fc.property(jsonArb, (value) => {
      const text = canonicalJson(value);
      expect(text.replace(/"(?:[^"\\]|\\.)*"/g, '')).not.toMatch(/\s/);
    }));
  });
});

// RFC 8785 (JSON Canonicalization Scheme): the canonical form of an audit event is JCS, so an
// auditor's own JCS implementation recomputes the same bytes. These are the RFC's examples.
describe('canonicalJson is RFC 8785 (JCS)', () => {
  it('serialises the example of RFC 8785 section 3.2.2', () => {
    const input = JSON.parse('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}') as JsonValue;
    expect(canonicalJson(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts keys by UTF-16 code units, as in RFC 8785 section 3.2.3', () => {
    const input = JSON.parse('{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}') as { [key: string]: JsonValue };
    // Read the order from the text: a parsed object would list the integer-like key "1" first.
    const order = [...canonicalJson(input).matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
    expect(order).toEqual(['Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face', 'Hebrew Letter Dalet With Dagesh']);
  });

  it('writes numbers as ECMAScript does (RFC 8785 appendix B)', () => {
    const cases: Array<[number, string]> = [
      [0, '0'], [-0, '0'], [5e-324, '5e-324'], [-5e-324, '-5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'],
      [9007199254740992, '9007199254740992'], [295147905179352830000, '295147905179352830000'],
      [9.999999999999997e22, '9.999999999999997e+22'], [1e23, '1e+23'], [0.000001, '0.000001'], [1e-7, '1e-7'],
    ];
    for (const [value, text] of cases) expect(canonicalJson(value), text).toBe(text);
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
  });
});
