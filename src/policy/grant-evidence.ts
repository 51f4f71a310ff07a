import { sha256Hex } from '../common/canonical.js';
import type { TrustPolicy } from '../attest/trust.js';
import { verifyGrantToken } from '../gateway/grant.js';
import type { AccessLevel } from '../model/types.js';

/**
 * Gateway grants as access evidence (the I/O-free part; callers read the token files). A grant
 * counts only when its issuer key — the developer's gateway key — is one the verifier trusts: a
 * co-signer in the trust file (`assay trust add <gateway.pub> --as cosigner --name …`). A grant
 * verified under a key the tester supplies would let the tester issue their own grant.
 */

/** What a signed verdict records of the grant a run's access rests on (the token itself is a bearer credential). */
export interface GrantRef {
  /** SHA-256 of the token text. */
  sha256: string;
  /** The gateway key that issued it. */
  keyId: string;
}

export interface GrantAccess {
  level: AccessLevel;
  ref: GrantRef;
}

const issuerOf = (token: string): string | null => {
  try {
    const p = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown; aud?: unknown };
    return typeof p.iss === 'string' ? p.iss : null;
  } catch {
    return null;
  }
};

const audienceOf = (token: string): string => {
  try {
    return String((JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown }).aud);
  } catch {
    return '';
  }
};

/**
 * The access a grant gave for a run: the first token that verifies under a trusted gateway key
 * (trust file co-signers; `onlyKey` narrows to one key id), was valid when the run started and
 * names the run's model. null when none does; every refusal is reported through `warn`.
 */
export async function grantAccess(tokens: string[], trust: TrustPolicy, model: string, startedAt: string | null, warn: (s: string) => void, onlyKey: string | null = null): Promise<GrantAccess | null> {
  for (const token of tokens) {
    const iss = issuerOf(token);
    const entry = trust.cosigners.find((c) => c.keyId === iss);
    if (!iss || !entry) {
      warn(`grant issued by ${iss ?? 'an unnamed key'}, which the trust file does not list as a co-signer (the developer's gateway key): ignored (assay trust add <gateway.pub> --as cosigner --name <developer>)`);
      continue;
    }
    if (onlyKey && iss !== onlyKey) {
      warn(`grant issued by ${iss}, not by the --grant-key given (${onlyKey}): ignored`);
      continue;
    }
    if (!startedAt) {
      warn('grant: the run has no start time, so the grant\'s validity for it cannot be checked: ignored');
      continue;
    }
    let claims;
    try {
      claims = await verifyGrantToken(token, entry.publicKey, { audience: audienceOf(token), issuer: entry.keyId, now: new Date(startedAt) });
    } catch (e) {
      warn(`grant did not verify (${(e as Error).message}); ignored`);
      continue;
    }
    if (claims.assay.models.includes(model)) return { level: claims.assay.level, ref: { sha256: sha256Hex(token), keyId: entry.keyId } };
  }
  return null;
}
