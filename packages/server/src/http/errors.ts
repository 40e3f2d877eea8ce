/**
 * The one place errors become HTTP responses. A PortcullisError maps by code; Fastify's own
 * request errors (bad JSON, too large, schema, unsupported Content-Type, a malformed or
 * over-long path) become the matching caller errors, worded without echoing the path or
 * the body; anything else is a 500, never a 4xx.
 */
import { PortcullisError, type ErrorCode } from '@portcullis/core';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { JSON_CONTENT_TYPE } from './json-body.js';
import { MAX_ID_LENGTH } from './schemas.js';

const STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400, INVALID_JSON: 400, BODY_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415, EXPECTATION_FAILED: 417,
  ROUTE_NOT_FOUND: 404, UNAUTHENTICATED: 401, FORBIDDEN: 403,
  WORKFLOW_NOT_FOUND: 404, ACTION_NOT_FOUND: 404, INVALID_PARAMS: 422, PROPOSAL_NOT_FOUND: 404, AGENT_NOT_FOUND: 404, WORKFLOW_IN_DRAFT: 409, ROLLOUT_GATE_CLOSED: 409, PROMOTION_NOT_READY: 409, PARAMS_TOO_LARGE: 413, RATE_LIMITED: 429, TOO_MANY_PENDING: 429,
  IDEMPOTENCY_CONFLICT: 409, ILLEGAL_TRANSITION: 409, APPROVER_NOT_AUTHORISED: 403,
  APPROVAL_DIGEST_MISMATCH: 409, APPROVAL_ALREADY_USED: 409, APPROVAL_EXPIRED: 410, APPROVAL_WRONG_PROPOSAL: 500,
  STORE_UNAVAILABLE: 503, STORE_IN_USE: 503, CONFIG_INVALID: 503, UPSTREAM_FAILED: 502, OUTCOME_UNKNOWN: 502, INTERNAL: 500,
  SYSTEM_CHECK_FAILED: 503, RUN_NOT_STARTED: 409, SECRET_UNAVAILABLE: 503,
  NOT_REVERSIBLE: 409, RUN_NOT_FOUND: 404, CALL_CANCELLED: 409,
};

/** The error body every failing route returns. */
export const errorBody = z.object({
  error: z.object({
    code: z.string().describe('stable error code'),
    message: z.string().describe('what went wrong and how to fix it'),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
}).describe('Error');

export type ErrorBody = z.infer<typeof errorBody>;

/** HTTP status of a PortcullisError. */
export function httpStatus(error: PortcullisError): number {
  return STATUS[error.code];
}

/**
 * Headers an error response carries besides its body: `Retry-After` (seconds) when the error
 * says when to retry (RATE_LIMITED); `WWW-Authenticate: Bearer` on a 401, naming the scheme a
 * key is sent with (RFC 6750 section 3, which MCP's authorization spec follows), so clients
 * know the challenge instead of guessing.
 */
export function errorHeaders(error: PortcullisError): Record<string, string> {
  const retry = error.details.retryAfterSeconds;
  return {
    ...(typeof retry === 'number' ? { 'retry-after': String(retry) } : {}),
    ...(error.code === 'UNAUTHENTICATED' ? { 'www-authenticate': 'Bearer realm="portcullis"' } : {}),
  };
}

/** What toPortcullisError may use of the request to word its message. */
export interface ErrorContext {
  /** The request's Content-Type header. */
  readonly contentType?: string | undefined;
}

/** Converts anything thrown while serving a request into a PortcullisError. */
export function toPortcullisError(error: unknown, context: ErrorContext = {}): PortcullisError {
  if (error instanceof PortcullisError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const problems = error.validation.map((v) => {
      const path = String(v.instancePath).split('/').filter((segment) => segment !== '');
      const where = [error.validationContext ?? 'request', ...path].join('.');
      const params = v.params as { keys?: string[] };
      if (v.keyword === 'unrecognized_keys') return `${where}: unknown field(s) ${(params.keys ?? []).map((k) => `"${k}"`).join(', ')}`;
      if (where === 'body' && v.keyword === 'invalid_type' && /received (null|undefined)$/.test(v.message ?? '')) {
        return `body: missing; send a JSON object with Content-Type: ${JSON_CONTENT_TYPE}`;
      }
      return `${where}: ${v.message ?? 'is invalid'}`;
    });
    return new PortcullisError('INVALID_REQUEST', problems.join('; '), { problems });
  }
  const fastifyError = error as { code?: string; statusCode?: number; message?: string };
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PortcullisError('INVALID_JSON', `the request body is not valid JSON: ${fastifyError.message ?? ''}`.trim());
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PortcullisError('BODY_TOO_LARGE', 'the request body is larger than the gateway accepts (server.bodyLimitBytes; POST /v1/actions and /mcp take twice limits.paramsBytes and 64 KiB more); send smaller params');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PortcullisError('UNSUPPORTED_MEDIA_TYPE', `a body sent as ${mediaType(context.contentType)} is not accepted; send it as JSON with Content-Type: ${JSON_CONTENT_TYPE}`);
    case 'FST_ERR_BAD_URL':
      return new PortcullisError('INVALID_REQUEST', 'the path has a malformed percent-encoding (a "%" must be followed by two hex digits); encode each path segment, e.g. with encodeURIComponent');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new PortcullisError('INVALID_REQUEST', `a path segment is longer than an id can be (${MAX_ID_LENGTH} characters); check the id in the path`);
    default:
      break;
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new PortcullisError('INVALID_JSON', `the request body is not valid JSON: ${error.message}`);
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new PortcullisError('INVALID_REQUEST', fastifyError.message ?? 'bad request');
  }
  return new PortcullisError('INTERNAL', 'an unexpected error occurred in the gateway; see its log', {}, { cause: error });
}

/** The error of a request whose Expect header asks for something other than "100-continue". */
export function expectationFailed(): PortcullisError {
  return new PortcullisError('EXPECTATION_FAILED', 'the gateway honours only "Expect: 100-continue"; remove the Expect header or send that value');
}

/** The error of a method and path no route serves; the path is not repeated back. */
export function routeNotFound(method: string): PortcullisError {
  return new PortcullisError('ROUTE_NOT_FOUND', `no ${method.slice(0, 10)} route has this path; see /openapi.json for the routes`);
}

/** The media type of a Content-Type header, quoted, when it looks like one; otherwise a description. */
function mediaType(header: string | undefined): string {
  const type = header?.split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[\w.+-]{1,60}\/[\w.+-]{1,60}$/.test(type) ? `"${type}"` : 'this Content-Type';
}

/** The response body of an error. */
export function toErrorBody(error: PortcullisError): ErrorBody {
  return { error: { code: error.code, message: error.message, ...(Object.keys(error.details).length > 0 ? { details: error.details } : {}) } };
}
