/**
 * Settings that every external system kind (http, mcp, smtp) spells the same way: durations
 * with a default, and the name of an HTTP header the gateway sends. One definition, so the
 * error a user reads is the same whichever system they are configuring.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.js';

/** A duration setting ("10s", "5m") with a default and a description for the JSON Schema. */
export function durationSetting(fallback: string, description: string) {
  return z.string()
    .regex(DURATION_PATTERN, { abort: true, error: (issue) => { const r = parseDuration(issue.input); return r.ok ? undefined : r.error; } })
    .default(fallback)
    .describe(description);
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The name of an HTTP header (RFC 9110 token characters). */
export const headerName = z.string().regex(HEADER_NAME, { error: 'expected an HTTP header name, e.g. X-Api-Key' });
