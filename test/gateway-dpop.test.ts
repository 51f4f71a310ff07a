import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { DpopVerifier, jwkThumbprint, makeDpopProof, tokenHash } from '../src/gateway/dpop.js';
import { accessKey, claimsSchema, defaultGrant, deriveCommitKey, issueGrantToken, tokenDigest } from '../src/gateway/grant.js';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { generateKey } from '../src/attest/keys.js';
import { cli, tmp } from './helpers.js';
import { startFixture, type Fixture } from './gateway-fixture.js';

/**
 * DPoP-bound grants (RFC 9449): a token bound to the tester's key is useless to whoever steals it,
 * a proof works once, for one method and URL, within the clock window.
 */

async function keyPair(alg: 'ES256' | 'EdDSA' = 'ES256') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, alg, jkt: await jwkThumbprint(jwk) };
}

describe('DPoP proof verification (unit, controlled clock)', () => {
  const T0 = 1_800_000_000;
  let clock = T0 * 1000;
  const v = () => new DpopVerifier({ skewSeconds: 60, startedAtS: T0 - 100, now: () => clock });
  const URL_ = 'https://gw.example/v1/chat/completions';
  const TOKEN = 'aaa.bbb.ccc';

  it('accepts a fresh proof once; a replay of the same proof is refused', async () => {
    const k = await keyPair();
    const ver = v();
    const proof = await makeDpopProof(k.privateKey, k.jwk, { alg: k.alg, htm: 'POST', htu: URL_, accessToken: TOKEN, iat: T0 });
    clock = T0 * 1000;
    await ver.verify({ proof, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt });
    await assert.rejects(ver.verify({ proof, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /already used \(replay\)/);
    // The same jti under a new signature (new iat) is still a replay.
    const again = await makeDpopProof(k.privateKey, k.jwk, { alg: k.alg, htm: 'POST', htu: URL_, accessToken: TOKEN, iat: T0 + 1, jti: JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString()).jti });
    await assert.rejects(ver.verify({ proof: again, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /replay/);
  });

  it('refuses wrong htm, wrong htu (path, host, scheme), but ignores query strings and default ports', async () => {
    const k = await keyPair('EdDSA');
    const ver = v();
    clock = T0 * 1000;
    const mk = (htm: string, htu: string) => makeDpopProof(k.privateKey, k.jwk, { alg: 'EdDSA', htm, htu, accessToken: TOKEN, iat: T0 });
    await assert.rejects(ver.verify({ proof: await mk('GET', URL_), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /htm/);
    await assert.rejects(ver.verify({ proof: await mk('POST', 'https://gw.example/v1/messages'), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /htu/);
    await assert.rejects(ver.verify({ proof: await mk('POST', 'https://evil.example/v1/chat/completions'), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /htu/);
    await assert.rejects(ver.verify({ proof: await mk('POST', 'http://gw.example/v1/chat/completions'), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /htu/);
    await assert.rejects(ver.verify({ proof: await mk('POST', 'not a url'), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /htu/);
    await ver.verify({ proof: await mk('POST', 'HTTPS://GW.example:443/v1/chat/completions?x=1#f'), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt });
  });

  it('clock skew: ±60 s accepted, beyond refused both ways; proofs older than the process start refused', async () => {
    const k = await keyPair();
    const ver = v();
    const at = (iat: number) => makeDpopProof(k.privateKey, k.jwk, { alg: k.alg, htm: 'POST', htu: URL_, accessToken: TOKEN, iat });
    clock = T0 * 1000;
    await ver.verify({ proof: await at(T0 - 59), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt });
    await ver.verify({ proof: await at(T0 + 59), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt });
    await assert.rejects(ver.verify({ proof: await at(T0 - 61), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /from the gateway's clock/);
    await assert.rejects(ver.verify({ proof: await at(T0 + 61), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /from the gateway's clock/);
    // A proof captured before a restart (the replay cache was in memory) is never accepted after it.
    const restarted = new DpopVerifier({ skewSeconds: 60, startedAtS: T0, now: () => clock });
    await assert.rejects(restarted.verify({ proof: await at(T0 - 30), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /before this gateway started/);
    // A cached proof whose window has passed cannot come back either (its iat is now out of range).
    const p = await at(T0);
    await ver.verify({ proof: p, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt });
    clock = (T0 + 120) * 1000;
    await assert.rejects(ver.verify({ proof: p, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /clock|replay/);
  });

  it('refuses another key, another token (ath), a private jwk, unsigned and HMAC proofs, missing or malformed headers', async () => {
    const k = await keyPair();
    const thief = await keyPair();
    const ver = v();
    clock = T0 * 1000;
    const base = { htm: 'POST', htu: URL_, accessToken: TOKEN, iat: T0 };
    await assert.rejects(ver.verify({ proof: await makeDpopProof(thief.privateKey, thief.jwk, { alg: 'ES256', ...base }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /other than the one this grant is bound to/);
    await assert.rejects(ver.verify({ proof: await makeDpopProof(k.privateKey, k.jwk, { alg: 'ES256', ...base, accessToken: 'other.token.x' }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /ath/);
    // A thief's key in the header but the victim's thumbprint claimed: signature must match the header key.
    const forged = await makeDpopProof(thief.privateKey, k.jwk, { alg: 'ES256', ...base });
    await assert.rejects(ver.verify({ proof: forged, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /signature/);
    // Private key material in the header.
    const priv = await exportJWK(k.privateKey);
    await assert.rejects(ver.verify({ proof: await makeDpopProof(k.privateKey, priv, { alg: 'ES256', ...base }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /public key|malformed/);
    await assert.rejects(jwkThumbprint(priv), /PUBLIC/);
    // alg none / HS256 with the jwk header.
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = { htm: 'POST', htu: URL_, iat: T0, jti: randomBytes(16).toString('hex'), ath: tokenHash(TOKEN) };
    await assert.rejects(ver.verify({ proof: `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: k.jwk })}.${b64(claims)}.`, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /compact JWS|algorithm|malformed/);
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } as never }).sign(new TextEncoder().encode('secret'));
    await assert.rejects(ver.verify({ proof: hs, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /algorithm/);
    // Wrong typ.
    const jwt = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: k.jwk }).sign(k.privateKey);
    await assert.rejects(ver.verify({ proof: jwt, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /typ/);
    // Missing jti, short jti.
    const noJti = await new SignJWT({ ...claims, jti: undefined }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: k.jwk }).sign(k.privateKey);
    await assert.rejects(ver.verify({ proof: noJti, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /jti/);
    await assert.rejects(ver.verify({ proof: null, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /send a DPoP proof/);
    await assert.rejects(ver.verify({ proof: `${forged}, ${forged}`, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /one compact JWS/);
  });

  it('the replay cache is bounded and fails closed when full of live proofs', async () => {
    const k = await keyPair();
    const ver = new DpopVerifier({ skewSeconds: 60, startedAtS: T0 - 100, cacheSize: 3, now: () => clock });
    clock = T0 * 1000;
    for (let i = 0; i < 3; i++) await ver.verify({ proof: await makeDpopProof(k.privateKey, k.jwk, { alg: 'ES256', htm: 'POST', htu: URL_, accessToken: TOKEN, iat: T0 }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt });
    await assert.rejects(ver.verify({ proof: await makeDpopProof(k.privateKey, k.jwk, { alg: 'ES256', htm: 'POST', htu: URL_, accessToken: TOKEN, iat: T0 }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }), /too many DPoP proofs/);
    clock = (T0 + 62) * 1000;
    await ver.verify({ proof: await makeDpopProof(k.privateKey, k.jwk, { alg: 'ES256', htm: 'POST', htu: URL_, accessToken: TOKEN, iat: T0 + 62 }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt });
    assert.equal(ver.cache.size, 1, 'expired entries were pruned');
  });

  it('grant claims accept cnf.jkt alone, x5t#S256 alone or both, never an empty cnf', () => {
    const signer = { keyId: 'k', sign: () => Buffer.alloc(64) } as never;
    const jkt = 'A'.repeat(43);
    const c = issueGrantToken(signer, { tester: 't', audience: 'a', grant: defaultGrant('black-box', ['m']), ttlSeconds: 60, dpopJkt: jkt }).claims;
    assert.deepEqual(c.cnf, { jkt });
    assert.ok(claimsSchema.safeParse(c).success);
    assert.ok(!claimsSchema.safeParse({ ...c, cnf: {} }).success);
    assert.ok(!claimsSchema.safeParse({ ...c, cnf: { jkt, extra: 'x' } }).success);
  });
});

describe('DPoP-bound grants through the gateway', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await f.close();
  });
  const Q = [{ role: 'user', content: 'What is 2 + 3?' }];

  async function boundGrant() {
    const k = await keyPair();
    const { token, claims } = issueGrantToken(f.signer, { tester: 'dpop-tester', audience: f.config.id, grant: { ...defaultGrant('black-box', ['demo']), rate: { perSecond: 1000, burst: 1000 } }, ttlSeconds: 600, dpopJkt: k.jkt });
    await f.store.registerGrant(claims, tokenDigest(token));
    return { k, token, claims, key: accessKey(token, deriveCommitKey(f.testerSecret, claims.jti)) };
  }
  const chat = (key: string, proof: string | null, o: { scheme?: string; path?: string; body?: unknown } = {}) =>
    fetch(`${f.gw.url}${o.path ?? '/v1/chat/completions'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `${o.scheme ?? 'Bearer'} ${key}`, ...(proof ? { dpop: proof } : {}) },
      body: JSON.stringify(o.body ?? { model: 'demo', messages: Q, max_tokens: 8 }),
    });

  it('a stolen access key without the bound key gets nothing, and the upstream is never called', async () => {
    const g = await boundGrant();
    const thief = await keyPair();
    const htu = `${f.gw.url}/v1/chat/completions`;
    const before_ = f.upstreamRequests();
    const noProof = await chat(g.key, null);
    assert.equal(noProof.status, 401);
    assert.match(await noProof.text(), /bound to a key/);
    const thiefProof = await makeDpopProof(thief.privateKey, thief.jwk, { alg: 'ES256', htm: 'POST', htu, accessToken: g.token });
    const r = await chat(g.key, thiefProof);
    assert.equal(r.status, 401);
    assert.match(await r.text(), /other than the one this grant is bound to/);
    assert.equal(f.upstreamRequests(), before_, 'no refused request reached the upstream');
  });

  it('the key holder is served; each proof once; for its own method and URL only', async () => {
    const g = await boundGrant();
    const htu = `${f.gw.url}/v1/chat/completions`;
    const proof = await makeDpopProof(g.k.privateKey, g.k.jwk, { alg: 'ES256', htm: 'POST', htu, accessToken: g.token });
    const ok = await chat(g.key, proof);
    assert.equal(ok.status, 200, await ok.clone().text());
    const before_ = f.upstreamRequests();
    // A proof sniffed off the wire together with the token: replayed, refused.
    const replay = await chat(g.key, proof);
    assert.equal(replay.status, 401);
    assert.match(await replay.text(), /replay/);
    // A proof made for the Anthropic endpoint, presented at the OpenAI one.
    const other = await makeDpopProof(g.k.privateKey, g.k.jwk, { alg: 'ES256', htm: 'POST', htu: `${f.gw.url}/v1/messages`, accessToken: g.token });
    assert.equal((await chat(g.key, other)).status, 401);
    // A proof for the grant endpoint (GET) used for a POST.
    const get = await makeDpopProof(g.k.privateKey, g.k.jwk, { alg: 'ES256', htm: 'GET', htu, accessToken: g.token });
    assert.equal((await chat(g.key, get)).status, 401);
    // A proof made for another tester's token.
    const g2 = await boundGrant();
    const cross = await makeDpopProof(g.k.privateKey, g.k.jwk, { alg: 'ES256', htm: 'POST', htu, accessToken: g2.token });
    assert.equal((await chat(g.key, cross)).status, 401);
    assert.equal(f.upstreamRequests(), before_);
    // The DPoP authorization scheme and the Anthropic format (x-api-key) work with fresh proofs.
    assert.equal((await chat(g.key, await makeDpopProof(g.k.privateKey, g.k.jwk, { alg: 'ES256', htm: 'POST', htu, accessToken: g.token }), { scheme: 'DPoP' })).status, 200);
    const a = await fetch(`${f.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': g.key, dpop: await makeDpopProof(g.k.privateKey, g.k.jwk, { alg: 'ES256', htm: 'POST', htu: `${f.gw.url}/v1/messages?beta=1`, accessToken: g.token }) },
      body: JSON.stringify({ model: 'demo', max_tokens: 8, messages: Q }),
    });
    assert.equal(a.status, 200, await a.clone().text());
  });

  it('concurrent replays of one proof: exactly one is served', async () => {
    const g = await boundGrant();
    const proof = await makeDpopProof(g.k.privateKey, g.k.jwk, { alg: 'ES256', htm: 'POST', htu: `${f.gw.url}/v1/chat/completions`, accessToken: g.token });
    const rs = await Promise.all(Array.from({ length: 20 }, () => chat(g.key, proof)));
    assert.deepEqual(rs.map((r) => r.status).sort(), [200, ...Array(19).fill(401)]);
  });

  it('unbound grants are unaffected by a DPoP header; an RSA key (RS256) binds too', async () => {
    const plain = await f.grant();
    assert.equal((await chat(plain.key, 'garbage')).status, 200);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { publicKey } = { publicKey: (await import('node:crypto')).createPublicKey(privateKey) };
    const jwk = (await exportJWK(publicKey)) as JWK;
    const jkt = await jwkThumbprint(jwk);
    const { token, claims } = issueGrantToken(f.signer, { tester: 'rsa', audience: f.config.id, grant: { ...defaultGrant('black-box', ['demo']), rate: { perSecond: 100, burst: 100 } }, ttlSeconds: 600, dpopJkt: jkt });
    await f.store.registerGrant(claims, tokenDigest(token));
    const key = accessKey(token, randomBytes(32));
    const proof = await makeDpopProof(privateKey, jwk, { alg: 'RS256', htm: 'POST', htu: `${f.gw.url}/v1/chat/completions`, accessToken: token });
    assert.equal((await chat(key, proof)).status, 200);
  });
});

describe('assay grant issue --bind-dpop', () => {
  it('binds the token to the public JWK given; a private JWK or a non-JWK file is refused and no token is written', async () => {
    const home = tmp('assay-gw-dpop-cli-');
    const env = { ASSAY_HOME: home };
    generateKey({ name: 'dev', home });
    writeFileSync(join(home, 'gw.yaml'), 'schema: assay.gateway-config/v1\nid: gw.dpop/test\nkey: dev\nlisten: { host: 127.0.0.1, port: 0 }\nupstreams:\n  sim: { openai: http://127.0.0.1:9/v1 }\nmodels:\n  demo: { upstream: sim }\n');
    const k = await keyPair();
    writeFileSync(join(home, 'pub.jwk'), JSON.stringify(k.jwk));
    writeFileSync(join(home, 'priv.jwk'), JSON.stringify(await exportJWK(k.privateKey)));
    writeFileSync(join(home, 'junk.jwk'), 'not json');
    const issue = (jwk: string, out: string) => cli(['grant', 'issue', '--config', join(home, 'gw.yaml'), '--tester', 'acme', '-m', 'demo', '--level', 'black-box', '--expires', '1h', '--bind-dpop', join(home, jwk), '-o', join(home, out)], env);
    const ok = await issue('pub.jwk', 'bound.jwt');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`bound to DPoP key ${k.jkt}`));
    assert.deepEqual((decodeJwt(readFileSync(join(home, 'bound.jwt'), 'utf8').trim()) as { cnf?: unknown }).cnf, { jkt: k.jkt });
    for (const [file, why] of [['priv.jwk', /PUBLIC key/], ['junk.jwk', /not a public JWK/]] as const) {
      const bad = await issue(file, `${file}.jwt`);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, why);
      assert.doesNotMatch(bad.stderr, /\n\s+at /);
      assert.equal(existsSync(join(home, `${file}.jwt`)), false, 'no token file');
    }
  });
});
