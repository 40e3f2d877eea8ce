/**
 * A server for the HTTP benchmark, run as a child process so its resident memory is its own:
 * `node bench/http-server.js gateway|bare <dir>`. It builds a SQLite CRM in <dir> and
 * listens on a free port, then sends `{ port }` to the parent over IPC.
 * - gateway: the real gateway (`openGateway` from the built server, config compiled by the
 *   real config loader) whose workflow runs writes with `write: auto`, its store in <dir>
 *   (WAL, synchronous=FULL), and an agent key;
 * - bare: a Fastify POST route with the same JSON body doing the same UPDATE directly on a
 *   CRM database opened the way the SQL connector opens it, without governance.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { AGENT_KEY, CONFIG } from './http-fixture.js';
import { serverModule } from './lib.js';

function createCrm(path) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE leads (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, company TEXT, region TEXT NOT NULL,
    owner_id TEXT, status TEXT NOT NULL DEFAULT 'new', created_at TEXT NOT NULL)`);
  const insert = db.prepare('INSERT INTO leads (name, email, company, region, owner_id, status, created_at) VALUES (?, ?, ?, ?, NULL, ?, ?)');
  const now = new Date().toISOString();
  db.transaction(() => { for (let i = 0; i < 1000; i += 1) insert.run(`Lead ${i}`, `lead${i}@example.com`, `Company ${i % 50}`, ['emea', 'na', 'apac'][i % 3], 'new', now); })();
  db.close();
}

async function startGateway(dir) {
  const { parseConfigText, formatConfigErrors } = await serverModule('config/load.js');
  const { openGateway } = await serverModule('wiring/gateway.js');
  const { SYSTEM_KINDS } = await serverModule('connectors/registry.js');
  writeFileSync(join(dir, 'portcullis.yaml'), CONFIG);
  const parsed = parseConfigText(CONFIG, { kinds: SYSTEM_KINDS, source: join(dir, 'portcullis.yaml'), baseDir: dir, env: { K_AGENT: AGENT_KEY, T_DANA: 'bench_dana_token_1', T_TOM: 'bench_tom_token_1', T_ADA: 'bench_ada_token_1' } });
  if (!parsed.ok) throw new Error(formatConfigErrors(parsed.errors));
  const gateway = await openGateway(parsed.config, { expiryIntervalMs: 0 });
  await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  return { port: gateway.app.server.address().port, stats: () => gateway.store.stats?.(), close: () => gateway.close() };
}

async function startBare(dir) {
  const db = new Database(join(dir, 'crm.db'), { fileMustExist: true });
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  const update = db.prepare('UPDATE leads SET owner_id = ? WHERE id = ?');
  const app = Fastify({ logger: false });
  app.post('/v1/actions', async (request) => {
    const { params } = request.body;
    const info = update.run(params.set.owner_id, params.ids[0]);
    return { status: 'succeeded', result: { updated: info.changes } };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: app.server.address().port, stats: () => undefined, close: async () => { await app.close(); db.close(); } };
}

const [kind, dir] = process.argv.slice(2);
if (kind !== 'gateway' && kind !== 'bare') throw new Error('usage: node bench/http-server.js gateway|bare <dir>');
createCrm(join(dir, 'crm.db'));
const server = kind === 'gateway' ? await startGateway(dir) : await startBare(dir);
process.on('message', (message) => {
  if (message === 'stats') process.send({ stats: server.stats() ?? null });
  if (message === 'stop') server.close().then(() => process.exit(0), () => process.exit(1));
});
process.send({ port: server.port });
