/** What the HTTP benchmark's servers and load share: the agent key, the request, the config. */

/** The agent key the benchmark uses. */
export const AGENT_KEY = 'bench_agent_key_5f1c2a9e7d3b4c6a8e0f';
/** The body every request sends: set the owner of lead 1. */
export const ACTION = { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } }, reason: 'benchmark' };

/** The gateway config: one workflow whose writes run with `write: auto`. */
export const CONFIG = `
version: 1
store: { kind: sqlite, path: ./portcullis.db }
# The benchmark's load is one agent far above any sensible rate: lift the flood limits.
limits: { proposalsPerMinute: 100000000, maxPendingPerAgent: 100000000, maxPendingPerWorkflow: 100000000 }
systems:
  crm:
    kind: sql
    driver: sqlite
    path: ./crm.db
    tables:
      leads: { primaryKey: id, columns: [id, name, email, company, region, owner_id, status, created_at] }
departments:
  sales: { name: Sales, leads: [dana] }
people:
  dana: { name: Dana, tokenEnv: T_DANA }
  tom: { name: Tom, tokenEnv: T_TOM }
  ada: { name: Ada, tokenEnv: T_ADA, admin: true }
agents:
  lead-router: { name: Lead router, owner: tom, department: sales, keyEnv: K_AGENT }
workflows:
  route-leads:
    description: Route new leads
    agent: lead-router
    department: sales
    owner: tom
    runbook: Assign leads by hand in the CRM.
    mode: { read: auto, write: auto, high: approval }
    override: { by: ada, reason: "the benchmark measures the automated write path" }
    grants:
      - crm:leads:read
      - crm:leads.owner_id:update
    bounds:
      scope: { "crm:leads": { field: created_at, within: 24h } }
      maxRecordsPerAction: 3
    approvalTimeout: 1h
`;
