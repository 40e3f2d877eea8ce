/**
 * Durations in portcullis.yaml: a whole number and one unit, `30s`, `15m`, `24h`, `7d`.
 * One spelling, so a duration means the same thing to every reader of the file.
 */

/** The units a duration may use, with their length in milliseconds. */
export const DURATION_UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The written form of a duration, as a regular expression (also used in the JSON Schema). */
export const DURATION_PATTERN = /^[0-9]+[smhd]$/;

/** The longest duration accepted: ten years is longer than anything a gateway should wait. */
export const MAX_DURATION_MS = 3650 * DURATION_UNITS.d;

const HOW = 'write a whole number followed by a unit: s (seconds), m (minutes), h (hours) or d (days), e.g. "30s", "15m", "24h", "7d"';

/**
 * Parses a duration such as `24h` into milliseconds. Never throws: an invalid, zero or
 * over-long duration is returned as an error value that says how to write it.
 */
export function parseDuration(text: unknown): { ok: true; value: number } | { ok: false; error: string } {
  if (typeof text !== 'string') return { ok: false, error: `expected a duration string, got ${typeof text}; ${HOW}` };
  const match = /^([0-9]+)([smhd])$/.exec(text);
  if (match === null) return { ok: false, error: `"${text}" is not a duration; ${HOW}` };
  const amount = Number(match[1]);
  const unit = match[2] as keyof typeof DURATION_UNITS;
  if (amount === 0) return { ok: false, error: `"${text}" is zero; a duration must be at least 1${unit}` };
  const value = amount * DURATION_UNITS[unit];
  if (value > MAX_DURATION_MS) return { ok: false, error: `"${text}" is longer than 3650d, the longest duration accepted` };
  return { ok: true, value };
}

/** Milliseconds of a duration the config schema has already accepted; throws if it was not valid. */
export function durationMs(text: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(`unreachable: duration "${text}" passed the schema but not parseDuration`);
  return parsed.value;
}
