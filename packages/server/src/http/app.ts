/**
 * The HTTP API (Fastify). Authentication runs before the body is parsed, so bad input from
 * a known agent can be audited; every error goes through errors.ts, including those Fastify
 * and Node's HTTP server answer themselves (a malformed or over-long path, an unknown route,
 * an unsupported Expect header), so every error answer has the one documented shape; bodies
 * are JSON only (json-body.ts); schemas come from schemas.ts and also produce the OpenAPI
 * document at /openapi.json.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { GatewayService } from '../service/contracts.js';
import { authenticate, type Principal } from './auth.js';
import { errorHeaders, expectationFailed, httpStatus, routeNotFound, toErrorBody, toPortcullisError } from './errors.js';
import { JSON_CONTENT_TYPE, parseJsonBody } from './json-body.js';
import { registerActionRoutes } from './routes-actions.js';
import { registerApprovalRoutes } from './routes-approvals.js';
import { registerAuditRoutes } from './routes-audit.js';
import { registerOpsRoutes } from './routes-ops.js';
import { registerRunRoutes } from './routes-runs.js';
import { registerSwitchRoutes } from './routes-switches.js';
import { registerMetricsRoutes } from './routes-metrics.js';
import { registerRolloutRoutes } from './routes-rollout.js';
import { registerRollbackRoutes } from './routes-rollback.js';
import { MAX_ID_LENGTH } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface AppOptions {
  readonly service: GatewayService;
  readonly logger?: FastifyServerOptions['logger'];
  readonly version?: string;
  /** Registers more routes before the app is ready (the MCP endpoint, mcp/http-route.ts). */
  readonly extraRoutes?: (app: FastifyInstance) => void;
}

export type App = FastifyInstance;

/** Builds the API; call `listen` or `inject` on the result. */
export async function buildApp(options: AppOptions): Promise<App> {
  const { service } = options;
  const { config } = service;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.server.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_ID_LENGTH },
    // Errors the router meets before any route or hook runs (a malformed or over-long path).
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const failure = toPortcullisError(error);
      void reply.status(httpStatus(failure)).send(toErrorBody(failure));
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON is the only body the API reads: any other Content-Type (text/plain included) is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_CONTENT_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Node answers an Expect header other than 100-continue itself, with an empty 417, unless
  // someone listens; answer it in the product's shape instead (the request is not served).
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const failure = expectationFailed();
    response.writeHead(httpStatus(failure), { 'content-type': 'application/json; charset=utf-8', connection: 'close' })
      .end(JSON.stringify(toErrorBody(failure)));
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Portcullis API', version: options.version ?? '0.1.0',
        description: 'Agents propose actions; Portcullis checks them against least-privilege grants, routes risky ones to department leads, executes approved ones with credentials the agent never sees, and records every step in a tamper-evident audit trail.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an agent API key or a personal token' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (document) => ('openapiObject' in document ? optionalNullableBodies(document.openapiObject) : document.swaggerObject),
  });

  app.addHook('onRequest', async (request) => {
    const principal = authenticate(service, request.headers.authorization);
    if (principal !== undefined) request.principal = principal;
  });

  app.setErrorHandler(async (error, request, reply) => {
    const failure = toPortcullisError(error, { contentType: request.headers['content-type'] });
    if (failure.code === 'INTERNAL') request.log.error({ err: error }, 'unexpected error');
    const principal = request.principal;
    const body = toErrorBody(failure);
    // A refused request of a known caller is audited once, by the service (it skips what it audited itself).
    if (principal !== undefined) await service.auditRefusal(principal, failure, { route: `${request.method} ${request.routeOptions.url ?? 'unknown route'}` });
    return reply.status(httpStatus(failure)).headers(errorHeaders(failure)).send(body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const failure = routeNotFound(request.method);
    return reply.status(httpStatus(failure)).send(toErrorBody(failure));
  });

  const typed = app.withTypeProvider<ZodTypeProvider>();
  registerOpsRoutes(typed, { service });
  registerActionRoutes(typed, { service });
  registerApprovalRoutes(typed, { service });
  registerAuditRoutes(typed, { service });
  registerRunRoutes(typed, { service });
  registerSwitchRoutes(typed, { service });
  registerMetricsRoutes(typed, { service });
  registerRolloutRoutes(typed, { service });
  registerRollbackRoutes(typed, { service });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  options.extraRoutes?.(app);
  await app.ready();
  return app;
}

interface JsonBody { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> }

/**
 * @fastify/swagger marks every request body required; a body whose schema accepts null
 * (the approval's, which may be left out) is optional, and the document says so.
 */
function optionalNullableBodies<T extends { paths?: object }>(document: T): T {
  for (const item of Object.values(document.paths ?? {}) as Array<Record<string, { requestBody?: JsonBody } | undefined> | undefined>) {
    for (const operation of Object.values(item ?? {})) {
      const body = operation?.requestBody;
      if (body?.content?.[JSON_CONTENT_TYPE]?.schema?.nullable === true) body.required = false;
    }
  }
  return document;
}
