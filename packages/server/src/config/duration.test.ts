import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DURATION_PATTERN, parseDuration } from './duration.js';
import { closest } from './suggest.js';

describe('parseDuration', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect(parseDuration('30s')).toEqual({ ok: true, value: 30_000 });
    expect(parseDuration('15m')).toEqual({ ok: true, value: 900_000 });
    expect(parseDuration('24h')).toEqual({ ok: true, value: 86_400_000 });
    expect(parseDuration('7d')).toEqual({ ok: true, value: 604_800_000 });
  });

  it('says how to write a duration when it is not one', () => {
    for (const text of ['24', '1 day', '1.5h', '-1h', '24H', '1h30m', '']) {
      const result = parseDuration(text);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toBe(`"${text}" is not a duration; write a whole number followed by a unit: s (seconds), m (minutes), h (hours) or d (days), e.g. "30s", "15m", "24h", "7d"`);
    }
    expect(parseDuration(24)).toEqual({ ok: false, error: expect.stringContaining('expected a duration string, got number') });
  });

  it('rejects zero and absurdly long durations', () => {
    expect(parseDuration('0m')).toEqual({ ok: false, error: '"0m" is zero; a duration must be at least 1m' });
    expect(parseDuration('3651d')).toEqual({ ok: false, error: '"3651d" is longer than 3650d, the longest duration accepted' });
    expect(parseDuration('3650d').ok).toBe(true);
  });

  it('accepts exactly what the JSON Schema pattern accepts, bar zero and over-long', () => {
    fc.assert(fc.property(fc.string({ maxLength: 6 }), (text) => {
      const result = parseDuration(text);
      if (result.ok) expect(DURATION_PATTERN.test(text)).toBe(true);
      else if (DURATION_PATTERN.test(text)) expect(result.error).toMatch(/is zero|is longer than/);
    }));
  });
});

describe('closest', () => {
  it('suggests a close name, and nothing for a distant one', () => {
    expect(closest('prot', ['host', 'port', 'bodyLimitBytes'])).toBe('port');
    expect(closest('runbok', ['runbook', 'mode'])).toBe('runbook');
    expect(closest('Owner', ['owner'])).toBe('owner');
    expect(closest('frobnicate', ['owner', 'agent'])).toBeUndefined();
  });
});
