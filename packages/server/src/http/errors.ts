/**
 * The one place errors become HTTP responses. A PortcullisError maps by code; Fastify's own
 * request errors (bad JSON, too large, schema) become the matching caller errors; anything
 * else is a 500, never a 4xx.
 */
import { PortcullisError, type ErrorCode } from '@portcullis/core';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

const STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400, INVALID_JSON: 400, BODY_TOO_LARGE: 413, UNAUTHENTICATED: 401, FORBIDDEN: 403,
  WORKFLOW_NOT_FOUND: 404, ACTION_NOT_FOUND: 404, INVALID_PARAMS: 422, PROPOSAL_NOT_FOUND: 404,
  IDEMPOTENCY_CONFLICT: 409, ILLEGAL_TRANSITION: 409, APPROVER_NOT_AUTHORISED: 403,
  APPROVAL_DIGEST_MISMATCH: 409, APPROVAL_ALREADY_USED: 409, APPROVAL_EXPIRED: 410, APPROVAL_WRONG_PROPOSAL: 500,
  STORE_UNAVAILABLE: 503, CONFIG_INVALID: 500, UPSTREAM_FAILED: 502, INTERNAL: 500,
  SYSTEM_CHECK_FAILED: 503, RUN_NOT_STARTED: 409, SECRET_UNAVAILABLE: 503,
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

/** Converts anything thrown while serving a request into a PortcullisError. */
export function toPortcullisError(error: unknown): PortcullisError {
  if (error instanceof PortcullisError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const problems = error.validation.map((v) => {
      const where = `${error.validationContext ?? 'request'}${v.instancePath.replace(/\//g, '.')}`;
      const params = v.params as { issue?: { code?: string; keys?: string[] } };
      if (params.issue?.code === 'unrecognized_keys') return `${where}: unknown field(s) ${(params.issue.keys ?? []).map((k) => `"${k}"`).join(', ')}`;
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
      return new PortcullisError('BODY_TOO_LARGE', 'the request body is larger than the gateway accepts (server.bodyLimitBytes); send smaller params');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PortcullisError('INVALID_REQUEST', `unsupported Content-Type; send "application/json"`);
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

/** The response body of an error. */
export function toErrorBody(error: PortcullisError): ErrorBody {
  return { error: { code: error.code, message: error.message, ...(Object.keys(error.details).length > 0 ? { details: error.details } : {}) } };
}
