/**
 * The schema workers: started by the first check, not before; stopped when the last hold is
 * released, and started again by a later check; a worker answers as the main thread does,
 * whatever it keeps compiled (two schemas with one `$id`, more schemas than it keeps); a check
 * that takes too long refuses the value.
 */
import { canonicalJson, sha256Hex } from '@portcullis/core';
import { describe, expect, it } from 'vitest';
import checkSchemaJob, { MAX_COMPILED } from './schema-worker.js';
import { checkInWorker, holdSchemaWorkers, schemaWorkerThreads } from './schema-workers.js';

const job = (schema: Record<string, unknown>, value: unknown) => ({ digest: sha256Hex(canonicalJson(schema)), schema, value });
const text = (pattern: string, extra: Record<string, unknown> = {}) => ({ type: 'object', properties: { text: { type: 'string', pattern } }, ...extra });

describe('the schema worker pool', () => {
  it('starts on the first check, stops when the last hold is released, and starts again when needed', async () => {
    const first = holdSchemaWorkers();
    const second = holdSchemaWorkers();
    expect(schemaWorkerThreads()).toBe(0);
    expect(await checkInWorker(job(text('^a+$'), { text: 'ab' }))).toEqual([{ path: ['text'], message: 'must match pattern "^a+$"' }]);
    expect(schemaWorkerThreads()).toBeGreaterThan(0);
    await first.release();
    await first.release();
    expect(schemaWorkerThreads()).toBeGreaterThan(0);
    await second.release();
    expect(schemaWorkerThreads()).toBe(0);
    const again = holdSchemaWorkers();
    expect(await checkInWorker(job(text('^a+$'), { text: 'aa' }))).toEqual([]);
    await again.release();
    expect(schemaWorkerThreads()).toBe(0);
  });

  it('refuses a value whose check takes longer than the time allowed, and checks the next one', async () => {
    const hold = holdSchemaWorkers();
    const long = { text: `${'a'.repeat(2_000_000)}!` };
    expect(await checkInWorker(job(text('(a+)+$'), long), { timeoutMs: 1 })).toEqual([{ path: [], message: expect.stringContaining("could not be checked against the tool's input schema within 0.001 s") }]);
    // The pool goes on (piscina replaced the stopped thread).
    expect(await checkInWorker(job(text('(a+)+$'), { text: 'aa' }))).toEqual([]);
    await hold.release();
  });
});

describe('a schema worker', () => {
  it('answers by the schema it is sent, whatever it keeps compiled', () => {
    // Two schemas with one $id (an upstream changed a tool): each is checked by itself.
    const one = text('^a+$', { $id: 'https://example.test/tool' });
    const two = text('^b+$', { $id: 'https://example.test/tool' });
    expect(checkSchemaJob(job(one, { text: 'aa' }))).toEqual([]);
    expect(checkSchemaJob(job(two, { text: 'aa' }))).toEqual([{ path: ['text'], message: 'must match pattern "^b+$"' }]);
    expect(checkSchemaJob(job(one, { text: 'aa' }))).toEqual([]);
    // More schemas than it keeps: the oldest are compiled again when they come back.
    for (let i = 0; i <= MAX_COMPILED; i += 1) expect(checkSchemaJob(job(text(`^x{${i}}$`), { text: 'x'.repeat(i) }))).toEqual([]);
    expect(checkSchemaJob(job(text('^x{0}$'), { text: 'x' }))).toEqual([{ path: ['text'], message: 'must match pattern "^x{0}$"' }]);
  });
});
