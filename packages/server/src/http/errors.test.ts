/** The error table in docs/api.md matches the code: every code, its status and its fault. */
import { readFileSync } from 'node:fs';
import { ERROR_CODES, PortcullisError, type ErrorCode } from '@portcullis/core';
import { describe, expect, it } from 'vitest';
import { httpStatus, toPortcullisError } from './errors.js';

const doc = readFileSync(new URL('../../../../docs/api.md', import.meta.url), 'utf8');

describe('error mapping', () => {
  it('documents every error code with the status and fault the code uses', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const status = httpStatus(new PortcullisError(code, 'x'));
      expect(doc, code).toContain(`| \`${code}\` | ${status} | ${ERROR_CODES[code].fault} |`);
      // A 4xx tells the caller to change the request: only for the caller's faults, and for all of them.
      expect(status >= 400 && status < 500, code).toBe(ERROR_CODES[code].fault === 'caller');
    }
  });

  it('maps an unknown error to a 500, never a 4xx', () => {
    const error = toPortcullisError(new TypeError('boom'));
    expect(error.code).toBe('INTERNAL');
    expect(httpStatus(error)).toBe(500);
  });
});
