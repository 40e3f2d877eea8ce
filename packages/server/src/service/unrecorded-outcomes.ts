/**
 * Outcomes the gateway could not record. Invariant: when a connector ran but the store failed
 * before its outcome was committed, the proposal is flagged `outcome_unknown` (with what the
 * connector reported, for the person who resolves it) as soon as the store accepts the write
 * again — retried in the background with backoff, without waiting for a restart. A restart
 * flags it too (recovery flags every proposal left `executing`), so nothing depends on this
 * process living on.
 */
import { PortcullisError, type JsonValue } from '@portcullis/core';
import type { ProposalRecord } from '../store/store.js';
import { proposalEvent, type ServiceDeps } from './deps.js';
import { moveProposal } from './proposal-moves.js';

const GATEWAY = { kind: 'system', id: 'gateway' } as const;
const FIRST_RETRY_MS = 50;
const LONGEST_RETRY_MS = 5_000;
/** About an hour of retries; after that, the next start flags it. */
const MAX_ATTEMPTS = 800;

interface Unrecorded {
  readonly proposal: ProposalRecord;
  readonly reported: Record<string, JsonValue>;
  attempts: number;
}

const pendingByDeps = new WeakMap<ServiceDeps, Map<string, Unrecorded>>();

async function flag(deps: ServiceDeps, item: Unrecorded): Promise<'done' | 'retry'> {
  const now = deps.clock.now();
  const message = 'the action was sent to its system, but the gateway could not record its outcome (its store failed); check the system and resolve the proposal';
  try {
    await moveProposal(deps, item.proposal, 'lose_outcome', { updatedAt: now, error: { code: 'OUTCOME_UNKNOWN', message } },
      [proposalEvent('execution.outcome_unknown', now, GATEWAY, item.proposal, { message, reported: item.reported })]);
    return 'done'; // saved, or another request (a restart's recovery) moved it first
  } catch (error) {
    return error instanceof PortcullisError && error.code === 'STORE_UNAVAILABLE' ? 'retry' : 'done';
  }
}

function schedule(deps: ServiceDeps, pending: Map<string, Unrecorded>, item: Unrecorded): void {
  const delay = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(item.attempts, 10));
  const timer = setTimeout(() => {
    void flag(deps, item).then((result) => {
      item.attempts += 1;
      if (result === 'retry' && item.attempts < MAX_ATTEMPTS) schedule(deps, pending, item);
      else pending.delete(item.proposal.id);
    });
  }, delay);
  timer.unref();
}

/**
 * Remembers that `proposal` (durably `executing`) ran but its outcome could not be recorded, and
 * flags it `outcome_unknown` once the store is writable again. `reported` is what the connector
 * said (kept in the audit event for the person who resolves it).
 */
export function flagWhenWritable(deps: ServiceDeps, proposal: ProposalRecord, reported: Record<string, JsonValue>): void {
  let pending = pendingByDeps.get(deps);
  if (pending === undefined) {
    pending = new Map();
    pendingByDeps.set(deps, pending);
  }
  if (pending.has(proposal.id)) return;
  const item: Unrecorded = { proposal, reported, attempts: 0 };
  pending.set(proposal.id, item);
  schedule(deps, pending, item);
}
