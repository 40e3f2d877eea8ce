/**
 * Proposals per agent per minute, counted by `rate-limiter-flexible` (RateLimiterMemory: a fixed
 * window of 60 s of real time that opens at an agent's first proposal after the previous window
 * closed). flood-control.ts applies it on every face. Invariants: at most `perMinute` proposals of
 * one agent are taken in one window; a refusal says how long until the window closes. It counts
 * in this process; several gateway instances would share a store-backed limiter of the same
 * library (RateLimiterPostgres) behind this port. It runs on real time, not the injected clock:
 * it protects the running gateway, and `portcullis simulate` (weeks in seconds) passes
 * `unlimitedProposals` instead.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** The window a limit counts in, in seconds. */
const WINDOW_SECONDS = 60;

/** Proposals per agent per minute. */
export interface ProposalRateLimiter {
  /**
   * Takes one proposal of `agent` if fewer than `perMinute` were taken in its current window;
   * otherwise says how long (ms, at least 1) until its window closes.
   */
  take(agent: string, perMinute: number): Promise<{ ok: true } | { ok: false; retryAfterMs: number }>;
}

/** Creates this process's limiter (memory: one small record per agent that proposed in the last minute). */
export function createProposalRateLimiter(): ProposalRateLimiter {
  // One limiter per limit: a reloaded config with another limit starts counting afresh.
  const byLimit = new Map<number, RateLimiterMemory>();
  return {
    async take(agent, perMinute) {
      let limiter = byLimit.get(perMinute);
      if (limiter === undefined) {
        limiter = new RateLimiterMemory({ points: perMinute, duration: WINDOW_SECONDS });
        byLimit.set(perMinute, limiter);
      }
      try {
        await limiter.consume(agent);
        return { ok: true };
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) return { ok: false, retryAfterMs: Math.max(1, refusal.msBeforeNext) };
        throw refusal;
      }
    },
  };
}

/** A limiter that takes every proposal: for `portcullis simulate`, whose scripted agents propose weeks of work in seconds. */
export const unlimitedProposals: ProposalRateLimiter = { take: async () => ({ ok: true }) };
