import { existsSync, readFileSync, statSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import semver from 'semver';
import { decodeBase64Strict, parseEnvelope } from '../../attest/dsse.js';
import { bundleText, writeFileAtomic } from '../../attest/bundle.js';
import { loadSigner } from '../../attest/keys.js';
import { logReport } from '../../attest/tlog.js';
import { defaultSeenFile } from '../../tlog/seen.js';
import { buildVerdictStatement, pairTamperFiles, signVerdict, verifyTamperInputs, type VerifiedInput, type VerifiedTamper } from '../../policy/signed-verdict.js';
import { parseStatement } from '../../attest/statement.js';
import { emptyTrust, loadTrustFile, type TrustPolicy } from '../../attest/trust.js';
import { formatVerifyResult, verifyReport } from '../../attest/verify.js';
import { AssayError, problemOf } from '../../common/errors.js';
import { assayHome, runsDir } from '../../home.js';
import { ACCESS_LEVELS } from '../../model/types.js';
import { createModel } from '../../model/registry.js';
import { newRunId } from '../../run/engine.js';
import { readRunHeader } from '../../run/log-reader.js';
import type { RunConfig } from '../../run/types.js';
import { findSuites, loadSuite } from '../../suite/load.js';
import { ASSAY_ROOT } from '../../version.js';
import { assertElicitable, ELICITATION_SUFFIX, elicitationSuite, linesOf, runElicitation } from '../../policy/elicit.js';
import { evaluatePolicy, VERDICT_EXIT, type RunEvidence, type Verdict } from '../../policy/evaluate.js';
import { evidenceFromPredicate, evidenceFromRunLog, withAccessRecords, type Provenance } from '../../policy/evidence.js';
import { parseOpening, type Opening } from '../../gateway/commit.js';
import { grantAccess } from '../../policy/grant-evidence.js';
import { keyIdOf, parsePublicKey } from '../../attest/keys.js';
import type { KeyObject } from 'node:crypto';
import { describeAction, formatPlan, formatVerdict } from '../../policy/format.js';
import { loadModelFacts, loadPolicy, parsePolicyYaml, type LoadedPolicy } from '../../policy/load.js';
import { isMap, isScalar, parseDocument } from 'yaml';
import { stage2Plan } from '../../policy/plan.js';
import type { Policy } from '../../policy/schema.js';
import { collect, int, num, price } from '../options.js';
import { summarise } from '../results.js';
import { executeRun, indexRun, interruptSignal, resolveRunLog, table, type RunFlags } from './run.js';
import { readInputText } from '../input.js';

const EXIT_HELP =
  '\nExit codes: 0 below threshold / cleared by the screen, 20 threshold crossed, 21 cannot rule out / escalate to stage 2,\n22 insufficient evidence (never a pass), 23 not in scope (the policy does not apply; not a pass), 2 usage or invalid input.\nFormat and rules: docs/formats/policy.md';

// ---------------------------------------------------------------------------------------------
// Suites a policy names: where they are, whether they fit

interface SuiteEntry {
  id: string;
  version: string;
  digest: string;
  file: string;
  metrics: string[];
}

/** Suites found under the given folders (default: ./suites and Assay's own suites), by id. */
async function suiteCatalog(dirs: string[] | undefined): Promise<{ suites: Map<string, SuiteEntry>; broken: { file: string; problem: string }[]; ambiguous: Map<string, string[]> }> {
  const ambiguous = new Map<string, string[]>();
  const roots = [...new Set((dirs?.length ? dirs : [join(process.cwd(), 'suites'), join(ASSAY_ROOT, 'suites')]).map((d) => resolve(d)))];
  const suites = new Map<string, SuiteEntry>();
  const broken: { file: string; problem: string }[] = [];
  for (const root of roots)
    for (const file of await findSuites(root)) {
      try {
        const s = await loadSuite(file);
        const prev = suites.get(s.def.id);
        // The same id@version with other content is ambiguous: resolving that id is an error (ambiguousSuite).
        if (prev && prev.version === s.def.version && prev.digest !== s.digest) (ambiguous.get(s.def.id) ?? ambiguous.set(s.def.id, [prev.file]).get(s.def.id)!).push(file);
        if (!prev) suites.set(s.def.id, { id: s.def.id, version: s.def.version, digest: s.digest, file, metrics: s.def.metrics.map((m) => m.name) });
      } catch (e) {
        broken.push({ file, problem: problemOf(e) });
      }
    }
  return { suites, broken, ambiguous };
}

/** Refuses a suite id found twice with the same version and different content (files named). */
function refuseAmbiguous(cat: { ambiguous: Map<string, string[]> }, ids: string[]): void {
  for (const id of ids) {
    const files = cat.ambiguous.get(id);
    if (files) throw new AssayError('SUITE_AMBIGUOUS', `suite id "${id}" names different suites with the same version (different digests): ${files.join(', ')}; give the suite file instead, or fix the version`, { field: 'suite' });
  }
}

interface SuiteCheck {
  rule: string;
  suite: string;
  status: 'available' | 'derived' | 'not-available' | 'mismatch';
  detail: string;
}

/** The digest a rule's suite has here: the suite's own, or for "<id>.elicitation" the derived session suite's. */
async function currentDigest(id: string, suites: Map<string, SuiteEntry>): Promise<string | null> {
  const s = suites.get(id);
  if (s) return s.digest;
  const base = id.endsWith(ELICITATION_SUFFIX) ? suites.get(id.slice(0, -ELICITATION_SUFFIX.length)) : undefined;
  return base ? elicitationSuite(await loadSuite(base.file)).digest : null;
}

/** Whether each rule's suite exists here, in an accepted version and digest, with the metric. */
async function checkSuites(p: Policy, suites: Map<string, SuiteEntry>): Promise<SuiteCheck[]> {
  return Promise.all(p.rules.map(async (r): Promise<SuiteCheck> => {
    const id = r.suite.id;
    const base = id.endsWith(ELICITATION_SUFFIX) ? suites.get(id.slice(0, -ELICITATION_SUFFIX.length)) : undefined;
    const s = suites.get(id);
    if (!s && base) {
      const ok = ['expert_success', 'expert_rating'].includes(r.metric);
      const d = await currentDigest(id, suites);
      if (ok && r.suite.digests && d && !r.suite.digests.includes(d)) return { rule: r.id, suite: id, status: 'mismatch', detail: `derived session suite digest ${d} not accepted (re-pin: assay policy pin)` };
      return { rule: r.id, suite: id, status: ok ? 'derived' : 'mismatch', detail: ok ? `produced by assay elicit --suite ${base.file}${d ? ` (${d})` : ''}` : `an elicitation log has metrics expert_success, expert_rating; not "${r.metric}"` };
    }
    if (!s) return { rule: r.id, suite: id, status: 'not-available', detail: 'suite not available here: no suite with this id under the searched folders (rules on it will have no evidence)' };
    const problems: string[] = [];
    if (r.suite.version && !semver.satisfies(s.version, r.suite.version)) problems.push(`version ${s.version} outside ${r.suite.version}`);
    if (r.suite.digests && !r.suite.digests.includes(s.digest)) problems.push(`digest ${s.digest} not accepted`);
    if (!s.metrics.includes(r.metric)) problems.push(`no metric "${r.metric}" (has: ${s.metrics.join(', ')})`);
    return problems.length ? { rule: r.id, suite: id, status: 'mismatch', detail: `${s.file}: ${problems.join('; ')}` } : { rule: r.id, suite: id, status: 'available', detail: `${s.file} (${s.version}, ${s.digest})` };
  }));
}

/** Warnings that do not make a policy invalid but weaken what its verdicts can show. */
function policyWarnings(p: Policy): string[] {
  const out: string[] = [];
  for (const r of p.rules) {
    if (!r.suite.digests) out.push(`${r.id}: suite ${r.suite.id} is not pinned (no suite.digests): its runs cannot rule the capability out (assay policy pin)`);
    if (r.stage === 'automated' && !r.screen) out.push(`${r.id}: no screen: screened at the rule's own settings, with no margin against false negatives`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Evidence from runs and reports

function trustFrom(flag: string | undefined): TrustPolicy {
  if (flag) return loadTrustFile(resolve(flag));
  const dflt = join(assayHome(), 'trust.json');
  return existsSync(dflt) ? loadTrustFile(dflt) : emptyTrust();
}

export interface GrantEvidence {
  tokens: string[];
  /** --grant-key: only grants from this gateway key (which must also be a trusted co-signer). */
  onlyKey: string | null;
}

/**
 * The access a verified gateway grant gave for a run: the grant's signature by a gateway key the
 * trust file lists as a co-signer, its validity at the time the run started, and the run's model
 * among the grant's models. null when no grant covers the run.
 */
async function grantFor(grants: GrantEvidence | null, trust: TrustPolicy, model: string, startedAt: string | null, warn: (s: string) => void): Promise<Provenance['grant']> {
  if (!grants?.tokens.length) return null;
  return grantAccess(grants.tokens, trust, model, startedAt, warn, grants.onlyKey);
}

/** Runs as evidence; reports (verified against the trust file) mark their runs signed and, when logged, logged. */
async function gatherEvidence(runRefs: string[], reportFiles: string[], trustFile: string | undefined, warn: (s: string) => void, grants: GrantEvidence | null = null, groupBy: string[] = []): Promise<RunEvidence[]> {
  return (await gatherEvidenceAndReports(runRefs, reportFiles, trustFile, warn, grants, groupBy)).evidence;
}

/** As gatherEvidence, with the verified reports themselves (what a signed verdict cites). */
async function gatherEvidenceAndReports(runRefs: string[], reportFiles: string[], trustFile: string | undefined, warn: (s: string) => void, grants: GrantEvidence | null = null, groupBy: string[] = [], access: AccessRecordFiles | null = null): Promise<{ evidence: RunEvidence[]; inputs: VerifiedInput[] }> {
  const inputs: VerifiedInput[] = [];
  const logs = await Promise.all(runRefs.map((r) => resolveRunLog(r)));
  const byRunId = new Map<string, string>();
  for (const l of logs) byRunId.set((await readRunHeader(l)).runId, l);
  const prov = new Map<string, Provenance>();
  const fromReports: RunEvidence[] = [];
  const trust = reportFiles.length || grants?.tokens.length ? trustFrom(trustFile) : emptyTrust();
  for (const file of reportFiles) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new AssayError('IO', `cannot read report: ${(e as Error).message}`, { file });
    }
    // Which run the report is about (read unverified, only to pair it with its log).
    let runId: string;
    try {
      runId = parseStatement(decodeBase64Strict(parseEnvelope(bytes, file).payload, 'payload')).predicate.run.id;
    } catch (e) {
      warn(`${file}: not a readable report (${problemOf(e)}); ignored`);
      continue;
    }
    const log = byRunId.get(runId);
    const r = await verifyReport(bytes, { trust, ...(log ? { runLogPath: log } : {}), source: file });
    if (!r.ok || !r.statement) {
      warn(`${file}: report did not verify (exit ${r.exitCode}); its run counts as unsigned\n${formatVerifyResult(r).replace(/^/gm, '    ')}`);
      continue;
    }
    const pr = r.statement.predicate;
    inputs.push({ predicate: pr, payloadSha256: r.payloadSha256!, logged: r.tlog !== null && !r.failures.length });
    const p: Provenance = {
      signed: true,
      logged: r.tlog !== null && !r.failures.length,
      release: pr.model.releaseStatement ? `sha256:${pr.model.releaseStatement.digest.sha256}` : null,
      grant: await grantFor(grants, trust, pr.model.model, pr.timestamps.runStartedAt, warn),
    };
    if (log) prov.set(runId, p);
    else fromReports.push(evidenceFromPredicate(pr, p));
  }
  const fromLogs = await Promise.all(logs.map(async (l) => {
    const h = await readRunHeader(l);
    const p = prov.get(h.runId) ?? { signed: false, logged: false, grant: await grantFor(grants, trust, h.model.model, h.startedAt, warn) };
    const ev = await evidenceFromRunLog(l, p, groupBy);
    // v4: a grant-backed stage-2 session is checked against the gateway's access records.
    return access ? withAccessRecords(ev, l, { tokens: grants?.tokens ?? [], trust, gatewayLog: access.gatewayLog, openings: access.openings, warn }) : ev;
  }));
  return { evidence: [...fromLogs, ...fromReports], inputs };
}

/**
 * The policy text with rules[i].suite.digests set to [digest]: a surgical text edit at the YAML
 * node's position, so comments, folding and number spelling stay as written; re-validated.
 */
async function repinText(text: string, pins: Record<number, string>, file: string): Promise<string> {
  const doc = parseDocument(text);
  const edits: { at: number; end: number; text: string }[] = [];
  for (const [i, d] of Object.entries(pins)) {
    const suite = doc.getIn(['rules', Number(i), 'suite'], true);
    if (!isMap(suite) || !suite.range) throw new AssayError('POLICY_INVALID', `rules[${i}].suite is not a mapping`, { file });
    const digests = suite.items.find((p) => isScalar(p.key) && p.key.value === 'digests');
    const list = `[${d}]`;
    if (digests && (digests.value as { range?: [number, number, number] } | null)?.range) {
      const [a, b] = (digests.value as { range: [number, number, number] }).range;
      edits.push({ at: a, end: b, text: list });
    } else if (suite.flow) {
      const close = text.lastIndexOf('}', suite.range[1]);
      let k = close;
      while (k > 0 && /\s/.test(text[k - 1]!)) k--;
      edits.push({ at: k, end: k, text: `, digests: ${list}` });
    } else {
      const last = suite.items[suite.items.length - 1]!;
      const keyStart = (last.key as { range: [number, number, number] }).range[0];
      const indent = keyStart - text.lastIndexOf('\n', keyStart - 1) - 1;
      const end = (last.value as { range: [number, number, number] }).range[1];
      const eol = text.indexOf('\n', end);
      const at = eol < 0 ? text.length : eol;
      edits.push({ at, end: at, text: `\n${' '.repeat(indent)}digests: ${list}` });
    }
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  parsePolicyYaml(out, file); // never write a policy that no longer validates
  return out;
}

/** The tamper log of a --tamper-log argument: the file, or tamper.jsonl in the folder. */
function tamperLogFile(arg: string): string {
  const p = existsSync(arg) && statSync(arg).isDirectory() ? join(arg, 'tamper.jsonl') : arg;
  if (!existsSync(p)) throw new AssayError('IO', 'no tamper log here', { file: p });
  return p;
}

/** Signed tamper reports paired with their logs and verified (trusted key, recomputed, tlog proof): evidence for tamper rules. */
async function gatherTamper(signed: string[], logs: string[], trustFile: string | undefined, warn: (s: string) => void): Promise<VerifiedTamper[]> {
  if (!signed.length) {
    if (logs.length) throw new AssayError('USAGE', '--tamper-log needs the signed report it backs (--tamper <signed>)');
    return [];
  }
  const { given, unpaired } = pairTamperFiles(
    signed.map((s) => ({ bytes: readFileSync(s), source: s })),
    logs.map((l) => ({ bytes: readFileSync(tamperLogFile(l)), source: l })),
  );
  for (const u of unpaired) warn(`${u}: no --tamper-log given is the tamper log it signs; ignored (its tamper rules stay insufficient evidence)`);
  const r = await verifyTamperInputs(given, trustFrom(trustFile), { seenFile: defaultSeenFile() });
  for (const p of r.problems) warn(`${p.source}: signed tamper report did not verify (exit ${p.exit}): ${p.message}; ignored`);
  return r.ok;
}

/** The fields sub-domain rules group by. */
const groupFields = (p: Policy): string[] => [...new Set(p.rules.flatMap((r) => (r.group ? [r.group.by] : [])))];

/** `--gateway-log` and `--opening`: the gateway's access log and the tester's openings of it. */
interface AccessRecordFiles {
  gatewayLog: { text: string; file: string } | null;
  openings: Opening[];
}

function readAccessRecords(logFile: string | undefined, openingFiles: string[] | undefined): AccessRecordFiles | null {
  if (!logFile) {
    if (openingFiles?.length) throw new AssayError('USAGE', '--opening needs --gateway-log (the log export or proofs bundle the openings are of)');
    return null;
  }
  return { gatewayLog: { text: readInputText(logFile, 'gateway log'), file: logFile }, openings: (openingFiles ?? []).map((f) => parseOpening(readInputText(f, 'opening'), f)) };
}

function readGrants(files: string[] | undefined, keyFile: string | undefined): GrantEvidence | null {
  if (!files?.length) {
    if (keyFile) throw new AssayError('USAGE', '--grant-key without --grant');
    return null;
  }
  const onlyKey = keyFile ? keyIdOf(parsePublicKey(readInputText(keyFile, 'gateway key'), { file: keyFile })) : null;
  return { tokens: files.map((file) => readInputText(file, 'grant').trim()), onlyKey };
}

function evaluationDate(at: string | undefined): string {
  if (at === undefined) return new Date().toISOString();
  const t = Date.parse(at);
  if (!Number.isFinite(t)) throw new AssayError('USAGE', `--at: "${at}" is not a date (ISO 8601, e.g. 2026-01-31)`, { field: 'at' });
  return new Date(t).toISOString();
}

function policySummary(lp: LoadedPolicy): string {
  const p = lp.policy;
  const out: string[] = [];
  out.push(`policy ${p.id}@${p.version}: ${p.title}`);
  out.push(`digest ${lp.digest}`);
  if (p.example) out.push(`ILLUSTRATIVE EXAMPLE: ${p.disclaimer}`);
  for (const m of p.maps_to) out.push(`maps to ${m.framework}${m.version ? ` ${m.version}` : ''}: ${m.reference} (informational)`);
  const sc = p.scope;
  const scopeParts = [
    sc.training_compute_flop ? `training compute ${sc.training_compute_flop.min !== undefined ? `≥ ${sc.training_compute_flop.min.toExponential()}` : ''}${sc.training_compute_flop.max !== undefined ? ` < ${sc.training_compute_flop.max.toExponential()}` : ''} FLOP` : '',
    sc.modalities ? `modalities ${sc.modalities.join('|')}` : '',
    sc.deployment ? `deployment ${sc.deployment.join('|')}` : '',
  ].filter(Boolean);
  out.push(`scope: ${scopeParts.length ? scopeParts.join('; ') : 'every model'}`);
  if (p.triggers) out.push(`triggers: ${[p.triggers.compute_ratio ? `${p.triggers.compute_ratio}× effective compute` : '', p.triggers.fine_tuning_months ? `${p.triggers.fine_tuning_months} months of post-training` : ''].filter(Boolean).join(' or ')}`);
  const d = p.defaults;
  out.push(`defaults: ${d.interval.sided === 'one' ? 'one-sided ' : ''}${d.interval.level} ${d.interval.method} interval; n ≥ ${d.evidence.min_samples}; unscored ≤ ${d.evidence.max_unscored_rate}; rule in with ${d.evidence.access.rule_in}, rule out with ${d.evidence.access.rule_out}${d.evidence.signed ? '; signed' : ''}${d.evidence.logged ? '; logged' : ''}`);
  out.push('');
  const rows = p.rules.map((r) => [
    r.id,
    r.capability,
    r.stage,
    `${r.suite.id}${r.suite.version ? `@${r.suite.version}` : ''}${r.suite.digests ? ` (${r.suite.digests.length} digest${r.suite.digests.length > 1 ? 's' : ''})` : ''}`,
    r.metric,
    `${r.direction === 'higher-is-worse' ? '≥' : '≤'} ${r.threshold}${r.alert_threshold !== undefined ? ` (alert ${r.alert_threshold})` : ''}${r.group ? ` [${r.group.by}=${r.group.value}]` : ''}${r.baseline ? ` (− ${r.baseline.suite.id})` : ''}`,
    r.screen ? `${r.direction === 'higher-is-worse' ? '≥' : '≤'} ${r.screen.threshold ?? r.threshold}${r.screen.level !== undefined ? ` @${r.screen.level}` : ''}${r.screen.sided ? ` ${r.screen.sided}-sided` : ''}` : '—',
  ]);
  out.push(table(['rule', 'capability', 'stage', 'suite', 'metric', 'crossed if', 'screen'], rows).trimEnd());
  out.push('');
  for (const c of p.capabilities) {
    out.push(`capability ${c.id}: ${c.title}`);
    if (c.elicitation) out.push(`  stage 2: ${c.elicitation.experts}; ${c.elicitation.protocol}; access ${c.elicitation.access}${c.elicitation.suite ? `; items from ${c.elicitation.suite}` : ''}`);
    if (c.implies) out.push(`  crossing it crosses: ${c.implies.join(', ')}`);
    if (c.combine?.k !== undefined) out.push(`  crossed when ${c.combine.k} of its rules rule in`);
    if (c.combine?.weights) out.push(`  crossed when the rules that rule in weigh at least ${c.combine.at_least} (${Object.entries(c.combine.weights).map(([r, w]) => `${r} ${w}`).join(', ')})`);
    if (c.signoff) out.push(`  sign-off by ${c.signoff.by} for: ${c.signoff.required_for.join(', ')}`);
    for (const [status, acts] of Object.entries(c.actions)) for (const a of acts ?? []) out.push(`  on ${status}: ${describeAction(a)}`);
  }
  for (const [status, acts] of Object.entries(p.actions)) for (const a of acts ?? []) out.push(`policy on ${status}: ${describeAction(a)}`);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Model options shared by screen and elicit (as in `assay run`)

/** The model and engine options of `assay run`, without those about one run's log and output. */
type ModelFlags = Omit<RunFlags, 'epochs' | 'out' | 'resume' | 'json' | 'simulated' | 'graderModel' | 'graderBaseUrl' | 'graderApiKey'>;

function modelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <name>', 'provider/model, e.g. openai/gpt-4o or anthropic/claude-sonnet-4-5')
    .option('--base-url <url>', 'API base URL (default: OPENAI_BASE_URL / ANTHROPIC_BASE_URL or the provider default)')
    .option('--api-key <key>', 'API key (default: OPENAI_API_KEY / ANTHROPIC_API_KEY); never written to logs')
    .addOption(new Option('--access <level>', 'access level granted for this model (default: grey-box if the API returns logprobs)').choices(ACCESS_LEVELS as unknown as string[]))
    .option('-c, --max-connections <n>', 'maximum concurrent requests', int(1, 4096), 16)
    .option('--limit <n>', 'only the first n samples of each suite', int(1))
    .option('--seed <n>', 'seed for choice shuffling and sampling', int(0), 0)
    .option('--sample-id <id>', 'only this sample (repeatable)', collect)
    .option('--max-tokens <n>', 'max output tokens per request', int(1))
    .option('--temperature <t>', 'sampling temperature', num(0, 2))
    .option('--max-cost <usd>', 'stop dispatching when spend reaches this (needs --price)', num(0))
    .option('--price <in,out>', 'USD per million input,output tokens', price)
    .option('--max-tokens-total <n>', 'stop dispatching when total tokens reach this', int(1))
    .option('--timeout <s>', 'per-request timeout in seconds', num(0.001), 120)
    .option('--max-retries <n>', 'retries per request', int(0, 100), 6)
    .option('--retry-base-ms <ms>', 'backoff base', int(1), 1000)
    .option('--no-progress', 'no progress display');
}

// ---------------------------------------------------------------------------------------------

export function register(program: Command): void {
  const policy = program.command('policy').description('Policy files: thresholds, evidence rules and actions (docs/formats/policy.md)');
  policy
    .command('validate')
    .description('Validate policy files and report which of their suites are available here')
    .argument('<file...>', 'policy files (YAML)')
    .option('--suites <dir>', 'look for suites under this folder (repeatable; default ./suites and Assay\'s suites)', collect)
    .option('--require-suites', 'exit 3 when a rule\'s suite is not available or does not fit')
    .option('--json', 'machine-readable result')
    .action(async (files: string[], f: { suites?: string[]; requireSuites?: boolean; json?: boolean }) => {
      const cat = await suiteCatalog(f.suites);
      const results = [];
      for (const file of files) {
        const lp = await loadPolicy(file);
        results.push({ file: lp.file, id: lp.policy.id, version: lp.policy.version, digest: lp.digest, example: lp.policy.example, suites: await checkSuites(lp.policy, cat.suites), warnings: policyWarnings(lp.policy) });
      }
      const missing = results.some((r) => r.suites.some((s) => s.status === 'not-available' || s.status === 'mismatch'));
      if (f.json) process.stdout.write(JSON.stringify({ policies: results, brokenSuites: cat.broken }, null, 2) + '\n');
      else
        for (const r of results) {
          process.stdout.write(`${r.file}: valid ${r.id}@${r.version} ${r.digest}${r.example ? ' (illustrative example pack)' : ''}\n`);
          for (const s of r.suites) process.stdout.write(`  ${s.rule}: ${s.suite}: ${s.status === 'not-available' ? 'SUITE NOT AVAILABLE' : s.status === 'mismatch' ? 'SUITE DOES NOT FIT' : s.status}: ${s.detail}\n`);
          for (const w of r.warnings) process.stderr.write(`assay: warning: ${r.file}: ${w}\n`);
        }
      if (!f.json) for (const b of cat.broken) process.stderr.write(`assay: note: suite ${b.file} could not be loaded: ${b.problem}\n`);
      process.exitCode = missing && f.requireSuites ? 3 : 0;
    });
  policy
    .command('pin')
    .description("Pin every rule's suite to the digest of the suite available here (rewrites suite.digests in place, keeping comments)")
    .argument('<file...>', 'policy files (YAML)')
    .option('--suites <dir>', 'look for suites under this folder (repeatable; default ./suites and Assay\'s suites)', collect)
    .option('--check', 'change nothing; exit 3 when a pin differs from the suite here (for CI)')
    .action(async (files: string[], f: { suites?: string[]; check?: boolean }) => {
      const cat = await suiteCatalog(f.suites);
      let stale = false;
      for (const file of files) {
        const lp = await loadPolicy(file);
        const pins: Record<number, string> = {};
        for (const [i, r] of lp.policy.rules.entries()) {
          const d = await currentDigest(r.suite.id, cat.suites);
          if (!d) {
            process.stderr.write(`assay: note: ${file}: ${r.id}: suite ${r.suite.id} not available here; left ${r.suite.digests ? 'as pinned' : 'unpinned'}\n`);
            continue;
          }
          if (r.suite.digests?.length === 1 && r.suite.digests[0] === d) continue;
          pins[i] = d;
          process.stdout.write(`${file}: ${r.id}: ${r.suite.id} ${r.suite.digests ? `${r.suite.digests.join(', ')} → ` : ''}${d}\n`);
        }
        if (!Object.keys(pins).length) continue;
        stale = true;
        if (!f.check) writeFileAtomic(lp.file, await repinText(readFileSync(lp.file, 'utf8'), pins, lp.file));
      }
      process.exitCode = f.check && stale ? 3 : 0;
    });
  policy
    .command('check')
    .description('Summarise a policy: digest, scope, rules, stages and actions')
    .argument('<file>', 'policy file (YAML)')
    .option('--json', 'the validated policy with its digest')
    .action(async (file: string, f: { json?: boolean }) => {
      const lp = await loadPolicy(file);
      if (f.json) process.stdout.write(JSON.stringify({ digest: lp.digest, policy: lp.policy }, null, 2) + '\n');
      else process.stdout.write(policySummary(lp));
    });

  program
    .command('verdict')
    .description('Apply a policy to runs (and signed reports): per-rule numbers, decisions, reasons and actions')
    .addHelpText('after', EXIT_HELP)
    .argument('<policy>', 'policy file (YAML)')
    .argument('[run...]', 'run logs or run ids')
    .option('--model-facts <file>', 'declared model facts for the scope (assay.model-facts/v1)')
    .option('--report <file>', 'a signed report of one of the runs (or of a run not given: its signed numbers are used); verified against --trust (repeatable)', collect)
    .option('--trust <file>', 'trust file for --report (default: $ASSAY_HOME/trust.json if present)')
    .option('--grant <file>', 'a gateway grant token (file) for the runs\' model: their access level is the grant\'s, not the declared one, when a gateway key in the trust file (co-signers) issued it (repeatable)', collect)
    .option('--grant-key <file>', "only grants issued by this gateway public key (PEM); it must also be a trusted co-signer")
    .option('--gateway-log <file>', "the gateway's access log (assay gateway log export, or your proofs bundle): a stage-2 session whose access rests on a --grant counts only with its exchanges opened (v4)")
    .option('--opening <file>', 'an opening of one access-log record (assay gateway open; repeatable): one per judged item of a grant-backed stage-2 session', collect)
    .option('--at <date>', 'evaluation date for staleness rules (ISO 8601; default now)')
    .option('--tamper <file>', 'a signed tamper report (assay tamper report --sign) for tamper rules (policy v3); verified against --trust (repeatable)', collect)
    .option('--tamper-log <dir|file>', 'the tamper log a --tamper report is over (or its folder) (repeatable)', collect)
    .option('--json', 'the verdict as JSON (assay.verdict/v1)')
    .option('--sign', 'sign the verdict as one attestation citing every report (needs a verified --report for every run)')
    .option('--key <name|file>', 'signing key for --sign (default: the only key in $ASSAY_HOME/keys)')
    .option('--signer <name>', 'signer name recorded in the signed verdict (default: the key name)')
    .option('--out <file>', 'where --sign writes the signed verdict (default: ./verdict.json)')
    .option('--log <dir|url>', 'with --sign: append the signed verdict to this transparency log and store the inclusion proof')
    .option('--log-vkey <vkey>', "a remote log's verifier key")
    .option('--log-token-file <file>', 'bearer token for a remote log (default: $ASSAY_LOG_TOKEN)')
    .action(async (policyFile: string, runs: string[], f: { modelFacts?: string; report?: string[]; trust?: string; json?: boolean; grant?: string[]; grantKey?: string; gatewayLog?: string; opening?: string[]; at?: string; tamper?: string[]; tamperLog?: string[]; sign?: boolean; key?: string; signer?: string; out?: string; log?: string; logVkey?: string; logTokenFile?: string }) => {
      const lp = await loadPolicy(policyFile);
      const facts = f.modelFacts ? (await loadModelFacts(f.modelFacts)).facts : null;
      if (!runs.length && !f.report?.length && !f.tamper?.length) throw new AssayError('USAGE', 'give at least one run (log path or run id), --report or --tamper');
      const warn = (s: string) => process.stderr.write(`assay: warning: ${s}\n`);
      const { evidence, inputs } = await gatherEvidenceAndReports(runs, f.report ?? [], f.trust, warn, readGrants(f.grant, f.grantKey), groupFields(lp.policy), readAccessRecords(f.gatewayLog, f.opening));
      // A signed verdict is evaluated at the time it is signed: a back-dated (or future) --at would
      // let staleness limits be chosen by the signer.
      if (f.sign && f.at !== undefined) throw new AssayError('USAGE', '--at cannot be used with --sign: a signed verdict is evaluated at the time it is signed', { field: 'at' });
      const tamper = await gatherTamper(f.tamper ?? [], f.tamperLog ?? [], f.trust, warn);
      const at = evaluationDate(f.at);
      const v = evaluatePolicy(lp.policy, lp.digest, { facts, runs: evidence, mode: 'final', at, ...(tamper.length ? { tamper: tamper.map((t) => t.evidence) } : {}) });
      process.stdout.write(f.json ? JSON.stringify(v, null, 2) + '\n' : formatVerdict(v));
      process.exitCode = VERDICT_EXIT[v.verdict];
      if (f.sign) {
        const missing = evidence.filter((e) => !inputs.some((i) => i.predicate.run.id === e.runId)).map((e) => e.runId);
        if (missing.length) throw new AssayError('USAGE', `--sign cites a verified report for every run; none for ${missing.join(', ')} (assay attest <run>, then --report)`);
        const signer = loadSigner(f.key);
        const st = buildVerdictStatement(lp, facts, inputs, evidence, { signer: { name: f.signer ?? signer.name, keyId: signer.keyId }, at, ...(tamper.length ? { tamper } : {}) });
        if (st.predicate.verificationResult !== v.verdict) throw new AssayError('VERDICT', `the verdict recomputed from the reports (${st.predicate.verificationResult}) differs from the one from the run logs (${v.verdict}); check the reports against their logs (assay verify --run)`);
        let bundle = signVerdict(st, signer);
        if (f.log) {
          const token = f.logTokenFile ? readInputText(f.logTokenFile, 'log token').trim() : process.env.ASSAY_LOG_TOKEN;
          bundle = (await logReport(bundle, { target: f.log, ...(f.logVkey ? { vkey: f.logVkey } : {}), ...(token ? { token } : {}) })).bundle;
        }
        const out = resolve(f.out ?? 'verdict.json');
        writeFileAtomic(out, bundleText(bundle));
        process.stderr.write(`signed verdict (${st.predicate.verificationResult}, ${inputs.length} report${inputs.length === 1 ? '' : 's'} cited${bundle.tlog ? ', logged' : ''}) written to ${out}\n`);
      }
    });

  modelOptions(
    program
      .command('screen')
      .description("Stage 1: run a policy's screening suites against a model; print the screen's verdicts and the stage-2 plan")
      .addHelpText('after', EXIT_HELP)
      .requiredOption('--policy <file>', 'policy file (YAML)')
      .option('--model-facts <file>', 'declared model facts for the scope (assay.model-facts/v1)')
      .option('--suites <dir>', 'look for suites under this folder (repeatable; default ./suites and Assay\'s suites)', collect)
      .option('--run <run>', 'use this existing run instead of running its suite again (repeatable)', collect)
      .option('--plan <file>', 'write the stage-2 plan (assay.stage2-plan/v1 JSON) here')
      .option('--json', 'print {verdict, plan, runs} as JSON'),
  ).action(async (f: ModelFlags & { policy: string; modelFacts?: string; suites?: string[]; run?: string[]; plan?: string; json?: boolean }) => {
    const lp = await loadPolicy(f.policy);
    const facts = f.modelFacts ? (await loadModelFacts(f.modelFacts)).facts : null;
    const cat = await suiteCatalog(f.suites);
    const given = await Promise.all((f.run ?? []).map(async (r) => readRunHeader(await resolveRunLog(r))));
    const log = (s: string) => process.stderr.write(s);
    const ids = [...new Set(lp.policy.rules.filter((r) => r.stage === 'automated').map((r) => r.suite.id))];
    refuseAmbiguous(cat, ids);
    const runRefs: string[] = given.map((h) => h.runId);
    const signal = interruptSignal();
    setMaxListeners(0, signal); // the engine listens once per pending request
    for (const id of ids) {
      if (given.some((h) => h.suite.id === id)) continue;
      const s = cat.suites.get(id);
      if (!s) {
        log(`assay: screen: suite ${id} not available here; its rules will have no evidence\n`);
        continue;
      }
      if (!f.model) throw new AssayError('USAGE', '--model is required to run the screening suites (or give every suite as --run)');
      log(`assay: screen: running ${id}@${s.version} (${s.file})\n`);
      const res = await executeRun(s.file, { ...f, progress: f.progress && !f.json } as Parameters<typeof executeRun>[1], signal);
      await indexRun(res, await summarise(res.logPath));
      runRefs.push(res.logPath);
      if (res.status !== 'completed') log(`assay: screen: run ${res.runId} ended ${res.status}; evaluated as it stands\n`);
      if (signal.aborted) break;
    }
    const evidence = await gatherEvidence(runRefs, [], undefined, (s) => log(`assay: warning: ${s}\n`), null, groupFields(lp.policy));
    const v = evaluatePolicy(lp.policy, lp.digest, { facts, runs: evidence, mode: 'screen', at: evaluationDate(undefined) });
    const plan = stage2Plan(lp.policy, v);
    if (f.plan) writeFileAtomic(resolve(f.plan), JSON.stringify(plan, null, 2) + '\n');
    const hints: Record<string, string> = {};
    for (const it of plan.items) {
      const e = it.elicitation;
      const s = e?.suite ? cat.suites.get(e.suite) : undefined;
      if (e?.suite && s) hints[e.suite] = `assay elicit --suite ${s.file} --model ${v.model ?? '<model>'} --expert "<name>"${e.minSamples ? ` --limit ${e.minSamples}` : ''} --access ${it.accessNeeded}${f.baseUrl ? ` --base-url ${f.baseUrl}` : ''}`;
    }
    if (f.json) process.stdout.write(JSON.stringify({ verdict: v, plan, runs: evidence.map((r) => r.runId) }, null, 2) + '\n');
    else process.stdout.write(formatVerdict(v) + '\n' + formatPlan(plan, hints) + (f.plan ? `plan written to ${resolve(f.plan)}\n` : '') + `screen runs: ${evidence.map((r) => r.runId).join(' ')}\n`);
    process.exitCode = VERDICT_EXIT[v.verdict];
  });

  modelOptions(
    program
      .command('elicit')
      .description('Stage 2: an expert-led session with the model over a suite\'s items; notes, ratings and judgements recorded as a run log')
      .requiredOption('--suite <file|id>', 'the suite whose items the expert works through (file, or id under ./suites)')
      .requiredOption('--expert <name>', 'who judges (recorded with every judgement)')
      .option('--suites <dir>', 'where to look up a suite id (repeatable)', collect)
      .option('-o, --out <path>', 'run log path (default: $ASSAY_HOME/runs/<run-id>.jsonl)')
      .option('--json', 'print the result summary as JSON at the end'),
  ).action(async (f: ModelFlags & { suite: string; expert: string; suites?: string[]; out?: string; json?: boolean }) => {
    if (!f.model) throw new AssayError('USAGE', '--model is required (e.g. openai/gpt-4o)');
    let file = f.suite;
    if (!existsSync(file)) {
      const cat = await suiteCatalog(f.suites);
      refuseAmbiguous(cat, [f.suite]);
      const s = cat.suites.get(f.suite);
      if (!s) throw new AssayError('SUITE_NOT_FOUND', `no suite file or suite id "${f.suite}"`, { field: 'suite' });
      file = s.file;
    }
    const suite = await loadSuite(file);
    assertElicitable(suite);
    const model = createModel(f.model, { ...(f.baseUrl ? { baseUrl: f.baseUrl } : {}), ...(f.apiKey ? { apiKey: f.apiKey } : {}), maxConnections: 1 });
    const config: RunConfig = {
      epochs: 1,
      seed: f.seed,
      limit: f.limit ?? null,
      sampleIds: f.sampleId ?? null,
      maxConnections: 1,
      maxTokens: f.maxTokens ?? null,
      temperature: f.temperature ?? null,
      timeoutMs: Math.round(f.timeout * 1000),
      maxRetries: 0,
      retryBaseMs: f.retryBaseMs,
      retryMaxDelayMs: 60_000,
      access: f.access ?? (model.supportsLogprobs ? 'grey-box' : 'black-box'),
      budget: { maxTokensTotal: f.maxTokensTotal ?? null, maxCost: f.maxCost ?? null, pricePerMTok: f.price ?? null },
    };
    const runId = newRunId();
    const logPath = f.out ? resolve(f.out) : join(runsDir(), `${runId}.jsonl`);
    mkdirSync(dirname(logPath), { recursive: true });
    // The session talks on stderr so stdout stays for --json; a TTY sees both.
    const res = await runElicitation({ suite, model, config, logPath, runId, expert: f.expert, lines: linesOf(process.stdin), write: (s) => process.stderr.write(s), interactive: !!process.stdin.isTTY });
    process.stdin.destroy();
    await model.close();
    const summary = await summarise(res.logPath);
    await indexRun(res, summary);
    if (f.json) process.stdout.write(JSON.stringify({ runId: res.runId, logPath: res.logPath, status: res.status, suite: res.header.suite.id, suiteDigest: res.header.suite.digest, judged: res.judged, skipped: res.skipped }, null, 2) + '\n');
    else process.stdout.write(`elicitation run ${res.runId} (${res.status}): ${res.judged} judged, ${res.skipped} skipped\nlog ${res.logPath}\nsuite ${res.header.suite.id} ${res.header.suite.digest}\nnext: assay verdict <policy> <screen runs...> ${res.runId}\n`);
    process.exitCode = res.status === 'completed' ? 0 : 3;
  });
}

export type { Verdict };
