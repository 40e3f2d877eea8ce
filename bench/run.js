/**
 * The benchmark suite: `npm run bench` (build, then every benchmark; about 5–8 minutes once
 * the audit trails are cached) or `npm run bench -- --quick` (a smoke run under a minute,
 * smaller counts). `--only=policy,http` runs some. A full run writes bench/results/latest.json
 * and the table in bench/README.md; a quick run writes bench/results/quick.json only.
 * Nothing here asserts a timing: a missed target is a row marked fail, not an exit code.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureAuditTrail } from './audit-data.js';
import { runAuditAppendBenchmark } from './audit-append.js';
import { runAuditQueryBenchmark } from './audit-query.js';
import { runAuditVerifyBenchmark } from './audit-verify.js';
import { runAuditTreeBenchmark } from './audit-tree.js';
import { runHttpBenchmark } from './http.js';
import { machine, round } from './lib.js';
import { runMcpBenchmark } from './mcp.js';
import { runPolicyBenchmark } from './policy.js';

const BENCHMARKS = [
  { id: 'policy', run: runPolicyBenchmark, limitS: 120 },
  { id: 'audit-append', run: runAuditAppendBenchmark, limitS: 120 },
  { id: 'audit-verify', run: runAuditVerifyBenchmark, limitS: 150 },
  { id: 'audit-tree', run: runAuditTreeBenchmark, limitS: 180 },
  { id: 'audit-query', run: runAuditQueryBenchmark, limitS: 120 },
  { id: 'http', run: runHttpBenchmark, limitS: 150 },
  { id: 'mcp', run: runMcpBenchmark, limitS: 60 },
];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const unknown = only?.filter((id) => !BENCHMARKS.some((b) => b.id === id)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.id).join(', ')}`);
  process.exit(2);
}
const selected = BENCHMARKS.filter((b) => only === undefined || only.includes(b.id));

/** Rejects if `promise` takes longer than `seconds`, so one stuck benchmark cannot hang the suite. */
function bounded(promise, seconds, id) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${id} took longer than its ${seconds} s limit`)), seconds * 1000); });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

const started = Date.now();
console.error(`portcullis benchmarks (${quick ? 'quick' : 'full'}) on ${machine().cores} cores, Node ${process.version}`);

// Generated audit trails are cached under bench/.data/; the first full run makes them
// (1M events in about 40 s, 10M in about 6 min here), outside the benchmarks' time limits.
if (selected.some((b) => b.id === 'audit-verify' || b.id === 'audit-query' || b.id === 'audit-tree')) {
  if (quick) await ensureAuditTrail(100_000);
  else {
    await ensureAuditTrail(1_000_000);
    if (selected.some((b) => b.id === 'audit-query')) await ensureAuditTrail(10_000_000, { extendFrom: 1_000_000 });
  }
}
const preparedS = (Date.now() - started) / 1000;

const rows = [];
const details = {};
let failures = 0;
for (const benchmark of selected) {
  const t = Date.now();
  console.error(`${benchmark.id}…`);
  try {
    const result = await bounded(benchmark.run({ quick }), benchmark.limitS, benchmark.id);
    rows.push(...result.rows);
    details[benchmark.id] = { ...result.details, seconds: (Date.now() - t) / 1000 };
  } catch (error) {
    failures += 1;
    console.error(`  ${benchmark.id} failed: ${error.stack ?? error}`);
    details[benchmark.id] = { error: String(error.message ?? error), seconds: (Date.now() - t) / 1000 };
  }
}

const results = {
  mode: quick ? 'quick' : 'full',
  generatedAt: new Date().toISOString(),
  machine: machine(),
  seconds: { total: round((Date.now() - started) / 1000, 4), preparingData: round(preparedS, 4) },
  rows,
  details,
};
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const partial = only !== undefined;
const file = quick || partial ? 'quick.json' : 'latest.json';
writeFileSync(`${resultsDir}${file}`, `${JSON.stringify(results, null, 2)}\n`);
if (!quick && !partial) writeReadmeTable(results);
console.error(`\n${markdownTable(results)}\nwrote bench/results/${file}${!quick && !partial ? ' and the table in bench/README.md' : ''} in ${Math.round(results.seconds.total)} s`);
process.exitCode = failures > 0 ? 1 : 0;

function formatValue(value, unit) {
  if (value === null || value === undefined) return '—';
  const text = Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en') : String(value);
  return unit === null ? text : `${text} ${unit}`;
}

/** The results table in Markdown. */
function markdownTable(r) {
  const lines = [
    '| figure | value | baseline (same run) | ratio | target | result |',
    '|---|---|---|---|---|---|',
  ];
  for (const x of r.rows) {
    const baseline = x.baseline === null ? '—' : `${x.baseline}${x.baselineValue === null ? '' : `: ${formatValue(x.baselineValue, x.baselineUnit)}`}`;
    const result = x.pass === true ? 'pass' : x.pass === false ? '**fail**' : x.value === null ? 'not measured' : '—';
    const note = x.note === null ? '' : ` <br><sub>${x.note}</sub>`;
    lines.push(`| ${x.figure}${note} | ${formatValue(x.value, x.unit)} | ${baseline} | ${x.ratio === null ? '—' : `${x.ratio}×`} | ${x.target ?? '—'} | ${result} |`);
  }
  const m = r.machine;
  lines.push('', `Measured ${r.generatedAt.slice(0, 10)} in one ${r.mode} run of ${Math.round(r.seconds.total)} s on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`);
  return lines.join('\n');
}

/** Replaces the table between the markers in bench/README.md. */
function writeReadmeTable(r) {
  const path = fileURLToPath(new URL('./README.md', import.meta.url));
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = `# Benchmarks\n\n${start}\n${end}\n`;
  }
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to === -1) throw new Error('bench/README.md has lost its results markers');
  writeFileSync(path, `${text.slice(0, from + start.length)}\n${markdownTable(r)}\n${text.slice(to)}`);
}
