import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { AssayError } from '../common/errors.js';

/**
 * Ed25519 private keys for log and witness signing: PKCS#8 PEM files, mode 0600, created with
 * O_EXCL so an existing key is never overwritten. Never printed.
 */

export function loadPrivateKey(file: string): KeyObject {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new AssayError('KEY_MISSING', 'private key file not found', { file });
  }
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
    throw new AssayError('KEY_PERMISSIONS', `private key is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600`, { file });
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch {
    throw new AssayError('KEY_FORMAT', 'not a PKCS#8 PEM private key', { file });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new AssayError('KEY_TYPE', `expected an Ed25519 key, got ${key.asymmetricKeyType}`, { file });
  return key;
}

/** Loads the key, or creates a fresh one there. `created` tells which. */
export function loadOrCreatePrivateKey(file: string): { key: KeyObject; created: boolean } {
  if (existsSync(file)) return { key: loadPrivateKey(file), created: false };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  } finally {
    closeSync(fd);
  }
  if (process.platform !== 'win32') chmodSync(file, 0o600);
  return { key: privateKey, created: true };
}
