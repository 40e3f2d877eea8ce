/**
 * Shared helpers of the benchmark suite: where the built product lives, the data folder,
 * percentiles, the machine description, and a tinybench wrapper for "one workload per
 * iteration" throughput runs. Every benchmark imports the product from the built `dist/`
 * folders (`npm run bench` builds first), never from copies.
 */
import { cpus, availableParallelism, totalmem } from 'node:os';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where generated databases are cached between runs (gitignored). */
export const DATA_DIR = fileURLToPath(new URL('./.data/', import.meta.url));

/** Creates (if needed) and returns a folder under bench/.data/. */
export function dataDir(name) {
  const dir = `${DATA_DIR}${name}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Imports a module of the built server, e.g. `store/sqlite/sqlite-store.js`. */
export function serverModule(path) {
  return import(new URL(`../packages/server/dist/${path}`, import.meta.url).href);
}

/** The built core (`@portcullis/core` resolves to packages/core/dist). */
export function coreModule() {
  return import('@portcullis/core');
}

/** The value at percentile `p` (0..100) of an ascending array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Rounds to `digits` significant digits, for tables and JSON. */
export function round(value, digits = 3) {
  if (!Number.isFinite(value) || value === 0) return value;
  const scale = 10 ** (digits - Math.ceil(Math.log10(Math.abs(value))));
  return Math.round(value * scale) / scale;
}

/** The machine the numbers were measured on. */
export function machine() {
  const cpu = cpus()[0];
  return {
    cores: availableParallelism(),
    cpu: cpu?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Resident set size of a process in MB, read from /proc (Linux); undefined elsewhere. */
export function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/**
 * Runs `workload` (async, returns nothing) under tinybench `iterations` times after one
 * warm-up, and returns the mean, min and max seconds per run. Used for throughput figures
 * where one iteration is a whole fixed workload (appending N events, verifying a chain).
 * `setup` runs before each iteration, outside the timing.
 */
export async function timeWorkload(name, workload, { iterations = 3, warmup = 1, setup } = {}) {
  const bench = new Bench({ name, time: 0, iterations, warmupTime: 0, warmupIterations: warmup, throws: true });
  bench.add(name, workload, setup === undefined ? {} : { beforeEach: setup });
  await bench.run();
  const task = bench.tasks[0];
  const result = task?.result;
  if (result === undefined || result.state !== 'completed') throw new Error(`benchmark ${name} did not complete: ${result?.state ?? 'no result'}`);
  const samples = result.latency;
  return { meanS: samples.mean / 1000, minS: samples.min / 1000, maxS: samples.max / 1000, samples: samples.samplesCount };
}

/** A row of the results table. `pass` is true, false, or null when there is no target or no measurement. */
export function row({ id, figure, value, unit, baseline, baselineValue, baselineUnit, ratio, target, pass, note }) {
  return {
    id, figure,
    value: value === undefined ? null : round(value, 4), unit: unit ?? null,
    baseline: baseline ?? null, baselineValue: baselineValue === undefined ? null : round(baselineValue, 4), baselineUnit: baselineUnit ?? unit ?? null,
    ratio: ratio === undefined || !Number.isFinite(ratio) ? null : round(ratio, 3),
    target: target ?? null,
    pass: pass ?? null,
    note: note ?? null,
  };
}
