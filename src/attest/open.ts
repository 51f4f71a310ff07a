import type { KeyObject } from 'node:crypto';
import { canonicalJson } from '../common/canonical.js';
import type { ReportBundle } from './bundle.js';
import { decodeBase64Strict, findSigner, IN_TOTO_PAYLOAD_TYPE, MAX_ENVELOPE_SIGNATURES, parseEnvelope, signEnvelope, type Envelope } from './dsse.js';
import { parseStrictJson } from './json.js';
import { exportPublicJwk, type Signer } from './keys.js';
import { STATEMENT_TYPE } from './statement.js';

/**
 * What the signed documents beside run reports (verdicts, audit reports, tamper reports) share:
 * their file shape, routing a file to its verifier, and opening an envelope to a trusted statement.
 */

/** The file shape of a signed envelope: the signer's public key beside it and a `tlog` slot outside the signature. */
export function bundleOf(env: Envelope, signer: Signer): ReportBundle {
  const { kid: _kid, ...jwk } = exportPublicJwk(signer.publicKey);
  return { ...env, publicKeys: [{ keyid: signer.keyId, jwk }], accreditations: [], tlog: null };
}

/** Signs an in-toto statement (canonical JSON) into that file shape. */
export const signStatement = (st: unknown, signer: Signer): ReportBundle => bundleOf(signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(st), 'utf8'), [signer]), signer);

/** Whether a file holds a signed statement of this predicate type (read unverified, only to route it). */
export function hasPredicateType(bytes: Uint8Array, predicateType: string): boolean {
  try {
    const env = parseEnvelope(bytes);
    const st = parseStrictJson(decodeBase64Strict(env.payload, 'payload')) as { predicateType?: unknown } | null;
    return !!st && typeof st === 'object' && st.predicateType === predicateType;
  } catch {
    return false;
  }
}

export type Opened<T> = { ok: true; keyId: string; env: ReturnType<typeof parseEnvelope>; payload: Buffer; statement: T } | { ok: false; exit: 11 | 13; where: string; message: string };

/**
 * Opens a signed statement: the envelope and its payload parse, the signature count is within the
 * cap (checked before any cryptography), a signature verifies under one of `keys`, and the payload is
 * an in-toto statement of `predicateType` with an object predicate. Exit 13 malformed, 11 no trusted signer.
 */
export function openStatement<T extends { predicate?: unknown }>(bytes: Uint8Array, o: { source: string; predicateType: string; what: string; keys: Iterable<[string, KeyObject]> }): Opened<T> {
  let env: ReturnType<typeof parseEnvelope>;
  let payload: Buffer;
  try {
    env = parseEnvelope(bytes, o.source);
    payload = decodeBase64Strict(env.payload, 'payload');
  } catch (e) {
    return { ok: false, exit: 13, where: o.source, message: (e as Error).message };
  }
  if (env.signatures.length > MAX_ENVELOPE_SIGNATURES)
    return { ok: false, exit: 13, where: `${o.source}: signatures`, message: `carries ${env.signatures.length} signatures; at most ${MAX_ENVELOPE_SIGNATURES} are checked (refused unchecked)` };
  const keyId = findSigner(env, payload, o.keys, ([, k]) => k)?.[0] ?? null;
  if (!keyId) return { ok: false, exit: 11, where: `${o.source}: signatures`, message: 'no signature verifies under a key in the trust file' };
  let st: T & { _type?: unknown; predicateType?: unknown };
  try {
    st = parseStrictJson(payload, { file: 'payload' }) as unknown as typeof st;
  } catch (e) {
    return { ok: false, exit: 13, where: 'payload', message: (e as Error).message };
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE || st?._type !== STATEMENT_TYPE || st.predicateType !== o.predicateType || !st.predicate || typeof st.predicate !== 'object')
    return { ok: false, exit: 13, where: 'payload $.predicateType', message: `not ${o.what} (${o.predicateType})` };
  return { ok: true, keyId, env, payload, statement: st };
}
