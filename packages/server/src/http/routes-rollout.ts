/** Earned automation: each workflow's stage, modes in force, readiness and the rollout gate; deploying and promoting. */
import { z } from 'zod';
import { STAGES, type GatewayService, type RolloutView } from '../service/contracts.js';
import { requireCaller, requirePerson } from './auth.js';
import { errorBody } from './errors.js';
import { idParam } from './schemas.js';
import type { TypedApp } from './typed-app.js';

const mode = z.enum(['auto', 'approval']);

export const rolloutView = z.object({
  workflow: z.string(),
  department: z.string(),
  stage: z.enum(STAGES).describe('draft (nothing executes) → pilot (its first 7 days) → watch → stable (the last 7 days: no breaker trip, approval rate ≥ 95%, enough decisions)'),
  modes: z.object({ read: mode, write: mode, high: z.literal('approval') }).describe('the modes in force (the store\'s, earned; not only the config\'s)'),
  why: z.string().describe('why the write class is automated or not'),
  override: z.object({ by: z.string(), reason: z.string() }).optional().describe('the config\'s admin override automating writes, shown in every report'),
  deployedAt: z.string().optional(), promotedAt: z.string().optional(), demotedAt: z.string().optional(),
  window: z.object({
    from: z.string(), to: z.string(), approved: z.number().int(), rejected: z.number().int(),
    approvalRate: z.number().nullable(), breakerTrips: z.number().int(),
  }).describe('the last 7 complete calendar days'),
  readiness: z.object({
    ready: z.boolean(),
    criteria: z.array(z.object({ name: z.string(), value: z.number().nullable(), needed: z.string(), pass: z.boolean(), detail: z.string() })),
  }).describe('the promotion criteria, each with its number and pass/fail'),
  gate: z.object({ ok: z.boolean(), reason: z.string() }).optional().describe('for a draft: whether the rollout gate lets it deploy now'),
  disabled: z.object({ by: z.string(), reason: z.string(), since: z.string(), breaker: z.boolean(), agent: z.string().optional().describe('set when its agent, not the workflow itself, is switched off') })
    .optional().describe('set while the workflow or its agent is switched off (by a person, or the circuit breaker when `breaker` is true): it executes nothing, whatever its stage'),
}).describe('Rollout');

export const rolloutBody = z.strictObject({
  reason: z.string().max(2000).optional().describe('why; required to promote and for an override; kept in the audit trail'),
  override: z.boolean().optional().describe('an admin overrides the rollout gate (deploy) or the readiness report (promote); needs a reason; audited'),
});

const toView = (v: RolloutView): z.infer<typeof rolloutView> => JSON.parse(JSON.stringify(v)) as z.infer<typeof rolloutView>;

export function registerRolloutRoutes(app: TypedApp, deps: { service: GatewayService }): void {
  const { service } = deps;
  const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 503: errorBody };

  app.get('/v1/rollout', {
    schema: {
      summary: 'Each of the caller\'s workflows: stage, modes in force and why, the promotion readiness report, and the rollout gate',
      tags: ['agents', 'people'], response: { 200: z.object({ workflows: z.array(rolloutView) }), 401: errorBody },
    },
  }, async (request) => ({ workflows: (await service.rolloutReport(requireCaller(request.principal))).map(toView) }));

  app.get('/v1/workflows/:id/rollout', {
    schema: { summary: 'One workflow\'s stage, modes in force, readiness and gate', tags: ['agents', 'people'], params: idParam, response: { 200: rolloutView, 401: errorBody, 403: errorBody, 404: errorBody } },
  }, async (request) => toView(await service.rollout(requireCaller(request.principal), request.params.id)));

  app.post('/v1/workflows/:id/deploy', {
    schema: {
      summary: 'Deploy a draft (draft → pilot), subject to the rollout gate',
      description: 'A lead of the workflow\'s department or an admin. Refused (409 ROLLOUT_GATE_CLOSED) while another deployed workflow is in pilot or watch, unless three workflows are stable and this one is adjacent to one (same department); an admin may override with a reason. Audited as workflow.deployed.',
      tags: ['people'], params: idParam, body: rolloutBody.nullish(), response: { 200: rolloutView, ...errors },
    },
  }, async (request) => toView(await service.deploy(requirePerson(request.principal, 'deploy workflows'), request.params.id, request.body ?? {})));

  app.post('/v1/workflows/:id/promote', {
    schema: {
      summary: 'Promote a workflow\'s write class to run without approval, once its readiness report passes',
      description: 'A lead of the workflow\'s department or an admin, with a reason. Refused (409 PROMOTION_NOT_READY, listing the failing criteria) unless ready: 14 days approval-first (7 after a demotion), ≥ 95% approval over the last 7 days with enough decisions, no breaker trip, every write action reversible or with a declared manual fallback. An admin may override with a reason. High-risk actions stay under approval. Audited as workflow.promoted.',
      tags: ['people'], params: idParam, body: rolloutBody, response: { 200: rolloutView, ...errors },
    },
  }, async (request) => toView(await service.promote(requirePerson(request.principal, 'promote workflows'), request.params.id, request.body)));
}
