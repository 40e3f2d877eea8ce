/**
 * The HTTP/OpenAPI connector: executes an operation of the system's OpenAPI document.
 * Invariants: before a PUT, PATCH or DELETE on a path that also has a GET, the record is
 * read first and kept as undo data (`http.restore`), so the write can be rolled back; a
 * record that does not exist fails the write before anything is sent; an upstream error is
 * UPSTREAM_FAILED with the status and a short excerpt, never with a credential; a write that
 * was sent and got no (whole) answer is OUTCOME_UNKNOWN, never a failure. Every write carries
 * an `Idempotency-Key` derived from its proposal (`portcullis-<proposal id>`), so a system that
 * honours the header applies it once however often it is sent.
 */
import { PortcullisError, canonicalJson, type JsonValue } from '@portcullis/core';
import type { HttpSystemConfig } from './http-settings.js';
import type { Connector } from '../connector.js';
import type { ActionSpec } from '../../config/action-spec.js';
import { beforeImageOperation, restoreOperation, type HttpParams } from './http-actions.js';
import { createHttpClient, expectSuccess, resolveUrl, type HttpClientDeps } from './http-client.js';
import type { HttpMethod, HttpOperation } from './openapi-document.js';

/** Undo data of an HTTP write: the record before it, and the request that puts it back. */
export type HttpUndo = {
  readonly kind: 'http.restore';
  readonly system: string;
  readonly action: string;
  /** The write that ran, with its path relative to the base URL. */
  readonly request: { readonly method: HttpMethod; readonly path: string };
  /** The record as the GET on the same path returned it before the write. */
  readonly before: JsonValue;
  /** The request that restores `before`, when the document offers one. */
  readonly restore?: { readonly method: HttpMethod; readonly path: string; readonly body: JsonValue };
};

const isRecord = (value: unknown): value is Record<string, JsonValue> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Path of a request relative to the base URL, for undo data and messages. */
function relativePath(baseUrl: string, operation: Pick<HttpOperation, 'path'>, params: HttpParams): string {
  const url = resolveUrl(baseUrl, { template: operation.path, ...(params.path === undefined ? {} : { pathValues: params.path }) });
  return url.pathname.slice(new URL(baseUrl).pathname.replace(/\/+$/, '').length);
}

function restoreOf(system: HttpSystemConfig, operation: HttpOperation, params: HttpParams, before: JsonValue): HttpUndo['restore'] {
  const restore = restoreOperation(operation, system.operations);
  if (restore === undefined) return undefined;
  let body: JsonValue = before;
  if (restore.method === 'PATCH' && isRecord(before) && isRecord(params.body)) {
    body = Object.fromEntries(Object.keys(params.body).map((key) => [key, before[key] ?? null]));
  }
  const path = restore.method === 'POST' ? relativePath(system.baseUrl, { path: restore.path }, params) : relativePath(system.baseUrl, operation, params);
  return { method: restore.method, path, body };
}

/** Connects an HTTP system. Nothing is sent until the first action or check. */
export function createHttpConnector(system: HttpSystemConfig, deps: HttpClientDeps = {}): Connector {
  const client = createHttpClient(system, deps);
  const operations = new Map(system.operations.map((o) => [`${system.name}.${o.name}`, o]));
  const operationOf = (spec: ActionSpec): HttpOperation => {
    const operation = operations.get(spec.name);
    if (operation === undefined) throw new PortcullisError('INTERNAL', `system "${system.name}" has no operation for action "${spec.name}"`);
    return operation;
  };
  const missing = (operation: HttpOperation, path: string): string => `${operation.resource} record ${path} does not exist`;

  /** The record a write is about to change, or a problem when it does not exist. */
  async function readBefore(operation: HttpOperation, params: HttpParams): Promise<{ ok: true; before: JsonValue; path: string } | { ok: false; problem: string } | undefined> {
    const get = beforeImageOperation(operation, system.operations);
    if (get === undefined) return undefined;
    const path = relativePath(system.baseUrl, operation, params);
    const answer = await client.send({ method: 'GET', template: get.path, ...(params.path === undefined ? {} : { pathValues: params.path }) });
    if (answer.status === 404 || answer.status === 410) return { ok: false, problem: missing(operation, path) };
    return { ok: true, before: expectSuccess(system.name, { method: 'GET', path }, answer).body, path };
  }

  return {
    system: system.name,
    async execute(spec, params, context) {
      const operation = operationOf(spec);
      const p = params as HttpParams;
      const before = await readBefore(operation, p);
      if (before !== undefined && !before.ok) throw new PortcullisError('FORBIDDEN', `${before.problem}; nothing was changed`, { problems: [before.problem] });
      const path = relativePath(system.baseUrl, operation, p);
      const answer = expectSuccess(system.name, { method: operation.method, path }, await client.send({
        method: operation.method, template: operation.path, idempotencyKey: `portcullis-${context.proposalId}`,
        ...(p.path === undefined ? {} : { pathValues: p.path }), ...(p.query === undefined ? {} : { query: p.query }), ...(p.body === undefined ? {} : { body: p.body }),
      }));
      const result: JsonValue = { status: answer.status, body: answer.body };
      if (before === undefined) return { result };
      const restore = restoreOf(system, operation, p, before.before);
      const undo: HttpUndo = {
        kind: 'http.restore', system: system.name, action: spec.name, request: { method: operation.method, path }, before: before.before,
        ...(restore === undefined ? {} : { restore }),
      };
      return { result, undo };
    },
    async rollback(spec, params, undo, _result, context) {
      const operation = operationOf(spec);
      const p = params as HttpParams;
      const restore = restoreOperation(operation, system.operations);
      const get = beforeImageOperation(operation, system.operations);
      if (!isRecord(undo) || undo.kind !== 'http.restore' || !isRecord(undo.restore) || restore === undefined || get === undefined) {
        throw new PortcullisError('NOT_REVERSIBLE', `${spec.name}: the API's OpenAPI document offers no request that puts the record back, so nothing was recorded to undo it; nothing was changed`);
      }
      const pathValues = p.path === undefined ? {} : { pathValues: p.path };
      const path = relativePath(system.baseUrl, operation, p);
      // What the record is now, against what the action left it as: only an unchanged record is put back.
      const answer = await client.send({ method: 'GET', template: get.path, ...pathValues });
      const gone = answer.status === 404 || answer.status === 410;
      let why: string | undefined;
      if (operation.method === 'DELETE') {
        if (!gone) why = `the record exists again (GET ${path} answered ${answer.status}), so the deleted record is not put back over it`;
      } else if (gone) {
        why = 'the record no longer exists';
      } else {
        const now = expectSuccess(system.name, { method: 'GET', path }, answer).body;
        const written = isRecord(p.body) ? p.body : {};
        const changed = Object.keys(written).filter((key) => !isRecord(now) || canonicalJson(now[key] ?? null) !== canonicalJson(written[key] ?? null));
        if (changed.length > 0) {
          why = `changed since: ${changed.map((key) => `${key} is ${JSON.stringify(isRecord(now) ? now[key] ?? null : null)}, not the ${JSON.stringify(written[key] ?? null)} the action wrote`).join('; ')}`;
        }
      }
      if (why !== undefined) return { undone: [], drifted: [{ record: path, why }] };
      expectSuccess(system.name, { method: restore.method, path }, await client.send({
        method: restore.method, template: restore.method === 'POST' ? restore.path : operation.path, idempotencyKey: `portcullis-rollback-${context.proposalId}`,
        ...pathValues, body: undo.restore.body ?? null,
      }));
      return { undone: [path], drifted: [] };
    },
    async precheck(spec, params) {
      try {
        const before = await readBefore(operationOf(spec), params as HttpParams);
        return before === undefined || before.ok ? [] : [before.problem];
      } catch (error) {
        // A refused URL is the proposal's problem; an unreachable system is reported when it executes.
        return error instanceof PortcullisError && error.code === 'FORBIDDEN' ? [error.message] : [];
      }
    },
    async check() {
      const template = system.healthPath ?? '';
      try {
        const answer = await client.send({ method: 'GET', template });
        const where = `GET ${system.baseUrl}${template}`;
        const offered = `${system.operations.length} operation(s)${system.skipped.length > 0 ? `, ${system.skipped.length} skipped (${system.skipped.join('; ')})` : ''}`;
        if (answer.status === 401 || answer.status === 403) return { ok: false, error: `system "${system.name}": ${where} answered ${answer.status}: the gateway's credentials were refused` };
        if (answer.status >= 200 && answer.status < 300) return { ok: true, detail: `${where} answered ${answer.status}; ${offered}` };
        if (answer.status === 404 && system.healthPath === undefined) return { ok: true, detail: `reachable (${where} answered 404; set healthPath for a stronger check); ${offered}` };
        return { ok: false, error: `system "${system.name}": ${where} answered ${answer.status}${answer.excerpt === '' ? '' : `: ${answer.excerpt}`}` };
      } catch (error) {
        return { ok: false, error: client.redact((error as Error).message) };
      }
    },
    async close() {
      // Nothing is held open between requests.
    },
  };
}
