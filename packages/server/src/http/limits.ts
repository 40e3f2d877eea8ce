/** The HTTP API's size limits that follow from the config's `limits:` (the same on every face). */
import type { CompiledConfig } from '../service/contracts.js';

/**
 * The body limit of the routes that carry a proposal's params (POST /v1/actions, /mcp), in
 * bytes: room for params of `limits.paramsBytes` (twice, for JSON escapes, and 64 KiB for the
 * envelope), so params above that limit get PARAMS_TOO_LARGE from the service, the same answer
 * as over stdio, rather than the body limit's BODY_TOO_LARGE.
 */
export function callBodyLimit(config: Pick<CompiledConfig, 'server' | 'limits'>): number {
  return Math.max(config.server.bodyLimitBytes, 2 * config.limits.paramsBytes + 65_536);
}
