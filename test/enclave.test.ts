import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canonicalJson, sha256Hex } from '../src/common/canonical.js';
import { openRecord, recordSchema } from '../src/gateway/commit.js';
import { formatExport, signHead, verifyExport, verifyOpening } from '../src/gateway/head.js';
import { parseEnclaveConfig } from '../src/enclave/config.js';
import { ledgerEntrySchema } from '../src/enclave/job.js';
import { referenceForward } from '../src/enclave/reference.js';
import { readSafetensors, tensorF32 } from '../src/enclave/safetensors.js';
import { startEnclave, type RunningEnclave } from '../src/enclave/server.js';
import { EnclaveStore } from '../src/enclave/store.js';
import { TEST_MODEL_CONFIG, writeTestModel, type Tensors } from '../src/enclave/testmodel.js';
import { BubblewrapProvider } from '../src/sandbox/bubblewrap.js';
import { startFixture, type Fixture } from './gateway-fixture.js';
import { requireService, tmp } from './helpers.js';

/**
 * End to end: a tester submits jobs through the gateway (white-box grant) to the enclave, which
 * runs them in the bubblewrap sandbox next to the generated test model; only airlocked, declared
 * outputs come back; every exchange is a committed access-log record the tester can open.
 */
const PY = '/usr/bin/python3';
async function available(): Promise<true | string> {
  if (spawnSync(PY, ['-c', 'import numpy'], { encoding: 'utf8' }).status !== 0) return `${PY} has no numpy (apt-get install python3-numpy)`;
  try {
    const p = await BubblewrapProvider.create({ sweep: false });
    await p.close();
    return true;
  } catch (e) {
    return (e as Error).message;
  }
}
const need = requireService('bubblewrap + numpy (enclave)', await available());

const KEY_ENV = 'ASSAY_ENCLAVE_TEST_KEY';
const CAP = 6000;

const PROBE = `
import sys, numpy as np, assay_whitebox as wb
layer = int(sys.argv[1])
m = wb.load_model()
data = wb.inputs()
X = np.stack([m.run(m.encode(t), capture=[f"blocks.{layer}.resid_post"]).cache[f"blocks.{layer}.resid_post"].mean(axis=0) for t in data["texts"]])
y = np.array(data["labels"], dtype=np.float64)
X = X.astype(np.float64)
w = np.zeros(X.shape[1]); b = 0.0
for _ in range(3000):
    p = 1 / (1 + np.exp(-(X @ w + b)))
    w -= 0.5 * X.T @ (p - y) / len(y); b -= 0.5 * float(np.mean(p - y))
acc = float(np.mean(((X @ w + b) > 0) == (y > 0.5)))
wb.emit("accuracy", acc)
wb.emit("probe", {"direction": [float(v) for v in w], "bias": b})
# Undeclared and console output never leave.
open("outputs/weights.json", "w").write("[1,2,3]")
print(open("/model/model.safetensors", "rb").read()[:4096].hex())
`;
const PROBE_OUTPUTS = { accuracy: { type: 'number' }, probe: { type: 'object', properties: { direction: { type: 'array', items: { type: 'number' }, maxItems: 32 }, bias: { type: 'number' } } } };

const texts: string[] = [];
const labels: number[] = [];
for (let i = 0; i < 24; i++) {
  const words = ['apple', 'river', 'stone', 'cloud', 'green', 'light', 'sound', 'paper'];
  const base = `${words[i % 8]} ${words[(i * 3 + 1) % 8]}`;
  const digit = i % 2 === 0;
  texts.push(digit ? `${base} ${(i * 7919) % 1000}` : `${base} ${words[(i * 5 + 2) % 8]}`);
  labels.push(digit ? 1 : 0);
}

describe('enclave: white-box jobs through the gateway', need, () => {
  let f: Fixture;
  let enc: RunningEnclave;
  let modelDir: string;
  let weightsDigest: string;
  let tensors: Tensors;
  const events: string[] = [];
  let g: Awaited<ReturnType<Fixture['grant']>>;
  const sent = new Map<string, { body: string; text: string }>();
  let jobsOfG = 0;

  before(async () => {
    modelDir = tmp('assay-enclave-model-');
    chmodSync(modelDir, 0o755);
    weightsDigest = writeTestModel(modelDir).digest;
    const st = readSafetensors(readFileSync(join(modelDir, 'model.safetensors')));
    tensors = {};
    for (const n of st.tensors.keys()) tensors[n] = tensorF32(st, n);
    const state = tmp('assay-enclave-state-');
    process.env[KEY_ENV] = randomBytes(24).toString('base64url');
    const cfg = parseEnclaveConfig({ schema: 'assay.enclave-config/v1', state, apiKeyEnv: KEY_ENV, models: { tiny: modelDir }, listen: { port: 0 }, limits: { timeoutS: 20, memoryBytes: 768 << 20 }, airlock: { maxOutputBytes: 8192, maxJobBytes: 16384, releaseBytesPerGrant: CAP } });
    enc = await startEnclave({ config: cfg, log: (l) => events.push(l) });
    f = await startFixture({ config: { upstreams: { enc: { openai: `${enc.url}/v1`, apiKeyEnv: KEY_ENV, timeoutS: 120, whiteBox: { 'enclave-job': '/v1/enclave/jobs', 'enclave-result': '/v1/enclave/result' } } }, models: { tiny: { upstream: 'enc' } } } });
    g = await f.grant({ level: 'white-box', models: ['tiny'] });
  });
  after(async () => {
    await f?.close();
    await enc?.close();
  });

  const post = async (key: string, name: string, body: unknown) => {
    const text = JSON.stringify(body);
    const r = await fetch(`${f.gw.url}/v1/white-box/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: text });
    const out = await r.text();
    const id = r.headers.get('x-assay-request-id')!;
    if (key === g.key && name === 'enclave-job') jobsOfG++;
    sent.set(id, { body: text, text: out });
    return { status: r.status, body: JSON.parse(out) as any, requestId: id };
  };
  const job = (program: string, outputs: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ schema: 'assay.enclave-job/v1', language: 'python', program, outputs, ...more });
  const submit = (program: string, outputs: Record<string, unknown>, more: Record<string, unknown> = {}, key = g.key) => post(key, 'enclave-job', { model: 'tiny', job: job(program, outputs, more) });
  /** `re`: the tester's message; `detail`: the developer's (ledger), which the tester must not see. */
  const refusedWith = (r: { status: number; body: any }, code: string, re?: RegExp, detail?: RegExp) => {
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.status, 'refused');
    assert.equal(r.body.refusal.code, code, r.body.refusal.message);
    if (re) assert.match(r.body.refusal.message, re);
    assert.equal(r.body.outputs, undefined, 'nothing released');
    assert.deepEqual(r.body.receipt.outputs, {}, 'no digest of a refused output');
    const row = enc.store.get(r.body.job)!;
    assert.equal(row.status, 'refused');
    assert.equal(row.refusal_code, code);
    if (detail) {
      assert.match(row.refusal!, detail);
      assert.doesNotMatch(JSON.stringify(r.body), detail, 'the detail stays with the developer');
    }
  };

  it('a linear probe on layer-1 activations returns exactly its declared outputs, and they are right', async () => {
    const r = await submit(PROBE, PROBE_OUTPUTS, { args: ['1'], inputs: { texts, labels } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'released');
    assert.deepEqual(Object.keys(r.body.outputs).sort(), ['accuracy', 'probe'], 'only declared outputs: not weights.json, not stdout');
    assert.ok(!JSON.stringify(r.body).includes('0000'), 'the header bytes the job printed are not in the answer');
    const { direction, bias } = r.body.outputs.probe;
    assert.equal(direction.length, 32);
    // Recompute the probe's accuracy from the independent TypeScript forward pass: the numbers are real.
    let correct = 0;
    texts.forEach((t, i) => {
      const act = referenceForward(TEST_MODEL_CONFIG, tensors, [...Buffer.from(t)]).cache['blocks.1.resid_post'] as number[][];
      const mean = act[0]!.map((_, j) => act.reduce((a, row) => a + row[j]!, 0) / act.length);
      const score = mean.reduce((a, v, j) => a + v * direction[j], bias);
      if ((score > 0) === (labels[i] === 1)) correct++;
    });
    assert.equal(correct / texts.length, r.body.outputs.accuracy);
    assert.ok(r.body.outputs.accuracy >= 0.75, `probe accuracy ${r.body.outputs.accuracy}`);
    // The receipt names what ran and what left.
    const rc = r.body.receipt;
    assert.equal(rc.codeDigest, `sha256:${sha256Hex(PROBE)}`);
    assert.equal(rc.weights, weightsDigest);
    assert.equal(rc.inputsDigest, `sha256:${sha256Hex(canonicalJson({ texts, labels }))}`);
    for (const n of ['accuracy', 'probe']) assert.equal(rc.outputs[n].digest, `sha256:${sha256Hex(canonicalJson(r.body.outputs[n]))}`);
  });

  it('stops weight exfiltration: whole, in chunks, rounded, encoded in an allowed output', async () => {
    const W = `import numpy as np, assay_whitebox as wb\nw = wb.read_safetensors("/model/model.safetensors")\nraw = open("/model/model.safetensors", "rb").read()\n`;
    // Whole file, as one string.
    refusedWith(await submit(`${W}import base64\nwb.emit("blob", base64.b64encode(raw).decode())`, { blob: { type: 'string', maxLength: 1 << 20 } }), 'output_too_large', /over the cap of 8192 bytes per output/, /the file is \d+ bytes|\d+ bytes, the cap/);
    // A whole tensor, shaped as itself (rounded to 2 decimals, which no value rule matches: the shape gives it away).
    refusedWith(await submit(`${W}wb.emit("m", [[round(float(v), 2) for v in row] for row in w["h.0.attn.c_proj.weight"]])`, { m: { type: 'array', maxItems: 64, items: { type: 'array', maxItems: 64, items: { type: 'number' } } } }), 'weight_shape', /shaped like a weight tensor/, /\[32, 32\]/);
    // A chunk of values, flat.
    refusedWith(await submit(`${W}wb.emit("xs", w["wte.weight"].ravel()[1000:1400].tolist())`, { xs: { type: 'array', maxItems: 512, items: { type: 'number' } } }), 'weight_values', /equal to consecutive weights/, /float32/);
    // A column, read down the matrix (column order).
    refusedWith(await submit(`${W}wb.emit("xs", w["h.1.mlp.c_fc.weight"][:, 7].tolist())`, { xs: { type: 'array', maxItems: 512, items: { type: 'number' } } }), 'weight_values');
    // Rounded to 4 decimals to dodge an exact match.
    refusedWith(await submit(`${W}wb.emit("xs", [round(float(v), 4) for v in w["wte.weight"].ravel()[5000:5300]])`, { xs: { type: 'array', maxItems: 512, items: { type: 'number' } } }), 'weight_values', undefined, /rounded to 3 decimals/);
    // Numbers written inside an allowed text output.
    refusedWith(await submit(`${W}wb.emit("note", " ".join("%.6f" % v for v in w["h.0.ln_1.weight"][:20]))`, { note: { type: 'string', maxLength: 4096 } }), 'weight_values');
    // Bytes encoded as base64 and as hex in a declared string.
    refusedWith(await submit(`${W}import base64\nwb.emit("note", "summary: " + base64.b64encode(raw[9000:10500]).decode())`, { note: { type: 'string', maxLength: 4096 } }), 'encoded_data', /encoded binary data/, /decodes to bytes of the model's weights/);
    refusedWith(await submit(`${W}wb.emit("note", raw[20000:21000].hex())`, { note: { type: 'string', maxLength: 4096 } }), 'encoded_data');
    // An activation that is a weight (the embedding hook returns rows of wte).
    refusedWith(await submit(`${W}m = wb.load_model()\nwb.emit("e", m.run([65, 66], capture=["embed"]).cache["embed"][0].tolist())`, { e: { type: 'array', maxItems: 32, items: { type: 'number' } } }), 'weight_values');
    // Schema: a declared number that is an array; a missing output.
    refusedWith(await submit(`${W}wb.emit("x", [1, 2])`, { x: { type: 'number' } }), 'schema', /declared schema/, /\$: expected a number/);
    refusedWith(await submit(`${W}pass`, { x: { type: 'number' } }), 'missing_output');
    // An output that is a symlink to the weights, or a FIFO, is never followed or read.
    refusedWith(await submit('import os\nos.makedirs("outputs")\nos.symlink("/model/model.safetensors", "outputs/x.json")', { x: { type: 'string', maxLength: 1 << 20 } }), 'missing_output');
    refusedWith(await submit('import os\nos.makedirs("outputs")\nos.mkfifo("outputs/x.json")', { x: { type: 'number' } }), 'missing_output');
  });

  it('a disguised chunked copy (rescaled values) passes each job but stops at the grant\'s cumulative cap', async () => {
    const g2 = await f.grant({ level: 'white-box', models: ['tiny'] });
    const prog = (i: number) => `import numpy as np, assay_whitebox as wb\nw = wb.read_safetensors("/model/model.safetensors")["wte.weight"].ravel()\nwb.emit("xs", [float(v) * 3.7 + 0.01 for v in w[${i * 100}:${(i + 1) * 100}]])`;
    const outputs = { xs: { type: 'array', maxItems: 100, items: { type: 'number' } } };
    let released = 0;
    let i = 0;
    for (; i < 10; i++) {
      const r = await submit(prog(i), outputs, {}, g2.key);
      if (r.status !== 200) {
        refusedWith(r, 'release_cap', /cumulative cap of 6000 bytes/);
        break;
      }
      released += r.body.receipt.outputs.xs.bytes;
      assert.equal(r.body.receipt.grantReleasedBytes, released);
    }
    assert.ok(i >= 1 && i < 10, `refused after ${i} jobs`);
    assert.ok(released <= CAP, `released ${released} ≤ ${CAP}`);
    assert.equal(enc.store.grantBytes(g2.claims.jti), released);
  });

  it('network and filesystem escapes fail and are refused with the reason; the weights are untouched', async () => {
    const port = new URL(f.gw.url).port;
    refusedWith(await submit(`import socket\nsocket.create_connection(("127.0.0.1", ${port}), timeout=3)`, { x: { type: 'number' } }), 'network', /no network/);
    refusedWith(await submit('import socket\nsocket.create_connection(("1.1.1.1", 443), timeout=3)', { x: { type: 'number' } }), 'network', /no network/);
    refusedWith(await submit('open("/model/model.safetensors", "r+b").write(b"x")', { x: { type: 'number' } }), 'filesystem', /only their workspace/);
    refusedWith(await submit('open("/etc/evil", "w").write("x")', { x: { type: 'number' } }), 'filesystem');
    refusedWith(await submit('import os\nos.listdir("/work")', { x: { type: 'number' } }), 'job_failed', /FileNotFoundError/);
    assert.equal(`sha256:${sha256Hex(readFileSync(join(modelDir, 'model.safetensors')))}`, weightsDigest);
  });

  it('limits kill runaway jobs, and nothing is left running', async () => {
    refusedWith(await submit('while True:\n    pass', { x: { type: 'number' } }, { limits: { timeoutS: 2 } }), 'time_limit', /2 s/);
    refusedWith(await submit('xs = []\nwhile True:\n    xs.append(bytearray(64 << 20))', { x: { type: 'number' } }), 'memory_limit');
    refusedWith(await submit('open("big", "wb").write(b"x" * (200 << 20))', { x: { type: 'number' } }), 'disk_limit');
    refusedWith(await submit('import subprocess\nps = []\nwhile True:\n    ps.append(subprocess.Popen(["sleep", "100"]))', { x: { type: 'number' } }), 'process_limit', /process limit/);
    // A daemon started by a job that succeeds dies with the sandbox.
    const marker = String(70000 + Math.floor(Math.random() * 9999));
    const r = await submit(`import subprocess, assay_whitebox as wb\nsubprocess.Popen(["sleep", "${marker}"], start_new_session=True)\nwb.emit("x", 1)`, { x: { type: 'number' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const alive = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
      } catch {
        return false;
      }
    });
    assert.equal(alive, false, 'the daemon died with the job');
  });

  it('review: held outputs leave only after a developer approves; a rejection releases nothing', async () => {
    const rg = await f.grant({ level: 'white-box', models: ['tiny'], enclave: { releaseBytes: 4000, review: true } });
    const a = await submit('import assay_whitebox as wb\nwb.emit("x", 41.5)', { x: { type: 'number' } }, {}, rg.key);
    assert.equal(a.status, 202);
    assert.equal(a.body.status, 'awaiting_review');
    assert.equal(a.body.outputs, undefined);
    assert.deepEqual(a.body.receipt.outputs, {}, 'held outputs: not even their digests leave before approval');
    const fetchResult = (id: string) => post(rg.key, 'enclave-result', { model: 'tiny', job: id });
    assert.equal((await fetchResult(a.body.job)).status, 202);
    // Another grant cannot see the job.
    assert.equal((await post(g.key, 'enclave-result', { model: 'tiny', job: a.body.job })).status, 404);
    const reviewer = new EnclaveStore(enc.store.dir); // as the CLI does: the same database, another connection
    assert.equal(reviewer.decide(a.body.job, true, 'dev-reviewer', null), true);
    const got = await fetchResult(a.body.job);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.outputs, { x: 41.5 });
    assert.deepEqual(got.body.receipt.outputs, { x: { digest: `sha256:${sha256Hex('41.5')}`, bytes: 4 } });
    // Also found by the submission's gateway request id (for an answer lost to a gateway timeout).
    const bySub = await post(rg.key, 'enclave-result', { model: 'tiny', submission: a.requestId });
    assert.equal(bySub.status, 200);
    assert.equal(bySub.body.job, a.body.job);
    assert.equal((await post(g.key, 'enclave-result', { model: 'tiny', submission: a.requestId })).status, 404);
    const b = await submit('import assay_whitebox as wb\nwb.emit("x", 7)', { x: { type: 'number' } }, {}, rg.key);
    assert.equal(b.status, 202);
    assert.equal(reviewer.decide(b.body.job, false, 'dev-reviewer', 'not in the agreed scope'), true);
    assert.equal(reviewer.decide(b.body.job, true, 'dev-reviewer', null), false, 'a decision is final');
    reviewer.close();
    const rej = await fetchResult(b.body.job);
    assert.equal(rej.status, 403);
    assert.match(rej.body.refusal.message, /not in the agreed scope/);
    assert.equal(rej.body.outputs, undefined);
    assert.deepEqual(rej.body.receipt.outputs, {});
    assert.equal(rej.body.receipt.grantReleasedBytes, 4, 'the rejected output\'s size does not show');
    assert.equal(enc.store.grantBytes(rg.claims.jti), 4, 'only the approved output counts');
  });

  it('only the gateway reaches the enclave, and only with white-box grants', async () => {
    const direct = await fetch(`${enc.url}/v1/enclave/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-assay-grant': g.claims.jti }, body: JSON.stringify({ model: 'tiny', job: job('pass', { x: { type: 'number' } }) }) });
    assert.equal(direct.status, 401);
    const grey = await f.grant({ level: 'grey-box', models: ['tiny'] });
    const r = await submit('pass', { x: { type: 'number' } }, {}, grey.key);
    assert.equal(r.status, 403);
    const bad = await post(g.key, 'enclave-job', { model: 'tiny', job: { ...job('pass', { 'Bad-Name': { type: 'number' } }) } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.refusal.message, /job field "job.outputs.Bad-Name"|output names/);
  });

  it('every job is in the committed access log; the tester opens its records and they verify', async () => {
    await f.gw.flush();
    const stored = await f.store.records();
    const recs = stored.map((r) => recordSchema.parse(JSON.parse(r.text)));
    const head = signHead(f.signer, { gateway: f.config.id, size: recs.length, head: f.gw.head().head, time: new Date().toISOString() });
    const log = verifyExport(formatExport({ gateway: f.config.id, publicKey: f.signer.publicKey, records: stored.map((r) => r.text), signedHead: head.envelope }), f.signer.publicKey);
    const mine = recs.filter((r) => r.grant === g.claims.jti && r.endpoint === 'white-box:enclave-job');
    assert.ok(jobsOfG >= 20);
    assert.equal(mine.length, jobsOfG, 'one record per job submitted with this grant');
    let probe = 0;
    for (const rec of mine) {
      const s = sent.get(rec.requestId)!;
      const opening = openRecord(rec, g.commitKey, s.body, s.text);
      assert.deepEqual(verifyOpening(opening, log), []);
      const req = JSON.parse(opening.request.content);
      const resp = JSON.parse(opening.response!.content);
      if (resp.receipt) assert.equal(resp.receipt.codeDigest, `sha256:${sha256Hex(req.job.program)}`, 'the log binds the code to its receipt');
      if (req.job.program === PROBE) {
        probe++;
        assert.equal(rec.status, 200);
        for (const [n, o] of Object.entries(resp.receipt.outputs as Record<string, { digest: string }>)) assert.equal(o.digest, `sha256:${sha256Hex(canonicalJson(resp.outputs[n]))}`);
        // The developer's ledger row names the same gateway request, and holds the released texts.
        const row = enc.store.get(resp.job)!;
        assert.equal(row.request_id, rec.requestId);
        assert.equal(row.code_digest, resp.receipt.codeDigest);
        assert.deepEqual(JSON.parse(row.receipt_json!), resp.receipt);
      }
    }
    assert.equal(probe, 1);
    // The enclave's own ledger chains every finished job and decision, and verifies.
    const v = enc.store.verifyLedger();
    assert.deepEqual(v.problems, []);
    const entries = enc.store.ledger();
    for (const e of entries) ledgerEntrySchema.parse(e);
    assert.equal(v.size, entries.length);
    assert.equal(entries.filter((e) => e.event === 'job').length, enc.store.list().length);
    assert.equal(entries.filter((e) => e.event === 'review').length, 2);
    const released = entries.filter((e) => e.event === 'job' && e.status === 'released' && e.grant === g.claims.jti);
    assert.ok(released.every((e) => mine.some((r) => r.requestId === e.requestId && r.status === 200)), 'each release names a 200 record of the access log');
    // Refusals are logged by the enclave too, with their reason.
    assert.ok(events.some((e) => /→ refused \(network: /.test(e)));
    assert.ok(events.some((e) => /→ refused \(weight_values: /.test(e)));
    if (process.env.ASSAY_ENCLAVE_EVENTS) writeFileSync(process.env.ASSAY_ENCLAVE_EVENTS, events.join('\n'));
  });
});
