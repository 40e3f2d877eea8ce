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

/** Names of systems, tables and columns: the parts of a grant, so they must parse as one (also vault secret names). */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** An environment variable name. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a host name is the loopback interface. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase());
}

/** A system, table or column name, as a config value. */
export const nameSetting = z.string().regex(NAME_PATTERN, { error: 'use letters, digits, _ and -, starting with a letter or _ (names of systems, tables and columns are parts of grants)' });

/** An environment variable name, as a config value. */
export const envName = z.string().regex(ENV_NAME_PATTERN, { error: 'expected an environment variable name: letters, digits and _, not starting with a digit' });

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The name of an HTTP header (RFC 9110 token characters). */
export const headerName = z.string().regex(HEADER_NAME, { error: 'expected an HTTP header name, e.g. X-Api-Key' });
