/**
 * The redactor connectors put in front of everything an upstream says: each known value goes,
 * in every form it travels in; short values are left alone; the oldest values are forgotten
 * past MAX_REDACTED_VALUES, a value still in use is not.
 */
import { describe, expect, it } from 'vitest';
import { createSecretRedactor, MAX_REDACTED_VALUES } from './redact.js';

const SECRET = 'p@ss word/+"x"';

describe('the secret redactor', () => {
  it('removes a value as is, URL-encoded, form-encoded, JSON-escaped, base64 and base64url', () => {
    const redactor = createSecretRedactor([SECRET]);
    const b64 = Buffer.from(SECRET).toString('base64');
    const text = [SECRET, encodeURIComponent(SECRET), encodeURIComponent(SECRET).replace(/%20/g, '+'), JSON.stringify(SECRET), b64, b64.replace(/=+$/, ''), Buffer.from(SECRET).toString('base64url')].join(' | ');
    expect(redactor.redact(text)).toBe('[redacted] | [redacted] | [redacted] | "[redacted]" | [redacted] | [redacted] | [redacted]');
  });

  it('redacts every string of a JSON value, keys included, and leaves other values alone', () => {
    const redactor = createSecretRedactor();
    const value = { a: [SECRET, 1, null, true], [`k-${SECRET}`]: { b: `x${SECRET}x` } };
    expect(redactor.redactJson(value)).toBe(value);
    redactor.add(SECRET);
    expect(redactor.redactJson(value)).toEqual({ a: ['[redacted]', 1, null, true], 'k-[redacted]': { b: 'x[redacted]x' } });
  });

  it('removes a value echoed in another letter case, and regex characters in a value match only themselves', () => {
    const redactor = createSecretRedactor(['Prod-Secret-Token-XYZ', 'a.b*c+d?']);
    expect(redactor.redact('bearer prod-secret-token-xyz; PROD-SECRET-TOKEN-XYZ; Prod-Secret-Token-XYZ')).toBe('bearer [redacted]; [redacted]; [redacted]');
    expect(redactor.redact('a.b*c+d? aXb*c+d? aabbbcdd')).toBe('[redacted] aXb*c+d? aabbbcdd');
  });

  it('ignores values shorter than 4 characters, so ordinary words survive', () => {
    expect(createSecretRedactor(['abc', '']).redact('abc abcd')).toBe('abc abcd');
  });

  it('keeps the newest values, and a value added again counts as new', () => {
    const redactor = createSecretRedactor(['first-secret', 'second-secret']);
    for (let i = 0; i < MAX_REDACTED_VALUES - 2; i += 1) redactor.add(`token-${i}-xxxx`);
    redactor.add('first-secret');
    redactor.add('newest-secret');
    expect(redactor.redact('first-secret second-secret newest-secret token-0-xxxx')).toBe('[redacted] second-secret [redacted] [redacted]');
  });
});
