import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { assayHome } from '../home.js';

/**
 * Ed25519 keys.
 *
 * Key id: `sha256:` + lowercase hex of SHA-256 over the raw 32-byte Ed25519 public key (RFC 8032
 * encoding, i.e. the JWK `x` value decoded). Anyone holding the public key can recompute it, so
 * it names the key without trusting whoever wrote it.
 *
 * Keyring (default `$ASSAY_HOME/keys`, directory mode 0700), per key, named by the id's hex:
 *   <hex>.key   PKCS#8 PEM private key, mode 0600 (loading refuses group/other-readable files)
 *   <hex>.pub   SPKI PEM public key
 *   <hex>.json  {"schema":"assay.key/v1","keyId","name","createdAt","publicKey":<JWK>}
 */

export const KEY_FILE_SCHEMA = 'assay.key/v1';
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid?: string;
}

/** Signs with a private key it keeps to itself (the key object never leaves this closure). */
export interface Signer {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  sign(data: Uint8Array): Buffer;
}

export interface KeyInfo {
  keyId: string;
  name: string;
  createdAt: string;
  publicKey: KeyObject;
  privateKeyFile: string;
  publicKeyFile: string;
  /** False when the private key file is readable by group or others (it will not be loaded). */
  permissionsOk: boolean;
}

export const keyringDir = (home = assayHome()) => join(home, 'keys');

export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new AssayError('KEY_TYPE', `expected an Ed25519 key, got ${pub.asymmetricKeyType ?? pub.type}`);
  const der = pub.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

export const keyIdOf = (key: KeyObject): string => `sha256:${sha256Hex(rawPublicKey(key))}`;
const hexOf = (keyId: string) => keyId.slice('sha256:'.length);

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new AssayError('KEY_FORMAT', `an Ed25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function exportPublicPem(key: KeyObject): string {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'pem', type: 'spki' }).toString();
}

export function exportPublicJwk(key: KeyObject): PublicJwk {
  const raw = rawPublicKey(key);
  return { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url'), kid: keyIdOf(key) };
}

/** A public key from a JWK (`kty` OKP, `crv` Ed25519, `x` base64url of 32 bytes). */
export function publicKeyFromJwk(jwk: unknown, where: { file?: string; field?: string } = {}): KeyObject {
  const j = jwk as Partial<PublicJwk> | null;
  if (!j || typeof j !== 'object' || j.kty !== 'OKP' || j.crv !== 'Ed25519' || typeof j.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(j.x))
    throw new AssayError('KEY_FORMAT', 'expected an Ed25519 public JWK {"kty":"OKP","crv":"Ed25519","x":"<base64url of 32 bytes>"}', where);
  const raw = Buffer.from(j.x, 'base64url');
  if (raw.toString('base64url') !== j.x) throw new AssayError('KEY_FORMAT', 'JWK "x" is not canonical base64url', where);
  return publicKeyFromRaw(raw);
}

/** A public key from SPKI PEM text or a JWK JSON text. */
export function parsePublicKey(text: string, where: { file?: string } = {}): KeyObject {
  const t = text.trim();
  if (t.startsWith('{')) return publicKeyFromJwk(JSON.parse(t), where);
  try {
    const k = createPublicKey(t);
    rawPublicKey(k);
    return k;
  } catch (err) {
    if (err instanceof AssayError) throw new AssayError(err.code, err.message, where);
    throw new AssayError('KEY_FORMAT', 'not an SPKI PEM or JWK Ed25519 public key', where);
  }
}

export function signerFromPrivateKey(privateKey: KeyObject): Signer {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') throw new AssayError('KEY_TYPE', 'expected an Ed25519 private key');
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKey,
    sign: (data) => edSign(null, data, privateKey),
    // Keep the private key out of console.log / util.inspect of the signer.
    toJSON: () => ({ keyId }),
    [Symbol.for('nodejs.util.inspect.custom')]: () => `Signer(${keyId})`,
  } as Signer;
}

/** A fresh key pair held in memory only (tests, ephemeral demo keys). */
export function generateSigner(): Signer {
  return signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Generates a key pair in the keyring. The private key is written once, mode 0600, never printed. */
export function generateKey(opts: { name: string; home?: string; now?: Date }): KeyInfo {
  if (!NAME.test(opts.name)) throw new AssayError('USAGE', `key name ${JSON.stringify(opts.name)}: use 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)`);
  const dir = keyringDir(opts.home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  const base = join(dir, hexOf(keyId));
  const keyFile = `${base}.key`;
  // 'wx': never overwrite; mode applies at creation, chmod again in case of an unusual umask.
  const fd = openSync(keyFile, 'wx', 0o600);
  try {
    writeSync(fd, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  } finally {
    closeSync(fd);
  }
  if (process.platform !== 'win32') chmodSync(keyFile, 0o600);
  writeFileSync(`${base}.pub`, exportPublicPem(publicKey));
  const createdAt = (opts.now ?? new Date()).toISOString();
  writeFileSync(`${base}.json`, JSON.stringify({ schema: KEY_FILE_SCHEMA, keyId, name: opts.name, createdAt, publicKey: exportPublicJwk(publicKey) }, null, 2) + '\n');
  return { keyId, name: opts.name, createdAt, publicKey, privateKeyFile: keyFile, publicKeyFile: `${base}.pub`, permissionsOk: true };
}

function permissionsOk(file: string): boolean {
  if (process.platform === 'win32') return true;
  return (statSync(file).mode & 0o077) === 0;
}

/** Every key in the keyring, sorted by name then id. */
export function listKeys(home?: string): KeyInfo[] {
  const dir = keyringDir(home);
  if (!existsSync(dir)) return [];
  const out: KeyInfo[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!/^[0-9a-f]{64}\.json$/.test(f)) continue;
    const metaFile = join(dir, f);
    let meta: { keyId?: unknown; name?: unknown; createdAt?: unknown; publicKey?: unknown };
    try {
      meta = JSON.parse(readFileSync(metaFile, 'utf8')) as typeof meta;
    } catch {
      throw new AssayError('KEY_FORMAT', 'key metadata is not valid JSON', { file: metaFile });
    }
    const publicKey = publicKeyFromJwk(meta.publicKey, { file: metaFile, field: 'publicKey' });
    const keyId = keyIdOf(publicKey);
    if (meta.keyId !== keyId || f !== `${hexOf(keyId)}.json`)
      throw new AssayError('KEY_MISMATCH', `key id ${String(meta.keyId)} does not match its public key (${keyId})`, { file: metaFile, field: 'keyId' });
    const base = join(dir, hexOf(keyId));
    const privateKeyFile = `${base}.key`;
    out.push({
      keyId,
      name: typeof meta.name === 'string' ? meta.name : '',
      createdAt: typeof meta.createdAt === 'string' ? meta.createdAt : '',
      publicKey,
      privateKeyFile,
      publicKeyFile: `${base}.pub`,
      permissionsOk: existsSync(privateKeyFile) ? permissionsOk(privateKeyFile) : false,
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.keyId < b.keyId ? -1 : 1));
}

/**
 * Finds a key by full id, bare hex, a unique hex prefix (≥ 6 characters) or its name. With no
 * reference, the keyring's only key.
 */
export function findKey(ref: string | undefined, home?: string): KeyInfo {
  const keys = listKeys(home);
  if (ref === undefined) {
    if (keys.length === 1) return keys[0]!;
    throw new AssayError('KEY_NOT_FOUND', keys.length === 0 ? `no keys in ${keyringDir(home)}: run "assay keys generate"` : `${keys.length} keys in ${keyringDir(home)}: choose one with --key`);
  }
  const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
  const byName = keys.filter((k) => k.name === ref);
  const byId = /^[0-9a-f]{6,64}$/.test(hex) ? keys.filter((k) => hexOf(k.keyId).startsWith(hex)) : [];
  const hits = [...new Set([...byId, ...byName])];
  if (hits.length === 1) return hits[0]!;
  throw new AssayError('KEY_NOT_FOUND', hits.length === 0 ? `no key "${ref}" in ${keyringDir(home)}` : `"${ref}" matches ${hits.length} keys; give more of the key id`);
}

/** Loads a private key file as a Signer; refuses files readable by group or others. */
export function loadSignerFile(file: string): Signer {
  if (!existsSync(file)) throw new AssayError('KEY_NOT_FOUND', 'private key file not found', { file });
  if (!permissionsOk(file)) {
    const mode = (statSync(file).mode & 0o777).toString(8).padStart(3, '0');
    throw new AssayError('KEY_PERMISSIONS', `private key file is readable by group or others (mode ${mode}); refusing to use it. Fix with: chmod 600 ${file}`, { file });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch {
    // Never echo the file content: it is a secret.
    throw new AssayError('KEY_FORMAT', 'not a PKCS#8 PEM private key', { file });
  }
  return signerFromPrivateKey(key);
}

/** The signer for a keyring key (see findKey for the reference forms). */
export function loadSigner(ref: string | undefined, home?: string): Signer & { name: string } {
  const info = findKey(ref, home);
  const signer = loadSignerFile(info.privateKeyFile);
  if (signer.keyId !== info.keyId) throw new AssayError('KEY_MISMATCH', `private key does not belong to key ${info.keyId}`, { file: info.privateKeyFile });
  return Object.assign(signer, { name: info.name });
}
