import { describe, expect, it } from 'vitest';
import { generateNoteKey, noteKeyId, openNote, parseNoteSigner, parseNoteVerifier, signNote, NoteKeyError } from './signed-note.js';

// The example of golang.org/x/mod/sumdb/note, the reference implementation of C2SP signed-note.
// Ed25519 is deterministic, so signing the text with the key reproduces the note byte for byte.
const GO_SIGNER = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VERIFIER = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('signed notes (C2SP signed-note)', () => {
  it('reproduces the reference note and opens it', () => {
    const signer = parseNoteSigner(GO_SIGNER);
    expect(signer.verifier.text).toBe(GO_VERIFIER);
    expect(signer.keyId).toBe(0xc74f20a3);
    expect(signNote(GO_TEXT, signer)).toBe(GO_NOTE);
    expect(openNote(GO_NOTE, [parseNoteVerifier(GO_VERIFIER)])).toEqual({ ok: true, text: GO_TEXT, signedBy: ['PeterNeumann'] });
  });

  it('computes the key id as SHA-256(name || 0x0A || 0x01 || key)[:4]', () => {
    const raw = Buffer.from('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'base64').subarray(1);
    expect(noteKeyId('PeterNeumann', raw)).toBe(0xc74f20a3);
  });

  it('refuses an edited text, another key, and a key whose id was edited', () => {
    const verifier = parseNoteVerifier(GO_VERIFIER);
    const edited = openNote(GO_NOTE.replace('cryptography', 'cryptographY'), [verifier]);
    expect(edited.ok === false && edited.problem).toMatch(/does not match the text/);
    const other = parseNoteVerifier(generateNoteKey('PeterNeumann').verifier);
    const unknown = openNote(GO_NOTE, [other]);
    expect(unknown.ok === false && unknown.problem).toMatch(/no signature by PeterNeumann/);
    expect(() => parseNoteVerifier(GO_VERIFIER.replace('c74f20a3', 'c74f20a4'))).toThrow(/key id does not match/);
    expect(() => parseNoteVerifier('PeterNeumann+c74f20a3')).toThrow(NoteKeyError);
    expect(() => parseNoteSigner(GO_VERIFIER)).toThrow(/PRIVATE\+KEY\+/);
  });

  it('ignores signature lines of keys it does not know, and refuses malformed ones', () => {
    const witness = parseNoteSigner(generateNoteKey('witness.example').signer);
    const cosigned = `${GO_NOTE}${signNote(GO_TEXT, witness).split('\n\n')[1]}`;
    expect(openNote(cosigned, [parseNoteVerifier(GO_VERIFIER)])).toMatchObject({ ok: true, signedBy: ['PeterNeumann'] });
    expect(openNote(cosigned, [parseNoteVerifier(GO_VERIFIER), witness.verifier])).toMatchObject({ ok: true, signedBy: ['PeterNeumann', 'witness.example'] });
    expect(openNote(`${GO_TEXT}\n-- PeterNeumann abc\n`, [parseNoteVerifier(GO_VERIFIER)])).toMatchObject({ ok: false, problem: expect.stringMatching(/malformed/) });
    expect(openNote(GO_TEXT, [parseNoteVerifier(GO_VERIFIER)])).toMatchObject({ ok: false });
  });

  it('generates keys that sign and verify', () => {
    const { signer, verifier } = generateNoteKey('portcullis.example/audit');
    const note = signNote('hello\n', parseNoteSigner(signer));
    expect(openNote(note, [parseNoteVerifier(verifier)])).toMatchObject({ ok: true, text: 'hello\n' });
    expect(() => signNote('no newline', parseNoteSigner(signer))).toThrow(TypeError);
  });
});
