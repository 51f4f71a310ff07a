import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { signerFromPrivateKey } from '../src/attest/keys.js';
import { openRecord, recordSchema, verifyChain } from '../src/gateway/commit.js';
import { formatExport, signHeadV2, verifyExport, verifyOpening } from '../src/gateway/head.js';
import { accessKey, defaultGrant, deriveCommitKey, issueGrantToken, tokenDigest } from '../src/gateway/grant.js';
import { startGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { AppendTree, hex } from '../src/gateway/tree.js';
import { startTarget } from '../src/target/server.js';
import { ROOT, tmp } from './helpers.js';
import { startScripted, sse } from './gateway-upstream.js';
import { gatewayConfig, startFixture } from './gateway-fixture.js';

/**
 * Fail closed: no answer leaves the gateway before its record is durable; a storage failure stops
 * serving; one gateway per store; rejected credentials leave a bounded trace.
 */

const Q = [{ role: 'user', content: 'What is 6 * 7?' }];

function spawnGateway(arg: object): { child: ChildProcess; ready: Promise<{ url: string } | { exit: number; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/gateway-child.ts'), JSON.stringify(arg)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const ready = new Promise<{ url: string } | { exit: number; stderr: string }>((res) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) res(JSON.parse(line!) as { url: string });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => res({ exit: code ?? -1, stderr: err }));
  });
  return { child, ready };
}

describe('one gateway per store', () => {
  it('a second gateway on the same store is refused, in this process and from another', async () => {
    const f = await startFixture();
    try {
      const other = await GatewayStore.open(join(f.dir, 'gateway.db'));
      await assert.rejects(startGateway({ config: f.config, signer: f.signer, store: other }), /another gateway is serving it|LOCKED|locked/);
      await other.close();
      const keyPem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      const { ready } = spawnGateway({ targetUrl: f.target.url, db: join(f.dir, 'gateway.db'), keyPem });
      const r = await ready;
      assert.ok('exit' in r && r.exit === 3, JSON.stringify(r));
      assert.match((r as { stderr: string }).stderr, /another gateway is serving it/);
      // The first gateway still serves.
      const g = await f.grant();
      const res = await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` }, body: JSON.stringify({ model: 'demo', messages: Q }) });
      assert.equal(res.status, 200);
    } finally {
      await f.close();
    }
  });
});

describe('storage failure stops serving', () => {
  it('a write lock held on the store: the answer is withheld (503) and the gateway stops, the log stays consistent', async () => {
    const f = await startFixture();
    const db = join(f.dir, 'gateway.db');
    try {
      const g = await f.grant();
      const h = { 'content-type': 'application/json', authorization: `Bearer ${g.key}` };
      const ok = await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: h, body: JSON.stringify({ model: 'demo', messages: Q }) });
      assert.equal(ok.status, 200);
      const blocker = new Database(db);
      blocker.exec('BEGIN IMMEDIATE');
      const upstreamBefore = f.upstreamRequests();
      const res = await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: h, body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'What is 2 + 2?' }] }) });
      const text = await res.text();
      assert.equal(res.status, 503, text);
      assert.match(text, /log_unavailable/);
      assert.ok(!/"content":"4"/.test(text), 'the answer is not in the refusal');
      assert.equal(f.upstreamRequests(), upstreamBefore + 1, 'it was asked, but its answer withheld');
      assert.ok(f.gw.failed());
      // Stopped: everything now is 503, even after the lock is gone, until a restart.
      blocker.exec('ROLLBACK');
      blocker.close();
      const after = await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: h, body: JSON.stringify({ model: 'demo', messages: Q }) });
      assert.equal(after.status, 503);
      assert.equal(f.upstreamRequests(), upstreamBefore + 1, 'a stopped gateway forwards nothing');
      assert.equal((await fetch(`${f.gw.url}/health`)).status, 503);
      const recs = await f.store.records();
      assert.equal(recs.length, 1, 'only the answered exchange is in the log');
      assert.deepEqual(verifyChain(recs.map((r) => ({ text: r.text, storedHash: r.hash }))).problems, []);
    } finally {
      await f.close();
    }
  });

  it('a streamed answer whose record cannot be written never gets its terminal event', async () => {
    const f = await startFixture();
    const db = join(f.dir, 'gateway.db');
    try {
      const g = await f.grant();
      const blocker = new Database(db);
      blocker.exec('BEGIN IMMEDIATE');
      const res = await fetch(`${f.gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': g.key }, body: JSON.stringify({ model: 'demo', max_tokens: 20, stream: true, messages: Q }) });
      let text = '';
      await assert.rejects(
        (async () => {
          const dec = new TextDecoder();
          for await (const c of res.body!) text += dec.decode(c as Uint8Array, { stream: true });
        })(),
      );
      assert.ok(!text.includes('message_stop'), 'no terminal event');
      assert.match(text, /log_unavailable/);
      blocker.exec('ROLLBACK');
      blocker.close();
    } finally {
      await f.close();
    }
  });
});

describe('terminal events split across chunks', () => {
  it('a [DONE] that arrives in pieces is still held back until the record commits', async () => {
    const up = await startScripted((_b, _f, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'forty-two' }, finish_reason: null }] }));
      setTimeout(() => res.write('data: [DO'), 30);
      setTimeout(() => res.end('NE]\n\n'), 60);
    });
    const dir = tmp('assay-gw-split-');
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = signerFromPrivateKey(privateKey);
    const config = gatewayConfig(up.url);
    const store = await GatewayStore.open(join(dir, 'g.db'));
    const gw = await startGateway({ config, signer, store });
    try {
      const { token, claims } = issueGrantToken(signer, { tester: 's', audience: config.id, grant: defaultGrant('black-box', ['demo']), ttlSeconds: 600 });
      await store.registerGrant(claims, tokenDigest(token));
      const key = accessKey(token, randomBytes(32));
      const call = () => fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'demo', stream: true, messages: Q }) });
      assert.match(await (await call()).text(), /forty-two[\s\S]*data: \[DONE\]\n\n$/, 'passed through whole when the log works');
      const blocker = new Database(join(dir, 'g.db'));
      blocker.exec('BEGIN IMMEDIATE');
      const res = await call();
      let text = '';
      await assert.rejects((async () => {
        const dec = new TextDecoder();
        for await (const c of res.body!) text += dec.decode(c as Uint8Array, { stream: true });
      })());
      assert.match(text, /forty-two/);
      assert.ok(!text.includes('[DO'), `no part of the terminal event: ${text}`);
      blocker.exec('ROLLBACK');
      blocker.close();
    } finally {
      await gw.close();
      await store.close();
      await up.close();
    }
  });
});

describe('kill -9 during 200 requests', () => {
  it('every answer a client received has a record that opens and verifies', async () => {
    const dir = tmp('assay-gw-kill-');
    const dbFile = join(dir, 'gateway.db');
    const target = await startTarget({ seed: 3, latencyMs: 5, jitterMs: 5 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = signerFromPrivateKey(privateKey);
    const config = gatewayConfig(target.url);
    const setup = await GatewayStore.open(dbFile);
    const { token, claims } = issueGrantToken(signer, { tester: 'k', audience: config.id, grant: { ...defaultGrant('grey-box', ['demo']), rate: { perSecond: 10_000, burst: 10_000 } }, ttlSeconds: 600 });
    await setup.registerGrant(claims, tokenDigest(token));
    await setup.close();
    const commitKey = deriveCommitKey(randomBytes(32), claims.jti);
    const key = accessKey(token, commitKey);
    const { child, ready } = spawnGateway({ targetUrl: target.url, db: dbFile, keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
    const r = await ready;
    assert.ok('url' in r, JSON.stringify(r));
    const url = (r as { url: string }).url;

    const received: { id: string; req: string; resp: string | Buffer }[] = [];
    let failed = 0;
    let done = 0;
    const one = async (i: number) => {
      const stream = i % 3 === 0;
      const req = JSON.stringify(stream ? { model: 'demo', max_tokens: 20, stream: true, messages: [{ role: 'user', content: `What is ${i} + 1?` }] } : { model: 'demo', messages: [{ role: 'user', content: `What is ${i} * 2?` }] });
      try {
        const res = await fetch(`${url}${stream ? '/v1/messages' : '/v1/chat/completions'}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: req });
        const resp = stream ? Buffer.from(await res.arrayBuffer()) : await res.text();
        received.push({ id: res.headers.get('x-assay-request-id')!, req, resp });
      } catch {
        failed++;
      }
      if (++done === 70) child.kill('SIGKILL');
    };
    // 200 requests, 12 at a time; the gateway is killed after the 70th completes.
    let next = 0;
    await Promise.all(Array.from({ length: 12 }, async () => {
      while (next < 200) await one(next++);
    }));
    await new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res(null) : child.once('exit', res)));
    assert.ok(received.length >= 70 && failed > 0, `received ${received.length}, failed ${failed}`);

    // The kernel released the lock: a new gateway opens the store; the log verifies.
    const store = await GatewayStore.open(dbFile);
    try {
      const gw = await startGateway({ config, signer, store });
      await gw.close();
      const recs = await store.records();
      const chain = verifyChain(recs.map((x) => ({ text: x.text, storedHash: x.hash })));
      assert.deepEqual(chain.problems, []);
      const tree = new AppendTree();
      for (const x of recs) tree.append(x.text);
      const head = signHeadV2(signer, { gateway: config.id, size: chain.size, head: chain.head, root: hex(tree.root()), time: new Date().toISOString() });
      const log = verifyExport(formatExport({ gateway: config.id, publicKey: signer.publicKey, records: recs.map((x) => x.text), signedHead: head.envelope }), signer.publicKey);
      assert.deepEqual(log.problems, []);
      const byId = new Map(recs.map((x) => { const rec = recordSchema.parse(JSON.parse(x.text)); return [rec.requestId, rec]; }));
      for (const a of received) {
        const rec = byId.get(a.id);
        assert.ok(rec, `the answer to request ${a.id} was received but has no record`);
        const opening = openRecord(rec, commitKey, a.req, a.resp);
        assert.deepEqual(verifyOpening(opening, log), []);
      }
    } finally {
      await store.close();
      await target.close();
    }
  });
});

describe('rejections', () => {
  it('bad credentials are logged with their reason, and a flood is bounded', async () => {
    const f = await startFixture();
    try {
      const g = await f.grant();
      const bad = `${g.key.split('~')[0]!.slice(0, -4)}AAAA~${g.key.split('~')[1]}`;
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 400 }, () => fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bad}` }, body: '{}' }).then((r) => r.text())));
      const elapsedS = (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 1100));
      await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.text());
      await f.gw.flush();
      const rows = await f.store.rejections();
      const single = rows.filter((r) => r.count === 1);
      // The bucket: a burst of 200, then 20 a second (the flood's own duration on this machine, plus the pause).
      assert.ok(single.length >= 200 && single.length <= 200 + 20 * (elapsedS + 2) && single.length < 401, `${single.length} rows written one by one in ${elapsedS} s`);
      assert.ok(single.some((r) => r.status === 401 && r.code === 'invalid_token' && /signature/.test(r.reason)));
      assert.ok(single.some((r) => r.code === 'missing_credential'));
      const summary = rows.filter((r) => r.code === 'suppressed');
      assert.equal(rows.reduce((n, r) => n + r.count, 0), 401, 'every rejection is counted');
      assert.ok(summary.length >= 1);

      // A grant flooding past its rate: refusals are chained at a bounded rate, the rest counted.
      const slow = await f.grant({ rate: { perSecond: 0.01, burst: 1 } });
      const t1 = Date.now();
      const statuses = await Promise.all(Array.from({ length: 300 }, () => fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${slow.key}` }, body: JSON.stringify({ model: 'demo', messages: Q }) }).then(async (r) => (await r.text(), r.status))));
      assert.equal(statuses.filter((s) => s === 429).length, 299);
      const floodS = (Date.now() - t1) / 1000;
      await f.gw.flush();
      const recs = (await f.store.records()).map((r) => recordSchema.parse(JSON.parse(r.text))).filter((r) => r.grant === slow.claims.jti);
      // Refusal records: a burst of 100, then 10 a second.
      assert.ok(recs.length >= 100 && recs.length <= 101 + 10 * (floodS + 1) && recs.length < 300, `${recs.length} records for a 300-request flood in ${floodS} s`);
    } finally {
      await f.close();
    }
  });
});
