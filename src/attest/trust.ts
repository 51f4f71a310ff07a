import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { MAX_ENVELOPE_SIGNATURES, decodeBase64Strict, IN_TOTO_PAYLOAD_TYPE, parseEnvelope, signEnvelope, findSigner, type Envelope } from './dsse.js';
import { jsonPath, parseStrictJson } from './json.js';
import { parseVkey } from '../tlog/note.js';
import { exportPublicJwk, keyIdOf, publicKeyFromJwk, rawPublicKey, type PublicJwk, type Signer } from './keys.js';
import { STATEMENT_TYPE } from './statement.js';

/**
 * Trust: which keys a verifier accepts, and why (docs/formats/trust.md).
 *
 * A trust file (`assay.trust/v1`) lists testers trusted directly, co-signers it recognises
 * (developers, platforms), and accreditation bodies. A body vouches for a tester's key with a
 * signed accreditation statement (DSSE + in-toto Statement, predicate
 * `https://assay.dev/accreditation/v1`) that carries the tester's public key, scopes and a
 * validity period. Listing several bodies is mutual recognition.
 */

export const TRUST_SCHEMA = 'assay.trust/v1';
export const ACCREDITATION_PREDICATE_TYPE = 'https://assay.dev/accreditation/v1';
export const ACCREDITATION_SUBJECT = 'assay/tester-key';

const jwk = z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string().optional() });
const isoTime = z.iso.datetime({ offset: true });
const scopes = z.object({ riskAreas: z.array(z.string()).optional(), suites: z.array(z.string()).optional() });
const keyId = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 lowercase hex>"');
const keyEntry = z.object({
  name: z.string().min(1),
  keyId,
  publicKey: jwk,
  notBefore: isoTime.optional(),
  notAfter: isoTime.optional(),
  /** Testers only: absent = any suite. */
  scopes: scopes.optional(),
});

export const trustFileSchema = z.object({
  schema: z.literal(TRUST_SCHEMA),
  testers: z.array(keyEntry).default([]),
  cosigners: z.array(keyEntry.extend({ role: z.string().optional() })).default([]),
  accreditationBodies: z.array(keyEntry).default([]),
  /** Accreditation envelopes the verifier holds (reports may also carry their own). */
  accreditations: z.array(z.unknown()).default([]),
  /** Transparency logs whose inclusion proofs the verifier accepts, and the witnesses it requires. */
  logs: z
    .array(
      z.object({
        vkey: z.string().min(1),
        witnesses: z.array(z.string().min(1)).default([]),
        witnessesRequired: z.number().int().min(0).optional(),
      }),
    )
    .default([]),
});

export const accreditationPredicateSchema = z.object({
  body: z.object({ name: z.string().min(1) }),
  tester: z.object({ name: z.string().min(1), keyId, publicKey: jwk }),
  scopes: z.object({ riskAreas: z.array(z.string()).default([]), suites: z.array(z.string()).default([]) }),
  notBefore: isoTime,
  notAfter: isoTime,
  issuedAt: isoTime,
});
export type AccreditationPredicate = z.infer<typeof accreditationPredicateSchema>;
export type Scopes = z.infer<typeof scopes>;

export interface KeyEntry {
  name: string;
  keyId: string;
  publicKey: KeyObject;
  notBefore?: string;
  notAfter?: string;
  scopes?: Scopes;
  role?: string;
}

export interface TrustPolicy {
  file: string | null;
  testers: KeyEntry[];
  cosigners: KeyEntry[];
  bodies: KeyEntry[];
  accreditations: unknown[];
  logs: TrustedLog[];
}

/** A log the verifier trusts: its origin (the vkey's name), verifier key and witness policy. */
export interface TrustedLog {
  origin: string;
  vkey: string;
  witnesses: string[];
  witnessesRequired: number;
}

export const emptyTrust = (): TrustPolicy => ({ file: null, testers: [], cosigners: [], bodies: [], accreditations: [], logs: [] });

/** Reads and validates a trust file. Errors name the file and JSON path (exit code 2: it is the verifier's own input). */
export function loadTrustFile(file: string): TrustPolicy {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new AssayError('TRUST_FILE', `cannot read trust file: ${(err as Error).message}`, { file });
  }
  return parseTrust(bytes, file);
}

export function parseTrust(bytes: string | Uint8Array, file: string | null = null): TrustPolicy {
  const where = file ? { file } : {};
  const raw = parseStrictJson(bytes, where);
  const r = trustFileSchema.safeParse(raw);
  if (!r.success) {
    const iss = r.error.issues[0]!;
    throw new AssayError('TRUST_FILE', iss.message, { ...where, field: jsonPath(iss.path as (string | number)[]) });
  }
  const entries = (list: z.infer<typeof keyEntry>[], section: string): KeyEntry[] =>
    list.map((e, i) => {
      const field = jsonPath([section, i, 'publicKey']);
      const publicKey = publicKeyFromJwk(e.publicKey, { ...where, field });
      const id = keyIdOf(publicKey);
      if (id !== e.keyId) throw new AssayError('TRUST_FILE', `keyId ${e.keyId} does not match the public key (its id is ${id})`, { ...where, field: jsonPath([section, i, 'keyId']) });
      return { ...e, publicKey };
    });
  return {
    file,
    testers: entries(r.data.testers, 'testers'),
    cosigners: entries(r.data.cosigners, 'cosigners'),
    bodies: entries(r.data.accreditationBodies, 'accreditationBodies'),
    accreditations: r.data.accreditations,
    logs: r.data.logs.map((l, i) => {
      const origin = parseVkey(l.vkey, { ...where, field: jsonPath(['logs', i, 'vkey']) }).name;
      l.witnesses.forEach((w, k) => parseVkey(w, { ...where, field: jsonPath(['logs', i, 'witnesses', k]) }));
      const k = l.witnessesRequired ?? l.witnesses.length;
      if (k > l.witnesses.length) throw new AssayError('TRUST_FILE', `requires ${k} witnesses but lists ${l.witnesses.length}`, { ...where, field: jsonPath(['logs', i, 'witnessesRequired']) });
      return { origin, vkey: l.vkey, witnesses: l.witnesses, witnessesRequired: k };
    }),
  };
}

/** A trust file document (for `assay` to write, and for tests). */
export function trustDocument(t: { testers?: { name: string; publicKey: KeyObject; notBefore?: string; notAfter?: string; scopes?: Scopes }[]; cosigners?: { name: string; publicKey: KeyObject; role?: string }[]; bodies?: { name: string; publicKey: KeyObject; notBefore?: string; notAfter?: string }[]; accreditations?: Envelope[]; logs?: { vkey: string; witnesses?: string[]; witnessesRequired?: number }[] }) {
  const entry = <T extends { publicKey: KeyObject }>({ publicKey, ...rest }: T) => {
    const { kid: _kid, ...j } = exportPublicJwk(publicKey);
    return { ...rest, keyId: keyIdOf(publicKey), publicKey: j };
  };
  return {
    schema: TRUST_SCHEMA,
    testers: (t.testers ?? []).map(entry),
    cosigners: (t.cosigners ?? []).map(entry),
    accreditationBodies: (t.bodies ?? []).map(entry),
    accreditations: t.accreditations ?? [],
    logs: (t.logs ?? []).map((l) => ({ vkey: l.vkey, witnesses: l.witnesses ?? [], ...(l.witnessesRequired !== undefined ? { witnessesRequired: l.witnessesRequired } : {}) })),
  };
}

/** Issues an accreditation: a body's signed statement that a tester's key may sign reports in scope. */
export function issueAccreditation(opts: {
  body: Signer;
  bodyName: string;
  tester: { name: string; publicKey: KeyObject };
  scopes: { riskAreas?: string[]; suites?: string[] };
  notBefore: Date;
  notAfter: Date;
  now?: Date;
}): Envelope {
  const { kid: _kid, ...testerJwk } = exportPublicJwk(opts.tester.publicKey);
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: ACCREDITATION_SUBJECT, digest: { sha256: sha256Hex(rawPublicKey(opts.tester.publicKey)) } }],
    predicateType: ACCREDITATION_PREDICATE_TYPE,
    predicate: {
      body: { name: opts.bodyName },
      tester: { name: opts.tester.name, keyId: keyIdOf(opts.tester.publicKey), publicKey: testerJwk },
      scopes: { riskAreas: opts.scopes.riskAreas ?? [], suites: opts.scopes.suites ?? [] },
      notBefore: opts.notBefore.toISOString(),
      notAfter: opts.notAfter.toISOString(),
      issuedAt: (opts.now ?? new Date()).toISOString(),
    },
  };
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(statement), 'utf8'), [opts.body]);
}

/** An accreditation whose body signature checked out. */
export interface Accreditation {
  source: string;
  body: KeyEntry;
  predicate: AccreditationPredicate;
  testerKey: KeyObject;
}

/**
 * Checks accreditation envelopes against the trusted bodies. Bad ones are reported (with
 * source and reason), never fatal: they simply vouch for nobody.
 */
export function checkAccreditations(items: { source: string; envelope: unknown }[], trust: TrustPolicy): { valid: Accreditation[]; rejected: { source: string; reason: string }[] } {
  const valid: Accreditation[] = [];
  const rejected: { source: string; reason: string }[] = [];
  for (const { source, envelope } of items) {
    try {
      valid.push(checkAccreditation(source, envelope, trust));
    } catch (err) {
      rejected.push({ source, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return { valid, rejected };
}

function checkAccreditation(source: string, envelope: unknown, trust: TrustPolicy): Accreditation {
  const fail = (problem: string, field?: string): never => {
    throw new AssayError('ACCREDITATION', problem, { file: source, ...(field ? { field } : {}) });
  };
  const env = parseEnvelope(JSON.stringify(envelope), source);
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) fail(`payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`, 'payloadType');
  const payload = decodeBase64Strict(env.payload, 'payload');
  if (env.signatures.length > MAX_ENVELOPE_SIGNATURES) fail(`carries ${env.signatures.length} signatures; an accreditation may carry at most ${MAX_ENVELOPE_SIGNATURES}`, 'signatures');
  const body = findSigner(env, payload, trust.bodies, (b) => b.publicKey);
  if (!body) return fail('not signed by any accreditation body in the trust file', 'signatures');
  const st = parseStrictJson(payload, { file: `${source} payload` }) as Record<string, unknown>;
  if (!st || typeof st !== 'object' || st._type !== STATEMENT_TYPE) fail(`payload is not an in-toto Statement v1`, '$._type');
  if (st.predicateType !== ACCREDITATION_PREDICATE_TYPE) fail(`predicateType must be ${ACCREDITATION_PREDICATE_TYPE}`, '$.predicateType');
  const r = accreditationPredicateSchema.safeParse(st.predicate);
  if (!r.success) {
    const iss = r.error.issues[0]!;
    return fail(iss.message, jsonPath(['predicate', ...(iss.path as (string | number)[])]));
  }
  const testerKey = publicKeyFromJwk(r.data.tester.publicKey, { file: source, field: '$.predicate.tester.publicKey' });
  const id = keyIdOf(testerKey);
  if (id !== r.data.tester.keyId) fail(`tester.keyId does not match tester.publicKey (${id})`, '$.predicate.tester.keyId');
  const subj = Array.isArray(st.subject) ? (st.subject as { name?: unknown; digest?: { sha256?: unknown } }[]) : [];
  if (subj.length !== 1 || subj[0]!.name !== ACCREDITATION_SUBJECT || subj[0]!.digest?.sha256 !== id.slice(7))
    fail(`subject must be one "${ACCREDITATION_SUBJECT}" whose sha256 is the tester key id`, '$.subject');
  return { source, body: body!, predicate: r.data, testerKey };
}

/** Whether a report on this suite falls in a scope. Absent scopes = unrestricted. */
export function inScope(s: Scopes | undefined, suite: { id: string; version: string; riskArea: string }): boolean {
  if (!s) return true;
  const ra = s.riskAreas ?? [];
  const su = s.suites ?? [];
  return ra.includes('*') || ra.includes(suite.riskArea) || su.includes('*') || su.includes(suite.id) || su.includes(`${suite.id}@${suite.version}`);
}

/** Why a validity window excludes `now`, or null when it includes it. */
export function outsideValidity(w: { notBefore?: string | undefined; notAfter?: string | undefined }, now: Date): string | null {
  if (w.notBefore && now.getTime() < Date.parse(w.notBefore)) return `not valid before ${w.notBefore}`;
  if (w.notAfter && now.getTime() > Date.parse(w.notAfter)) return `expired at ${w.notAfter}`;
  return null;
}

export type TrustDecision =
  | { trusted: true; how: 'direct'; entry: string }
  | { trusted: true; how: 'accredited'; body: string; source: string; notAfter: string }
  | { trusted: false; exit: 11 | 12; reason: string };

/**
 * Is this key trusted to sign a report on this suite, at `now`? Direct trust first, then any
 * accreditation by a trusted body; a key that is known but only outside its validity or scope
 * is a 12, an unknown key an 11.
 */
export function decideTesterTrust(keyId: string, suite: { id: string; version: string; riskArea: string }, trust: TrustPolicy, accreditations: Accreditation[], now: Date): TrustDecision {
  const near: string[] = [];
  for (const t of trust.testers.filter((e) => e.keyId === keyId)) {
    const why = outsideValidity(t, now) ?? (inScope(t.scopes, suite) ? null : `suite ${suite.id}@${suite.version} (risk area "${suite.riskArea}") is outside its scopes`);
    if (!why) return { trusted: true, how: 'direct', entry: t.name };
    near.push(`trust file entry "${t.name}": ${why}`);
  }
  for (const a of accreditations.filter((x) => x.predicate.tester.keyId === keyId)) {
    const why =
      outsideValidity(a.predicate, now) ??
      (outsideValidity(a.body, now) ? `accreditation body "${a.body.name}" key ${outsideValidity(a.body, now)}` : null) ??
      (inScope(a.predicate.scopes, suite) ? null : `suite ${suite.id}@${suite.version} (risk area "${suite.riskArea}") is outside the accredited scopes (risk areas: ${a.predicate.scopes.riskAreas.join(', ') || 'none'}; suites: ${a.predicate.scopes.suites.join(', ') || 'none'})`);
    if (!why) return { trusted: true, how: 'accredited', body: a.body.name, source: a.source, notAfter: a.predicate.notAfter };
    near.push(`accreditation by "${a.body.name}" (${a.source}): ${why}`);
  }
  if (near.length) return { trusted: false, exit: 12, reason: near.join('; ') };
  return { trusted: false, exit: 11, reason: `key ${keyId} is not in the trust file${trust.file ? ` ${trust.file}` : ''} and no accreditation from a trusted body vouches for it` };
}

/** Keys known for checking signatures: trusted entries, accredited testers, then unauthenticated hints. */
export function candidateKeys(trust: TrustPolicy, accreditations: Accreditation[]): Map<string, KeyObject> {
  const m = new Map<string, KeyObject>();
  for (const e of [...trust.testers, ...trust.cosigners, ...trust.bodies]) m.set(e.keyId, e.publicKey);
  for (const a of accreditations) m.set(a.predicate.tester.keyId, a.testerKey);
  return m;
}

export type { PublicJwk };
