/**
 * SPEC rules 6, 7 and 11 across simulated weeks, driven by the injected clock (no sleeping):
 * promotion refused on day 13, at 94% and with too few decisions, allowed on day 14 at 95%; the
 * high class still gated after promotion; demotion at 89%; re-promotion refused 6 days after;
 * one workflow at a time until three are stable, then adjacent ones in parallel; an admin's
 * override audited; `write: auto` in the config refused without an override.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';

const DAY = 86_400_000;
let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.reverse()) await h.close();
  harnesses = [];
});

const base = (extra = '', workflows = '') => `${harnessConfig({ mode: 'mode: { read: approval, write: approval, high: approval }', extraWorkflowYaml: workflows })
  .replace('within: 24h', 'within: 90d')}\n${extra}`;

async function open(configYaml: string, from?: Harness): Promise<Harness> {
  const text = from === undefined ? configYaml
    : configYaml.replace('path: ./portcullis.db', `path: ${JSON.stringify(from.storePath)}`).replace('path: ./crm.db', `path: ${JSON.stringify(from.crmPath)}`);
  const h = await openHarness({ configYaml: text, ...(from === undefined ? {} : { clock: from.clock }) });
  harnesses.push(h);
  return h;
}

/** Moves the injected clock to day `n` after the harness opened (10:00 in UTC). */
function day(h: Harness, start: number, n: number): void {
  h.clock.set(start + n * DAY);
}

/** People decide on `approved + rejected` reads of `workflow` (reads wait for approval in these workflows). */
async function decide(h: Harness, approved: number, rejected: number, workflow = 'route-leads'): Promise<void> {
  for (let i = 0; i < approved + rejected; i += 1) {
    const proposed = await proposeAs(h, 'agent', { workflow, action: 'crm.leads.read', params: { ids: [1] } });
    expect(proposed.json().status, JSON.stringify(proposed.json())).toBe('pending_approval');
    const verb = i < approved ? 'approve' : 'reject';
    const res = await h.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id}/${verb}`, payload: { reason: 'checked' } });
    expect(res.statusCode).toBe(200);
  }
}

const promote = (h: Harness, who: 'dana' | 'ada' | 'fay' = 'dana', body: Record<string, unknown> = { reason: 'earned it' }) =>
  h.request(who, { method: 'POST', url: '/v1/workflows/route-leads/promote', payload: body });
const deploy = (h: Harness, workflow: string, who: 'dana' | 'ada' = 'dana', body: Record<string, unknown> = {}) =>
  h.request(who, { method: 'POST', url: `/v1/workflows/${workflow}/deploy`, payload: body });
const write = (h: Harness) => proposeAs(h, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [2], set: { owner_id: 'rep-amara' } } });

describe('promotion and demotion', () => {
  it('refuses on day 13, promotes on day 14 at 95%, keeps high risk gated, demotes at 89%, refuses re-promotion 6 days later', async () => {
    const h = await open(base());
    const start = h.clock.now();
    for (let n = 7; n <= 12; n += 1) { day(h, start, n); await decide(h, 3, 0); }
    day(h, start, 13);
    await decide(h, 1, 1); // the window (days 7–13) now holds 19 of 20: 95%

    const early = await promote(h);
    expect(early.statusCode).toBe(409);
    expect(early.json().error).toMatchObject({ code: 'PROMOTION_NOT_READY', message: expect.stringMatching(/approval_first_days 13 days approval-first since deployment \(needs ≥ 14 days\)/) });
    expect((await write(h)).json().status).toBe('pending_approval');
    expect((await auditTrail(h)).filter((e) => e.type === 'request.invalid' && e.data.code === 'PROMOTION_NOT_READY').map((e) => e.actor.id)).toEqual(['dana']);

    day(h, start, 14);
    const before = (await h.request('dana', { method: 'GET', url: '/v1/workflows/route-leads/rollout' })).json();
    expect(before).toMatchObject({ stage: 'stable', modes: { write: 'approval' }, window: { approved: 19, rejected: 1, approvalRate: 0.95 }, readiness: { ready: true } });
    const promoted = await promote(h);
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json()).toMatchObject({ modes: { read: 'approval', write: 'auto', high: 'approval' }, why: expect.stringMatching(/automated by promotion/) });
    expect((await write(h)).json().status).toBe('succeeded');
    const del = await proposeAs(h, 'agent', { workflow: 'route-leads', action: 'crm.leads.delete', params: { ids: [3] } });
    expect(del.json().status).toBe('pending_approval');
    expect((await auditTrail(h)).find((e) => e.type === 'workflow.promoted')).toMatchObject({ actor: { id: 'dana' }, data: { reason: 'earned it' } });
    const twice = await promote(h);
    expect(twice.json().error).toMatchObject({ code: 'ILLEGAL_TRANSITION', message: expect.stringMatching(/writes are automated already/) });
    expect((await auditTrail(h)).filter((e) => e.type === 'workflow.promoted')).toHaveLength(1);

    day(h, start, 15);
    await decide(h, 16, 2); // 16 of 18: 88.9%, over the 10 decisions an approval-rate day needs
    expect((await write(h)).json().status).toBe('pending_approval');
    const trail = await auditTrail(h);
    expect(trail.filter((e) => e.type === 'workflow.demoted')).toHaveLength(1);
    expect(trail.find((e) => e.type === 'alert.raised' && e.data.kind === 'workflow_demoted')?.data.why).toMatch(/88\.9% on 2026-11-17, under 90%/);

    day(h, start, 21);
    await decide(h, 20, 0);
    const again = await promote(h, 'ada', { reason: 'looks fine again' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toMatch(/approval_first_days 6 days approval-first since the demotion \(needs ≥ 7 days\)/);
    expect((await write(h)).json().status).toBe('pending_approval');
  });

  it('refuses promotion at 94% and with too few decisions, names the failing criteria, and changes nothing', async () => {
    const h = await open(base());
    const start = h.clock.now();
    day(h, start, 10);
    await decide(h, 47, 3);
    day(h, start, 14);
    const at94 = await promote(h);
    expect(at94.json().error.message).toMatch(/approval_rate 94% over the last 7 days \(needs ≥ 95%\)/);

    const few = await open(base());
    day(few, start, 10);
    await decide(few, 19, 0);
    day(few, start, 14);
    const tooFew = await promote(few);
    expect(tooFew.json().error.message).toMatch(/decisions 19 decisions over the last 7 days \(needs ≥ 20\)/);
    expect(tooFew.json().error.message).not.toMatch(/approval_rate/);
    expect((await auditTrail(few)).filter((e) => e.type === 'workflow.promoted')).toEqual([]);
  });

  it('lets only a lead of the department or an admin promote, an override only by an admin with a reason, audited', async () => {
    const h = await open(base());
    expect((await promote(h, 'fay')).statusCode).toBe(403);
    expect((await promote(h, 'dana', { reason: 'now', override: true })).statusCode).toBe(403);
    expect((await promote(h, 'ada', { override: true })).statusCode).toBe(400);
    const forced = await promote(h, 'ada', { reason: 'the COO asked; ticket OPS-7', override: true });
    expect(forced.statusCode).toBe(200);
    expect(forced.json().modes.write).toBe('auto');
    expect((await auditTrail(h)).find((e) => e.type === 'workflow.promoted')?.data).toMatchObject({ readinessOverride: true, reason: 'the COO asked; ticket OPS-7' });
  });

  it('demotes on the alert schedule a workflow promoted on a day already under 90%', async () => {
    const h = await open(base());
    await decide(h, 16, 2);
    expect((await promote(h, 'ada', { reason: 'the COO asked', override: true })).json().modes.write).toBe('auto');
    expect((await write(h)).json().status).toBe('succeeded');
    await h.gateway.service.evaluateAlerts();
    expect((await write(h)).json().status).toBe('pending_approval');
    expect((await auditTrail(h)).filter((e) => e.type === 'workflow.demoted')).toHaveLength(1);
  });
});

describe('the rollout gate', () => {
  const extra = (id: string, department = 'sales', agent = 'lead-router') => `
  ${id}:
    description: ${id}
    agent: ${agent}
    department: ${department}
    owner: tom
    runbook: By hand.
    mode: { read: approval, write: approval, high: approval }
    grants: [crm:leads:read]`;

  it('deploys one workflow at a time until three are stable, then adjacent ones in parallel', async () => {
    const first = await open(base('rollout: { minDecisions: 2 }\n'));
    const start = first.clock.now();
    // Workflows added to the config after the first start are drafts.
    const h = await open(base('rollout: { minDecisions: 2 }\n', [extra('w2'), extra('w3'), extra('w4'), extra('w5'), extra('w6', 'finance', 'other-agent'), extra('w7').replace('read: approval', 'read: auto')].join('')), first);
    expect((await h.request('dana', { method: 'GET', url: '/v1/workflows/w2/rollout' })).json()).toMatchObject({ stage: 'draft', gate: { ok: false } });
    const drafted = await proposeAs(h, 'agent', { workflow: 'w2', action: 'crm.leads.read', params: { ids: [1] } });
    expect(drafted.json().status).toBe('pending_approval');
    const refusedApproval = await h.request('dana', { method: 'POST', url: `/v1/approvals/${drafted.json().id}/approve`, payload: {} });
    expect(refusedApproval.json().error).toMatchObject({ code: 'WORKFLOW_IN_DRAFT' });

    // Even what the policy would run by itself waits in a draft.
    const auto = await proposeAs(h, 'agent', { workflow: 'w7', action: 'crm.leads.read', params: { ids: [1] } });
    expect(auto.json()).toMatchObject({ status: 'pending_approval', decision: { reasons: expect.arrayContaining([expect.stringMatching(/workflow "w7" is a draft: nothing executes until it is deployed/)]) } });

    const blocked = await deploy(h, 'w2');
    expect(blocked.json().error).toMatchObject({ code: 'ROLLOUT_GATE_CLOSED', message: expect.stringMatching(/one workflow at a time: "route-leads" \(pilot\)/) });

    const live = ['route-leads'];
    const through = async (from: number, to: number) => {
      for (let n = from; n <= to; n += 1) {
        day(h, start, n);
        for (const w of live) await decide(h, 2, 0, w);
      }
    };
    await through(0, 7);
    day(h, start, 8);
    expect((await deploy(h, 'w2')).json().stage).toBe('pilot');
    live.push('w2');
    expect((await deploy(h, 'w3')).json().error.message).toMatch(/"w2" \(pilot\) must be stable first \(1 of 3 stable workflows/);
    await through(8, 15);
    day(h, start, 16);
    expect((await deploy(h, 'w3')).statusCode).toBe(200);
    live.push('w3');
    await through(16, 23);
    day(h, start, 24);
    const stages = (await h.request('dana', { method: 'GET', url: '/v1/rollout' })).json().workflows.map((w: { workflow: string; stage: string }) => [w.workflow, w.stage]);
    expect(stages).toEqual([['route-leads', 'stable'], ['w2', 'stable'], ['w3', 'stable'], ['w4', 'draft'], ['w5', 'draft'], ['w7', 'draft']]);

    expect((await deploy(h, 'w4')).json().stage).toBe('pilot');
    const parallel = await deploy(h, 'w5');
    expect(parallel.json()).toMatchObject({ stage: 'pilot' });
    const notAdjacent = await deploy(h, 'w6', 'ada');
    expect(notAdjacent.json().error.message).toMatch(/not adjacent to a stable workflow \(no stable workflow in department "finance"\)/);
    expect((await auditTrail(h)).filter((e) => e.type === 'request.invalid' && e.data.code === 'ROLLOUT_GATE_CLOSED').map((e) => e.actor.id)).toEqual(['dana', 'dana', 'ada']);
    expect((await deploy(h, 'w6', 'ada', { override: true })).statusCode).toBe(400);
    expect((await deploy(h, 'w6', 'ada', { override: true, reason: 'finance asked for a pilot; ticket FIN-3' })).json().stage).toBe('pilot');
    const deployed = (await auditTrail(h)).filter((e) => e.type === 'workflow.deployed' && e.actor.kind === 'person');
    expect(deployed.map((e) => [e.workflow, e.data.gateOverride ?? false])).toEqual([['w2', false], ['w3', false], ['w4', false], ['w5', false], ['w6', true]]);
  });
});

describe('automation in the config', () => {
  const env = Object.fromEntries(['K_AGENT', 'K_OTHER', 'T_DANA', 'T_DELE', 'T_FAY', 'T_TOM', 'T_ADA'].map((name) => [name, `secret-${name}`]));
  const parse = (text: string) => parseConfigText(text, { kinds: SYSTEM_KINDS, env, source: 'portcullis.yaml' });
  const errors = (text: string) => { const r = parse(text); return r.ok ? [] : r.errors.map((e) => e.message); };

  it('refuses mode.write: auto without an admin\'s override, and accepts it with one', () => {
    const auto = harnessConfig().replace('mode: { read: auto, write: approval, high: approval }', 'mode: { read: auto, write: auto, high: approval }');
    expect(errors(auto).join('\n')).toMatch(/sets mode.write: auto, but writes are automated only by promotion once earned/);
    expect(errors(auto.replace('allowOwnerApproval:', 'override: { by: dana, reason: "we trust it" }\n    allowOwnerApproval:')).join('\n')).toMatch(/override.by must be an admin .* "dana" is not an admin/);
    expect(errors(auto.replace('allowOwnerApproval:', 'override: { by: ada, reason: "legacy workflow, reviewed" }\n    allowOwnerApproval:'))).toEqual([]);
  });

  it('audits the override at every start and shows it in the report', async () => {
    const h = await open(harnessConfig({ mode: 'mode: { read: auto, write: auto, high: approval }' }));
    expect((await auditTrail(h)).find((e) => e.type === 'workflow.override')).toMatchObject({ actor: { kind: 'person', id: 'ada' }, workflow: 'route-leads' });
    const view = (await h.request('dana', { method: 'GET', url: '/v1/workflows/route-leads/rollout' })).json();
    expect(view).toMatchObject({ stage: 'pilot', modes: { write: 'auto' }, override: { by: 'ada' }, why: expect.stringMatching(/automated by the config's override/) });
  });
});
