import { verify as edVerify, type KeyObject } from 'node:crypto';
import { AssayError } from '../common/errors.js';
import { parseStrictJson } from './json.js';
import type { Signer } from './keys.js';

/**
 * DSSE v1 (protocol v1.0.2): signatures are Ed25519 over PAE(payloadType, payload bytes).
 * We sign and verify bytes; the payload is never re-serialised between the two.
 */

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface Envelope {
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body; LEN = decimal byte length. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'ascii'), type, Buffer.from(` ${payload.length} `, 'ascii'), payload]);
}

/**
 * Strict base64: the standard alphabet with correct padding, or the URL-safe alphabet with or
 * without padding (DSSE verifiers must accept both), never mixed, no whitespace, and canonical
 * (unused trailing bits zero). Canonical means one string ↔ one byte sequence, so a changed
 * character can never decode to the same bytes.
 */
export function decodeBase64Strict(s: string, what: string): Buffer {
  const std = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  const url = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$/;
  let bytes: Buffer;
  if (std.test(s)) bytes = Buffer.from(s, 'base64');
  else if (url.test(s)) bytes = Buffer.from(s, 'base64url');
  else throw new AssayError('BASE64', `${what} is not valid base64`, { field: what });
  const again = bytes.toString('base64');
  const norm = s.replace(/-/g, '+').replace(/_/g, '/');
  const padded = norm + '='.repeat((4 - (norm.length % 4)) % 4);
  if (again !== padded) throw new AssayError('BASE64', `${what} is not canonical base64 (non-zero unused bits)`, { field: what });
  return bytes;
}

/** A new envelope over exact payload bytes, signed by each signer in order. */
export function signEnvelope(payloadType: string, payload: Uint8Array, signers: readonly Signer[]): Envelope {
  const env: Envelope = { payload: Buffer.from(payload).toString('base64'), payloadType, signatures: [] };
  for (const s of signers) addSignature(env, payload, s);
  return env;
}

/**
 * Adds a signature (e.g. the developer acknowledging receipt) over the same payload bytes. The
 * payload string is kept as received. Signing twice with one key is a no-op.
 */
export function cosign(envelope: Envelope, signer: Signer): Envelope {
  const payload = decodeBase64Strict(envelope.payload, 'payload');
  const out: Envelope = { ...envelope, signatures: [...envelope.signatures] };
  const msg = pae(envelope.payloadType, payload);
  for (const s of envelope.signatures) {
    if (s.keyid !== signer.keyId) continue;
    try {
      if (edVerify(null, msg, signer.publicKey, decodeBase64Strict(s.sig, 'sig'))) return out;
    } catch {
      // a broken signature under our key id: add a good one
    }
  }
  addSignature(out, payload, signer);
  return out;
}

function addSignature(env: Envelope, payload: Uint8Array, signer: Signer): void {
  env.signatures.push({ keyid: signer.keyId, sig: signer.sign(pae(env.payloadType, payload)).toString('base64') });
}

/** Verifies one DSSE signature over the exact payload bytes; false on any malformation. */
export function verifySignature(payloadType: string, payload: Uint8Array, sig: Uint8Array, key: KeyObject): boolean {
  if (sig.length !== 64) return false;
  try {
    return edVerify(null, pae(payloadType, payload), key, sig);
  } catch {
    return false;
  }
}

/** Signatures one envelope may carry before it is refused unchecked (each costs a verification per candidate key). */
export const MAX_ENVELOPE_SIGNATURES = 16;

/**
 * The first candidate (in signature order, then candidate order) whose key verifies a signature of
 * the envelope over `payload`, or null. Undecodable signatures are skipped. More than `max`
 * signatures throw before any cryptography, so a padded envelope cannot stall a verifier.
 */
export function findSigner<C>(env: Envelope, payload: Uint8Array, candidates: Iterable<C>, keyOf: (c: C) => KeyObject, max = MAX_ENVELOPE_SIGNATURES): C | null {
  if (env.signatures.length > max) throw new AssayError('ENVELOPE', `carries ${env.signatures.length} signatures; at most ${max} are checked`, { field: 'signatures' });
  const list = [...candidates];
  for (const s of env.signatures) {
    let sig: Buffer;
    try {
      sig = decodeBase64Strict(s.sig, 'sig');
    } catch {
      continue;
    }
    const hit = list.find((c) => verifySignature(env.payloadType, payload, sig, keyOf(c)));
    if (hit !== undefined) return hit;
  }
  return null;
}

/**
 * Parses an envelope (strict JSON) and checks its shape; fields beyond the three DSSE ones are
 * kept untouched (DSSE consumers ignore unknown fields; Assay's bundle puts hints there).
 */
export function parseEnvelope(bytes: string | Uint8Array, file?: string): Envelope & Record<string, unknown> {
  const where = file ? { file } : {};
  const v = parseStrictJson(bytes, where);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new AssayError('ENVELOPE', 'a DSSE envelope must be a JSON object', where);
  const e = v as Record<string, unknown>;
  if (typeof e.payload !== 'string') throw new AssayError('ENVELOPE', '"payload" must be a base64 string', { ...where, field: 'payload' });
  if (typeof e.payloadType !== 'string' || e.payloadType.length === 0) throw new AssayError('ENVELOPE', '"payloadType" must be a non-empty string', { ...where, field: 'payloadType' });
  if (!Array.isArray(e.signatures) || e.signatures.length === 0) throw new AssayError('ENVELOPE', '"signatures" must be a non-empty array', { ...where, field: 'signatures' });
  e.signatures.forEach((s: unknown, i) => {
    const o = s as Record<string, unknown> | null;
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new AssayError('ENVELOPE', 'a signature must be an object', { ...where, field: `signatures[${i}]` });
    if (typeof o.sig !== 'string') throw new AssayError('ENVELOPE', '"sig" must be a base64 string', { ...where, field: `signatures[${i}].sig` });
    if (o.keyid !== undefined && typeof o.keyid !== 'string') throw new AssayError('ENVELOPE', '"keyid" must be a string', { ...where, field: `signatures[${i}].keyid` });
    if (o.keyid === undefined) o.keyid = '';
  });
  return e as Envelope & Record<string, unknown>;
}
