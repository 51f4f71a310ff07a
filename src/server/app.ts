import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry, type RegistryOptions } from '../registry/registry.js';
import type { RegistryStore } from '../registry/db.js';
import { OutboxDrainer, type EventSink } from '../registry/outbox.js';
import { inProcessVerifier } from '../registry/report-verifier.js';
import { poolVerifier } from '../registry/verify-pool.js';
import { registerApi } from './api.js';
import { registerGrantApi } from './api-grants.js';
import { registerDispatchApi } from './api-dispatch.js';
import { registerUi } from './ui.js';
import { registerFollowUp, type FollowUp, type FollowUpOptions } from './routes/findings.js';
import { newCsrfKey, openApiDocument, sendError, type Api } from './http.js';

/**
 * `assay server`: the registry's HTTP service (Fastify). The registry module holds the rules; this
 * wires HTTP to it: credentials, limits, security headers, problem+json errors, the OpenAPI
 * document, and a drain of the transparency-log outbox after every write and at start-up.
 */
export interface ServerOptions extends RegistryOptions, FollowUpOptions {
  store: RegistryStore;
  sink: EventSink;
  /** Cookies marked Secure (default true; false only for plain-HTTP development on loopback). */
  secureCookies?: boolean;
  /** Fastify logger (default off; never logs bodies or credentials). */
  logger?: boolean;
  trustProxy?: boolean;
  /** Sign-in attempts per client address per minute (default 10). */
  loginPerMinute?: number;
  /** Worker threads verifying uploaded reports (default: up to 4, one per core; 0 = on the event loop). */
  verifyThreads?: number;
}

export interface RegistryServer {
  app: FastifyInstance;
  registry: Registry;
  drainer: OutboxDrainer;
  /** Findings, obligations, notifications and their deadline scheduler (issue 24). */
  followUp: FollowUp;
}

/** Security headers for an API that also serves pages: no framing, no sniffing, no referrer, no inline anything. */
const HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

export async function buildServer(o: ServerOptions): Promise<RegistryServer> {
  const app = Fastify({
    logger: o.logger ? { redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]'] } : false,
    bodyLimit: 256 * 1024,
    trustProxy: o.trustProxy ?? false,
    // Identifiers are short; refuse absurd URLs before routing.
    routerOptions: { maxParamLength: 200 },
  });
  const verifier = o.verifier ?? (o.verifyThreads === 0 ? inProcessVerifier() : poolVerifier(o.verifyThreads));
  const registry = new Registry(o.store, { ...o, verifier });
  const drainer = new OutboxDrainer(o.store, o.sink, (fn) => registry.commits.run(fn));
  const api: Api = { app, registry, openapi: new OpenAPIRegistry(), csrfKey: newCsrfKey() };

  app.addHook('onClose', async () => {
    await drainer.idle();
    await verifier.close();
  });
  await app.register(cookie);
  await app.register(rateLimit, { global: false, errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, code: 'RATE_LIMITED', message: `too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} s` }) });
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(HEADERS)) reply.header(k, v);
    return payload;
  });
  // Every successful write leaves undrained events: drain them to the log (serialised).
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET' && reply.statusCode < 400) drainer.kick();
  });
  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).type('application/problem+json').send({ type: 'https://assay.dev/problems/not-found', title: 'NOT_FOUND', status: 404, detail: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }),
  );

  registerApi(api, { secureCookies: o.secureCookies ?? true, loginPerMinute: o.loginPerMinute ?? 10 });
  registerGrantApi(api);
  registerDispatchApi(api);
  const followUp = registerFollowUp(api, o, () => drainer.kick());
  const doc = openApiDocument(api, o.origin);
  app.get('/api/v1/openapi.json', async () => doc);
  registerUi(app);

  // Start-up: drain whatever a crash left behind, before serving.
  drainer.kick();
  await drainer.idle();
  if (drainer.lastError) throw drainer.lastError;
  // Deadlines that passed while the server was down are acted on before serving, then on a timer.
  await followUp.scheduler.tick();
  await drainer.idle();
  followUp.scheduler.start(o.schedulerIntervalMs ?? 30_000);
  return { app, registry, drainer, followUp };
}
