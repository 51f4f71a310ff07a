import { createHash, randomBytes } from 'node:crypto';
import { EmbeddedJWK, SignJWT, calculateJwkThumbprint, decodeProtectedHeader, errors as joseErrors, jwtVerify, type CryptoKey, type JWK, type KeyObject } from 'jose';
import { GrantError } from './grant.js';

/**
 * DPoP (RFC 9449): proof that the caller holds the private key a grant token is bound to
 * (`cnf.jkt`, the key's RFC 7638 thumbprint). A token that leaks — a log, a proxy, a shared
 * notebook — is useless without the key, and a captured proof cannot be replayed.
 *
 * Every request with a DPoP-bound token carries a `DPoP` header: a JWT, typ `dpop+jwt`, signed by
 * the tester's key (public key in the `jwk` header), with claims
 *   jti  unique per proof — each is accepted once (a replay cache keyed by key thumbprint + jti),
 *   htm  the HTTP method, htu the request URL without query or fragment,
 *   iat  within ±skew of the gateway's clock, and not before this gateway process started
 *        (the replay cache lives in memory: a proof made before a restart is never accepted after),
 *   ath  base64url SHA-256 of the grant token (the JWT before any "~commitment key").
 * Signature and embedded-key checks are jose's (public keys only, alg pinned to the list below).
 * Server-provided nonces (DPoP-Nonce) are not used: the iat window and the jti cache bound replay.
 */

export const DPOP_TYP = 'dpop+jwt';
export const DPOP_ALGS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];
/** Largest accepted proof, characters (a proof is a few hundred; RSA keys ~1.5 k). */
const MAX_PROOF = 8192;

export interface DpopCheck {
  /** The DPoP header value (null when absent). */
  proof: string | null;
  method: string;
  /** The request URL as the tester addressed it: scheme://host[:port]/path (no query). */
  url: string;
  /** The grant token the request carries. */
  accessToken: string;
  /** The thumbprint the grant is bound to (cnf.jkt). */
  jkt: string;
}

export const tokenHash = (accessToken: string): string => createHash('sha256').update(accessToken, 'ascii').digest('base64url');

/** Normalises an htu for comparison (RFC 9449 §4.3: no query and fragment; scheme and host case-insensitive; default ports). */
export function normaliseHtu(u: string): string | null {
  try {
    const x = new URL(u);
    if (x.protocol !== 'https:' && x.protocol !== 'http:') return null;
    return `${x.protocol}//${x.host}${x.pathname}`;
  } catch {
    return null;
  }
}

/**
 * Replay cache of accepted proofs, bounded: an entry lives as long as its proof could still be
 * accepted (iat + skew). When full of live entries, new proofs are refused (fail closed) until
 * some expire — a flood costs the flooder, not the gateway's memory.
 */
export class ProofCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly max = 100_000) {}
  /** Records a proof; false when it was already seen. Throws when the cache is full. */
  admit(key: string, expiresAtS: number, nowS: number): boolean {
    if (this.seen.has(key)) {
      const e = this.seen.get(key)!;
      if (e > nowS) return false;
      this.seen.delete(key);
    }
    if (this.seen.size >= this.max) {
      for (const [k, e] of this.seen) if (e <= nowS) this.seen.delete(k);
      if (this.seen.size >= this.max) throw new GrantError('invalid_token', 'too many DPoP proofs in flight at this gateway; retry in a minute');
    }
    this.seen.set(key, expiresAtS);
    return true;
  }
  get size(): number {
    return this.seen.size;
  }
}

export class DpopVerifier {
  readonly cache: ProofCache;
  constructor(
    private readonly o: { skewSeconds: number; startedAtS: number; cacheSize?: number; now?: () => number },
  ) {
    this.cache = new ProofCache(o.cacheSize);
  }

  /** Verifies a proof for a bound token; throws GrantError (401) naming what is wrong. */
  async verify(c: DpopCheck): Promise<void> {
    const bad = (m: string): never => {
      throw new GrantError('invalid_token', `DPoP: ${m}`);
    };
    if (!c.proof) bad('this grant is bound to a key (cnf.jkt): send a DPoP proof header signed by it (RFC 9449)');
    const proof = c.proof!;
    if (proof.length > MAX_PROOF || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof)) bad('the DPoP header is not one compact JWS');
    let payload: Record<string, unknown>;
    let jwk: JWK;
    try {
      const h = decodeProtectedHeader(proof);
      jwk = h.jwk as JWK;
      const r = await jwtVerify(proof, EmbeddedJWK, { typ: DPOP_TYP, algorithms: DPOP_ALGS });
      payload = r.payload as Record<string, unknown>;
    } catch (err) {
      if (err instanceof joseErrors.JOSEAlgNotAllowed) return bad(`proof algorithm not accepted (use one of ${DPOP_ALGS.join(', ')})`);
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) return bad('proof signature does not verify with its jwk');
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'typ') return bad('proof typ must be dpop+jwt');
      return bad(`malformed proof: ${(err as Error).message}`);
    }
    if ((await calculateJwkThumbprint(jwk, 'sha256')) !== c.jkt) bad('proof is signed by a key other than the one this grant is bound to');
    const { jti, htm, htu, iat, ath } = payload;
    if (typeof jti !== 'string' || jti.length < 16 || jti.length > 256) bad('proof jti must be a unique string of 16-256 characters');
    if (htm !== c.method) bad(`proof htm is ${JSON.stringify(htm)}, the request is ${c.method}`);
    const want = normaliseHtu(c.url);
    if (typeof htu !== 'string' || normaliseHtu(htu) === null || normaliseHtu(htu) !== want) bad(`proof htu is ${JSON.stringify(htu)}, the request is ${want}`);
    const now = (this.o.now ?? Date.now)() / 1000;
    if (typeof iat !== 'number' || !Number.isFinite(iat)) bad('proof iat missing');
    const t = iat as number;
    if (Math.abs(now - t) > this.o.skewSeconds) bad(`proof iat is ${Math.round(t - now)} s from the gateway's clock (±${this.o.skewSeconds} s accepted): check your clock, make a fresh proof per request`);
    if (t < this.o.startedAtS - 1) bad('proof was made before this gateway started; make a fresh proof');
    if (ath !== tokenHash(c.accessToken)) bad('proof ath is not the SHA-256 of this grant token');
    if (!this.cache.admit(`${c.jkt} ${jti as string}`, t + this.o.skewSeconds + 1, now)) bad('proof was already used (replay): make a fresh proof (new jti) per request');
  }
}

/** The RFC 7638 thumbprint of a public JWK (what a grant's cnf.jkt holds). */
export async function jwkThumbprint(jwk: JWK): Promise<string> {
  if ('d' in jwk) throw new GrantError('invalid_token', 'bind a grant to a PUBLIC key: this JWK contains private material ("d")');
  return calculateJwkThumbprint(jwk, 'sha256');
}

/** Makes a DPoP proof (the tester's side; tests and clients). */
export async function makeDpopProof(key: CryptoKey | KeyObject, publicJwk: JWK, o: { alg: string; htm: string; htu: string; accessToken: string; jti?: string; iat?: number }): Promise<string> {
  const iat = o.iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ htm: o.htm, htu: o.htu, ath: tokenHash(o.accessToken), jti: o.jti ?? randomBytes(18).toString('base64url') })
    .setProtectedHeader({ alg: o.alg, typ: DPOP_TYP, jwk: publicJwk })
    .setIssuedAt(iat)
    .sign(key);
}
