/**
 * Stopping never waits out a hold: a gateway process (`portcullis start`, calls over
 * Streamable HTTP; and `portcullis mcp`, calls over stdio) sent SIGTERM while it holds a call
 * that needs approval answers that call "pending" with its approval id at once, and exits.
 * The hold time is ten minutes, far beyond the test's timeout: a process that waited it out
 * would fail the test. Real child processes, in front of the reference memory server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFromSources } from '../testing/cli-from-sources.js';
import { freePort } from '../testing/json-server.js';
import { heldCall, httpAgent, mcpConfig, proposalIdOf, resultText, stdioAgent } from '../testing/mcp-servers.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

const entity = { entities: [{ name: 'Barbara', entityType: 'person', observations: [] }] };
let dir: TempDir;
let config: string;
let env: Record<string, string>;

beforeAll(() => {
  dir = makeTempDir('portcullis-shutdown');
  config = join(dir.path, 'portcullis.yaml');
  writeFileSync(config, mcpConfig({ holdTime: '10m', progressInterval: '1s' }));
  env = { K_AGENT: 'agent-key-0123456789', K_OTHER: 'other-key-0123456789', T_DANA: 'dana-token-0123456789', T_TOM: 'tom-token-0123456789', MEM_FILE: join(dir.path, 'memory.jsonl') };
});
afterAll(() => dir.cleanup());

/** Resolves with the exit code and signal of `child` once it has exited. */
const exited = (child: ChildProcess): Promise<{ code: number | null; signal: string | null }> => new Promise((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) { resolve({ code: child.exitCode, signal: child.signalCode }); return; }
  child.once('exit', (code, signal) => resolve({ code, signal }));
});

/** Starts `portcullis start` on a free port; resolves once it listens. */
async function startGateway(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const { command, args, env: extra } = cliFromSources(['start', '-c', config, '-p', String(port), '--host', '127.0.0.1']);
  const child = spawn(command, args, { env: { ...process.env, ...extra, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('gateway listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`portcullis start exited with ${code}: ${said}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** The process id of a stdio client's `portcullis mcp`. */
const pidOf = (bot: Client): number => {
  const pid = (bot.transport as StdioClientTransport | undefined)?.pid;
  if (pid === undefined || pid === null) throw new Error('the stdio gateway has no process id');
  return pid;
};

describe('SIGTERM during a hold', () => {
  it('portcullis start answers the held HTTP call pending with its approval id, and exits', async () => {
    const { child, url } = await startGateway();
    const bot: Client = await httpAgent(url, env.K_AGENT ?? '');
    try {
      const call = heldCall(bot, 'create_entities', entity);
      const id = await call.proposal;
      const stopped = exited(child);
      child.kill('SIGTERM');
      const result = await call.result;
      expect(resultText(result)).toMatch(/^PENDING - not done yet/);
      expect(resultText(result)).toContain(`Approval id: ${id}`);
      expect(proposalIdOf(result)).toBe(id);
      expect(await stopped).toEqual({ code: 0, signal: null });
    } finally {
      await bot.close();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('portcullis mcp answers the held stdio call pending with its approval id, and exits', async () => {
    const bot = await stdioAgent({ config, agent: 'bot', key: env.K_AGENT ?? '', env });
    const pid = pidOf(bot);
    try {
      const call = heldCall(bot, 'create_entities', entity);
      const id = await call.proposal;
      const gone = new Promise<void>((resolve) => { bot.onclose = () => resolve(); });
      process.kill(pid, 'SIGTERM');
      const result = await call.result;
      expect(resultText(result)).toMatch(/^PENDING - not done yet/);
      expect(proposalIdOf(result)).toBe(id);
      // The process exits: its end of the pipe closes.
      await gone;
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      await bot.close();
    }
  }, 60_000);

  it('a portcullis mcp bridging to a running gateway answers its held call pending with the approval id, and exits; the gateway keeps it', async () => {
    const { child, url } = await startGateway();
    try {
      const bot = await stdioAgent({ config, agent: 'bot', key: env.K_AGENT ?? '', env, url });
      const pid = pidOf(bot);
      let id = '';
      try {
        const call = heldCall(bot, 'create_entities', { entities: [{ name: 'Carol', entityType: 'person', observations: [] }] });
        id = await call.proposal;
        const gone = new Promise<void>((resolve) => { bot.onclose = () => resolve(); });
        process.kill(pid, 'SIGTERM');
        const result = await call.result;
        expect(resultText(result)).toMatch(/^PENDING - not done yet/);
        expect(resultText(result)).toContain(`Approval id: ${id}`);
        expect(proposalIdOf(result)).toBe(id);
        await gone;
        expect(() => process.kill(pid, 0)).toThrow();
      } finally {
        await bot.close();
      }
      // The proposal still waits at the gateway, which still serves.
      const again = await httpAgent(url, env.K_AGENT ?? '');
      try {
        const held = heldCall(again, 'create_entities', { entities: [{ name: 'Carol', entityType: 'person', observations: [] }] });
        // The same call made again attaches to the same proposal, still held.
        expect(await held.proposal).toBe(id);
      } finally {
        await again.close();
      }
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  }, 60_000);
});
