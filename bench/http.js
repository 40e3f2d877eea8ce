/**
 * Governed, auto-approved write over HTTP against a bare Fastify route doing the same UPDATE.
 * Both servers run as child processes (bench/http-server.js) on this machine's disk, and
 * autocannon drives them from this process:
 * 1. peak: `connections` clients as fast as they can, for each server;
 * 2. half of peak: both servers at a fixed rate of half the gateway's peak, in alternating
 *    rounds, to compare p99 (the median round of each);
 * the gateway's resident memory is sampled from /proc while it is loaded.
 */
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { ACTION, AGENT_KEY } from './http-fixture.js';
import { dataDir, round, row, rssOf } from './lib.js';

const SERVER = fileURLToPath(new URL('./http-server.js', import.meta.url));

async function start(kind) {
  const dir = dataDir(`http-${kind}`);
  rmSync(dir, { recursive: true, force: true });
  dataDir(`http-${kind}`);
  const child = fork(SERVER, [kind, dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the ${kind} server exited with code ${code} before listening`)));
  });
  return {
    kind, pid: child.pid, url: `http://127.0.0.1:${port}/v1/actions`,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One autocannon run; samples the server's RSS every 100 ms while it runs. */
async function load(server, { seconds, connections, rate }) {
  const rss = [];
  const timer = setInterval(() => { const mb = rssOf(server.pid); if (mb !== undefined) rss.push(mb); }, 100);
  try {
    const result = await autocannon({
      url: server.url, method: 'POST', body: JSON.stringify(ACTION), connections, duration: seconds,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${AGENT_KEY}` },
      ...(rate === undefined ? {} : { overallRate: rate }),
    });
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0) throw new Error(`${server.kind}: ${failed} of ${result.requests.total} requests failed (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`);
    return {
      rps: result.requests.average, total: result.requests.total,
      p50ms: result.latency.p50, p90ms: result.latency.p90, p99ms: result.latency.p99, maxMs: result.latency.max,
      rssMaxMb: rss.length > 0 ? Math.max(...rss) : undefined,
    };
  } finally {
    clearInterval(timer);
  }
}

/** The median of each figure of some runs (p50 and p99 each their own median). */
function medianRun(runs) {
  const median = (key) => { const v = runs.map((x) => x[key]).sort((x, y) => x - y); return v[Math.floor((v.length - 1) / 2)]; };
  return { rps: median('rps'), p50ms: median('p50ms'), p99ms: median('p99ms'), rounds: runs };
}

/** Runs the HTTP benchmark. */
export async function runHttpBenchmark({ quick }) {
  const seconds = quick ? 2 : 10;
  const halfRounds = quick ? 1 : 3;
  const halfSeconds = quick ? 2 : 5;
  const connections = 16;
  const gateway = await start('gateway');
  const bare = await start('bare');
  try {
    const check = await globalThis.fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${AGENT_KEY}` }, body: JSON.stringify(ACTION) });
    const answer = await check.json();
    if (answer.status !== 'succeeded') throw new Error(`the gateway did not execute the benchmark action: ${JSON.stringify(answer).slice(0, 300)}`);
    const rssIdleMb = rssOf(gateway.pid);

    // Warm both up (JIT, SQLite caches), then peak throughput, bare first.
    await load(bare, { seconds: quick ? 1 : 3, connections });
    await load(gateway, { seconds: quick ? 1 : 3, connections });
    const barePeak = await load(bare, { seconds, connections });
    const gatewayPeak = await load(gateway, { seconds, connections });
    console.error(`  http: peak ${Math.round(gatewayPeak.rps)} req/s governed vs ${Math.round(barePeak.rps)} req/s bare`);

    // At half of peak, in alternating rounds (a stall of this shared machine during one run
    // would otherwise decide the comparison); each path's figure is the median of its rounds.
    const rate = Math.max(1, Math.floor(gatewayPeak.rps / 2));
    const halfRuns = { bare: [], gateway: [] };
    for (let r = 0; r < halfRounds; r += 1) {
      for (const server of r % 2 === 0 ? [bare, gateway] : [gateway, bare]) halfRuns[server.kind].push(await load(server, { seconds: halfSeconds, connections, rate }));
    }
    const bareHalf = medianRun(halfRuns.bare);
    const gatewayHalf = medianRun(halfRuns.gateway);
    const addedP99 = gatewayHalf.p99ms - bareHalf.p99ms;
    console.error(`  http: at ${rate} req/s p99 ${gatewayHalf.p99ms} ms governed vs ${bareHalf.p99ms} ms bare (added ${round(addedP99, 3)} ms; medians of ${halfRounds} rounds: ${halfRuns.gateway.map((x) => x.p99ms).join(', ')} vs ${halfRuns.bare.map((x) => x.p99ms).join(', ')})`);

    const rssMax = Math.max(gatewayPeak.rssMaxMb ?? 0, ...halfRuns.gateway.map((x) => x.rssMaxMb ?? 0));
    const throughputRatio = gatewayPeak.rps / barePeak.rps;
    return {
      rows: [
        row({
          id: 'http.throughput', figure: 'governed auto-approved write over HTTP (SQL update of one row, audit durable), peak throughput',
          value: gatewayPeak.rps, unit: 'req/s', baseline: 'bare Fastify route, same UPDATE', baselineValue: barePeak.rps,
          ratio: throughputRatio, target: '≥ 60% of the bare route', pass: throughputRatio >= 0.6,
          note: `${connections} connections, ${seconds} s each`,
        }),
        row({
          id: 'http.p99', figure: `governed write over HTTP, p99 at half of peak (${rate} req/s)`,
          value: gatewayHalf.p99ms, unit: 'ms', baseline: 'bare route, same rate', baselineValue: bareHalf.p99ms,
          ratio: gatewayHalf.p99ms / bareHalf.p99ms, target: 'added p99 ≤ 1 ms', pass: addedP99 <= 1,
          note: `added p99 ${round(addedP99, 3)} ms; p50 ${gatewayHalf.p50ms} ms vs ${bareHalf.p50ms} ms; medians of ${halfRounds} alternating rounds of ${halfSeconds} s`,
        }),
        row({
          id: 'http.rss', figure: 'gateway resident memory during the HTTP benchmark (max)',
          value: rssMax, unit: 'MB', target: '≤ 200 MB', pass: rssMax > 0 ? rssMax <= 200 : null,
          note: `idle after start ${round(rssIdleMb ?? 0, 3)} MB; sampled every 100 ms from /proc`,
        }),
      ],
      details: { connections, secondsPerRun: seconds, halfRounds, secondsPerHalfRound: halfSeconds, rate, addedP99ms: round(addedP99, 4), barePeak, gatewayPeak, bareHalf, gatewayHalf, rssIdleMb },
    };
  } finally {
    await gateway.stop();
    await bare.stop();
  }
}
