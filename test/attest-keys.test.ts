import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { exportPublicJwk, exportPublicPem, findKey, generateKey, keyIdOf, listKeys, loadSigner, loadSignerFile, parsePublicKey, publicKeyFromJwk, rawPublicKey } from '../src/attest/keys.js';
import { tmp } from './helpers.js';

test('generate: key id = sha256 of the raw 32-byte public key; private key mode 0600', { skip: process.platform === 'win32' }, () => {
  const home = tmp();
  const k = generateKey({ name: 'lab', home });
  const raw = rawPublicKey(k.publicKey);
  assert.equal(raw.length, 32);
  assert.equal(k.keyId, `sha256:${createHash('sha256').update(raw).digest('hex')}`);
  assert.equal(statSync(k.privateKeyFile).mode & 0o777, 0o600);
  assert.equal(statSync(`${home}/keys`).mode & 0o777, 0o700);
  assert.match(readFileSync(k.privateKeyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(keyIdOf(createPublicKey(readFileSync(k.publicKeyFile))), k.keyId);
  const [listed] = listKeys(home);
  assert.equal(listed!.keyId, k.keyId);
  assert.equal(listed!.permissionsOk, true);
});

test('lookup by name, id, hex prefix; the only key by default', () => {
  const home = tmp();
  const a = generateKey({ name: 'a', home });
  assert.equal(findKey(undefined, home).keyId, a.keyId);
  const b = generateKey({ name: 'b', home });
  assert.throws(() => findKey(undefined, home), /2 keys .*choose one with --key/);
  assert.equal(findKey('b', home).keyId, b.keyId);
  assert.equal(findKey(a.keyId, home).keyId, a.keyId);
  assert.equal(findKey(a.keyId.slice(7, 17), home).keyId, a.keyId);
  assert.throws(() => findKey('nope', home), /no key "nope"/);
  assert.throws(() => generateKey({ name: 'bad name', home }), /key name/);
});

test('a private key file readable by group or others is refused, with the fix', { skip: process.platform === 'win32' }, () => {
  const home = tmp();
  const k = generateKey({ name: 'lab', home });
  chmodSync(k.privateKeyFile, 0o644);
  assert.throws(() => loadSigner('lab', home), (e: Error) => {
    assert.match(e.message, /readable by group or others \(mode 644\); refusing to use it\. Fix with: chmod 600/);
    assert.ok(e.message.startsWith(k.privateKeyFile));
    return true;
  });
  assert.equal(listKeys(home)[0]!.permissionsOk, false);
  chmodSync(k.privateKeyFile, 0o640);
  assert.throws(() => loadSignerFile(k.privateKeyFile), /KEY_PERMISSIONS|readable by group/);
  chmodSync(k.privateKeyFile, 0o600);
  const s = loadSigner('lab', home);
  assert.equal(s.keyId, k.keyId);
});

test('the private key never shows up in inspect or JSON of a signer', () => {
  const home = tmp();
  generateKey({ name: 'lab', home });
  const s = loadSigner('lab', home);
  const pem = readFileSync(findKey('lab', home).privateKeyFile, 'utf8');
  const body = pem.split('\n')[1]!;
  assert.ok(!inspect(s, { depth: 10, showHidden: true }).includes(body));
  assert.ok(!JSON.stringify(s).includes(body));
  assert.ok(!inspect(s).includes('PRIVATE'));
});

test('public keys round-trip through PEM and JWK', () => {
  const home = tmp();
  const k = generateKey({ name: 'lab', home });
  const jwk = exportPublicJwk(k.publicKey);
  assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kid', 'kty', 'x']);
  assert.equal(jwk.kid, k.keyId);
  assert.equal(keyIdOf(publicKeyFromJwk(jwk)), k.keyId);
  assert.equal(keyIdOf(parsePublicKey(exportPublicPem(k.publicKey))), k.keyId);
  assert.equal(keyIdOf(parsePublicKey(JSON.stringify(jwk))), k.keyId);
  assert.throws(() => publicKeyFromJwk({ kty: 'OKP', crv: 'X25519', x: jwk.x }), /Ed25519 public JWK/);
  assert.throws(() => parsePublicKey('not a key', { file: 'k.pem' }), /^AssayError: k\.pem: not an SPKI PEM/);
});
