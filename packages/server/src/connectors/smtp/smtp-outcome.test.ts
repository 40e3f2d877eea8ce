/**
 * An email handed over to a real SMTP server process that never answers the end of its data
 * (the message was taken, the answer lost) is `outcome_unknown`, never `failed`: it may have
 * been delivered. A server that refuses the login is `failed`: nothing was sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { harnessConfig, openHarness, proposeAs, type Harness } from '../../testing/harness.js';
import { startSmtpServer, type SmtpServer } from '../../testing/smtp-server.js';

function mailConfig(port: number): string {
  return harnessConfig({
    extraSystemsYaml: `  mail:
    kind: smtp
    host: 127.0.0.1
    port: ${port}
    from: lead-router@portcullis.example
    auth: { user: portcullis, passwordEnv: SMTP_PASSWORD }
    timeout: 1s`,
    extraWorkflowYaml: `  welcome-leads:
    description: Send new leads a welcome email
    agent: lead-router
    department: sales
    owner: tom
    runbook: Sales sends the welcome email by hand.
    grants:
      - { grant: mail:email:send, explicit: true }
    bounds: { maxRecordsPerAction: 2 }`,
  });
}

let server: SmtpServer | undefined;
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  await server?.close();
  harness = undefined;
  server = undefined;
});

async function sendApproved(h: Harness): Promise<Record<string, unknown>> {
  const proposed = await proposeAs(h, 'agent', { workflow: 'welcome-leads', action: 'mail.email.send', params: { to: ['ada@example.com'], subject: 'Welcome', text: 'Hello' } });
  const id = proposed.json().id as string;
  await h.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
  return (await h.gateway.store.getProposal(id)) as unknown as Record<string, unknown>;
}

describe('the outcome of an email', () => {
  it('is unknown when the server took the message but its answer never came', async () => {
    server = await startSmtpServer({ acceptNever: true });
    harness = await openHarness({ configYaml: mailConfig(server.port), env: { SMTP_PASSWORD: server.password } });
    const proposal = await sendApproved(harness);
    expect(proposal).toMatchObject({ status: 'outcome_unknown', error: { code: 'OUTCOME_UNKNOWN' } });
    expect(String((proposal.error as { message: string }).message)).toMatch(/may have been delivered/);
    expect(await server.waitForMessages(1)).toHaveLength(1);
  });

  it('failed when the server refused the login: nothing was sent', async () => {
    server = await startSmtpServer();
    harness = await openHarness({ configYaml: mailConfig(server.port), env: { SMTP_PASSWORD: 'wrong' } });
    const proposal = await sendApproved(harness);
    expect(proposal).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_FAILED' } });
    expect(server.messages()).toEqual([]);
  });
});
