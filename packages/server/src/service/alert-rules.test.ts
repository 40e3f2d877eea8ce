/**
 * The scheduled alert rules: an approval rate of 89% over a day with enough decisions raises
 * one alert (however often the rules run), with too few decisions none; a proposal waiting in
 * outcome_unknown longer than configured raises one alert. Driven by the injected clock.
 */
import { PortcullisError, type Alert } from '@portcullis/core';
import { afterEach, describe, expect, it } from 'vitest';
import { aroundExecute, auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = (id: number, owner: string) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: owner } } });

/** Proposes `approved + rejected` writes and decides them as Dana. */
async function decide(h: Harness, approved: number, rejected: number): Promise<void> {
  for (let i = 0; i < approved + rejected; i += 1) {
    const id = (await proposeAs(h, 'agent', route(1 + (i % 5), `rep-${i}`))).json().id as string;
    const verb = i < approved ? 'approve' : 'reject';
    const res = await h.request('dana', { method: 'POST', url: `/v1/approvals/${id}/${verb}`, payload: { reason: 'r' } });
    expect(res.statusCode).toBe(200);
  }
}

const config = (minDecisions: number) => `${harnessConfig().replace('within: 24h', 'within: 30d')}alerts: { approvalRate: { below: 0.9, minDecisions: ${minDecisions} }, outcomeUnknownAfter: 1h }\n`;

describe('the approval-rate alert', () => {
  it('raises one alert at 89% over a day with enough decisions, to the owner and the leads', async () => {
    const told: Alert[] = [];
    harness = await openHarness({ configYaml: config(100), gateway: { notifier: { notify: (a) => told.push(a) } } });
    await decide(harness, 89, 11);
    expect(await harness.gateway.service.evaluateAlerts()).toBe(1);
    harness.clock.advance(60_000);
    expect(await harness.gateway.service.evaluateAlerts()).toBe(0);
    harness.clock.advance(24 * 3_600_000); // the next day: yesterday is evaluated again, and alerted already
    expect(await harness.gateway.service.evaluateAlerts()).toBe(0);
    const alerts = (await auditTrail(harness)).filter((e) => e.type === 'alert.raised');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.data).toMatchObject({ kind: 'approval_rate_low', day: '2026-11-02', approvalRate: 0.89, approved: 89, rejected: 11, to: ['tom', 'dana'] });
    expect(told.map((a) => a.kind)).toEqual(['approval_rate_low']);
    expect(told[0]?.message).toMatch(/People approved 89 of 100 proposals of workflow "route-leads" on 2026-11-02 so far \(89%, below 90%\)/);
  });

  it('raises none at 89% with too few decisions, nor at 90%', async () => {
    harness = await openHarness({ configYaml: config(101) });
    await decide(harness, 89, 11);
    expect(await harness.gateway.service.evaluateAlerts()).toBe(0);
    await harness.close();
    harness = await openHarness({ configYaml: config(10) });
    await decide(harness, 9, 1);
    expect(await harness.gateway.service.evaluateAlerts()).toBe(0);
    expect((await auditTrail(harness)).filter((e) => e.type === 'alert.raised')).toEqual([]);
  });
});

describe('the waiting unknown outcome alert', () => {
  it('raises one alert once a proposal has waited in outcome_unknown longer than configured', async () => {
    harness = await openHarness({
      configYaml: config(10),
      gateway: {
        connect: aroundExecute(async (real, spec, params, context) => {
          await real.execute(spec, params, context);
          throw new PortcullisError('OUTCOME_UNKNOWN', 'the connection dropped before the CRM answered; whether it took effect is unknown');
        }),
      },
    });
    const id = (await proposeAs(harness, 'agent', route(1, 'rep-amara'))).json().id as string;
    expect((await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: {} })).json().status).toBe('outcome_unknown');
    harness.clock.advance(59 * 60_000);
    expect(await harness.gateway.service.evaluateAlerts()).toBe(0);
    harness.clock.advance(2 * 60_000);
    expect(await harness.gateway.service.evaluateAlerts()).toBe(1);
    expect(await harness.gateway.service.evaluateAlerts()).toBe(0);
    const alert = (await auditTrail(harness)).find((e) => e.type === 'alert.raised');
    expect(alert).toMatchObject({ proposalId: id, data: { kind: 'outcome_unknown_waiting', proposalId: id, waitingMinutes: 61 } });
    expect(alert?.data.message).toMatch(new RegExp(`portcullis proposals resolve ${id}`));
  });
});
