/**
 * A complete, valid portcullis.yaml: one SQL system, one department, one bounded workflow.
 * It is the example in docs/config.md and the fixture the config tests start from; keep the
 * three in step. The keys whose hashes appear here are in EXAMPLE_KEYS (test values only).
 */

/** The plain keys and tokens whose SHA-256 hashes the example config holds. Not secrets: examples. */
export const EXAMPLE_KEYS = Object.freeze({
  leadRouter: 'pc_agent_lead_router_example',
  dana: 'pc_person_dana_example',
  tom: 'pc_person_tom_example',
});

/** The example config, as text. */
export const EXAMPLE_CONFIG = `version: 1

server:
  host: 127.0.0.1
  port: 7300

store:
  kind: sqlite
  path: ./.portcullis/portcullis.db

audit:
  retentionDays: 365

systems:
  crm:
    kind: sql
    driver: sqlite
    path: ./crm.db
    tables:
      leads:
        primaryKey: id
        columns: [id, name, email, owner_id, status, created_at]

actions:
  crm.leads.update: { tags: [] }

departments:
  sales:
    name: Sales
    leads: [dana]
    delegates: []

people:
  dana:
    name: Dana Lee
    email: dana@example.com
    tokenHash: "sha256:171d0d8a25cec313731ab1e5d33d36a652e819ef3616562ae4121474729173f3"
  tom:
    name: Tom Ng
    admin: true
    tokenHash: "sha256:0b57d52382ed6be089af19e55116443628aa205a509d7707a1149540c96bf34e"

agents:
  lead-router:
    name: Lead router
    owner: tom
    department: sales
    keyHash: "sha256:557f23340682781f6137ad4d653eb0a4f48de03cbbbe936f5a2234e6f2dfced5"

workflows:
  route-leads:
    description: Route new leads to the right owner
    agent: lead-router
    department: sales
    owner: tom
    runbook: "Manual fallback: Dana assigns new leads by hand each morning from the CRM inbox."
    mode: { read: auto, write: approval, high: approval }
    grants:
      - crm:leads:read
      - crm:leads.owner_id:update
      - crm:leads.status:update
    bounds:
      scope:
        "crm:leads": { field: created_at, within: 24h }
      maxRecordsPerAction: 10
      maxActionsPerRun: 100
      maxActionsPerHour: 500
    approvalTimeout: 24h
    approvalValidity: 15m
    allowOwnerApproval: false
`;
