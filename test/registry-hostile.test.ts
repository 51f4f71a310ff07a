import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { issueAccreditation } from '../src/attest/trust.js';
import { generateSigner } from '../src/attest/keys.js';
import { auditRegistry } from '../src/registry/audit.js';
import { RegistryClient } from '../src/registry/client.js';
import type { World } from '../src/registry/scenario.js';
import { logSource } from '../src/tlog/client.js';
import { ed25519Signer } from '../src/tlog/note.js';
import { tmp } from './helpers.js';
import { backends, httpStatus, registryWithParties, startRegistry, testStore, type Running } from './registry-fixture.js';

describe('registry against hostile input (SQLite)', () => {
  let run: Running;
  let w: World;
  let close: (() => Promise<void>) | undefined;
  before(async () => ({ run, w, close } = await registryWithParties('sqlite')));
  after(async () => close?.());
  const raw = (path: string, init: RequestInit = {}) => fetch(run.baseUrl + path, { ...init, headers: { authorization: `Bearer ${w.operator.token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });

  test('oversized, malformed, mistyped and unknown-field bodies get problem+json naming the problem; nothing is created', async () => {
    const before = (await w.operator.get<{ items: unknown[] }>('/api/v1/orgs', { limit: 200 })).items.length;
    const big = await raw('/api/v1/orgs', { method: 'POST', body: JSON.stringify({ kind: 'agency', name: 'x'.repeat(400_000), jurisdiction: 'GB' }) });
    assert.equal(big.status, 413);
    const bad = await raw('/api/v1/orgs', { method: 'POST', body: '{"kind": "agency", "name": ' });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
    const typed = await raw('/api/v1/orgs', { method: 'POST', body: JSON.stringify({ kind: 'agency', name: 42, jurisdiction: 'GB' }) });
    assert.equal(typed.status, 400);
    assert.equal(((await typed.json()) as { field: string }).field, 'name');
    const extra = await raw('/api/v1/orgs', { method: 'POST', body: JSON.stringify({ kind: 'agency', name: 'A', jurisdiction: 'GB', operator: true }) });
    assert.equal(extra.status, 400);
    const proto = await raw('/api/v1/orgs', { method: 'POST', body: '{"kind":"agency","name":"A","jurisdiction":"GB","__proto__":{"operator":true}}' });
    assert.equal(proto.status, 400);
    const juris = await raw('/api/v1/orgs', { method: 'POST', body: JSON.stringify({ kind: 'agency', name: 'A', jurisdiction: 'gb; drop' }) });
    assert.equal(juris.status, 400);
    const form = await raw('/api/v1/orgs', { method: 'POST', body: 'kind=agency', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 415);
    assert.equal((await w.operator.get<{ items: unknown[] }>('/api/v1/orgs', { limit: 200 })).items.length, before);
  });

  test('SQL metacharacters are data; path tricks and hostile ids are refused', async () => {
    const evil = "Robert'); DROP TABLE orgs;-- \u0000\u202e";
    const o = await w.operator.post<{ id: string; name: string }>('/api/v1/orgs', { kind: 'agency', name: evil.replace('\u0000', ''), jurisdiction: 'EU' });
    assert.equal((await w.operator.get<{ name: string }>(`/api/v1/orgs/${o.id}`)).name, evil.replace('\u0000', ''));
    for (const p of ['/api/v1/orgs/..%2F..%2Fetc%2Fpasswd', "/api/v1/orgs/org_x'%20OR%201=1--", '/api/v1/orgs/%00', `/api/v1/orgs/${'a'.repeat(5000)}`, '/api/v1/reports/rep_..%2F..', '/api/v1/../../etc/passwd']) {
      const r = await raw(p);
      assert.ok([400, 404, 414].includes(r.status), `${p}: ${r.status}`);
      assert.doesNotMatch(await r.text(), /root:|stack|at .*\.ts/);
    }
    const cursor = await raw('/api/v1/orgs?cursor=%27%20OR%201%3D1');
    assert.equal(cursor.status, 400);
    assert.equal(await httpStatus(w.operator.get('/api/v1/orgs', { limit: 10_000 })), 400);
  });

  test('forged statements are refused: an accreditation signed by an unregistered key, or naming another tester\'s key', async () => {
    const stranger = generateSigner();
    const forged = issueAccreditation({ body: stranger, bodyName: 'UKAS', tester: { name: 'A', publicKey: w.testerA.signer.publicKey }, scopes: { riskAreas: ['bio'] }, notBefore: new Date(), notAfter: new Date(Date.now() + 1e10) });
    await assert.rejects(w.accreditorGB.client.post('/api/v1/accreditations', { accreditorId: w.accreditorGB.orgId, testerId: w.testerA.orgId, statement: forged }), /not signed by any of the signing organisation's registered keys/);
    const wrongKey = issueAccreditation({ body: w.accreditorGB.signer, bodyName: 'UKAS', tester: { name: 'A', publicKey: w.testerB.signer.publicKey }, scopes: { riskAreas: ['bio'] }, notBefore: new Date(), notAfter: new Date(Date.now() + 1e10) });
    await assert.rejects(w.accreditorGB.client.post('/api/v1/accreditations', { accreditorId: w.accreditorGB.orgId, testerId: w.testerA.orgId, statement: wrongKey }), /is not a registered key of/);
    const t = JSON.parse(JSON.stringify(forged)) as { signatures: { sig: string }[] };
    t.signatures = Array.from({ length: 9 }, () => ({ keyid: 'x', sig: 'AAAA' }));
    assert.equal(await httpStatus(w.accreditorGB.client.post('/api/v1/accreditations', { accreditorId: w.accreditorGB.orgId, testerId: w.testerA.orgId, statement: t })), 400);
  });

  test('credentials: revoked and garbage tokens are 401; cookie sessions need the CSRF header; sign-in is rate-limited', async () => {
    const c = new RegistryClient(run.baseUrl);
    const t = await w.agency.client.post<{ id: string; token: string }>('/api/v1/tokens', { scopes: ['read', 'write'], ttlSeconds: 600 });
    c.token = t.token;
    assert.equal(await httpStatus(c.get('/api/v1/me')), 200);
    await w.agency.client.del(`/api/v1/tokens/${t.id}`);
    assert.equal(await httpStatus(c.get('/api/v1/me')), 401);
    c.token = 'assay_' + 'A'.repeat(43);
    assert.equal(await httpStatus(c.get('/api/v1/me')), 401);
    // Browser session.
    const s = await fetch(`${run.baseUrl}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: w.agency.email, password: w.agency.password }) });
    assert.equal(s.status, 200);
    const setCookie = s.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    const cookie = setCookie.split(';')[0]!;
    const { csrfToken } = (await s.json()) as { csrfToken: string };
    const body = JSON.stringify({ scopes: ['read'], ttlSeconds: 600 });
    const noCsrf = await fetch(`${run.baseUrl}/api/v1/tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body });
    assert.equal(noCsrf.status, 403);
    const withCsrf = await fetch(`${run.baseUrl}/api/v1/tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body });
    assert.equal(withCsrf.status, 201);
    assert.equal((await fetch(`${run.baseUrl}/api/v1/me`, { headers: { cookie } })).status, 200);
    // Sign-in is rate-limited per address (3 a minute on this server): a guessing loop is stopped.
    const small = await startRegistry(await (await testStore('sqlite')).open(), { loginPerMinute: 3 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) codes.push(await httpStatus(new RegistryClient(small.baseUrl).post('/api/v1/login', { email: 'nobody@example.org', password: `guess ${i}` })));
      assert.deepEqual(codes, [401, 401, 401, 429, 429, 429]);
    } finally {
      await small.close();
      await small.store.close();
    }
  });

  test('security headers on every answer, errors included', async () => {
    for (const p of ['/api/v1/orgs', '/api/v1/nope']) {
      const r = await fetch(run.baseUrl + p);
      assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
    }
  });
});

for (const backend of await backends()) {
  test(`kill -9 during writes (${backend}): no half-applied change; after restart the event log and the tlog agree`, async () => {
    const ts = await testStore(backend);
    const logDir = tmp('assay-registry-log-');
    const keyFile = join(tmp(), 'log.pem');
    const key = generateKeyPairSync('ed25519').privateKey;
    writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }));
    // The store must exist (and be migrated) before the child; the child then runs the server.
    const s0 = await ts.open();
    await s0.close();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'registry-child.ts'), ts.location, logDir, keyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Listen for the close before the kill: a child that is gone before a later listener is attached would
    // leave that promise pending for ever.
    const closed = new Promise((r) => child.on('close', r));
    const hello = await new Promise<{ port: number; token: string }>((res, rej) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) res(JSON.parse(buf.split('\n')[0]!));
      });
      child.on('exit', (c) => rej(new Error(`child exited ${c}`)));
    });
    const op = new RegistryClient(`http://127.0.0.1:${hello.port}`, hello.token);
    const acknowledged: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, k) => {
      for (let i = 0; !stop && i < 400; i++) {
        try {
          acknowledged.push((await op.post<{ id: string }>('/api/v1/orgs', { kind: 'agency', name: `agency ${k}-${i}`, jurisdiction: 'GB' })).id);
        } catch {
          return; // the server died
        }
      }
    });
    // Kill once writes are flowing (at a random point after the 20th acknowledgement).
    const extra = Math.floor(Math.random() * 20);
    while (acknowledged.length < 20 + extra) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await closed;
    assert.ok(acknowledged.length > 5, `only ${acknowledged.length} writes before the kill`);
    // Restart in this process on the same store and log: start-up drains the outbox.
    const store = await ts.open();
    const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
    const run = await startRegistry(store, { logDir, logKeyPem: pem, operatorToken: hello.token });
    try {
      const orgs = new Set((await new RegistryClient(run.baseUrl).all<{ id: string }>('/api/v1/orgs')).map((o) => o.id));
      for (const id of acknowledged) assert.ok(orgs.has(id), `acknowledged org ${id} is missing after the crash`);
      // Every org row has exactly its event (no half-applied change), and the log agrees.
      const events = await store.db.selectFrom('events').select(['subject']).where('kind', '=', 'org.create').execute();
      assert.equal(events.length, orgs.size);
      const audit = await auditRegistry(store, { src: logSource(logDir), vkey: ed25519Signer('registry.test/log', key).vkey });
      assert.equal(audit.ok, true, audit.problems.join('\n'));
      assert.equal(audit.undrained, 0);
    } finally {
      await run.close();
      await store.close();
      await ts.drop();
    }
  });
}
