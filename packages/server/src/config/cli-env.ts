/** The environment variables the CLI reads; only the config module reads process.env. */

/** Defaults for the CLI's client commands (approvals ...) and the agent key of `portcullis mcp` (PORTCULLIS_AGENT_KEY). */
export function cliEnvironment(env: NodeJS.ProcessEnv = process.env): { url: string; token?: string; port?: number; agentKey?: string } {
  const port = env.PORT === undefined || env.PORT === '' ? undefined : Number(env.PORT);
  return {
    url: env.PORTCULLIS_URL ?? `http://127.0.0.1:${port ?? 7300}`,
    ...(env.PORTCULLIS_TOKEN === undefined ? {} : { token: env.PORTCULLIS_TOKEN }),
    ...(env.PORTCULLIS_AGENT_KEY === undefined || env.PORTCULLIS_AGENT_KEY === '' ? {} : { agentKey: env.PORTCULLIS_AGENT_KEY }),
    ...(port === undefined || !Number.isInteger(port) ? {} : { port }),
  };
}
