/**
 * Tests launch the CLI from its TypeScript sources (cli-from-sources.ts): the process loads
 * every module of ours from packages/…/src, `@portcullis/core` included, and nothing built,
 * whether or not a build exists beside the sources.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliFromSources } from './cli-from-sources.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

const PACKAGES = pathToFileURL(fileURLToPath(new URL('../../../', import.meta.url))).href;
const RECORDER = fileURLToPath(new URL('./fixtures/record-loaded-modules.mjs', import.meta.url));

let dir: TempDir;
beforeEach(() => { dir = makeTempDir('portcullis-cli-sources'); });
afterEach(() => dir.cleanup());

describe('the CLI launched from its sources', () => {
  it('runs, loading only TypeScript sources of ours: the CLI\'s and @portcullis/core\'s', async () => {
    const record = join(dir.path, 'loaded.txt');
    const launch = cliFromSources(['--version'], [RECORDER]);
    const { stdout } = await promisify(execFile)(launch.command, launch.args, { env: { ...process.env, ...launch.env, RECORD_LOADED_MODULES: record } });
    expect(stdout.trim()).toBe('0.1.0');
    // Our modules, as paths under packages/ (a loader may add a query to a URL).
    const ours = readFileSync(record, 'utf8').split('\n')
      .filter((url) => url.startsWith(PACKAGES) && !url.includes('/node_modules/'))
      .map((url) => url.slice(PACKAGES.length).replace(/\?.*$/, ''));
    expect(ours).toContain('server/src/cli/main.ts');
    expect(ours).toContain('core/src/index.ts');
    expect(ours.filter((path) => !/^(core|server)\/src\/.+\.ts$/.test(path))).toEqual([]);
  });
});
