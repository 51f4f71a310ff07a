import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AssayError } from '../common/errors.js';
import { loadOrCreatePrivateKey, loadPrivateKey } from './keyfile.js';
import { ed25519Signer } from './note.js';
import { LocalLog, createLogDir, writeDurable } from './storage.js';

/**
 * A local log directory's private config, `.assay-log.json` (origin, signing key file, verifier
 * key). It sits in the log directory but is never served; the private key lives outside it.
 */
export const LOG_CONFIG = '.assay-log.json';

export interface LogConfig {
  schema: 'assay.log-config/v1';
  origin: string;
  keyFile: string;
  vkey: string;
}

export const hasLogConfig = (dir: string): boolean => existsSync(join(dir, LOG_CONFIG));

export function readLogConfig(dir: string): LogConfig {
  const file = join(dir, LOG_CONFIG);
  if (!existsSync(file)) throw new AssayError('LOG_MISSING', `no log here (missing ${LOG_CONFIG}); create one with: assay log init ${dir} --origin <name>`, { file: dir });
  let c: LogConfig;
  try {
    c = JSON.parse(readFileSync(file, 'utf8')) as LogConfig;
  } catch (err) {
    throw new AssayError('LOG_CONFIG', `not valid JSON: ${(err as Error).message}`, { file });
  }
  if (c?.schema !== 'assay.log-config/v1' || typeof c.origin !== 'string' || typeof c.keyFile !== 'string' || typeof c.vkey !== 'string')
    throw new AssayError('LOG_CONFIG', 'not an assay.log-config/v1 file (schema, origin, keyFile, vkey)', { file });
  return c;
}

/** Opens a configured log for writing (each append takes the writer lock). */
export async function openConfiguredLog(dir: string, keyFile?: string): Promise<LocalLog> {
  const c = readLogConfig(dir);
  return LocalLog.open(dir, { origin: c.origin, signerKey: loadPrivateKey(keyFile ?? c.keyFile) });
}

/**
 * Creates a log directory: signing key (created mode 0600 when missing, refused inside the
 * published directory), the empty signed checkpoint, and the config.
 */
export function initLog(dir: string, origin: string, keyFile: string): { config: LogConfig; createdKey: boolean } {
  if (hasLogConfig(dir)) throw new AssayError('LOG_EXISTS', 'already holds a log', { file: dir });
  keyFile = resolve(keyFile);
  if (keyFile.startsWith(resolve(dir) + '/')) throw new AssayError('USAGE', 'the private key must not live inside the published log directory', { file: keyFile });
  const { key, created } = loadOrCreatePrivateKey(keyFile);
  const signer = ed25519Signer(origin, key);
  createLogDir(dir, origin, key);
  const config: LogConfig = { schema: 'assay.log-config/v1', origin, keyFile, vkey: signer.vkey };
  writeDurable(join(dir, LOG_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
  return { config, createdKey: created };
}
