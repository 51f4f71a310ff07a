import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import { parseEnvelope } from '../../attest/dsse.js';
import { loadSigner, parsePublicKey } from '../../attest/keys.js';
import { openLedgerHead, signLedgerHead } from '../../enclave/ledger-head.js';
import { loadEnclaveConfig } from '../../enclave/config.js';
import { startEnclave } from '../../enclave/server.js';
import { EnclaveStore } from '../../enclave/store.js';
import { writeTestModel } from '../../enclave/testmodel.js';
import { int } from '../options.js';

/**
 * `assay enclave serve|review|make-test-model`: the white-box research environment behind the
 * gateway (docs/enclave.md; job format docs/formats/enclave-job.md).
 */
export function register(program: Command): void {
  const enclave = program.command('enclave').description('White-box jobs next to the weights: a sandboxed research environment behind the gateway, with an airlock on every output');
  enclave
    .command('serve')
    .description('Run the enclave (an upstream of the gateway: whiteBox enclave-job → /v1/enclave/jobs, enclave-result → /v1/enclave/result)')
    .requiredOption('--config <file>', 'enclave config (assay.enclave-config/v1)')
    .option('--port <n>', 'override the listen port', int(0, 65535))
    .action(async (f: { config: string; port?: number }) => {
      const cfg = loadEnclaveConfig(f.config);
      const e = await startEnclave({ config: cfg, ...(f.port !== undefined ? { listen: { port: f.port } } : {}) });
      process.stdout.write(`enclave listening on ${e.url}\n`);
      const stop = async () => {
        await e.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  const review = enclave.command('review').description("A developer reviewer's decisions on outputs held by the airlock");
  review
    .command('list')
    .description('Jobs (default: those awaiting review) with their digests and the bytes they would release')
    .requiredOption('--config <file>', 'enclave config')
    .option('--status <s>', 'awaiting_review, released, approved, rejected, refused, running, or all', 'awaiting_review')
    .option('--json', 'JSON lines')
    .action((f: { config: string; status: string; json?: boolean }) => {
      const store = new EnclaveStore(loadEnclaveConfig(f.config).state);
      try {
        const rows = store.list(f.status === 'all' ? undefined : f.status);
        for (const r of rows) {
          const receipt = r.receipt_json ? JSON.parse(r.receipt_json) : null;
          if (f.json) process.stdout.write(`${JSON.stringify({ job: r.id, grant: r.grant, tester: r.tester, model: r.model, status: r.status, submitted: r.submitted_at, codeDigest: r.code_digest, bytes: r.released_bytes, refusal: r.refusal_code ? { code: r.refusal_code, message: r.refusal } : null, outputs: receipt?.outputs ?? {}, held: r.status === 'awaiting_review' ? JSON.parse(r.outputs_json ?? '{}') : undefined })}\n`);
          else process.stdout.write(`${r.id}  ${r.status.padEnd(15)} ${r.tester}  ${r.grant}  ${r.released_bytes} bytes  code ${r.code_digest}${r.refusal_code ? `  ${r.refusal_code}: ${r.refusal}` : ''}\n`);
        }
        if (!rows.length && !f.json) process.stdout.write(`no jobs with status ${f.status}\n`);
      } finally {
        store.close();
      }
    });
  review
    .command('show <job>')
    .description("A held job's outputs, exactly as they would be released")
    .requiredOption('--config <file>', 'enclave config')
    .action((job: string, f: { config: string }) => {
      const store = new EnclaveStore(loadEnclaveConfig(f.config).state);
      try {
        const r = store.get(job);
        if (!r) throw new AssayError('NOT_FOUND', `no job ${job}`);
        process.stdout.write(`${JSON.stringify({ job: r.id, status: r.status, tester: r.tester, grant: r.grant, receipt: r.receipt_json ? JSON.parse(r.receipt_json) : null, outputs: JSON.parse(r.outputs_json ?? '{}'), exec: r.exec_json ? JSON.parse(r.exec_json) : null }, null, 2)}\n`);
      } finally {
        store.close();
      }
    });
  for (const [name, approve] of [['approve', true], ['reject', false]] as const)
    review
      .command(`${name} <job>`)
      .description(approve ? 'Release a held job\'s outputs (counted against the grant\'s cap when the job passed the airlock)' : 'Refuse a held job\'s outputs; they are deleted and never released')
      .requiredOption('--config <file>', 'enclave config')
      .option('--reviewer <name>', 'who decided (default: the OS user)')
      .option('--note <text>', approve ? 'note kept with the decision' : 'reason shown to the tester')
      .action((job: string, f: { config: string; reviewer?: string; note?: string }) => {
        const store = new EnclaveStore(loadEnclaveConfig(f.config).state);
        try {
          const r = store.get(job);
          if (!r) throw new AssayError('NOT_FOUND', `no job ${job}`);
          if (!store.decide(job, approve, f.reviewer ?? userInfo().username, f.note ?? null)) throw new AssayError('ENCLAVE_REVIEW', `job ${job} is ${r.status}, not awaiting review`);
          process.stdout.write(`${job} ${approve ? 'approved: the tester can fetch its outputs' : 'rejected: its outputs were deleted'}\n`);
        } finally {
          store.close();
        }
      });
  const ledger = enclave.command('ledger').description("The enclave's hash-chained ledger of finished jobs and review decisions");
  ledger
    .command('verify')
    .description('Recompute the chain; print its size and head, exit 1 on any problem; with --signed-head, also check the ledger still holds that signed head')
    .requiredOption('--config <file>', 'enclave config')
    .option('--signed-head <file>', 'a head written by `assay enclave ledger sign`')
    .option('--public-key <file>', 'the key that signed it (PEM or JWK)')
    .action((f: { config: string; signedHead?: string; publicKey?: string }) => {
      const store = new EnclaveStore(loadEnclaveConfig(f.config).state);
      try {
        const v = store.verifyLedger();
        if (v.problems.length) throw new AssayError('LEDGER_TAMPERED', `the enclave ledger does not verify: ${v.problems.join('; ')}`);
        if (f.signedHead) {
          if (!f.publicKey) throw new AssayError('USAGE', '--signed-head needs --public-key (the key it must be signed by)', { field: '--public-key' });
          const h = openLedgerHead(parseEnvelope(readFileSync(f.signedHead), f.signedHead), parsePublicKey(readFileSync(f.publicKey, 'utf8'), { file: f.publicKey }));
          const at = store.hashAt(h.size);
          if (at === null) throw new AssayError('LEDGER_TAMPERED', `the signed head covers ${h.size} entries but the ledger holds ${v.size}: entries were removed`, { file: f.signedHead });
          if (at !== h.head) throw new AssayError('LEDGER_TAMPERED', `entry ${h.size - 1} no longer hashes to the signed head ${h.head}: the first ${h.size} entries were changed`, { file: f.signedHead });
          process.stdout.write(`signed head ok: ${h.enclave} held ${h.size} entries at ${h.time}; they are unchanged\n`);
        }
        process.stdout.write(`ledger ok: ${v.size} entries, head ${v.head}\n`);
      } finally {
        store.close();
      }
    });
  ledger
    .command('sign')
    .description("Sign the ledger's current head with a keyring key (publish it: later removals or edits then show)")
    .requiredOption('--config <file>', 'enclave config')
    .option('--key <key>', 'keyring key (id, prefix or name; default: the only key)')
    .option('-o, --out <file>', 'write the signed head here (default stdout)')
    .action((f: { config: string; key?: string; out?: string }) => {
      const cfg = loadEnclaveConfig(f.config);
      const store = new EnclaveStore(cfg.state);
      try {
        const v = store.verifyLedger();
        if (v.problems.length) throw new AssayError('LEDGER_TAMPERED', `refusing to sign a ledger that does not verify: ${v.problems.join('; ')}`);
        const text = `${JSON.stringify(signLedgerHead(loadSigner(f.key), { enclave: cfg.id, size: v.size, head: v.head, time: new Date().toISOString() }))}\n`;
        if (f.out) writeFileSync(f.out, text);
        else process.stdout.write(text);
      } finally {
        store.close();
      }
    });
  ledger
    .command('export')
    .description('Every ledger entry as JSON lines (what left, under which grant and gateway request, with digests)')
    .requiredOption('--config <file>', 'enclave config')
    .option('--grant <jti>', 'only this grant')
    .action((f: { config: string; grant?: string }) => {
      const store = new EnclaveStore(loadEnclaveConfig(f.config).state);
      try {
        for (const e of store.ledger()) if (!f.grant || e.grant === f.grant) process.stdout.write(`${JSON.stringify(e)}\n`);
      } finally {
        store.close();
      }
    });
  enclave
    .command('make-test-model <dir>')
    .description('Write the tiny GPT-2 test model (config.json + model.safetensors, deterministic weights) into a directory')
    .option('--seed <n>', 'weight seed', int(0), 29)
    .action((dir: string, f: { seed: number }) => {
      const r = writeTestModel(dir, undefined, f.seed);
      process.stdout.write(`${r.weights} ${r.digest}\n${r.config}\n`);
    });
}
