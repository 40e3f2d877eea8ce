/**
 * Wiring for `portcullis simulate`: a run directory (a new temporary one, or an empty `--dir`)
 * holding the sample CRM and a fresh SQLite store, a gateway opened on it with an injected clock
 * and no timers, and the replay of service/simulation.ts. The store is first started with the
 * script's workflows left out — a gateway set up before them — so every workflow begins as a
 * draft and goes live only by a scripted `deploy` through the rollout gate.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '@portcullis/core';
import type { CompiledConfig } from '../config/compiled.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { createSampleCrm } from '../demo/sample-crm.js';
import { dayBounds } from '../service/daily-metrics.js';
import { unlimitedProposals } from '../service/rate-limiter.js';
import { runSimulation, type SimulationOutcome } from '../service/simulation.js';
import { parseSimulationScript } from '../service/simulation-script.js';
import { openGateway } from './gateway.js';

/** The sample CRM's file and store's file in the run directory. */
const CRM_FILE = 'crm.db';

function crmRefusesWrites(path: string, refuse: boolean): void {
  const db = new Database(path);
  try {
    db.exec(refuse
      ? "CREATE TRIGGER IF NOT EXISTS simulated_outage BEFORE UPDATE ON leads BEGIN SELECT RAISE(ABORT, 'the CRM refuses writes today (simulated outage)'); END"
      : 'DROP TRIGGER IF EXISTS simulated_outage');
  } finally {
    db.close();
  }
}

/**
 * Runs the script at `scriptPath`. With `dir`, the run directory is kept (it must be empty or
 * not exist); without, a temporary one is removed after.
 * @throws PortcullisError STORE_UNAVAILABLE and whatever the gateway throws while it runs
 */
export async function simulate(scriptPath: string, options: { dir?: string } = {}): Promise<SimulationOutcome> {
  let text: string;
  try {
    text = readFileSync(scriptPath, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, usage: true, message: `${scriptPath}: ${missing ? 'no such file; pass the path of a simulation script (examples/simulate/*.yaml)' : `cannot read it: ${(error as Error).message}`}` };
  }
  if (options.dir !== undefined && existsSync(options.dir) && readdirSync(options.dir).length > 0) {
    return { ok: false, usage: true, message: `--dir ${options.dir} is not empty: a simulation starts from a fresh store; pass a new or empty directory` };
  }
  const dir = options.dir === undefined ? mkdtempSync(join(tmpdir(), 'portcullis-simulate-')) : resolve(options.dir);
  const kept = options.dir !== undefined;
  try {
    const parsed = parseSimulationScript(text, { source: scriptPath, baseDir: dir, kinds: SYSTEM_KINDS });
    if (!parsed.ok) return { ok: false, usage: true, message: `${parsed.errors.join('\n')}\n${parsed.errors.length} problem(s) in ${scriptPath}; nothing was run` };
    const { script } = parsed;
    mkdirSync(dir, { recursive: true });
    const startMs = dayBounds(script.start, script.config.timeZone).start;
    let now = startMs;
    const clock: Clock = { now: () => now };
    createSampleCrm(join(dir, CRM_FILE), startMs);
    // The store's first start predates the workflows: they begin as drafts.
    const setUp: CompiledConfig = Object.freeze({ ...script.config, workflows: new Map() });
    await (await openGateway(setUp, { clock, expiryIntervalMs: 0, alertsIntervalMs: 0, rateLimiter: unlimitedProposals })).close();
    const gateway = await openGateway(script.config, { clock, expiryIntervalMs: 0, alertsIntervalMs: 0, rateLimiter: unlimitedProposals });
    try {
      const result = await runSimulation(script, {
        service: gateway.service,
        setTime: (ms) => { now = Math.max(now, ms); },
        crmRefusesWrites: (refuse) => crmRefusesWrites(join(dir, CRM_FILE), refuse),
      });
      return { ok: true, result, dir, kept };
    } finally {
      await gateway.close();
    }
  } finally {
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}
