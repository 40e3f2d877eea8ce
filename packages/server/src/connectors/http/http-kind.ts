/** The `kind: http` system kind: the operations of an OpenAPI 3 document, called with the gateway's credentials. */
import type { ConfigIssue } from '../../config/issues.js';
import type { SystemKind } from '../connector.js';
import { httpActionSpecs } from './http-actions.js';
import { createHttpConnector } from './http-connector.js';
import { compileHttpSystem, httpSystemSchema, type HttpSystemConfig, type HttpSystemSettings } from './http-settings.js';

export const httpKind: SystemKind<HttpSystemConfig, HttpSystemSettings> = {
  kind: 'http',
  settings: httpSystemSchema,
  compile: compileHttpSystem,
  actionSpecs(system, issues: ConfigIssue[]) {
    const { specs, problems } = httpActionSpecs(system);
    issues.push(...problems.map((message) => ({ path: ['systems', system.name, 'openapi'], message: `${system.openapi}: ${message}` })));
    return specs;
  },
  connect: (system, deps) => createHttpConnector(system, deps),
};
