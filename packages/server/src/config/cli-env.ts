/** The environment variables the CLI reads; only the config module reads process.env. */

/** Defaults for the CLI's client commands (approvals ...). */
export function cliEnvironment(env: NodeJS.ProcessEnv = process.env): { url: string; token?: string; port?: number } {
  const port = env.PORT === undefined || env.PORT === '' ? undefined : Number(env.PORT);
  return {
    url: env.PORTCULLIS_URL ?? `http://127.0.0.1:${port ?? 7300}`,
    ...(env.PORTCULLIS_TOKEN === undefined ? {} : { token: env.PORTCULLIS_TOKEN }),
    ...(port === undefined || !Number.isInteger(port) ? {} : { port }),
  };
}
