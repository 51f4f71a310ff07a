import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { parseStrictJson } from '../attest/json.js';
import { decodeBase64Strict, findSigner, signEnvelope, type Envelope } from '../attest/dsse.js';
import { keyIdOf, type Signer } from '../attest/keys.js';

/**
 * A signed head of the enclave's ledger (`assay.enclave-ledger-head/v1`, a DSSE envelope signed
 * Ed25519 by the developer's key): "the ledger of enclave <id> held <size> entries ending in
 * <head> at <time>". Published, it binds the developer: a later ledger whose first <size> entries
 * do not end in <head> (an entry removed or changed, say a release erased) fails `verify`.
 */
export const LEDGER_HEAD_SCHEMA = 'assay.enclave-ledger-head/v1';
export const LEDGER_HEAD_PAYLOAD_TYPE = 'application/vnd.assay.enclave-ledger-head+json';

export const ledgerHeadSchema = z.strictObject({
  schema: z.literal(LEDGER_HEAD_SCHEMA),
  enclave: z.string().min(1),
  size: z.number().int().min(0),
  head: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  time: z.string(),
});
export type LedgerHead = z.infer<typeof ledgerHeadSchema>;

export function signLedgerHead(signer: Signer, h: Omit<LedgerHead, 'schema'>): Envelope {
  const head: LedgerHead = { schema: LEDGER_HEAD_SCHEMA, ...h };
  return signEnvelope(LEDGER_HEAD_PAYLOAD_TYPE, Buffer.from(canonicalJson(head), 'utf8'), [signer]);
}

/** Verifies a signed ledger head with a trusted key; throws naming the problem. */
export function openLedgerHead(envelope: Envelope, key: KeyObject): LedgerHead {
  if (envelope.payloadType !== LEDGER_HEAD_PAYLOAD_TYPE) throw new AssayError('HEAD_FORMAT', `payload type ${envelope.payloadType} is not ${LEDGER_HEAD_PAYLOAD_TYPE}`);
  const payload = decodeBase64Strict(envelope.payload, 'payload');
  const keyId = keyIdOf(key);
  const hinted = { ...envelope, signatures: envelope.signatures.filter((s) => s.keyid === '' || s.keyid === keyId) };
  if (!findSigner(hinted, payload, [key], (k) => k)) throw new AssayError('HEAD_SIGNATURE', `the ledger head is not signed by the trusted key ${keyId}`);
  const r = ledgerHeadSchema.safeParse(parseStrictJson(payload));
  if (!r.success) throw new AssayError('HEAD_FORMAT', `signed ledger head: ${r.error.issues[0]!.message}`, { field: r.error.issues[0]!.path.join('.') });
  if (canonicalJson(r.data) !== payload.toString('utf8')) throw new AssayError('HEAD_FORMAT', 'signed ledger head payload is not in canonical form');
  return r.data;
}
