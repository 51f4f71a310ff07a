import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { attestRun, bundleText } from '../src/attest/bundle.js';
import { generateSigner } from '../src/attest/keys.js';
import { runReportJsonSchema } from '../src/attest/predicate.js';
import { escapeHtml, escapeMarkdown, renderReport } from '../src/attest/render.js';
import { emptyTrust, parseTrust, trustDocument } from '../src/attest/trust.js';
import { verifyReport } from '../src/attest/verify.js';
import { header, suiteDef, writeRunLog } from './attest-fixture.js';
import { ROOT } from './helpers.js';

const tester = generateSigner();
const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Tester Lab', publicKey: tester.publicKey }] })));

test('Markdown and HTML come from the verified statement, escaped', async () => {
  const evil = '<script>alert(1)</script> | *x*';
  const h = header();
  h.suite.definition = suiteDef({ title: evil });
  const log = writeRunLog(undefined, { header: h });
  const { bundle } = await attestRun(log, { signer: tester, testerName: 'Lab "A" & <B>' });
  const r = await verifyReport(Buffer.from(bundleText(bundle)), { trust, runLogPath: log });
  assert.equal(r.ok, true);
  const html = renderReport(r, 'html');
  assert.ok(!html.includes('<script>'), 'no markup from data');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; | *x*'));
  assert.ok(html.includes('Lab &quot;A&quot; &amp; &lt;B&gt;'));
  assert.match(html, /Content-Security-Policy/);
  assert.match(html, /<td>accuracy<\/td><td>match<\/td><td>4<\/td><td>0\.7500<\/td>/);
  const md = renderReport(r, 'md');
  assert.ok(md.includes('\\<script\\>alert(1)\\</script\\> \\| \\*x\\*'), md);
  assert.match(md, /\| accuracy \| match \| 4 \| 0\.7500 \|/);
  assert.match(md, /digests, transcript root and every metric recomputed from the run log and matched/);
  assert.match(md, /SIMULATED/);
  assert.match(md, /6 records \(6 samples × epochs\): 4 scored, 1 unscored, 1 errored/);
});

test('rendering refuses a report that did not verify, and says when trust was not met', async () => {
  const log = writeRunLog();
  const { bundle } = await attestRun(log, { signer: tester, testerName: 'Lab' });
  const sig = Buffer.from(bundle.signatures[0]!.sig, 'base64');
  sig[0] = sig[0]! ^ 1;
  const bad = await verifyReport(Buffer.from(bundleText({ ...bundle, signatures: [{ ...bundle.signatures[0]!, sig: sig.toString('base64') }] })), { trust });
  assert.throws(() => renderReport(bad, 'md'), /refusing to render: the report did not verify/);
  const untrusted = await verifyReport(Buffer.from(bundleText(bundle)), { trust: emptyTrust() });
  assert.match(renderReport(untrusted, 'md'), /tester key NOT trusted/);
});

test('escaping helpers', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(escapeMarkdown('a|b\nc [d](e) & <i>'), 'a\\|b c \\[d\\](e) \\& \\<i\\>');
  assert.equal(escapeMarkdown('# h'), '\\# h');
  assert.equal(escapeMarkdown('1. item'), '1\\. item');
  assert.equal(escapeMarkdown('0.75'), '0.75');
});

test('the published JSON Schema is the one generated from the predicate schema', () => {
  const file = JSON.parse(readFileSync(join(ROOT, 'schemas/run-report.v1.schema.json'), 'utf8'));
  assert.deepEqual(file, runReportJsonSchema(), 'regenerate schemas/run-report.v1.schema.json from runReportJsonSchema()');
});
