/**
 * The examples every command's `--help` ends with, by command path (`audit export`). Every
 * command has some: `addExamples` throws for a command without, and a test runs every
 * command's `--help`.
 */
import type { Command } from 'commander';

const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': ['portcullis init --kind sql', 'portcullis validate portcullis.yaml', 'portcullis start -c portcullis.yaml', 'portcullis <command> --help'],
  'start': ['portcullis start                                  # ./portcullis.yaml, server.port', 'portcullis start -c /etc/portcullis/portcullis.yaml -p 8080'],
  'demo': ['portcullis demo', 'portcullis demo -p 8080 --dir /tmp/portcullis-demo'],
  'init': ['portcullis init --kind sql', 'portcullis init --kind mcp -c agents/notes.yaml'],
  'validate': ['portcullis validate portcullis.yaml', 'portcullis validate /etc/portcullis/portcullis.yaml && systemctl restart portcullis'],
  'schema': ['portcullis schema > portcullis.schema.json      # for editor completion'],
  'keys': ['portcullis keys new --prefix agent'],
  'keys new': ['portcullis keys new --prefix agent     # give the key to the agent, put the hash in keyHash', 'portcullis keys new --prefix dana      # a person\'s token, for tokenHash'],
  'audit': ['portcullis audit verify', 'portcullis audit export --format csv --out trail.csv'],
  'audit verify': [
    'portcullis audit verify                           # the store of ./portcullis.yaml',
    'portcullis audit verify --db /var/lib/portcullis/portcullis.db --workers 4',
    'portcullis audit verify --checkpoints https://audit-copies.example.com/gateway/checkpoints.jsonl --key "$PUBLIC_KEY"',
    'portcullis audit verify --checkpoints /srv/audit-copies --key "$PUBLIC_KEY" --witness-key "$WITNESS_KEY"',
    'portcullis audit verify --checkpoints /var/log/portcullis-checkpoints --key old-key.pub --key new-key.pub   # after a key rotation',
  ],
  'audit purge': ['portcullis audit purge                            # older than audit.retentionDays', 'portcullis audit purge --older-than-days 180'],
  'audit export': [
    'portcullis audit export --format jsonl | head -1',
    'portcullis audit export --format csv --out trail.csv --workflow route-leads --from 2026-11-01T00:00:00Z',
    'portcullis audit export --proofs --checkpoints /var/log/portcullis-checkpoints --key "$PUBLIC_KEY" --out trail-with-proofs.jsonl',
  ],
  'audit new-key': ['portcullis audit new-key --out /etc/portcullis/audit-signing.key --name gateway.example.com/audit'],
  'audit checkpoint': ['portcullis audit checkpoint --signing-key audit-signing.key --out /var/log/portcullis-checkpoints'],
  'audit prove': ['portcullis audit prove 42 --checkpoints /var/log/portcullis-checkpoints --key "$PUBLIC_KEY" --out event-42.proof.json'],
  'audit check-proof': ['portcullis audit check-proof event-42.proof.json --key "$PUBLIC_KEY"'],
  'audit recover': ['portcullis audit recover --reason "restored the 02:00 backup after disk failure; ticket OPS-88"'],
  'proposals': ['PORTCULLIS_TOKEN=... portcullis proposals resolve prop_123 --as succeeded --note "row 42 has the new owner"'],
  'proposals resolve': ['portcullis proposals resolve prop_123 --as succeeded --note "checked the CRM: the owner changed"', 'portcullis proposals resolve prop_456 --as failed --note "no such refund in the billing system"'],
  'approvals': ['PORTCULLIS_TOKEN=... portcullis approvals list'],
  'approvals list': ['PORTCULLIS_TOKEN=... portcullis approvals list', 'portcullis approvals list --url https://gateway.example.com --json'],
  'approvals approve': ['portcullis approvals approve prop_123 --reason "region matches the rep"'],
  'approvals reject': ['portcullis approvals reject prop_123 --reason "wrong owner"'],
  'disable': ['PORTCULLIS_TOKEN=... portcullis disable workflow route-leads --reason "routing EMEA leads to NA reps"', 'portcullis disable agent lead-router --reason "key may have leaked"'],
  'enable': ['portcullis enable workflow route-leads --reason "CRM back from maintenance; checked the last 10 routings"'],
  'workflows': ['PORTCULLIS_TOKEN=... portcullis workflows show route-leads'],
  'workflows show': ['portcullis workflows show route-leads', 'portcullis workflows show route-leads --json'],
  'workflows deploy': ['portcullis workflows deploy welcome-leads', 'portcullis workflows deploy welcome-leads --override --reason "pilot requested by the COO; ticket OPS-12"'],
  'workflows promote': ['portcullis workflows promote route-leads --reason "96% approved over two weeks; reviewed the rejections"'],
  'report': ['PORTCULLIS_TOKEN=... portcullis report', 'PORTCULLIS_TOKEN=... portcullis report --metrics', 'portcullis report --metrics --workflow route-leads --from 2026-11-01 --to 2026-11-07 --json'],
  'status': ['PORTCULLIS_TOKEN=... portcullis status', 'portcullis status --json'],
  'rollback': ['PORTCULLIS_TOKEN=... portcullis rollback prop_123 --reason "routed to the wrong rep"', 'portcullis rollback --run run_456 --reason "the agent used last week\'s rota" --json'],
  'simulate': ['portcullis simulate examples/simulate/promotion.yaml', 'portcullis simulate examples/simulate/rollout.yaml --dir /tmp/rollout-sim   # keep the store: portcullis audit verify --db …'],
  'check': ['portcullis check', 'portcullis check -c /etc/portcullis/portcullis.yaml --json --timeout 5'],
  'vault': ['portcullis vault new-key --out master.key', 'portcullis vault set crm api_key < key.txt'],
  'vault set': ['portcullis vault set crm api_key < key.txt', 'printf %s "$TOKEN" | portcullis vault set tickets token'],
  'vault list': ['portcullis vault list --json'],
  'vault rotate-key': ['portcullis vault new-key --out master-2.key && portcullis vault rotate-key --new-key-file master-2.key'],
  'vault new-key': ['portcullis vault new-key --out /etc/portcullis/master.key'],
  'mcp': ['PORTCULLIS_AGENT_KEY=agent_... portcullis mcp --agent notes-bot -c /etc/portcullis/portcullis.yaml', 'PORTCULLIS_AGENT_KEY=agent_... portcullis mcp --agent notes-bot --url http://127.0.0.1:7300', 'PORTCULLIS_AGENT_KEY=agent_... portcullis mcp --agent notes-bot -c /etc/portcullis/portcullis.yaml --standalone', 'portcullis mcp pin --dry-run'],
  'notifications': ['portcullis notifications failed', 'portcullis notifications replay --all'],
  'notifications failed': ['portcullis notifications failed', 'portcullis notifications failed -c /etc/portcullis/portcullis.yaml --json'],
  'notifications replay': ['portcullis notifications replay ntf_42_webhook-ops    # after fixing the receiver', 'portcullis notifications replay --all'],
  'mcp pin': ['portcullis mcp pin --dry-run', 'portcullis mcp pin --system memory'],
};

function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent != null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds an Examples section to the help of `program` and every command under it. @throws when a command has no examples */
export function addExamples(program: Command): void {
  const visit = (command: Command): void => {
    const examples = EXAMPLES[pathOf(command)];
    if (examples === undefined) throw new Error(`no --help examples for "portcullis ${pathOf(command)}": add them to cli/examples.ts`);
    command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
    command.commands.forEach(visit);
  };
  visit(program);
}
