/**
 * Profiles a slow path with `node --cpu-prof` and summarises where the time goes:
 *   node bench/profile.js http      the gateway child under 16-connection autocannon load
 *   node bench/profile.js append    100,000 single-event appends with group commit
 *   node bench/profile.js verify    `portcullis audit verify` over the cached 1M-event trail
 *   node bench/profile.js mcp       the `portcullis mcp` child during the MCP benchmark (quick size)
 *   node bench/profile.js summary F summarise an existing .cpuprofile
 * Profiles are written to bench/results/*.cpuprofile (gitignored; open them in Chrome
 * DevTools); the summary groups self time by area and lists the heaviest functions.
 * Run `npm run build` first.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { ACTION, AGENT_KEY } from './http-fixture.js';
import { dataDir } from './lib.js';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const AREAS = [
  ['fsync and SQL parsing (db.exec: BEGIN/COMMIT)', /methods\/wrappers\.js/, /^exec$/],
  ['statement preparation (db.prepare)', /methods\/wrappers\.js/, /^prepare$/],
  ['store (store/sqlite, store-rows)', /\/store\//],
  ['core (canonical JSON, hashing, policy, chain)', /core\/dist\/|crypto\/hash/],
  ['SQL connector (CRM)', /connectors\//],
  ['service (propose, execute)', /\/service\//],
  ['HTTP API and Fastify', /\/http\/|fastify|find-my-way|light-my-request|avvio|secure-json-parse|fast-json-stringify/],
  ['zod (validation, serialisation)', /zod/],
  ['Node http, streams, sockets', /node:_http|streams\/|node:net|internal\/http/],
  ['socket writes (writev)', /^$/, /^writev$/],
  ['garbage collector', /^$/, /\(garbage collector\)/],
  ['idle', /^$/, /\(idle\)/],
];

/** Self time by area and the heaviest functions of a .cpuprofile. */
export function summarise(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const areas = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const name = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    const area = AREAS.find(([, urlRe, fnRe]) => urlRe.test(url) && (fnRe === undefined || fnRe.test(functionName)))?.[0] ?? 'other';
    areas.set(area, (areas.get(area) ?? 0) + dt);
    total += dt;
  });
  const line = ([name, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`;
  return [
    `${file}: ${(total / 1000).toFixed(0)} ms sampled`,
    'self time by area:', ...[...areas].sort((a, b) => b[1] - a[1]).map(line),
    'heaviest functions (self time):', ...[...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(line),
  ].join('\n');
}

/** The newest .cpuprofile in `dir` written since `since` (ms); a profile of the same name is overwritten. */
function newest(dir, since) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => ({ f, at: statSync(`${dir}${f}`).mtimeMs })).filter((x) => x.at >= since);
  if (files.length === 0) throw new Error(`no new .cpuprofile in ${dir}`);
  return `${dir}${files.sort((a, b) => a.at - b.at).at(-1).f}`;
}

async function profileHttp() {
  const dir = dataDir('profile-http');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const before = Date.now();
  const child = fork(fileURLToPath(new URL('./http-server.js', import.meta.url)), ['gateway', dir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--cpu-prof', `--cpu-prof-dir=${RESULTS}`, '--cpu-prof-name=http-gateway.cpuprofile'],
  });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/actions`, method: 'POST', body: JSON.stringify(ACTION), connections: 16, duration: 8,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${AGENT_KEY}` },
  });
  child.send('stats');
  const { stats } = await new Promise((resolve) => child.once('message', resolve));
  child.send('stop');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
  console.log(`${Math.round(result.requests.average)} req/s, ${result.requests.total} requests, p50 ${result.latency.p50} ms; write queue: ${JSON.stringify(stats)}`);
  return newest(RESULTS, before);
}

function profileScript(name, script) {
  const before = Date.now();
  execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${RESULTS}`, `--cpu-prof-name=${name}.cpuprofile`, '--input-type=module', '-e', script], { stdio: 'inherit' });
  return newest(RESULTS, before);
}

const [what, file] = process.argv.slice(2);
mkdirSync(RESULTS, { recursive: true });
const bench = fileURLToPath(new URL('./', import.meta.url));
let profile;
if (what === 'http') profile = await profileHttp();
else if (what === 'append') {
  profile = profileScript('audit-append', `
    import { runAuditAppendBenchmark } from '${bench}audit-append.js';
    const r = await runAuditAppendBenchmark({ quick: false });
    console.log(r.rows[0].value, 'events/s');`);
} else if (what === 'verify') {
  profile = profileScript('audit-verify', `
    import { ensureAuditTrail } from '${bench}audit-data.js';
    import { serverModule } from '${bench}lib.js';
    const { path } = await ensureAuditTrail(1000000);
    const { run } = await serverModule('wiring/main.js');
    const t = Date.now();
    await run(['node', 'portcullis', 'audit', 'verify', '--db', path], { out: console.log, err: () => {} });
    console.log(Math.round(1e6 / ((Date.now() - t) / 1000)), 'events/s');`);
} else if (what === 'mcp') {
  // The `portcullis mcp` child of the MCP benchmark (quick size), profiled until its client closes it.
  const before = Date.now();
  const { runMcpBenchmark } = await import('./mcp.js');
  const r = await runMcpBenchmark({ quick: true, gatewayExecArgv: ['--cpu-prof', `--cpu-prof-dir=${RESULTS}`, '--cpu-prof-name=mcp-gateway.cpuprofile'] });
  console.log(r.rows.map((x) => `${x.figure.split(', ').at(-1)} ${x.value} ms`).join('; '));
  profile = newest(RESULTS, before);
} else if (what === 'summary' && file !== undefined) profile = file;
else {
  console.error('usage: node bench/profile.js http|append|verify|mcp|summary <file.cpuprofile>');
  process.exit(2);
}
console.log(summarise(profile));
