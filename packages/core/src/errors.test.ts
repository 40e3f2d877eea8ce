import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PortcullisError, isPortcullisError } from './errors.js';

describe('PortcullisError', () => {
  it('carries its code, details, cause and fault', () => {
    const cause = new Error('disk full');
    const error = new PortcullisError('STORE_UNAVAILABLE', 'the audit store is not writable', { path: 'x' }, { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PortcullisError');
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.details).toEqual({ path: 'x' });
    expect(error.cause).toBe(cause);
    expect(error.fault).toBe('gateway');
    expect(new PortcullisError('INVALID_PARAMS', 'bad').fault).toBe('caller');
    expect(new PortcullisError('UPSTREAM_FAILED', 'bad').fault).toBe('upstream');
  });

  it('every code says whose fault it is and when it happens', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(['caller', 'gateway', 'upstream'], code).toContain(entry.fault);
      expect(entry.when.length, code).toBeGreaterThan(0);
    }
  });

  it('isPortcullisError matches the class, optionally the code', () => {
    const error = new PortcullisError('FORBIDDEN', 'no');
    expect(isPortcullisError(error)).toBe(true);
    expect(isPortcullisError(error, 'FORBIDDEN')).toBe(true);
    expect(isPortcullisError(error, 'INTERNAL')).toBe(false);
    expect(isPortcullisError(new Error('no'))).toBe(false);
    expect(isPortcullisError({ code: 'FORBIDDEN' })).toBe(false);
  });
});
