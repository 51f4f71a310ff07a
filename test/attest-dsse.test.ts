import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { test } from 'node:test';
import { cosign, decodeBase64Strict, findSigner, MAX_ENVELOPE_SIGNATURES, pae, parseEnvelope, signEnvelope, verifySignature } from '../src/attest/dsse.js';
import { generateSigner, rawPublicKey } from '../src/attest/keys.js';

test('PAE matches the DSSE v1.0.2 test vector', () => {
  const got = pae('http://example.com/HelloWorld', Buffer.from('hello world'));
  assert.equal(got.toString('latin1'), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
});

test('PAE lengths are byte lengths, not character counts', () => {
  assert.equal(pae('t/é', Buffer.from('ü', 'utf8')).toString('utf8'), 'DSSEv1 4 t/é 2 ü');
  assert.equal(pae('', Buffer.alloc(0)).toString('latin1'), 'DSSEv1 0  0 ');
});

test('signatures are plain Ed25519 over PAE: an independent verifier (WebCrypto) accepts them', async () => {
  const s = generateSigner();
  const payload = Buffer.from('{"hello":"world"}');
  const env = signEnvelope('application/vnd.in-toto+json', payload, [s]);
  // Rebuild PAE by hand from the spec, not with our pae().
  const msg = Buffer.from(`DSSEv1 28 application/vnd.in-toto+json ${payload.length} ${payload.toString()}`);
  const key = await webcrypto.subtle.importKey('raw', rawPublicKey(s.publicKey), { name: 'Ed25519' }, false, ['verify']);
  assert.equal(await webcrypto.subtle.verify({ name: 'Ed25519' }, key, Buffer.from(env.signatures[0]!.sig, 'base64'), msg), true);
  assert.equal(env.signatures[0]!.keyid, s.keyId);
  assert.equal(Buffer.from(env.payload, 'base64').toString(), payload.toString());
});

test('cosign adds a signature over the same payload bytes, once per key', () => {
  const tester = generateSigner();
  const dev = generateSigner();
  const payload = Buffer.from('{"b":1,  "a":2}'); // deliberately not canonical: bytes are kept as is
  const env = signEnvelope('application/vnd.in-toto+json', payload, [tester]);
  const two = cosign(env, dev);
  assert.equal(two.payload, env.payload);
  assert.equal(two.signatures.length, 2);
  assert.equal(cosign(two, dev).signatures.length, 2, 'a second cosign by the same key is a no-op');
  assert.equal(env.signatures.length, 1, 'input envelope not mutated');
  for (const [i, k] of [tester, dev].entries()) assert.ok(verifySignature(two.payloadType, payload, decodeBase64Strict(two.signatures[i]!.sig, 'sig'), k.publicKey));
  assert.ok(!verifySignature(two.payloadType, payload, decodeBase64Strict(two.signatures[0]!.sig, 'sig'), dev.publicKey));
  assert.ok(!verifySignature('application/other', payload, decodeBase64Strict(two.signatures[0]!.sig, 'sig'), tester.publicKey));
});

test('base64: both alphabets accepted, anything non-canonical rejected', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x01]);
  assert.deepEqual(decodeBase64Strict(bytes.toString('base64'), 'x'), bytes); // "+//+AQ=="
  assert.deepEqual(decodeBase64Strict(bytes.toString('base64url'), 'x'), bytes); // "-__-AQ"
  assert.deepEqual(decodeBase64Strict('-__-AQ==', 'x'), bytes);
  assert.deepEqual(decodeBase64Strict('', 'x'), Buffer.alloc(0));
  for (const bad of ['+//+AQ', '+//+AQ=', '+/_+AQ==', '+//+ AQ==', '+//+AR==', 'A', 'AB=C', '====', '-__-AR'])
    assert.throws(() => decodeBase64Strict(bad, 'payload'), /payload is not (valid|canonical) base64/, bad);
});

test('envelope parsing: strict JSON and shape, located', () => {
  const good = JSON.stringify({ payload: 'e30=', payloadType: 't', signatures: [{ keyid: 'k', sig: 'AA==' }], extra: 1 });
  const e = parseEnvelope(good, 'r.json');
  assert.equal(e.extra, 1, 'unknown fields are kept and ignored');
  assert.throws(() => parseEnvelope('{"payload":"e30=","payload":"e30=","payloadType":"t","signatures":[]}', 'r.json'), /r\.json:1, field "\$\.payload": duplicate key/);
  assert.throws(() => parseEnvelope('{"payload":"e30=","payloadType":"t","signatures":[]}', 'r.json'), /r\.json, field "signatures": "signatures" must be a non-empty array/);
  assert.throws(() => parseEnvelope('{"payload":1,"payloadType":"t","signatures":[{"sig":"AA=="}]}', 'r.json'), /field "payload"/);
  assert.throws(() => parseEnvelope('{"payload":"","payloadType":"t","signatures":[{"keyid":"k"}]}', 'r.json'), /field "signatures\[0\]\.sig"/);
  assert.equal(parseEnvelope('{"payload":"","payloadType":"t","signatures":[{"sig":""}]}').signatures[0]!.keyid, '');
});

test('findSigner: skips undecodable and foreign signatures, finds a later valid one, refuses padded envelopes before any cryptography', () => {
  const a = generateSigner();
  const b = generateSigner();
  const stranger = generateSigner();
  const payload = Buffer.from('{"x":1}');
  const env = signEnvelope('application/vnd.in-toto+json', payload, [stranger, b]);
  const junk = { keyid: '', sig: '%%%not base64%%%' };
  const padded = { ...env, signatures: [junk, ...env.signatures] };
  // The stranger's signature verifies under no candidate; b's (third) does.
  assert.equal(findSigner(padded, payload, [a, b], (s) => s.publicKey), b);
  assert.equal(findSigner(padded, payload, [a], (s) => s.publicKey), null);
  // The same signatures over other bytes (payload swapped) verify under nobody.
  assert.equal(findSigner(padded, Buffer.from('{"x":2}'), [a, b], (s) => s.publicKey), null);
  // A different payloadType changes PAE: no signature carries over.
  assert.equal(findSigner({ ...padded, payloadType: 'text/plain' }, payload, [b], (s) => s.publicKey), null);
  // One more than the cap: thrown before verification (so even a valid signature does not count).
  const many = { ...env, signatures: [...Array.from({ length: MAX_ENVELOPE_SIGNATURES }, () => junk), ...env.signatures] };
  assert.throws(() => findSigner(many, payload, [b], (s) => s.publicKey), /at most 16 are checked/);
  assert.equal(findSigner({ ...env, signatures: [...Array.from({ length: MAX_ENVELOPE_SIGNATURES - 2 }, () => junk), ...env.signatures] }, payload, [b], (s) => s.publicKey), b);
});
