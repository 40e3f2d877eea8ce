/**
 * Pre-flight checks: is each system reachable with the gateway's credentials? Runs every
 * connector's `check()` at once, each bounded in time, and never throws: a check that
 * throws, hangs or has no connector is a failed check with its reason. Checks change
 * nothing in the systems.
 */
import { performance } from 'node:perf_hooks';
import type { CompiledConfig } from '../config/compiled.js';
import type { Connector } from '../connectors/connector.js';

/** The outcome of one system's check. */
export interface SystemCheck {
  readonly system: string;
  /** The system's kind in the config (sql, http, mcp, smtp…). */
  readonly kind: string;
  readonly ok: boolean;
  /** What the connector reported: what it verified, or why it failed. */
  readonly detail: string;
  /** How long the check took, in milliseconds. */
  readonly ms: number;
}

/** How long one check may take before it counts as failed. */
const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

/** The longest delay a Node timer keeps; a longer one fires at once (so a long bound is clamped to it). */
const MAX_TIMER_MS = 2 ** 31 - 1;

async function checkOne(system: string, kind: string, connector: Connector | undefined, bound: number): Promise<SystemCheck> {
  const timeoutMs = Math.min(bound, MAX_TIMER_MS);
  const started = performance.now();
  const done = (ok: boolean, detail: string): SystemCheck => ({ system, kind, ok, detail, ms: Math.round(performance.now() - started) });
  if (connector === undefined) return done(false, 'no connector: the system is configured but not connected');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    const result = await Promise.race([connector.check(), timeout]);
    return result.ok ? done(true, result.detail) : done(false, result.error);
  } catch (error) {
    return done(false, error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks the named systems (default: every configured one), in parallel; results in the
 * order of `names` (default: config order).
 */
export async function checkSystems(
  config: Pick<CompiledConfig, 'systems'>, connectors: ReadonlyMap<string, Connector>,
  names: readonly string[] = [...config.systems.keys()], timeoutMs = DEFAULT_CHECK_TIMEOUT_MS,
): Promise<SystemCheck[]> {
  return Promise.all(names.map((name) => checkOne(name, config.systems.get(name)?.kind ?? 'unknown', connectors.get(name), timeoutMs)));
}

/** The checks as a text table: system, kind, status, time, detail. */
export function formatCheckTable(checks: readonly SystemCheck[]): string {
  const rows = [['SYSTEM', 'KIND', 'STATUS', 'TIME', 'DETAIL'], ...checks.map((c) => [c.system, c.kind, c.ok ? 'ok' : 'FAILED', `${c.ms} ms`, c.detail.replace(/\s+/g, ' ')])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i < 4 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ').trimEnd()).join('\n');
}
