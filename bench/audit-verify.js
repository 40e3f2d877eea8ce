/**
 * `portcullis audit verify` over a generated trail of 1,000,000 events: the real command,
 * run in-process through the CLI's `run` (it opens the store, streams the trail in batches,
 * checks every event's leaf hash and rebuilds the Merkle tree, in worker threads as the
 * command picks), timed end to end. Baseline: the RFC 6962 leaf hash alone over the same
 * bodies (SHA-256 of 0x00 || body), read into memory first, with the core's own
 * `merkleLeafHash` — the part of verifying that no implementation can skip.
 */
import { coreModule, round, row, serverModule, timeWorkload } from './lib.js';
import { ensureAuditTrail } from './audit-data.js';

/** Runs the verify benchmark. */
export async function runAuditVerifyBenchmark({ quick }) {
  const count = quick ? 100_000 : 1_000_000;
  const trail = await ensureAuditTrail(count);
  const { run } = await serverModule('wiring/main.js');
  const core = await coreModule();

  const lines = [];
  const output = { out: (text) => lines.push(text), err: () => {} };
  const argv = ['node', 'portcullis', 'audit', 'verify', '--db', trail.path];
  // The first open migrates a freshly generated trail; keep that out of the timing.
  if (await run(argv, output) !== 0) throw new Error(`audit verify failed on ${trail.path}: ${lines.join(' ')}`);
  lines.length = 0;
  const verify = await timeWorkload('portcullis audit verify', async () => {
    const code = await run(argv, output);
    if (code !== 0) throw new Error(`audit verify exited ${code}: ${lines.join(' ')}`);
  }, { iterations: quick ? 1 : 2, warmup: 0 });
  const verified = /(\d+) events verified/.exec(lines.at(-1) ?? '')?.[1];
  if (Number(verified) !== count) throw new Error(`audit verify reported "${lines.at(-1)}", expected ${count} events`);
  const verifyRate = count / verify.meanS;
  console.error(`  audit verify: ${Math.round(verifyRate)} events/s (${round(verify.meanS, 3)} s for ${count.toLocaleString('en')} events)`);

  // Baseline: hash the same bytes, already in memory.
  const { createSqliteStore } = await serverModule('store/sqlite/sqlite-store.js');
  const store = createSqliteStore({ path: trail.path });
  const sample = Math.min(count, 200_000);
  let texts;
  try {
    texts = store.database.prepare('SELECT body FROM audit_events ORDER BY seq LIMIT ?').raw().all(sample).map(([body]) => body);
  } finally {
    await store.close();
  }
  let sink = 0;
  const sha = await timeWorkload('sha256 alone', async () => {
    for (const text of texts) sink += core.merkleLeafHash(text).length;
  }, { iterations: 3 });
  const shaRate = sample / sha.meanS;
  console.error(`  audit verify baseline: SHA-256 alone ${Math.round(shaRate)} events/s (${sink > 0 ? 'ok' : ''})`);

  return {
    rows: [row({
      id: 'audit.verify', figure: `\`portcullis audit verify\` over ${count.toLocaleString('en')} events`,
      value: verifyRate, unit: 'events/s', baseline: 'RFC 6962 leaf hash of the same bodies alone', baselineValue: shaRate, baselineUnit: 'events/s',
      ratio: verifyRate / shaRate, target: '≥ 250,000 events/s', pass: verifyRate >= 250_000,
      note: quick ? '--quick: a smaller trail' : undefined,
    })],
    details: { events: count, generatedSeconds: trail.generatedSeconds, cached: trail.cached, verifySeconds: verify, shaSample: sample, shaSeconds: sha },
  };
}
