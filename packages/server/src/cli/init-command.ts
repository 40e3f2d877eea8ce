/**
 * `portcullis init --kind sql|http|mcp|smtp`: writes a commented starter portcullis.yaml that
 * passes `portcullis validate`, with the agent's key and the lead's token generated (their
 * hashes in the file, the secrets printed once), and prints the next three commands. Never
 * overwrites a file.
 */
import { Option, type Command } from 'commander';
import type { CliHost } from './host.js';
import { EXIT } from './load-config.js';
import type { Output } from './output.js';

/** Quotes a path for a shell command line when it needs it. */
const shellWord = (text: string): string => (/^[\w./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/** Registers `init`; a file that exists is bad usage (exit 2), and nothing is written. */
export function registerInitCommand(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): Command {
  return program.command('init')
    .description('write a commented starter portcullis.yaml for one system kind: a workflow, a department, a lead and an agent, keys generated')
    .addOption(new Option('--kind <kind>', 'the kind of system the agent acts on').choices(host.starterKinds).makeOptionMandatory())
    .option('-c, --config <file>', 'where to write it (never overwritten)', 'portcullis.yaml')
    .action((opts: { kind: string; config: string }) => {
      const written = host.writeStarter(opts.config, opts.kind);
      if (!written.ok) {
        output.err(`portcullis: ${written.exists} already exists; init never overwrites a file: pass -c OTHER.yaml, or move it away`);
        setExit(EXIT.usage);
        return;
      }
      const file = shellWord(opts.config);
      output.out([
        `wrote ${written.files.join(', ')} (a ${opts.kind} system, department "ops" with lead "lee", agent "${written.agent}", workflow "${written.workflow}")`,
        '',
        'Keep these two secrets; the file holds only their hashes and they are not shown again:',
        `  agent key (give it to the agent "${written.agent}"):  ${written.agentKey}`,
        `  lead token (for "lee", to approve):               ${written.leadToken}`,
        '',
        'Next:',
        `  portcullis validate ${file}`,
        `  portcullis start -c ${file}`,
        `  PORTCULLIS_TOKEN=<lead token> portcullis approvals list`,
      ].join('\n'));
    });
}
