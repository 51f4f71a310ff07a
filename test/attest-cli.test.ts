import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT } from '../src/attest/verify.js';
import { writeRunLog } from './attest-fixture.js';
import { cli, tmp } from './helpers.js';

test('CLI: keys, attest, cosign, verify (exit codes), disclose, render, accredit, trust', { timeout: 120_000 }, async () => {
  const home = tmp('assay-attest-cli-');
  const env = { ASSAY_HOME: home };
  const log = writeRunLog();
  const run = async (...args: string[]) => cli(args, env);

  let r = await run('keys', 'generate', '--name', 'lab');
  assert.equal(r.code, 0, r.stderr);
  const keyId = /generated (sha256:[0-9a-f]{64})/.exec(r.stdout)![1]!;
  assert.ok(!/PRIVATE KEY/.test(r.stdout + r.stderr));
  assert.equal((await run('keys', 'generate', '--name', 'dev')).code, 0);
  r = await run('keys', 'list', '--json');
  assert.deepEqual((JSON.parse(r.stdout) as { name: string }[]).map((k) => k.name), ['dev', 'lab']);
  r = await run('keys', 'export-public', 'lab', '--format', 'jwk');
  assert.equal(JSON.parse(r.stdout).kid, keyId);

  const report = join(home, 'report.json');
  r = await run('attest', log, '--key', 'lab', '--out', report);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /signed report .*report\.json/);

  // No trust file: valid signature, untrusted key.
  r = await run('verify', report);
  assert.equal(r.code, EXIT.untrusted, r.stdout + r.stderr);
  assert.match(r.stdout, /hint: pass --trust/);

  const trust = join(home, 'trust.json');
  assert.equal((await run('trust', 'add', 'lab', '--name', 'Lab', '--file', trust)).code, 0);
  assert.equal((await run('trust', 'add', 'dev', '--name', 'Dev', '--as', 'cosigner', '--file', trust)).code, 0);
  r = await run('cosign', report, '--key', 'dev');
  assert.equal(r.code, 0, r.stderr);
  r = await run('verify', report, '--trust', trust, '--run', log);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /signature 0 \(tester\): sha256:.*: valid, trusted: tester "Lab" in the trust file/);
  assert.match(r.stdout, /signature 1 \(co-signer\): sha256:.*: valid, trusted: co-signer "Dev"/);
  assert.match(r.stdout, /VERIFIED\n$/);

  r = await run('verify', report, '--trust', trust, '--json');
  const j = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; signatures: unknown[] };
  assert.equal(j.ok, true);
  assert.equal(j.signatures.length, 2);

  // Disclosure.
  const disc = join(home, 's2.json');
  r = await run('disclose', log, '--sample', 's2#1', '--out', disc);
  assert.equal(r.code, 0, r.stderr);
  r = await run('verify', report, '--trust', trust, '--disclosure', disc);
  assert.equal(r.code, 0, r.stdout);
  const d = readFileSync(disc);
  d[d.length - 10] = d[d.length - 10]! ^ 1;
  writeFileSync(disc, d);
  r = await run('verify', report, '--trust', trust, '--disclosure', disc);
  assert.equal(r.code, EXIT.disclosure, r.stdout);

  // Tampered log: data mismatch.
  const bad = join(home, 'bad.jsonl');
  writeFileSync(bad, readFileSync(log, 'utf8').replace('"value":0', '"value":1'));
  r = await run('verify', report, '--trust', trust, '--run', bad);
  assert.equal(r.code, EXIT.dataMismatch, r.stdout);
  assert.match(r.stdout, /FAIL \[run-log, exit 14\] .*bad\.jsonl: run log file differs/);

  // Render.
  r = await run('report', 'render', report, '--format', 'html', '--trust', trust);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^<!doctype html>/);

  // Accreditation: a body key accredits the lab key; a verifier trusting only the body accepts the report.
  assert.equal((await run('keys', 'generate', '--name', 'body')).code, 0);
  const acc = join(home, 'acc.json');
  r = await run('accredit', '--key', 'body', '--body-name', 'Body A', '--tester-key', 'lab', '--tester-name', 'Lab', '--risk-area', 'cyber', '--not-after', '2099-01-01T00:00:00Z', '--out', acc);
  assert.equal(r.code, 0, r.stderr);
  const bodyTrust = join(home, 'body-trust.json');
  assert.equal((await run('trust', 'add', 'body', '--name', 'Body A', '--as', 'body', '--file', bodyTrust)).code, 0);
  const report2 = join(home, 'report2.json');
  assert.equal((await run('attest', log, '--key', 'lab', '--out', report2, '--accreditation', acc)).code, 0);
  r = await run('verify', report2, '--trust', bodyTrust);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /trusted: accredited by Body A until 2099-01-01/);
  r = await run('verify', report2, '--trust', bodyTrust, '--at', '2100-01-01T00:00:00Z');
  assert.equal(r.code, EXIT.accreditation, r.stdout);

  // Usage/IO errors exit 2.
  assert.equal((await run('verify', join(home, 'missing.json'))).code, EXIT.usage);
  writeFileSync(join(home, 'broken-trust.json'), '{"schema":"assay.trust/v1","testers":[{}]}');
  r = await run('verify', report, '--trust', join(home, 'broken-trust.json'));
  assert.equal(r.code, EXIT.usage);
  assert.match(r.stderr, /broken-trust\.json, field "\$\.testers\[0\]\.name"/);

  // Key permission check through the CLI.
  const keyFile = join(home, 'keys', `${keyId.slice(7)}.key`);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
});
