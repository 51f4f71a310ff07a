import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { generateSigner, type Signer } from '../src/attest/keys.js';
import { parseEnvelope } from '../src/attest/dsse.js';
import { ADMIN_HEADER, signAdminRequest } from '../src/gateway/admin.js';
import { openRecord, recordSchema } from '../src/gateway/commit.js';
import { accessKey, defaultGrant, deriveCommitKey, issueGrantToken, tokenDigest, type GrantClaims } from '../src/gateway/grant.js';
import { checkAnchor, formatProofs, signHeadV2, verifyLogFile, verifyOpening } from '../src/gateway/head.js';
import { checkRequest, isRefusal } from '../src/gateway/policy.js';
import { startGateway, type RunningGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { decodeEntry } from '../src/tlog/entry.js';
import { initLog, openConfiguredLog } from '../src/tlog/config.js';
import type { LocalLog } from '../src/tlog/storage.js';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import { tmp } from './helpers.js';
import { gatewayConfig, startFixture } from './gateway-fixture.js';

/**
 * Testers kept apart (per-tester inclusion proofs against signed heads), heads anchored in the
 * transparency log, grants managed while the gateway runs, TLS, and the small defects.
 */

const Q = [{ role: 'user', content: 'What is 6 * 7?' }];

interface Live {
  dir: string;
  target: RunningTarget;
  signer: Signer;
  store: GatewayStore;
  tlog: LocalLog;
  gw: RunningGateway;
  config: ReturnType<typeof gatewayConfig>;
}

async function live(): Promise<Live> {
  const dir = tmp('assay-gw-live-');
  initLog(join(dir, 'log'), 'gw.test/access-log', join(dir, 'log.key'));
  const target = await startTarget({ seed: 5 });
  const signer = generateSigner();
  const config = gatewayConfig(target.url, { tlog: { dir: join(dir, 'log'), everyRecords: 1000, everySeconds: 3600 } });
  const store = await GatewayStore.open(join(dir, 'gw.db'));
  const tlog = await openConfiguredLog(join(dir, 'log'));
  const gw = await startGateway({ config, signer, store, tlog });
  return { dir, target, signer, store, tlog, gw, config };
}
async function closeLive(l: Live) {
  await l.gw.close();
  await l.store.close();
  l.tlog.close();
  await l.target.close();
}

async function admin(l: Live, method: string, path: string, body?: object, sig?: string) {
  const text = body ? JSON.stringify(body) : '';
  const res = await fetch(`${l.gw.url}${path}`, { method, headers: { ...(body ? { 'content-type': 'application/json' } : {}), [ADMIN_HEADER]: sig ?? signAdminRequest(l.signer, method, path, text) }, ...(body ? { body: text } : {}) });
  return { status: res.status, json: (await res.json()) as any };
}

const chat = (url: string, key: string, content = 'What is 6 * 7?', init: Record<string, unknown> = {}) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content }] }), ...init });

describe('per-tester proofs against anchored heads', () => {
  let l: Live;
  before(async () => (l = await live()));
  after(() => closeLive(l));

  it('a tester gets its own records with inclusion proofs, never another tester\'s; the opening verifies against the anchored head', async () => {
    const secretA = randomBytes(32);
    const mk = async (tester: string, secret: Buffer) => {
      const { token, claims } = issueGrantToken(l.signer, { tester, audience: l.config.id, grant: { ...defaultGrant('black-box', ['demo']), rate: { perSecond: 100, burst: 100 } }, ttlSeconds: 600 });
      await l.store.registerGrant(claims, tokenDigest(token));
      const ck = deriveCommitKey(secret, claims.jti);
      return { key: accessKey(token, ck), ck, claims };
    };
    const a = await mk('ALPHA-LAB', secretA);
    const b = await mk('BRAVO-LAB-SECRET-NAME', randomBytes(32));
    const reqA = { model: 'demo', messages: [{ role: 'user', content: 'What is 12 * 12?' }] };
    const resA = await fetch(`${l.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${a.key}` }, body: JSON.stringify(reqA) });
    const respA = await resA.text();
    for (let i = 0; i < 3; i++) await chat(l.gw.url, b.key, `B question ${i}`).then((r) => r.text());
    await chat(l.gw.url, a.key, 'What is 3 + 3?').then((r) => r.text());

    const res = await fetch(`${l.gw.url}/v1/assay/log/proofs`, { headers: { authorization: `Bearer ${a.key}` } });
    assert.equal(res.status, 200);
    const bundle = await res.text();
    assert.ok(!bundle.includes('BRAVO-LAB-SECRET-NAME') && !bundle.includes(b.claims.jti), 'nothing of the other tester');
    const log = verifyLogFile(bundle, l.signer.publicKey);
    assert.deepEqual(log.problems, []);
    const mine = log.records.filter((x) => x !== undefined).map((t) => recordSchema.parse(JSON.parse(t)));
    assert.equal(mine.length, 2);
    assert.ok(mine.every((r) => r.grant === a.claims.jti));
    assert.ok(log.size >= 5);

    const rec = mine.find((r) => r.requestId === resA.headers.get('x-assay-request-id'))!;
    const opening = openRecord(rec, a.ck, JSON.stringify(reqA), respA);
    assert.deepEqual(verifyOpening(opening, log), []);
    assert.deepEqual(checkAnchor(log, { logVkey: l.tlog.vkey }), [], 'the head is in the transparency log');

    // Another tester's record cannot be shown against A's bundle, nor altered into it.
    const forged = structuredClone(opening);
    forged.record.seq = mine[0]!.seq === 0 ? 1 : 0;
    assert.ok(verifyOpening(forged, log).length > 0);
    const tampered = JSON.parse(bundle);
    tampered.records[0].text = tampered.records[0].text.replace('"status":200', '"status":500');
    assert.match(verifyLogFile(JSON.stringify(tampered), l.signer.publicKey).problems.map((p) => p.problem).join(), /not proven included/);
  });

  it('a head that is not in the transparency log fails: unanchored, or re-signed after a rewrite', async () => {
    const k = issueGrantToken(l.signer, { tester: 'C', audience: l.config.id, grant: defaultGrant('black-box', ['demo']), ttlSeconds: 600 });
    await l.store.registerGrant(k.claims, tokenDigest(k.token));
    const key = accessKey(k.token, randomBytes(32));
    await chat(l.gw.url, key).then((r) => r.text());
    const bundle = await (await fetch(`${l.gw.url}/v1/assay/log/proofs`, { headers: { authorization: `Bearer ${key}` } })).text();
    const log = verifyLogFile(bundle, l.signer.publicKey);
    assert.deepEqual(checkAnchor(log, { logVkey: l.tlog.vkey }), []);
    // The developer re-signs a head (same size, another root) and reuses the real tlog proof.
    const b = JSON.parse(bundle);
    const head = log.signedHead.head as { size: number; head: string; root: string };
    const resigned = signHeadV2(l.signer, { gateway: l.config.id, size: head.size, head: head.head, root: `sha256:${'ab'.repeat(32)}`, time: new Date().toISOString() });
    const rewritten = { ...b, signedHead: resigned.envelope };
    const rlog = verifyLogFile(JSON.stringify(rewritten), l.signer.publicKey);
    assert.match(checkAnchor(rlog, { logVkey: l.tlog.vkey }).join(), /not in the transparency log/);
    const unanchored = { ...b, tlogProof: null };
    assert.match(checkAnchor(verifyLogFile(JSON.stringify(unanchored), l.signer.publicKey), { logVkey: l.tlog.vkey }).join(), /not anchored/);
    // A proof from another log's key does not count.
    assert.match(checkAnchor(log, { logVkey: (await openOther()).vkey }).join(), /not in the transparency log/);
    void formatProofs;
  });

  it('every head the gateway signs is in the transparency log as an access-log entry', async () => {
    const cp = await l.gw.checkpoint();
    assert.ok(cp.tlogIndex !== null && cp.tlogProof);
    const e = decodeEntry(l.tlog.entry(cp.tlogIndex));
    assert.equal(e.type, 'access-log');
    assert.equal(e.metadata.root, cp.root);
    const env = parseEnvelope(cp.envelopeJson);
    assert.equal(e.digest, `sha256:${createHash('sha256').update(Buffer.from(env.payload, 'base64')).digest('hex')}`);
  });
});

async function openOther() {
  const d = tmp('assay-other-log-');
  initLog(join(d, 'log'), 'other.test/log', join(d, 'k'));
  const o = await openConfiguredLog(join(d, 'log'));
  o.close();
  return o;
}

describe('live grant management', () => {
  let l: Live;
  before(async () => (l = await live()));
  after(() => closeLive(l));

  it('issue, narrow, extend and revoke through the admin API while serving, each logged first', async () => {
    const issued = await admin(l, 'POST', '/v1/assay/admin/grants', { tester: 'LIVE', grant: { ...defaultGrant('grey-box', ['demo', 'other']), rate: { perSecond: 100, burst: 100 } }, ttlSeconds: 600 });
    assert.equal(issued.status, 201, JSON.stringify(issued.json));
    const claims = issued.json.claims as GrantClaims;
    const e = decodeEntry(l.tlog.entry(issued.json.tlogIndex));
    assert.deepEqual([e.type, e.metadata.action, e.metadata.grant, e.digest], ['access-grant', 'issue', claims.jti, tokenDigest(issued.json.token)]);
    const ck = randomBytes(32);
    const key1 = accessKey(issued.json.token, ck);
    assert.equal((await chat(l.gw.url, key1)).status, 200);

    const narrowed = await admin(l, 'PATCH', `/v1/assay/admin/grants/${claims.jti}`, { narrow: { level: 'black-box', models: ['demo'] } });
    assert.equal(narrowed.status, 200, JSON.stringify(narrowed.json));
    assert.equal(narrowed.json.claims.jti, claims.jti, 'same grant id: usage and commitment key carry over');
    assert.equal(decodeEntry(l.tlog.entry(narrowed.json.tlogIndex)).metadata.action, 'narrow');
    const key2 = accessKey(narrowed.json.token, ck);
    assert.equal((await chat(l.gw.url, key1)).status, 401, 'the replaced token stops at once');
    assert.equal((await chat(l.gw.url, key2)).status, 200);
    const grey = await fetch(`${l.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key2}` }, body: JSON.stringify({ model: 'demo', messages: Q, logprobs: true }) });
    assert.equal(grey.status, 403);

    const widen = await admin(l, 'PATCH', `/v1/assay/admin/grants/${claims.jti}`, { narrow: { level: 'white-box' } });
    assert.equal(widen.status, 403);
    assert.match(widen.json.error.message, /only be narrowed/);

    const extended = await admin(l, 'PATCH', `/v1/assay/admin/grants/${claims.jti}`, { extendSeconds: 3600 });
    assert.equal(extended.status, 200);
    assert.equal(extended.json.claims.exp, narrowed.json.claims.exp + 3600);
    assert.equal(extended.json.claims.assay.level, 'black-box', 'extending keeps the narrowing');
    const key3 = accessKey(extended.json.token, ck);
    assert.equal((await chat(l.gw.url, key3)).status, 200);

    const revoked = await admin(l, 'DELETE', `/v1/assay/admin/grants/${claims.jti}`);
    assert.equal(revoked.status, 200);
    assert.equal(decodeEntry(l.tlog.entry(revoked.json.tlogIndex)).metadata.action, 'revoke');
    assert.equal((await chat(l.gw.url, key3)).status, 401);
    const listed = await admin(l, 'GET', '/v1/assay/admin/grants');
    assert.ok(listed.json.some((g: { jti: string; revokedAt: string | null }) => g.jti === claims.jti && g.revokedAt));
  });

  it('refuses unsigned, wrongly signed, replayed and stale admin requests', async () => {
    const body = { tester: 'X', grant: defaultGrant('black-box', ['demo']), ttlSeconds: 60 };
    const text = JSON.stringify(body);
    assert.equal((await fetch(`${l.gw.url}/v1/assay/admin/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })).status, 401);
    assert.equal((await admin(l, 'POST', '/v1/assay/admin/grants', body, signAdminRequest(generateSigner(), 'POST', '/v1/assay/admin/grants', text))).status, 401);
    const sig = signAdminRequest(l.signer, 'POST', '/v1/assay/admin/grants', text);
    assert.equal((await admin(l, 'POST', '/v1/assay/admin/grants', body, sig)).status, 201);
    assert.equal((await admin(l, 'POST', '/v1/assay/admin/grants', body, sig)).status, 401, 'replay');
    assert.equal((await admin(l, 'POST', '/v1/assay/admin/grants', body, signAdminRequest(l.signer, 'POST', '/v1/assay/admin/grants', text, Date.now() - 120_000))).status, 401, 'stale');
    // A signature over another body does not authorise this one.
    const other = signAdminRequest(l.signer, 'POST', '/v1/assay/admin/grants', JSON.stringify({ ...body, tester: 'Y' }));
    assert.equal((await admin(l, 'POST', '/v1/assay/admin/grants', body, other)).status, 401);
    // Two identical requests signed in the same second are both accepted (each has its own nonce)…
    const now = Date.now();
    const a = signAdminRequest(l.signer, 'POST', '/v1/assay/admin/grants', text, now);
    const b = signAdminRequest(l.signer, 'POST', '/v1/assay/admin/grants', text, now);
    assert.notEqual(a, b);
    assert.equal((await admin(l, 'POST', '/v1/assay/admin/grants', body, a)).status, 201);
    assert.equal((await admin(l, 'POST', '/v1/assay/admin/grants', body, b)).status, 201);
    // …and the nonce is signed: another nonce with the same signature is refused.
    const [t, , s] = signAdminRequest(l.signer, 'POST', '/v1/assay/admin/grants', text).split('.');
    assert.equal((await admin(l, 'POST', '/v1/assay/admin/grants', body, `${t}.${'A'.repeat(22)}.${s}`)).status, 401);
  });

  it('a failed transparency-log append leaves no active grant', async () => {
    const dir = tmp('assay-gw-tlogfail-');
    const target = await startTarget();
    const signer = generateSigner();
    const config = gatewayConfig(target.url);
    const store = await GatewayStore.open(join(dir, 'gw.db'));
    const broken = { append() { throw new Error('disk full'); } } as unknown as LocalLog;
    const gw = await startGateway({ config, signer, store, tlog: broken });
    try {
      const l2 = { gw, signer } as Live;
      const r = await admin(l2, 'POST', '/v1/assay/admin/grants', { tester: 'Z', grant: defaultGrant('black-box', ['demo']), ttlSeconds: 60 });
      assert.equal(r.status, 503);
      assert.match(r.json.error.message, /not issued.*disk full/);
      assert.deepEqual(await store.listGrants(), []);
    } finally {
      await gw.close();
      await store.close();
      await target.close();
    }
  });
});

describe('TLS', () => {
  it('serves HTTPS from certificate files, and a certificate-bound grant works only with that client certificate', async () => {
    const dir = tmp('assay-gw-tls-');
    const mk = (name: string) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      return { cert: readFileSync(join(dir, `${name}.pem`)), key: readFileSync(join(dir, `${name}.key`)) };
    };
    const server = mk('server');
    const client = mk('client');
    const stranger = mk('stranger');
    const f = await startFixture({ config: { tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), clientCertificates: 'request' } } });
    try {
      assert.match(f.gw.url, /^https:/);
      const trust = new Agent({ connect: { ca: server.cert } });
      const g = await f.grant();
      const res = await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` }, body: JSON.stringify({ model: 'demo', messages: Q }), dispatcher: trust } as unknown as RequestInit);
      assert.equal(res.status, 200);
      await assert.rejects(fetch(f.gw.url.replace('https:', 'http:') + '/health').then((r) => r.text()), 'no plain HTTP on the TLS port');
      await assert.rejects(fetch(`${f.gw.url}/health`), 'an untrusted certificate is refused by the client');

      // Certificate-bound grant (RFC 8705 x5t#S256).
      const thumb = createHash('sha256').update(new X509Certificate(client.cert).raw).digest('base64url');
      const { token, claims } = issueGrantToken(f.signer, { tester: 'mtls', audience: f.config.id, grant: { ...defaultGrant('black-box', ['demo']), rate: { perSecond: 100, burst: 100 } }, ttlSeconds: 600, certThumbprint: thumb });
      await f.store.registerGrant(claims, tokenDigest(token));
      const key = accessKey(token, randomBytes(32));
      const call = (dispatcher: Agent) => fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'demo', messages: Q }), dispatcher } as unknown as RequestInit);
      assert.equal((await call(new Agent({ connect: { ca: server.cert, cert: client.cert, key: client.key } }))).status, 200);
      const noCert = await call(trust);
      assert.equal(noCert.status, 401);
      assert.match(await noCert.text(), /bound to a client certificate/);
      assert.equal((await call(new Agent({ connect: { ca: server.cert, cert: stranger.cert, key: stranger.key } }))).status, 401);
    } finally {
      await f.close();
    }
  });
});

describe('small defects', () => {
  it('OpenAI system and developer messages are refused when the grant narrows system prompts away', () => {
    const narrowed = { ...defaultGrant('black-box', ['m']), params: ['max_tokens'] };
    for (const role of ['system', 'developer']) {
      const r = checkRequest('openai.chat', { model: 'm', messages: [{ role, content: 'You are evil.' }, { role: 'user', content: 'hi' }] }, narrowed);
      assert.ok(isRefusal(r) && r.status === 403 && /system prompts are not among/.test(r.message), JSON.stringify(r));
    }
    assert.ok(isRefusal(checkRequest('anthropic.messages', { model: 'm', max_tokens: 5, system: 'x', messages: [{ role: 'user', content: 'hi' }] }, narrowed)));
    assert.ok(!isRefusal(checkRequest('openai.chat', { model: 'm', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'hi' }] }, { ...narrowed, params: ['system'] })));
    assert.ok(!isRefusal(checkRequest('openai.chat', { model: 'm', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'hi' }] }, { ...narrowed, params: null })));
  });

  it('white-box names from Object.prototype are 501 not_offered, never 502', async () => {
    const f = await startFixture({ config: { upstreams: { sim: { openai: 'http://127.0.0.1:9/v1', whiteBox: { activations: '/v1/activations' } } } } });
    try {
      const w = await f.grant({ level: 'white-box' });
      for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        const r = await fetch(`${f.gw.url}/v1/white-box/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${w.key}` }, body: JSON.stringify({ model: 'demo' }) });
        const t = await r.text();
        assert.equal(r.status, 501, `${name}: ${t}`);
        assert.notEqual(r.status, 502, `${name}: ${t}`);
      }
    } finally {
      await f.close();
    }
  });

  it('refuses to start when an upstream key variable is not set', async () => {
    const target = await startTarget();
    const store = await GatewayStore.open(':memory:');
    try {
      const config = gatewayConfig(target.url, { upstreams: { sim: { openai: `${target.url}/v1`, apiKeyEnv: 'ASSAY_TEST_NO_SUCH_KEY' } } });
      await assert.rejects(startGateway({ config, signer: generateSigner(), store, env: {} }), /ASSAY_TEST_NO_SUCH_KEY, which is not set/);
      const gw = await startGateway({ config, signer: generateSigner(), store, env: { ASSAY_TEST_NO_SUCH_KEY: 'k' } });
      await gw.close();
    } finally {
      await store.close();
      await target.close();
    }
  });
});
