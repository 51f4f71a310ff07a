import type { KeyObject } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { statsForRun } from '../stats/from-log.js';
import { digestOfFile, digestOfJson } from './digest.js';
import { verifyDisclosure, type DisclosureCheck } from './disclose.js';
import { decodeBase64Strict, IN_TOTO_PAYLOAD_TYPE, parseEnvelope, verifySignature } from './dsse.js';
import { jsonPath } from './json.js';
import { keyIdOf, publicKeyFromJwk } from './keys.js';
import { predicateMetrics, statsRule } from './predicate.js';
import { modelFields, parseStatement, pickModel, SUBJECT, subjectDigest, type RunReportStatement } from './statement.js';
import { analyseRunLog } from './transcripts.js';
import { checkReportInclusion, type TlogVerification, type TlogVerifyOptions } from './tlog.js';
import { retirementOf, scanRotations } from './revocation.js';
import { fetchCheckpoint, logSource, type LogSource } from '../tlog/client.js';
import type { SignedCheckpoint } from '../tlog/checkpoint.js';

/** The log's checkpoint under the first trusted log key that verifies it, or null. */
async function firstTrusted(src: LogSource, vkeys: readonly string[]): Promise<SignedCheckpoint | null> {
  for (const v of vkeys) {
    try {
      return await fetchCheckpoint(src, v);
    } catch {
      /* not this log */
    }
  }
  return null;
}
import { candidateKeys, checkAccreditations, decideTesterTrust, outsideValidity, type TrustDecision, type TrustPolicy } from './trust.js';

/**
 * Offline verification of a report bundle (docs/formats/attestation.md, "Verification").
 * Every failure names what broke and where; the exit code is that of the first failure in check
 * order: envelope (13) → signatures (10) → trust (11, 12) → statement (13) → run log data (14)
 * → numbers (15) → disclosures (16).
 */
export const EXIT = {
  ok: 0,
  usage: 2,
  badSignature: 10,
  untrusted: 11,
  accreditation: 12,
  malformed: 13,
  dataMismatch: 14,
  numbersMismatch: 15,
  disclosure: 16,
  tlog: 17,
  /** The verdict was evaluated under an older policy-evaluation version than the verifier requires (--require-evaluation-version). */
  evaluationVersion: 18,
} as const;

export type CheckName = 'envelope' | 'signature' | 'trust' | 'statement' | 'run-log' | 'transcripts' | 'numbers' | 'policy' | 'disclosure' | 'tlog';

export interface Failure {
  check: CheckName;
  exit: number;
  /** Where: a field of the bundle (`signatures[0].sig`), the payload (`$.predicate.metrics[1].mean`) or a file. */
  where: string;
  message: string;
}

export interface SignatureCheck {
  index: number;
  keyidHint: string;
  /** The key that verified this signature; null when none did. */
  keyId: string | null;
  valid: boolean;
  role: 'tester' | 'developer' | 'co-signer' | null;
  trust: TrustDecision | { trusted: true; how: 'direct-cosigner'; entry: string; role: string | null } | { trusted: true; how: 'developer'; entry: string } | null;
}

export interface VerifyResult {
  ok: boolean;
  exitCode: number;
  failures: Failure[];
  warnings: string[];
  /** SHA-256 of the exact payload bytes that were verified. */
  payloadSha256: string | null;
  signatures: SignatureCheck[];
  /** The signed statement, present once at least one signature verified and it parsed. */
  statement: RunReportStatement | null;
  accreditations: { valid: { source: string; body: string; tester: string; notAfter: string }[]; rejected: { source: string; reason: string }[] };
  runLog: { path: string; checked: string[] } | null;
  disclosures: DisclosureCheck[];
  /** The transparency-log inclusion that was verified (null when the report carries none or its log is not trusted). */
  tlog: TlogVerification | null;
  checkedAt: string;
}

export interface VerifyOptions {
  trust: TrustPolicy;
  runLogPath?: string;
  disclosures?: { bytes: Uint8Array; source: string }[];
  /** Time at which keys and accreditations must be valid (default: now). */
  now?: Date;
  /** Name of the bundle in messages. */
  source?: string;
  /** Transparency-log checks (logs trusted are those in the trust file). */
  tlog?: TlogVerifyOptions;
  /**
   * Recomputes the signed policy verdict (policy module: src/policy/report.ts); each problem is a
   * 'policy' failure with its exit code (14 wrong policy file, 15 verdict differs).
   */
  policy?: (st: RunReportStatement, ctx: { logged: boolean }) => { exit: number; where: string; message: string }[];
}

/**
 * Caps on what a report may carry (docs/formats/attestation.md, "Bounded verification"). Reports
 * need a tester signature and a few co-signatures; anything beyond these is refused as malformed
 * (exit 13) before any signature is checked, so verification cost stays linear and small.
 */
export const LIMITS = { signatures: 16, publicKeys: 16, accreditations: 16, reportBytes: 16 * 1024 * 1024 } as const;

const ORDER: CheckName[] = ['envelope', 'signature', 'trust', 'statement', 'run-log', 'transcripts', 'numbers', 'policy', 'disclosure', 'tlog'];

export async function verifyReport(envelopeBytes: Uint8Array | string, opts: VerifyOptions): Promise<VerifyResult> {
  const now = opts.now ?? new Date();
  const src = opts.source ?? 'report';
  const res: VerifyResult = {
    ok: false,
    exitCode: 0,
    failures: [],
    warnings: [],
    payloadSha256: null,
    signatures: [],
    statement: null,
    accreditations: { valid: [], rejected: [] },
    runLog: null,
    disclosures: [],
    tlog: null,
    checkedAt: now.toISOString(),
  };
  const fail = (check: CheckName, exit: number, where: string, message: string) => void res.failures.push({ check, exit, where, message });
  const finish = (): VerifyResult => {
    res.failures.sort((a, b) => ORDER.indexOf(a.check) - ORDER.indexOf(b.check));
    res.exitCode = res.failures[0]?.exit ?? 0;
    res.ok = res.failures.length === 0;
    return res;
  };

  // 1. Envelope shape and payload bytes, after the size cap (nothing larger is parsed).
  const size = typeof envelopeBytes === 'string' ? Buffer.byteLength(envelopeBytes) : envelopeBytes.length;
  if (size > LIMITS.reportBytes) {
    fail('envelope', EXIT.malformed, src, `report is larger than ${LIMITS.reportBytes} bytes; refused unchecked`);
    return finish();
  }
  let env: ReturnType<typeof parseEnvelope>;
  let payload: Buffer;
  try {
    env = parseEnvelope(envelopeBytes, src);
    payload = decodeBase64Strict(env.payload, 'payload');
  } catch (err) {
    const e = err as AssayError;
    fail('envelope', EXIT.malformed, e.location?.field ? `${src}: ${e.location.field}` : src, e.message);
    return finish();
  }

  // 1b. Caps, before any cryptography.
  const over = (
    [
      ['signatures', env.signatures.length, LIMITS.signatures],
      ['publicKeys', Array.isArray(env.publicKeys) ? env.publicKeys.length : 0, LIMITS.publicKeys],
      ['accreditations', Array.isArray(env.accreditations) ? env.accreditations.length : 0, LIMITS.accreditations],
    ] as const
  ).filter(([, n, max]) => n > max);
  for (const [field, n, max] of over) fail('envelope', EXIT.malformed, `${src}: ${field}`, `carries ${n} ${field}; a report may carry at most ${max} (refused unchecked)`);
  if (over.length) return finish();

  // 2. Keys: trusted ones, accredited testers, then the bundle's unauthenticated hints.
  const accItems = [
    ...opts.trust.accreditations.map((envelope, i) => ({ source: `${opts.trust.file ?? 'trust'} accreditations[${i}]`, envelope })),
    ...(Array.isArray(env.accreditations) ? env.accreditations : []).map((envelope: unknown, i: number) => ({ source: `${src} accreditations[${i}]`, envelope })),
  ];
  const acc = checkAccreditations(accItems, opts.trust);
  res.accreditations = {
    valid: acc.valid.map((a) => ({ source: a.source, body: a.body.name, tester: `${a.predicate.tester.name} (${a.predicate.tester.keyId})`, notAfter: a.predicate.notAfter })),
    rejected: acc.rejected,
  };
  const known = candidateKeys(opts.trust, acc.valid);
  const hints = new Map<string, KeyObject>();
  if (Array.isArray(env.publicKeys))
    env.publicKeys.forEach((h: unknown, i: number) => {
      const o = h as { keyid?: unknown; jwk?: unknown } | null;
      try {
        const k = publicKeyFromJwk(o?.jwk, { file: src, field: `publicKeys[${i}].jwk` });
        const id = keyIdOf(k);
        if (o?.keyid !== id) res.warnings.push(`${src}: publicKeys[${i}] keyid does not match its key (${id}); hint ignored`);
        else if (!known.has(id)) hints.set(id, k);
      } catch (err) {
        res.warnings.push(`${(err as Error).message}; hint ignored`);
      }
    });

  // 3. Signatures over PAE(payloadType, exact payload bytes). A signature that verifies under no
  // key is held back: it fails the report only when the tester's signature does not verify
  // either (then the payload itself is in doubt); otherwise it is reported as unverifiable.
  const unverified: { where: string; message: string }[] = [];
  env.signatures.forEach((s, i) => {
    const check: SignatureCheck = { index: i, keyidHint: s.keyid, keyId: null, valid: false, role: null, trust: null };
    res.signatures.push(check);
    const where = `${src}: signatures[${i}].sig`;
    let sig: Buffer;
    try {
      sig = decodeBase64Strict(s.sig, `signatures[${i}].sig`);
    } catch (err) {
      return void unverified.push({ where, message: `signature ${i} ${(err as Error).message.replace(/^.*?: /, '')}` });
    }
    // A keyid hint naming a known key selects that key alone; otherwise every known key is tried
    // (at most LIMITS.signatures × (trusted keys + LIMITS.publicKeys) checks in all).
    const hinted = known.has(s.keyid) || hints.has(s.keyid);
    const order: [string, KeyObject][] = hinted ? [[s.keyid, (known.get(s.keyid) ?? hints.get(s.keyid))!]] : [...known.entries(), ...hints.entries()];
    const hit = order.find(([, k]) => verifySignature(env.payloadType, payload, sig, k));
    if (!hit) {
      return void unverified.push({
        where,
        message: hinted
          ? `signature ${i} does not verify under key ${s.keyid} over the payload (payload, payloadType or signature altered)`
          : `signature ${i} (keyid hint "${hintText(s.keyid)}") verifies under no known key: not in the trust file, not accredited, and no matching public key in "publicKeys"`,
      });
    }
    check.keyId = hit[0];
    check.valid = true;
    if (s.keyid && s.keyid !== hit[0]) res.warnings.push(`${src}: signatures[${i}].keyid hint "${hintText(s.keyid)}" differs from the key that verified it (${hit[0]})`);
  });
  const failUnverified = () => unverified.forEach((u) => fail('signature', EXIT.badSignature, u.where, u.message));
  if (!res.signatures.some((s) => s.valid)) {
    failUnverified();
    return finish();
  }
  res.payloadSha256 = sha256Hex(payload);
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) fail('statement', EXIT.malformed, `${src}: payloadType`, `payloadType must be "${IN_TOTO_PAYLOAD_TYPE}", got ${JSON.stringify(env.payloadType)}`);

  // 4. The statement (only from bytes a signature covered).
  let st: RunReportStatement;
  try {
    st = parseStatement(payload);
  } catch (err) {
    const e = err as AssayError;
    fail('statement', EXIT.malformed, `payload${e.location?.field ? ` ${e.location.field}` : ''}`, e.message);
    return finish();
  }
  res.statement = st;
  const p = st.predicate;
  // Signatures are not covered by one another: anyone can append one. With the tester's signature
  // valid, an unverifiable extra one adds no claim and takes none away, so it is reported only.
  if (res.signatures.some((s) => s.valid && s.keyId === p.tester.keyId))
    for (const u of unverified) res.warnings.push(`${u.where}: ${u.message}; unverifiable, so it counts for nothing (the tester's signature verifies)`);
  else failUnverified();
  const suite = { id: p.suite.id, version: p.suite.version, riskArea: p.suite.riskArea };

  // 5. Trust: the tester named in the statement must have signed, with a key trusted for this suite.
  const testerSig = res.signatures.find((s) => s.valid && s.keyId === p.tester.keyId);
  if (!testerSig) fail('signature', EXIT.badSignature, 'payload $.predicate.tester.keyId', `the tester key ${p.tester.keyId} named in the statement did not sign it`);
  for (const s of res.signatures) {
    if (!s.valid || !s.keyId) continue;
    if (s.keyId === p.tester.keyId && p.tester.role === 'developer') {
      // A claim (issue 27): the developer's own run. Its key must be listed as a developer
      // (cosigners with role "developer"); trusting it says who made the claim, not that it is true.
      s.role = 'developer';
      const dev = opts.trust.cosigners.find((c) => c.keyId === s.keyId && c.role === 'developer');
      const why = dev ? outsideValidity(dev, now) : null;
      if (dev && !why) s.trust = { trusted: true, how: 'developer', entry: dev.name };
      else {
        s.trust = { trusted: false, exit: dev ? EXIT.accreditation : EXIT.untrusted, reason: dev ? `developer entry "${dev.name}": ${why}` : `key ${s.keyId} is not listed as a developer in the trust file${opts.trust.file ? ` ${opts.trust.file}` : ''} (assay trust add <key> --as developer)` };
        fail('trust', s.trust.exit, `${src}: signatures[${s.index}]`, `developer "${p.tester.name}": ${s.trust.reason}`);
      }
      res.warnings.push(`SELF-REPORTED: this is a claim signed by the developer "${p.tester.name}" about its own model, not an independent test; a replication audit (assay audit plan) checks it`);
      continue;
    }
    if (s.keyId === p.tester.keyId) {
      s.role = 'tester';
      s.trust = decideTesterTrust(s.keyId, suite, opts.trust, acc.valid, now);
      if (!s.trust.trusted) fail('trust', s.trust.exit, `${src}: signatures[${s.index}]`, `tester "${p.tester.name}": ${s.trust.reason}`);
      continue;
    }
    s.role = 'co-signer';
    const cos = opts.trust.cosigners.find((c) => c.keyId === s.keyId && !outsideValidity(c, now));
    if (cos) s.trust = { trusted: true, how: 'direct-cosigner', entry: cos.name, role: cos.role ?? null };
    else s.trust = decideTesterTrust(s.keyId, suite, opts.trust, acc.valid, now);
    if (!s.trust.trusted) res.warnings.push(`co-signature ${s.index} by ${s.keyId} is valid but not trusted (${s.trust.reason}); it is reported, not required`);
  }

  // 6. Against the run log: digests, header facts, transcript root, then every number.
  if (opts.runLogPath) await checkRunLog(opts.runLogPath, st, res, fail);


  // 7. Disclosures against the signed transcript root.
  for (const d of opts.disclosures ?? []) {
    const c = verifyDisclosure(d.bytes, st, d.source);
    res.disclosures.push(c);
    if (!c.ok) fail('disclosure', EXIT.disclosure, d.source, c.reason ?? 'invalid');
  }

  // 8. Transparency log: inclusion of this payload under a trusted log's checkpoint, and
  // consistency of that checkpoint with any newer one the verifier holds or fetches.
  const t = await checkReportInclusion(env.tlog, payload, st.predicateType, opts.trust.logs, opts.tlog ?? {}, src);
  res.tlog = t.result;
  res.warnings.push(...t.warnings);
  for (const f of t.failures) fail('tlog', f.io ? EXIT.usage : EXIT.tlog, f.where, f.message);

  // 9. Key lifecycle: with the log at hand, a signature counts only if the report's entry precedes
  // the signing key's first retirement (revoke / rotate) entry in that log.
  if (opts.tlog?.log) {
    const keyOf = (id: string) => known.get(id) ?? hints.get(id);
    try {
      const src = logSource(opts.tlog.log);
      const trusted = opts.trust.logs.map((l) => l.vkey);
      const cp = res.tlog ? await fetchCheckpoint(src, opts.trust.logs.find((l) => l.origin === res.tlog!.origin)!.vkey) : await firstTrusted(src, trusted);
      if (cp && (!res.tlog || cp.origin === res.tlog.origin)) {
        const rotations = await scanRotations(src, cp);
        for (const s of res.signatures) {
          const key = s.valid && s.keyId ? keyOf(s.keyId) : undefined;
          if (!key || !s.keyId) continue;
          const ret = retirementOf(rotations, s.keyId, key, cp.origin);
          if (!ret) continue;
          const what = `key ${s.keyId} was ${ret.action === 'revoke' ? 'revoked' : `rotated${ret.replacement ? ` to ${ret.replacement}` : ''}`} by entry ${ret.index} of log ${cp.origin}`;
          if (res.tlog && res.tlog.index < ret.index) {
            res.warnings.push(`${what}; this report is entry ${res.tlog.index}, before it, so its signature ${s.index} stands`);
            continue;
          }
          const why = res.tlog ? `${what}, before this report's entry ${res.tlog.index}` : `${what}, and this report is not in that log, so it cannot be shown to precede the retirement`;
          if (s.role === 'tester' || s.role === 'developer') {
            s.trust = { trusted: false, exit: EXIT.untrusted, reason: why };
            fail('trust', EXIT.untrusted, `${src.target}: entry ${ret.index}`, `tester signature ${s.index}: ${why}`);
          } else {
            s.trust = { trusted: false, exit: EXIT.untrusted, reason: why };
            res.warnings.push(`co-signature ${s.index}: ${why}; it does not count`);
          }
        }
      }
    } catch (err) {
      fail('tlog', (err as AssayError).code === 'LOG_FETCH' ? EXIT.usage : EXIT.tlog, opts.tlog.log, `key rotations not checked: ${(err as Error).message}`);
    }
  }
  // 10. The policy verdict, recomputed from the signed statistics and the policy file. "Logged"
  // means what the policy says: an inclusion proof that verified under a log this verifier
  // trusts — not merely a tlog field in the bundle.
  if (opts.policy) for (const f of opts.policy(st, { logged: res.tlog !== null && t.failures.length === 0 })) fail('policy', f.exit, f.where, f.message);
  return finish();
}

async function checkRunLog(path: string, st: RunReportStatement, res: VerifyResult, fail: (c: CheckName, exit: number, where: string, msg: string) => void): Promise<void> {
  const p = st.predicate;
  const checked: string[] = [];
  res.runLog = { path, checked };
  let fileDigest;
  try {
    fileDigest = await digestOfFile(path);
  } catch (err) {
    return fail('run-log', EXIT.usage, path, (err as Error).message);
  }
  const signedLog = subjectDigest(st, SUBJECT.runLog);
  if (fileDigest.sha256 !== signedLog.sha256)
    fail('run-log', EXIT.dataMismatch, path, `run log file differs from the signed subject "${SUBJECT.runLog}" (sha256 ${fileDigest.sha256}, signed ${signedLog.sha256})`);
  else checked.push('file digest');

  let scan;
  try {
    scan = await analyseRunLog(path);
  } catch (err) {
    return fail('run-log', EXIT.dataMismatch, path, `cannot read the run log: ${(err as Error).message}`);
  }
  const h = scan.header;
  // Each signed fact against the header it came from; a damaged header reads as missing values.
  const facts: [(string | number)[], unknown, () => unknown][] = [
    [['run', 'id'], p.run.id, () => h.runId],
    [['run', 'status'], p.run.status, () => scan.status],
    [['run', 'rescoreOf'], p.run.rescoreOf, () => h.rescoreOf ?? null],
    [['suite', 'id'], p.suite.id, () => h.suite.id],
    [['suite', 'version'], p.suite.version, () => h.suite.version],
    [['suite', 'title'], p.suite.title, () => h.suite.definition.title],
    [['suite', 'riskArea'], p.suite.riskArea, () => h.suite.definition.riskArea],
    [['suite', 'digest'], `sha256:${p.suite.digest.sha256}`, () => h.suite.digest],
    [['suite', 'dataDigests'], p.suite.dataDigests, () => h.suite.dataDigests],
    [['model'], modelFields(p.model), () => pickModel(h, scan.simulatedEvent)],
    [['model', 'identityDigest', 'sha256'], p.model.identityDigest.sha256, () => digestOfJson(h.model).sha256],
    [['config'], p.config, () => h.config],
    [['timestamps', 'runStartedAt'], p.timestamps.runStartedAt, () => h.startedAt],
    [['timestamps', 'runFinishedAt'], p.timestamps.runFinishedAt, () => scan.finishedAt],
    [['assay', 'runLogWrittenBy'], p.assay.runLogWrittenBy, () => h.assayVersion],
  ];
  let factsOk = true;
  for (const [path, signed, get] of facts) {
    let actual: unknown;
    try {
      actual = get();
    } catch {
      actual = null;
    }
    for (const d of diff(signed, actual, ['predicate', ...path])) {
      factsOk = false;
      fail('run-log', EXIT.dataMismatch, `payload ${d.path}`, `signed ${short(d.signed)} but the run log says ${short(d.actual)}`);
    }
  }
  if (factsOk) checked.push('header facts');
  if (scan.size !== p.transcripts.size) fail('transcripts', EXIT.dataMismatch, 'payload $.predicate.transcripts.size', `signed ${p.transcripts.size} transcripts but the run log has ${scan.size}`);
  if (scan.root !== p.transcripts.root) fail('transcripts', EXIT.dataMismatch, 'payload $.predicate.transcripts.root', `transcript Merkle root recomputed from the run log is ${scan.root}, signed ${p.transcripts.root}: some sample record differs`);
  else checked.push('transcript root');

  for (const d of diff(p.counts, scan.counts, ['predicate', 'counts'])) fail('numbers', EXIT.numbersMismatch, `payload ${d.path}`, `signed ${short(d.signed)} but the transcripts give ${short(d.actual)}`);
  let metrics;
  try {
    const stats = await statsForRun(path, { level: p.statistics.level, rule: statsRule(p.statistics.method), ...(p.statistics.groupBy ? { groupBy: p.statistics.groupBy } : {}) });
    // Recomputed by the method the report names: run-stats/v1 reports (signed before issue 18) keep verifying.
    metrics = predicateMetrics(stats, p.statistics.method);
  } catch (err) {
    return fail('numbers', EXIT.numbersMismatch, path, `cannot recompute the statistics: ${(err as Error).message}`);
  }
  const diffs = diff(p.metrics, metrics, ['predicate', 'metrics']);
  for (const d of diffs.slice(0, 20)) fail('numbers', EXIT.numbersMismatch, `payload ${d.path}`, `signed ${short(d.signed)} but recomputed from the transcripts: ${short(d.actual)}`);
  if (diffs.length > 20) fail('numbers', EXIT.numbersMismatch, 'payload $.predicate.metrics', `${diffs.length - 20} more differences`);
  if (!diffs.length) checked.push('counts and metrics');
}

/** Canonical JSON, tolerant of values JSON cannot carry (a damaged log may hold anything). */
const canon = (v: unknown): string => {
  try {
    return canonicalJson(v ?? null);
  } catch {
    return String(v);
  }
};

const short = (v: unknown): string => {
  const s = canon(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

/** Paths where two JSON values differ (canonical comparison at the leaves). */
function diff(signed: unknown, actual: unknown, path: (string | number)[]): { path: string; signed: unknown; actual: unknown }[] {
  const out: { path: string; signed: unknown; actual: unknown }[] = [];
  const walk = (a: unknown, b: unknown, at: (string | number)[]) => {
    if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
      if (Array.isArray(a) && Array.isArray(b)) {
        if (a.length !== b.length) return void out.push({ path: jsonPath([...at, 'length']), signed: a.length, actual: b.length });
        a.forEach((x, i) => walk(x, b[i], [...at, i]));
        return;
      }
      const ao = a as Record<string, unknown>;
      const bo = b as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) walk(ao[k] ?? null, bo[k] ?? null, [...at, k]);
      return;
    }
    if (canon(a) !== canon(b)) out.push({ path: jsonPath(at), signed: a, actual: b });
  };
  walk(signed, actual, path);
  return out;
}

/**
 * One logical line of the summary made safe for a terminal: every control character — line
 * breaks and tabs included — DEL, C1 controls, bidi overrides and U+2028/2029 are shown escaped.
 * Key id hints come from the unauthenticated bundle and names from a payload that may be signed
 * by an untrusted key: neither may add lines (a fake "VERIFIED") or act on the terminal.
 */
export function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => {
    const n = c.charCodeAt(0);
    return n === 0x0a ? '\\n' : n === 0x09 ? '\\t' : n === 0x0d ? '\\r' : n === 0x1b ? '\\e' : n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** A key id hint as shown in messages: at most 80 characters (the bundle can put anything there). */
const hintText = (k: string): string => (k.length > 80 ? `${k.slice(0, 77)}...` : k);

/** One-screen human summary of a verification. */
export function formatVerifyResult(r: VerifyResult): string {
  const lines: string[] = [];
  const st = r.statement;
  if (st) {
    const p = st.predicate;
    if (p.tester.role === 'developer') lines.push(`SELF-REPORTED CLAIM by the developer ${p.tester.name}: the developer ran this itself; not an independent test (audit seed delay D = ${p.tester.seedDelay})`);
    lines.push(`report: ${p.suite.id}@${p.suite.version} on ${p.model.name}${p.model.simulated ? ' (SIMULATED target)' : ''}, run ${p.run.id}, by ${p.tester.name}${p.tester.role === 'developer' ? ' (developer)' : ''}`);
    lines.push(`payload sha256 ${r.payloadSha256}`);
  }
  for (const s of r.signatures) {
    const who = s.keyId ?? `keyid hint "${hintText(s.keyidHint)}"`;
    const how = !s.valid
      ? 'INVALID'
      : !s.trust
        ? 'valid'
        : s.trust.trusted
          ? s.trust.how === 'accredited'
            ? `valid, trusted: accredited by ${s.trust.body} until ${s.trust.notAfter}`
            : `valid, trusted: ${s.trust.how === 'direct' ? 'tester' : s.trust.how === 'developer' ? 'developer' : 'co-signer'} "${s.trust.entry}" in the trust file`
          : `valid, NOT trusted: ${s.trust.reason}`;
    lines.push(`signature ${s.index}${s.role ? ` (${s.role})` : ''}: ${who}: ${how}`);
  }
  for (const a of r.accreditations.rejected) lines.push(`accreditation ignored: ${a.reason}`);
  if (r.runLog) lines.push(`run log ${r.runLog.path}: ${r.runLog.checked.length ? `checked ${r.runLog.checked.join(', ')}` : 'checks failed'}`);
  if (r.tlog)
    lines.push(
      `transparency log ${r.tlog.origin}: entry ${r.tlog.index} of ${r.tlog.size}${r.tlog.witnesses.length ? `, cosigned by ${r.tlog.witnesses.join(', ')}` : ''}${r.tlog.consistentWith.map((c) => `; consistent with ${c.source} (size ${c.size})`).join('')}`,
    );
  for (const d of r.disclosures) if (d.ok) lines.push(`disclosure ${d.source}: sample ${d.key} (leaf ${d.index}) is in the signed transcript tree`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const f of r.failures) lines.push(`FAIL [${f.check}, exit ${f.exit}] ${f.where}: ${f.message}`);
  lines.push(r.ok ? 'VERIFIED' : `NOT VERIFIED (exit ${r.exitCode})`);
  return lines.map(oneLine).join('\n') + '\n';
}
