/**
 * The gateway side of bench/gateway.ts, in its own process: a fresh key, store and grant.
 * Second argument: the directory for the store (default the OS temp dir, i.e. the real disk);
 * the benchmark also runs one on /dev/shm (tmpfs: fsync returns at once) to separate the
 * gateway's own work from what durability costs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigner } from '../src/attest/keys.js';
import { parseGatewayConfig } from '../src/gateway/config.js';
import { accessKey, defaultGrant, issueGrantToken, tokenDigest } from '../src/gateway/grant.js';
import { startGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';

const [targetUrl, dir = tmpdir()] = process.argv.slice(2) as [string, string?];
const signer = generateSigner();
const config = parseGatewayConfig({
  schema: 'assay.gateway-config/v1',
  id: 'bench.gateway',
  listen: { host: '127.0.0.1', port: 0 },
  upstreams: { sim: { openai: `${targetUrl}/v1`, anthropic: targetUrl, connections: 64 } },
  models: { demo: { upstream: 'sim', price: { input: 1, output: 2 } } },
});
const store = await GatewayStore.open(join(mkdtempSync(join(dir, 'assay-gw-bench-')), 'gateway.db'));
const gw = await startGateway({ config, signer, store });
const grant = { ...defaultGrant('grey-box', ['demo']), rate: { perSecond: 100_000, burst: 100_000 }, budget: { tokens: 1_000_000_000, costUsd: null } };
const { token, claims } = issueGrantToken(signer, { tester: 'bench', audience: config.id, grant, ttlSeconds: 3600 });
await store.registerGrant(claims, tokenDigest(token));
console.log(JSON.stringify({ url: gw.url, key: accessKey(token, Buffer.alloc(32, 9)) }));
process.on('SIGTERM', () => void gw.close().then(() => store.close()).then(() => process.exit(0)));
