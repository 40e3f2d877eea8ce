/**
 * `portcullis disable`, `status` and `enable` against a running gateway, as a department lead
 * would use them: the lead's token, no technical owner involved.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { runCli } from '../testing/run-cli.js';

let harness: Harness;
afterEach(async () => harness?.close());

const cli = (...argv: string[]) => runCli(argv);

describe('portcullis disable, status, enable', () => {
  it('stops a workflow, shows who stopped it, why and the runbook, and starts it again with a reason', async () => {
    harness = await openHarness();
    await harness.gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(harness.gateway.app.server.address() as AddressInfo).port}`;
    const as = (who: 'dana' | 'fay') => ['--url', url, '--token', harness.secrets[who]];
    const pending = (await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } })).json();

    const refused = await cli('disable', 'workflow', 'route-leads', '--reason', 'not mine', ...as('fay'));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^FORBIDDEN: fay may not disable workflow "route-leads"/);

    const off = await cli('disable', 'workflow', 'route-leads', '--reason', 'wrong region routing', ...as('dana'));
    expect(off.code).toBe(0);
    expect(off.out).toContain(`workflow route-leads is disabled; cancelled 1 waiting proposal: ${pending.id}`);

    const status = await cli('status', ...as('dana'));
    expect(status.code).toBe(0);
    expect(status.out).toContain(`route-leads  (agent lead-router, department sales)  DISABLED since ${new Date(harness.clock.now()).toISOString()} by dana: wrong region routing`);
    expect(status.out).toContain('runbook: Assign leads by hand in the CRM.');
    // The rollout reports say it is off, whatever its stage.
    const since = new Date(harness.clock.now()).toISOString();
    const report = await cli('report', ...as('dana'));
    expect(report.out).toMatch(/^route-leads\s+sales\s+\w+ \(DISABLED\)\s/m);
    expect(report.out).toContain(`route-leads: DISABLED by dana since ${since}: wrong region routing; it executes nothing until someone enables it (\`portcullis enable workflow route-leads --reason ...\`)`);
    expect((await cli('workflows', 'show', 'route-leads', ...as('dana'))).out).toContain(`  DISABLED by dana since ${since}: wrong region routing`);

    const on = await cli('enable', 'workflow', 'route-leads', '--reason', 'fixed the region map', ...as('dana'));
    expect(on.code).toBe(0);
    expect((await cli('status', ...as('dana'))).out).toMatch(/route-leads .* enabled/);
    expect((await cli('report', ...as('dana'))).out).not.toContain('DISABLED');
    const twice = await cli('enable', 'workflow', 'route-leads', '--reason', 'again', ...as('dana'));
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/^ILLEGAL_TRANSITION: workflow "route-leads" is not disabled/);
  });

  it('status marks a workflow whose agent is disabled as stopped, with its runbook', async () => {
    harness = await openHarness();
    await harness.gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(harness.gateway.app.server.address() as AddressInfo).port}`;
    const as = ['--url', url, '--token', harness.secrets.dana];
    expect((await cli('disable', 'agent', 'lead-router', '--reason', 'leaked key suspected', ...as)).code).toBe(0);
    const status = (await cli('status', ...as)).out;
    expect(status).toContain(`route-leads  (agent lead-router, department sales)  STOPPED: its agent lead-router is DISABLED since ${new Date(harness.clock.now()).toISOString()} by dana: leaked key suspected`);
    expect(status).toContain('runbook: Assign leads by hand in the CRM.');
  });

  it('report --metrics prints the daily figures of the lead\'s workflows', async () => {
    harness = await openHarness();
    await harness.gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(harness.gateway.app.server.address() as AddressInfo).port}`;
    const id = (await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } })).json().id as string;
    harness.clock.advance(120_000);
    await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/reject`, payload: { reason: 'no' } });
    const report = await cli('report', '--metrics', '--from', '2026-11-02', '--to', '2026-11-02', '--url', url, '--token', harness.secrets.dana);
    expect(report.code).toBe(0);
    const lines = report.out.trim().split('\n');
    expect(lines[0]).toBe('route-leads (days in UTC; approval rate = approved / (approved + rejected))');
    expect(lines[1]?.split(/\s{2,}/)).toEqual(['day', 'proposals', 'approved', 'rejected', 'cancelled', 'expired', 'auto', 'failed', 'unknown', 'approval rate', 'failure rate', 'wait p50', 'wait p95']);
    expect(lines[2]?.trim().split(/\s+/)).toEqual(['2026-11-02', '1', '0', '1', '0', '0', '0', '0', '0', '0.0%', '—', '2m', '2m']);
  });
});
