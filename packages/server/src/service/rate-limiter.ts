/**
 * Proposals per agent in a sliding minute of the injected clock, in this process (flood-control.ts
 * applies it). Invariant: at most `perMinute` proposals of one agent are counted in any 60 s;
 * a refused one is not counted.
 */

const MINUTE_MS = 60_000;

/** Proposals per agent in a sliding minute. */
export interface ProposalRateLimiter {
  /**
   * Counts one proposal of `agent` at `now` (ms) if fewer than `perMinute` were counted in the
   * 60 s before; otherwise counts nothing and says how long (ms) until one more is allowed.
   */
  take(agent: string, now: number, perMinute: number): { ok: true } | { ok: false; retryAfterMs: number };
}

/** Creates an in-process limiter (one per gateway process; memory: at most `perMinute` times per agent). */
export function createProposalRateLimiter(): ProposalRateLimiter {
  const times = new Map<string, number[]>();
  return {
    take(agent, now, perMinute) {
      const recent = (times.get(agent) ?? []).filter((t) => t > now - MINUTE_MS);
      if (recent.length >= perMinute) {
        times.set(agent, recent);
        return { ok: false, retryAfterMs: Math.max(1, (recent[0] ?? now) + MINUTE_MS - now) };
      }
      recent.push(now);
      times.set(agent, recent);
      return { ok: true };
    },
  };
}
