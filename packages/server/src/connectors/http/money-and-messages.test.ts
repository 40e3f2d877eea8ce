/**
 * Money and messages named as such: a write whose operation says refund (or payment, transfer,
 * send, email…) is refused at load until the config classes it — tagged high, or declared not
 * money or messages with a reason — and `portcullis validate` names the operation and both
 * fixes. A declared false positive loads, and its reason is in the trail at start.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { sha256Hex } from '@portcullis/core';
import { afterEach, describe, expect, it } from 'vitest';
import { moneyOrMessageWord } from '../../config/money-and-messages.js';
import { auditTrail, harnessConfig, openHarness, type Harness } from '../../testing/harness.js';
import { runCli } from '../../testing/run-cli.js';
import { makeTempDir } from '../../testing/temp-dir.js';

const BILLING = fileURLToPath(new URL('./fixtures/billing-openapi.yaml', import.meta.url));

function config(actions = '', tagged = false): string {
  return `${harnessConfig({
    extraSystemsYaml: `  billing:
    kind: http
    openapi: ${JSON.stringify(BILLING)}
    baseUrl: https://billing.example.com
    auth: { kind: none }`,
    extraWorkflowYaml: `  refunds:
    description: Refund orders
    agent: other-agent
    department: finance
    owner: tom
    runbook: Refund by hand.
    mode: { read: auto, write: auto }
    override: { by: ada, reason: "these tests run writes without approval" }
    grants: [${tagged ? '{ grant: "billing:refunds:create", explicit: true }' : 'billing:refunds:create'}, billing:accounts:read, billing:accounts.owner_id:update]`,
  })}${actions}`;
}

/** Every keyEnv/tokenEnv replaced by a hash, so the file validates without the environment. */
const hashed = (text: string): string => {
  let n = 0;
  return text.replace(/(key|token)Env: \w+/g, (_m, kind: string) => `${kind}Hash: "sha256:${sha256Hex(`secret-${(n += 1)}`)}"`);
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('writes named like money or messages', () => {
  it('an untagged refund operation fails `portcullis validate`, naming the operation and the two ways to fix it', async () => {
    const dir = makeTempDir('portcullis-money');
    try {
      const file = join(dir.path, 'portcullis.yaml');
      writeFileSync(file, hashed(config('\nactions:\n  billing.transferAccount: { notMoneyOrMessages: "it hands an account to another sales rep" }\n')));
      const refused = await runCli(['validate', file]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('billing.createRefund is a write action whose name says "refund" (money)');
      expect(refused.err).toContain('tag it high (actions: { billing.createRefund: { tags: [refund] } })');
      expect(refused.err).toContain('say why (actions: { billing.createRefund: { notMoneyOrMessages: "why" } })');
      expect(refused.err).not.toContain('transferAccount');

      writeFileSync(file, hashed(config('\nactions:\n  billing.createRefund: { tags: [refund] }\n  billing.transferAccount: { notMoneyOrMessages: "it hands an account to another sales rep" }\n', true)));
      const fixed = await runCli(['validate', file]);
      expect(fixed.err).toBe('');
      expect(fixed.code).toBe(0);
    } finally {
      dir.cleanup();
    }
  });

  it('a declared false positive loads as a plain write, and its reason is audited at start', async () => {
    harness = await openHarness({ configYaml: config('\nactions:\n  billing.createRefund: { tags: [refund] }\n  billing.transferAccount: { notMoneyOrMessages: "it hands an account to another sales rep" }\n', true) });
    expect(harness.gateway.config.actions.get('billing.createRefund')).toMatchObject({ risk: 'high' });
    expect(harness.gateway.config.actions.get('billing.transferAccount')).toMatchObject({ risk: 'write' });
    const started = (await auditTrail(harness)).find((e) => e.type === 'gateway.started');
    expect(started?.data).toMatchObject({ notMoneyOrMessages: { 'billing.transferAccount': 'it hands an account to another sales rep' } });
  });

  it('reads the words of names, resources and descriptions, and leaves reads alone', () => {
    const spec = (name: string, description = '', verb: 'create' | 'read' = 'create', resource = 'things') => ({ name: `api.${name}`, resource, description, verb });
    expect(moneyOrMessageWord(spec('createRefund'))).toMatchObject({ word: 'refund', kind: 'money', where: 'name' });
    expect(moneyOrMessageWord(spec('post_payouts'))).toMatchObject({ word: 'payouts' });
    expect(moneyOrMessageWord(spec('notifyCustomer', ''))).toMatchObject({ kind: 'a message' });
    expect(moneyOrMessageWord(spec('create', 'Sends an email to the customer.'))).toMatchObject({ where: 'description', kind: 'a message' });
    expect(moneyOrMessageWord(spec('create', 'Post to the #general Slack channel.'))).toMatchObject({ word: 'post to a channel' });
    // Money and messages by other names (public reports: a wire, gift cards, a withdrawal, a tweet).
    expect(moneyOrMessageWord(spec('wireMoney', 'Wire money to an external bank account'))).toMatchObject({ word: 'wire', kind: 'money' });
    expect(moneyOrMessageWord(spec('buyGiftCards'))).toMatchObject({ word: 'buy', kind: 'money' });
    expect(moneyOrMessageWord(spec('withdrawFunds'))).toMatchObject({ word: 'withdraw', kind: 'money' });
    expect(moneyOrMessageWord(spec('postTweet'))).toMatchObject({ word: 'tweet', kind: 'a message' });
    expect(moneyOrMessageWord(spec('create', 'Publish the post on the company blog.'))).toMatchObject({ word: 'publish', kind: 'a message' });
    expect(moneyOrMessageWord(spec('create', '', 'create', 'invoices'))).toMatchObject({ where: 'resource', word: 'invoices' });
    expect(moneyOrMessageWord(spec('createRefund', '', 'read'))).toBeUndefined();
    expect(moneyOrMessageWord(spec('updateLead', 'Change some fields of a lead.'))).toBeUndefined();
    // Words, not substrings: "display" holds "pay", "discharge" holds "charge".
    expect(moneyOrMessageWord(spec('updateDisplay', 'Discharge the queue.'))).toBeUndefined();
  });
});
