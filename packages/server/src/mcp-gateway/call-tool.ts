/**
 * One `tools/call` of an agent on the wire: the service makes it a proposal or refuses it
 * (service/tool-calls.ts: keying, at-most-once, refusals audited). Invariants held here: a call
 * that needs approval is held at most the hold time, with progress notifications when the
 * client asked for them (one at once, then one every progress interval until the hold ends),
 * then answered "pending"; when the gateway stops (`shutdown` aborts) every held call is
 * answered "pending" at once, without waiting out its hold time; approval never comes through
 * the agent's own client (no elicitation); the outcome is marked delivered only when it is answered.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { isSettled } from '@portcullis/core';
import type { AgentConfig, GatewayService, ProposalRecord } from '../service/contracts.js';
import { failureAnswer, outcomeResult, pendingResult } from './results.js';

/** How the MCP gateway serves calls. */
export interface McpGatewayDeps {
  readonly service: GatewayService;
  /** How long a call that needs approval is held before it is answered "pending" (default the config's `mcp.holdTime`). */
  readonly holdMs?: number;
  /** What cancels a call besides its own transport, by its JSON-RPC request id (the stateless HTTP face's registry of calls in flight). */
  readonly cancelOf?: (requestId: unknown) => AbortSignal | undefined;
  /** How often a held call sends a progress notification, in ms (default the config's `mcp.progressInterval`). */
  readonly progressEveryMs?: number;
  /** Aborted when the gateway stops: held calls are answered "pending" at once. */
  readonly shutdown?: AbortSignal;
  /** The gateway's HTTP address people approve at, for the pending answer. */
  readonly gatewayUrl: string;
}

export type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Waits for a proposal to settle, at most until `deadline` (ms since the epoch), telling the
 * client it is waiting every progress interval; returns early, unsettled, when the client
 * cancels the call or the gateway stops.
 */
async function hold(deps: McpGatewayDeps, proposal: ProposalRecord, extra: CallExtra, deadline: number): Promise<ProposalRecord> {
  const token = extra._meta?.progressToken;
  const every = deps.progressEveryMs ?? deps.service.config.mcp.progressMs;
  const started = Date.now();
  let current = proposal;
  let progress = 0;
  while (!isSettled(current.status) && !extra.signal.aborted && deps.shutdown?.aborted !== true) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (token !== undefined) {
      progress += 1;
      const waited = Math.round((Date.now() - started) / 1000);
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, message: `proposal ${current.id} is ${current.status.replace('_', ' ')} (waited ${waited}s); a person decides through Portcullis` },
      }).catch(() => undefined);
    }
    current = await deps.service.waitForChange(current.id, current.status, Math.min(left, every), deps.shutdown);
  }
  return current;
}

/**
 * The request `_meta` key with which a client asks not to be held: `false` answers a call that
 * needs approval "pending" at once (the bridging `portcullis mcp` asks so for its held calls
 * when it is stopped). Any other value, or none, holds the call up to the hold time.
 */
export const WAIT_META_KEY = 'portcullis/wait';

/** Handles one tools/call of `agent`. Never throws for a call's outcome; throws McpError for protocol errors (failureAnswer). */
export async function callTool(deps: McpGatewayDeps, agent: AgentConfig, name: string, args: Record<string, unknown> | undefined, extra: CallExtra): Promise<CallToolResult> {
  const { service } = deps;
  const holdMs = extra._meta?.[WAIT_META_KEY] === false ? 0 : deps.holdMs ?? service.config.mcp.holdMs;
  const deadline = Date.now() + holdMs;
  // A call run at once passes on the agent's cancellation to the upstream, and the upstream's
  // progress to the agent when it asked for progress (its progressToken).
  const token = extra._meta?.progressToken;
  const onProgress = token === undefined ? undefined : (p: { progress: number; total?: number; message?: string }): void => {
    void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } }).catch(() => undefined);
  };
  const outcome = await service.callTool(agent, name, args, { signal: extra.signal, ...(onProgress === undefined ? {} : { onProgress }) });
  if (outcome.kind === 'refused') return failureAnswer(outcome.error, outcome.hint);
  const proposal = await hold(deps, outcome.proposal, extra, deadline);
  // A cancelled call's answer reaches nobody: its outcome stays undelivered, for the same call made again.
  if (!isSettled(proposal.status) || extra.signal.aborted) return pendingResult(service.config, proposal, deps.gatewayUrl);
  // The outcome is being delivered: the same call made again from now on is a new proposal.
  await service.markToolCallDelivered(outcome.call);
  return outcomeResult(proposal);
}
