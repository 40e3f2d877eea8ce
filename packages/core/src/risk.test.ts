import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HIGH_RISK_TAGS, RISK_CLASSES, VERBS, compareRisk, defaultRisk, impliedTags, maxRisk, resolveRisk, type RiskClass, type Verb } from './risk.js';

describe('risk order', () => {
  it('orders read < write < high', () => {
    expect(RISK_CLASSES).toEqual(['read', 'write', 'high']);
    expect(compareRisk('read', 'write')).toBeLessThan(0);
    expect(compareRisk('write', 'high')).toBeLessThan(0);
    expect(compareRisk('high', 'read')).toBeGreaterThan(0);
    expect(compareRisk('write', 'write')).toBe(0);
  });

  it('maxRisk is the riskier class, either way round', () => {
    expect(maxRisk('read', 'high')).toBe('high');
    expect(maxRisk('high', 'read')).toBe('high');
    expect(maxRisk('write', 'read')).toBe('write');
    expect(maxRisk('read', 'read')).toBe('read');
  });
});

describe('defaultRisk per verb', () => {
  const expected: Record<Verb, RiskClass> = { read: 'read', create: 'write', update: 'write', delete: 'high', send: 'high', pay: 'high' };
  it.each(VERBS.map((verb) => [verb, expected[verb]] as const))('%s is %s', (verb, risk) => {
    expect(defaultRisk(verb)).toBe(risk);
  });

  it('implied tags: delete is a delete, send is external, pay is financial', () => {
    expect(impliedTags('delete')).toEqual(['delete']);
    expect(impliedTags('send')).toEqual(['external']);
    expect(impliedTags('pay')).toEqual(['financial']);
    for (const verb of ['read', 'create', 'update'] as const) expect(impliedTags(verb)).toEqual([]);
  });

  it.each(HIGH_RISK_TAGS)('tag %s forces high on any verb, even read', (tag) => {
    for (const verb of VERBS) expect(defaultRisk(verb, [tag])).toBe('high');
  });
});

describe('resolveRisk', () => {
  it('without configuration, returns the floor and says why', () => {
    expect(resolveRisk('read', [])).toEqual({ ok: true, value: { risk: 'read', why: 'read: changes nothing' } });
    expect(resolveRisk('update', [])).toEqual({ ok: true, value: { risk: 'write', why: 'write: update changes data' } });
    const del = resolveRisk('delete', []);
    expect(del).toEqual({ ok: true, value: { risk: 'high', why: 'high risk: deletes data' } });
  });

  it.each([
    ['delete', 'write'], ['delete', 'read'], ['send', 'write'], ['send', 'read'], ['pay', 'write'], ['pay', 'read'],
  ] as const)('refuses lowering %s to %s, naming the floor and the reason', (verb, configured) => {
    const result = resolveRisk(verb, [], configured);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContain(`"${configured}" is below "high"`);
    expect(result.error).toContain(impliedTags(verb)[0]);
  });

  it('refuses lowering an update tagged refund to write', () => {
    const result = resolveRisk('update', ['refund'], 'write');
    expect(result).toEqual({ ok: false, error: expect.stringContaining('tagged refund') });
  });

  it('refuses lowering a write verb to read', () => {
    const result = resolveRisk('create', [], 'read');
    expect(result).toEqual({ ok: false, error: expect.stringContaining('its verb is create') });
  });

  it('allows raising, and says configuration raised it', () => {
    expect(resolveRisk('read', [], 'write')).toEqual({ ok: true, value: { risk: 'write', why: 'write risk: raised by configuration' } });
    expect(resolveRisk('update', [], 'high')).toEqual({ ok: true, value: { risk: 'high', why: 'high risk: raised by configuration' } });
    expect(resolveRisk('read', [], 'high')).toMatchObject({ ok: true, value: { risk: 'high' } });
  });

  it('tags force high and are named in the why', () => {
    const result = resolveRisk('update', ['external', 'financial']);
    expect(result).toEqual({ ok: true, value: { risk: 'high', why: 'high risk: communicates outside the company, moves money' } });
    expect(resolveRisk('read', ['refund'])).toMatchObject({ ok: true, value: { risk: 'high', why: 'high risk: issues a refund' } });
  });

  it('does not repeat a tag the verb already implies', () => {
    expect(resolveRisk('delete', ['delete'])).toMatchObject({ ok: true, value: { why: 'high risk: deletes data' } });
  });

  it('property: the resolved class is never below the floor, and is the configured one when accepted', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VERBS),
        fc.uniqueArray(fc.constantFrom(...HIGH_RISK_TAGS)),
        fc.option(fc.constantFrom(...RISK_CLASSES), { nil: undefined }),
        (verb, tags, configured) => {
          const floor = defaultRisk(verb, tags);
          const result = resolveRisk(verb, tags, configured);
          if (configured !== undefined && compareRisk(configured, floor) < 0) {
            expect(result.ok).toBe(false);
            return;
          }
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.value.risk).toBe(configured ?? floor);
          expect(compareRisk(result.value.risk, floor)).toBeGreaterThanOrEqual(0);
          if (tags.length > 0 || impliedTags(verb).length > 0) expect(result.value.risk).toBe('high');
        },
      ),
    );
  });
});
