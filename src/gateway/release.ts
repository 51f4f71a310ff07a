import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { IN_TOTO_PAYLOAD_TYPE, decodeBase64Strict, parseEnvelope, signEnvelope, findSigner, type Envelope } from '../attest/dsse.js';
import { parseStrictJson } from '../attest/json.js';
import { keyIdOf, type Signer } from '../attest/keys.js';
import { STATEMENT_TYPE } from '../attest/statement.js';

/**
 * Model-release statements: the developer declares which model a name serves — name, version,
 * and a digest of the weights manifest and/or the serving configuration (system prompt, safety
 * classifiers, decoding defaults, quantisation), or an opaque version id when weight hashes are
 * secret — as an in-toto Statement v1 with predicate type
 * `https://assay.dev/attestation/model-release/v1`, signed in a DSSE envelope.
 *
 * The release file holds the envelope's RFC 8785 text plus a newline and is never rewritten. Its
 * identity is SHA-256 of the file's bytes: the gateway stamps it on every response for the model
 * (`x-assay-model-release: sha256:<hex>`) and records it in the access log, and
 * `assay attest --model-release <file | sha256:…>` computes the same digest, so a report names
 * exactly the release that was tested.
 */

export const MODEL_RELEASE_PREDICATE = 'https://assay.dev/attestation/model-release/v1';
export const RELEASE_HEADER = 'x-assay-model-release';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
export const releasePredicateSchema = z.strictObject({
  model: z.string().min(1).max(256),
  version: z.string().min(1).max(256),
  weights: z.strictObject({ digest }).nullable(),
  servingConfig: z.strictObject({ digest }).nullable(),
  versionId: z.string().min(1).max(256).nullable(),
  developer: z.strictObject({ name: z.string().min(1).max(256), keyId: z.string() }),
  releasedAt: z.string(),
  notes: z.string().max(4096).nullable(),
});
export type ReleasePredicate = z.infer<typeof releasePredicateSchema>;

export const releaseStatementSchema = z.strictObject({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.strictObject({ name: z.string(), digest: z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }) })).length(1),
  predicateType: z.literal(MODEL_RELEASE_PREDICATE),
  predicate: releasePredicateSchema,
});
export type ReleaseStatement = z.infer<typeof releaseStatementSchema>;

export interface ReleaseInput {
  model: string;
  version: string;
  weightsDigest?: string;
  servingConfigDigest?: string;
  versionId?: string;
  developer: string;
  notes?: string;
  now?: Date;
}

/** Builds and signs a release; returns the file text to write (once). */
export function signRelease(signer: Signer, r: ReleaseInput): { text: string; statement: ReleaseStatement; digest: string } {
  const predicate: ReleasePredicate = releasePredicateSchema.parse({
    model: r.model,
    version: r.version,
    weights: r.weightsDigest ? { digest: r.weightsDigest } : null,
    servingConfig: r.servingConfigDigest ? { digest: r.servingConfigDigest } : null,
    versionId: r.versionId ?? null,
    developer: { name: r.developer, keyId: signer.keyId },
    releasedAt: (r.now ?? new Date()).toISOString(),
    notes: r.notes ?? null,
  });
  // The subject names what was released: the weights manifest if declared, else the serving
  // config, else the opaque version id.
  const subjectHex = predicate.weights?.digest.slice(7) ?? predicate.servingConfig?.digest.slice(7) ?? (predicate.versionId ? sha256Hex(`assay/model-version\n${predicate.versionId}`) : null);
  if (!subjectHex) throw new AssayError('USAGE', 'a release declares at least one of: a weights digest, a serving-config digest, a version id');
  const statement: ReleaseStatement = { _type: STATEMENT_TYPE, subject: [{ name: `assay/model/${r.model}`, digest: { sha256: subjectHex } }], predicateType: MODEL_RELEASE_PREDICATE, predicate };
  const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(statement), 'utf8'), [signer]);
  const text = `${canonicalJson(env)}\n`;
  return { text, statement, digest: `sha256:${sha256Hex(text)}` };
}

export interface LoadedRelease {
  file: string;
  /** SHA-256 of the file bytes, "sha256:<hex>": the stamp. */
  digest: string;
  statement: ReleaseStatement;
  envelope: Envelope;
  signedBy: string[];
}

/** Reads and checks a release file; with `key`, a signature by that key is required. */
export function loadRelease(file: string, key?: KeyObject): LoadedRelease {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new AssayError('IO', `cannot read model-release file: ${(err as Error).message}`, { file });
  }
  return parseRelease(bytes, file, key ? [key] : []);
}

/** Checks release bytes (named `file` in messages); with `keys`, a signature by one of them is required. */
export function parseRelease(bytes: Buffer, file: string, keys: readonly KeyObject[] = []): LoadedRelease {
  const env = parseEnvelope(bytes, file);
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new AssayError('RELEASE_FORMAT', `payload type ${env.payloadType} is not ${IN_TOTO_PAYLOAD_TYPE}`, { file });
  const payload = decodeBase64Strict(env.payload, 'payload');
  const r = releaseStatementSchema.safeParse(parseStrictJson(payload, { file }));
  if (!r.success) throw new AssayError('RELEASE_FORMAT', r.error.issues[0]!.message, { file, field: r.error.issues[0]!.path.join('.') });
  const signedBy: string[] = [];
  if (keys.length) {
    const key = findSigner(env, payload, keys, (k) => k);
    if (!key) throw new AssayError('RELEASE_SIGNATURE', `model-release statement is not signed by ${keys.length === 1 ? keyIdOf(keys[0]!) : `any of ${keys.length} keys`}`, { file });
    signedBy.push(keyIdOf(key));
  }
  return { file, digest: `sha256:${sha256Hex(bytes)}`, statement: r.data, envelope: env, signedBy };
}
