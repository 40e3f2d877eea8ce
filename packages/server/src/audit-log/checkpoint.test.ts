import { createMerkleFrontier, merkleLeafHash } from '@portcullis/core';
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, openCheckpoint, parseCheckpointText, signCheckpoint } from './checkpoint.js';
import { parseCheckpointLog } from './checkpoint-log.js';
import { generateNoteKey, parseNoteSigner, parseNoteVerifier } from './signed-note.js';

const key = generateNoteKey('portcullis.example/audit');
const signer = parseNoteSigner(key.signer);
const verifier = parseNoteVerifier(key.verifier);

function tree(n: number) {
  const frontier = createMerkleFrontier();
  for (let i = 0; i < n; i += 1) frontier.append(merkleLeafHash(`event ${i}`));
  return { origin: 'portcullis.example/audit', size: n, root: frontier.root() };
}

describe('checkpoints (C2SP tlog-checkpoint)', () => {
  it('is the origin, the decimal size and the base64 root, one per line', () => {
    const checkpoint = tree(3);
    expect(formatCheckpoint(checkpoint)).toBe(`portcullis.example/audit\n3\n${Buffer.from(checkpoint.root).toString('base64')}\n`);
  });

  it('round-trips through a signed note', () => {
    const signed = signCheckpoint(tree(10), signer);
    const opened = openCheckpoint(signed.note, [verifier], 'portcullis.example/audit');
    expect(opened.ok).toBe(true);
    if (opened.ok) {
      expect(opened.checkpoint.size).toBe(10);
      expect(Buffer.from(opened.checkpoint.root).equals(Buffer.from(tree(10).root))).toBe(true);
    }
  });

  it('refuses an edited size or root, another key, another origin and malformed text', () => {
    const signed = signCheckpoint(tree(10), signer);
    expect(openCheckpoint(signed.note.replace('\n10\n', '\n11\n'), [verifier])).toMatchObject({ ok: false, problem: expect.stringMatching(/does not match/) });
    const other = parseNoteSigner(generateNoteKey('portcullis.example/audit').signer);
    expect(openCheckpoint(signCheckpoint(tree(10), other).note, [verifier])).toMatchObject({ ok: false, problem: expect.stringMatching(/no signature/) });
    expect(openCheckpoint(signed.note, [verifier], 'elsewhere')).toMatchObject({ ok: false, problem: expect.stringMatching(/not of "elsewhere"/) });
    expect(parseCheckpointText('origin\n01\nAAAA\n')).toMatchObject({ ok: false, problem: expect.stringMatching(/decimal/) });
    expect(parseCheckpointText('origin\n1\nAAAA\n')).toMatchObject({ ok: false, problem: expect.stringMatching(/32 bytes/) });
    expect(parseCheckpointText('origin\n')).toMatchObject({ ok: false });
  });
});

describe('the checkpoint log (JSON lines)', () => {
  const line = (n: number): string => JSON.stringify({ note: signCheckpoint(tree(n), signer).note });

  it('names a garbled line by its number, the first line included; reads a bare signed note as one checkpoint', () => {
    expect(parseCheckpointLog(`garbage\n${line(3)}\n`, 'cp.jsonl', [verifier])).toMatchObject({ ok: false, problem: 'cp.jsonl:1 is not a JSON line of the checkpoint log' });
    expect(parseCheckpointLog(`${line(3)}\nnot json\n`, 'cp.jsonl', [verifier])).toMatchObject({ ok: false, problem: 'cp.jsonl:2 is not a JSON line of the checkpoint log' });
    expect(parseCheckpointLog(`${line(3)}\n\n${line(5)}\n`, 'cp.jsonl', [verifier])).toMatchObject({ ok: true, checkpoints: [{ size: 3 }, { size: 5 }] });
    expect(parseCheckpointLog(signCheckpoint(tree(4), signer).note, 'note.txt', [verifier])).toMatchObject({ ok: true, checkpoints: [{ size: 4 }] });
  });
});
