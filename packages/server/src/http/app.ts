/**
 * The HTTP API (Fastify). Authentication runs before the body is parsed, so bad input from
 * a known agent can be audited; every error goes through errors.ts; schemas come from
 * schemas.ts and also produce the OpenAPI document at /openapi.json.
 */
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { CompiledConfig } from '../config/compiled.js';
import type { GatewayService } from '../service/gateway-service.js';
import type { Store } from '../store/store.js';
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
  readonly config: CompiledConfig;
  readonly store: Store;
  readonly service: GatewayService;
  readonly logger?: FastifyServerOptions['logger'];
  readonly version?: string;
  /** Registers more routes before the app is ready (the MCP endpoint, mcp/http-route.ts). */
  readonly extraRoutes?: (app: FastifyInstance) => void;
}

export type App = FastifyInstance;

/** Builds the API; call `listen` or `inject` on the result. */
export async function buildApp(options: AppOptions): Promise<App> {
  const { config, store, service } = options;
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
    const principal = authenticate(config, request.headers.authorization);
    if (principal !== undefined) request.principal = principal;
  });

  app.setErrorHandler(async (error, request, reply) => {
    const failure = toPortcullisError(error);
    if (failure.code === 'INTERNAL') request.log.error({ err: error }, 'unexpected error');
    const principal = request.principal;
    const body = toErrorBody(failure);
    if (principal?.kind === 'agent' && failure.fault === 'caller' && isRequestLevel(failure.code)) {
      // Bad input rejected before the service saw it: record the attempt under the agent's name.
      await store.appendAudit([{
        type: 'request.invalid', at: service.deps.clock.now(), actor: { kind: 'agent', id: principal.agent.id },
        data: { code: failure.code, message: failure.message.slice(0, 1000), route: `${request.method} ${request.routeOptions.url ?? request.url}` },
      }]).catch((auditError: unknown) => request.log.error({ err: auditError }, 'could not audit an invalid request'));
    }
    return reply.status(httpStatus(failure)).send(body);
  });

  app.setNotFoundHandler(async (request, reply) => reply.status(404).send({
    error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}; see /openapi.json` },
  }));

  const typed = app.withTypeProvider<ZodTypeProvider>();
  registerOpsRoutes(typed, { store });
  registerActionRoutes(typed, { config, service });
  registerApprovalRoutes(typed, { config, service });
  registerAuditRoutes(typed, { config, store });
  registerRunRoutes(typed, { config, service });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  options.extraRoutes?.(app);
  await app.ready();
  return app;
}

/** Errors raised by request parsing or validation, before the service audits them itself. */
function isRequestLevel(code: string): boolean {
  return code === 'INVALID_JSON' || code === 'INVALID_REQUEST' || code === 'BODY_TOO_LARGE';
}
