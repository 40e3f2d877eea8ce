/**
 * An MCP upstream can carry the credential the gateway gave it back in what it says: a tool
 * result (server-everything's get-env returns its whole environment), an isError text, the
 * last lines of its standard error before it crashes, a line that is not JSON-RPC, a tool
 * description (testing/fixtures/leaky-mcp-server.mjs). The gateway redacts every credential
 * it passed upstream from all of it before it reaches the agent (over /mcp) or the audit
 * trail, also encoded, and also where a message cuts the text short.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { httpAgent, proposalIdOf, resultText, serverEntry, yamlList } from '../testing/mcp-servers.js';

const LEAKY_SERVER = fileURLToPath(new URL('../testing/fixtures/leaky-mcp-server.mjs', import.meta.url));
// '+' and '/' make its URL-encoded and JSON forms differ from the value.
const LEAKY_TOKEN = `up+tok/${randomBytes(18).toString('hex')}`;
const EVERYTHING_TOKEN = `ev_${randomBytes(18).toString('base64url')}`;
const SECRETS = [LEAKY_TOKEN, EVERYTHING_TOKEN];

const config = `
version: 1
store: { kind: sqlite, path: ./portcullis.db }
systems:
  everything:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([serverEntry('@modelcontextprotocol/server-everything'), 'stdio'])}
    env: { EVERYTHING_API_TOKEN: { env: EVERYTHING_TOKEN } }
    timeout: 20s
  leaky:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([LEAKY_SERVER])}
    env: { UPSTREAM_TOKEN: { env: LEAKY_TOKEN } }
    timeout: 5s
departments:
  ops: { name: Operations, leads: [dana] }
people:
  dana: { name: Dana, tokenEnv: T_DANA }
  tom: { name: Tom, tokenEnv: T_TOM }
agents:
  bot: { name: Ops bot, owner: tom, department: ops, keyEnv: K_AGENT }
workflows:
  ops:
    description: Look things up in the ops tools
    agent: bot
    department: ops
    owner: tom
    runbook: Look it up by hand.
    # These tests make the upstream fail on purpose, call after call: keep the circuit breaker out of their way.
    breaker: { failures: 100 }
    grants:
      - everything:get-env:read
      - leaky:whoami:read
      - leaky:fail_loudly:read
      - leaky:crash_loudly:read
      - leaky:garble_secret:read
`;

let harness: Harness;
let bot: Client;
/** Everything the agent was answered. */
const answered: string[] = [];

beforeAll(async () => {
  harness = await openHarness({ configYaml: config, env: { EVERYTHING_TOKEN, LEAKY_TOKEN } });
  bot = await httpAgent(await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' }), harness.secrets.agent);
}, 60_000);
afterAll(async () => {
  await bot?.close();
  await harness?.close();
});

async function call(name: string, args: Record<string, unknown> = {}) {
  const result = await bot.callTool({ name, arguments: args });
  answered.push(JSON.stringify(result));
  const events = (await auditTrail(harness)).filter((e) => e.proposalId === proposalIdOf(result));
  return { result, text: resultText(result), events };
}

/** Fragments of a secret a cut message could leave: its first and last 8 characters. */
const fragments = (secret: string): string[] => [secret, secret.slice(0, 8), secret.slice(-8)];

describe('credentials an MCP upstream says back', () => {
  it('are redacted from a tool result before the agent and the audit trail see it (server-everything get-env)', async () => {
    const { result, text, events } = await call('get-env');
    expect(result.isError).not.toBe(true);
    expect(text).toMatch(/"EVERYTHING_API_TOKEN": "\[redacted\]"/);
    const succeeded = events.find((e) => e.type === 'execution.succeeded');
    expect(JSON.stringify(succeeded?.data)).toMatch(/EVERYTHING_API_TOKEN\\+": \\+"\[redacted\]/);
    for (const where of [text, JSON.stringify(events)]) expect(where).not.toContain(EVERYTHING_TOKEN);
  });

  it('are redacted from text and structured results, keys included, and from tool descriptions', async () => {
    const { tools } = await bot.listTools();
    answered.push(JSON.stringify(tools));
    expect(tools.find((t) => t.name === 'whoami')?.description).toMatch(/^Says which credential it was started with \(\[redacted\]\)\.\n/);
    const { result, text } = await call('whoami');
    expect(text).toBe('started with token=[redacted]');
    expect(result.structuredContent).toEqual({ token: '[redacted]', 'key-[redacted]': true });
  });

  it('are redacted from an isError text, encoded ones too, in the agent\'s message and the audited failure', async () => {
    const { result, text, events } = await call('fail_loudly');
    expect(result.isError).toBe(true);
    expect(text).toBe(`This call ran and failed (UPSTREAM_FAILED): tool "fail_loudly" of MCP system "leaky" reported an error: the API refused token [redacted] (basic [redacted], query ?token=[redacted]). Proposal ${proposalIdOf(result)} (leaky.fail_loudly, workflow ops).`);
    const failed = events.find((e) => e.type === 'execution.failed');
    expect(failed?.data.message).toBe('tool "fail_loudly" of MCP system "leaky" reported an error: the API refused token [redacted] (basic [redacted], query ?token=[redacted])');
  });

  it('are redacted from the stderr lines of an upstream that crashes, even where the quoted tail cuts the credential', async () => {
    const crashed = await call('crash_loudly');
    expect(crashed.result.isError).toBe(true);
    expect(crashed.text).toMatch(/failed while calling tool "crash_loudly": it stopped .*; its last output on stderr: leaky fixture: the API refused token \[redacted\]\. Proposal/);
    expect(crashed.events.find((e) => e.type === 'execution.failed')?.data.message).toMatch(/its last output on stderr: leaky fixture: the API refused token \[redacted\]$/);

    // 290 characters after the credential: a tail of 300 cut first would begin inside it.
    const padded = await call('crash_loudly', { pad: 290 });
    // The tail is cut after redaction, so at most the marker is cut.
    expect(padded.text).toMatch(/its last output on stderr: \S*redacted\]\n\.{290}\. Proposal/);
    for (const text of [padded.text, JSON.stringify(padded.events)]) for (const part of fragments(LEAKY_TOKEN)) expect(text).not.toContain(part);
  });

  it('are not quoted from a line that is not JSON-RPC, not even the start of it', async () => {
    const { result, text, events } = await call('garble_secret');
    expect(result.isError).toBe(true);
    expect(text).toMatch(/failed while calling tool "garble_secret": it sent malformed JSON-RPC: a line that is not JSON/);
    for (const where of [text, JSON.stringify(events)]) for (const part of fragments(LEAKY_TOKEN)) expect(where).not.toContain(part);
  });

  it('appear nowhere the agent or the audit trail can see, in any form', async () => {
    const trail = JSON.stringify(await auditTrail(harness));
    const forms = SECRETS.flatMap((s) => [...fragments(s), encodeURIComponent(s), Buffer.from(s).toString('base64'), JSON.stringify(s).slice(1, -1)]);
    expect(answered.length).toBeGreaterThanOrEqual(6);
    for (const text of [...answered, trail]) for (const form of forms) expect(text).not.toContain(form);
  });
});
