/**
 * End to end, as a new user runs it: the built `portcullis demo` command in its own process,
 * then the pasted commands: an agent proposal over HTTP and an approval with the CLI.
 * Needs the build (`npm test` builds before it runs the tests).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/portcullis.js', import.meta.url));
const built = fileURLToPath(new URL('../../dist/wiring/main.js', import.meta.url));
const port = 20_000 + Math.floor(Math.random() * 20_000);
const dir = mkdtempSync(join(tmpdir(), 'portcullis-demo-'));
let child: ChildProcess;
let output = '';

beforeAll(async () => {
  if (!existsSync(built)) throw new Error('the CLI is not built: run `npm run build` (npm test does) before this test');
  child = spawn(process.execPath, [bin, 'demo', '--port', String(port), '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const deadline = Date.now() + 30_000;
  while (!output.includes('Serving until') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!output.includes('Serving until')) throw new Error(`the demo did not start:\n${output}`);
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
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'approvals', 'approve', proposal.id, '--reason', 'ok'], {
      env: { ...process.env, PORTCULLIS_URL: url, PORTCULLIS_TOKEN: value('PORTCULLIS_TOKEN') },
    });
    expect(stdout).toContain(`${proposal.id} is now succeeded`);
    const verify = await promisify(execFile)(process.execPath, [bin, 'audit', 'verify', '--db', join(dir, 'portcullis.db')]);
    expect(verify.stdout).toMatch(/audit chain OK/);
  });
});
