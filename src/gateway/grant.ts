import { hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import * as z from 'zod';
import { sha256Hex } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { parseStrictJson } from '../attest/json.js';
import type { Signer } from '../attest/keys.js';
import { ACCESS_LEVELS } from '../model/types.js';

/**
 * Grants: what a developer lets one tester do through the gateway, as a signed, expiring token.
 *
 * Token: a JWT (RFC 7519) in JWS compact form, signed EdDSA (Ed25519) by the gateway's key, with
 * protected header {"alg":"EdDSA","typ":"assay-grant+jwt","kid":<key id>}. Registered claims
 * iss (issuer key id), sub (tester), aud (gateway id), iat, nbf, exp, jti (grant id); the private
 * claim `assay` carries the grant itself (schema below, `assay.grant/v1`). Verification is jose's
 * (algorithm pinned to EdDSA, typ, audience, issuer, times); the payload is then re-read with the
 * strict JSON parser so duplicate claims are refused, and validated as a closed schema.
 *
 * Access key: what the tester puts in `Authorization: Bearer` or `x-api-key`:
 *   <grant token> "~" <commitment key: 32 bytes, base64url, 43 characters>
 * The commitment key salts the access-log commitments (commit.ts). It is derived by the tester
 * from a secret only they hold — HKDF-SHA256(secret, salt "assay/gateway/grant-key/v1", info jti)
 * — so each grant gets its own key and the secret itself never leaves the tester.
 */

export const GRANT_TYP = 'assay-grant+jwt';
export const GRANT_SCHEMA = 'assay.grant/v1';

export const grantSchema = z.strictObject({
  schema: z.literal(GRANT_SCHEMA),
  level: z.enum(ACCESS_LEVELS),
  /** Models (gateway model names) the tester may call. */
  models: z.array(z.string().min(1).max(256)).min(1).max(256),
  /**
   * Optional narrowing of the level's parameter allow-list: top-level request parameters the
   * tester may use (the level's list still applies; a grant can only take away).
   */
  params: z.array(z.string().regex(/^[a-z_]{1,64}$/)).max(64).nullable(),
  /** Request rate: a token bucket refilled at perSecond, holding at most burst. */
  rate: z.strictObject({ perSecond: z.number().positive().max(100_000), burst: z.number().int().min(1).max(100_000) }),
  /** Cumulative budget over the grant's lifetime (null: unlimited). */
  budget: z.strictObject({ tokens: z.number().int().min(1).nullable(), costUsd: z.number().positive().nullable() }),
  /** Largest max_tokens a request may ask for (null: no cap beyond the budget). */
  maxTokensPerRequest: z.number().int().min(1).nullable(),
  /** Grey-box and above: largest top_logprobs. */
  topLogprobsMax: z.number().int().min(0).max(20),
  /**
   * Optional (white-box): terms for enclave jobs (docs/enclave.md) — the cumulative bytes the
   * enclave's airlock may release under this grant (the enclave's own cap still applies), and
   * whether each release needs a developer reviewer's approval. Absent: the enclave's defaults.
   */
  enclave: z.strictObject({ releaseBytes: z.number().int().min(0).max(1 << 30), review: z.boolean() }).optional(),
});
export type Grant = z.infer<typeof grantSchema>;

export interface GrantClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  assay: Grant;
  /**
   * Key binding: RFC 8705 `x5t#S256` (the token works only over mutual TLS with this client
   * certificate) and/or RFC 9449 `jkt` (only with a DPoP proof signed by this key, dpop.ts).
   */
  cnf?: { 'x5t#S256'?: string; jkt?: string };
}

export const claimsSchema = z.strictObject({
  iss: z.string().min(1),
  sub: z.string().min(1).max(256),
  aud: z.string().min(1),
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
  jti: z.string().regex(/^g_[0-9a-f]{32}$/),
  assay: grantSchema,
  cnf: z
    .strictObject({ 'x5t#S256': z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional(), jkt: z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional() })
    .refine((c) => c['x5t#S256'] !== undefined || c.jkt !== undefined, 'cnf names a certificate (x5t#S256) or a key (jkt)')
    .optional(),
});

const b64u = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export interface IssueOptions {
  tester: string;
  audience: string;
  grant: Grant;
  /** Validity in seconds from now (or from notBefore). */
  ttlSeconds: number;
  now?: Date;
  notBefore?: Date;
  /** Bind the token to a client certificate: base64url SHA-256 of its DER (RFC 8705 x5t#S256). */
  certThumbprint?: string;
  /** Bind the token to a key: its RFC 7638 JWK thumbprint (RFC 9449 DPoP cnf.jkt). */
  dpopJkt?: string;
  /** Re-issue under an existing grant id (extend / narrow keep the jti, so usage and the tester's commitment key carry over). */
  jti?: string;
}

/** Signs a grant token. The signing input is built here; the signature is the signer's Ed25519. */
export function issueGrantToken(signer: Signer, o: IssueOptions): { token: string; claims: GrantClaims } {
  const grant = grantSchema.parse(o.grant);
  if (!(o.ttlSeconds > 0)) throw new AssayError('USAGE', 'a grant must expire: give a positive lifetime');
  if (!o.tester || o.tester.length > 256) throw new AssayError('USAGE', 'tester name: 1-256 characters');
  const iat = Math.floor((o.now ?? new Date()).getTime() / 1000);
  const nbf = o.notBefore ? Math.floor(o.notBefore.getTime() / 1000) : iat;
  const claims: GrantClaims = { iss: signer.keyId, sub: o.tester, aud: o.audience, iat, nbf, exp: nbf + Math.ceil(o.ttlSeconds), jti: o.jti ?? `g_${randomBytes(16).toString('hex')}`, assay: grant, ...(o.certThumbprint || o.dpopJkt ? { cnf: { ...(o.certThumbprint ? { 'x5t#S256': o.certThumbprint } : {}), ...(o.dpopJkt ? { jkt: o.dpopJkt } : {}) } } : {}) };
  const input = `${b64u({ alg: 'EdDSA', typ: GRANT_TYP, kid: signer.keyId })}.${b64u(claims)}`;
  return { token: `${input}.${signer.sign(Buffer.from(input, 'ascii')).toString('base64url')}`, claims };
}

/** Why a credential was refused: `code` is stable, `message` says what to do. */
export class GrantError extends Error {
  constructor(
    readonly code: 'missing_credential' | 'invalid_token' | 'grant_expired' | 'grant_not_yet_valid' | 'grant_unknown' | 'grant_revoked' | 'commit_key_required',
    message: string,
  ) {
    super(message);
  }
}

const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Verifies a grant token for this gateway; throws GrantError. `now` for tests. */
export async function verifyGrantToken(token: string, key: KeyObject, opts: { audience: string; issuer: string; now?: Date }): Promise<GrantClaims> {
  if (token.length > 16_384 || !COMPACT.test(token)) throw new GrantError('invalid_token', 'credential is not a grant token (a JWS compact serialisation, three base64url parts)');
  try {
    await jwtVerify(token, key, {
      algorithms: ['EdDSA'],
      typ: GRANT_TYP,
      audience: opts.audience,
      issuer: opts.issuer,
      requiredClaims: ['iat', 'nbf', 'exp', 'jti', 'sub'],
      ...(opts.now ? { currentDate: opts.now } : {}),
    });
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new GrantError('grant_expired', 'grant expired: ask the developer for a new grant');
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new GrantError('invalid_token', "grant signature does not verify with this gateway's key");
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.claim === 'nbf') throw new GrantError('grant_not_yet_valid', 'grant is not valid yet (nbf is in the future)');
      if (err.claim === 'aud') throw new GrantError('invalid_token', 'grant was issued for another gateway (aud)');
      if (err.claim === 'iss') throw new GrantError('invalid_token', "grant was not issued by this gateway's key (iss)");
      throw new GrantError('invalid_token', `grant claim "${err.claim}" is invalid: ${err.reason}`);
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) throw new GrantError('invalid_token', 'grant is not signed with EdDSA');
    throw new GrantError('invalid_token', `malformed grant token: ${(err as Error).message}`);
  }
  // Signature good: re-read the payload strictly (duplicate claims are refused) and as a closed schema.
  let payload: unknown;
  try {
    payload = parseStrictJson(Buffer.from(token.split('.')[1]!, 'base64url'));
  } catch (err) {
    throw new GrantError('invalid_token', `grant payload: ${(err as Error).message}`);
  }
  const r = claimsSchema.safeParse(payload);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new GrantError('invalid_token', `grant payload field "${i.path.join('.')}": ${i.message}`);
  }
  return r.data;
}

/** SHA-256 of the token text: how the store recognises a registered grant. */
export const tokenDigest = (token: string): string => `sha256:${sha256Hex(token)}`;

export const COMMIT_KEY_BYTES = 32;

/** The per-grant commitment key a tester derives from their secret (see the header comment). */
export function deriveCommitKey(testerSecret: Uint8Array, jti: string): Buffer {
  if (testerSecret.length < 32) throw new AssayError('USAGE', 'tester secret must be at least 32 bytes');
  return Buffer.from(hkdfSync('sha256', testerSecret, Buffer.from('assay/gateway/grant-key/v1'), Buffer.from(jti, 'utf8'), COMMIT_KEY_BYTES));
}

export const accessKey = (token: string, commitKey: Uint8Array): string => `${token}~${Buffer.from(commitKey).toString('base64url')}`;

/** Splits an access key into token and commitment key (null when the tester sent only the token). */
export function splitAccessKey(credential: string): { token: string; commitKey: Buffer | null } {
  const i = credential.indexOf('~');
  if (i < 0) return { token: credential, commitKey: null };
  const k = credential.slice(i + 1);
  if (!/^[A-Za-z0-9_-]{43}$/.test(k)) throw new GrantError('invalid_token', 'the commitment key after "~" must be 32 bytes in base64url (43 characters)');
  return { token: credential.slice(0, i), commitKey: Buffer.from(k, 'base64url') };
}

/** Default grant fields for a level (CLI and tests fill in the rest). */
export function defaultGrant(level: Grant['level'], models: string[]): Grant {
  return { schema: GRANT_SCHEMA, level, models, params: null, rate: { perSecond: 10, burst: 20 }, budget: { tokens: null, costUsd: null }, maxTokensPerRequest: null, topLogprobsMax: level === 'black-box' ? 0 : 20 };
}
