import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { followUpPolicy, signedVerdictFor } from '../src/registry/scenario-findings.js';
import { header, sample, writeRunLog } from './attest-fixture.js';
import { runScenario } from '../src/registry/scenario.js';
import { cli, tmp } from './helpers.js';
import { makeReport, serverProcess, testStore } from './registry-fixture.js';

/** `assay finding|obligation|inbox` against a running `assay server` (SQLite; the API itself is tested on both databases). */
const assay = (args: string[], home: string) => cli(args, { ASSAY_HOME: home });

describe('findings CLI against assay server', { timeout: 600_000 }, () => {
  test('file, show, transition, grace, publish; obligations fulfil and confirm; inbox; errors without stack traces', { timeout: 600_000 }, async () => {
    const ts = await testStore('sqlite');
    const home = join(tmp('assay-fcli-'), '.assay');
    const server = serverProcess(ts.location, home, ['--origin', 'registry.fcli-test', '--insecure-cookies', '--webhook-allow', '127.0.0.0/8']);
    try {
      const url = await server.url;
      const operatorToken = readFileSync(join(home, 'registry-token'), 'utf8').trim();
      const w = await runScenario({ baseUrl: url, operatorToken, makeReport, partiesOnly: true });
      const run = async (token: string | null, args: string[], want = 0) => {
        const r = await assay([...args, '--url', url, ...(token ? ['--token', token] : [])], home);
        assert.equal(r.code, want, `assay ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
        return { json: r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : null, stderr: r.stderr };
      };
      const tA = w.testerA.client.token!;
      const dev = w.developer.client.token!;
      const details = join(tmp('assay-fcli-d-'), 'details.json');
      writeFileSync(details, JSON.stringify({ description: 'leaks the system prompt', reproduction: 'ask twice', evidence: [{ kind: 'link', ref: 'https://example.org/t/1' }] }));

      const filed = await run(tA, ['finding', 'file', '--as', w.testerA.orgId, '--model', w.modelId, '--title', 'System prompt leak', '--risk-domain', 'cyber: prompt injection', '--severity', 'high', '--details', details, '--jurisdictions', 'GB']);
      const id = filed.json!.id as string;
      assert.match(id, /^AF-\d{4}-[0-9A-F]{6}-00001$/);
      assert.match(filed.stderr, /fix deadline +\d{4}-\d\d-\d\dT/);
      assert.deepEqual((await run(w.testerB.client.token, ['finding', 'show', id])).json, { id, published: false });
      assert.deepEqual((await run(null, ['finding', 'show', id])).json, { id, published: false });
      assert.equal(((await run(dev, ['finding', 'transition', id, 'acknowledge', '--reason', 'reproduced'])).json as { state: string }).state, 'acknowledged');
      const wrong = await assay(['finding', 'transition', id, 'fix', '--reason', 'x', '--url', url, '--token', tA], home);
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /only the developer may fix/);
      assert.doesNotMatch(wrong.stderr, /\n\s+at /);
      const bad = await assay(['finding', 'transition', id, 'explode', '--reason', 'x', '--url', url, '--token', dev], home);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /explode/);
      const graced = await run(dev, ['finding', 'grace', id, '--reason', 'fix in review']);
      assert.equal((graced.json as { clock: { graceGranted: boolean } }).clock.graceGranted, true);
      assert.equal(((await run(dev, ['finding', 'publish', id, '--reason', 'agreed'])).json as { published: boolean }).published, false);
      assert.equal(((await run(tA, ['finding', 'publish', id, '--reason', 'agreed'])).json as { published: boolean }).published, true);
      assert.equal(((await run(null, ['finding', 'show', id])).json as { published: boolean }).published, true);
      const missing = await assay(['finding', 'file', '--as', w.testerA.orgId, '--model', w.modelId, '--title', 't', '--risk-domain', 'cyber', '--severity', 'low', '--details', '/nonexistent/d.json', '--url', url, '--token', tA], home);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /cannot read details file \/nonexistent\/d\.json/);

      // Obligations from a threshold-crossed signed verdict, which the registry recomputes from the
      // cited report and the policy: without them it is refused.
      const vdir = tmp('assay-fcli-v-');
      const policy = followUpPolicy('fixture.qa', 'accuracy');
      const sv = await signedVerdictFor(writeRunLog(Array.from({ length: 40 }, (_, i) => sample(`s${i}`, 1)), { header: header({ suite: { ...header().suite, items: 40 } }) }), w.testerA.signer, w.testerA.name, policy, new Date());
      writeFileSync(join(vdir, 'verdict.json'), JSON.stringify(sv.verdict));
      writeFileSync(join(vdir, 'report.json'), JSON.stringify(sv.report));
      writeFileSync(join(vdir, 'policy.yaml'), policy);
      const args = ['obligation', 'register-verdict', '--as', w.testerA.orgId, '--model', w.modelId, '--verdict', join(vdir, 'verdict.json'), '--policy', join(vdir, 'policy.yaml'), '--jurisdictions', 'GB'];
      assert.match((await run(tA, args, 2)).stderr, /VERDICT_NOT_RECOMPUTED|was not given or has changed/);
      const reg = await run(tA, [...args, '--report', join(vdir, 'report.json')]);
      assert.equal((reg.json as { recomputed: boolean }).recomputed, true);
      const obl = (reg.json as { obligations: { id: string }[] }).obligations[0]!.id;
      assert.equal(((await run(dev, ['obligation', 'list'])).json as { items: unknown[] }).items.length, 2);
      assert.equal(((await run(dev, ['obligation', 'fulfil', obl, '--statement', 'told them', '--evidence', 'letter=ref-1'])).json as { state: string }).state, 'fulfilled');
      assert.equal(((await run(tA, ['obligation', 'confirm', obl, '--reason', 'receipt seen'])).json as { state: string }).state, 'confirmed');
      const inbox = (await run(dev, ['inbox', '--as', w.developer.orgId])).json as { items: { kind: string }[] };
      assert.ok(inbox.items.some((m) => m.kind === 'finding.filed'));
      assert.ok(inbox.items.some((m) => m.kind === 'obligation.confirmed'));
    } finally {
      await server.stop('SIGTERM');
      await ts.drop();
    }
  });
});
