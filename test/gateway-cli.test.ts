import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import Database from 'better-sqlite3';
import { digestOfFile } from '../src/attest/digest.js';
import { exportPublicPem, generateKey, loadSigner } from '../src/attest/keys.js';
import { RELEASE_HEADER } from '../src/gateway/release.js';
import { startTarget } from '../src/target/server.js';
import { initLog } from '../src/tlog/config.js';
import { ed25519Signer } from '../src/tlog/note.js';
import { generateKeyPairSync } from 'node:crypto';
import { cliEntry, cli, tmp } from './helpers.js';

/** The gateway's CLI end to end, with the server as a child process (kept to few spawns: each costs seconds). */

describe('gateway CLI end to end', () => {
  it('keys, release, grant, serve, call, revoke, export, open, verify-opening, tamper check', async () => {
    const home = tmp('assay-gw-cli-');
    const env = { ASSAY_HOME: home };
    const target = await startTarget({ seed: 3 });
    let server: ReturnType<typeof spawn> | null = null;
    try {
      const devKey = generateKey({ name: 'dev', home });
      const rel = await cli(['release', 'sign', '-m', 'demo', '--model-version', '1.0', '--weights-digest', `sha256:${'12'.repeat(32)}`, '--developer', 'Example Lab', '--key', 'dev', '-o', join(home, 'release.json')], env);
      assert.equal(rel.code, 0, rel.stderr);
      const relDigest = /digest (sha256:[0-9a-f]{64})/.exec(rel.stdout)![1]!;
      initLog(join(home, 'tlog'), 'gw.cli/access-log', join(home, 'tlog.key'));
      writeFileSync(join(home, 'gw.yaml'), `schema: assay.gateway-config/v1\nid: gw.cli/test\nkey: dev\nlisten: { host: 127.0.0.1, port: 0 }\nupstreams:\n  sim: { openai: ${target.url}/v1, anthropic: ${target.url} }\nmodels:\n  demo: { upstream: sim, release: release.json, price: { input: 1, output: 1 } }\ntlog: { dir: tlog, everyRecords: 1000, everySeconds: 3600 }\n`);
      const gi = await cli(['grant', 'issue', '--config', join(home, 'gw.yaml'), '--tester', 'acme', '-m', 'demo', '--level', 'black-box', '--expires', '2h', '--max-tokens-total', '100000', '-o', join(home, 'grant.jwt')], env);
      assert.equal(gi.code, 0, gi.stderr);
      const jti = /grant (g_[0-9a-f]{32})/.exec(gi.stdout)![1]!;
      const ak = await cli(['grant', 'access-key', '--token', join(home, 'grant.jwt'), '--secret', join(home, 'tester.secret'), '--create-secret'], env);
      assert.equal(ak.code, 0, ak.stderr);
      const key = ak.stdout.trim();
      writeFileSync(join(home, 'access.key'), key);

      server = spawn(process.execPath, [cliEntry(), 'gateway', 'serve', '--config', join(home, 'gw.yaml')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const url = await new Promise<string>((resolve, reject) => {
        let outText = '';
        server!.stdout!.on('data', (d) => {
          outText += d;
          const m = /listening on (http:\/\/\S+)/.exec(outText);
          if (m) resolve(m[1]!);
        });
        server!.stderr!.on('data', (d) => process.stderr.write(d));
        server!.once('exit', (c) => reject(new Error(`gateway exited ${c}`)));
      });
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
      const body = { model: 'demo', messages: [{ role: 'user' as const, content: 'What is 5 * 5?' }], max_tokens: 4 };
      const { data, response } = await client.chat.completions.create(body).withResponse();
      assert.equal(response.headers.get(RELEASE_HEADER), relDigest);
      writeFileSync(join(home, 'req.json'), JSON.stringify(body));
      writeFileSync(join(home, 'resp.json'), JSON.stringify(data));

      // Live grant management while the gateway runs (it holds the transparency log).
      const cfg = join(home, 'gw.yaml');
      const offline = await cli(['grant', 'issue', '--config', cfg, '--tester', 'late', '-m', 'demo', '--level', 'black-box', '-o', join(home, 'late.jwt')], env);
      assert.notEqual(offline.code, 0, 'offline issue cannot log while the gateway holds the transparency log');
      assert.match(offline.stderr, /--gateway/);
      assert.throws(() => readFileSync(join(home, 'late.jwt')), 'no token file left behind');
      const grantsDb = new Database(join(home, 'gateway.db'), { readonly: true });
      assert.equal((grantsDb.prepare('select count(*) as n from grants').get() as { n: number }).n, 1, 'no grant registered by the failed issue');
      grantsDb.close();
      const live = await cli(['grant', 'issue', '--config', cfg, '--gateway', url, '--tester', 'late', '-m', 'demo', '--level', 'grey-box', '-o', join(home, 'late.jwt')], env);
      assert.equal(live.code, 0, live.stderr);
      assert.match(live.stdout, /logged as entry \d+/);
      const lateJti = /grant (g_[0-9a-f]{32})/.exec(live.stdout)![1]!;
      const nar = await cli(['grant', 'narrow', lateJti, '--config', cfg, '--gateway', url, '--level', 'black-box', '-o', join(home, 'late2.jwt')], env);
      assert.equal(nar.code, 0, nar.stderr);
      const wid = await cli(['grant', 'narrow', lateJti, '--config', cfg, '--gateway', url, '--level', 'white-box'], env);
      assert.notEqual(wid.code, 0);
      assert.match(wid.stderr, /only be narrowed/);

      // The tester fetches its own records with proofs against an anchored head.
      const pr = await cli(['gateway', 'proofs', '--url', url, '--access-key', join(home, 'access.key'), '-o', join(home, 'mine.json')], env);
      assert.equal(pr.code, 0, pr.stderr);

      const rv = await cli(['grant', 'revoke', jti, '--config', cfg, '--gateway', url, '--reason', 'engagement over'], env);
      assert.equal(rv.code, 0, rv.stderr);
      await assert.rejects(client.chat.completions.create(body), (e: Error & { status?: number }) => e.status === 401 && /revoked/.test(e.message));

      const ex = await cli(['gateway', 'log', 'export', '--config', cfg, '--gateway', url, '-o', join(home, 'log.jsonl')], env);
      assert.equal(ex.code, 0, ex.stderr);
      const exg = await cli(['gateway', 'log', 'export', '--config', cfg, '--gateway', url, '--grant', jti, '-o', join(home, 'grant-proofs.json')], env);
      assert.equal(exg.code, 0, exg.stderr);
      const op = await cli(['gateway', 'open', '--log', join(home, 'log.jsonl'), '--access-key', join(home, 'access.key'), '--request', join(home, 'req.json'), '--response', join(home, 'resp.json'), '-o', join(home, 'opening.json')], env);
      assert.equal(op.code, 0, op.stderr);
      const pub = join(home, 'gw.pub');
      writeFileSync(pub, exportPublicPem(devKey.publicKey));
      assert.equal(loadSigner('dev', home).keyId, devKey.keyId);
      const vo = await cli(['gateway', 'verify-opening', join(home, 'opening.json'), '--log', join(home, 'log.jsonl'), '--gateway-key', pub, '--tlog-key', join(home, 'tlog')], env);
      assert.equal(vo.code, 0, vo.stderr);
      assert.match(vo.stdout, /opening verified: record 0 .*anchored/);
      // The same opening against the tester's own proofs (from the gateway, and from the developer's --grant export).
      for (const bundle of ['mine.json', 'grant-proofs.json']) {
        const vb = await cli(['gateway', 'verify-opening', join(home, 'opening.json'), '--log', join(home, bundle), '--gateway-key', pub, '--tlog-key', join(home, 'tlog')], env);
        assert.equal(vb.code, 0, vb.stderr);
        assert.ok(!readFileSync(join(home, bundle), 'utf8').includes('"tester":"late"'), 'no other tester in a tester bundle');
      }
      // Re-proved against the log's current checkpoint; a witness it does not carry fails.
      const fresh = await cli(['gateway', 'verify-opening', join(home, 'opening.json'), '--log', join(home, 'mine.json'), '--gateway-key', pub, '--tlog-key', join(home, 'tlog'), '--tlog', join(home, 'tlog')], env);
      assert.equal(fresh.code, 0, fresh.stderr);
      const witness = ed25519Signer('witness.test', generateKeyPairSync('ed25519').privateKey).vkey;
      const unwitnessed = await cli(['gateway', 'verify-opening', join(home, 'opening.json'), '--log', join(home, 'mine.json'), '--gateway-key', pub, '--tlog-key', join(home, 'tlog'), '--tlog', join(home, 'tlog'), '--witness', witness], env);
      assert.equal(unwitnessed.code, 16, unwitnessed.stdout);
      const noAnchor = await cli(['gateway', 'verify-opening', join(home, 'opening.json'), '--log', join(home, 'log.jsonl'), '--gateway-key', pub], env);
      assert.equal(noAnchor.code, 16, 'the head must be checked against the transparency log');
      const lv = await cli(['gateway', 'log', 'verify', '--config', join(home, 'gw.yaml')], env);
      assert.equal(lv.code, 0, lv.stderr);
      assert.match(lv.stdout, /access log verified: 1 records/);
      // Alter a record in the database: log verify fails with 14 and names it.
      const sqlite = new Database(join(home, 'gateway.db'));
      const row = sqlite.prepare('select text from records where seq = 0').get() as { text: string };
      sqlite.prepare('update records set text = ? where seq = 0').run(row.text.replace('"status":200', '"status":201'));
      sqlite.close();
      const lv2 = await cli(['gateway', 'log', 'verify', '--config', join(home, 'gw.yaml')], env);
      assert.equal(lv2.code, 14, lv2.stdout);
      assert.match(lv2.stderr, /record 0: stored hash .* altered/);
      assert.match(lv2.stderr, /signed head of size \d+ /);
      // An opening against an edited export fails with 16.
      const exp = readFileSync(join(home, 'log.jsonl'), 'utf8').replace('"status":200', '"status":201');
      writeFileSync(join(home, 'log-edited.jsonl'), exp);
      const vo2 = await cli(['gateway', 'verify-opening', join(home, 'opening.json'), '--log', join(home, 'log-edited.jsonl'), '--gateway-key', pub, '--tlog-key', join(home, 'tlog')], env);
      assert.equal(vo2.code, 16, vo2.stdout);
      // The digest assay attest --model-release would record is the stamp.
      assert.equal(`sha256:${(await digestOfFile(join(home, 'release.json'))).sha256}`, relDigest);
    } finally {
      server?.kill('SIGTERM');
      await target.close();
    }
  });
});
