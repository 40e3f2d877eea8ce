/**
 * The command as a process: `start` on a taken port ends with a clear message and a non-zero
 * exit even with MCP upstream processes running, and a closed output pipe
 * (`portcullis audit export | head -1`) ends the command quietly.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFromSources } from '../testing/cli-from-sources.js';
import { openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { mcpConfig } from '../testing/mcp-servers.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

/** Runs `portcullis ARGS…` from the sources; `closeStdout` closes the reading end of its output at once. */
function launch(args: readonly string[], env: Record<string, string>, closeStdout = false): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  const { command, args: argv, env: extra } = cliFromSources(args);
  const child = spawn(command, argv, { env: { ...process.env, ...extra, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  if (closeStdout) child.stdout.destroy();
  else child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
  return new Promise((resolve) => { child.once('close', (code, signal) => resolve({ code, signal, out, err })); });
}

let dir: TempDir;
beforeAll(() => { dir = makeTempDir('portcullis-processes'); });
afterAll(() => dir.cleanup());

describe('portcullis start on a taken port', () => {
  let taken: Server;
  let port: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('exits 1 with a clear message, with MCP systems configured (their processes closed)', async () => {
    const config = join(dir.path, 'mcp.yaml');
    writeFileSync(config, mcpConfig());
    const env = { K_AGENT: 'agent-key', K_OTHER: 'other-key', T_DANA: 'dana-token', T_TOM: 'tom-token', MEM_FILE: join(dir.path, 'memory.jsonl') };
    const result = await launch(['start', '-c', config, '-p', String(port), '--host', '127.0.0.1'], env);
    expect(result.err).toContain(`portcullis: cannot start: port ${port} on 127.0.0.1 is already in use (another gateway?); stop what uses it, or pass -p PORT`);
    expect(result.code).toBe(1);
  }, 60_000);
});

describe('a closed output pipe', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await openHarness();
    for (let i = 0; i < 5; i += 1) await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: {} });
    await harness.gateway.store.close();
  });
  afterAll(() => harness.close());

  it('ends audit export quietly, exit 0, no EPIPE', async () => {
    const result = await launch(['audit', 'export', '--db', harness.storePath, '--format', 'jsonl'], {}, true);
    expect(result.err).not.toMatch(/EPIPE|Error/);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
  }, 60_000);
});
