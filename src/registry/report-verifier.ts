import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { exportPublicJwk, publicKeyFromJwk, type PublicJwk } from '../attest/keys.js';
import type { KeyEntry, TrustPolicy } from '../attest/trust.js';
import { verifyReport, type VerifyResult } from '../attest/verify.js';

/**
 * Report verification as the registry needs it: exactly `assay verify` (signature, trust, tlog
 * inclusion, recomputation from the run log), behind an interface so the server can run it on a
 * pool of worker threads. Everything crossing the interface is plain data (keys as JWKs).
 */
export type VerifyOutcome = Pick<VerifyResult, 'ok' | 'exitCode' | 'failures' | 'warnings' | 'payloadSha256' | 'checkedAt' | 'tlog'>;

/** A trust policy with its keys as JWKs: what a worker thread can receive. */
export interface PortableTrust extends Omit<TrustPolicy, 'testers' | 'cosigners' | 'bodies'> {
  testers: PortableKeyEntry[];
  cosigners: PortableKeyEntry[];
  bodies: PortableKeyEntry[];
}
type PortableKeyEntry = Omit<KeyEntry, 'publicKey'> & { publicKey: PublicJwk };

export interface VerifyJob {
  bundle: string;
  trust: PortableTrust;
  /** The verification time (ISO 8601): the registry's clock, not the worker's. */
  now: string;
  runLog?: Uint8Array;
}

export interface ReportVerifier {
  verify(job: VerifyJob): Promise<VerifyOutcome>;
  close(): Promise<void>;
}

export function portableTrust(t: TrustPolicy): PortableTrust {
  const conv = (e: KeyEntry): PortableKeyEntry => ({ ...e, publicKey: exportPublicJwk(e.publicKey) });
  return { ...t, testers: t.testers.map(conv), cosigners: t.cosigners.map(conv), bodies: t.bodies.map(conv) };
}

// Parsed keys by their x coordinate: the same few registered keys come back on every upload.
const keyCache = new Map<string, KeyObject>();
function keyOf(jwk: PublicJwk): KeyObject {
  let k = keyCache.get(jwk.x);
  if (!k) {
    k = publicKeyFromJwk(jwk);
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(jwk.x, k);
  }
  return k;
}

export function liveTrust(t: PortableTrust): TrustPolicy {
  const conv = (e: PortableKeyEntry): KeyEntry => ({ ...e, publicKey: keyOf(e.publicKey) });
  return { ...t, testers: t.testers.map(conv), cosigners: t.cosigners.map(conv), bodies: t.bodies.map(conv) };
}

// One private directory per thread for run logs in flight (made once: creating and removing a
// directory per upload cost more than the file itself).
let spool: string | null = null;
let seq = 0;

/** One verification, in this thread. The run log goes to a private temporary file (the verifier reads a path). */
export async function verifyJob(job: VerifyJob): Promise<VerifyOutcome> {
  let runLogPath: string | undefined;
  try {
    if (job.runLog) {
      if (!spool || !existsSync(spool)) spool = mkdtempSync(join(tmpdir(), 'assay-registry-'));
      runLogPath = join(spool, `run-${process.pid}-${++seq}.jsonl`);
      writeFileSync(runLogPath, job.runLog, { mode: 0o600, flag: 'wx' });
    }
    const r = await verifyReport(job.bundle, { trust: liveTrust(job.trust), source: 'report', now: new Date(job.now), ...(runLogPath ? { runLogPath } : {}) });
    return { ok: r.ok, exitCode: r.exitCode, failures: r.failures, warnings: r.warnings, payloadSha256: r.payloadSha256, checkedAt: r.checkedAt, tlog: r.tlog };
  } finally {
    if (runLogPath) rmSync(runLogPath, { force: true });
  }
}

/** Verification on the calling thread (tests, the CLI's embedded uses). */
export const inProcessVerifier = (): ReportVerifier => ({ verify: verifyJob, close: async () => {} });
