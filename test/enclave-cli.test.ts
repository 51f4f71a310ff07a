import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sha256Hex } from '../src/common/canonical.js';
import { EnclaveStore } from '../src/enclave/store.js';
import { cli, tmp } from './helpers.js';

describe('assay enclave (CLI)', () => {
  it('make-test-model writes the deterministic model; review list/approve/reject act on held jobs', async () => {
    const dir = tmp('assay-enclave-cli-');
    const a = await cli(['enclave', 'make-test-model', join(dir, 'm1')]);
    const b = await cli(['enclave', 'make-test-model', join(dir, 'm2')]);
    assert.equal(a.code, 0, a.stderr);
    const digest = (d: string) => `sha256:${sha256Hex(readFileSync(join(dir, d, 'model.safetensors')))}`;
    assert.equal(digest('m1'), digest('m2'));
    assert.match(a.stdout, new RegExp(digest('m1').replace(':', ':')));
    assert.equal(JSON.parse(readFileSync(join(dir, 'm1', 'config.json'), 'utf8')).n_layer, 2);

    const cfg = join(dir, 'enclave.yaml');
    writeFileSync(cfg, `schema: assay.enclave-config/v1\nstate: ./state\napiKeyEnv: K\nmodels:\n  tiny: ./m1\n`);
    const store = new EnclaveStore(join(dir, 'state'));
    for (const id of ['j_000000000000000000000001', 'j_000000000000000000000002']) {
      store.insert({ id, grant: `g_${'a'.repeat(32)}`, tester: 'lab', model: 'tiny', submitted_at: new Date().toISOString(), code_digest: `sha256:${'c'.repeat(64)}`, request_digest: `sha256:${'d'.repeat(64)}` });
      store.finish(id, { status: 'awaiting_review', receipt: null, outputs: { x: '1.5' }, releasedBytes: 3, refusalCode: null, refusal: null, exec: null });
    }
    store.close();
    const list = await cli(['enclave', 'review', 'list', '--config', cfg, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((r) => [r.job, r.status, r.held]), [['j_000000000000000000000001', 'awaiting_review', { x: '1.5' }], ['j_000000000000000000000002', 'awaiting_review', { x: '1.5' }]]);
    assert.equal((await cli(['enclave', 'review', 'approve', 'j_000000000000000000000001', '--config', cfg, '--reviewer', 'dev'])).code, 0);
    const rej = await cli(['enclave', 'review', 'reject', 'j_000000000000000000000002', '--config', cfg, '--note', 'out of scope']);
    assert.equal(rej.code, 0, rej.stderr);
    const again = await cli(['enclave', 'review', 'approve', 'j_000000000000000000000002', '--config', cfg]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /j_000000000000000000000002 is rejected, not awaiting review/);
    const s2 = new EnclaveStore(join(dir, 'state'));
    assert.equal(s2.get('j_000000000000000000000001')!.status, 'approved');
    assert.equal(s2.get('j_000000000000000000000001')!.reviewer, 'dev');
    assert.equal(s2.get('j_000000000000000000000002')!.outputs_json, null, 'rejected outputs are deleted');
    // The ledger: two finished jobs and two decisions, chained; an edit is found.
    assert.deepEqual(s2.ledger().map((e) => [e.seq, e.event, e.job.slice(-1), e.status, e.reviewer]), [[0, 'job', '1', 'awaiting_review', null], [1, 'job', '2', 'awaiting_review', null], [2, 'review', '1', 'approved', 'dev'], [3, 'review', '2', 'rejected', userInfo().username]]);
    s2.close();
    const ok = await cli(['enclave', 'ledger', 'verify', '--config', cfg]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ledger ok: 4 entries, head sha256:[0-9a-f]{64}/);
    // A signed head binds the developer: erasing the last entries (a prefix still chains) is found against it.
    const home = { ASSAY_HOME: join(dir, 'home') };
    assert.equal((await cli(['keys', 'generate', '--name', 'dev'], home)).code, 0);
    assert.equal((await cli(['keys', 'generate', '--name', 'other'], home)).code, 0);
    for (const k of ['dev', 'other']) writeFileSync(join(dir, `${k}.pem`), (await cli(['keys', 'export-public', k], home)).stdout);
    const sign = await cli(['enclave', 'ledger', 'sign', '--config', cfg, '--key', 'dev', '-o', join(dir, 'head.json')], home);
    assert.equal(sign.code, 0, sign.stderr);
    const withHead = (key: string) => cli(['enclave', 'ledger', 'verify', '--config', cfg, '--signed-head', join(dir, 'head.json'), '--public-key', join(dir, `${key}.pem`)]);
    const good = await withHead('dev');
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /signed head ok: assay-enclave held 4 entries/);
    const wrongKey = await withHead('other');
    assert.notEqual(wrongKey.code, 0);
    assert.match(wrongKey.stderr, /not signed by the trusted key/);
    const s3 = new EnclaveStore(join(dir, 'state'));
    s3.db.prepare('DELETE FROM ledger WHERE seq >= 2').run();
    s3.close();
    assert.equal((await cli(['enclave', 'ledger', 'verify', '--config', cfg])).code, 0, 'a shortened chain is still a chain');
    const erased = await withHead('dev');
    assert.notEqual(erased.code, 0);
    assert.match(erased.stderr, /covers 4 entries but the ledger holds 2: entries were removed/);
    const s4 = new EnclaveStore(join(dir, 'state'));
    s4.db.prepare(`UPDATE ledger SET text = replace(text, '"awaiting_review"', '"released"') WHERE seq = 1`).run();
    s4.close();
    const bad = await cli(['enclave', 'ledger', 'verify', '--config', cfg]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /entry 1: text does not match its stored hash/);
  });
});

describe('grant enclave terms (assay.grant/v1 enclave)', () => {
  it('are optional, closed, and can only be narrowed', async () => {
    const { defaultGrant, GRANT_SCHEMA } = await import('../src/gateway/grant.js');
    const { widening } = await import('../src/gateway/admin.js');
    const { grantSchema } = await import('../src/gateway/grant.js');
    const base = defaultGrant('white-box', ['tiny']);
    assert.equal(base.schema, GRANT_SCHEMA);
    assert.ok(grantSchema.safeParse(base).success, 'old grants without terms stay valid');
    assert.ok(!grantSchema.safeParse({ ...base, enclave: { releaseBytes: 10, review: true, extra: 1 } }).success);
    const withTerms = { ...base, enclave: { releaseBytes: 1000, review: true } };
    assert.equal(widening(withTerms, { ...withTerms, enclave: { releaseBytes: 500, review: true } }), null);
    assert.equal(widening(base, withTerms), null, 'adding terms narrows the enclave defaults');
    assert.equal(widening(withTerms, { ...withTerms, enclave: { releaseBytes: 2000, review: true } }), 'enclave terms are looser');
    assert.equal(widening(withTerms, { ...withTerms, enclave: { releaseBytes: 1000, review: false } }), 'enclave terms are looser');
    assert.equal(widening(withTerms, base), 'enclave terms are looser');
  });
});
