/**
 * The in-process change feed (the core's ChangeFeed port): enough for one gateway process.
 * Waiters also re-read the store on a timer (see gateway-service.ts waitForChange), so a change
 * saved by another process is seen within that period until a shared feed is wired.
 */
import { EventEmitter } from 'node:events';
import type { ChangeFeed, StateChange } from '@portcullis/core';

/** Creates a change feed that tells waiters in this process. */
export function createInProcessChangeFeed(): ChangeFeed {
  const emitter = new EventEmitter().setMaxListeners(0);
  const key = (kind: StateChange['kind'], id: string): string => `${kind}:${id}`;
  return {
    publish(change) {
      emitter.emit(key(change.kind, change.id), change);
    },
    next(kind, id, timeoutMs) {
      return new Promise((resolve) => {
        const name = key(kind, id);
        const done = (value: StateChange | undefined): void => {
          clearTimeout(timer);
          emitter.off(name, done);
          resolve(value);
        };
        // A waiter never keeps a stopping process alive.
        const timer = setTimeout(() => done(undefined), timeoutMs).unref();
        emitter.on(name, done);
      });
    },
  };
}
