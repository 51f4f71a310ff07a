// A registry server in its own process, for crash tests: argv = store location, log dir, log key PEM file.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openStore } from '../src/registry/db.js';
import { buildServer } from '../src/server/app.js';
import { LocalLog } from '../src/tlog/storage.js';

const [location, logDir, keyFile] = process.argv.slice(2) as [string, string, string];
const log = await LocalLog.open(logDir, { origin: 'registry.test/log', signerKey: createPrivateKey(readFileSync(keyFile)) });
const store = await openStore(location);
const server = await buildServer({ store, origin: 'registry.test', sink: { append: async (e) => (await log.append(e)).indices }, secureCookies: false, loginPerMinute: 1000 });
await server.app.listen({ port: 0, host: '127.0.0.1' });
const boot = await server.registry.bootstrap('operator@registry.test');
process.stdout.write(`${JSON.stringify({ port: (server.app.server.address() as { port: number }).port, token: boot?.token ?? null })}\n`);
