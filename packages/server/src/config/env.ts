/** The environment as config reads it: variable names to values (process.env, or a literal in tests). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The process's environment, with a placeholder for every variable it does not have: for
 * loading a config whose secrets a process does not use (the bridging `portcullis mcp` needs
 * the agents and the server's address, not people's tokens or systems' credentials).
 */
export function environmentWithoutSecrets(env: NodeJS.ProcessEnv = process.env): Env {
  return new Proxy({ ...env }, { get: (vars, name: string) => vars[name] ?? `unset-${name}-not-needed-here` });
}
