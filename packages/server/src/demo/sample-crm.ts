/** The demo's sample CRM: a SQLite database of leads, some fresh, some older than a day. */
import Database from 'better-sqlite3';

/** A rep per region, as the lead-routing runbook assigns them. */
export const REPS: Readonly<Record<string, string>> = { emea: 'rep-amara', na: 'rep-jordan', apac: 'rep-kenji' };

interface Lead {
  name: string;
  email: string;
  company: string;
  region: string;
  hoursAgo: number;
}

const LEADS: readonly Lead[] = [
  { name: 'Ines Moreau', email: 'ines@lumen.example', company: 'Lumen SAS', region: 'emea', hoursAgo: 2 },
  { name: 'Raj Patel', email: 'raj@northwind.example', company: 'Northwind', region: 'na', hoursAgo: 3 },
  { name: 'Mei Tanaka', email: 'mei@sakura.example', company: 'Sakura Labs', region: 'apac', hoursAgo: 5 },
  { name: 'Lars Berg', email: 'lars@fjord.example', company: 'Fjord AB', region: 'emea', hoursAgo: 9 },
  { name: 'Raj Patel', email: 'raj@northwind.example', company: 'Northwind', region: 'na', hoursAgo: 1 },
  { name: 'Ana Souza', email: 'ana@atlas.example', company: 'Atlas', region: 'na', hoursAgo: 72 },
  { name: 'Tom Walsh', email: 'tom@harbor.example', company: 'Harbor', region: 'emea', hoursAgo: 96 },
];

/** Creates the CRM at `path` with its leads timed relative to `now`. Returns the number of leads. */
export function createSampleCrm(path: string, now: number): number {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE leads (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, company TEXT, region TEXT NOT NULL,
      owner_id TEXT, status TEXT NOT NULL DEFAULT 'new', created_at TEXT NOT NULL)`);
    const insert = db.prepare('INSERT INTO leads (name, email, company, region, owner_id, status, created_at) VALUES (?, ?, ?, ?, NULL, ?, ?)');
    for (const lead of LEADS) insert.run(lead.name, lead.email, lead.company, lead.region, 'new', new Date(now - lead.hoursAgo * 3_600_000).toISOString());
    return LEADS.length;
  } finally {
    db.close();
  }
}
