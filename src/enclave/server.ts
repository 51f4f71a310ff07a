import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { ASSAY_ROOT } from '../version.js';
import { parseStrictJson, type JsonValue } from '../attest/json.js';
import { BubblewrapProvider } from '../sandbox/bubblewrap.js';
import type { ExecResult } from '../sandbox/types.js';
import { buildWeightIndex, inspectOutputs, publicRefusal, type Refusal, type WeightIndex } from './airlock.js';
import type { EnclaveConfig } from './config.js';
import { RESULT_SCHEMA, digestJsonOf, digestOf, jobSchema, resultRequestSchema, submitSchema, type Job, type JobStatus, type Receipt } from './job.js';
import { readSafetensors, tensorF32 } from './safetensors.js';
import { EnclaveStore, type JobRow } from './store.js';
import type { Tensors } from './testmodel.js';

/**
 * `assay enclave serve`: the developer's white-box research environment (docs/enclave.md). It is
 * an upstream of the gateway (`whiteBox: {enclave-job: /v1/enclave/jobs, enclave-result:
 * /v1/enclave/result}`), reachable only with the key the gateway presents; testers reach it only
 * through the gateway with a white-box grant, so every submission and every answer is a committed
 * access-log record. The gateway names the grant, the tester and the grant's enclave terms in
 * headers (`x-assay-grant`, `x-assay-tester`, `x-assay-grant-enclave`).
 *
 * A job runs in a fresh bubblewrap sandbox (src/sandbox): the model directory bound read-only at
 * /model, the runtime at /opt/assay, no network, the enclave's limits; the sandbox is destroyed
 * afterwards (its PID namespace, cgroup and workspace with it). Its declared outputs then pass
 * the airlock (airlock.ts), the grant's cumulative release cap and, where required, a reviewer.
 * Anything else it wrote or printed stays inside (stderr's tail is kept for the developer only).
 */

// From the package root, not from this module: the bundled CLI (dist-cli/) sits at another depth than src/ or dist/.
export const RUNTIME_FILE = join(ASSAY_ROOT, 'python', 'assay_whitebox.py');

export interface EnclaveOptions {
  config: EnclaveConfig;
  env?: NodeJS.ProcessEnv;
  listen?: { host?: string; port?: number };
  /** Where job events are written (default stderr). */
  log?: (line: string) => void;
}

export interface RunningEnclave {
  url: string;
  port: number;
  store: EnclaveStore;
  close(): Promise<void>;
}

interface LoadedModel {
  name: string;
  dir: string;
  weights: string;
  index: WeightIndex;
}

type Answer = { status: number; body: Record<string, unknown> };

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Errno numbers a job's last Python exception may name, and what they mean here. */
const ERRNO: Record<string, [string, string]> = {
  '101': ['network', 'network is unreachable: jobs have no network'],
  '111': ['network', 'connection refused: jobs have no network (only their own empty loopback)'],
  '99': ['network', 'cannot assign address: jobs have no network'],
  '-2': ['network', 'name resolution failed: jobs have no network'],
  '-3': ['network', 'name resolution failed: jobs have no network'],
  '30': ['filesystem', 'read-only file system: jobs may write only their workspace (/workspace) and /tmp'],
  '13': ['filesystem', 'permission denied: jobs may write only their workspace (/workspace) and /tmp'],
  '1': ['filesystem', 'operation not permitted (sandbox policy)'],
  '28': ['disk_limit', 'no space left: the workspace or /tmp is full (disk limit)'],
  '122': ['disk_limit', 'disk quota exceeded (disk limit)'],
  '27': ['disk_limit', 'file too large (file size limit)'],
  '11': ['process_limit', 'resource temporarily unavailable (process limit)'],
};
const EXCEPTIONS = new Set(['OSError', 'PermissionError', 'ConnectionRefusedError', 'ConnectionError', 'TimeoutError', 'FileNotFoundError', 'MemoryError', 'ValueError', 'KeyError', 'IndexError', 'TypeError', 'RuntimeError', 'ZeroDivisionError', 'AssertionError', 'NameError', 'AttributeError', 'ImportError', 'ModuleNotFoundError', 'SyntaxError', 'IndentationError', 'RecursionError', 'NotImplementedError', 'Exception', 'SystemExit', 'KeyboardInterrupt', 'BlockingIOError', 'socket.gaierror', 'gaierror', 'FloatingPointError', 'OverflowError', 'UnicodeDecodeError', 'UnicodeEncodeError', 'StopIteration', 'LinAlgError', 'numpy.linalg.LinAlgError']);

/**
 * Why a job failed, in words the enclave chooses (never the job's own text: stderr could carry
 * anything). The job's last exception class is named only when it is a built-in one.
 */
export function classifyFailure(r: ExecResult, limits: { timeoutS: number; memoryBytes: number }): { code: string; message: string } | null {
  if (r.timedOut) return { code: 'time_limit', message: `the job ran past its wall-clock limit of ${limits.timeoutS} s and was killed (its whole process tree with it)` };
  if (r.outputLimitHit) return { code: 'output_flood', message: 'the job wrote more than the output cap to stdout/stderr and was killed (console output never leaves the enclave; use declared outputs)' };
  if (r.signal === 'SIGXCPU' || r.exitCode === 128 + 24 || r.exitCode === 152) return { code: 'cpu_limit', message: 'the job used up its CPU-time limit and was killed' };
  if (r.signal === 'SIGKILL' || r.exitCode === 137) return { code: 'killed', message: `the job was killed by SIGKILL: most often the memory limit (${limits.memoryBytes} bytes for the sandbox) or the process limit` };
  if (r.signal) return { code: 'killed', message: `the job was killed by ${r.signal}` };
  if (r.workspaceLimitHit) return { code: 'disk_limit', message: 'the job filled its workspace (disk limit)' };
  if (r.exitCode === 0) return null;
  const lines = r.stderr.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const m = /^([A-Za-z_][\w.]*)(?::\s*(?:\[Errno (-?\d+)\])?)?/.exec(last);
  const exc = m && EXCEPTIONS.has(m[1]!) ? m[1]! : null;
  const errnoM = /\[Errno (-?\d+)\]/.exec(last) ?? (exc && /gaierror/.test(exc) ? [null, /(-?\d+)/.exec(last)?.[1] ?? '-3'] : null);
  const e = errnoM ? ERRNO[String(errnoM[1])] : undefined;
  // No exit status and no text of the job's own in these messages: each would be a channel around the release cap.
  if (exc === 'MemoryError') return { code: 'memory_limit', message: `the job ran out of memory (limit ${limits.memoryBytes} bytes)` };
  if (e) return { code: e[0], message: `the job failed after ${exc ?? 'an error'} errno ${errnoM![1]}: ${e[1]}` };
  return { code: 'job_failed', message: `the job failed${exc ? ` after an uncaught ${exc}` : ''} (its console output stays in the enclave)` };
}

export async function startEnclave(o: EnclaveOptions): Promise<RunningEnclave> {
  const cfg = o.config;
  const env = o.env ?? process.env;
  const log = o.log ?? ((l: string) => void process.stderr.write(`assay enclave: ${l}\n`));
  const key = env[cfg.apiKeyEnv];
  if (!key || key.length < 16) throw new AssayError('ENCLAVE_CONFIG', `$${cfg.apiKeyEnv} must hold the key the gateway presents (16 characters or more)`, { field: 'apiKeyEnv' });

  // Models: parsed, digested and indexed for the airlock once.
  const models = new Map<string, LoadedModel>();
  for (const [name, dir] of Object.entries(cfg.models)) {
    const file = join(dir, 'model.safetensors');
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
      JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    } catch (e) {
      throw new AssayError('ENCLAVE_CONFIG', `model "${name}": ${(e as Error).message}`, { file: dir, field: `models.${name}` });
    }
    const st = readSafetensors(bytes, file);
    const t: Tensors = {};
    for (const n of st.tensors.keys()) if (st.tensors.get(n)!.dtype === 'F32') t[n] = tensorF32(st, n);
    models.set(name, { name, dir, weights: digestOf(bytes), index: buildWeightIndex(t) });
  }

  const limits = cfg.limits;
  const provider = await BubblewrapProvider.create({
    ...(cfg.sandboxDir ? { baseDir: cfg.sandboxDir } : {}),
    limits: { timeoutMs: limits.timeoutS * 1000, cpuSeconds: limits.cpuSeconds, memoryBytes: limits.memoryBytes, cpus: limits.cpus, workspaceBytes: limits.workspaceBytes, maxFileBytes: limits.workspaceBytes, maxProcesses: limits.maxProcesses },
  });
  // The runtime, copied where the sandbox user can read it (the repository may not be reachable for uid 65534).
  const runtimeBytes = readFileSync(RUNTIME_FILE);
  const runtimeDigest = digestOf(runtimeBytes);
  const runtimeDir = join(provider.baseDir, `.enclave-runtime-${runtimeDigest.slice(7, 23)}`);
  mkdirSync(runtimeDir, { recursive: true, mode: 0o755 });
  chmodSync(runtimeDir, 0o755);
  copyFileSync(RUNTIME_FILE, join(runtimeDir, 'assay_whitebox.py'));
  chmodSync(join(runtimeDir, 'assay_whitebox.py'), 0o644);

  const store = new EnclaveStore(cfg.state);
  const binds = (m: LoadedModel) => [
    { host: m.dir, path: '/model' },
    { host: runtimeDir, path: '/opt/assay' },
  ];
  const jobEnv = { PYTHONPATH: '/opt/assay', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', ASSAY_MODEL_DIR: '/model' };

  // Start-up probe: the sandbox user can read the weights and import numpy and the runtime.
  for (const m of models.values()) {
    const sbx = await provider.create({ readOnly: binds(m) });
    try {
      const r = await sbx.exec(`test -r /model/model.safetensors || { echo "cannot read /model/model.safetensors" >&2; exit 3; }; exec ${cfg.python} -B -s -c 'import numpy, assay_whitebox'`, { env: jobEnv });
      if (r.exitCode !== 0) throw new AssayError('ENCLAVE_UNAVAILABLE', `model "${m.name}": a sandboxed job cannot load the runtime or the weights (${(r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`).slice(0, 300)}); the model directory and every directory above it must be readable by the sandbox user (host uid 65534), and ${cfg.python} must have numpy (apt-get install python3-numpy)`, { file: m.dir });
    } finally {
      await sbx.destroy();
    }
  }

  // Jobs one at a time (or `concurrency`): each gets the whole sandbox budget.
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    if (running >= cfg.concurrency) await new Promise<void>((r) => waiting.push(r));
    running++;
  };
  const unslot = () => {
    running--;
    waiting.shift()?.();
  };

  const app = Fastify({ bodyLimit: cfg.maxProgramBytes + cfg.maxInputsBytes + (64 << 10) });
  const keyBuf = Buffer.from(key);
  const authOk = (req: FastifyRequest) => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer (\S+)$/.exec(h) : null;
    const got = Buffer.from(m?.[1] ?? '');
    return got.length === keyBuf.length && timingSafeEqual(got, keyBuf);
  };
  const send = (reply: FastifyReply, a: Answer) => reply.code(a.status).header('content-type', 'application/json').send(JSON.stringify(a.body));
  const refused = (status: number, job: string | null, code: string, message: string, receipt: Receipt | null = null, output?: string): Answer => ({ status, body: { schema: RESULT_SCHEMA, job, status: 'refused', receipt, refusal: { code, message, ...(output ? { output } : {}) } } });

  function caller(req: FastifyRequest): { grant: string; tester: string; terms: { releaseBytes: number | null; review: boolean } } | string {
    const grant = req.headers['x-assay-grant'];
    if (typeof grant !== 'string' || !/^g_[0-9a-f]{32}$/.test(grant)) return 'the gateway did not name the grant (x-assay-grant); jobs are accepted only through the gateway';
    let tester = '';
    try {
      tester = decodeURIComponent(String(req.headers['x-assay-tester'] ?? ''));
    } catch {
      return 'x-assay-tester is not URI-encoded';
    }
    let terms: { releaseBytes: number | null; review: boolean } = { releaseBytes: null, review: false };
    const raw = req.headers['x-assay-grant-enclave'];
    if (typeof raw === 'string' && raw !== 'null') {
      try {
        const t = JSON.parse(raw) as { releaseBytes?: unknown; review?: unknown };
        terms = { releaseBytes: typeof t.releaseBytes === 'number' ? t.releaseBytes : null, review: t.review === true };
      } catch {
        return 'x-assay-grant-enclave is not JSON';
      }
    }
    return { grant, tester, terms };
  }

  async function runJob(id: string, job: Job, m: LoadedModel): Promise<{ exec: ExecResult | null; found: Record<string, JsonValue | undefined>; failure: { code: string; message: string } | null; unreadable: { output: string; message: string } | null }> {
    const timeoutS = Math.min(job.limits.timeoutS ?? limits.timeoutS, limits.timeoutS);
    const memoryBytes = Math.min(job.limits.memoryBytes ?? limits.memoryBytes, limits.memoryBytes);
    const sbx = await provider.create({
      files: { 'job.py': job.program, 'inputs.json': canonicalJson(job.inputs ?? {}) },
      limits: { timeoutMs: Math.ceil(timeoutS * 1000), memoryBytes },
      readOnly: binds(m),
    });
    try {
      const cmd = `exec ${cfg.python} -B -s job.py ${job.args.map(shq).join(' ')}`;
      const r = await sbx.exec(cmd, { env: { ...jobEnv, ASSAY_JOB: id } });
      const failure = classifyFailure(r, { timeoutS, memoryBytes });
      const found: Record<string, JsonValue | undefined> = {};
      let unreadable: { output: string; message: string } | null = null;
      if (!failure) {
        const listing = await sbx.listFiles('outputs').catch(() => ({ files: [] as { path: string; kind: string; size: number }[] }));
        const sizes = new Map(listing.files.map((f) => [f.path.replace(/^outputs\//, ''), f]));
        for (const name of Object.keys(job.outputs)) {
          const f = sizes.get(`${name}.json`);
          if (!f || f.kind !== 'file') continue;
          // Raw JSON from the job may be longer than its canonical form (spacing, float digits), not 8 times longer.
          if (f.size > cfg.airlock.maxOutputBytes * 8 + 1024) {
            unreadable = { output: name, message: `output "${name}": the file is ${f.size} bytes, far over the cap of ${cfg.airlock.maxOutputBytes} per output` };
            break;
          }
          try {
            found[name] = parseStrictJson(await sbx.readFile(`outputs/${name}.json`));
          } catch (e) {
            unreadable = { output: name, message: `output "${name}" is not valid JSON: ${(e as Error).message.slice(0, 200)}` };
            break;
          }
        }
      }
      return { exec: r, found, failure, unreadable };
    } finally {
      await sbx.destroy();
    }
  }

  async function submit(req: FastifyRequest): Promise<Answer> {
    const who = caller(req);
    if (typeof who === 'string') return refused(400, null, 'not_via_gateway', who);
    const body = req.body as Buffer;
    let parsed: JsonValue;
    try {
      parsed = parseStrictJson(body);
    } catch (e) {
      return refused(400, null, 'invalid_request', `body is not strict JSON: ${(e as Error).message}`);
    }
    const s = submitSchema.safeParse(parsed);
    if (!s.success) return refused(400, null, 'invalid_request', `request field "${s.error.issues[0]!.path.join('.') || '(root)'}": ${s.error.issues[0]!.message} (expected {"model", "job"})`);
    const m = Object.hasOwn(cfg.models, s.data.model) ? models.get(s.data.model) : undefined;
    if (!m) return refused(404, null, 'model_not_found', `the enclave serves no model "${s.data.model}" (it serves: ${[...models.keys()].join(', ')})`);
    const j = jobSchema.safeParse(s.data.job);
    if (!j.success) {
      const i = j.error.issues[0]!;
      return refused(400, null, 'invalid_job', `job field "${['job', ...i.path].join('.')}": ${i.message}`);
    }
    const job = j.data;
    const programBytes = Buffer.byteLength(job.program);
    if (programBytes > cfg.maxProgramBytes) return refused(413, null, 'program_too_large', `the program is ${programBytes} bytes; the cap is ${cfg.maxProgramBytes}`);
    const inputsBytes = Buffer.byteLength(canonicalJson(job.inputs ?? {}));
    if (inputsBytes > cfg.maxInputsBytes) return refused(413, null, 'inputs_too_large', `the inputs are ${inputsBytes} bytes; the cap is ${cfg.maxInputsBytes}`);

    const id = `j_${randomBytes(12).toString('hex')}`;
    const cap = Math.min(who.terms.releaseBytes ?? cfg.airlock.releaseBytesPerGrant, cfg.airlock.releaseBytesPerGrant);
    const receipt: Receipt = {
      job: id, grant: who.grant, model: m.name, weights: m.weights, runtime: runtimeDigest,
      codeDigest: digestOf(job.program), argsDigest: digestJsonOf(job.args), inputsDigest: digestJsonOf(job.inputs ?? {}), outputsDeclared: digestJsonOf(job.outputs),
      outputs: {}, grantReleasedBytes: store.grantBytes(who.grant), grantReleaseCap: cap,
    };
    const rid = req.headers['x-assay-request-id'];
    store.insert({ id, request_id: typeof rid === 'string' ? rid.slice(0, 128) : null, grant: who.grant, tester: who.tester, model: m.name, submitted_at: new Date().toISOString(), code_digest: receipt.codeDigest, request_digest: digestJsonOf(parsed) });
    /** `refusal.message` is the detail (ledger, log: developer only); `publicMessage` what the tester is told. */
    const done = (status: JobStatus, f: { refusal?: { code: string; message: string; output?: string }; publicMessage?: string; outputs?: Record<string, string>; bytes?: number; exec?: unknown }) => {
      store.finish(id, { status, receipt, outputs: f.outputs ?? null, releasedBytes: f.bytes ?? 0, refusalCode: f.refusal?.code ?? null, refusal: f.refusal?.message ?? null, refusalPublic: f.publicMessage ?? f.refusal?.message ?? null, exec: f.exec ?? null });
      const ms = (f.exec as { durationMs?: number } | undefined)?.durationMs;
      log(`job ${id} request ${typeof rid === 'string' ? rid : '-'} grant ${who.grant} tester ${JSON.stringify(who.tester)} code ${receipt.codeDigest} → ${status}${f.refusal ? ` (${f.refusal.code}: ${f.refusal.message})` : ''}${f.bytes ? ` ${f.bytes} bytes` : ''}${ms !== undefined ? ` in ${ms} ms` : ''}`);
    };

    await slot();
    let ran;
    try {
      ran = await runJob(id, job, m);
    } catch (e) {
      const msg = 'the enclave could not run the job (an error of the enclave, not of the job; the developer has the details)';
      done('refused', { refusal: { code: 'enclave_error', message: (e as Error).message }, publicMessage: msg });
      return refused(500, id, 'enclave_error', msg, receipt);
    } finally {
      unslot();
    }
    const r = ran.exec!;
    const execFacts = { exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, durationMs: r.durationMs, stdoutBytes: r.stdoutBytes, stderrBytes: r.stderrBytes, stderrTail: r.stderr.slice(-2048), stdoutDigest: digestOf(r.stdout) };
    if (ran.failure) {
      done('refused', { refusal: ran.failure, exec: execFacts });
      return refused(422, id, ran.failure.code, ran.failure.message, receipt);
    }
    if (ran.unreadable) {
      const code = /far over the cap/.test(ran.unreadable.message) ? 'output_too_large' : 'schema';
      const msg = publicRefusal({ code, output: ran.unreadable.output }, cfg.airlock);
      done('refused', { refusal: { code, ...ran.unreadable }, publicMessage: msg, exec: execFacts });
      return refused(422, id, code, msg, receipt, ran.unreadable.output);
    }
    const a = inspectOutputs(job.outputs, ran.found, m.index, cfg.airlock);
    if (!a.ok) {
      const f: Refusal = a.refusal;
      const msg = publicRefusal(f, cfg.airlock);
      done('refused', { refusal: f, publicMessage: msg, exec: execFacts });
      return refused(422, id, f.code, msg, receipt, f.output);
    }
    // The grant's cumulative cap: checked and taken in one synchronous step (no await between).
    const used = store.grantBytes(who.grant);
    if (used + a.bytes > cap) {
      receipt.grantReleasedBytes = used;
      const msg = publicRefusal({ code: 'release_cap' }, { ...cfg.airlock, releaseCap: cap });
      done('refused', { refusal: { code: 'release_cap', message: `releasing ${a.bytes} more bytes would take this grant to ${used + a.bytes} of its cap of ${cap}` }, publicMessage: msg, exec: execFacts });
      return refused(422, id, 'release_cap', msg, receipt);
    }
    // Digests of outputs enter the receipt only when they are released or held (a refused output's digest would leak it).
    const publicReceipt = { ...receipt, outputs: {} };
    for (const [n, out] of Object.entries(a.outputs)) receipt.outputs[n] = { digest: digestOf(out.text), bytes: out.bytes };
    receipt.grantReleasedBytes = used + a.bytes;
    const texts = Object.fromEntries(Object.entries(a.outputs).map(([n, v]) => [n, v.text]));
    const review = cfg.airlock.review === 'always' || (cfg.airlock.review === 'grant' && who.terms.review);
    if (review) {
      done('awaiting_review', { outputs: texts, bytes: a.bytes, exec: execFacts });
      // Held: the tester learns nothing of the outputs (not even digests) unless they are approved.
      return { status: 202, body: { schema: RESULT_SCHEMA, job: id, status: 'awaiting_review', receipt: { ...publicReceipt, grantReleasedBytes: used }, message: 'the outputs passed the airlock and wait for a developer reviewer; fetch them with enclave-result' } };
    }
    done('released', { outputs: texts, bytes: a.bytes, exec: execFacts });
    return { status: 200, body: { schema: RESULT_SCHEMA, job: id, status: 'released', receipt, outputs: Object.fromEntries(Object.entries(a.outputs).map(([n, v]) => [n, v.value])) } };
  }

  function result(req: FastifyRequest): Answer {
    const who = caller(req);
    if (typeof who === 'string') return refused(400, null, 'not_via_gateway', who);
    let parsed: JsonValue;
    try {
      parsed = parseStrictJson(req.body as Buffer);
    } catch (e) {
      return refused(400, null, 'invalid_request', `body is not strict JSON: ${(e as Error).message}`);
    }
    const s = resultRequestSchema.safeParse(parsed);
    if (!s.success) return refused(400, null, 'invalid_request', `request field "${s.error.issues[0]!.path.join('.') || '(root)'}": ${s.error.issues[0]!.message} (expected {"model", "job": "j_…"} or {"model", "submission": "<request id>"})`);
    const row: JobRow | undefined = s.data.job !== undefined ? store.get(s.data.job) : store.byRequest(s.data.submission!);
    // Another grant's job is indistinguishable from no job.
    const asked = s.data.job ?? `for submission ${s.data.submission}`;
    if (!row || row.grant !== who.grant) return refused(404, s.data.job ?? null, 'job_not_found', `no job ${asked} under this grant`);
    const full = row.receipt_json ? (JSON.parse(row.receipt_json) as Receipt) : null;
    const shown = row.status === 'released' || row.status === 'approved';
    const receipt = full && !shown ? { ...full, outputs: {}, grantReleasedBytes: full.grantReleasedBytes - Object.values(full.outputs).reduce((n, o) => n + o.bytes, 0) } : full;
    const base = { schema: RESULT_SCHEMA, job: row.id, receipt };
    switch (row.status) {
      case 'running':
        return { status: 202, body: { ...base, status: 'running' } };
      case 'awaiting_review':
        return { status: 202, body: { ...base, status: 'awaiting_review' } };
      case 'rejected':
        return { status: 403, body: { ...base, status: 'rejected', refusal: { code: 'review_rejected', message: `a developer reviewer rejected the release${row.review_note ? `: ${row.review_note}` : ''}; nothing was released` } } };
      case 'refused':
        return refused(422, row.id, row.refusal_code ?? 'refused', row.refusal_public ?? 'refused', receipt);
      default: {
        const texts = JSON.parse(row.outputs_json ?? '{}') as Record<string, string>;
        return { status: 200, body: { ...base, status: row.status, outputs: Object.fromEntries(Object.entries(texts).map(([n, t]) => [n, JSON.parse(t) as unknown])) } };
      }
    }
  }

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async (req, reply) => {
    if (!authOk(req)) return reply.code(401).header('content-type', 'application/json').send(JSON.stringify({ schema: RESULT_SCHEMA, job: null, status: 'refused', refusal: { code: 'unauthorized', message: 'the enclave accepts requests only from its gateway (Authorization: Bearer <key>)' } }));
  });
  app.post('/v1/enclave/jobs', async (req, reply) => send(reply, await submit(req)));
  app.post('/v1/enclave/result', async (req, reply) => send(reply, result(req)));

  try {
    await app.listen({ host: o.listen?.host ?? cfg.listen.host, port: o.listen?.port ?? cfg.listen.port });
  } catch (e) {
    store.close();
    await provider.close();
    throw e;
  }
  const addr = app.server.address() as AddressInfo;
  log(`serving ${[...models.values()].map((m) => `${m.name} (${m.weights})`).join(', ')} at http://${addr.address}:${addr.port}; sandbox ${provider.isolation.backend}, seccomp ${provider.isolation.seccomp}, memory ${provider.isolation.memory}`);
  return {
    url: `http://${addr.address}:${addr.port}`,
    port: addr.port,
    store,
    async close() {
      await app.close();
      await provider.close();
      store.close();
    },
  };
}
