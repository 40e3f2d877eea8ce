/**
 * `portcullis approvals list|approve|reject` and `portcullis proposals resolve`: a department
 * lead's inbox, and resolving unknown outcomes, from the terminal, over the HTTP API.
 */
import type { Command } from 'commander';
import type { ProposalView } from '../service/contracts.js';
import type { CliHost } from './host.js';
import type { Output } from './output.js';
import { call, failure, withClient, type ClientOptions } from './api-client.js';

function describe(p: ProposalView): string {
  const reasons = p.decision.reasons.join('; ');
  // An action that cannot be rolled back says so before anyone approves it.
  const irreversible = p.reversible === false ? '  IRREVERSIBLE' : '';
  const undo = p.undo === undefined || p.decision.risk === 'read' ? '' : `\n    undo: ${p.undo}`;
  return `${p.id}  ${p.status.padEnd(16)} ${p.decision.risk.padEnd(5)} ${p.workflow}  ${p.action}${irreversible}  ${JSON.stringify(p.params)}${p.reason === undefined ? '' : `\n    agent's reason: ${p.reason}`}${changesOf(p)}\n    ${reasons}${undo}`;
}

/** What a pending proposal would change, a line per record and field: `leads 3  owner_id: null → "rep-amara"`. */
function changesOf(p: ProposalView): string {
  const value = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));
  return (p.changes ?? []).map((c) => c.fields.map((f) => `\n    ${c.record}  ${f.field}: ${value(f.old)} → ${value(f.new)}`).join('')).join('');
}

export function registerApprovalCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  const approvals = program.command('approvals').description('list, approve and reject proposals waiting for a person (uses the HTTP API)');

  withClient(host, approvals.command('list').description('proposals in your workflows waiting for approval'))
    .option('--status <status>', 'list proposals in this status instead', 'pending_approval')
    .option('--json', 'print JSON')
    .action(async (opts: ClientOptions & { status: string; json?: boolean }) => {
      const answer = await call(opts, output, setExit, 'GET', `/v1/approvals?status=${encodeURIComponent(opts.status)}`);
      if (answer === undefined) return;
      const { status, json } = answer;
      if (status !== 200) { output.err(failure(json, status)); setExit(1); return; }
      const proposals = (json as { proposals: ProposalView[] }).proposals;
      if (opts.json === true) { output.out(JSON.stringify(proposals, null, 2)); return; }
      output.out(proposals.length === 0 ? `no proposals are ${opts.status}` : proposals.map(describe).join('\n'));
    });

  for (const verb of ['approve', 'reject'] as const) {
    withClient(host, approvals.command(`${verb} <id>`).description(verb === 'approve' ? 'approve a pending proposal; the gateway executes it' : 'reject a pending proposal; nothing runs'))
      .option('--reason <text>', verb === 'approve' ? 'why (recorded in the audit trail)' : 'why (required)')
      .action(async (id: string, opts: ClientOptions & { reason?: string }) => {
        if (verb === 'reject' && (opts.reason === undefined || opts.reason.trim() === '')) {
          output.err('reject needs --reason "why"'); setExit(2); return;
        }
        const answer = await call(opts, output, setExit, 'POST', `/v1/approvals/${encodeURIComponent(id)}/${verb}`, opts.reason === undefined ? {} : { reason: opts.reason });
        if (answer === undefined) return;
        const { status, json } = answer;
        if (status !== 200) { output.err(failure(json, status)); setExit(1); return; }
        const p = json as ProposalView;
        output.out(`${p.id} is now ${p.status}${p.result === undefined ? '' : `: ${JSON.stringify(p.result)}`}${p.error === undefined ? '' : `: ${p.error.code} ${p.error.message}`}`);
        // Approved, but the action then failed (or its outcome is unknown, or it was cancelled): the work did not get done.
        if (verb === 'approve' && ['failed', 'outcome_unknown', 'cancelled'].includes(p.status)) setExit(1);
      });
  }

  const proposals = program.command('proposals').description('act on proposals as a person (uses the HTTP API)');
  withClient(host, proposals.command('resolve <id>').description('resolve a proposal whose outcome is unknown, after checking the system yourself'))
    .option('--as <outcome>', 'what you found: succeeded or failed')
    .option('--note <text>', 'what you found in the system (required; kept in the audit trail)')
    .action(async (id: string, opts: ClientOptions & { as?: string; note?: string }) => {
      if (opts.as !== 'succeeded' && opts.as !== 'failed') {
        output.err('resolve needs --as succeeded or --as failed (what you found in the system)'); setExit(2); return;
      }
      if (opts.note === undefined || opts.note.trim() === '') {
        output.err('resolve needs --note "what you found in the system"'); setExit(2); return;
      }
      const answer = await call(opts, output, setExit, 'POST', `/v1/proposals/${encodeURIComponent(id)}/resolve`, { as: opts.as, note: opts.note });
      if (answer === undefined) return;
      const { status, json } = answer;
      if (status !== 200) { output.err(failure(json, status)); setExit(1); return; }
      const p = json as ProposalView;
      output.out(`${p.id} is now ${p.status} (resolved by you: ${opts.note.trim()})`);
    });
}
