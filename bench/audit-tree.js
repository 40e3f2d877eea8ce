/**
 * The audit tree and its signed checkpoints over the generated trail (1,000,000 events; a
 * smaller one with --quick):
 * - `portcullis audit verify --checkpoints --key`: the real command, which rebuilds the Merkle
 *   tree from every body and checks it against a signed checkpoint of the whole trail, besides
 *   the chain and the columns; target as plain verify, ≥ 250,000 events/s;
 * - checkpoint cutting: reading the stored frontier and signing it, as the gateway does every
 *   1,000 events; reported as events covered per second of signing at that cadence;
 * - proof generation (`audit prove`'s use case) for events spread over the trail, p99 latency:
 *   O(log n) stored tree nodes and at most two blocks of 256 bodies per proof.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, round, row, serverModule, timeWorkload } from './lib.js';
import { ensureAuditTrail } from './audit-data.js';

const CUT_EVERY = 1000;

/** Runs the tree benchmarks. */
export async function runAuditTreeBenchmark({ quick }) {
  const count = quick ? 100_000 : 1_000_000;
  const trail = await ensureAuditTrail(count);
  const { run } = await serverModule('wiring/main.js');
  const { generateNoteKey, parseNoteSigner } = await serverModule('audit-log/signed-note.js');
  const { cutCheckpoint } = await serverModule('service/audit-checkpoints.js');
  const { proveEvent } = await serverModule('audit-log/proof.js');
  const { createSqliteStore } = await serverModule('store/sqlite/sqlite-store.js');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-tree-'));
  try {
    const key = generateNoteKey('bench/audit');
    const lines = [];
    const output = { out: (text) => lines.push(text), err: (text) => lines.push(text) };
    // Migrating (building the tree) happens on the first open; keep it out of the timings.
    if (await run(['node', 'portcullis', 'audit', 'verify', '--db', trail.path], output) !== 0) throw new Error(`audit verify failed: ${lines.join(' ')}`);
    const store = createSqliteStore({ path: trail.path });
    await store.migrate();
    const signer = parseNoteSigner(key.signer);
    const checkpoint = await cutCheckpoint(store, signer, 'bench/audit');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'checkpoints.jsonl'), `${JSON.stringify({ note: checkpoint.note })}\n`);

    const cut = await timeWorkload('cut a checkpoint', async () => { await cutCheckpoint(store, signer, 'bench/audit'); }, { iterations: 200, warmup: 5 });
    const coveredPerSigningSecond = CUT_EVERY / cut.meanS;
    console.error(`  checkpoint cut: ${round(cut.meanS * 1000, 3)} ms each, ${Math.round(coveredPerSigningSecond)} events covered per second of signing at one per ${CUT_EVERY}`);

    const proofs = [];
    const samples = quick ? 50 : 200;
    for (let i = 0; i < samples; i += 1) {
      const seq = 1 + Math.floor(((i + 0.5) / samples) * count);
      const t = process.hrtime.bigint();
      await proveEvent(store, seq, checkpoint);
      proofs.push(Number(process.hrtime.bigint() - t) / 1e9);
    }
    proofs.sort((a, b) => a - b);
    const p99 = percentile(proofs, 99);
    console.error(`  proof generation: p99 ${round(p99 * 1000, 1)} ms over ${samples} proofs of a ${count.toLocaleString('en')}-event tree`);
    await store.close();

    lines.length = 0;
    const argv = ['node', 'portcullis', 'audit', 'verify', '--db', trail.path, '--checkpoints', dir, '--key', key.verifier];
    const verify = await timeWorkload('portcullis audit verify --checkpoints', async () => {
      const code = await run(argv, output);
      if (code !== 0) throw new Error(`audit verify --checkpoints exited ${code}: ${lines.join(' ')}`);
    }, { iterations: quick ? 1 : 2, warmup: 0 });
    const verifyRate = count / verify.meanS;
    console.error(`  audit verify --checkpoints: ${Math.round(verifyRate)} events/s`);
    const note = quick ? '--quick: a smaller trail' : undefined;
    return {
      rows: [
        row({ id: 'audit.verify-checkpoints', figure: `\`portcullis audit verify --checkpoints --key\` over ${count.toLocaleString('en')} events (tree rebuilt, one signed checkpoint)`, value: verifyRate, unit: 'events/s', target: '≥ 250,000 events/s', pass: verifyRate >= 250_000, note }),
        row({ id: 'audit.checkpoint-cut', figure: `checkpoint cutting (read the frontier, sign), one per ${CUT_EVERY} events`, value: coveredPerSigningSecond, unit: 'events covered/s of signing', note }),
        row({ id: 'audit.prove', figure: `proof generation over ${count.toLocaleString('en')} events, p99`, value: p99 * 1000, unit: 'ms', note }),
      ],
      details: { events: count, cutSeconds: cut, proofSeconds: proofs, verifySeconds: verify },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
