/** A gateway in its own process, for tests that kill it or start a second one (test/gateway-durability.test.ts). */
import { createPrivateKey } from 'node:crypto';
import { signerFromPrivateKey } from '../src/attest/keys.js';
import { startGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { gatewayConfig } from './gateway-fixture.js';

const { targetUrl, db, keyPem } = JSON.parse(process.argv[2]!) as { targetUrl: string; db: string; keyPem: string };
const store = await GatewayStore.open(db);
try {
  const gw = await startGateway({ config: gatewayConfig(targetUrl), signer: signerFromPrivateKey(createPrivateKey(keyPem)), store });
  process.stdout.write(`${JSON.stringify({ url: gw.url })}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(3);
}
