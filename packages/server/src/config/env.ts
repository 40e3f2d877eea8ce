/** The environment as config reads it: variable names to values (process.env, or a literal in tests). */
export type Env = Readonly<Record<string, string | undefined>>;
