import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { generateSigner, type Signer } from '../src/attest/keys.js';
import { parseGatewayConfig, type GatewayConfig } from '../src/gateway/config.js';
import { accessKey, defaultGrant, deriveCommitKey, issueGrantToken, tokenDigest, type Grant, type GrantClaims } from '../src/gateway/grant.js';
import { startGateway, type RunningGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { startTarget, type RunningTarget, type TargetProfile } from '../src/target/server.js';
import { tmp } from './helpers.js';

export const GATEWAY_ID = 'gw.test/assay';

export interface Fixture {
  dir: string;
  target: RunningTarget;
  gw: RunningGateway;
  store: GatewayStore;
  signer: Signer;
  config: GatewayConfig;
  testerSecret: Buffer;
  /** Issues and registers a grant; returns the token, claims and the tester's access key. */
  grant(over?: Partial<Grant> & { ttlSeconds?: number; now?: Date; tester?: string }): Promise<{ token: string; claims: GrantClaims; key: string; commitKey: Buffer }>;
  /** Upstream requests received so far. */
  upstreamRequests(): number;
  close(): Promise<void>;
}

export function gatewayConfig(targetUrl: string, over: Record<string, unknown> = {}): GatewayConfig {
  return parseGatewayConfig({
    schema: 'assay.gateway-config/v1',
    id: GATEWAY_ID,
    listen: { host: '127.0.0.1', port: 0 },
    upstreams: { sim: { openai: `${targetUrl}/v1`, anthropic: targetUrl } },
    models: { demo: { upstream: 'sim', price: { input: 1, output: 2 } }, other: { upstream: 'sim' } },
    ...over,
  });
}

export async function startFixture(o: { profile?: TargetProfile; config?: Record<string, unknown>; signer?: Signer; dir?: string; dbFile?: string } = {}): Promise<Fixture> {
  const dir = o.dir ?? tmp('assay-gw-');
  const target = await startTarget({ seed: 7, ...o.profile });
  const signer = o.signer ?? generateSigner();
  const config = gatewayConfig(target.url, o.config);
  const store = await GatewayStore.open(o.dbFile ?? join(dir, 'gateway.db'));
  const gw = await startGateway({ config, signer, store });
  const testerSecret = randomBytes(32);
  return {
    dir, target, gw, store, signer, config, testerSecret,
    async grant(over = {}) {
      const { ttlSeconds = 3600, now, tester = 'tester-org', ...g } = over;
      const grant: Grant = { ...defaultGrant(g.level ?? 'grey-box', g.models ?? ['demo']), rate: { perSecond: 1000, burst: 1000 }, ...g };
      const { token, claims } = issueGrantToken(signer, { tester, audience: GATEWAY_ID, grant, ttlSeconds, ...(now ? { now } : {}) });
      await store.registerGrant(claims, tokenDigest(token));
      const commitKey = deriveCommitKey(testerSecret, claims.jti);
      return { token, claims, key: accessKey(token, commitKey), commitKey };
    },
    upstreamRequests: () => target.stats().requests,
    async close() {
      await gw.close();
      await store.close();
      await target.close();
    },
  };
}
