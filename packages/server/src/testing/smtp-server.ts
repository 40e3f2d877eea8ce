/**
 * Starts the real SMTP server of testing/fixtures/smtp-server.mjs (smtp-server from npm) as a
 * child process on 127.0.0.1, and reads back the messages it received.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';

/** A message as the server received it. */
export interface ReceivedMessage {
  /** The envelope sender. */
  readonly from: string | null;
  /** The envelope recipients. */
  readonly to: readonly string[];
  /** The user who authenticated. */
  readonly user: string | null;
  /** The message as sent: headers, a blank line, the body. */
  readonly raw: string;
}

/** A running SMTP server. */
export interface SmtpServer {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The messages received so far, oldest first. */
  messages(): readonly ReceivedMessage[];
  /** Waits until at least `count` messages have arrived (at most 10 s). */
  waitForMessages(count: number): Promise<readonly ReceivedMessage[]>;
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./fixtures/smtp-server.mjs', import.meta.url));

/** Starts the server; resolves once it listens. */
export async function startSmtpServer(options: { user?: string; password?: string; acceptNever?: boolean } = {}): Promise<SmtpServer> {
  const user = options.user ?? 'portcullis';
  const password = options.password ?? `smtp_pw_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const child: ChildProcess = spawn(process.execPath, [SCRIPT], {
    env: { PATH: process.env.PATH ?? '', SMTP_USER: user, SMTP_PASSWORD: password, ...(options.acceptNever === true ? { SMTP_ACCEPT_NEVER: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const received: ReceivedMessage[] = [];
  /** Emits `message` as each message arrives. */
  const arrivals = new EventEmitter();
  let errors = '';
  let buffer = '';
  child.stderr?.on('data', (chunk: Buffer) => { errors += chunk.toString(); });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`the SMTP fixture did not start within 15 s: ${errors}`)); }, 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = JSON.parse(buffer.slice(0, newline)) as { port?: number; message?: ReceivedMessage };
        buffer = buffer.slice(newline + 1);
        if (line.port !== undefined) { clearTimeout(timer); resolve(line.port); }
        if (line.message !== undefined) {
          received.push(line.message);
          arrivals.emit('message');
        }
        newline = buffer.indexOf('\n');
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the SMTP fixture exited with ${code}: ${errors}`)); });
  });
  return {
    port, user, password,
    messages: () => [...received],
    waitForMessages(count) {
      return new Promise((resolve, reject) => {
        const done = (): void => { clearTimeout(timer); arrivals.off('message', arrived); };
        const arrived = (): void => {
          if (received.length < count) return;
          done();
          resolve([...received]);
        };
        const timer = setTimeout(() => { done(); reject(new Error(`expected ${count} message(s), received ${received.length}: ${errors}`)); }, 10_000);
        arrivals.on('message', arrived);
        arrived();
      });
    },
    close: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
