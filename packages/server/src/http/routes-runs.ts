/**
 * Pre-flight routes: check every system, and start a workflow run only when the workflow's
 * systems pass their checks. Check details are what connectors report; they never carry a
 * credential (connectors name where a credential lives, never its value).
 */
import { z } from 'zod';
import type { GatewayService } from '../service/contracts.js';
import { requireCaller, requirePerson } from './auth.js';
import { errorBody } from './errors.js';
import type { TypedApp } from './typed-app.js';

const systemCheck = z.object({
  system: z.string(), kind: z.string(), ok: z.boolean(),
  detail: z.string().describe('what was verified, or why the check failed'),
  ms: z.number().describe('how long the check took'),
}).describe('SystemCheck');

/** Registers GET /v1/systems/check and POST /v1/runs. */
export function registerRunRoutes(app: TypedApp, deps: { service: GatewayService }): void {
  const { service } = deps;

  app.get('/v1/systems/check', {
    schema: {
      summary: 'Pre-flight: check every system the caller may see is reachable with the gateway\'s credentials',
      description: 'Runs each connector\'s check (read-only). 200 with ok: false when any system fails; admins see every system, others the systems of their workflows.',
      tags: ['people', 'operations'],
      response: { 200: z.object({ ok: z.boolean(), systems: z.array(systemCheck) }), 401: errorBody, 403: errorBody },
    },
  }, async (request) => {
    requirePerson(request.principal, 'run the systems check');
    const names = service.visibleSystems(requireCaller(request.principal));
    const checks = await service.checkSystems(names);
    return { ok: checks.every((c) => c.ok), systems: checks };
  });

  app.post('/v1/runs', {
    schema: {
      summary: 'Start a workflow run: checks the workflow\'s systems first',
      description: 'Answers 201 with the runId to send with each proposal of the run; 503 SYSTEM_CHECK_FAILED naming each failing system (nothing started). Agents start runs of their own workflows; people of workflows they may see.',
      tags: ['agents', 'people'],
      body: z.strictObject({ workflow: z.string().min(1).max(200).describe('the workflow to run') }),
      response: {
        201: z.object({ runId: z.string(), workflow: z.string(), startedAt: z.string(), checks: z.array(systemCheck).readonly() }),
        400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 503: errorBody,
      },
    },
  }, async (request, reply) => {
    const { run, checks } = await service.startRun(requireCaller(request.principal), request.body.workflow);
    return reply.status(201).send({ runId: run.id, workflow: run.workflow, startedAt: new Date(run.startedAt).toISOString(), checks });
  });
}
