import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { attestRun, bundleText, type ReportBundle } from '../src/attest/bundle.js';
import { generateSigner } from '../src/attest/keys.js';
import { logReport, refreshReportProof } from '../src/attest/tlog.js';
import { parseTrust, trustDocument, type TrustPolicy } from '../src/attest/trust.js';
import { EXIT, formatVerifyResult, verifyReport } from '../src/attest/verify.js';
import { cosigner } from '../src/tlog/cosignature.js';
import { initLog, openConfiguredLog } from '../src/tlog/config.js';
import { attestationEntry } from '../src/tlog/entry.js';
import { parseNote } from '../src/tlog/note.js';
import { readFileSync } from 'node:fs';
import { formatAddCheckpoint } from '../src/tlog/witness.js';
import { serveWitness, type ServedWitness } from '../src/tlog/witness-http.js';
import { defaultRecords, header, writeRunLog } from './attest-fixture.js';
import { tmp } from './helpers.js';

const tester = generateSigner();
const NOW = new Date('2026-06-01T00:00:00Z');
const ORIGIN = 'witness-e2e.example/log';
let runs = 0;
const report = async (): Promise<ReportBundle> =>
  (await attestRun(writeRunLog(defaultRecords(), { header: header({ runId: `r-wit-${++runs}` }) }), { signer: tester, testerName: 'Tester Lab', now: NOW })).bundle;

async function setup() {
  const home = tmp('assay-wit-e2e-');
  const dir = join(home, 'log');
  const { config } = initLog(dir, ORIGIN, join(home, 'log.pem'));
  const ws = ['w1.example', 'w2.example'].map((name) => cosigner(name, generateKeyPairSync('ed25519').privateKey));
  const served: ServedWitness[] = [];
  for (const [i, w] of ws.entries()) served.push(await serveWitness({ stateFile: join(home, `w${i}.json`), cosigner: w, logs: new Map([[ORIGIN, config.vkey]]) }));
  const trust: TrustPolicy = parseTrust(
    JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey }], logs: [{ vkey: config.vkey, witnesses: ws.map((w) => w.vkey), witnessesRequired: 2 }] })),
    'trust.json',
  );
  return { dir, vkey: config.vkey, served, trust, urls: served.map((s) => s.url), close: () => Promise.all(served.map((s) => s.close())) };
}

const verify = (b: ReportBundle, trust: TrustPolicy, log?: string) => verifyReport(Buffer.from(bundleText(b)), { trust, now: NOW, source: 'report.json', tlog: { require: true, ...(log ? { log } : {}) } });

test('two witnesses, 2-of-2 policy: attest waits for both cosignatures; without them the report fails; refresh-proof attaches a newer cosigned checkpoint', async () => {
  const s = await setup();
  try {
    // Logged without witnesses: the proof's checkpoint has no cosignature, the 2-of-2 policy fails.
    const bare = await logReport(await report(), { target: s.dir });
    const r0 = await verify(bare.bundle, s.trust);
    assert.equal(r0.exitCode, EXIT.tlog, formatVerifyResult(r0));
    assert.match(formatVerifyResult(r0), /0 of the required 2 witnesses/);

    // Logged with both witnesses: they cosign (push mode), the proof carries both cosignatures.
    const good = await logReport(await report(), { target: s.dir, witnesses: { urls: s.urls, required: 2 } });
    const r1 = await verify(good.bundle, s.trust);
    assert.equal(r1.ok, true, formatVerifyResult(r1));
    assert.deepEqual(r1.tlog?.witnesses.sort(), ['w1.example', 'w2.example']);
    // The cosignatures were attached to the log's published checkpoint too.
    assert.equal(parseNote(readFileSync(join(s.dir, 'checkpoint'), 'utf8')).sigs.length, 3);

    // The log grows (the witnesses last saw size 2: they need a consistency proof, via 409).
    const l = await openConfiguredLog(s.dir);
    await l.append(Array.from({ length: 300 }, (_, i) => attestationEntry(Buffer.from(`filler ${i}`))));
    const refreshed = await refreshReportProof(bare.bundle, { target: s.dir, witnesses: { urls: s.urls, required: 2 } });
    assert.equal(refreshed.from.size, 1);
    assert.equal(refreshed.to.size, 302);
    const r2 = await verify(refreshed.bundle, s.trust, s.dir);
    assert.equal(r2.ok, true, formatVerifyResult(r2));
    assert.equal(r2.tlog?.size, 302);
    assert.equal(r2.tlog?.index, 0);
    // The signed payload and signatures are untouched.
    assert.equal(refreshed.bundle.payload, bare.bundle.payload);
    assert.deepEqual(refreshed.bundle.signatures, bare.bundle.signatures);

    // One witness down: a 2-of-2 quorum cannot be met, and attest says which witness failed.
    await s.served[1]!.close();
    await assert.rejects(logReport(await report(), { target: s.dir, witnesses: { urls: s.urls, required: 2 } }), (e: Error & { code?: string }) => e.code === 'WITNESS_QUORUM' && /1 of the required 2/.test(e.message) && e.message.includes(s.urls[1]!));
    const one = await logReport(await report(), { target: s.dir, witnesses: { urls: s.urls, required: 1 } });
    assert.equal((await verify(one.bundle, s.trust)).exitCode, EXIT.tlog); // the verifier's policy still wants 2
  } finally {
    await s.close();
  }
});

test('witness endpoint: status codes per tlog-witness (409 with text/x.tlog.size, 404 unknown log, 400 malformed, 405, 413)', async () => {
  const s = await setup();
  try {
    await logReport(await report(), { target: s.dir, witnesses: { urls: s.urls, required: 2 } });
    await logReport(await report(), { target: s.dir }); // size 2, not witnessed
    const note = readFileSync(join(s.dir, 'checkpoint'), 'utf8');
    const post = (body: string, path = 'add-checkpoint', method = 'POST') => fetch(new URL(path, s.urls[0]), { method, ...(method === 'POST' ? { body } : {}) });
    const stale = await post(formatAddCheckpoint({ oldSize: 0, proof: [], note }));
    assert.equal(stale.status, 409);
    assert.equal(stale.headers.get('content-type'), 'text/x.tlog.size');
    assert.equal((await stale.text()).trim(), '1');
    assert.equal((await post(formatAddCheckpoint({ oldSize: 0, proof: [], note: note.replace(ORIGIN, 'other.example/log') }))).status, 404);
    assert.equal((await post('garbage')).status, 400);
    assert.equal((await post('', 'add-checkpoint', 'GET')).status, 405);
    assert.equal((await post('x'.repeat(200_000))).status, 413);
  } finally {
    await s.close();
  }
});

test('concurrent attests with a 2-of-2 witness quorum: each waits for a cosigned checkpoint covering its entry, none fails because another one was cosigned first', { timeout: 120_000 }, async () => {
  const s = await setup();
  try {
    const reports = await Promise.all(Array.from({ length: 12 }, () => report()));
    // Staggered starts, so appends, proofs and cosignature requests interleave.
    const settled = await Promise.allSettled(
      reports.map(async (b, i) => {
        await new Promise((ok) => setTimeout(ok, (i * 7) % 40));
        return logReport(b, { target: s.dir, witnesses: { urls: s.urls, required: 2 } });
      }),
    );
    const failed = settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    assert.deepEqual(failed, []);
    for (const r of settled) {
      const v = await verify((r as PromiseFulfilledResult<Awaited<ReturnType<typeof logReport>>>).value.bundle, s.trust, s.dir);
      assert.equal(v.ok, true, formatVerifyResult(v));
      assert.deepEqual(v.tlog?.witnesses.sort(), ['w1.example', 'w2.example']);
    }
  } finally {
    await s.close();
  }
});
