import { writeFileSync } from 'node:fs';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import type { ModelAdapter } from '../model/types.js';
import { runSuite, type RunResult } from '../run/engine.js';
import { iterateRunLog } from '../run/log-reader.js';
import type { RunConfig, RunHeader } from '../run/types.js';
import type { LoadedSuite } from '../suite/types.js';
import type { AuditPlan } from './plan.js';

/**
 * `assay audit run`: re-runs the plan's items against the same model release. The run is an
 * ordinary run log (config.sampleIds = the plan's items, the claim's generation settings); beside it
 * `<log>.audit-run.json` records the plan and the model-release stamps the endpoint returned.
 */
export const AUDIT_RUN_SCHEMA = 'assay.audit-run/v1';

export interface AuditRunRecord {
  schema: typeof AUDIT_RUN_SCHEMA;
  plan: { claimReport: string; seed: string; items: number };
  runId: string;
  /** Model-release stamps seen (x-assay-model-release), with how many answers carried each; "(none)" for answers without one. */
  releases: Record<string, number>;
  /** The release the claim names (null: the claim names none). */
  expectedRelease: string | null;
  releaseMatches: boolean;
}

/** Wraps an adapter to count the model-release stamps of its answers. */
export function stampCounter(model: ModelAdapter): { model: ModelAdapter; releases: Map<string, number> } {
  const releases = new Map<string, number>();
  const wrapped: ModelAdapter = {
    name: model.name,
    provider: model.provider,
    model: model.model,
    baseUrl: model.baseUrl,
    supportsLogprobs: model.supportsLogprobs,
    async generate(req, opts) {
      const r = await model.generate(req, opts);
      const k = r.modelRelease ?? '(none)';
      releases.set(k, (releases.get(k) ?? 0) + 1);
      return r;
    },
    close: () => model.close(),
  };
  return { model: wrapped, releases };
}

/** The claim's generation settings, restricted to the plan's items. */
export function auditConfig(claimHeader: RunHeader, plan: AuditPlan, over: Partial<RunConfig> = {}): RunConfig {
  const c = claimHeader.config;
  return { ...c, limit: null, sampleIds: [...plan.items], ...over };
}

export async function runAudit(o: { plan: AuditPlan; claimHeader: RunHeader; suite: LoadedSuite; model: ModelAdapter; logPath: string; simulated?: boolean; config?: Partial<RunConfig>; onStart?: Parameters<typeof runSuite>[0]['onStart'] }): Promise<{ run: RunResult; record: AuditRunRecord; recordFile: string }> {
  if (o.suite.digest !== o.plan.claim.suite.digest)
    throw new AssayError('SUITE_MISMATCH', `the suite given is ${o.suite.def.id}@${o.suite.def.version} (${o.suite.digest}); the claim was run on ${o.plan.claim.suite.id}@${o.plan.claim.suite.version} (${o.plan.claim.suite.digest})`, { file: o.suite.file });
  if (o.claimHeader.suite.digest !== o.plan.claim.suite.digest) throw new AssayError('PLAN_MISMATCH', 'the claim run log given is not the one the plan was made from', { field: 'suite.digest' });
  const counter = stampCounter(o.model);
  const run = await runSuite({ suite: o.suite, model: counter.model, config: auditConfig(o.claimHeader, o.plan, o.config), logPath: o.logPath, simulated: o.simulated ?? false, ...(o.onStart ? { onStart: o.onStart } : {}) });
  const releases = Object.fromEntries([...counter.releases].sort());
  const expected = o.plan.claim.model.releaseStatement;
  const seen = Object.keys(releases);
  const releaseMatches = expected === null ? true : seen.length === 1 && seen[0] === expected;
  const record: AuditRunRecord = { schema: AUDIT_RUN_SCHEMA, plan: { claimReport: o.plan.claim.report.sha256, seed: o.plan.seed.value, items: o.plan.items.length }, runId: run.runId, releases, expectedRelease: expected, releaseMatches };
  const recordFile = `${o.logPath}.audit-run.json`;
  writeFileSync(recordFile, canonicalJson(record) + '\n');
  if (!releaseMatches)
    throw new AssayError(
      'RELEASE_MISMATCH',
      `the claim names model release ${expected}, but the answers carried ${seen.map((s) => `${s} (${releases[s]})`).join(', ') || 'no stamp'}: the replication is not of the same release (run it through the developer's gateway under a grant)`,
      { file: recordFile },
    );
  return { run, record, recordFile };
}

/** Sample outputs of a run log by sample id (first epoch), for listing differing items. */
export async function outputsById(logPath: string, ids: ReadonlySet<string>): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for await (const rec of iterateRunLog(logPath)) if (rec.type === 'sample' && ids.has(rec.sampleId) && !out.has(rec.sampleId)) out.set(rec.sampleId, rec.output?.content ?? null);
  return out;
}
