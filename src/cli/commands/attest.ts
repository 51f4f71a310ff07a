import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseEnvelope, type Envelope } from '../../attest/dsse.js';
import { attestRun, bundleText, cosignBundle, readBundle, writeFileAtomic } from '../../attest/bundle.js';
import { digestOfFile, fromPrefixed, type DigestSet } from '../../attest/digest.js';
import { createDisclosure, disclosureBytes } from '../../attest/disclose.js';
import { defaultReportPath } from '../../attest/index.js';
import { exportPublicJwk, exportPublicPem, findKey, generateKey, keyringDir, listKeys, loadSigner, parsePublicKey } from '../../attest/keys.js';
import { renderReport } from '../../attest/render.js';
import { emptyTrust, issueAccreditation, loadTrustFile, parseTrust, trustDocument, type TrustPolicy } from '../../attest/trust.js';
import { EXIT, LIMITS, formatVerifyResult, oneLine, verifyReport } from '../../attest/verify.js';
import { logReport, refreshReportProof, retireKey } from '../../attest/tlog.js';
import { hasLogConfig, readLogConfig } from '../../tlog/config.js';
import { parseVkey } from '../../tlog/note.js';
import { defaultSeenFile } from '../../tlog/seen.js';
import { MAX_CHECKPOINT_FILE, readBounded } from '../../tlog/storage.js';
import { AssayError } from '../../common/errors.js';
import { withLock } from '../../common/lock.js';
import { assayHome } from '../../home.js';
import { collect, int, num } from '../options.js';
import { resolveRunLog } from './run.js';
import { loadModelFacts, loadPolicy } from '../../policy/load.js';
import { attestPolicyHookFor, checkReportPolicy } from '../../policy/report.js';
import { readInput } from '../input.js';

/**
 * A report file, read up to one byte past the verifier's cap (LIMITS.reportBytes): a larger file
 * is refused by verifyReport (13) without being read whole. Works for pipes too.
 */
const readReport = (file: string): Buffer => {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new AssayError('IO', `cannot read report: ${(err as Error).message}`, { file });
  }
  try {
    const max = LIMITS.reportBytes + 1;
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(1 << 20);
    let n = 0;
    for (let r; n < max && (r = readSync(fd, buf, 0, Math.min(buf.length, max - n), null)) > 0; n += r) chunks.push(Buffer.from(buf.subarray(0, r)));
    return Buffer.concat(chunks, n);
  } catch (err) {
    throw new AssayError('IO', `cannot read report: ${(err as Error).message}`, { file });
  } finally {
    closeSync(fd);
  }
};

/** A --checkpoint file: read with the checkpoint bound (64 KiB), refused beyond it without reading it whole. */
const readCheckpointFile = (file: string): string => {
  try {
    return readBounded(file, MAX_CHECKPOINT_FILE);
  } catch (err) {
    if (err instanceof AssayError) throw new AssayError('USAGE', `--checkpoint: ${err.problem.replace('checkpoint file is', 'file is')}; a signed checkpoint is a few hundred bytes`, { file });
    throw new AssayError('IO', `cannot read checkpoint: ${(err as Error).message}`, { file });
  }
};

/** The trust file: --trust, else $ASSAY_HOME/trust.json when present, else nobody is trusted. */
function trustFrom(flag: string | undefined): TrustPolicy {
  if (flag) return loadTrustFile(resolve(flag));
  const dflt = join(assayHome(), 'trust.json');
  return existsSync(dflt) ? loadTrustFile(dflt) : emptyTrust();
}

const date = (v: string): Date => {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new AssayError('USAGE', `not a date: ${v} (use ISO 8601, e.g. 2027-01-01T00:00:00Z)`);
  return d;
};

/** A public key given as a keyring reference, a PEM/JWK file, or a report's tester. */
function publicKeyArg(ref: string) {
  if (existsSync(ref)) return parsePublicKey(readInput(ref, 'public key').toString('utf8'), { file: ref });
  return findKey(ref).publicKey;
}

/** A log verifier key: vkey text, a file holding one, or a local log directory (its own key). */
function vkeyText(v: string): string {
  if (existsSync(v) && hasLogConfig(v)) return readLogConfig(v).vkey;
  let text: string;
  try {
    text = existsSync(v) ? readBounded(v, 4096).trim() : v.trim();
  } catch (err) {
    throw new AssayError('USAGE', `verifier key file: ${err instanceof AssayError ? err.problem.replace('checkpoint file is', 'file is') : (err as Error).message}`, { file: v });
  }
  parseVkey(text, existsSync(v) ? { file: v } : { field: 'vkey' });
  return text;
}

export function register(program: Command): void {
  const keys = program.command('keys').description(`Ed25519 signing keys (keyring: $ASSAY_HOME/keys; private keys mode 0600, never printed)`);
  keys
    .command('generate')
    .description('Create a key pair in the keyring; prints its key id (sha256 of the raw public key)')
    .option('--name <name>', 'a label for the key', 'tester')
    .action((f: { name: string }) => {
      const k = generateKey({ name: f.name });
      process.stdout.write(`generated ${k.keyId} "${k.name}"\n  private key ${k.privateKeyFile} (mode 0600; keep it secret)\n  public key  ${k.publicKeyFile}\n`);
    });
  keys
    .command('list')
    .description('List keys in the keyring')
    .option('--json', 'machine-readable output')
    .action((f: { json?: boolean }) => {
      const ks = listKeys();
      if (f.json) return void process.stdout.write(JSON.stringify(ks.map((k) => ({ keyId: k.keyId, name: k.name, createdAt: k.createdAt, publicKeyFile: k.publicKeyFile, permissionsOk: k.permissionsOk })), null, 2) + '\n');
      if (!ks.length) return void process.stdout.write(`no keys in ${keyringDir()} (assay keys generate --name <name>)\n`);
      for (const k of ks) process.stdout.write(`${k.keyId}  ${k.name}  ${k.createdAt}${k.permissionsOk ? '' : '  WARNING: private key file readable by others (chmod 600)'}\n`);
    });
  keys
    .command('export-public')
    .description('Print a public key (PEM or JWK) for trust files and co-signers')
    .argument('[key]', 'key id, id prefix or name (default: the only key)')
    .addOption(new Option('--format <f>', 'output format').choices(['pem', 'jwk']).default('pem'))
    .action((ref: string | undefined, f: { format: 'pem' | 'jwk' }) => {
      const k = findKey(ref);
      process.stdout.write(f.format === 'pem' ? exportPublicPem(k.publicKey) : JSON.stringify(exportPublicJwk(k.publicKey), null, 2) + '\n');
    });

  keys
    .command('retire')
    .description("Revoke or rotate a key in a transparency log: reports signed with it and logged after this entry stop verifying (signed by the key itself)")
    .argument('[key]', 'key id, id prefix or name (default: the only key)')
    .requiredOption('--log <dir|url>', 'the log the key\'s reports are logged in')
    .addOption(new Option('--action <a>', 'revoke (compromised or withdrawn) or rotate (replaced)').choices(['revoke', 'rotate']).default('revoke'))
    .option('--replacement <keyid>', 'with rotate: the successor key id (sha256:…); informational, it is not trusted by this')
    .option('--log-vkey <vkey>', "the log's verifier key; required for a URL")
    .option('--log-token-file <file>', 'bearer token for a remote log (default: $ASSAY_LOG_TOKEN)')
    .action(async (ref: string | undefined, f: { log: string; action: 'revoke' | 'rotate'; replacement?: string; logVkey?: string; logTokenFile?: string }) => {
      const signer = loadSigner(ref);
      const token = f.logTokenFile ? readInput(f.logTokenFile, 'log token').toString('utf8').trim() : process.env.ASSAY_LOG_TOKEN;
      const r = await retireKey(signer, { target: f.log, ...(f.logVkey ? { vkey: vkeyText(f.logVkey) } : {}), ...(token ? { token } : {}) }, f.action, f.replacement);
      process.stdout.write(`key ${signer.keyId} ${f.action === 'revoke' ? 'revoked' : 'rotated'} at entry ${r.index} of ${r.origin}: reports logged from here on with this key fail verification (verify --log)\n`);
    });

  program
    .command('attest')
    .description('Sign a run report (in-toto statement in a DSSE envelope) computed from a run log')
    .argument('<run>', 'run log path or run id')
    .option('--key <key>', 'signing key (id, prefix or name; default: the only key)')
    .option('--tester <name>', 'tester name in the report (default: the key name)')
    .option('--out <file>', 'report file (default: next to the log, <run>.report.json)')
    .option('--accreditation <file>', 'attach an accreditation envelope for the key (repeatable)', collect)
    .option('--model-release <digest|file>', 'the model-release statement of a gateway run: sha256:<hex> or the statement file')
    .option('--level <p>', 'confidence level of the intervals', num(0.5, 0.999), 0.95)
    .option('--log <dir|url>', 'append the report to this transparency log and store the inclusion proof and checkpoint in the report')
    .option('--log-vkey <vkey>', "the log's verifier key (vkey text or a file holding it); required for a URL")
    .option('--log-token-file <file>', 'bearer token for a remote log (default: $ASSAY_LOG_TOKEN)')
    .option('--witness-url <url>', 'with --log: a witness (C2SP tlog-witness add-checkpoint) to cosign the checkpoint before the proof is stored (repeatable)', collect)
    .option('--witnesses-required <k>', 'with --witness-url: wait for k cosignatures (default: all)', int(1))
    .option('--policy <file>', "sign this policy's verdict on the run into the report (docs/formats/policy.md)")
    .option('--model-facts <file>', 'declared model facts for the policy scope (assay.model-facts/v1)')
    .addOption(new Option('--as <role>', 'sign as a tester (a report) or as the developer of the model (a self-reported claim, auditable with assay audit)').choices(['tester', 'developer']).default('tester'))
    .option('--seed-delay <D>', 'a claim: the audit seed comes from the first checkpoint of size ≥ this entry\'s index + D (docs/formats/audit.md)', int(1), 16)
    .action(async (ref: string, f: { as: 'tester' | 'developer'; seedDelay: number; key?: string; tester?: string; out?: string; accreditation?: string[]; modelRelease?: string; level: number; log?: string; logVkey?: string; logTokenFile?: string; witnessUrl?: string[]; witnessesRequired?: number; policy?: string; modelFacts?: string }) => {
      const logPath = await resolveRunLog(ref);
      const signer = loadSigner(f.key);
      let release: DigestSet | null = null;
      if (f.modelRelease) release = /^sha256:/.test(f.modelRelease) ? fromPrefixed(f.modelRelease, '--model-release') : await digestOfFile(f.modelRelease);
      const accreditations: Envelope[] = (f.accreditation ?? []).map((file) => parseEnvelope(readInput(file, 'accreditation'), file));
      if (f.modelFacts && !f.policy) throw new AssayError('USAGE', '--model-facts needs --policy');
      const policy = f.policy ? await attestPolicyHookFor(logPath, await loadPolicy(f.policy), f.modelFacts ? await loadModelFacts(f.modelFacts) : null, { logged: !!f.log }) : undefined;
      if (f.as === 'developer' && !f.log) process.stderr.write('assay: note: a claim is auditable only once it is in a transparency log (--log)\n');
      const signed = await attestRun(logPath, { signer, testerName: f.tester ?? signer.name, level: f.level, releaseStatement: release, accreditations, ...(policy ? { policy } : {}), ...(f.as === 'developer' ? { claim: { seedDelay: f.seedDelay } } : {}) });
      const statement = signed.statement;
      let bundle = signed.bundle;
      const out = resolve(f.out ?? defaultReportPath(logPath));
      let logged = '';
      if (f.log) {
        const token = f.logTokenFile ? readInput(f.logTokenFile, 'log token').toString('utf8').trim() : process.env.ASSAY_LOG_TOKEN;
        const witnesses = f.witnessUrl?.length ? { witnesses: { urls: f.witnessUrl, required: f.witnessesRequired ?? f.witnessUrl.length } } : {};
        const r = await logReport(bundle, { target: f.log, ...(f.logVkey ? { vkey: vkeyText(f.logVkey) } : {}), ...(token ? { token } : {}), ...witnesses });
        bundle = r.bundle;
        logged = `  logged as entry ${r.index} of ${r.checkpoint.origin} (checkpoint size ${r.checkpoint.size}); inclusion proof stored in the report\n`;
      }
      writeFileAtomic(out, bundleText(bundle));
      const p = statement.predicate;
      if (p.run.status !== 'completed') process.stderr.write(`assay: note: the run's status is ${p.run.status ?? 'unknown (no end record)'}; the report says so\n`);
      const pv = p.policy ? `  policy ${p.policy.id} sha256:${p.policy.digest.sha256}: verdict ${p.policy.verdict} (from this run alone)\n` : '';
      process.stdout.write(`${p.tester.role === 'developer' ? `signed CLAIM (self-reported, developer role, seed delay D = ${p.tester.seedDelay})` : 'signed report'} ${out}\n  ${p.suite.id}@${p.suite.version} on ${p.model.name}${p.model.simulated ? ' (SIMULATED)' : ''}, ${p.counts.records} records, transcript root ${p.transcripts.root}\n  tester ${p.tester.name} ${signer.keyId}\n${pv}${logged}`);
    });

  program
    .command('cosign')
    .description('Add a signature over the same signed payload (e.g. the developer acknowledging receipt)')
    .argument('<report>', 'report file')
    .requiredOption('--key <key>', 'signing key (id, prefix or name)')
    .option('--out <file>', 'write here instead of updating the report in place')
    .action((file: string, f: { key: string; out?: string }) => {
      const signer = loadSigner(f.key);
      const out = cosignBundle(readBundle(file), signer);
      writeFileAtomic(resolve(f.out ?? file), bundleText(out));
      process.stdout.write(`co-signed ${resolve(f.out ?? file)} with ${signer.keyId} (${out.signatures.length} signatures)\n`);
    });

  program
    .command('verify')
    .description('Verify a signed report offline: signatures, trust, and with --run every digest and number')
    .addHelpText(
      'after',
      '\nExit codes: 0 verified, 2 usage/IO, 10 bad signature, 11 untrusted key, 12 accreditation or trust entry expired/out of scope,\n13 malformed envelope or statement, 14 data mismatch (log digest, header, transcript root; --policy file not the signed one),\n15 numbers mismatch (metrics; with --policy, the signed verdict), 16 disclosure invalid,\n17 transparency log (inclusion proof invalid, untrusted log with --require-log, split view, inconsistent checkpoint, rollback),\n18 policy verdict evaluated under an older policy-evaluation version than --require-evaluation-version (or, for a report, no policy verdict).\nThe largest checkpoint seen of each log is kept in --seen-state (default $ASSAY_HOME/tlog/seen.json); a log presenting a smaller tree fails (17).\nFormat and rules: docs/formats/attestation.md, docs/formats/trust.md',
    )
    .argument('<report>', 'report file')
    .option('--trust <file>', 'trust file (default: $ASSAY_HOME/trust.json if present)')
    .option('--run <log>', 'also recompute digests, the transcript root and every metric from this run log (path or run id)')
    .option('--disclosure <file>', 'check a disclosed sample against the signed transcript root (repeatable)', collect)
    .option('--at <time>', 'check key and accreditation validity at this time instead of now')
    .option('--require-log', 'fail unless the report carries an inclusion proof from a log in the trust file')
    .option('--checkpoint <file>', 'a newer signed checkpoint of that log (e.g. from a witness): must extend the proof\'s (repeatable)', collect)
    .option('--log <dir|url>', "fetch the log's current checkpoint and prove it extends the proof's (and prove --checkpoint files from its tiles)")
    .option('--seen-state <file>', 'largest checkpoint seen per log, for rollback detection (default $ASSAY_HOME/tlog/seen.json)')
    .option('--policy <file>', 'recompute the signed policy verdict from the signed statistics and this policy file')
    .option('--model-facts <file>', 'a signed verdict (assay verdict --sign): the model facts it was computed with')
    .option('--report <file>', 'a signed verdict: a report it cites (repeatable; every cited report is needed)', collect)
    .option('--grant <file>', 'a signed verdict: a gateway grant token a run\'s access rests on (repeatable; its gateway key must be a trusted co-signer)', collect)
    .option('--tamper <file>', 'a signed verdict: a signed tamper report it cites (repeatable; with its --tamper-log)', collect)
    .option('--tamper-log <dir|file>', 'a signed verdict: the tamper log a cited tamper report is over (repeatable)', collect)
    .option('--claim <file>', 'an audit report: the claim it audits (with --claim-run and --run, everything is recomputed)')
    .option('--claim-run <log>', "an audit report: the developer's run log")
    .option('--require-evaluation-version <n>', 'refuse (exit 18) a signed verdict, or a report\'s signed policy verdict, evaluated under an older policy-evaluation version than n', int(1))
    .option('--json', 'machine-readable result')
    .action(async (file: string, f: { requireEvaluationVersion?: number; trust?: string; run?: string; disclosure?: string[]; at?: string; json?: boolean; requireLog?: boolean; checkpoint?: string[]; log?: string; seenState?: string; policy?: string; modelFacts?: string; report?: string[]; grant?: string[]; tamper?: string[]; tamperLog?: string[] }) => {
      const trust = trustFrom(f.trust);
      const bytes = readReport(file);
      const au = await import('../../audit/report.js');
      if (au.isAuditDocument(bytes)) {
        const claimF = (f as { claim?: string }).claim;
        const claimRun = (f as { claimRun?: string }).claimRun;
        const checkpoints = (f.checkpoint ?? []).map((c) => ({ text: readInput(c, 'checkpoint').toString('utf8'), source: c }));
        const r = await au.verifyAuditDocument(bytes, {
          trust,
          ...(claimF ? { claim: { bytes: readInput(claimF, 'claim'), source: claimF } } : {}),
          ...(claimRun ? { claimRunLog: await resolveRunLog(claimRun) } : {}),
          ...(f.run ? { replicationLog: await resolveRunLog(f.run) } : {}),
          tlog: { require: !!f.requireLog, checkpoints, ...(f.log ? { log: f.log } : {}) },
          ...(f.at ? { now: date(f.at) } : {}),
          source: file,
        });
        process.stdout.write(f.json ? JSON.stringify(r, null, 2) + '\n' : au.formatAuditCheck(r));
        process.exitCode = r.exitCode;
        return;
      }
      const sv = await import('../../policy/signed-verdict.js');
      if (sv.isVerdictDocument(bytes)) {
        // A signed two-stage verdict: recomputed from the cited reports, the policy and the facts.
        const checkpoints = (f.checkpoint ?? []).map((c) => ({ text: readCheckpointFile(c), source: c }));
        const r = await sv.verifyVerdictDocument(bytes, {
          trust,
          policy: f.policy ? await loadPolicy(f.policy) : null,
          facts: f.modelFacts ? (await loadModelFacts(f.modelFacts)).facts : null,
          reports: (f.report ?? []).map((x) => ({ bytes: readReport(x), source: x })),
          grants: (f.grant ?? []).map((x) => readInput(x, 'grant').toString('utf8').trim()),
          tamper: tamperGiven(sv, f.tamper ?? [], f.tamperLog ?? []),
          tlog: { require: !!f.requireLog, checkpoints, ...(f.log ? { log: f.log } : {}) },
          ...(f.at ? { now: date(f.at) } : {}),
          ...(f.requireEvaluationVersion !== undefined ? { requireEvaluationVersion: f.requireEvaluationVersion } : {}),
          source: file,
        });
        process.stdout.write(f.json ? JSON.stringify(r, null, 2) + '\n' : sv.formatVerdictCheck(r));
        process.exitCode = r.exitCode;
        return;
      }
      if (f.tamper?.length || f.tamperLog?.length) throw new AssayError('USAGE', '--tamper and --tamper-log are for a signed verdict; verify a signed tamper report with `assay tamper verify`');
      const runLogPath = f.run ? await resolveRunLog(f.run) : undefined;
      const disclosures = (f.disclosure ?? []).map((d) => ({ bytes: readInput(d, 'disclosure'), source: d }));
      const checkpoints = (f.checkpoint ?? []).map((c) => ({ text: readCheckpointFile(c), source: c }));
      const tlog = { require: !!f.requireLog, checkpoints, ...(f.log ? { log: f.log } : {}), seenFile: f.seenState ?? defaultSeenFile() };
      const loaded = f.policy ? await loadPolicy(f.policy) : null;
      const policy = loaded ? { policy: (st: { predicate: Parameters<typeof checkReportPolicy>[1] }, ctx: { logged: boolean }) => checkReportPolicy(loaded, st.predicate, ctx) } : {};
      const r = await verifyReport(bytes, { trust, ...(runLogPath ? { runLogPath } : {}), disclosures, source: file, ...(f.at ? { now: date(f.at) } : {}), tlog, ...policy });
      if (f.requireEvaluationVersion !== undefined && r.statement) {
        const { evaluationVersionFailure } = await import('../../policy/report.js');
        const bad = evaluationVersionFailure(r.statement.predicate.policy as Record<string, unknown> | null, f.requireEvaluationVersion);
        if (bad) {
          r.failures.push({ check: 'policy', ...bad });
          r.exitCode = r.failures[0]!.exit;
          r.ok = false;
        }
      }
      if (f.json) process.stdout.write(JSON.stringify({ ...r, statement: r.statement }, null, 2) + '\n');
      else {
        const pol = r.statement?.predicate.policy;
        const signedVer = pol ? pol['evaluationVersion'] : undefined;
        const ver = pol ? (typeof signedVer === 'number' ? signedVer : 1) : null;
        const { POLICY_EVALUATION_VERSION } = await import('../../policy/evaluate.js');
        // An older evaluation version recomputes as signed (so old reports do not flip) but has fewer integrity rules: say so.
        const verLine = ver !== null && ver < POLICY_EVALUATION_VERSION ? `note: the policy verdict was evaluated under policy-evaluation version ${ver}, not the current ${POLICY_EVALUATION_VERSION} (fewer integrity rules: docs/formats/policy.md, "Evidence integrity"); recompute it with assay verdict for a current determination\n` : '';
        const polLine = pol ? `${oneLine(`signed policy verdict: ${pol.id} sha256:${pol.digest.sha256}: ${pol.verdict} (from this run alone)${loaded ? (r.failures.some((x) => x.check === 'policy') ? '' : '; recomputed from the signed statistics: same') : '; pass --policy <file> to recompute it'}`)}\n${verLine}` : '';
        process.stdout.write(polLine + formatVerifyResult(r) + (r.exitCode === EXIT.untrusted && !trust.file ? 'hint: pass --trust <trust.json> listing the keys you accept (docs/formats/trust.md)\n' : ''));
      }
      process.exitCode = r.exitCode;
    });

  program
    .command('disclose')
    .description('Reveal one sample record with its Merkle inclusion proof against the signed transcript root')
    .argument('<run>', 'run log path or run id')
    .requiredOption('--sample <key>', 'sample key "<id>#<epoch>" (or a sample id with one epoch)')
    .option('--out <file>', 'write the disclosure here (default: stdout)')
    .action(async (ref: string, f: { sample: string; out?: string }) => {
      const d = await createDisclosure(await resolveRunLog(ref), f.sample);
      const bytes = disclosureBytes(d);
      if (f.out) {
        writeFileAtomic(resolve(f.out), bytes);
        process.stderr.write(`disclosure of ${d.key} (leaf ${d.proof.index} of ${d.proof.size}) written to ${resolve(f.out)}\n`);
      } else process.stdout.write(bytes);
    });

  const report = program.command('report').description('Human-readable reports from signed statements');
  report
    .command('render')
    .description('Render a report as Markdown or HTML, from the verified signed statement only')
    .argument('<report>', 'report file')
    .addOption(new Option('--format <f>', 'output format').choices(['md', 'html']).default('md'))
    .option('--trust <file>', 'trust file (default: $ASSAY_HOME/trust.json if present)')
    .option('--run <log>', 'also check the numbers against this run log')
    .option('--out <file>', 'write here (default: stdout)')
    .action(async (file: string, f: { format: 'md' | 'html'; trust?: string; run?: string; out?: string }) => {
      const runLogPath = f.run ? await resolveRunLog(f.run) : undefined;
      const r = await verifyReport(readReport(file), { trust: trustFrom(f.trust), ...(runLogPath ? { runLogPath } : {}), source: file });
      const text = renderReport(r, f.format);
      if (f.out) writeFileAtomic(resolve(f.out), text);
      else process.stdout.write(text);
      if (!r.ok) process.stderr.write(formatVerifyResult(r));
      process.exitCode = r.exitCode;
    });

  report
    .command('refresh-proof')
    .description("Replace the report's inclusion proof with one against the log's current checkpoint (proven to extend the old one), optionally cosigned by witnesses")
    .argument('<report>', 'report file (updated in place unless --out)')
    .requiredOption('--log <dir|url>', 'the log the report was logged in')
    .option('--log-vkey <vkey>', "the log's verifier key (vkey text or a file holding it); default for a local log: its own")
    .option('--witness-url <url>', 'a witness to cosign the new checkpoint (repeatable)', collect)
    .option('--witnesses-required <k>', 'with --witness-url: wait for k cosignatures (default: all)', int(1))
    .option('--out <file>', 'write the report here instead')
    .action(async (file: string, f: { log: string; logVkey?: string; witnessUrl?: string[]; witnessesRequired?: number; out?: string }) => {
      const bundle = readBundle(file);
      const witnesses = f.witnessUrl?.length ? { witnesses: { urls: f.witnessUrl, required: f.witnessesRequired ?? f.witnessUrl.length } } : {};
      const r = await refreshReportProof(bundle, { target: f.log, ...(f.logVkey ? { vkey: vkeyText(f.logVkey) } : {}), ...witnesses });
      const out = resolve(f.out ?? file);
      writeFileAtomic(out, bundleText(r.bundle));
      process.stdout.write(`${out}: entry ${r.index} of ${r.to.origin}, proof now against checkpoint size ${r.to.size} (was ${r.from.size}; consistency proven)${r.to.note.sigs.length > 1 ? `, ${r.to.note.sigs.length - 1} cosignature(s)` : ''}\n`);
    });

  program
    .command('accredit')
    .description("As an accreditation body: sign a statement that a tester's key may sign reports in scope")
    .requiredOption('--key <key>', "the body's signing key")
    .option('--body-name <name>', 'body name (default: the key name)')
    .requiredOption('--tester-key <key|file>', "the tester's public key: keyring reference or PEM/JWK file")
    .requiredOption('--tester-name <name>', 'tester name')
    .option('--risk-area <area>', 'accredited risk area, or * (repeatable)', collect)
    .option('--suite <id>', 'accredited suite id or id@version (repeatable)', collect)
    .option('--not-before <time>', 'start of validity (default: now)')
    .requiredOption('--not-after <time>', 'end of validity')
    .option('--out <file>', 'write here (default: stdout)')
    .action((f: { key: string; bodyName?: string; testerKey: string; testerName: string; riskArea?: string[]; suite?: string[]; notBefore?: string; notAfter: string; out?: string }) => {
      if (!f.riskArea?.length && !f.suite?.length) throw new AssayError('USAGE', 'give at least one --risk-area or --suite');
      const body = loadSigner(f.key);
      const env = issueAccreditation({
        body,
        bodyName: f.bodyName ?? body.name,
        tester: { name: f.testerName, publicKey: publicKeyArg(f.testerKey) },
        scopes: { riskAreas: f.riskArea ?? [], suites: f.suite ?? [] },
        notBefore: f.notBefore ? date(f.notBefore) : new Date(),
        notAfter: date(f.notAfter),
      });
      const text = JSON.stringify(env, null, 2) + '\n';
      if (f.out) writeFileAtomic(resolve(f.out), text);
      else process.stdout.write(text);
    });

  const trust = program.command('trust').description('Trust files: which keys a verifier accepts, and why');
  trust
    .command('add')
    .description('Add a key to a trust file (created if missing)')
    .argument('<key>', 'public key: keyring reference or PEM/JWK file')
    .requiredOption('--name <name>', 'who the key belongs to')
    .addOption(new Option('--as <role>', 'what the key is trusted as (developer: its claims verify as self-reported)').choices(['tester', 'cosigner', 'body', 'developer']).default('tester'))
    .option('--file <file>', 'trust file', join(assayHome(), 'trust.json'))
    .action(async (ref: string, f: { name: string; as: 'tester' | 'cosigner' | 'body' | 'developer'; file: string }) => {
      const publicKey = publicKeyArg(ref);
      const file = resolve(f.file);
      // Read-modify-write under the shared lock: two concurrent edits must not lose one.
      await withLock(`${file}.lock`, () => {
        const doc = existsSync(file) ? (JSON.parse(readInput(file, 'trust file').toString('utf8')) as ReturnType<typeof trustDocument>) : trustDocument({});
        if (existsSync(file)) parseTrust(readInput(file, 'trust file'), file); // validate before editing
        const [entry] = trustDocument({ testers: [{ name: f.name, publicKey }] }).testers;
        const section = f.as === 'tester' ? 'testers' : f.as === 'cosigner' || f.as === 'developer' ? 'cosigners' : 'accreditationBodies';
        const list = (doc[section] ?? []) as (typeof entry)[];
        if (!list.some((e) => e!.keyId === entry!.keyId)) list.push(f.as === 'developer' ? ({ ...entry!, role: 'developer' } as typeof entry) : entry);
        doc[section] = list as never;
        writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n');
        process.stdout.write(`${file}: ${entry!.keyId} trusted as ${f.as} "${f.name}"\n`);
      }, { what: `trust file ${file}` });
    });

  trust
    .command('add-log')
    .description('Trust a transparency log: accept inclusion proofs under checkpoints its key signs (created if missing)')
    .argument('<vkey>', "the log's verifier key: vkey text, a file holding it, or a local log directory")
    .option('--witness <vkey>', 'a witness whose cosignature is required on the checkpoint (repeatable)', collect)
    .option('--witnesses-required <k>', 'how many of the --witness keys must cosign (default: all)', (v) => Number(v))
    .option('--file <file>', 'trust file', join(assayHome(), 'trust.json'))
    .action(async (ref: string, f: { witness?: string[]; witnessesRequired?: number; file: string }) => {
      const vkey = vkeyText(ref);
      const witnesses = (f.witness ?? []).map(vkeyText);
      const file = resolve(f.file);
      await withLock(`${file}.lock`, () => {
        const doc = existsSync(file) ? (JSON.parse(readInput(file, 'trust file').toString('utf8')) as ReturnType<typeof trustDocument>) : trustDocument({});
        if (existsSync(file)) parseTrust(readInput(file, 'trust file'), file);
        const [entry] = trustDocument({ logs: [{ vkey, witnesses, ...(f.witnessesRequired !== undefined ? { witnessesRequired: f.witnessesRequired } : {}) }] }).logs;
        const origin = parseVkey(vkey).name;
        doc.logs = [...(doc.logs ?? []).filter((l) => parseVkey(l.vkey).name !== origin), entry!];
        parseTrust(JSON.stringify(doc), file); // the result must be a valid trust file
        writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n');
        process.stdout.write(`${file}: log ${origin} trusted${witnesses.length ? ` with ${f.witnessesRequired ?? witnesses.length} of ${witnesses.length} witnesses required` : ''}\n`);
      }, { what: `trust file ${file}` });
    });
}

/** Signed tamper reports and their logs for verifying a signed verdict (a folder stands for its tamper.jsonl). */
function tamperGiven(sv: typeof import('../../policy/signed-verdict.js'), signed: string[], logs: string[]) {
  const logFile = (a: string) => (existsSync(a) && statSync(a).isDirectory() ? join(a, 'tamper.jsonl') : a);
  const { given, unpaired } = sv.pairTamperFiles(signed.map((s) => ({ bytes: readInput(s, 'tamper report'), source: s })), logs.map((l) => ({ bytes: readInput(logFile(l), 'tamper log'), source: l })));
  for (const u of unpaired) process.stderr.write(`assay: warning: ${u}: no --tamper-log given is the tamper log it signs\n`);
  return given;
}
