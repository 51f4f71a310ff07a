import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { attestRun, bundleText } from '../src/attest/bundle.js';
import { generateSigner } from '../src/attest/keys.js';
import { logReport } from '../src/attest/tlog.js';
import { parseTrust, trustDocument } from '../src/attest/trust.js';
import { EXIT, formatVerifyResult, verifyReport } from '../src/attest/verify.js';
import { AssayError } from '../src/common/errors.js';
import { fetchCheckpoint, logSource, submitEntry } from '../src/tlog/client.js';
import { initLog } from '../src/tlog/config.js';
import { requestCosignature } from '../src/tlog/witness-http.js';
import { defaultRecords, header, writeRunLog } from './attest-fixture.js';
import { tmp } from './helpers.js';

/**
 * A hostile or broken log / witness server must not stall or exhaust a verifier: every request
 * has one deadline for the whole exchange and a byte cap counted while the body streams in
 * (src/tlog/http.ts). Before that, `assay verify --log <url>` waited forever on a server that
 * never answered and read a body of any size into memory before checking its length.
 */

type Handler = Parameters<typeof createServer>[1];
async function server(handler: Handler): Promise<{ url: string; srv: Server; close: () => Promise<void> }> {
  const srv = createServer(handler);
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    srv,
    close: () => {
      srv.closeAllConnections();
      return new Promise<void>((ok) => srv.close(() => ok()));
    },
  };
}

/** Accepts every request and never answers. */
const silent = () => server(() => undefined);

/** Answers 200 and sends bytes for as long as the client reads; counts what it sent. */
async function endless() {
  let sent = 0;
  const s = await server((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = () => {
      while (!res.destroyed && res.write(chunk)) {
        sent += chunk.length;
        if (sent > 256 * 1024 * 1024) return void res.end(); // safety stop for the test itself
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  return { ...s, sent: () => sent };
}

/** Runs `fn` with the per-request deadline set to `ms` (ASSAY_LOG_TIMEOUT_MS). */
async function withTimeout<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const before = process.env.ASSAY_LOG_TIMEOUT_MS;
  process.env.ASSAY_LOG_TIMEOUT_MS = String(ms);
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.ASSAY_LOG_TIMEOUT_MS;
    else process.env.ASSAY_LOG_TIMEOUT_MS = before;
  }
}

const code = (err: unknown) => (err as AssayError).code;

test('a log server that never answers cannot stall verification: verify --log fails (exit 2) after the deadline, naming it', { timeout: 20_000 }, async () => {
  const tester = generateSigner();
  const home = tmp('assay-hostile-http-');
  const { config } = initLog(join(home, 'log'), 'hostile.example/log', join(home, 'log.pem'));
  const run = writeRunLog(defaultRecords(), { header: header({ runId: 'r-hostile-1' }) });
  const bundle = (await logReport((await attestRun(run, { signer: tester, testerName: 'Lab', now: new Date('2026-06-01T00:00:00Z') })).bundle, { target: join(home, 'log') })).bundle;
  const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Lab', publicKey: tester.publicKey }], logs: [{ vkey: config.vkey }] })), 'trust.json');
  const s = await silent();
  try {
    const t0 = Date.now();
    const r = await withTimeout(400, () =>
      verifyReport(Buffer.from(bundleText(bundle)), { trust, now: new Date('2026-06-01T00:00:00Z'), source: 'report.json', tlog: { require: true, log: s.url } }),
    );
    const took = Date.now() - t0;
    assert.equal(r.ok, false, formatVerifyResult(r));
    assert.equal(r.exitCode, EXIT.usage, formatVerifyResult(r)); // the log could not be read: I/O, not a forged log
    assert.match(formatVerifyResult(r), /no complete answer within 400 ms/);
    assert.ok(took < 8_000, `verification took ${took} ms`);
  } finally {
    await s.close();
  }
});

test('a log server sending without end is cut off at the 1 MiB cap; a gzip bomb is cut off after decoding 1 MiB', { timeout: 30_000 }, async () => {
  const e = await endless();
  try {
    await assert.rejects(
      () => fetchCheckpoint(logSource(e.url, { timeoutMs: 20_000 }), 'x+00000000+AAAA'),
      (err: unknown) => code(err) === 'LOG_FETCH' && /answer is larger than 1048576 bytes; refused/.test((err as Error).message),
    );
    // The client stopped reading: the server got no further than the cap plus socket buffers.
    await new Promise((ok) => setTimeout(ok, 100));
    assert.ok(e.sent() < 32 * 1024 * 1024, `server sent ${e.sent()} bytes`);
  } finally {
    await e.close();
  }
  // 64 MiB of zeros in ~64 KiB of gzip, declared as Content-Encoding: gzip.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const b = await server((_req, res) => {
    res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': bomb.length });
    res.end(bomb);
  });
  try {
    await assert.rejects(
      () => logSource(b.url).fetch('tile/0/000'),
      (err: unknown) => code(err) === 'LOG_FETCH' && /larger than 1048576 bytes/.test((err as Error).message),
    );
  } finally {
    await b.close();
  }
});

test('a witness or a submission endpoint that never answers fails after the deadline (WITNESS_UNREACHABLE, LOG_SUBMIT)', { timeout: 20_000 }, async () => {
  const s = await silent();
  try {
    const note = 'w.example/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— w.example/log AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n';
    const t0 = Date.now();
    await withTimeout(300, async () => {
      await assert.rejects(() => requestCosignature(s.url, note, logSource(tmp())), (err: unknown) => code(err) === 'WITNESS_UNREACHABLE' && /no complete answer within 300 ms/.test((err as Error).message));
      await assert.rejects(() => submitEntry(s.url, Buffer.from('{}'), 't'), (err: unknown) => code(err) === 'LOG_SUBMIT' && /no complete answer within 300 ms/.test((err as Error).message));
    });
    assert.ok(Date.now() - t0 < 8_000);
  } finally {
    await s.close();
  }
});

test("the verifier's own checkpoint state unreadable is an I/O failure (exit 2) naming the state file, not evidence against the log (17)", async () => {
  const tester = generateSigner();
  const home = tmp('assay-seen-io-');
  const { config } = initLog(join(home, 'log'), 'seen-io.example/log', join(home, 'log.pem'));
  const run = writeRunLog(defaultRecords(), { header: header({ runId: 'r-seen-io' }) });
  const now = new Date('2026-06-01T00:00:00Z');
  const bundle = (await logReport((await attestRun(run, { signer: tester, testerName: 'Lab', now })).bundle, { target: join(home, 'log') })).bundle;
  const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Lab', publicKey: tester.publicKey }], logs: [{ vkey: config.vkey }] })), 'trust.json');
  const seenFile = join(home, 'seen.json');
  writeFileSync(seenFile, '{"schema": "assay.tlog-seen/v1", "logs": '); // cut short (disk full, crash of another tool)
  const r = await verifyReport(Buffer.from(bundleText(bundle)), { trust, now, source: 'report.json', tlog: { require: true, log: join(home, 'log'), seenFile } });
  assert.equal(r.exitCode, EXIT.usage, formatVerifyResult(r));
  const f = r.failures.find((x) => x.check === 'tlog')!;
  assert.equal(f.where, seenFile, formatVerifyResult(r));
  assert.match(f.message, /not JSON/);
});
