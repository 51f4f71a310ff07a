import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { AssayError } from '../src/common/errors.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from '../src/tlog/checkpoint.js';
import { cosignatureVerifier, cosigner, requireCosignatures } from '../src/tlog/cosignature.js';
import { decodeEntry, encodeEntry, attestationEntry } from '../src/tlog/entry.js';
import { EMPTY_ROOT, leafHash } from '../src/tlog/merkle.js';
import { ed25519Signer, ed25519Verifier, keyIdFor, openNote, parseNote, parseVkey, signNote, formatVkey, SIG_ED25519 } from '../src/tlog/note.js';

const newKey = () => generateKeyPairSync('ed25519').privateKey;

// Published example from the Go signed-note package documentation: an independent
// implementation's vkey, key id and signature, so our key id and message rules interoperate.
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_NOTE =
  'If you think cryptography is the answer to your problem,\n' +
  "then you don't know what your problem is.\n" +
  '\n' +
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

test('interop: a note signed by an independent implementation verifies; its key id recomputes', () => {
  const k = parseVkey(GO_VKEY);
  assert.equal(k.keyId, 'c74f20a3');
  assert.equal(keyIdFor(k.name, SIG_ED25519, k.publicKey), 'c74f20a3');
  assert.equal(formatVkey(k.name, SIG_ED25519, k.publicKey), GO_VKEY);
  const n = openNote(GO_NOTE, [ed25519Verifier(GO_VKEY)]);
  assert.equal(n.verified.length, 1);
  assert.match(n.text, /^If you think/);
});

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AssayError, `expected an AssayError, got ${String(e)}`);
    assert.ok(e.message.length > 10);
    return e.code;
  }
  assert.fail('expected a rejection');
};

test('checkpoint round trip; every changed byte of the signed note is rejected with a reason', () => {
  const signer = ed25519Signer('example.org/log', newKey());
  const cp = { origin: 'example.org/log', size: 1234, root: leafHash(Buffer.from('x')), extensions: [] };
  const note = signCheckpoint(cp, [signer]);
  const opened = openCheckpoint(note, [ed25519Verifier(signer.vkey)]);
  assert.equal(opened.size, 1234);
  assert.deepEqual(Buffer.from(opened.root), Buffer.from(cp.root));
  assert.equal(formatCheckpoint(parseCheckpoint(opened.note.text)), opened.note.text);
  const bytes = Buffer.from(note);
  const codes = new Set<string>();
  for (let i = 0; i < bytes.length; i++) {
    for (const flip of [0x01, 0x20]) {
      const bad = Buffer.from(bytes);
      bad[i]! ^= flip;
      const c = code(() => openCheckpoint(bad, [ed25519Verifier(signer.vkey)]));
      codes.add(c);
    }
  }
  // Tampering shows up as format errors, a failed signature, or a signature from no known key.
  assert.ok(codes.has('NOTE_SIGNATURE') && codes.has('NOTE_FORMAT'), [...codes].join(','));
});

test('notes: malformed input names the problem; unknown signers are ignored; missing known signer fails', () => {
  const a = ed25519Signer('a.example/log', newKey());
  const b = ed25519Signer('b.example/log', newKey());
  const note = signNote('hello\nworld\n', [a, b]);
  assert.equal(openNote(note, [ed25519Verifier(a.vkey)]).unverified.length, 1);
  assert.equal(code(() => openNote(note, [ed25519Verifier(ed25519Signer('c.example', newKey()).vkey)])), 'NOTE_UNSIGNED');
  assert.throws(() => parseNote('hello\n'), /no blank line/);
  assert.throws(() => parseNote('hello\n\n- a.example AAAA\n'), /em dash/);
  assert.throws(() => parseNote('hello\n\n\u2014 a.example AAAA\n'), /too short/);
  assert.throws(() => parseNote('hello\n\n\u2014 a.example AAAAAAB=\n'), /canonical/);
  assert.throws(() => parseNote('hel\x07lo\n\n\u2014 a.example AAAAAAAA\n'), /control character/);
  assert.throws(() => parseNote('hello\n\n\u2014 a.example AAAAAAAA'), /end with a newline/);
  assert.throws(() => signNote('no newline', [a]), /end with a newline/);
  assert.throws(() => ed25519Signer('bad name', newKey()), /no spaces/);
  // A signature from a known key over other text: the note is rejected, not just unverified.
  const other = parseNote(signNote('other\n', [a]));
  const spliced = `hello\nworld\n\n\u2014 a.example/log ${Buffer.concat([Buffer.from(other.sigs[0]!.keyId, 'hex'), other.sigs[0]!.sig]).toString('base64')}\n`;
  assert.equal(code(() => openNote(spliced, [ed25519Verifier(a.vkey)])), 'NOTE_SIGNATURE');
});

test('vkeys: key id must recompute, type and length checked', () => {
  const s = ed25519Signer('example.org/log', newKey());
  const k = parseVkey(s.vkey);
  assert.equal(k.name, 'example.org/log');
  const [name, , key] = [s.vkey.slice(0, s.vkey.indexOf('+')), '', s.vkey.slice(s.vkey.indexOf('+', s.vkey.indexOf('+') + 1) + 1)];
  assert.throws(() => parseVkey(`${name}+00000000+${key}`), /does not match its key/);
  assert.throws(() => parseVkey('just-a-name'), /verifier key must be/);
  assert.throws(() => cosignatureVerifier(s.vkey), /expected an Ed25519 cosignature key/);
});

test('checkpoint text is parsed strictly', () => {
  const root = Buffer.from(leafHash(Buffer.from('r'))).toString('base64');
  assert.throws(() => parseCheckpoint(`o\n012\n${root}\n`), /leading zeros/);
  assert.throws(() => parseCheckpoint(`o\n-1\n${root}\n`), /decimal/);
  assert.throws(() => parseCheckpoint(`o\n12\n${root}`), /end with a newline/);
  assert.throws(() => parseCheckpoint(`o\n12\n`), /origin, size and root/);
  assert.throws(() => parseCheckpoint(`o\n12\nAAAA\n`), /3 bytes, expected 32/);
  assert.throws(() => parseCheckpoint(`o\n12\n${root.replace('=', '')}\n`), /canonical/);
  assert.throws(() => parseCheckpoint(`o\n0\n${root}\n`), /empty-tree root/);
  assert.throws(() => parseCheckpoint(`o\n99999999999999999999\n${root}\n`), /2\^53/);
  assert.throws(() => parseCheckpoint(`o\n12\n${root}\n\n`), /extension lines must not be empty/);
  assert.equal(parseCheckpoint(`o\n0\n${Buffer.from(EMPTY_ROOT).toString('base64')}\n`).size, 0);
  assert.deepEqual(parseCheckpoint(`o\n5\n${root}\next one\n`).extensions, ['ext one']);
});

test('cosignatures: round trip, timestamp, tamper, k of n with distinct keys', () => {
  const log = ed25519Signer('example.org/log', newKey());
  const w = [1, 2, 3].map((i) => cosigner(`witness${i}.example`, newKey(), () => 1_700_000_000 + i));
  const text = formatCheckpoint({ origin: 'example.org/log', size: 9, root: leafHash(Buffer.from('q')), extensions: [] });
  const note = signNote(text, [log, w[0]!, w[1]!]);
  const r = requireCosignatures(note, w.map((x) => x.vkey), 2);
  assert.deepEqual(r.witnesses.map((x) => [x.name, x.time]), [['witness1.example', 1_700_000_001], ['witness2.example', 1_700_000_002]]);
  assert.deepEqual(r.missing, [`witness3.example+${w[2]!.keyId}`]);
  assert.equal(code(() => requireCosignatures(note, w.map((x) => x.vkey), 3)), 'WITNESS_QUORUM');
  // The same witness listed twice counts once.
  assert.equal(code(() => requireCosignatures(note, [w[0]!.vkey, w[0]!.vkey], 2)), 'WITNESS_QUORUM');
  // A cosignature is over the checkpoint text: moving it to another checkpoint fails.
  const other = signNote(formatCheckpoint({ origin: 'example.org/log', size: 10, root: leafHash(Buffer.from('z')), extensions: [] }), [log]);
  const moved = `${other}${note.split('\n').filter((l) => l.startsWith('\u2014 witness1')).join('\n')}\n`;
  assert.equal(code(() => requireCosignatures(moved, [w[0]!.vkey], 1)), 'COSIGNATURE_INVALID');
  // Cosignature key ids use type 0x04, so a witness key cannot pass as a log key and vice versa.
  assert.notEqual(parseVkey(w[0]!.vkey).keyId, keyIdFor('witness1.example', SIG_ED25519, parseVkey(w[0]!.vkey).publicKey));
  assert.equal(code(() => openNote(note, [ed25519Verifier(`${w[0]!.vkey.split('+')[0]}+${keyIdFor('witness1.example', 1, parseVkey(w[0]!.vkey).publicKey)}+${Buffer.concat([Buffer.of(1), parseVkey(w[0]!.vkey).publicKey]).toString('base64')}`)])), 'NOTE_UNSIGNED');
});

test('entries: canonical, strict, attestation digest over exact bytes', () => {
  const e = attestationEntry(Buffer.from('{"payload":"x"}'), { predicateType: 'https://example/eval-run/v0.1' });
  const d = decodeEntry(e);
  assert.equal(d.type, 'attestation');
  assert.match(d.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(new TextDecoder().decode(e).indexOf(' '), -1);
  assert.deepEqual(encodeEntry(d), e);
  assert.throws(() => decodeEntry(Buffer.from('{"schema":"assay.tlog-entry/v1","type":"file","metadata":{},"digest":"sha256:' + '0'.repeat(64) + '"}')), /canonical/);
  assert.throws(() => encodeEntry({ type: 'File', digest: 'sha256:' + '0'.repeat(64), metadata: {} }), /type/);
  assert.throws(() => encodeEntry({ type: 'file', digest: 'sha256:ABC', metadata: {} }), /digest/);
  assert.throws(() => encodeEntry({ type: 'file', digest: 'sha256:' + '0'.repeat(64), metadata: { a: { b: 1 } as never } }), /metadata\.a/);
});
