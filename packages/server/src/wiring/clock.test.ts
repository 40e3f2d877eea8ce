import { describe, expect, it } from 'vitest';
import { createIdGenerator } from './clock.js';

describe('createIdGenerator', () => {
  it('makes distinct ids that sort by the clock, across many refills of its random pool', () => {
    let now = Date.UTC(2026, 0, 1);
    const ids = createIdGenerator({ now: () => now });
    const made: string[] = [];
    for (let i = 0; i < 5000; i += 1) {
      if (i % 1000 === 0) now += 1;
      made.push(ids.next('prop'));
    }
    for (const id of made) expect(id).toMatch(/^prop_[0-9a-z]{12}[a-z2-7]{10}$/);
    expect(new Set(made).size).toBe(made.length);
    const times = made.map((id) => id.slice(5, 17));
    expect([...times].sort()).toEqual(times);
    // The random part is not one repeated block: all 32 characters turn up.
    expect(new Set(made.flatMap((id) => [...id.slice(17)])).size).toBe(32);
  });
});
