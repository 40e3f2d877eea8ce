/**
 * The layering check (.dependency-cruiser.cjs, run by `npm test`) reports what it exists to
 * report: run over a fixture tree with deliberate violations, each is named by its rule; and the
 * real tree has none.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/layering/', import.meta.url));
const rules = createRequire(import.meta.url)('../../../../.dependency-cruiser.cjs') as { forbidden: { name: string; comment: string }[]; options: Record<string, unknown> };

async function violations(baseDir: string, options: Record<string, unknown> = {}): Promise<IViolation[]> {
  const result = await cruise(['packages'], {
    baseDir, validate: true, ruleSet: { forbidden: rules.forbidden } as never, tsPreCompilationDeps: true, outputType: 'json', ...options,
  });
  const output = (typeof result.output === 'string' ? JSON.parse(result.output) : result.output) as ICruiseResult;
  return output.summary.violations;
}

const describeViolation = (v: IViolation): string => `${v.rule.name}: ${v.from} → ${v.to}`;

describe('the layering check', () => {
  it('reports an HTTP route importing the store, config importing a connector, and two folders importing each other', async () => {
    const found = (await violations(FIXTURE)).map(describeViolation);
    expect(found).toEqual(expect.arrayContaining([
      'http: packages/server/src/http/routes.js → packages/server/src/store/store.js',
      'config: packages/server/src/config/load.js → packages/server/src/connectors/sql/sql-kind.js',
      'store: packages/server/src/store/store.js → packages/server/src/vault/vault.js',
    ]));
    // The cycles are reported too (store ↔ vault, config ↔ connectors).
    expect(found.filter((v) => v.startsWith('no-circular:')).length).toBeGreaterThanOrEqual(2);
    // What the layers allow is not reported: the service importing the store, the vault the store, a connector the config, anyone the core.
    expect(found.filter((v) => !v.startsWith('no-circular:')).sort()).toEqual([
      'config: packages/server/src/config/load.js → packages/server/src/connectors/sql/sql-kind.js',
      'http: packages/server/src/http/routes.js → packages/server/src/store/store.js',
      'store: packages/server/src/store/store.js → packages/server/src/vault/vault.js',
    ]);
  });

  it('finds no violation in the product', async () => {
    const found = await violations(ROOT, { ...rules.options, tsConfig: { fileName: `${ROOT}tsconfig.test.json` } });
    expect(found.map(describeViolation)).toEqual([]);
  });
});

describe('docs/architecture.md', () => {
  const doc = readFileSync(`${ROOT}docs/architecture.md`, 'utf8');
  const folders = readdirSync(`${ROOT}packages/server/src`, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

  it('names every top-level folder of packages/server/src with its purpose', () => {
    for (const folder of folders) expect(doc, `${folder}/ is missing from the tree in docs/architecture.md`).toMatch(new RegExp(`^  ${folder}/ +\\S`, 'm'));
  });

  it('gives each folder the imports its layering rule allows, and no rule lacks a row', () => {
    /** The folders a rule allows, from its comment ("it may import a/, b/ and the core"). */
    const allowedByRule = new Map(rules.forbidden.filter((r) => r.name !== 'no-circular').map((r) => {
      const list = /it may import (.*)$/.exec(r.comment)?.[1] ?? '';
      return [r.name, [...list.matchAll(/([a-z-]+)\//g)].map((m) => m[1]).sort().join(',')];
    }));
    /** The folders the table allows: "| `http`, `cli` | `service` |". */
    const allowedByDoc = new Map<string, string>();
    for (const row of doc.matchAll(/^\| (`[^|]+`) \| ([^|]+) \|/gm)) {
      const allowed = [...(row[2] ?? '').matchAll(/`([a-z-]+)`/g)].map((m) => m[1]).sort().join(',');
      for (const name of (row[1] ?? '').matchAll(/`([a-z-]+)`/g)) allowedByDoc.set(name[1] as string, allowed);
    }
    for (const [folder, allowed] of allowedByRule) expect(allowedByDoc.get(folder), `docs/architecture.md's table row for ${folder}`).toBe(allowed);
    // Every folder is governed by a rule, except the composition root and the test helpers.
    for (const folder of folders) if (folder !== 'wiring' && folder !== 'testing') expect(allowedByRule.has(folder), `no layering rule for ${folder}/`).toBe(true);
  });
});
