/** Metrics: a workflow's daily figures as JSON, and the Prometheus exposition for scrapers. */
import { z } from 'zod';
import type { GatewayService } from '../service/contracts.js';
import { requireCaller } from './auth.js';
import { errorBody } from './errors.js';
import { idParam } from './schemas.js';
import type { TypedApp } from './typed-app.js';

const day = z.string().describe('a calendar day, YYYY-MM-DD, in the gateway\'s time zone');

export const metricsQuery = z.object({
  from: day.optional().describe('first day (default: six days before `to`)'),
  to: day.optional().describe('last day, included (default: today)'),
});

const rate = z.number().nullable();

export const dailyFiguresView = z.object({
  day: z.string(),
  proposals: z.number().int(), denied: z.number().int(), approved: z.number().int(), rejected: z.number().int(),
  cancelled: z.number().int(), expired: z.number().int(), autoExecuted: z.number().int(),
  executed: z.number().int().describe('executions with an outcome: succeeded + failed + outcomeUnknown'),
  succeeded: z.number().int(), failed: z.number().int(), outcomeUnknown: z.number().int(), breakerTrips: z.number().int(),
  approvalRate: rate.describe('approved / (approved + rejected): people\'s decisions only; null without decisions'),
  failureRate: rate.describe('(failed + outcomeUnknown) / executed; null without executions'),
  approvalWaitMs: z.object({ p50: z.number(), p95: z.number() }).nullable().describe('time from proposal to a person\'s decision, nearest-rank percentiles, in milliseconds'),
}).describe('DailyFigures');

export function registerMetricsRoutes(app: TypedApp, deps: { service: GatewayService }): void {
  const { service } = deps;

  app.get('/v1/workflows/:id/metrics', {
    schema: {
      summary: 'A workflow\'s daily figures: proposals, decisions, executions, the approval and failure rates, approval waits',
      description: 'Calendar days in the gateway\'s time zone (`timeZone`, default UTC), counted from the audit trail. For anyone who may see the workflow.',
      tags: ['agents', 'people'], params: idParam, querystring: metricsQuery,
      response: { 200: z.object({ workflow: z.string(), timeZone: z.string(), days: z.array(dailyFiguresView) }), 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody },
    },
  }, async (request) => {
    const { from, to } = request.query;
    const metrics = await service.workflowMetrics(requireCaller(request.principal), request.params.id, { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
    return { workflow: metrics.workflow, timeZone: metrics.timeZone, days: [...metrics.days] };
  });

  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics (text exposition format): proposals by workflow and status, approval waits, execution durations, pending approvals, disabled workflows and agents, the audit store, and the process',
      description: 'No token needed, like /healthz: serve it on an interface only your Prometheus reaches (server.host), or behind your proxy. docs/operations.md lists the metrics.',
      tags: ['operations'], security: [],
    },
  }, async (_request, reply) => {
    const exposition = await service.metricsText();
    if (exposition === undefined) return reply.status(404).type('text/plain').send('metrics are not enabled\n');
    return reply.status(200).type(exposition.contentType).send(exposition.text);
  });
}
