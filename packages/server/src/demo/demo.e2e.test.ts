/**
 * End to end, as a new user runs it: the `portcullis demo` command in its own process (run
 * from its sources), then the pasted commands: an agent proposal over HTTP and an approval
 * with the CLI.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFromSources } from '../testing/cli-from-sources.js';

const port = 20_000 + Math.floor(Math.random() * 20_000);
const dir = mkdtempSync(join(tmpdir(), 'portcullis-demo-'));
let child: ChildProcess;
let output = '';

/** Runs `portcullis ARGS…` (from its sources) to its end, with `env` added to this process's environment. */
async function portcullis(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string }> {
  const cli = cliFromSources(args);
  return promisify(execFile)(cli.command, cli.args, { env: { ...process.env, ...env, ...cli.env } });
}

beforeAll(async () => {
  const cli = cliFromSources(['demo', '--port', String(port), '--dir', dir]);
  child = spawn(cli.command, cli.args, { env: { ...process.env, ...cli.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Serving once it says so; a demo that exits first did not start.
  await new Promise<void>((resolve, reject) => {
    const said = (d: Buffer): void => {
      output += d.toString();
      if (output.includes('Serving until')) resolve();
    };
    child.stdout?.on('data', said);
    child.stderr?.on('data', said);
    child.once('exit', (code) => reject(new Error(`the demo exited (code ${code}) before it served:\n${output}`)));
  });
}, 40_000);

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

const value = (name: string): string => {
  const match = new RegExp(`export ${name}=(\\S+)`).exec(output);
  if (match?.[1] === undefined) throw new Error(`${name} not printed`);
  return match[1];
};

describe('portcullis demo', () => {
  it('prints what the scripted agent did: a read, routings waiting, a denied write, a denied out-of-scope lead, a delete waiting', () => {
    expect(output).toMatch(/✓ ran\s+read unrouted leads/);
    expect(output).toMatch(/… waits\s+route lead 1/);
    expect(output).toMatch(/✗ denied mark lead 1 qualified[\s\S]*FIELDS_OUTSIDE_GRANT/);
    expect(output).toMatch(/✗ denied route lead 6[\s\S]*OUTSIDE_SCOPE/);
    expect(output).toMatch(/… waits\s+delete lead 5[\s\S]*high risk/);
    expect(output).toMatch(/Dana \(sales lead\) approved prop_\w+: it is now succeeded/);
    expect(output).toMatch(/Workflow route-leads is in pilot \(deployed today\): its writes are approval-first/);
  });

  it('answers /healthz and /readyz, and the pasted commands work: propose with the key, approve with the CLI', async () => {
    const url = `http://127.0.0.1:${port}`;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const proposed = await fetch(`${url}/v1/actions`, {
      method: 'POST', headers: { authorization: `Bearer ${value('AGENT_KEY')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [3], set: { owner_id: 'rep-kenji' } }, reason: 'APAC lead' }),
    });
    const proposal = (await proposed.json()) as { id: string; status: string };
    expect(proposal.status).toBe('pending_approval');
    const { stdout } = await portcullis(['approvals', 'approve', proposal.id, '--reason', 'ok'], { PORTCULLIS_URL: url, PORTCULLIS_TOKEN: value('PORTCULLIS_TOKEN') });
    expect(stdout).toContain(`${proposal.id} is now succeeded`);
    const verify = await portcullis(['audit', 'verify', '--db', join(dir, 'portcullis.db')]);
    expect(verify.stdout).toMatch(/audit trail OK/);
  });
});
