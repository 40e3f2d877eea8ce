/**
 * The HTTP API (Fastify). Authentication runs before the body is parsed, so bad input from
 * a known agent can be audited; every error goes through errors.ts; schemas come from
 * schemas.ts and also produce the OpenAPI document at /openapi.json.
 */
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { GatewayService } from '../service/contracts.js';
import { authenticate, type Principal } from './auth.js';
import { httpStatus, toErrorBody, toPortcullisError } from './errors.js';
import { registerActionRoutes } from './routes-actions.js';
import { registerApprovalRoutes } from './routes-approvals.js';
import { registerAuditRoutes } from './routes-audit.js';
import { registerOpsRoutes } from './routes-ops.js';
import { registerRunRoutes } from './routes-runs.js';

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
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

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
  });

  app.addHook('onRequest', async (request) => {
    const principal = authenticate(service, request.headers.authorization);
    if (principal !== undefined) request.principal = principal;
  });

  app.setErrorHandler(async (error, request, reply) => {
    const failure = toPortcullisError(error);
    if (failure.code === 'INTERNAL') request.log.error({ err: error }, 'unexpected error');
    const principal = request.principal;
    const body = toErrorBody(failure);
    // A refused request of a known caller is audited once, by the service (it skips what it audited itself).
    if (principal !== undefined) await service.auditRefusal(principal, failure, { route: `${request.method} ${request.routeOptions.url ?? 'unknown route'}` });
    return reply.status(httpStatus(failure)).send(body);
  });

  app.setNotFoundHandler(async (request, reply) => reply.status(404).send({
    error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}; see /openapi.json` },
  }));

  const typed = app.withTypeProvider<ZodTypeProvider>();
  registerOpsRoutes(typed, { service });
  registerActionRoutes(typed, { service });
  registerApprovalRoutes(typed, { service });
  registerAuditRoutes(typed, { service });
  registerRunRoutes(typed, { service });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  options.extraRoutes?.(app);
  await app.ready();
  return app;
}
