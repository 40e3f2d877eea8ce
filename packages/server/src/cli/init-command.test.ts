/**
 * `portcullis init`: for every system kind, a starter that `portcullis validate` accepts as
 * written, with the hashes of the key and token it prints; never overwriting a file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@portcullis/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import { makeTempDir } from '../testing/temp-dir.js';

const dir = makeTempDir('portcullis-init');
afterAll(() => dir.cleanup());

describe('portcullis init --kind', () => {
  for (const kind of ['sql', 'http', 'mcp', 'smtp']) {
    it(`${kind}: writes a commented starter that validates, with the printed key's and token's hashes`, async () => {
      const file = join(dir.path, kind, 'portcullis.yaml');
      const init = await runCli(['init', '--kind', kind, '-c', file]);
      expect(init.err).toBe('');
      expect(init.code).toBe(0);
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/^# portcullis\.yaml: a starter/);
      const key = /agent key .*:\s+(\S+)/.exec(init.out)?.[1] ?? '';
      const token = /lead token .*:\s+(\S+)/.exec(init.out)?.[1] ?? '';
      expect(text).toContain(`keyHash: "sha256:${sha256Hex(key)}"`);
      expect(text).toContain(`tokenHash: "sha256:${sha256Hex(token)}"`);
      expect(text).not.toContain(key);
      expect(init.out.trim().split('\n').slice(-3)).toEqual([`  portcullis validate ${file}`, `  portcullis start -c ${file}`, '  PORTCULLIS_TOKEN=<lead token> portcullis approvals list']);
      const validate = await runCli(['validate', file]);
      expect(validate.err).toBe('');
      expect(validate.code).toBe(0);
      expect(validate.out).toMatch(/is valid: 1 workflow\(s\), 1 system\(s\)/);
    });
  }

  it('refuses to overwrite an existing file (exit 2), and writes nothing', async () => {
    const file = join(dir.path, 'existing.yaml');
    writeFileSync(file, 'mine\n');
    const result = await runCli(['init', '--kind', 'sql', '-c', file]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`${file} already exists; init never overwrites a file`);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
  });

  it('refuses an HTTP starter whose OpenAPI document would overwrite a file', async () => {
    const file = join(dir.path, 'api', 'portcullis.yaml');
    await runCli(['init', '--kind', 'sql', '-c', join(dir.path, 'api', 'other.yaml')]);
    writeFileSync(join(dir.path, 'api', 'openapi.yaml'), 'mine\n');
    const result = await runCli(['init', '--kind', 'http', '-c', file]);
    expect(result.code).toBe(2);
    expect(result.err).toContain('openapi.yaml already exists');
    expect(readFileSync(join(dir.path, 'api', 'openapi.yaml'), 'utf8')).toBe('mine\n');
  });

  it('needs a known --kind (exit 2)', async () => {
    expect((await runCli(['init', '-c', join(dir.path, 'x.yaml')])).code).toBe(2);
    const bad = await runCli(['init', '--kind', 'ftp', '-c', join(dir.path, 'x.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Allowed choices are sql, http, mcp, smtp/);
  });
});
