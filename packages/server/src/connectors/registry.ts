/**
 * The system kinds this gateway knows, by `kind`. Adding a kind is a folder under connectors/
 * with its descriptor, and one line here; config and wiring loop over this registry.
 */
import type { SystemKinds } from '../config/system-kind.js';
import type { SystemKind } from './connector.js';
import { httpKind } from './http/http-kind.js';
import { mcpKind } from './mcp/mcp-kind.js';
import { smtpKind } from './smtp/smtp-kind.js';
import { sqlKind } from './sql/sql-kind.js';

const kinds: readonly SystemKind[] = [sqlKind, httpKind, smtpKind, mcpKind] as unknown as readonly SystemKind[];

/** Every system kind, by `kind`, in the order error messages list them. */
export const SYSTEM_KINDS: ReadonlyMap<string, SystemKind> & SystemKinds = new Map(kinds.map((k) => [k.kind, k]));
