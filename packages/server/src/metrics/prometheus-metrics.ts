/**
 * The core's MetricsRecorder on prom-client, in the Prometheus text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). One registry per gateway (a
 * process may run several in tests), so no metric is shared through prom-client's global
 * registry. Names follow Prometheus's conventions: a `portcullis_` prefix, base units
 * (seconds), `_total` for counters; labels are bounded (workflow ids and statuses from the
 * config and the lifecycle), never a proposal id or a day. docs/operations.md lists them.
 */
import type { GaugeSnapshot, MetricsRecorder, ProposalMove } from '@portcullis/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Approval waits run from seconds to a day or more. */
const WAIT_BUCKETS = [10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600];
/** Executions run from milliseconds to the systems' timeouts. */
const EXECUTION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Creates a recorder with its own registry, including Node.js's process metrics (`process_*`, `nodejs_*`). */
export function createPrometheusMetrics(): MetricsRecorder {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const transitions = new Counter({
    name: 'portcullis_proposal_transitions_total',
    help: 'Proposals reaching a status (proposed ones count at their first status: denied, pending_approval or executing), by workflow.',
    labelNames: ['workflow', 'status'] as const, registers,
  });
  const approvalWait = new Histogram({
    name: 'portcullis_approval_wait_seconds',
    help: 'Time from a proposal to a person\'s decision, by workflow and decision (approved, rejected).',
    labelNames: ['workflow', 'decision'] as const, buckets: WAIT_BUCKETS, registers,
  });
  const execution = new Histogram({
    name: 'portcullis_execution_duration_seconds',
    help: 'How long executions ran, by workflow and outcome (succeeded, failed, outcome_unknown).',
    labelNames: ['workflow', 'outcome'] as const, buckets: EXECUTION_BUCKETS, registers,
  });
  const pending = new Gauge({ name: 'portcullis_pending_approvals', help: 'Proposals waiting for a person\'s decision, by workflow.', labelNames: ['workflow'] as const, registers });
  const workflowDisabled = new Gauge({ name: 'portcullis_workflow_disabled', help: '1 when the workflow is disabled (kill switch or circuit breaker), else 0.', labelNames: ['workflow'] as const, registers });
  const agentDisabled = new Gauge({ name: 'portcullis_agent_disabled', help: '1 when the agent is disabled, else 0.', labelNames: ['agent'] as const, registers });
  const auditEvents = new Gauge({ name: 'portcullis_audit_events', help: 'The audit trail\'s newest sequence number.', registers });
  const auditWritable = new Gauge({ name: 'portcullis_audit_store_writable', help: '1 when the audit store accepts durable writes; at 0 the gateway executes nothing.', registers });
  const auditTrusted = new Gauge({ name: 'portcullis_audit_trail_trusted', help: '1 when the trail agrees with its published checkpoints; at 0 the gateway executes nothing.', registers });

  return {
    proposalMoved(move: ProposalMove) {
      try {
        transitions.inc({ workflow: move.workflow, status: move.status });
        if (move.waitMs !== undefined) approvalWait.observe({ workflow: move.workflow, decision: move.status }, move.waitMs / 1000);
        if (move.executionMs !== undefined) execution.observe({ workflow: move.workflow, outcome: move.status }, move.executionMs / 1000);
      } catch {
        // Counting never fails the act it counts.
      }
    },
    async render(snapshot: GaugeSnapshot) {
      pending.reset();
      for (const [workflow, count] of Object.entries(snapshot.pendingApprovals)) pending.set({ workflow }, count);
      workflowDisabled.reset();
      for (const [workflow, off] of Object.entries(snapshot.workflowsDisabled)) workflowDisabled.set({ workflow }, off ? 1 : 0);
      agentDisabled.reset();
      for (const [agent, off] of Object.entries(snapshot.agentsDisabled)) agentDisabled.set({ agent }, off ? 1 : 0);
      auditEvents.set(snapshot.auditEvents);
      auditWritable.set(snapshot.auditWritable ? 1 : 0);
      auditTrusted.set(snapshot.auditTrusted ? 1 : 0);
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}
