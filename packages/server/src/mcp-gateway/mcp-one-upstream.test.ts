/**
 * One gateway, one set of upstreams: `portcullis mcp --agent` (a real child process) bridges
 * stdio to the running gateway's /mcp, so a stdio client's approved write is visible to its next
 * read, and its calls reach the very upstream process the HTTP clients reach (the fixture's
 * `pid` tool says which). A second serving process on the same store — `portcullis start` or
 * `portcullis mcp --standalone` — is refused naming the holder, while offline commands still run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as SdkClient, type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFromSources } from '../testing/cli-from-sources.js';
import { openHarness, type Harness } from '../testing/harness.js';
import { freePort } from '../testing/json-server.js';
import { FAULTY_SERVER, harnessEnv, heldCall, httpAgent, mcpConfig, resultText, stdioAgent, yamlList } from '../testing/mcp-servers.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

const pids = `
  pids:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    env: { FIXTURE_PID_TOOL: { env: PID_TOOL } }
    timeout: 10s
`;

describe('portcullis mcp bridged to the running gateway', () => {
  let dir: TempDir;
  let harness: Harness;
  let stdio: Client;
  let http: Client;
  let url: string;

  beforeAll(async () => {
    dir = makeTempDir('portcullis-one-upstream');
    const env = { MEM_FILE: join(dir.path, 'memory.jsonl'), PID_TOOL: '1' };
    harness = await openHarness({ configYaml: mcpConfig({ holdTime: '20s', extraSystems: pids, extraGrants: ['pids:pid:read'] }), env });
    const baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
    stdio = await stdioAgent({ config: join(harness.dir, 'portcullis.yaml'), agent: 'bot', key: harness.secrets.agent, env: harnessEnv(harness, env), url: baseUrl });
    http = await httpAgent(baseUrl, harness.secrets.agent);
    url = baseUrl;
  }, 60_000);

  afterAll(async () => {
    await stdio?.close();
    await http?.close();
    await harness?.close();
    dir?.cleanup();
  });

  it('says the gateway refused the key, not that it cannot be reached, when the agent key is wrong', async () => {
    await expect(stdioAgent({ config: join(harness.dir, 'portcullis.yaml'), agent: 'bot', key: 'not-the-agent-key-0123', env: harnessEnv(harness, { MEM_FILE: join(dir.path, 'memory.jsonl'), PID_TOOL: '1' }), url }))
      .rejects.toThrow(/the gateway at .*\/mcp refused the agent key \(HTTP 401\): set PORTCULLIS_AGENT_KEY \(or --key\) to the API key of the agent named by --agent/);
  });

  it('refuses a key of another agent than --agent, naming both, and /mcp refuses a request naming another agent than its key\'s', async () => {
    await expect(stdioAgent({ config: join(harness.dir, 'portcullis.yaml'), agent: 'auto-bot', key: harness.secrets.agent, env: harnessEnv(harness, { MEM_FILE: join(dir.path, 'memory.jsonl'), PID_TOOL: '1' }), url }))
      .rejects.toThrow(/refused the key: this API key belongs to agent "bot", not to "auto-bot"; set PORTCULLIS_AGENT_KEY \(or --key\) to the API key of the agent named by --agent/);
    const post = (agent: string) => harness.gateway.app.inject({
      method: 'POST', url: '/mcp', payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      headers: { accept: 'application/json, text/event-stream', authorization: `Bearer ${harness.secrets.agent}`, 'x-portcullis-agent': agent },
    });
    const refused = await post('auto-bot');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toContain('this API key belongs to agent "bot", not to "auto-bot"');
    expect((await post('bot')).statusCode).toBe(200);
  });

  it('bridges with -c from an environment that holds only the agent\'s key: people\'s tokens and systems\' variables are not needed', async () => {
    const cli = cliFromSources(['mcp', '--agent', 'bot', '-c', join(harness.dir, 'portcullis.yaml')]);
    const client = new SdkClient({ name: 'lean-agent', version: '1.0.0' });
    // No T_DANA, T_TOM, K_AGENT, MEM_FILE…: only what an agent's launch should need.
    await client.connect(new StdioClientTransport({ command: cli.command, args: cli.args, env: { ...cli.env, PATH: process.env.PATH ?? '', PORT: new URL(url).port, PORTCULLIS_AGENT_KEY: harness.secrets.agent } }));
    try {
      expect(resultText(await client.callTool({ name: 'pid', arguments: {} }))).toMatch(/^\d+$/);
    } finally {
      await client.close();
    }
  });

  it('reaches the same upstream process as the HTTP clients', async () => {
    const overStdio = resultText(await stdio.callTool({ name: 'pid', arguments: {} }));
    expect(overStdio).toMatch(/^\d+$/);
    expect(resultText(await http.callTool({ name: 'pid', arguments: {} }))).toBe(overStdio);
  });

  it('makes an approved write visible to the next read', async () => {
    const call = heldCall(stdio, 'create_entities', { entities: [{ name: 'Hopper', entityType: 'person', observations: ['wrote a compiler'] }] });
    const id = await call.proposal;
    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'fine' } });
    expect(approved.statusCode).toBe(200);
    expect((await call.result).isError).not.toBe(true);
    expect(resultText(await stdio.callTool({ name: 'read_graph', arguments: {} }))).toContain('Hopper');
    expect(resultText(await http.callTool({ name: 'read_graph', arguments: {} }))).toContain('Hopper');
  });
});

describe('the store\'s serving lease', () => {
  let dir: TempDir;
  let config: string;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = makeTempDir('portcullis-lease');
    config = join(dir.path, 'portcullis.yaml');
    writeFileSync(config, mcpConfig());
    env = { K_AGENT: 'agent-key-0123456789', K_OTHER: 'other-key-0123456789', T_DANA: 'dana-token-0123456789', T_TOM: 'tom-token-0123456789', MEM_FILE: join(dir.path, 'memory.jsonl') };
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    dir.cleanup();
  });

  /** Starts `portcullis ARGS…`; `listening` resolves once it says it listens, `done` with its exit code and what it said. */
  const launch = (args: readonly string[]): { child: ChildProcess; listening: Promise<void>; done: Promise<{ code: number | null; err: string }> } => {
    const cli = cliFromSources(args);
    const child = spawn(cli.command, cli.args, { env: { ...process.env, ...cli.env, ...env, PORTCULLIS_AGENT_KEY: env.K_AGENT ?? '' }, stdio: ['pipe', 'ignore', 'pipe'] });
    children.push(child);
    let err = '';
    let heard = (): void => undefined;
    const listening = new Promise<void>((resolve) => { heard = resolve; });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('gateway listening on')) heard();
    });
    const done = new Promise<{ code: number | null; err: string }>((resolve) => { child.once('close', (code) => resolve({ code, err })); });
    const listens = Promise.race([listening, done.then(({ code, err: said }) => { throw new Error(`exited with ${code}: ${said}`); })]);
    listens.catch(() => undefined); // awaited only for the processes expected to listen
    return { child, listening: listens, done };
  };

  it('refuses a second serving process naming the holder; offline commands run; the lease ends with its holder', async () => {
    const first = launch(['start', '-c', config, '-p', String(await freePort()), '--host', '127.0.0.1']);
    await first.listening;
    const holder = new RegExp(`the store .*portcullis\\.db is already served by process ${first.child.pid} on .* \\(portcullis start, since `);
    const second = await launch(['start', '-c', config, '-p', String(await freePort()), '--host', '127.0.0.1']).done;
    expect(second.code).toBe(1);
    expect(second.err).toMatch(holder);
    const standalone = await launch(['mcp', '--agent', 'bot', '-c', config, '--standalone']).done;
    expect(standalone.code).toBe(1);
    expect(standalone.err).toMatch(holder);
    expect(standalone.err).toContain('`portcullis mcp --agent ID` bridges to it');
    const offline = await launch(['audit', 'verify', '-c', config]).done;
    expect(offline.code).toBe(0);
    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(0);
    const next = launch(['start', '-c', config, '-p', String(await freePort()), '--host', '127.0.0.1']);
    await next.listening;
    next.child.kill('SIGTERM');
    expect((await next.done).code).toBe(0);
  }, 90_000);
});
