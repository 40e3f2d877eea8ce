/**
 * MCP tool call through the gateway against the same call straight to the same upstream
 * server, over the same transport (stdio) on every hop:
 * - gateway: the official SDK client launches the real `portcullis mcp --agent bench-reader`
 *   (packages/server/bin/portcullis.js: the real config loader, `openGateway`, the durable
 *   SQLite store in WAL with synchronous=FULL, the stdio MCP gateway), which launches the
 *   reference server `@modelcontextprotocol/server-everything stdio` and calls its `echo` tool.
 *   `echo` says `readOnlyHint: true`, so it is a read; the workflow runs reads with
 *   `read: auto`, so each call is proposed, decided, executed and answered at once, with its
 *   audit events committed (fsync) before the answer;
 * - direct: the same SDK client launches the same server the same way and calls `echo`.
 * Both clients stay connected; after a warm-up, tinybench times one call per sample in rounds
 * that alternate which path goes first, and the samples of all rounds are pooled. Added p50 and
 * p99 are gateway minus direct. Child processes and the temporary folder are removed at the end.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import Database from 'better-sqlite3';
import { Bench } from 'tinybench';
import { dataDir, percentile, round, row } from './lib.js';

const require = createRequire(import.meta.url);
const CLI_BIN = fileURLToPath(new URL('../packages/server/bin/portcullis.js', import.meta.url));
const CLI_DIST = fileURLToPath(new URL('../packages/server/dist/wiring/main.js', import.meta.url));
const AGENT_KEY = 'bench_mcp_agent_key_3b8e1f0c6a2d4e97';
const TOOL = 'echo';
const ARGS = { message: 'portcullis benchmark' };
const EXPECTED = `Echo: ${ARGS.message}`;

/** The entry point of server-everything, from its package.json `bin`. */
function everythingEntry() {
  const manifest = require.resolve('@modelcontextprotocol/server-everything/package.json');
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8'));
  return join(dirname(manifest), typeof bin === 'string' ? bin : Object.values(bin)[0]);
}

/** One MCP system (server-everything over stdio), one agent, one workflow granting `echo` as an auto-approved read. */
const config = (entry) => `
version: 1
store: { kind: sqlite, path: ./portcullis.db }
# The benchmark's load is one agent far above any sensible rate: lift the flood limits.
limits: { proposalsPerMinute: 100000000, maxPendingPerAgent: 100000000, maxPendingPerWorkflow: 100000000 }
systems:
  everything:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${JSON.stringify([entry, 'stdio'])}
    timeout: 20s
departments:
  ops: { name: Operations, leads: [dana] }
people:
  dana: { name: Dana, tokenEnv: T_DANA }
  tom: { name: Tom, tokenEnv: T_TOM }
agents:
  bench-reader: { name: Benchmark reader, owner: tom, department: ops, keyEnv: K_AGENT }
workflows:
  echo-reads:
    description: Read through the reference server
    agent: bench-reader
    department: ops
    owner: tom
    runbook: Ask the reference server by hand.
    mode: { read: auto, write: approval }
    grants:
      - everything:echo:read
`;

/** The pids of a process's children (Linux), so none is left behind. */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** An SDK client connected over stdio to `command args`; keeps the tail of its stderr for messages. */
async function connect(name, params) {
  const transport = new StdioClientTransport({ ...params, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => { stderr = (stderr + chunk.toString('utf8')).slice(-2000); });
  const client = new Client({ name: `bench-${name}`, version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`${name}: could not connect (${error.message}); its stderr: ${stderr.trim().slice(-600)}`);
  }
  const pids = [transport.pid, ...childrenOf(transport.pid)].filter((p) => p !== null && p !== undefined);
  const call = async () => {
    const result = await client.callTool({ name: TOOL, arguments: ARGS });
    if (result.isError === true || result.content?.[0]?.text !== EXPECTED) {
      throw new Error(`${name}: ${TOOL} did not answer "${EXPECTED}": ${JSON.stringify(result).slice(0, 400)}; stderr: ${stderr.trim().slice(-400)}`);
    }
  };
  const close = async () => {
    await client.close().catch(() => undefined);
    // The SDK ends stdin, then signals the child; the gateway closes its upstream on exit.
    for (let i = 0; i < 50 && pids.some(alive); i += 1) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  };
  return { call, close, pids };
}

/** Latency statistics (ms) of pooled samples. */
function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
  return {
    calls: sorted.length, meanMs: round(mean, 4), p50Ms: round(percentile(sorted, 50), 4), p90Ms: round(percentile(sorted, 90), 4),
    p99Ms: round(percentile(sorted, 99), 4), maxMs: round(sorted.at(-1), 4), minMs: round(sorted[0], 4),
  };
}

/** What the gateway's store holds after the run: journal mode and audit events by type. */
function storeSummary(path) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const byType = Object.fromEntries(db.prepare('SELECT type, count(*) AS n FROM audit_events GROUP BY type ORDER BY type').all().map((r) => [r.type, r.n]));
    return { journalMode: db.pragma('journal_mode', { simple: true }), auditEventsByType: byType };
  } finally {
    db.close();
  }
}

/** Runs the MCP benchmark. */
export async function runMcpBenchmark({ quick, gatewayExecArgv = [] }) {
  const figure = 'MCP tool call through the gateway (auto-approved read of a reference MCP server, audit durable)';
  const baseline = 'the same call straight to the same upstream server, over stdio';
  if (!existsSync(CLI_DIST)) throw new Error('the server is not built: run `npm run build` first');
  const warmup = quick ? 100 : 300;
  const rounds = quick ? 4 : 10;
  const perRound = quick ? 100 : 300;

  const dir = dataDir('mcp');
  rmSync(dir, { recursive: true, force: true });
  dataDir('mcp');
  const entry = everythingEntry();
  const configPath = join(dir, 'portcullis.yaml');
  writeFileSync(configPath, config(entry));

  const opened = [];
  try {
    const gateway = await connect('gateway', {
      command: process.execPath, args: [...gatewayExecArgv, CLI_BIN, 'mcp', '--agent', 'bench-reader', '--config', configPath, '--standalone'],
      env: { K_AGENT: AGENT_KEY, T_DANA: 'bench_dana_token_mcp_1', T_TOM: 'bench_tom_token_mcp_1', PORTCULLIS_AGENT_KEY: AGENT_KEY },
    });
    opened.push(gateway);
    const direct = await connect('direct', { command: process.execPath, args: [entry, 'stdio'] });
    opened.push(direct);

    // Warm-up: JIT, SQLite page cache, the gateway's tool catalog and both pipes.
    for (let i = 0; i < warmup; i += 1) { await direct.call(); await gateway.call(); }

    const samples = { gateway: [], direct: [] };
    for (let r = 0; r < rounds; r += 1) {
      const bench = new Bench({ name: `mcp round ${r}`, time: 0, iterations: perRound, warmup: false, retainSamples: true, throws: true });
      const order = r % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
      for (const path of order) bench.add(path, path === 'gateway' ? gateway.call : direct.call);
      await bench.run();
      for (const path of order) {
        const result = bench.getTask(path)?.result;
        if (result?.state !== 'completed') throw new Error(`mcp ${path} round ${r} did not complete: ${result?.state ?? 'no result'}`);
        samples[path].push(...result.latency.samples);
      }
    }
    const g = stats(samples.gateway);
    const d = stats(samples.direct);
    const addedP50 = g.p50Ms - d.p50Ms;
    const addedP99 = g.p99Ms - d.p99Ms;
    console.error(`  mcp over stdio: p50 ${g.p50Ms} ms through the gateway vs ${d.p50Ms} ms direct (added ${round(addedP50, 3)} ms); p99 ${g.p99Ms} vs ${d.p99Ms} ms (added ${round(addedP99, 3)} ms)`);

    for (const client of opened.splice(0)) await client.close();
    const store = storeSummary(join(dir, 'portcullis.db'));
    const gatewayCalls = warmup + rounds * perRound;
    const received = store.auditEventsByType['proposal.received'] ?? 0;
    if (received !== gatewayCalls) throw new Error(`expected ${gatewayCalls} proposals in the gateway's audit trail, found ${received}`);
    const eventsPerCall = Object.entries(store.auditEventsByType).filter(([type]) => !type.startsWith('gateway.') && !type.startsWith('mcp.')).reduce((s, [, n]) => s + n, 0) / gatewayCalls;

    const note = `stdio on every hop (agent → \`portcullis mcp\` → server-everything, vs agent → server-everything); tool \`echo\` (readOnlyHint); ${g.calls.toLocaleString('en')} calls each, ${rounds} alternating rounds; p50 ${g.p50Ms} vs ${d.p50Ms} ms, p99 ${g.p99Ms} vs ${d.p99Ms} ms; ${round(eventsPerCall, 3)} durable audit events per call${quick ? '; --quick: fewer calls' : ''}`;
    return {
      rows: [
        row({ id: 'mcp.p50', figure: `${figure}, added p50`, value: addedP50, unit: 'ms', baseline: `${baseline}, p50`, baselineValue: d.p50Ms, target: '≤ 0.4 ms', pass: addedP50 <= 0.4, note }),
        row({ id: 'mcp.p99', figure: `${figure}, added p99`, value: addedP99, unit: 'ms', baseline: `${baseline}, p99`, baselineValue: d.p99Ms, target: '≤ 1 ms', pass: addedP99 <= 1, note }),
      ],
      details: {
        measured: true,
        transport: 'stdio on both paths: the SDK client launches `node packages/server/bin/portcullis.js mcp --agent bench-reader` (which launches the upstream over stdio) or the upstream itself',
        upstream: '@modelcontextprotocol/server-everything stdio', tool: TOOL, arguments: ARGS, classifiedAs: 'read (readOnlyHint: true), workflow mode read: auto',
        store: { kind: 'sqlite', synchronous: 'FULL (the store default; the CLI opens it so)', ...store },
        auditEventsPerCall: round(eventsPerCall, 4),
        writeQueueStats: null,
        writeQueueStatsWhy: 'the store lives in the `portcullis mcp` child process, which does not report them',
        warmupCallsPerPath: warmup, rounds, callsPerRoundPerPath: perRound,
        gateway: g, direct: d, addedP50Ms: round(addedP50, 4), addedP99Ms: round(addedP99, 4),
      },
    };
  } finally {
    for (const client of opened) await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
