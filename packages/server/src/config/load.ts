/**
 * Loads portcullis.yaml. Invariant: every problem is reported, all at once, as
 * `FILE:LINE:COLUMN path: message` pointing at the offending node (or its nearest existing
 * parent), and a config with any problem is not compiled. This module (with compile.ts) is
 * the only reader of process.env; everyone else gets the compiled config.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { CompiledConfig } from './compiled.js';
import { compileConfig } from './compile.js';
import { readEnvFile, withEnvFile } from './env-file.js';
import { formatPath } from './issues.js';
import { locatePath } from './locate.js';
import type { Env } from './secrets.js';
import type { SystemKinds } from './system-kind.js';
import { aliasBomb, explainYamlErrors, MAX_ALIAS_COUNT, undefinedAliases, type YamlProblem } from './yaml-errors.js';

/** One problem with a config file, located. `line` and `column` are 1-based; 0 when the file could not be read. */
export interface ConfigError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The key path, as in the docs: `workflows.route-leads.grants[2]`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** A compiled config, or every error found. */
export type LoadResult = { ok: true; config: CompiledConfig } | { ok: false; errors: ConfigError[] };

/** Where the text came from and what it may read. */
export interface ParseConfigOptions {
  /** The system kinds the config may use, by `kind` (the wiring passes connectors/registry.ts). */
  readonly kinds: SystemKinds;
  /** The file name shown in errors and recorded in the config; default '<inline>'. */
  readonly source?: string;
  /** Folder relative paths resolve against; default the source's folder, else the current directory. */
  readonly baseDir?: string;
  /** Environment for keyEnv, tokenEnv and urlEnv; default process.env. */
  readonly env?: Env;
}

/**
 * Parses and compiles the text of a portcullis.yaml. Never throws for a bad config: YAML
 * syntax errors, schema errors, cross-key errors and missing environment variables are
 * returned as located errors. Reads no file but the OpenAPI documents HTTP systems name;
 * opens no database.
 */
export function parseConfigText(text: string, options: ParseConfigOptions): LoadResult {
  const source = options.source ?? '<inline>';
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const located = (problems: readonly YamlProblem[]): LoadResult => ({ ok: false, errors: sortErrors(problems.map((p) => ({ file: source, line: p.line, column: p.column, path: '', message: p.message }))) });
  // Syntax first: when the YAML itself is wrong, the values it would give are guesses.
  if (doc.errors.length > 0) return located(explainYamlErrors(doc, text, counter));
  const unresolved = undefinedAliases(doc, counter);
  if (unresolved.length > 0) return located(unresolved);
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (/alias/i.test((error as Error).message)) return located([aliasBomb(doc, counter)]);
    return located([{ line: 1, column: 1, message: `YAML: ${(error as Error).message}` }]);
  }
  const baseDir = options.baseDir ?? (source === '<inline>' ? process.cwd() : dirname(resolve(source)));
  let env = options.env ?? process.env;
  const envFile = typeof input === 'object' && input !== null && 'envFile' in input ? (input as { envFile?: unknown }).envFile : undefined;
  if (typeof envFile === 'string' && envFile !== '') {
    const read = readEnvFile(resolve(baseDir, envFile));
    if (!read.ok) {
      const { line, column } = locatePath(doc, counter, ['envFile']);
      return { ok: false, errors: [{ file: source, line, column, path: 'envFile', message: read.message }] };
    }
    env = withEnvFile(env, read.vars);
  }
  const result = compileConfig(input, { kinds: options.kinds, source, baseDir, env });
  if (result.ok) return result;
  return {
    ok: false,
    errors: sortErrors(result.issues.map((issue) => {
      const { line, column } = locatePath(doc, counter, issue.path, issue.at);
      return { file: source, line, column, path: formatPath(issue.path), message: issue.message };
    })),
  };
}

/**
 * Reads and compiles a config file; relative paths in it resolve against its folder.
 * Synchronous: it runs once, at start-up. An unreadable file is an error value, not a throw.
 */
export function loadConfigFile(path: string, options: Pick<ParseConfigOptions, 'kinds' | 'env'>): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file; pass the right path, or write a starter with `portcullis init --kind sql` (or http, mcp, smtp)' : `cannot read it: ${(error as Error).message}`;
    return { ok: false, errors: [{ file: path, line: 0, column: 0, path: '', message: reason }] };
  }
  return parseConfigText(text, { ...options, source: path, baseDir: dirname(resolve(path)) });
}

function sortErrors(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors
    .filter((e) => { const key = `${e.line}:${e.column}:${e.path}:${e.message}`; if (seen.has(key)) return false; seen.add(key); return true; })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

/** One error as a line: `FILE:LINE:COLUMN path: message` (parts that are unknown are left out). */
export function formatConfigError(error: ConfigError): string {
  const where = error.line > 0 ? `${error.file}:${error.line}:${error.column}` : `${error.file}:`;
  return `${where} ${error.path === '' ? '' : `${error.path}: `}${error.message}`;
}

/** Errors for display, one per line, with a count at the end. */
export function formatConfigErrors(errors: readonly ConfigError[]): string {
  const lines = errors.map(formatConfigError);
  lines.push(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${errors[0]?.file ?? 'the config'}`);
  return lines.join('\n');
}
