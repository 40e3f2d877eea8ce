/**
 * Daily figures from a scripted history, driven by the injected clock across two calendar days
 * in Europe/Paris, checked against hand-counted values: cancellations and unknown outcomes stay
 * out of the approval rate, and an event at 00:30 Paris time counts on the Paris day.
 */
import { PortcullisError } from '@portcullis/core';
import { afterEach, describe, expect, it } from 'vitest';
import { aroundExecute, crmRefusesWrites, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = (id: number, owner = 'rep-amara') => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: owner } } });
const SECOND = 1000;

/** The real CRM connector, except that the answer to a write for `owner_id: lost` is lost after the write ran. */
const losingAnswers = aroundExecute(async (real, spec, params, context) => {
  const done = await real.execute(spec, params, context);
  if (JSON.stringify(params).includes('"lost"')) throw new PortcullisError('OUTCOME_UNKNOWN', 'the CRM connection dropped before it answered; whether it took effect is unknown');
  return done;
});

function metricsConfig(extra = ''): string {
  return `${harnessConfig().replace('within: 24h', 'within: 30d')}timeZone: Europe/Paris\n${extra}`;
}

describe('daily figures', () => {
  it('match the hand count of a scripted history, by calendar day in the gateway\'s time zone', async () => {
    harness = await openHarness({ configYaml: metricsConfig(), gateway: { connect: losingAnswers } });
    const start = harness.clock.now(); // 2026-11-02T09:00Z, 10:00 in Paris
    const at = (offset: number) => harness.clock.set(start + offset);
    const approve = (id: string) => harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: {} });

    // Day 1 (2026-11-02): 5 writes wait; one approved and done, one fails, one's answer is lost, one rejected, one cancelled.
    const ids: string[] = [];
    for (const [lead, owner] of [[1, 'rep-amara'], [2, 'rep-bo'], [3, 'rep-cy'], [4, 'rep-di'], [5, 'lost']] as const) ids.push((await proposeAs(harness, 'agent', route(lead, owner))).json().id);
    at(60 * SECOND);
    expect((await approve(ids[0] as string)).json().status).toBe('succeeded');
    at(180 * SECOND);
    crmRefusesWrites(harness, true);
    expect((await approve(ids[1] as string)).json().status).toBe('failed');
    crmRefusesWrites(harness, false);
    at(300 * SECOND);
    expect((await approve(ids[4] as string)).json().status).toBe('outcome_unknown');
    at(600 * SECOND);
    expect((await harness.request('dana', { method: 'POST', url: `/v1/approvals/${ids[2]}/reject`, payload: { reason: 'wrong rep' } })).json().status).toBe('rejected');
    at(900 * SECOND);
    await harness.request('dana', { method: 'POST', url: '/v1/workflows/route-leads/disable', payload: { reason: 'pause' } });
    await harness.request('dana', { method: 'POST', url: '/v1/workflows/route-leads/enable', payload: { reason: 'resume' } });
    at(1000 * SECOND);
    expect((await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: { ids: [1] } })).json().status).toBe('succeeded');
    expect((await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { status: 'won' } } })).json().status).toBe('denied');

    // Day 2 in Paris (2026-11-03), though still 2026-11-02 in UTC at 23:30Z.
    harness.clock.set(Date.parse('2026-11-02T23:30:00Z'));
    const expiring = (await proposeAs(harness, 'agent', route(1, 'rep-ed'))).json().id as string;
    harness.clock.set(Date.parse('2026-11-03T01:30:00Z'));
    expect(await harness.gateway.service.expireDue()).toBe(1);
    harness.clock.set(Date.parse('2026-11-03T01:40:00Z'));
    const later = (await proposeAs(harness, 'agent', route(2, 'rep-fa'))).json().id as string;
    harness.clock.set(Date.parse('2026-11-03T01:45:00Z'));
    expect((await approve(later)).json().status).toBe('succeeded');
    expect(expiring).not.toBe(later);

    const res = await harness.request('dana', { method: 'GET', url: '/v1/workflows/route-leads/metrics?from=2026-11-02&to=2026-11-04' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      workflow: 'route-leads', timeZone: 'Europe/Paris',
      days: [
        {
          day: '2026-11-02', proposals: 7, denied: 1, approved: 3, rejected: 1, cancelled: 1, expired: 0, autoExecuted: 1,
          executed: 4, succeeded: 2, failed: 1, outcomeUnknown: 1, breakerTrips: 0,
          approvalRate: 0.75, failureRate: 0.5, approvalWaitMs: { p50: 180_000, p95: 600_000 },
        },
        {
          day: '2026-11-03', proposals: 2, denied: 0, approved: 1, rejected: 0, cancelled: 0, expired: 1, autoExecuted: 0,
          executed: 1, succeeded: 1, failed: 0, outcomeUnknown: 0, breakerTrips: 0,
          approvalRate: 1, failureRate: 0, approvalWaitMs: { p50: 300_000, p95: 300_000 },
        },
        {
          day: '2026-11-04', proposals: 0, denied: 0, approved: 0, rejected: 0, cancelled: 0, expired: 0, autoExecuted: 0,
          executed: 0, succeeded: 0, failed: 0, outcomeUnknown: 0, breakerTrips: 0,
          approvalRate: null, failureRate: null, approvalWaitMs: null,
        },
      ],
    });
  });

  it('refuses a bad range and a workflow that is not the caller\'s, naming the problem', async () => {
    harness = await openHarness({ configYaml: metricsConfig() });
    const get = (who: 'dana' | 'fay', query: string) => harness.request(who, { method: 'GET', url: `/v1/workflows/route-leads/metrics${query}` });
    expect((await get('dana', '?from=2026-11-05&to=2026-11-01')).json().error.message).toMatch(/from \(2026-11-05\) is after to \(2026-11-01\)/);
    expect((await get('dana', '?from=02/11/2026')).json().error.message).toMatch(/from: "02\/11\/2026" is not a calendar day; write YYYY-MM-DD/);
    expect((await get('dana', '?from=2026-02-30')).statusCode).toBe(400);
    expect((await get('dana', '?from=2024-01-01&to=2026-11-01')).json().error.message).toMatch(/more than 366 days/);
    expect((await get('fay', '')).statusCode).toBe(403);
    const week = (await get('dana', '')).json();
    expect(week.days.map((d: { day: string }) => d.day)).toEqual(['2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30', '2026-10-31', '2026-11-01', '2026-11-02']);
  });
});
