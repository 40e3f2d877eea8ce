/** The API's body parser: JSON data only, poisoned keys named, the body never quoted back. */
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from './json-body.js';

const failure = (text: string): { code: string; message: string } => {
  try {
    parseJsonBody(text);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error(`parsed: ${text}`);
};

describe('parseJsonBody', () => {
  it('parses JSON, and takes an empty body for no body', () => {
    expect(parseJsonBody('{"a":[1,{"b":"c"}]}')).toEqual({ a: [1, { b: 'c' }] });
    expect(parseJsonBody('')).toBeUndefined();
    expect(parseJsonBody(' \n')).toBeUndefined();
  });

  it('keeps keys that only look suspect: "constructor" without a prototype, "proto", escaped text', () => {
    expect(parseJsonBody('{"constructor":"Bob the builder","proto":1,"note":"caf\\u00e9"}')).toEqual({ constructor: 'Bob the builder', proto: 1, note: 'café' });
  });

  it('names a "__proto__" key and where it is, however deep and however spelt', () => {
    expect(failure('{"a":[0,{"__proto__":{}}]}')).toMatchObject({ code: 'INVALID_JSON', message: expect.stringMatching(/^body\.a\[1\]\.__proto__: the key "__proto__" is refused/) });
    expect(failure('{"\\u005f\\u005fproto\\u005f\\u005f":1}').message).toMatch(/^body\.__proto__:/);
    expect(failure('[{"x":{"constructor":{"prototype":{}}}}]').message).toMatch(/^body\[0\]\.x\.constructor: a "constructor" key holding "prototype" is refused/);
  });

  it('names where a syntax error is without quoting the body', () => {
    const error = failure('{"apiKey": sk_live_abcdef}');
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toMatch(/^the request body is not valid JSON \(.+\); send a JSON object$/);
    expect(error.message).not.toContain('sk_live');
  });
});
