/**
 * The store's serving lease: one serving process (`portcullis start`, or `portcullis mcp
 * --standalone`) per store, so there is one set of upstream processes and one state per system.
 * Invariants: a serving process holds the lease from before it connects anything until it has
 * closed; a second one is refused naming the holder (process id, host, command, since when); a
 * lease whose holder process is gone (on this host) is taken over; the offline commands (audit,
 * vault, check, approvals) take no lease and are never refused by one. SQLite only: the lease
 * is the file `<store>.serving` beside the database, created exclusively.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { PortcullisError } from '@portcullis/core';
import type { StoreConfig } from '../config/compiled.js';

/** Who holds a lease, as written in its file. */
interface LeaseHolder {
  readonly pid: number;
  readonly host: string;
  readonly command: string;
  readonly since: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function readHolder(file: string): LeaseHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LeaseHolder;
  } catch {
    return undefined;
  }
}

/**
 * Takes the serving lease of `store` for `command` (e.g. "portcullis start"); resolves with its
 * release (idempotent). A store other than SQLite takes no lease here.
 * @throws PortcullisError STORE_IN_USE naming the holder and what to do.
 */
export function acquireServingLease(store: StoreConfig, command: string): () => void {
  if (store.kind !== 'sqlite') return () => undefined;
  const file = `${store.path}.serving`;
  // The store's folder may not exist yet (the store creates it when it opens, after this).
  mkdirSync(dirname(file), { recursive: true });
  const me: LeaseHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readHolder(file)?.pid === me.pid) {
          try { unlinkSync(file); } catch { /* gone already */ }
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(file);
    // A holder on this host whose process is gone left a stale lease: take it over once.
    if (holder === undefined || (holder.host === me.host && !alive(holder.pid))) {
      try { unlinkSync(file); } catch { /* another process took it over first */ }
      continue;
    }
    throw new PortcullisError('STORE_IN_USE', `the store ${store.path} is already served by process ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since}); `
      + 'one process serves a store, so that each system has one upstream and one state: connect to that gateway instead (`portcullis mcp --agent ID` bridges to it; `--url` names it), or stop it first'
      + ` (a lease left by a crash on another host is removed by deleting ${file})`, { holder: { ...holder } });
  }
  throw new PortcullisError('STORE_IN_USE', `the serving lease ${file} of the store could not be taken; another process is taking it; try again`);
}
