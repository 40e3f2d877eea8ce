/**
 * A real HTTP server that receives webhooks in tests (node:http on 127.0.0.1): it records every
 * request (headers and raw body) and answers as the test scripts it, one answer per request.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';

/** A request as received. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** How to answer one request: a status (and body, headers), or never (hold the request open). */
export type Answer = { readonly status: number; readonly body?: string | Buffer; readonly headers?: Record<string, string> } | 'never';

export interface WebhookReceiver {
  readonly url: string;
  readonly received: readonly ReceivedRequest[];
  /** The answer to each next request, in order; when they run out, `fallback` (default 204). */
  script(...answers: Answer[]): void;
  fallback(answer: Answer): void;
  /** Resolves once `count` requests have arrived (at most 10 s). */
  waitFor(count: number): Promise<readonly ReceivedRequest[]>;
  close(): Promise<void>;
}

/** Starts a receiver. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const answers: Answer[] = [];
  const arrivals = new EventEmitter();
  const held: ServerResponse[] = [];
  let fallback: Answer = { status: 204 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      arrivals.emit('request');
      const answer = answers.shift() ?? fallback;
      if (answer === 'never') { held.push(response); return; }
      response.writeHead(answer.status, answer.headers);
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/portcullis`,
    received,
    script: (...next) => { answers.push(...next); },
    fallback: (answer) => { fallback = answer; },
    waitFor(count) {
      return new Promise((resolve, reject) => {
        const check = (): void => { if (received.length >= count) { done(); resolve([...received]); } };
        const done = (): void => { clearTimeout(timer); arrivals.off('request', check); };
        const timer = setTimeout(() => { done(); reject(new Error(`expected ${count} request(s), received ${received.length}`)); }, 10_000);
        arrivals.on('request', check);
        check();
      });
    },
    close: () => new Promise((resolve) => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
