/**
 * deploy/: Docker cannot run here, so the files are held by reading: every path the
 * Dockerfile copies from the repository exists, the runtime stage is a non-root user with the
 * store on a volume, and the commands the systemd unit and the image run are commands and
 * options the CLI has; the Caddyfile proxies to the gateway's default address.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../config/schema.js';
import { createCliHost } from '../wiring/cli-host.js';
import { createProgram } from './main.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const read = (path: string): string => readFileSync(join(REPO, path), 'utf8');

/** Checks that `portcullis ARGS…` names an existing command and only options it accepts. */
function expectCommand(args: readonly string[]): void {
  let command: Command = createProgram(createCliHost(), { out: () => undefined, err: () => undefined }, () => undefined);
  const rest = [...args];
  for (let sub = command.commands.find((c) => c.name() === rest[0]); sub !== undefined; sub = command.commands.find((c) => c.name() === rest[0])) {
    command = sub;
    rest.shift();
  }
  expect(command.parent, `portcullis ${args.join(' ')} names a command`).not.toBeNull();
  const flags = new Set(command.options.flatMap((o) => [o.long, o.short]));
  for (const arg of rest.filter((a) => a.startsWith('-'))) expect(flags, `portcullis ${args.join(' ')}: ${arg}`).toContain(arg);
}

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile');

  it('copies only files that exist in the repository, and ignores what a build makes', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => (m[1] as string).trim().split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) expect(existsSync(join(REPO, source)), source).toBe(true);
    expect(read('.dockerignore').split('\n')).toEqual(expect.arrayContaining(['node_modules', '**/dist', '.portcullis', '*.db']));
  });

  it('is multi-stage, runs as a non-root user, keeps the store on a volume, and starts the gateway', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^USER portcullis$/m);
    expect(runtime).toMatch(/^VOLUME \["\/var\/lib\/portcullis"\]$/m);
    const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(runtime)?.[1] ?? '[]') as string[];
    const cmd = JSON.parse(/^CMD (.+)$/m.exec(runtime)?.[1] ?? '[]') as string[];
    expect(entrypoint).toEqual(['portcullis']);
    expectCommand(cmd);
    expect(runtime).toContain(`EXPOSE ${CONFIG_DEFAULTS.port}`);
  });
});

describe('deploy/portcullis.service', () => {
  const unit = read('deploy/portcullis.service');

  it('runs as a dedicated user, with the store and key paths, a restart policy, and real commands', () => {
    expect(unit).toMatch(/^User=portcullis$/m);
    expect(unit).toMatch(/^StateDirectory=portcullis$/m);
    expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/portcullis$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toContain('/etc/portcullis/master.key');
    for (const line of unit.match(/^ExecStart(?:Pre)?=.+$/gm) ?? []) {
      const [binary, ...args] = line.slice(line.indexOf('=') + 1).split(/\s+/);
      expect(binary).toBe('/usr/local/bin/portcullis');
      expectCommand(args);
    }
    expect(unit.match(/^ExecStart(?:Pre)?=/gm)).toHaveLength(2);
  });
});

describe('deploy/Caddyfile', () => {
  it('terminates TLS for a name and proxies to the gateway on the loopback interface, unbuffered', () => {
    const caddy = read('deploy/Caddyfile');
    expect(caddy).toMatch(/^portcullis\.example\.com \{$/m);
    expect(caddy).toContain(`reverse_proxy ${CONFIG_DEFAULTS.host}:${CONFIG_DEFAULTS.port}`);
    expect(caddy).toContain('flush_interval -1');
  });

  it('is explained in docs/operations.md, with the other two', () => {
    const docs = read('docs/operations.md');
    for (const file of ['deploy/portcullis.service', 'deploy/Caddyfile', 'deploy/Dockerfile']) expect(docs).toContain(`(../${file})`);
  });
});
