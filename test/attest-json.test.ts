import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssayError } from '../src/common/errors.js';
import { digestOfFile, digestOfJson, fromPrefixed, sameDigest } from '../src/attest/digest.js';
import { jsonPath, parseStrictJson } from '../src/attest/json.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { tmp } from './helpers.js';

const rejects = (text: string, code: string, field?: string) => {
  assert.throws(
    () => parseStrictJson(text, { file: 'doc.json' }),
    (e: unknown) => {
      assert.ok(e instanceof AssayError, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, /^doc\.json:\d+/);
      if (field) assert.equal(e.location.field, field);
      return true;
    },
  );
};

test('strict JSON parses what JSON.parse parses, identically', () => {
  const docs = ['{"a":[1,2.5,-0,1e-7,true,false,null,"x\\u00e9\\n"],"b":{"c":{}}}', '[]', '"\\ud83d\\ude00"', ' 42 ', '{"__proto__":{"x":1}}'];
  for (const d of docs) assert.deepEqual(parseStrictJson(d), JSON.parse(d));
  const p = parseStrictJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
  assert.ok(Object.hasOwn(p, '__proto__'), '__proto__ is an own data member');
  assert.equal(Object.getPrototypeOf(p), Object.prototype);
});

test('duplicate keys are rejected with the JSON path of the duplicate', () => {
  rejects('{"a":1,"a":2}', 'JSON_DUPLICATE_KEY', '$.a');
  rejects('{"x":{"y":[{"k":1},{"k":1,"k":2}]}}', 'JSON_DUPLICATE_KEY', '$.x.y[1].k');
  rejects('{"a b":0,"a b":0}', 'JSON_DUPLICATE_KEY', '$["a b"]');
  // Escaped and literal spellings of one name are the same name.
  rejects('{"a":1,"\\u0061":2}', 'JSON_DUPLICATE_KEY', '$.a');
});

test('numbers outside the safe-integer range are rejected', () => {
  rejects('{"n":9007199254740992}', 'JSON_UNSAFE_NUMBER', '$.n');
  rejects('[-9007199254740993]', 'JSON_UNSAFE_NUMBER', '$[0]');
  rejects('{"n":1e300}', 'JSON_UNSAFE_NUMBER', '$.n');
  rejects('{"n":1e400}', 'JSON_UNSAFE_NUMBER', '$.n');
  assert.equal(parseStrictJson('9007199254740991'), Number.MAX_SAFE_INTEGER);
  assert.equal(parseStrictJson('12345678901234567890', { allowLargeNumbers: true }), 12345678901234567890);
});

test('malformed input: located errors', () => {
  rejects('{"a":1,}', 'JSON_INVALID');
  rejects('{"a":01}', 'JSON_INVALID');
  rejects('{"a":"\\x"}', 'JSON_INVALID');
  rejects('{"a":"\\ud800"}', 'JSON_INVALID', '$.a');
  rejects('{"a":"tab\there"}', 'JSON_INVALID');
  rejects('\ufeff{}', 'JSON_INVALID');
  rejects('{} {}', 'JSON_INVALID');
  rejects('{"a":[1,2', 'JSON_INVALID');
  assert.throws(() => parseStrictJson(Buffer.from([0x7b, 0xff, 0x7d]), { file: 'bin' }), /bin: not valid UTF-8/);
  try {
    parseStrictJson('{\n  "a": 1,\n  "a": 2\n}', { file: 'f.json' });
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof AssayError);
    assert.equal(e.location.line, 3);
    assert.match(e.message, /^f\.json:3, field "\$\.a": duplicate key "a" \(column 3\)$/);
  }
});

test('jsonPath renders identifiers and odd keys', () => {
  assert.equal(jsonPath(['a', 0, 'b c', 'd']), '$.a[0]["b c"].d');
});

test('DigestSets over canonical JSON and streamed files', async () => {
  // RFC 8785: key order does not change the digest.
  assert.deepEqual(digestOfJson({ b: 1, a: [1, 'x'] }), digestOfJson({ a: [1, 'x'], b: 1 }));
  assert.equal(digestOfJson({ a: 1 }).sha256, createHash('sha256').update('{"a":1}').digest('hex'));
  const dir = tmp();
  const f = join(dir, 'big.bin');
  const data = Buffer.alloc(3_000_000, 7);
  writeFileSync(f, data);
  assert.equal((await digestOfFile(f)).sha256, createHash('sha256').update(data).digest('hex'));
  await assert.rejects(digestOfFile(join(dir, 'missing')), /cannot read/);
  assert.deepEqual(fromPrefixed(`sha256:${'ab'.repeat(32)}`), { sha256: 'ab'.repeat(32) });
  assert.throws(() => fromPrefixed('sha256:AB'), /expected "sha256:<64 lowercase hex>"/);
  assert.ok(sameDigest({ sha256: 'ab'.repeat(32) }, { sha256: 'ab'.repeat(32) }));
  assert.ok(!sameDigest({ sha256: 'x' }, { sha256: 'x' }));
});
