/**
 * A scripted agent that speaks the HTTP API like any agent would: it reads new leads,
 * proposes routings, and also tries what the workflow forbids, to show the gateway at work.
 * The demo runs it; tests use it as the shared scripted agent.
 */
import { REPS } from './sample-crm.js';

/** One step the agent took and what the gateway answered. */
export interface AgentStep {
  readonly label: string;
  readonly action: string;
  readonly status: number;
  readonly body: {
    id?: string; status?: string; decision?: { outcome: string; reasons: string[]; code?: string }; result?: unknown;
    error?: { code: string; message: string };
  };
}

/** A small HTTP client for agents. */
export function createAgentClient(baseUrl: string, apiKey: string) {
  return async function propose(body: unknown, idempotencyKey?: string): Promise<{ status: number; body: AgentStep['body'] }> {
    const response = await fetch(new URL('/v1/actions', baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as AgentStep['body'] };
  };
}

interface LeadRow {
  id: number;
  name: string;
  region: string;
  created_at: string;
}

/** Runs the lead-routing script against a gateway. `oldLeadId` names a lead outside the 24-hour scope. */
export async function runScriptedAgent(baseUrl: string, apiKey: string, oldLeadId: number): Promise<AgentStep[]> {
  const propose = createAgentClient(baseUrl, apiKey);
  const steps: AgentStep[] = [];
  const step = async (label: string, body: { workflow: string; action: string; params: unknown; reason?: string }, key?: string) => {
    const answer = await propose(body, key);
    steps.push({ label, action: body.action, ...answer });
    return answer;
  };
  const workflow = 'route-leads';
  const read = await step('read unrouted leads', { workflow, action: 'crm.leads.read', params: { where: { owner_id: null } }, reason: 'find leads to route' });
  const leads = ((read.body.result as { rows?: LeadRow[] } | undefined)?.rows ?? []);
  const seen = new Map<string, number>();
  let duplicate: number | undefined;
  for (const lead of leads) {
    const key = `${lead.name}|${lead.region}`;
    if (seen.has(key)) { duplicate = lead.id; continue; }
    seen.set(key, lead.id);
    const rep = REPS[lead.region] ?? 'rep-jordan';
    await step(`route lead ${lead.id} (${lead.name}, ${lead.region}) to ${rep}`, {
      workflow, action: 'crm.leads.update', params: { ids: [lead.id], set: { owner_id: rep } }, reason: `region ${lead.region} belongs to ${rep}`,
    }, `route-lead-${lead.id}`);
  }
  const first = leads[0]?.id ?? 1;
  await step(`mark lead ${first} qualified (status is outside the grant)`, {
    workflow, action: 'crm.leads.update', params: { ids: [first], set: { owner_id: 'rep-amara', status: 'qualified' } }, reason: 'looks qualified',
  });
  await step(`route lead ${oldLeadId}, created 3 days ago (outside the 24-hour scope)`, {
    workflow, action: 'crm.leads.update', params: { ids: [oldLeadId], set: { owner_id: 'rep-jordan' } }, reason: 'still unrouted',
  });
  if (duplicate !== undefined) {
    await step(`delete lead ${duplicate}, a duplicate (high risk)`, {
      workflow, action: 'crm.leads.delete', params: { ids: [duplicate] }, reason: 'duplicate of an earlier lead from the same person',
    }, `delete-lead-${duplicate}`);
  }
  return steps;
}
