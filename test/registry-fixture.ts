import { spawn } from 'node:child_process';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attestRun } from '../src/attest/bundle.js';
import { bundleText } from '../src/attest/bundle.js';
import type { Signer } from '../src/attest/keys.js';
import { RegistryHttpError } from '../src/registry/client.js';
import { openStore, type RegistryStore } from '../src/registry/db.js';
import { runScenario, type World } from '../src/registry/scenario.js';
import { buildServer, type RegistryServer, type ServerOptions } from '../src/server/app.js';
import { LocalLog } from '../src/tlog/storage.js';
import { ed25519Signer } from '../src/tlog/note.js';
import { cliEntry, tmp } from './helpers.js';
import { writeRunLog } from './attest-fixture.js';

/**
 * Registry test fixtures: a store on each back-end (SQLite file; a fresh PostgreSQL database per
 * call, dropped afterwards), a server listening on loopback with its own transparency log.
 */
export const PG_ADMIN_URL = process.env.ASSAY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let pgOk: Promise<string | null> | null = null;
/** Null when PostgreSQL answers; otherwise why not. */
export function postgresUnavailable(): Promise<string | null> {
  pgOk ??= (async () => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.query('select 1');
      return null;
    } catch (err) {
      return `PostgreSQL not reachable at ${PG_ADMIN_URL}: ${(err as Error).message}`;
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return pgOk;
}

export type Backend = 'sqlite' | 'postgres';

/** The back-ends to run on: both, or SQLite with a printed reason (a failure under ASSAY_CI=1). */
export async function backends(): Promise<Backend[]> {
  const why = await postgresUnavailable();
  if (!why) return ['sqlite', 'postgres'];
  if (process.env.ASSAY_CI === '1') throw new Error(`ASSAY_CI=1 but ${why}`);
  console.log(`# SKIP postgres back-end: ${why}`);
  return ['sqlite'];
}

export interface TestStore {
  location: string;
  open(): Promise<RegistryStore>;
  drop(): Promise<void>;
}

export async function testStore(backend: Backend): Promise<TestStore> {
  if (backend === 'sqlite') {
    const location = join(tmp('assay-registry-'), 'registry.db');
    return { location, open: () => openStore(location), drop: async () => {} };
  }
  const { default: pg } = await import('pg');
  const name = `assay_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    location: u.toString(),
    open: () => openStore(u.toString()),
    async drop() {
      const a = new pg.Client({ connectionString: PG_ADMIN_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export interface Running {
  baseUrl: string;
  operatorToken: string;
  server: RegistryServer;
  store: RegistryStore;
  logDir: string;
  vkey: string;
  close(): Promise<void>;
}

/** A registry server on loopback over `store`, with a fresh transparency log. */
export async function startRegistry(store: RegistryStore, opts: { logDir?: string; logKeyPem?: string; now?: () => Date; loginPerMinute?: number; operatorToken?: string; server?: Partial<ServerOptions> } = {}): Promise<Running> {
  const logDir = opts.logDir ?? tmp('assay-registry-log-');
  const key = opts.logKeyPem ? (await import('node:crypto')).createPrivateKey(opts.logKeyPem) : generateKeyPairSync('ed25519').privateKey;
  const origin = 'registry.test/log';
  const log = await LocalLog.open(logDir, { origin, signerKey: key });
  const server = await buildServer({ store, origin: 'registry.test', sink: { append: async (e) => (await log.append(e)).indices }, secureCookies: false, loginPerMinute: opts.loginPerMinute ?? 1000, ...(opts.now ? { now: opts.now } : {}), ...opts.server });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = server.app.server.address() as { port: number };
  const boot = await server.registry.bootstrap('operator@registry.test');
  return {
    baseUrl: `http://127.0.0.1:${addr.port}`,
    operatorToken: boot?.token ?? opts.operatorToken ?? '',
    server,
    store,
    logDir,
    vkey: ed25519Signer(origin, key).vkey,
    async close() {
      await server.app.close();
      await server.drainer.idle();
      log.close();
    },
  };
}

/** A real signed report over a small hand-written run log (risk area "cyber"). */
export async function makeReport(t: { signer: Signer; name: string }): Promise<{ bundle: string; runLog: Buffer }> {
  const path = writeRunLog();
  const { bundle } = await attestRun(path, { signer: t.signer, testerName: t.name });
  return { bundle: bundleText(bundle), runLog: readFileSync(path) };
}

/**
 * A registry on `backend` with the scenario's parties (operator, developer with a model, two
 * testers, accreditors, an agency; no engagement yet). `close` stops the server, closes the store
 * and drops a PostgreSQL database; a failed set-up cleans up before it throws.
 */
export async function registryWithParties(backend: Backend, opts: Parameters<typeof startRegistry>[1] = {}): Promise<{ run: Running; w: World; close(): Promise<void> }> {
  const ts = await testStore(backend);
  const run = await startRegistry(await ts.open(), opts);
  const close = async () => {
    await run.close();
    await run.store.close();
    await ts.drop();
  };
  try {
    const w = await runScenario({ baseUrl: run.baseUrl, operatorToken: run.operatorToken, makeReport, partiesOnly: true });
    return { run, w, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The HTTP status a registry call ended with: 200 when it succeeded, the error's status when the registry refused it. */
export async function httpStatus(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof RegistryHttpError) return e.status;
    throw e;
  }
}

/**
 * `assay server --database <location> --port 0 …args` as its own process with `home` as
 * $ASSAY_HOME. `url` resolves once it listens (rejects if it exits first); `stop` signals it and
 * waits for it to exit (at once when it already has).
 */
export function serverProcess(location: string, home: string, args: string[]): { url: Promise<string>; stop(signal?: NodeJS.Signals): Promise<void> } {
  const server = spawn(process.execPath, [cliEntry(), 'server', '--database', location, '--port', '0', ...args], { env: { ...process.env, ASSAY_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  const url = new Promise<string>((res, rej) => {
    let buf = '';
    server.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(buf);
      if (m) res(m[1]!);
    });
    server.on('exit', (c) => rej(new Error(`server exited ${c}: ${buf}`)));
  });
  url.catch(() => {}); // a caller that never awaits url still stops the server cleanly
  return {
    url,
    async stop(signal = 'SIGTERM') {
      if (server.exitCode === null && server.signalCode === null) server.kill(signal);
      await exited;
    },
  };
}
