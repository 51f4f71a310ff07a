import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildWeightIndex, checkSchema, inspectOutputs, outputSchemaSchema, type OutputSchema } from '../src/enclave/airlock.js';
import { enclaveJsonSchemas } from '../src/enclave/schemas.js';
import { jobSchema } from '../src/enclave/job.js';
import { referenceForward } from '../src/enclave/reference.js';
import { TEST_MODEL_CONFIG, makeTestModel } from '../src/enclave/testmodel.js';
import { ROOT } from './helpers.js';

const W = makeTestModel();
const ix = buildWeightIndex(W);
const num: OutputSchema = { type: 'number' };
const arr = (n: number, items: OutputSchema = num): OutputSchema => ({ type: 'array', items, maxItems: n });
const str = (n: number): OutputSchema => ({ type: 'string', maxLength: n });

describe('airlock rules (pure)', () => {
  it('lets real analysis outputs through: activations, attention patterns, logits, prose, digests', () => {
    const r = referenceForward(TEST_MODEL_CONFIG, W, [...Buffer.from('steering vectors')]);
    const resid = r.cache['blocks.1.resid_post'] as number[][];
    const pattern = r.cache['blocks.0.attn.pattern'] as number[][][];
    const out = inspectOutputs(
      { resid: arr(64, arr(32)), pattern: arr(8, arr(64, arr(64))), top: arr(256), note: str(2000), digest: str(80) },
      {
        resid,
        pattern,
        top: r.logits[r.logits.length - 1]!,
        note: 'The probe separates the two classes at layer 1 with 0.92 accuracy; attention head 2 attends to the previous token (0.81 mean weight). '.repeat(5),
        digest: `sha256:${'ab12'.repeat(16)}`,
      },
      ix,
      { maxOutputBytes: 1 << 20, maxJobBytes: 1 << 20, maxNumbers: 1 << 20 },
    );
    assert.ok(out.ok, JSON.stringify(!out.ok && out.refusal));
    assert.deepEqual(Object.keys(out.outputs).sort(), ['digest', 'note', 'pattern', 'resid', 'top']);
  });

  it('refuses weight values, shapes and encodings; random binary in base64 too', () => {
    const wte = W['wte.weight']!.data;
    const one = (schema: OutputSchema, v: unknown) => {
      const r = inspectOutputs({ x: schema }, { x: v as never }, ix, { maxOutputBytes: 1 << 20, maxJobBytes: 1 << 20, maxNumbers: 1 << 20 });
      return r.ok ? 'released' : r.refusal.code;
    };
    assert.equal(one(arr(10), Array.from(wte.subarray(77, 81))), 'weight_values', 'four consecutive float32 weights');
    assert.equal(one(arr(10), Array.from(wte.subarray(77, 80))), 'released', 'three are not enough to say');
    assert.equal(one(arr(10), Array.from(wte.subarray(300, 306)).map((v) => Math.round(v * 1e4) / 1e4)), 'weight_values');
    assert.equal(one(arr(10), [0, 1, 1, 0, 0, 1]), 'released', 'integers and constants never match');
    const wpe = W['wpe.weight']!;
    const rows = Array.from({ length: 64 }, (_, i) => Array.from(wpe.data.subarray(i * 32, i * 32 + 32)).map((v) => Math.round(v * 10) / 10));
    assert.equal(one(arr(64, arr(32)), rows), 'weight_shape');
    assert.equal(one(str(1 << 16), Buffer.from(wte.buffer, wte.byteOffset + 400, 64).toString('base64url')), 'released', 'a run under 96 characters is not inspected as encoded data');
    assert.equal(one(str(1 << 16), `x ${Buffer.from(wte.buffer, wte.byteOffset + 400, 120).toString('base64')} y`), 'encoded_data');
    assert.equal(one(str(1 << 16), randomBytes(120).toString('base64')), 'encoded_data', 'random binary, base64');
    assert.equal(one(str(1 << 16), randomBytes(70).toString('hex')), 'encoded_data', 'a long hex run');
    assert.equal(one(str(1 << 16), Array.from(wte.subarray(10, 20)).map(String).join(', ')), 'weight_values', 'numbers in text');
  });

  it('checks declared schemas, sizes and counts, naming the output and the place', () => {
    assert.equal(checkSchema({ a: 1, b: 2 }, { type: 'object', properties: { a: num } }), '$: property "b" is not declared');
    assert.equal(checkSchema([1, 2, 3], arr(2)), '$: array of 3 items, declared maxItems 2');
    assert.equal(checkSchema({ a: [1.5] }, { type: 'object', properties: { a: arr(4, { type: 'integer' }) } }), '$.a[0]: expected an integer');
    const big = inspectOutputs({ x: arr(5000) }, { x: Array(3000).fill(0.123456) }, ix, { maxOutputBytes: 1000, maxJobBytes: 1 << 20, maxNumbers: 1 << 20 });
    assert.ok(!big.ok && big.refusal.code === 'output_too_large' && /output "x": 27001 bytes, the cap per output is 1000/.test(big.refusal.message));
    const many = inspectOutputs({ a: arr(100), b: arr(100) }, { a: Array(60).fill(0.5), b: Array(60).fill(0.25) }, ix, { maxOutputBytes: 1 << 20, maxJobBytes: 1 << 20, maxNumbers: 100 });
    assert.ok(!many.ok && many.refusal.code === 'too_many_numbers' && many.refusal.output === 'b');
    const missing = inspectOutputs({ a: num }, {}, ix);
    assert.ok(!missing.ok && missing.refusal.code === 'missing_output');
    assert.throws(() => outputSchemaSchema.parse({ type: 'string', maxLength: 5, pattern: '(a+)+$' }), /pattern/);
    assert.throws(() => outputSchemaSchema.parse({ type: 'array', items: num }), /maxItems/);
    const deep: OutputSchema = [1, 2, 3, 4, 5, 6, 7].reduce<OutputSchema>((s) => arr(2, s), num);
    const j = jobSchema.safeParse({ schema: 'assay.enclave-job/v1', language: 'python', program: 'pass', outputs: { x: deep } });
    assert.ok(!j.success && /nest at most 6/.test(j.error.issues[0]!.message));
  });

  it('schemas/enclave-*.json match the zod schemas (UPDATE_SCHEMAS=1 rewrites them)', () => {
    for (const [name, schema] of Object.entries(enclaveJsonSchemas())) {
      const path = join(ROOT, 'schemas', name);
      const text = JSON.stringify(schema, null, 2) + '\n';
      if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(path, text);
      assert.ok(existsSync(path), `${name} missing: re-run with UPDATE_SCHEMAS=1`);
      assert.ok(readFileSync(path, 'utf8') === text, `schemas/${name} is stale: re-run this test with UPDATE_SCHEMAS=1`);
    }
  });
});
