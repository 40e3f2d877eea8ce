/**
 * The starter portcullis.yaml `portcullis init` writes: one system of the chosen kind, one
 * department with its lead, one agent and one approval-first workflow, every key commented.
 * Invariant: the text passes `portcullis validate` as written (a test compiles each kind), and
 * holds no secret, only the SHA-256 hashes of the key and token generated for it.
 */
import { createHash, randomBytes } from 'node:crypto';

/** The system kinds `init` can start from. */
export const STARTER_KINDS = ['sql', 'http', 'mcp', 'smtp'] as const;
export type StarterKind = (typeof STARTER_KINDS)[number];

/** A starter config and the files and secrets that go with it. */
export interface Starter {
  /** The text of portcullis.yaml. */
  readonly config: string;
  /** Other files the config names, by name relative to the config's folder (the OpenAPI document of an HTTP system). */
  readonly files: Readonly<Record<string, string>>;
  /** The agent's API key (shown once; only its hash is in the file). */
  readonly agentKey: string;
  /** The department lead's personal token (shown once; only its hash is in the file). */
  readonly leadToken: string;
  /** The agent's id and the workflow's id. */
  readonly agent: string;
  readonly workflow: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const OPENAPI = `# A minimal OpenAPI 3 document for the starter: replace it with your API's own.
openapi: 3.0.3
info: { title: Tickets, version: "1" }
paths:
  /tickets:
    get:
      operationId: listTickets
      responses: { "200": { description: the tickets } }
  /tickets/{id}:
    get:
      operationId: getTicket
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses: { "200": { description: one ticket } }
    patch:
      operationId: updateTicket
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties: { status: { type: string }, assignee: { type: string } }
      responses: { "200": { description: the updated ticket } }
`;

/** Each kind's system, grants and bounds, as YAML lines (indented for their place). */
const KINDS: Readonly<Record<StarterKind, { system: string; grants: string; bounds: string; files?: Record<string, string> }>> = {
  sql: {
    system: `  app:
    kind: sql
    driver: sqlite
    path: ./app.db                    # your database file, relative to this file's folder
    tables:                           # only the tables and columns listed here are reachable
      tickets:
        primaryKey: id
        columns: [id, title, status, assignee, created_at]`,
    grants: `      - app:tickets:read                # read every listed column
      - app:tickets.status:update       # write only the status column; anything else is denied`,
    bounds: `      scope:                            # writes touch only tickets created in the last 7 days
        "app:tickets": { field: created_at, within: 7d }
      maxRecordsPerAction: 10`,
  },
  http: {
    system: `  app:
    kind: http
    openapi: ./openapi.yaml           # each operation becomes an action (GET read, PATCH update, DELETE high)
    baseUrl: http://127.0.0.1:8080    # every request goes here and nowhere else
    # auth: { kind: bearer, tokenEnv: APP_API_TOKEN }   # the gateway's credential, from the environment`,
    grants: `      - app:tickets:read                # GET /tickets and /tickets/{id}
      - app:tickets.status:update       # PATCH /tickets/{id} with { status } only`,
    bounds: '      maxRecordsPerAction: 10',
    files: { 'openapi.yaml': OPENAPI },
  },
  mcp: {
    system: `  app:
    kind: mcp
    command: npx                      # stdio: the gateway launches the MCP server
    args: ["-y", "@modelcontextprotocol/server-memory"]
    # env: { MEMORY_FILE_PATH: { env: MEMORY_FILE } }   # the server's environment, named, never written here
    timeout: 30s`,
    grants: `      - app:read_graph:read             # tools are app:<tool>:<verb>; \`portcullis mcp pin --dry-run\` lists them
      - app:create_entities:update`,
    bounds: '      maxRecordsPerAction: 10',
  },
  smtp: {
    system: `  app:
    kind: smtp
    host: 127.0.0.1                   # your mail server
    port: 587
    from: agent@example.com           # the sender of every email; agents cannot change it
    # auth: { user: agent, passwordEnv: SMTP_PASSWORD }   # the password, from the environment`,
    grants: `      - { grant: app:email:send, explicit: true }   # external email is high risk: every send waits for the lead`,
    bounds: '      maxRecordsPerAction: 5            # at most 5 recipients per email',
  },
};

/** Builds a starter config for `kind`, with a new agent key and lead token (random) and their hashes filled in. */
export function starterConfig(kind: StarterKind): Starter {
  const agentKey = `agent_${randomBytes(24).toString('base64url')}`;
  const leadToken = `lead_${randomBytes(24).toString('base64url')}`;
  const parts = KINDS[kind];
  const config = `# portcullis.yaml: a starter written by \`portcullis init --kind ${kind}\`.
# Reference: docs/config.md. Check it with \`portcullis validate portcullis.yaml\`.
version: 1

server:
  host: 127.0.0.1                     # put a reverse proxy with TLS in front (docs/operations.md)
  port: 7300

store:
  kind: sqlite
  path: ./.portcullis/portcullis.db   # proposals and the audit trail, next to this file

audit:
  retentionDays: 365                  # at least 90

# The production system the agent acts on. Its credentials stay in the gateway.
systems:
${parts.system}

# Who approves: the leads (and delegates) of a workflow's department.
departments:
  ops:
    name: Operations
    leads: [lee]

# People: their tokens (for the CLI and the API) are stored as hashes only.
people:
  lee:
    name: Lee (department lead)
    tokenHash: "sha256:${sha256(leadToken)}"
  owen:
    name: Owen (technical owner)
    admin: true

# The agent: its API key is stored as a hash only (\`portcullis keys new\` makes another).
agents:
  assistant:
    name: Assistant
    owner: owen                       # its technical owner, who may not approve its actions
    department: ops
    keyHash: "sha256:${sha256(agentKey)}"

# One agent, one bounded job. New workflows are approval-first: reads run and are logged,
# every write and every high-risk action waits for a lead of the department.
workflows:
  assist:
    description: The assistant's first bounded job
    agent: assistant
    department: ops
    owner: owen
    runbook: "Manual fallback: the operations team does this by hand."
    mode: { read: auto, write: approval, high: approval }
    grants:                           # deny by default; add writes grant by grant
${parts.grants}
    bounds:
${parts.bounds}
      maxActionsPerRun: 100
      maxActionsPerHour: 500
    approvalTimeout: 24h              # a pending approval expires (and nothing runs) after this
`;
  return { config, files: parts.files ?? {}, agentKey, leadToken, agent: 'assistant', workflow: 'assist' };
}
