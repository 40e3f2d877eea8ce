/**
 * The CLI's client of the gateway's HTTP API, for the commands a person runs with their
 * personal token (`approvals`, `proposals`, `disable`, `enable`, `status`): the service
 * authorises and audits every act, as for any other face.
 */
import type { Command } from 'commander';
import type { CliHost } from './host.js';
import type { Output } from './output.js';

/** Where the gateway is and who the person is. */
export interface ClientOptions {
  url: string;
  token?: string;
}

/** What the gateway answered, or undefined after saying why there is no answer (exit 2 without a token, 1 when unreachable). */
export async function call(options: ClientOptions, output: Output, setExit: (code: number) => void, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown } | undefined> {
  if (options.token === undefined || options.token === '') {
    output.err('no token: pass --token or set PORTCULLIS_TOKEN to your personal API token');
    setExit(2);
    return undefined;
  }
  let response: Response;
  try {
    response = await fetch(new URL(path, options.url), {
      method,
      headers: { authorization: `Bearer ${options.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    output.err(`cannot reach the gateway at ${options.url} (${(error as Error).message}); is it running? Set --url or PORTCULLIS_URL`);
    setExit(1);
    return undefined;
  }
  const json: unknown = await response.json().catch(() => ({}));
  return { status: response.status, json };
}

/** The gateway's error as one line: `CODE: message`. */
export function failure(json: unknown, status: number): string {
  const error = (json as { error?: { code?: string; message?: string } }).error;
  return error === undefined ? `the gateway answered ${status}` : `${error.code}: ${error.message}`;
}

/**
 * Adds `--url` and `--token` (defaults from PORTCULLIS_URL and PORTCULLIS_TOKEN) to a command.
 * The token's default is filled in only when the command runs, never as an option default:
 * `--help` prints defaults, and a token on screen is a token leaked.
 */
export function withClient(host: CliHost, cmd: Command): Command {
  const env = host.environment();
  return cmd
    .option('--url <url>', 'the gateway\'s address (env PORTCULLIS_URL)', env.url)
    .option('--token <token>', 'your personal API token (env PORTCULLIS_TOKEN)')
    .hook('preAction', (_command, action) => {
      if (action.getOptionValue('token') === undefined && env.token !== undefined) action.setOptionValueWithSource('token', env.token, 'env');
    });
}
