import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createMerkleFrontier, merkleLeafHash } from '@portcullis/core';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { frontierToBlob } from '../store/sqlite/sqlite-audit.js';
import { makeEvent } from '../store/store-conformance-fixtures.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { makeTempDir } from '../testing/temp-dir.js';
import { readCheckpointLog } from './checkpoint-log.js';
import { createCheckpointCutter, createFileSink, createHttpSink, createStdoutSink, type CheckpointSink } from './checkpoint-cutter.js';
import { generateNoteKey, parseNoteSigner, parseNoteVerifier } from './signed-note.js';

const dir = makeTempDir('portcullis-cutter');
afterAll(() => dir.cleanup());
const key = generateNoteKey('portcullis.test/audit');
const signer = parseNoteSigner(key.signer);
const verifier = parseNoteVerifier(key.verifier);

async function setup(sinks: CheckpointSink[], alerts: string[] = []) {
  const store = createSqliteStore({ path: ':memory:' });
  await store.migrate();
  const clock = createFakeClock();
  const cutter = createCheckpointCutter({ store, signer, origin: 'portcullis.test/audit', sinks, clock, everyEvents: 10, everyMs: 10_000, onAlert: (sink) => alerts.push(sink) });
  return { store, clock, cutter };
}

const failing: CheckpointSink = { name: 'broken', publish: () => Promise.reject(new Error('disk full')) };

describe('the checkpoint cutter', () => {
  it('cuts after every N events or T, only when the tree grew, and at shutdown', async () => {
    const log = `${dir.path}/log-1`;
    const { store, clock, cutter } = await setup([createFileSink(log)]);
    expect(await cutter.poll()).toBeUndefined();
    await store.appendAudit(Array.from({ length: 9 }, () => makeEvent()));
    expect(await cutter.poll()).toBeUndefined();
    await store.appendAudit([makeEvent()]);
    expect((await cutter.poll())?.size).toBe(10);
    await store.appendAudit([makeEvent()]);
    expect(await cutter.poll()).toBeUndefined();
    clock.advance(10_000);
    expect((await cutter.poll())?.size).toBe(11);
    clock.advance(60_000);
    expect(await cutter.poll()).toBeUndefined();
    await store.appendAudit([makeEvent()]);
    expect((await cutter.cutNow())?.size).toBe(12);
    const read = readCheckpointLog(log, [verifier]);
    expect(read.ok && read.checkpoints.map((c) => c.size)).toEqual([10, 11, 12]);
    expect(cutter.status()).toEqual({ publishedSize: 12 });
    await store.close();
  });

  it('signs nothing once the stored tree no longer extends the newest checkpoint (an event edited and re-hashed under it), and says why', async () => {
    const log = `${dir.path}/log-fork`;
    const forks: string[] = [];
    const store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    const cutter = createCheckpointCutter({ store, signer, origin: 'portcullis.test/audit', sinks: [createFileSink(log)], clock: createFakeClock(), everyEvents: 10, everyMs: 10_000, onFork: (problem) => forks.push(problem) });
    await store.appendAudit(Array.from({ length: 12 }, (_, i) => makeEvent({ data: { i } })));
    expect((await cutter.cutNow())?.size).toBe(12);
    await store.appendAudit([makeEvent({ data: { i: 12 } })]);
    expect((await cutter.cutNow())?.size).toBe(13);

    // An attacker with the file: edits event 3 and re-hashes its leaf hash and the stored tree, so the store is consistent in itself.
    const raw = store.database;
    raw.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_tree_grows_only;');
    raw.prepare("UPDATE audit_events SET body = replace(body, '\"i\":2', '\"i\":99') WHERE seq = 3").run();
    const bodies = raw.prepare('SELECT seq, body FROM audit_events ORDER BY seq').all() as { seq: number; body: string }[];
    const frontier = createMerkleFrontier();
    for (const { seq, body } of bodies) {
      frontier.append(merkleLeafHash(body));
      raw.prepare('UPDATE audit_events SET hash = ? WHERE seq = ?').run(Buffer.from(merkleLeafHash(body)).toString('hex'), seq);
    }
    raw.prepare('UPDATE audit_tree SET frontier = ? WHERE id = 1').run(frontierToBlob(frontier.state()));

    await store.appendAudit([makeEvent({ data: { i: 13 } })]);
    expect(await cutter.cutNow()).toBeUndefined();
    expect(cutter.status().forked).toMatch(/the stored audit tree \(14 events\) does not extend the newest published checkpoint \(13 events\): its events before 14 were changed under the running gateway/);
    expect(forks).toHaveLength(1);
    await store.appendAudit([makeEvent()]);
    expect(await cutter.cutNow()).toBeUndefined();
    const read = readCheckpointLog(log, [verifier]);
    expect(read.ok && read.checkpoints.map((c) => c.size)).toEqual([12, 13]);
    await store.close();
  });

  it('says at once that the tree was cut back under it (events deleted, head and tree moved back), before the trail grows again', async () => {
    const forks: string[] = [];
    const store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    const cutter = createCheckpointCutter({ store, signer, origin: 'portcullis.test/audit', sinks: [createFileSink(`${dir.path}/log-cut`)], clock: createFakeClock(), everyEvents: 10, everyMs: 10_000, onFork: (problem) => forks.push(problem) });
    await store.appendAudit(Array.from({ length: 13 }, (_, i) => makeEvent({ data: { i } })));
    expect((await cutter.cutNow())?.size).toBe(13);
    const raw = store.database;
    raw.exec('DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_tree_grows_only; DROP TRIGGER audit_head_forward_only;');
    raw.exec('DELETE FROM audit_events WHERE seq > 11');
    const bodies = raw.prepare('SELECT body FROM audit_events ORDER BY seq').all() as { body: string }[];
    const frontier = createMerkleFrontier();
    for (const { body } of bodies) frontier.append(merkleLeafHash(body));
    raw.prepare('UPDATE audit_tree SET size = 11, frontier = ? WHERE id = 1').run(frontierToBlob(frontier.state()));
    raw.prepare('UPDATE audit_head SET seq = 11, hash = (SELECT hash FROM audit_events WHERE seq = 11) WHERE id = 1').run();
    expect(await cutter.poll()).toBeUndefined();
    expect(cutter.status().forked).toBe('the stored audit tree (11 events) does not extend the newest published checkpoint (13 events): it is shorter; events were deleted under the running gateway');
    expect(forks).toHaveLength(1);
    await store.close();
  });

  it('keeps publishing to the other sinks when one fails, and raises an alert', async () => {
    const lines: string[] = [];
    const alerts: string[] = [];
    const { store, cutter } = await setup([failing, createStdoutSink((line) => lines.push(line))], alerts);
    await store.appendAudit(Array.from({ length: 10 }, () => makeEvent()));
    await cutter.poll();
    expect(alerts).toEqual(['broken']);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ checkpoint: expect.stringMatching(/^portcullis.test\/audit\n10\n/) });
    expect(cutter.status()).toEqual({ publishedSize: 10, lastFailure: 'broken: disk full' });
    await store.close();
  });

  it('says since when nothing was published when every sink fails, until one accepts again', async () => {
    let fail = true;
    const flaky: CheckpointSink = { name: 'flaky', publish: () => (fail ? Promise.reject(new Error('unreachable')) : Promise.resolve()) };
    const { store, clock, cutter } = await setup([flaky]);
    const start = clock.now();
    await store.appendAudit(Array.from({ length: 10 }, () => makeEvent()));
    await cutter.poll();
    expect(cutter.status()).toEqual({ publishedSize: 0, unpublishedSince: start, lastFailure: 'flaky: unreachable' });
    fail = false;
    clock.advance(10_000);
    await cutter.poll();
    expect(cutter.status()).toEqual({ publishedSize: 10 });
    await store.close();
  });

  it('POSTs the signed note, signed like the webhooks', async () => {
    const received: { body: string; signature: string | undefined }[] = [];
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
      request.on('end', () => {
        received.push({ body, signature: request.headers['x-portcullis-signature'] as string | undefined });
        response.statusCode = received.length === 1 ? 204 : 500;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/checkpoints`;
    const alerts: string[] = [];
    const { store, clock, cutter } = await setup([createHttpSink(url, 'shh')], alerts);
    await store.appendAudit(Array.from({ length: 10 }, () => makeEvent()));
    const cut = await cutter.poll();
    expect(received[0]?.body).toBe(cut?.note);
    expect(received[0]?.signature).toBe(`sha256=${createHmac('sha256', 'shh').update(cut?.note ?? '').digest('hex')}`);
    await store.appendAudit([makeEvent()]);
    clock.advance(10_000);
    await cutter.poll();
    expect(alerts).toEqual([`POST ${url}`]);
    expect(cutter.status().lastFailure).toMatch(/answered 500/);
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });
});
