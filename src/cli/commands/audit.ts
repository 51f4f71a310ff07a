import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic, bundleText } from '../../attest/bundle.js';
import { loadSigner } from '../../attest/keys.js';
import { logReport } from '../../attest/tlog.js';
import { emptyTrust, loadTrustFile, type TrustPolicy } from '../../attest/trust.js';
import { formatVerifyResult } from '../../attest/verify.js';
import { ClaimRejected, planAudit } from '../../audit/plan.js';
import { buildAuditStatement, formatAudit, signAudit } from '../../audit/report.js';
import { runAudit, type AuditRunRecord } from '../../audit/run.js';
import { parseAuditPlan } from '../../audit/schema.js';
import { parseStrictJson } from '../../attest/json.js';
import { AssayError } from '../../common/errors.js';
import { assayHome, runsDir } from '../../home.js';
import { createModel } from '../../model/registry.js';
import { newRunId } from '../../run/engine.js';
import { readRunHeader } from '../../run/log-reader.js';
import { loadSuite } from '../../suite/load.js';
import { collect, int, num } from '../options.js';
import { resolveRunLog } from './run.js';
import { readInput } from '../input.js';

/** Exit codes of `assay audit report`: 0 consistent, 25 inconsistent, 26 inconclusive. */
export const AUDIT_EXIT = { consistent: 0, inconsistent: 25, inconclusive: 26 } as const;

function trustFrom(flag: string | undefined): TrustPolicy {
  if (flag) return loadTrustFile(resolve(flag));
  const dflt = join(assayHome(), 'trust.json');
  return existsSync(dflt) ? loadTrustFile(dflt) : emptyTrust();
}

export function register(program: Command): void {
  const audit = program.command('audit').description("Audit developers' own testing: replication audits of signed claims (docs/formats/audit.md)");

  audit
    .command('plan')
    .description("Verify a developer's claim against its run log and log inclusion, derive the seed from a later witness-cosigned checkpoint, size the sample (TOST) and draw the items to re-run")
    .argument('<claim>', 'the claim: a report signed in the developer role (assay attest --as developer) and logged')
    .requiredOption('--claim-run <log>', "the developer's run log the claim was computed from")
    .requiredOption('--margin <delta>', 'equivalence margin on each metric (0.05 = 5 points)', num(0, 1))
    .option('--checkpoint <file>', 'the seed checkpoint (a signed note cosigned by the witnesses); default: the log\'s current checkpoint')
    .option('--log <dir|url>', 'the transparency log: its current checkpoint and the tiles proving it extends the claim\'s proof')
    .option('--witnesses-required <k>', 'cosignatures required on the seed checkpoint (default: the trust file\'s quorum for the log, at least 1)', int(1))
    .option('--alpha <a>', 'level of each one-sided test', num(0, 0.5), 0.05)
    .option('--power <p>', 'power to show equivalence when the claim is faithful', num(0, 1), 0.8)
    .option('--discordance <q>', 'share of items two honest runs are expected to disagree on (binary metrics; measure it with assay compare on two of your own runs)', num(0, 1), 0.05)
    .option('--correlation <rho>', 'per-item correlation of claim and replication (non-binary metrics)', num(-1, 1), 0.9)
    .option('--trust <file>', 'trust file: the developer key (as developer), the log and its witnesses (default $ASSAY_HOME/trust.json)')
    .option('--out <file>', 'plan file', 'audit-plan.json')
    .option('--json', 'print the plan as JSON')
    .action(async (claimFile: string, f: { claimRun: string; margin: number; checkpoint?: string; log?: string; witnessesRequired?: number; alpha: number; power: number; discordance: number; correlation: number; trust?: string; out: string; json?: boolean }) => {
      let plan;
      try {
        plan = await planAudit({
          claim: { bytes: readInput(claimFile, 'claim'), source: claimFile },
          claimRunLog: await resolveRunLog(f.claimRun),
          trust: trustFrom(f.trust),
          ...(f.checkpoint ? { checkpoint: { text: readInput(f.checkpoint, 'seed checkpoint').toString('utf8'), source: f.checkpoint } } : {}),
          ...(f.log ? { log: f.log } : {}),
          ...(f.witnessesRequired !== undefined ? { witnessesRequired: f.witnessesRequired } : {}),
          margin: f.margin,
          alpha: f.alpha,
          power: f.power,
          discordance: f.discordance,
          correlation: f.correlation,
        });
      } catch (e) {
        if (e instanceof ClaimRejected) {
          process.stderr.write(formatVerifyResult(e.result) + `assay: ${e.message}\n`);
          process.exitCode = e.result.exitCode || 14;
          return;
        }
        throw e;
      }
      writeFileAtomic(resolve(f.out), JSON.stringify(plan, null, 2) + '\n');
      if (f.json) return void process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
      const d = plan.design;
      process.stdout.write(
        [
          `claim ${plan.claim.report.sha256} by ${plan.claim.developer.name} (SELF-REPORTED): ${plan.claim.suite.id}@${plan.claim.suite.version}, ${plan.claim.items} items; entry ${plan.claim.log.index} of ${plan.claim.log.origin}, D = ${plan.claim.seedDelay}`,
          `seed ${plan.seed.value} from checkpoint size ${plan.seed.size} cosigned by ${plan.seed.witnesses.join(', ')} (${plan.seed.construction})`,
          ...d.metrics.map((m) => `  ${m.name}: ${m.binary ? 'binary' : 'real'}, claim mean ${m.claimMean ?? 'n/a'}, items needed ${m.n ?? 'n/a'}${m.binary ? ` (normal formula ${m.normalN}, all-agree floor ${m.floor})` : ''}`),
          `sample: ${d.sampleSize} items (margin ±${d.margin}, α = ${d.alpha} per side, power ${d.power}${d.shortfall ? `; SHORTFALL: the design needs ${d.needed} but the claim has ${plan.claim.items}: all are re-run, the audit may be inconclusive` : ''})`,
          `plan written to ${resolve(f.out)}`,
          '',
        ].join('\n'),
      );
    });

  audit
    .command('run')
    .description('Re-run the planned items against the same model release (through the developer\'s gateway): the claim\'s settings, only those items')
    .argument('<plan>', 'plan file from assay audit plan')
    .requiredOption('--claim-run <log>', "the developer's run log (its header gives the generation settings)")
    .requiredOption('--suite <file>', 'the suite (its digest must be the claim\'s)')
    .requiredOption('--model <provider/model>', 'the model, as the gateway serves it')
    .option('--base-url <url>', 'the gateway (or endpoint) base URL')
    .option('--api-key <key>', 'API key (default: the provider\'s environment variable; a gateway grant access key)')
    .option('-c, --max-connections <n>', 'concurrent requests', int(1), 8)
    .option('--simulated', 'the endpoint is Assay\'s simulated target (recorded in the run log)')
    .option('--out <file>', 'replication run log (default: $ASSAY_HOME/runs/<run-id>.jsonl)')
    .action(async (planFile: string, f: { claimRun: string; suite: string; model: string; baseUrl?: string; apiKey?: string; maxConnections: number; simulated?: boolean; out?: string }) => {
      const plan = parseAuditPlan(readInput(planFile, 'plan'), planFile);
      const claimHeader = await readRunHeader(await resolveRunLog(f.claimRun));
      const suite = await loadSuite(f.suite);
      const model = createModel(f.model, { ...(f.baseUrl ? { baseUrl: f.baseUrl } : {}), ...(f.apiKey ? { apiKey: f.apiKey } : {}), maxConnections: f.maxConnections });
      const logPath = resolve(f.out ?? join(runsDir(), `${newRunId()}.jsonl`));
      mkdirSync(dirname(logPath), { recursive: true });
      const r = await runAudit({
        plan, claimHeader, suite, model, logPath, simulated: !!f.simulated, config: { maxConnections: f.maxConnections },
        onStart: ({ runId, logPath: lp }) => void process.stderr.write(`assay: audit run ${runId} of ${plan.items.length} items\n  log ${lp}\n`),
      });
      process.stdout.write(`replication run ${r.run.runId}: ${r.run.status}\n  log ${r.run.logPath}\n  record ${r.recordFile} (release stamps: ${Object.entries(r.record.releases).map(([k, v]) => `${k} × ${v}`).join(', ')}${r.record.expectedRelease ? `; claim's release ${r.record.expectedRelease}: matches` : '; the claim names no release'})\n`);
      if (r.run.status !== 'completed') process.exitCode = 3;
    });

  audit
    .command('report')
    .description('Compare claim and replication item by item (agreement, TOST per metric, differing items); sign the conclusion as the auditor and log it')
    .argument('<plan>', 'plan file')
    .requiredOption('--claim-run <log>', "the developer's run log")
    .requiredOption('--run <log>', 'the replication run log (assay audit run)')
    .option('--run-record <file>', 'the audit run record (default: <run log>.audit-run.json when present)')
    .option('--key <key>', "the auditor's signing key (a tester key; default: the only key)")
    .option('--auditor <name>', 'auditor name (default: the key name)')
    .option('--out <file>', 'audit report file', 'audit.json')
    .option('--log <dir|url>', 'append the audit to this transparency log')
    .option('--log-token-file <file>', 'bearer token for a remote log (default: $ASSAY_LOG_TOKEN)')
    .option('--log-vkey <vkey>', "the log's verifier key; required for a URL")
    .option('--witness-url <url>', 'with --log: a witness to cosign the checkpoint (repeatable)', collect)
    .option('--json', 'print the signed predicate as JSON')
    .addHelpText('after', '\nExit codes: 0 consistent, 25 inconsistent, 26 inconclusive (docs/formats/audit.md).')
    .action(async (planFile: string, f: { claimRun: string; run: string; runRecord?: string; key?: string; auditor?: string; out: string; log?: string; logTokenFile?: string; logVkey?: string; witnessUrl?: string[]; json?: boolean }) => {
      const plan = parseAuditPlan(readInput(planFile, 'plan'), planFile);
      const replicationLog = await resolveRunLog(f.run);
      const recFile = f.runRecord ?? `${replicationLog}.audit-run.json`;
      const record = existsSync(recFile) ? (parseStrictJson(readInput(recFile, 'audit run record'), { file: recFile }) as unknown as AuditRunRecord) : null;
      if (record && record.plan?.seed !== plan.seed.value) throw new AssayError('PLAN_MISMATCH', `the audit run record is for another plan (seed ${record.plan?.seed})`, { file: recFile });
      const signer = loadSigner(f.key);
      const st = await buildAuditStatement({ plan, claimRunLog: await resolveRunLog(f.claimRun), replicationLog, runRecord: record, auditor: { name: f.auditor ?? signer.name, keyId: signer.keyId } });
      let bundle = signAudit(st, signer);
      let logged = '';
      if (f.log) {
        const token = f.logTokenFile ? readInput(f.logTokenFile, 'log token').toString('utf8').trim() : process.env.ASSAY_LOG_TOKEN;
        const r = await logReport(bundle, { target: f.log, ...(f.logVkey ? { vkey: f.logVkey } : {}), ...(token ? { token } : {}), ...(f.witnessUrl?.length ? { witnesses: { urls: f.witnessUrl, required: f.witnessUrl.length } } : {}) });
        bundle = r.bundle;
        logged = `logged as entry ${r.index} of ${r.checkpoint.origin}\n`;
      }
      writeFileAtomic(resolve(f.out), bundleText(bundle));
      process.stdout.write(f.json ? JSON.stringify(st.predicate, null, 2) + '\n' : formatAudit(st.predicate) + `signed audit ${resolve(f.out)} (auditor ${signer.keyId})\n${logged}`);
      process.exitCode = AUDIT_EXIT[st.predicate.conclusion];
    });

  audit
    .command('contamination')
    .description('Does the model do better on the public (practice) split than on the held-out split, beyond chance? (docs/methodology/replication-audits.md)')
    .argument('<public-run>', 'run log of the public split')
    .argument('<held-out-run>', 'run log of the held-out split')
    .option('--metric <name>', 'metric to compare (default: the first)')
    .option('--by <field>', 'stratify by this sample field (e.g. difficulty; default: the suite\'s held-out pairing field when declared)')
    .option('--alpha <a>', 'one-sided significance level', num(0, 0.5), 0.05)
    .option('--json', 'machine-readable result')
    .action(async (pub: string, held: string, f: { metric?: string; by?: string; alpha: number; json?: boolean }) => {
      const { contaminationTest, formatContamination } = await import('../../audit/contamination.js');
      const r = await contaminationTest(await resolveRunLog(pub), await resolveRunLog(held), { ...(f.metric ? { metric: f.metric } : {}), ...(f.by ? { by: f.by } : {}), alpha: f.alpha });
      process.stdout.write(f.json ? JSON.stringify(r, null, 2) + '\n' : formatContamination(r));
      process.exitCode = r.flagged ? 27 : 0;
    });
}
