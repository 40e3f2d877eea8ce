/**
 * The one place proposals and errors become MCP answers. What an agent (a model) must read
 * and act on is a tool result: the tool's own result once it ran, or `isError` with what
 * happened and what to do (denied, rejected, cancelled, expired, failed, invalid arguments, upstream
 * failure); a call still waiting for a person is a plain result saying so, with where it is
 * approved. Protocol errors are kept for what is not a tool call's outcome: an unknown tool
 * name (invalid params, as the MCP specification says) and the gateway's own failures.
 */
import { isPortcullisError, type PortcullisError } from '@portcullis/core';
import { ErrorCode, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledConfig, ProposalRecord } from '../service/contracts.js';

const meta = (proposal: ProposalRecord): Record<string, unknown> => ({ 'portcullis/proposal': { id: proposal.id, status: proposal.status, workflow: proposal.workflow, action: proposal.action } });
const text = (body: string, proposal: ProposalRecord | undefined, isError: boolean): CallToolResult => ({
  content: [{ type: 'text', text: body }], ...(isError ? { isError: true } : {}), ...(proposal === undefined ? {} : { _meta: meta(proposal) }),
});

/** The answer for a settled proposal. */
export function outcomeResult(proposal: ProposalRecord): CallToolResult {
  const id = `Proposal ${proposal.id} (${proposal.action}, workflow ${proposal.workflow})`;
  switch (proposal.status) {
    case 'succeeded': {
      const result = (proposal.result ?? {}) as Partial<CallToolResult>;
      // An upstream MCP tool's result is passed on; any other action's result (rows, a response body) is its JSON.
      if (!Array.isArray(result.content)) {
        const structured = typeof proposal.result === 'object' && proposal.result !== null && !Array.isArray(proposal.result) ? { structuredContent: proposal.result as Record<string, unknown> } : {};
        return { content: [{ type: 'text', text: JSON.stringify(proposal.result ?? null) }], ...structured, _meta: meta(proposal) };
      }
      return { content: result.content, ...(result.structuredContent === undefined ? {} : { structuredContent: result.structuredContent }), _meta: meta(proposal) };
    }
    case 'denied':
      return text(`Portcullis denied this call (${proposal.decision.code ?? 'DENIED'}): ${proposal.decision.reasons.join('; ')}. Nothing ran. ${id}.`, proposal, true);
    case 'rejected':
      return text(`This call did not run: ${proposal.approval?.by ?? 'a person'} rejected it${proposal.approval === undefined ? '' : `: ${proposal.approval.reason}`}. ${id}. Do not retry it unchanged; ask the person who decided, or propose something else.`, proposal, true);
    case 'cancelled':
      return text(`This call did not run: the gateway cancelled it before it ran${proposal.error === undefined ? '' : ` (${proposal.error.code}: ${proposal.error.message})`}. ${id}. Nothing was changed. Do not retry it unchanged; ask the workflow's owner whether its grants, bounds or status changed.`, proposal, true);
    case 'expired':
      return text(`This call did not run: nobody approved it before it expired. ${id}. Calling the tool again with the same arguments asks for approval again.`, proposal, true);
    case 'failed':
      return text(`This call ran and failed (${proposal.error?.code ?? 'FAILED'}): ${proposal.error?.message ?? 'no detail'}. ${id}.`, proposal, true);
    case 'outcome_unknown':
      return text(`OUTCOME UNKNOWN: this call was sent, but whether it took effect is unknown${proposal.error === undefined ? '' : ` (${proposal.error.message})`}. A person must check the system and resolve ${proposal.id}. Do not call the tool again to "retry" it: it may have run. ${id}.`, proposal, true);
    case 'rolled_back':
      return text(`This call ran and was later rolled back by a person. ${id}.`, proposal, true);
    default:
      return text(`${id} is ${proposal.status}.`, proposal, true);
  }
}

/** Where a person approves a proposal, for the pending answer. */
export function approvalHint(config: CompiledConfig, proposal: ProposalRecord, gatewayUrl: string): string {
  const workflow = config.workflows.get(proposal.workflow);
  const department = workflow === undefined ? undefined : config.departments.get(workflow.department);
  const names = (department?.leads ?? []).map((id) => config.people.get(id)?.name ?? id);
  const who = department === undefined ? 'an approver of the workflow' : `a lead or delegate of department "${department.id}"${names.length === 0 ? '' : ` (${names.join(', ')})`}`;
  return `${who} approves it with \`portcullis approvals approve ${proposal.id} --reason "..."\` or POST ${gatewayUrl.replace(/\/+$/, '')}/v1/approvals/${proposal.id}/approve`;
}

/** The answer for a call still waiting after the hold time. */
export function pendingResult(config: CompiledConfig, proposal: ProposalRecord, gatewayUrl: string): CallToolResult {
  const expires = proposal.expiresAt === undefined ? '' : ` It expires unapproved at ${new Date(proposal.expiresAt).toISOString()}.`;
  const state = proposal.status === 'pending_approval' ? 'is waiting for a person\'s approval' : `is ${proposal.status.replace('_', ' ')}`;
  const body = `PENDING - not done yet. This call ${state}; nothing has run. Approval id: ${proposal.id} (${proposal.action}, risk ${proposal.decision.risk}). `
    + `Where: ${approvalHint(config, proposal, gatewayUrl)}.${expires} `
    + 'Call this tool again with exactly the same arguments to get the outcome; it runs at most once.';
  return { ...text(body, proposal, false), structuredContent: { portcullis: { status: proposal.status, approvalId: proposal.id, expiresAt: proposal.expiresAt === undefined ? null : new Date(proposal.expiresAt).toISOString() } } };
}

/**
 * A failure of a call that produced no proposal. A PortcullisError of the caller or an
 * upstream is a tool error the model can read; an unknown tool is a protocol error (invalid
 * params); anything else is the gateway's failure (internal error), with no detail leaked.
 */
/**
 * A JSON-RPC error to throw from a handler: the SDK sends its `code` and `message` as they are.
 * (The SDK's McpError puts "MCP error <code>:" into its message, and clients add that prefix
 * again when they show the error: it would be shown twice.)
 */
export class ProtocolError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function failureAnswer(error: unknown, hint?: string): CallToolResult {
  if (!isPortcullisError(error)) throw new ProtocolError(ErrorCode.InternalError, 'the gateway failed unexpectedly; nothing ran; see its log');
  const failure: PortcullisError = error;
  if (failure.code === 'ACTION_NOT_FOUND') throw new ProtocolError(ErrorCode.InvalidParams, `${failure.message}${hint === undefined ? '' : `; ${hint}`}`);
  if (failure.fault === 'gateway') throw new ProtocolError(ErrorCode.InternalError, `${failure.code}: ${failure.message}`);
  return text(`${failure.code}: ${failure.message}${hint === undefined ? '' : `; ${hint}`}`, undefined, true);
}
