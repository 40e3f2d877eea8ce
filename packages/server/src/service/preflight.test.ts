/**
 * Pre-flight checks (service/preflight.ts) on their own: each check is bounded by the time it
 * is given, however long (a bound past what a Node timer holds is not a check failed at once).
 * The kinds of failure and the table are tested in http/runs.test.ts; every kind of real
 * system in cli/check-command.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Connector } from '../connectors/connector.js';
import { checkSystems } from './preflight.js';

const connector = (check: Connector['check']): Connector => ({
  system: 'x', check, close: async () => {}, precheck: async () => [], execute: async () => ({ result: null }),
});
const systems = { systems: new Map([['api', { kind: 'http' }]]) } as never;
const answersAfter = (ms: number): Connector => connector(() => new Promise((resolve) => { setTimeout(() => resolve({ ok: true, detail: 'answered' }), ms); }));

describe('checkSystems', () => {
  it('waits for a slow check within a long bound, even one longer than a Node timer holds', async () => {
    for (const bound of [60_000, 2 ** 31 - 1, 3_000_000_000, Number.MAX_SAFE_INTEGER]) {
      const [check] = await checkSystems(systems, new Map([['api', answersAfter(30)]]), undefined, bound);
      expect(check, `bound ${bound} ms`).toMatchObject({ system: 'api', kind: 'http', ok: true, detail: 'answered' });
    }
  });

  it('fails a check that outlasts its bound, saying how long it waited', async () => {
    // A check that never answers: a result at all comes from the bound.
    const [check] = await checkSystems(systems, new Map([['api', connector(() => new Promise(() => {}))]]), undefined, 20);
    expect(check).toMatchObject({ ok: false, detail: 'no answer within 20 ms' });
  });
});
