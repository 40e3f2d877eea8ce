/**
 * The optional witness: the gateway's publisher asks a C2SP tlog-witness for a cosignature of
 * each checkpoint and keeps it with the checkpoint. The witness here is written in the test from
 * the spec (https://c2sp.org/tlog-witness, https://c2sp.org/tlog-cosignature), with its own
 * RFC 9162 2.1.4.2 consistency check and Ed25519 code from node:crypto, not the product's.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckpointsConfig } from '../config/compiled.js';
import { startAuditPublishing } from '../service/audit-publishing.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeEvent } from '../store/store-conformance-fixtures.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { runCli } from '../testing/run-cli.js';
import { makeTempDir } from '../testing/temp-dir.js';
import { generateNoteKey, parseNoteSigner } from './signed-note.js';
import { findCosignature, parseWitnessKey } from './witness.js';

const dir = makeTempDir('portcullis-witness');
afterAll(() => dir.cleanup());
const logKey = generateNoteKey('portcullis.test/audit');

const sha = (...parts: Uint8Array[]): Buffer => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
const node = (l: Uint8Array, r: Uint8Array): Buffer => sha(Uint8Array.of(1), l, r);

/** RFC 9162 2.1.4.2, from the RFC's text. */
function consistent(first: number, second: number, firstRoot: Buffer, secondRoot: Buffer, proof: Buffer[]): boolean {
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  if (first === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : proof;
  let fn = first - 1;
  let sn = second - 1;
  while (fn & 1) { fn >>= 1; sn >>= 1; }
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = node(c, fr); sr = node(c, sr);
      if (!(fn & 1)) while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else sr = node(sr, c);
    fn >>= 1; sn >>= 1;
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot);
}

/** A tlog-witness for one log, from the spec: keeps the newest cosigned size and root. */
function startWitness(logPublicKey: string): Promise<{ server: Server; url: string; key: string; state: { size: number; root: Buffer }; requests: number[] }> {
  const [, logName, logIdHex, logB64] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(logPublicKey) as unknown as [string, string, string, string];
  const logKeyObject = ed25519Public(Buffer.from(logB64, 'base64').subarray(1));
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const name = 'witness.test/w1';
  const keyId = sha(Buffer.from(`${name}\n`), Uint8Array.of(0x04), raw).subarray(0, 4);
  const state = { size: 0, root: Buffer.alloc(0) };
  const requests: number[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    request.on('end', () => {
      const reply = (status: number, text: string, type = 'text/plain'): void => { response.writeHead(status, { 'content-type': type, connection: 'close' }).end(text); };
      if (request.method !== 'POST' || request.url !== '/add-checkpoint') { reply(404, 'no such endpoint\n'); return; }
      const blank = body.indexOf('\n\n');
      const head = body.slice(0, blank).split('\n');
      const note = body.slice(blank + 2);
      const oldSize = Number(/^old (\d+)$/.exec(head[0] ?? '')?.[1]);
      const proof = head.slice(1).map((l) => Buffer.from(l, 'base64'));
      const split = note.lastIndexOf('\n\n');
      const text = note.slice(0, split + 1);
      const [origin, sizeText, rootText] = text.split('\n') as [string, string, string];
      if (origin !== logName) { reply(404, 'unknown log\n'); return; }
      const signedByLog = note.slice(split + 2).split('\n').some((line) => {
        const sig = Buffer.from(line.split(' ')[2] ?? '', 'base64');
        return line.startsWith(`\u2014 ${logName} `) && sig.subarray(0, 4).toString('hex') === logIdHex && verify(null, Buffer.from(text), logKeyObject, sig.subarray(4));
      });
      if (!signedByLog) { reply(403, 'no valid log signature\n'); return; }
      const size = Number(sizeText);
      const root = Buffer.from(rootText, 'base64');
      requests.push(oldSize);
      if (!(oldSize <= size)) { reply(400, 'old size above checkpoint size\n'); return; }
      if (oldSize !== state.size) { reply(409, `${state.size}\n`, 'text/x.tlog.size'); return; }
      if (oldSize === 0 ? proof.length !== 0 : !consistent(oldSize, size, state.root, root, proof)) { reply(422, 'consistency proof does not verify\n'); return; }
      state.size = size;
      state.root = root;
      const timestamp = Buffer.alloc(8);
      timestamp.writeBigUInt64BE(1_700_000_000n + BigInt(requests.length));
      const message = `cosignature/v1\ntime ${timestamp.readBigUInt64BE(0)}\n${text}`;
      const signature = sign(null, Buffer.from(message), privateKey);
      reply(200, `\u2014 ${name} ${Buffer.concat([keyId, timestamp, signature]).toString('base64')}\n`);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    key: `${name}+${keyId.toString('hex')}+${Buffer.concat([Uint8Array.of(0x04), raw]).toString('base64')}`, state, requests,
  })));
}

/** An Ed25519 public key from its 32 bytes: SPKI DER is a fixed 12-byte prefix and the key (RFC 8410). */
function ed25519Public(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
}

function settings(logDir: string, witness: { url: string; key: string }): CheckpointsConfig {
  return { origin: 'portcullis.test/audit', envKey: logKey.signer, previousKeys: [], dir: logDir, everyEvents: 1, everyMs: 10_000, stdout: false, maxLagMs: 60_000, witness };
}

describe('the optional C2SP tlog-witness', () => {
  it('gets each checkpoint cosigned with a consistency proof from the newest size the witness cosigned, and keeps the cosignature in the log', async () => {
    const witness = await startWitness(logKey.verifier);
    const store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    const logDir = join(dir.path, 'log1');
    const warnings: string[] = [];
    try {
      const publishing = await startAuditPublishing({ store, settings: settings(logDir, witness), clock: createFakeClock(), signer: parseNoteSigner(logKey.signer), stdout: () => undefined, warn: (m) => warnings.push(m) });
      for (const count of [3, 300, 700]) {
        await store.appendAudit(Array.from({ length: count }, (_, i) => makeEvent({ data: { i } })));
        await publishing.poll();
      }
      expect(warnings).toEqual([]);
      expect(witness.state.size).toBe(1003);
      // The first request was from 0 (a new log for this witness), then from each cosigned size.
      expect(witness.requests).toEqual([0, 3, 303]);
      const notes = readFileSync(join(logDir, 'checkpoints.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { note: string }).note);
      const key = parseWitnessKey(witness.key);
      for (const note of notes) expect(findCosignature(note, key), note).toBeDefined();
      expect(findCosignature(notes[0] as string, key)?.timestamp).toBe(1_700_000_001n);

      // A witness that lost track of this log (409 with its size) is answered from its size.
      witness.state.size = 3;
      witness.state.root = Buffer.from((notes[0] as string).split('\n')[2] as string, 'base64');
      await store.appendAudit([makeEvent()]);
      await publishing.poll();
      expect(witness.requests.slice(-2)).toEqual([1003, 3]);
      expect(witness.state.size).toBe(1004);
    } finally {
      await new Promise((resolve) => witness.server.close(resolve));
      await store.close();
    }
  });

  it('publishes without a cosignature, and alerts, when the witness refuses or cannot be reached', async () => {
    const other = generateNoteKey('portcullis.test/audit');
    const witness = await startWitness(other.verifier);
    const store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    const logDir = join(dir.path, 'log2');
    const warnings: string[] = [];
    const publishing = await startAuditPublishing({ store, settings: settings(logDir, witness), clock: createFakeClock(), signer: parseNoteSigner(logKey.signer), stdout: () => undefined, warn: (m) => warnings.push(m) });
    await store.appendAudit([makeEvent()]);
    await publishing.poll();
    expect(warnings[0]).toMatch(/audit witness gave no cosignature of the checkpoint of 1 events: the witness at .* refused the checkpoint of 1 events: HTTP 403 no valid log signature; it is published without one/);
    await new Promise((resolve) => witness.server.close(resolve));
    await store.appendAudit([makeEvent()]);
    await publishing.poll();
    expect(warnings[1]).toMatch(/the witness at .* cannot be reached: ECONNREFUSED/);
    const lines = readFileSync(join(logDir, 'checkpoints.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(publishing.gate()).toBeUndefined();
    await expect(startAuditPublishing({ store, settings: settings(logDir, { url: witness.url, key: 'nope' }), clock: createFakeClock(), signer: parseNoteSigner(logKey.signer), stdout: () => undefined, warn: () => undefined }))
      .rejects.toThrow(/audit.checkpoints.witness.key must look like/);
    await store.close();
  });

  it('audit verify --witness-key names the newest checkpoint the witnesses cosigned, and fails when none carries their cosignatures', async () => {
    const witness = await startWitness(logKey.verifier);
    const stranger = await startWitness(logKey.verifier);
    await new Promise((resolve) => stranger.server.close(resolve));
    const db = join(dir.path, 'witnessed.db');
    const logDir = join(dir.path, 'log3');
    const store = createSqliteStore({ path: db });
    await store.migrate();
    try {
      const publishing = await startAuditPublishing({ store, settings: settings(logDir, witness), clock: createFakeClock(), signer: parseNoteSigner(logKey.signer), stdout: () => undefined, warn: () => undefined });
      await store.appendAudit([makeEvent(), makeEvent()]);
      await publishing.poll();
      // The witness goes away: the next checkpoint is published without its cosignature.
      await new Promise((resolve) => witness.server.close(resolve));
      await store.appendAudit([makeEvent()]);
      await publishing.poll();
    } finally {
      await store.close();
    }
    const verify = (log: string, ...more: string[]) => runCli(['audit', 'verify', '--db', db, '--checkpoints', log, '--key', logKey.verifier, ...more]);
    const ok = await verify(logDir, '--witness-key', witness.key);
    expect(ok.err).toBe('');
    expect(ok.out).toMatch(/audit trail OK: 3 events verified; tree of 3 events consistent with 2 signed checkpoints; witnessed through checkpoint 2 by witness\.test\/w1$/m);
    // One of two witnesses is enough with a quorum of 1, not by default (all of them).
    expect((await verify(logDir, '--witness-key', witness.key, '--witness-key', stranger.key, '--witness-quorum', '1')).out).toMatch(/witnessed through checkpoint 2 by witness\.test\/w1$/m);
    // A witness named twice counts once.
    const twice = await verify(logDir, '--witness-key', witness.key, '--witness-key', witness.key, '--witness-quorum', '2');
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/the witness quorum must be a whole number from 1 to the 1 different witness keys given, not 2/);
    const both = await verify(logDir, '--witness-key', witness.key, '--witness-key', stranger.key);
    expect(both.code).toBe(1);
    expect(both.err).toMatch(/no checkpoint in .* carries cosignatures of 2 of the 2 witnesses given \(witness\.test\/w1, witness\.test\/w1\): it was not witnessed, or the witnesses' lines were removed/);
    // The log with the witness's lines removed: its own signatures still verify, the witness's are gone.
    const stripped = join(dir.path, 'stripped.jsonl');
    const lines = readFileSync(join(logDir, 'checkpoints.jsonl'), 'utf8').trim().split('\n').map((line) => {
      const entry = JSON.parse(line) as { note: string };
      return JSON.stringify({ ...entry, note: entry.note.split('\n').filter((l) => !l.startsWith('\u2014 witness.test/')).join('\n') });
    });
    writeFileSync(stripped, `${lines.join('\n')}\n`);
    expect((await verify(stripped)).code).toBe(0);
    const gone = await verify(stripped, '--witness-key', witness.key);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/no checkpoint in .*stripped\.jsonl carries cosignatures of 1 of the 1 witness given/);
    // Bad input changes nothing and says what is wrong.
    expect((await runCli(['audit', 'verify', '--db', db, '--witness-key', witness.key])).err).toMatch(/--witness-key and --witness-quorum go with --checkpoints and --key/);
    const quorum = await verify(logDir, '--witness-key', witness.key, '--witness-quorum', '2');
    expect(quorum.code).toBe(2);
    expect(quorum.err).toMatch(/--witness-quorum must be a whole number from 1 to the number of --witness-key given \(1\), not "2"/);
    expect((await verify(logDir, '--witness-key', 'nope')).err).toMatch(/the witness key "nope" must look like <name>\+<8 hex digits>\+<base64 key>/);
  });
});
