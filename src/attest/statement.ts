import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import type { RunHeader } from '../run/types.js';
import { statsForRun } from '../stats/from-log.js';
import { ASSAY_VERSION } from '../version.js';
import { digestOfFile, digestOfJson, fromPrefixed, type DigestSet } from './digest.js';
import { jsonPath, parseStrictJson } from './json.js';
import { CURRENT_STATS_METHOD, predicateMetrics, RUN_REPORT_PREDICATE_TYPE, runReportPredicateSchema, TRANSCRIPT_TREE, type RunReportPredicate } from './predicate.js';
import { analyseRunLog } from './transcripts.js';

/** in-toto Statement v1 carrying a run report. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** Subject names, in the order they appear; verifiers find subjects by name. */
export const SUBJECT = { runLog: 'assay/run-log', suite: 'assay/suite', model: 'assay/model' } as const;

export interface Subject {
  name: string;
  digest: DigestSet;
}

export interface RunReportStatement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: typeof RUN_REPORT_PREDICATE_TYPE;
  predicate: RunReportPredicate;
}

export interface BuildOptions {
  tester: { name: string; keyId: string; role?: 'developer'; seedDelay?: number };
  /** Confidence level of every interval (default 0.95). */
  level?: number;
  groupBy?: string;
  /** Digest of the developer's model-release statement, for runs through a gateway. */
  releaseStatement?: DigestSet | null;
  now?: Date;
  /** Fills the predicate's `policy` slot from the finished predicate (policy module: src/policy/report.ts). */
  policy?: (predicate: RunReportPredicate) => RunReportPredicate['policy'];
}

/** Digest naming the model: SHA-256 of the RFC 8785 form of the header's `model` block. */
export const modelIdentityDigest = (header: RunHeader): DigestSet => digestOfJson(header.model);

/**
 * Builds the report statement for a run log: reads the log three times (file digest,
 * transcripts and counts, statistics), each streamed.
 */
export async function buildRunReport(logPath: string, opts: BuildOptions): Promise<RunReportStatement> {
  const logDigest = await digestOfFile(logPath);
  const scan = await analyseRunLog(logPath);
  const h = scan.header;
  const level = opts.level ?? 0.95;
  const stats = await statsForRun(logPath, { level, ...(opts.groupBy ? { groupBy: opts.groupBy } : {}) });
  const suiteDigest = fromPrefixed(h.suite.digest, 'suite.digest');
  const modelDigest = modelIdentityDigest(h);
  const predicate: RunReportPredicate = {
    run: { id: h.runId, status: scan.status, rescoreOf: h.rescoreOf ?? null },
    suite: { id: h.suite.id, version: h.suite.version, title: h.suite.definition.title, riskArea: h.suite.definition.riskArea, digest: suiteDigest, dataDigests: h.suite.dataDigests, ...(h.suite.items !== undefined ? { items: h.suite.items } : {}) },
    model: { ...pickModel(h, scan.simulatedEvent), identityDigest: modelDigest, releaseStatement: opts.releaseStatement ? { digest: opts.releaseStatement } : null },
    accessLevel: h.config.access,
    config: h.config,
    statistics: { method: CURRENT_STATS_METHOD, level, groupBy: opts.groupBy ?? null },
    metrics: predicateMetrics(stats, CURRENT_STATS_METHOD),
    counts: scan.counts,
    transcripts: { ...TRANSCRIPT_TREE, size: scan.size, root: scan.root },
    policy: null,
    tester: opts.tester,
    timestamps: { runStartedAt: h.startedAt, runFinishedAt: scan.finishedAt, attestedAt: (opts.now ?? new Date()).toISOString() },
    assay: { version: ASSAY_VERSION, runLogWrittenBy: h.assayVersion },
  };
  if (opts.policy) predicate.policy = opts.policy(predicate);
  return {
    _type: STATEMENT_TYPE,
    subject: [
      { name: SUBJECT.runLog, digest: logDigest },
      { name: SUBJECT.suite, digest: suiteDigest },
      { name: SUBJECT.model, digest: modelDigest },
    ],
    predicateType: RUN_REPORT_PREDICATE_TYPE,
    predicate,
  };
}

type ModelFields = Pick<RunHeader['model'], 'name' | 'provider' | 'model' | 'baseUrl' | 'simulated'>;
export const modelFields = (m: ModelFields): ModelFields => ({ name: m.name, provider: m.provider, model: m.model, baseUrl: m.baseUrl, simulated: m.simulated });
/** The model as the report states it: simulated if the header says so or the engine detected it mid-run. */
export const pickModel = (h: RunHeader, simulatedEvent = false): ModelFields => modelFields({ ...h.model, simulated: h.model.simulated || simulatedEvent });

/** The payload bytes that get signed: RFC 8785 canonical JSON, UTF-8. */
export const statementBytes = (st: RunReportStatement): Buffer => Buffer.from(canonicalJson(st), 'utf8');

/**
 * Parses and checks a signed payload. Throws AssayError code STATEMENT naming the JSON path of
 * the first problem. Returns the raw parsed object typed (not zod's copy), so comparisons see
 * exactly what was signed.
 */
export function parseStatement(payload: Uint8Array): RunReportStatement {
  let v: unknown;
  try {
    v = parseStrictJson(payload, { file: 'payload' });
  } catch (err) {
    if (err instanceof AssayError) throw new AssayError('STATEMENT', err.message.replace(/^payload(:\d+)?: /, ''), { ...err.location, file: 'payload' });
    throw err;
  }
  const o = v as Record<string, unknown> | null;
  const fail = (path: (string | number)[], problem: string): never => {
    throw new AssayError('STATEMENT', problem, { file: 'payload', field: jsonPath(path) });
  };
  if (!o || typeof o !== 'object' || Array.isArray(o)) return fail([], 'statement must be a JSON object');
  if (o._type !== STATEMENT_TYPE) fail(['_type'], `expected "${STATEMENT_TYPE}", got ${JSON.stringify(o._type)}`);
  if (o.predicateType !== RUN_REPORT_PREDICATE_TYPE) fail(['predicateType'], `expected "${RUN_REPORT_PREDICATE_TYPE}", got ${JSON.stringify(o.predicateType)}`);
  if (!Array.isArray(o.subject) || o.subject.length === 0) fail(['subject'], 'must be a non-empty array');
  const subjects = o.subject as unknown[];
  subjects.forEach((s, i) => {
    const so = s as Record<string, unknown> | null;
    if (!so || typeof so !== 'object' || Array.isArray(so)) fail(['subject', i], 'must be an object');
    const d = so!.digest as Record<string, unknown> | undefined;
    if (!d || typeof d !== 'object' || Array.isArray(d) || Object.keys(d).length === 0) fail(['subject', i, 'digest'], 'every subject must have a digest');
    for (const [alg, hex] of Object.entries(d!)) if (typeof hex !== 'string' || !/^[0-9a-f]+$/.test(hex)) fail(['subject', i, 'digest', alg], 'digest values are lowercase hex');
    if (typeof d!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(d!.sha256)) fail(['subject', i, 'digest', 'sha256'], 'a sha256 digest is required');
  });
  for (const name of Object.values(SUBJECT)) {
    const hits = subjects.filter((s) => (s as { name?: unknown }).name === name);
    if (hits.length !== 1) fail(['subject'], `expected exactly one subject named "${name}", found ${hits.length}`);
  }
  const parsed = runReportPredicateSchema.safeParse(o.predicate);
  if (!parsed.success) {
    const iss = parsed.error.issues[0]!;
    fail(['predicate', ...(iss.path as (string | number)[])], iss.message);
  }
  const st = o as unknown as RunReportStatement;
  const p = st.predicate;
  // The subjects and the predicate name the same suite and model.
  if (subjectDigest(st, SUBJECT.suite).sha256 !== p.suite.digest.sha256) fail(['predicate', 'suite', 'digest'], `differs from subject "${SUBJECT.suite}"`);
  if (subjectDigest(st, SUBJECT.model).sha256 !== p.model.identityDigest.sha256) fail(['predicate', 'model', 'identityDigest'], `differs from subject "${SUBJECT.model}"`);
  if (p.accessLevel !== p.config.access) fail(['predicate', 'accessLevel'], 'differs from config.access');
  return st;
}

export function subjectDigest(st: RunReportStatement, name: string): DigestSet {
  const s = st.subject.find((x) => x.name === name);
  if (!s) throw new AssayError('STATEMENT', `no subject named "${name}"`, { file: 'payload', field: '$.subject' });
  return s.digest;
}
