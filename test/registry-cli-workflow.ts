import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateSigner } from '../src/attest/keys.js';
import { defaultGrant, issueGrantToken, tokenDigest } from '../src/gateway/grant.js';
import { cli, tmp } from './helpers.js';
import { writeRunLog } from './attest-fixture.js';
import { serverProcess, testStore, type Backend } from './registry-fixture.js';

/** The registry's workflows through the CLI against a running `assay server`, each party with its own $ASSAY_HOME. */
const assay = (args: string[], home: string, input?: string) => cli(args, { ASSAY_HOME: home }, input ?? '');

/**
 * The whole workflow on one back-end (~60 s each): one test file per back-end
 * (registry-cli.test.ts, registry-cli-postgres.test.ts) so neither file nears the per-file timeout.
 */
export function registryCliWorkflow(backend: Backend): void {
  describe(`registry CLI against assay server (${backend})`, { timeout: 900_000 }, () => {
    test('every workflow: organisations, people, keys, accreditation, recognition, trust export, model, engagement, report, suspension, audit', { timeout: 900_000 }, async () => {
      const ts = await testStore(backend);
      const home = (n: string) => join(tmp(`assay-${n}-`), '.assay');
      const H = { op: home('op'), accGB: home('accgb'), accFR: home('accfr'), dev: home('dev'), tA: home('ta'), tB: home('tb') };
      const server = serverProcess(ts.location, H.op, ['--origin', 'registry.cli-test', '--insecure-cookies']);
      try {
        const url = await server.url;
        const run = async (who: keyof typeof H, args: string[], input?: string, want = 0) => {
          const r = await assay([...args.slice(0, 2), ...args.slice(2), ...(args[0] === 'registry' && args[1] !== 'audit' ? ['--url', url] : [])], H[who], input);
          assert.equal(r.code, want, `assay ${args.join(' ')} (as ${who}) exited ${r.code}\n${r.stderr}${r.stdout}`);
          return r.stdout.trim().startsWith('{') || r.stdout.trim().startsWith('[') ? (JSON.parse(r.stdout) as Record<string, unknown>) : r.stdout;
        };
        const orgs: Record<string, string> = {};
        for (const [k, kind, j, sub] of [['accGB', 'accreditor', 'GB'], ['accFR', 'accreditor', 'FR'], ['dev', 'developer', 'US'], ['tA', 'tester', 'GB', 'company'], ['tB', 'tester', 'FR', 'government']] as const) {
          orgs[k] = (await run('op', ['registry', 'org', 'create', '--kind', kind, '--name', `${k} org`, '--jurisdiction', j, ...(sub ? ['--sub-kind', sub] : [])]) as { id: string }).id;
          await run('op', ['registry', 'org', 'add-member', orgs[k]!, '--email', `${k.toLowerCase()}@example.org`, '--name', k, '--role', 'admin', '--password-stdin'], `password of ${k} is long enough`);
          await run(k, ['registry', 'login', '--email', `${k.toLowerCase()}@example.org`, '--password-stdin'], `password of ${k} is long enough`);
          await run(k, ['keys', 'generate', '--name', 'org']);
          await run(k, ['registry', 'org', 'add-key', orgs[k]!, '--key', 'org']);
        }
        const keyOf = async (k: string) => ((await run('op', ['registry', 'org', 'show', orgs[k]!])) as { keys: { keyId: string }[] }).keys[0]!.keyId;
        const until = new Date(Date.now() + 200 * 86400e3).toISOString();
        await run('accGB', ['registry', 'accredit', orgs.tA!, '--as', orgs.accGB!, '--key', 'org', '--tester-key', await keyOf('tA'), '--risk-areas', 'cyber,bio', '--reassess-by', until]);
        await run('accFR', ['registry', 'accredit', orgs.tB!, '--as', orgs.accFR!, '--key', 'org', '--tester-key', await keyOf('tB'), '--risk-areas', 'cyber', '--reassess-by', until]);
        await run('accGB', ['registry', 'recognise', orgs.accFR!, '--as', orgs.accGB!, '--key', 'org', '--risk-areas', 'cyber']);
        const chain = (await run('op', ['registry', 'recognition', orgs.tB!, '--jurisdiction', 'GB', '--domain', 'cyber'])) as { recognised: boolean; chain: unknown[] };
        assert.equal(chain.recognised, true);
        assert.equal(chain.chain.length, 2);
        await run('op', ['registry', 'recognition', orgs.tB!, '--jurisdiction', 'GB', '--domain', 'bio'], undefined, 1);

        const dir = tmp('assay-rel-');
        await run('dev', ['release', 'sign', '-m', 'frontier', '--model-version', '1', '--version-id', 'frontier-1', '--developer', 'dev org', '--key', 'org', '-o', join(dir, 'rel.json')]);
        const model = (await run('dev', ['registry', 'model', 'register', '--as', orgs.dev!, '--release', join(dir, 'rel.json'), '--in-scope', `sha256:${'a'.repeat(64)}`])) as { id: string };
        const eng = (await run('dev', ['registry', 'engagement', 'propose', '--developer', orgs.dev!, '--tester', orgs.tA!, '--model', model.id, '--suite', 'fixture.qa'])) as { id: string; state: string };
        assert.equal(eng.state, 'proposed');
        await run('tA', ['registry', 'engagement', 'accept', eng.id]);
        const { writeFileSync } = await import('node:fs');
        // Accepting opened a grant request: the developer finds it in its inbox and approves it with the
        // token its gateway issued (the gateway's own grant code); only the digest and terms are sent.
        const inbox = (await run('dev', ['registry', 'grant', 'inbox'])) as unknown as { id: string; engagementId: string; level: string }[];
        assert.deepEqual(inbox.map((r) => [r.engagementId, r.level]), [[eng.id, 'black-box']]);
        assert.deepEqual(await run('tB', ['registry', 'grant', 'inbox']), [], 'another tester sees nothing');
        const token = issueGrantToken(generateSigner(), { tester: 'tA org', audience: 'gw.dev', grant: { ...defaultGrant('black-box', ['frontier']), budget: { tokens: 50_000, costUsd: null } }, ttlSeconds: 86400 }).token;
        writeFileSync(join(dir, 'grant.jwt'), `${token}\n`);
        await run('tA', ['registry', 'grant', 'approve', inbox[0]!.id, '--grant-token-file', join(dir, 'grant.jwt')], undefined, 2);
        const approved = (await run('dev', ['registry', 'grant', 'approve', inbox[0]!.id, '--grant-token-file', join(dir, 'grant.jwt')])) as { state: string; decision: { grantDigest: string; budget: unknown } };
        assert.deepEqual([approved.state, approved.decision.grantDigest, approved.decision.budget], ['approved', tokenDigest(token), { tokens: 50_000, costUsd: null }]);
        const active = (await run('tA', ['registry', 'engagement', 'show', eng.id])) as { state: string; grantLevel: string };
        assert.deepEqual([active.state, active.grantLevel], ['active', 'black-box']);
        const more = (await run('tA', ['registry', 'grant', 'request', eng.id, '--level', 'grey-box', '--max-tokens-total', '100000', '--note', 'logprobs'])) as { id: string };
        assert.equal(((await run('dev', ['registry', 'grant', 'refuse', more.id, '--reason', 'not agreed'])) as { state: string }).state, 'refused');
        const log = writeRunLog();
        await run('tA', ['attest', log, '--key', 'org', '--out', join(dir, 'report.json')]);
        const rep = (await run('tA', ['registry', 'report', 'upload', eng.id, join(dir, 'report.json'), '--run', log])) as { id: string; verified: boolean };
        assert.equal(rep.verified, true);
        await run('tA', ['registry', 'report', 'publish', rep.id]);
        await run('tA', ['registry', 'engagement', 'close', eng.id]);
        const published = (await run('op', ['registry', 'report', 'list'])) as unknown as { id: string }[];
        assert.deepEqual(published.map((r) => r.id), [rep.id]);

        // The registry's trust file is what a verifier in GB uses offline.
        await run('op', ['registry', 'trust', '--jurisdiction', 'GB', '--risk-areas', 'cyber', '--out', join(dir, 'trust.json')]);
        await run('op', ['verify', join(dir, 'report.json'), '--trust', join(dir, 'trust.json'), '--run', log]);
        // Suspension takes the tester out of the graph.
        const acc = await assay(['registry', 'recognition', orgs.tA!, '--jurisdiction', 'GB', '--domain', 'cyber', '--url', url], H.op);
        assert.equal(acc.code, 0);
        const accId = (JSON.parse(acc.stdout) as { accreditation: string }).accreditation;
        await run('accGB', ['registry', 'suspend', accId, '--key', 'org', '--reason', 'surveillance found nonconformities']);
        await run('op', ['registry', 'recognition', orgs.tA!, '--jurisdiction', 'GB', '--domain', 'cyber'], undefined, 1);
        // A tester cannot suspend (not the accreditor): refused, exit non-zero.
        const bad = await assay(['registry', 'reinstate', accId, '--key', 'org', '--reason', 'me', '--url', url], H.tA);
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /403|FORBIDDEN/);

        const audit = (await run('op', ['registry', 'audit', '--database', ts.location, '--log', join(H.op, 'registry', 'log')])) as string;
        assert.match(audit, /OK: the database history matches the transparency log/);
      } finally {
        await server.stop('SIGINT');
        await ts.drop();
      }
    });
  });
}
