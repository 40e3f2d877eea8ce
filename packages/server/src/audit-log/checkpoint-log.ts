/**
 * The checkpoint log: an append-only file of signed checkpoints, one JSON line each
 * (`{"note": "<signed note>"}`), in a directory of the operator's choice, outside the store.
 * Reading it trusts nothing in it: every checkpoint's signature is checked against the
 * verifier keys given, and a line that fails names itself.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import type { NoteVerifier } from './signed-note.js';

/** The log's file name inside its directory. */
export const CHECKPOINT_LOG_FILE = 'checkpoints.jsonl';

/** Appends a signed checkpoint to the log in `dir` (created if missing), durably. @throws Error when the directory cannot be written. */
export function appendCheckpointLog(dir: string, checkpoint: SignedCheckpoint): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, CHECKPOINT_LOG_FILE);
  appendFileSync(path, `${JSON.stringify({ note: checkpoint.note })}\n`, { flag: 'a' });
  return path;
}

/** Checkpoints read and checked, or why not. */
export type CheckpointsRead =
  | {
    readonly ok: true;
    /** Every checkpoint, sorted by tree size. */
    readonly checkpoints: readonly SignedCheckpoint[];
    /**
     * The checkpoint written last (the log's last line): the newest the gateway published. It is
     * the largest unless `audit recover` accepted a store that differs (a restored backup), whose
     * checkpoint then follows the larger ones it no longer extends.
     */
    readonly last: SignedCheckpoint;
    readonly path: string;
  }
  | { readonly ok: false; readonly problem: string };

/** The notes of a log file's text: JSON lines, or one bare signed note. */
function notesOf(text: string, path: string): { ok: true; notes: { note: string; where: string }[] } | { ok: false; problem: string } {
  // A log is JSON lines; a bare signed note has no line that opens a JSON object. A log whose
  // first line was garbled is still a log, so its bad line is named by number.
  if (!text.split('\n').some((line) => line.trimStart().startsWith('{'))) return { ok: true, notes: text.trim() === '' ? [] : [{ note: text, where: path }] };
  const notes: { note: string; where: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { ok: false, problem: `${path}:${i + 1} is not a JSON line of the checkpoint log` };
    }
    const note = (parsed as { note?: unknown } | null)?.note;
    if (typeof note !== 'string') return { ok: false, problem: `${path}:${i + 1} has no "note" string` };
    notes.push({ note, where: `${path}:${i + 1}` });
  }
  return { ok: true, notes };
}

/**
 * Reads the checkpoints of a log file, or of `checkpoints.jsonl` in a directory, checking
 * each signature with `verifiers`; all must be of one origin. Sorted by tree size.
 */
export function readCheckpointLog(location: string, verifiers: readonly NoteVerifier[]): CheckpointsRead {
  let path = location;
  let text: string;
  try {
    if (statSync(location).isDirectory()) path = join(location, CHECKPOINT_LOG_FILE);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, problem: `cannot read the checkpoints at ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}` };
  }
  return parseCheckpointLog(text, path, verifiers);
}

/**
 * The checkpoint of `verifier`'s key written last to the log in `dir` (undefined: none, or no
 * log yet), read before signing the next one into it. Lines of other keys (before a rotation)
 * are passed over; any other line that cannot be read is a problem: a log that cannot be read
 * cannot be shown to be extended.
 */
export function lastCheckpointOf(dir: string, verifier: NoteVerifier): { readonly ok: true; readonly last?: SignedCheckpoint } | { readonly ok: false; readonly problem: string } {
  const path = join(dir, CHECKPOINT_LOG_FILE);
  if (!existsSync(path)) return { ok: true };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, problem: `cannot read the checkpoint log ${path}: ${(error as Error).message}` };
  }
  const read = notesOf(text, path);
  if (!read.ok) return read;
  let last: SignedCheckpoint | undefined;
  for (const { note, where } of read.notes) {
    const opened = openCheckpoint(note, [verifier], last?.origin);
    if (opened.ok) last = opened.checkpoint;
    else if (!/^no signature by /.test(opened.problem)) return { ok: false, problem: `the checkpoint at ${where} is refused: ${opened.problem}` };
  }
  return last === undefined ? { ok: true } : { ok: true, last };
}

/**
 * Checks the checkpoints of a log's text (JSON lines, or one bare signed note) read from
 * `path` (a file or a URL, named in problems) with `verifiers`; all must be of one origin.
 * Sorted by tree size.
 */
export function parseCheckpointLog(text: string, path: string, verifiers: readonly NoteVerifier[]): CheckpointsRead {
  const read = notesOf(text, path);
  if (!read.ok) return read;
  const checkpoints: SignedCheckpoint[] = [];
  for (const { note, where } of read.notes) {
    const opened = openCheckpoint(note, verifiers, checkpoints[0]?.origin);
    if (!opened.ok) return { ok: false, problem: `the checkpoint at ${where} is refused: ${opened.problem}` };
    checkpoints.push(opened.checkpoint);
  }
  if (checkpoints.length === 0) return { ok: false, problem: `${path} holds no checkpoint` };
  return { ok: true, checkpoints: [...checkpoints].sort((a, b) => a.size - b.size), last: checkpoints.at(-1) as SignedCheckpoint, path };
}
