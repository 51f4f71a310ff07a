import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Agent, request as undiciRequest } from 'undici';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { acquireLock } from '../common/lock.js';
import { parseStrictJson, type JsonValue } from '../attest/json.js';
import type { Envelope } from '../attest/dsse.js';
import type { Signer } from '../attest/keys.js';
import { formatTlogProof } from '../tlog/client.js';
import type { LocalLog } from '../tlog/storage.js';
import { AccessLog } from './accesslog.js';
import { registerAdmin } from './admin.js';
import { commitContent, commitmentFromDigest, commitmentOf, nonceFor, type AccessRecord, type Form } from './commit.js';
import type { GatewayConfig, UpstreamConfig } from './config.js';
import { DpopVerifier } from './dpop.js';
import { GrantError, splitAccessKey, tokenDigest, verifyGrantToken, type GrantClaims } from './grant.js';
import { formatProofs, headEntry, openHead, signHeadV2 } from './head.js';
import { GrantMeter, TokenBucket, costOf, type Reservation } from './limits.js';
import { checkRequest, isRefusal, type Endpoint } from './policy.js';
import { RELEASE_HEADER, loadRelease } from './release.js';
import { SseUsage, eventsEnd, terminalAt } from './sse.js';
import type { GatewayStore } from './store.js';
import { counter, tokenizerFor, type TokenCounter } from './tokens.js';

/**
 * The access gateway's HTTP server (Fastify). A developer runs it in front of model endpoints;
 * testers reach them only with a grant. Per request, in order, and nothing reaches the upstream
 * unless every step passes:
 *   1. credential (Bearer or x-api-key): grant token signature, audience, issuer, times; grant
 *      registered in the store with this exact token and not revoked; a commitment key present;
 *   2. rate (token bucket) — 429 with Retry-After;
 *   3. body: application/json, size-capped, strict JSON (duplicate keys refused);
 *   4. policy: the level's allow-list, closed schemas at every depth, model granted and served;
 *   5. budget: the request's worst case reserved against the grant's token and cost budget — 429.
 * Then the request is re-serialised from what was validated and sent upstream; the answer (JSON
 * or an event stream) is passed back byte for byte, stamped with the gateway's request id and the
 * model-release digest. Every authenticated request/response pair, refusals included, becomes an
 * access-log record (commit.ts), durable before the answer is released (accesslog.ts): a JSON
 * answer is sent after its record commits; a stream's terminal event and end wait for it. A failed
 * commit withholds the answers waiting on it (503) and stops the gateway.
 *
 * Accounting (docs/formats/gateway.md): the reservation is the body's bytes (≥ prompt tokens) plus
 * the largest output bound, injected when a budgeted request has none; the charge is the upstream's
 * final usage, else what was delivered, counted (tokens.ts).
 */

export interface GatewayOptions {
  config: GatewayConfig;
  /** The gateway key: grants must be issued by it; it signs log heads. */
  signer: Signer;
  store: GatewayStore;
  /** Where upstream API keys are read from (config apiKeyEnv). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** An open transparency log to checkpoint the access-log head into (config.tlog). */
  tlog?: LocalLog;
  /** Override listen port/host (tests). */
  listen?: { host?: string; port?: number };
}

export interface CheckpointResult {
  size: number;
  head: string;
  root: string;
  envelopeJson: string;
  tlogIndex: number | null;
  tlogProof: string | null;
}

export interface RunningGateway {
  url: string;
  port: number;
  /** Writes pending records and usage to the store. */
  flush(): Promise<void>;
  /** Current log size, chain head and Merkle root (including records not yet committed). */
  head(): { size: number; head: string; root: string };
  /** The storage failure that stopped the gateway serving, or null. */
  failed(): Error | null;
  /** Signs the current head (v2), stores it, and appends it to the transparency log when configured. */
  checkpoint(): Promise<CheckpointResult>;
  close(): Promise<void>;
}

type Format = 'openai' | 'anthropic';

interface Ctx {
  requestId: string;
  arrived: string;
  claims: GrantClaims;
  commitKey: Buffer;
  meter: GrantMeter;
  format: Format;
}

declare module 'fastify' {
  interface FastifyRequest {
    assay?: Ctx;
  }
}

const ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large', 415: 'invalid_request_error', 429: 'rate_limit_error', 501: 'not_implemented', 502: 'api_error', 503: 'overloaded_error' };

function errorText(format: Format, status: number, code: string, message: string): string {
  const type = ERROR_TYPES[status] ?? 'api_error';
  const msg = `Assay gateway: ${message}`;
  return JSON.stringify(format === 'openai' ? { error: { message: msg, type, code } } : { type: 'error', error: { type, code, message: msg } });
}

const formatOf = (url: string | undefined): Format => (url?.startsWith('/v1/messages') ? 'anthropic' : 'openai');

/** Header value as one string (first of repeated headers); null when absent. */
const header = (req: FastifyRequest, name: string): string | null => {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
};

export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  const cfg = o.config;
  const env = o.env ?? process.env;
  const store = o.store;
  const issuer = o.signer.keyId;
  const own = <T>(r: Record<string, T>, k: string): T | undefined => (Object.hasOwn(r, k) ? r[k] : undefined);

  // An upstream whose key variable is missing would answer 401 to every tester: refuse to start.
  for (const [name, up] of Object.entries(cfg.upstreams))
    if (up.apiKeyEnv && !env[up.apiKeyEnv]) throw new AssayError('GATEWAY_CONFIG', `upstream "${name}" reads its API key from $${up.apiKeyEnv}, which is not set`, { field: `upstreams.${name}.apiKeyEnv` });

  // Model releases: verified once at start (signed by the gateway key), stamped on every answer.
  const releases = new Map<string, string>();
  for (const [name, m] of Object.entries(cfg.models)) {
    if (!m.release) continue;
    const r = loadRelease(m.release, o.signer.publicKey);
    if (r.statement.predicate.model !== name && r.statement.predicate.model !== (m.upstreamModel ?? name))
      throw new AssayError('GATEWAY_CONFIG', `release file declares model "${r.statement.predicate.model}", not "${name}"`, { file: m.release, field: `models.${name}.release` });
    releases.set(name, r.digest);
  }
  // Tokenizers for counting delivered stream text, loaded before the first request.
  const counters = new Map<string, TokenCounter>();
  for (const [name, m] of Object.entries(cfg.models)) counters.set(name, await counter(tokenizerFor(m.upstreamModel ?? name, m.tokenizer)));

  // One gateway per store: a second one would fork the chain. The kernel releases the lock when
  // this process dies, however it dies.
  const storeLock = store.file === ':memory:' ? null : await acquireLock(`${store.file}.lock`, { timeoutMs: 0, what: `gateway store ${store.file} (another gateway is serving it)` });

  const pools = new Map<string, Agent>();
  let alog: AccessLog;
  let timer: NodeJS.Timeout | null = null;
  try {
    for (const [name, up] of Object.entries(cfg.upstreams)) pools.set(name, new Agent({ connections: up.connections, pipelining: 1, keepAliveTimeout: 30_000 }));
    alog = AccessLog.load(store, (err) => process.stderr.write(`assay gateway: ${err.message}\n`));
  } catch (err) {
    storeLock?.release();
    throw err;
  }
  let sinceCheckpoint = 0;
  let lastCheckpoint: Promise<CheckpointResult> | null = null;
  let lastCheckpointAt = 0;

  /** Signs the current head (v2), appends it to the transparency log, stores it. */
  async function checkpoint(): Promise<CheckpointResult> {
    sinceCheckpoint = 0;
    lastCheckpointAt = Date.now();
    const h = alog.head();
    await alog.flush();
    const time = new Date().toISOString();
    const signed = signHeadV2(o.signer, { gateway: cfg.id, size: h.size, head: h.head, root: h.root, time });
    let tlogIndex: number | null = null;
    let tlogProof: string | null = null;
    if (o.tlog) {
      const r = await o.tlog.append([headEntry(signed.envelope, signed.head)]);
      tlogIndex = r.indices[0]!;
      tlogProof = formatTlogProof({ index: tlogIndex, hashes: o.tlog.inclusionProof(tlogIndex, r.size), checkpoint: r.checkpoint });
    }
    const envelopeJson = canonicalJson(signed.envelope);
    await store.saveHead({ size: h.size, head: h.head, time, envelopeJson, tlogIndex, tlogProof });
    return { size: h.size, head: h.head, root: h.root, envelopeJson, tlogIndex, tlogProof };
  }
  const checkpointOnce = () => (lastCheckpoint = checkpoint().finally(() => undefined));
  if (cfg.tlog) {
    timer = setInterval(() => void (alog.head().size > 0 && !alog.failed ? checkpointOnce().catch(() => undefined) : undefined), cfg.tlog.everySeconds * 1000);
    timer.unref();
  }

  /** Commitment over a body held in memory. */
  const commit = (ctx: Ctx, dir: 'req' | 'resp', c: { form: Form; bytes: Uint8Array }) => ({ form: c.form, commitment: commitmentOf(nonceFor(ctx.commitKey, dir, ctx.requestId), c.bytes) });

  /** Chains a record; resolves when durable. Triggers a periodic checkpoint. */
  function append(r: Omit<AccessRecord, 'schema' | 'seq' | 'prev'>, ctx: Ctx): Promise<void> {
    const p = alog.append(r, [ctx.claims.jti, ctx.meter.used]);
    if (cfg.tlog && ++sinceCheckpoint >= cfg.tlog.everyRecords) void p.then(() => checkpointOnce()).catch(() => undefined);
    return p;
  }

  // Rejections outside the chain (bad credentials; refusal records past a grant's record rate):
  // written at most 20 a second (burst 200); the rest are counted into one summary row, so a flood
  // costs bounded disk.
  const rejectBucket = new TokenBucket(20, 200, Date.now());
  let suppressed = 0;
  function noteRejection(req: FastifyRequest, status: number, code: string, reason: string): void {
    const now = Date.now();
    if (rejectBucket.take(now).ok) {
      const remote = req.ip ?? '';
      if (suppressed > 0) {
        alog.reject({ time: new Date(now).toISOString(), status: 0, code: 'suppressed', reason: `${suppressed} rejections not written one by one (more than 20/s)`, remote: '', count: suppressed });
        suppressed = 0;
      }
      alog.reject({ time: new Date(now).toISOString(), status, code, reason, remote, count: 1 });
    } else suppressed++;
  }

  const withheld = (format: Format) => errorText(format, 503, 'log_unavailable', 'the access log could not record this exchange, so its answer is withheld; the gateway has stopped serving');

  /** Sends a refusal after its record is durable (or 503 when it cannot be made so). */
  async function deny(reply: FastifyReply, ctx: Ctx, endpoint: string, status: number, code: string, message: string, o_: { raw?: Uint8Array | null; parsed?: JsonValue; model?: string | null; params?: string[]; headers?: Record<string, string> } = {}): Promise<void> {
    const text = errorText(ctx.format, status, code, message);
    if (status === 429 && code === 'rate_limited' && !ctx.meter.refusalRecord(Date.now())) {
      // Past the grant's record rate for refusals: counted, not chained (a flood cannot fill the disk).
      noteRejection(reply.request, status, code, `grant ${ctx.claims.jti}: ${message}`);
      return void sendRefusal(reply, ctx.format, status, text, { 'x-assay-request-id': ctx.requestId, ...o_.headers });
    }
    const reqContent = o_.parsed !== undefined ? { form: 'jcs' as const, bytes: Buffer.from(canonicalJson(o_.parsed)) } : { form: 'bytes' as const, bytes: Buffer.from(o_.raw ?? []) };
    const model = o_.model ?? null;
    try {
      await append(
        {
          time: ctx.arrived, requestId: ctx.requestId, grant: ctx.claims.jti, tester: ctx.claims.sub, endpoint, model, release: model ? (releases.get(model) ?? null) : null,
          status, refusal: code, stream: false, params: o_.params ?? [], usage: null, costUsd: null,
          request: commit(ctx, 'req', reqContent), response: commit(ctx, 'resp', { form: 'jcs', bytes: Buffer.from(canonicalJson(JSON.parse(text))) }),
        },
        ctx,
      );
    } catch {
      return void sendRefusal(reply, ctx.format, 503, withheld(ctx.format), { 'x-assay-request-id': ctx.requestId });
    }
    sendRefusal(reply, ctx.format, status, text, { 'x-assay-request-id': ctx.requestId, ...o_.headers });
  }

  function sendRefusal(reply: FastifyReply, _format: Format, status: number, text: string, headers: Record<string, string> = {}): void {
    if (reply.sent || reply.raw.headersSent) return;
    reply.code(status).headers({ 'content-type': 'application/json', ...headers }).send(text);
  }

  function refuse(reply: FastifyReply, format: Format, status: number, code: string, message: string, extra: Record<string, string> = {}): string {
    const text = errorText(format, status, code, message);
    const ctx = reply.request.assay;
    sendRefusal(reply, format, status, text, { ...(ctx ? { 'x-assay-request-id': ctx.requestId } : {}), ...extra });
    return text;
  }

  // ---- credentials ---------------------------------------------------------------------------
  const dpop = new DpopVerifier({ skewSeconds: cfg.dpop.skewSeconds, startedAtS: Date.now() / 1000 });
  const publicBase = cfg.dpop.publicUrl ? cfg.dpop.publicUrl.replace(/\/+$/, '') : null;
  const verified = new Map<string, { claims: GrantClaims; digest: string }>();
  const meters = new Map<string, { digest: string; meter: Promise<GrantMeter> }>();

  async function authenticate(req: FastifyRequest): Promise<Ctx> {
    const auth = header(req, 'authorization');
    const apiKey = header(req, 'x-api-key');
    let bearer: string | null = null;
    if (auth !== null) {
      const m = /^(?:Bearer|DPoP) +(\S+)$/i.exec(auth.trim());
      if (!m) throw new GrantError('invalid_token', 'Authorization header must be "Bearer <access key>" (or "DPoP <access key>")');
      bearer = m[1]!;
    }
    if (bearer !== null && apiKey !== null && bearer !== apiKey) throw new GrantError('invalid_token', 'Authorization and x-api-key carry different credentials; send one');
    const credential = bearer ?? apiKey;
    if (!credential) throw new GrantError('missing_credential', 'no credential: send the access key from your grant as "Authorization: Bearer <key>" or "x-api-key: <key>"');
    const split = splitAccessKey(credential);
    let commitKey = split.commitKey;
    const headerKey = header(req, 'x-assay-commit-key');
    if (!commitKey && headerKey) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(headerKey)) throw new GrantError('invalid_token', 'x-assay-commit-key must be 32 bytes in base64url (43 characters)');
      commitKey = Buffer.from(headerKey, 'base64url');
    }
    let v = verified.get(split.token);
    if (!v) {
      const claims = await verifyGrantToken(split.token, o.signer.publicKey, { audience: cfg.id, issuer });
      v = { claims, digest: tokenDigest(split.token) };
      if (verified.size >= 10_000) verified.clear();
      verified.set(split.token, v);
    }
    const now = Date.now() / 1000;
    if (now >= v.claims.exp) throw new GrantError('grant_expired', `grant expired at ${new Date(v.claims.exp * 1000).toISOString()}: ask the developer for a new grant`);
    if (now < v.claims.nbf) throw new GrantError('grant_not_yet_valid', 'grant is not valid yet (nbf is in the future)');
    // Registration and revocation are read on every request: a revocation takes effect at once.
    const status = store.grantStatus(v.claims.jti);
    if (!status) throw new GrantError('grant_unknown', `grant ${v.claims.jti} is not registered with this gateway`);
    if (status.tokenSha256 !== v.digest) throw new GrantError('invalid_token', `token does not match the one registered for grant ${v.claims.jti} (a newer token replaced it, or it was never issued)`);
    if (status.revokedAt) throw new GrantError('grant_revoked', `grant ${v.claims.jti} was revoked at ${status.revokedAt}`);
    // Certificate-bound grants (RFC 8705): only over mutual TLS with that client certificate.
    const bound = v.claims.cnf?.['x5t#S256'];
    if (bound) {
      const sock = req.raw.socket as TLSSocket;
      const cert = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : null;
      const thumb = cert?.raw ? createHash('sha256').update(cert.raw).digest('base64url') : null;
      if (thumb !== bound) throw new GrantError('invalid_token', thumb ? 'this grant is bound to another client certificate' : 'this grant is bound to a client certificate: connect with mutual TLS presenting it');
    }
    // Key-bound grants (RFC 9449 DPoP): a fresh proof signed by that key, for this request, once.
    const jkt = v.claims.cnf?.jkt;
    if (jkt) {
      const proof = req.headers.dpop;
      const path = req.url.split('?')[0]!;
      await dpop.verify({ proof: typeof proof === 'string' ? proof : null, method: req.method, url: publicBase ? `${publicBase}${path}` : `${https ? 'https' : 'http'}://${req.headers.host ?? ''}${path}`, accessToken: split.token, jkt });
    }
    if (!commitKey) throw new GrantError('commit_key_required', 'no commitment key: use the access key printed by "assay grant access-key" (<token>~<key>), or send x-assay-commit-key, so your requests are logged as commitments only you can open');
    let m = meters.get(v.claims.jti);
    if (!m || m.digest !== v.digest) {
      // A re-issued token (extend, narrow) takes over the grant's one meter: same usage, same
      // reservations in flight, the new limits.
      const claims = v.claims;
      const prevMeter = m?.meter;
      m = { digest: v.digest, meter: prevMeter ? prevMeter.then((x) => (x.regrant(claims.assay, Date.now()), x)) : store.usageOf(claims.jti).then((u) => new GrantMeter(claims.assay, u, Date.now())) };
      meters.set(claims.jti, m);
    }
    return { requestId: randomUUID(), arrived: new Date().toISOString(), claims: v.claims, commitKey, meter: await m.meter, format: formatOf(req.url) };
  }

  const https = cfg.tls
    ? {
        cert: readFileSync(cfg.tls.cert),
        key: readFileSync(cfg.tls.key),
        ...(cfg.tls.ca ? { ca: readFileSync(cfg.tls.ca) } : {}),
        requestCert: cfg.tls.clientCertificates !== 'none',
        rejectUnauthorized: cfg.tls.clientCertificates === 'require',
      }
    : null;
  const app = Fastify({ ...(https ? { https } : {}), logger: false, bodyLimit: cfg.maxBodyBytes, requestTimeout: 120_000, keepAliveTimeout: 120_000, return503OnClosing: true, forceCloseConnections: true, routerOptions: { maxParamLength: 64 } }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: cfg.maxBodyBytes }, (_req, body, done) => done(null, body));

  // A gateway whose log failed answers nothing but 503 (fail closed).
  app.addHook('onRequest', async (req, reply) => {
    if (!alog.failed) return;
    sendRefusal(reply, formatOf(req.url), 503, withheld(formatOf(req.url)));
    return reply;
  });

  async function guard(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const format = formatOf(req.url);
    for (const h of ['anthropic-beta', 'openai-beta'])
      if (req.headers[h] !== undefined) {
        refuse(reply, format, 400, 'beta_header', `header ${h} is not accepted: beta features are not part of any access level`);
        return reply;
      }
    let ctx: Ctx;
    try {
      ctx = await authenticate(req);
    } catch (err) {
      if (err instanceof GrantError) {
        refuse(reply, format, 401, err.code, err.message);
        noteRejection(req, 401, err.code, err.message);
        return reply;
      }
      throw err;
    }
    req.assay = ctx;
    const r = ctx.meter.rate(Date.now());
    if (!r.ok) {
      const s = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      await deny(reply, ctx, endpointOf(req), 429, 'rate_limited', `rate limit: this grant allows ${ctx.claims.assay.rate.perSecond} requests/s (burst ${ctx.claims.assay.rate.burst}); retry after ${s} s`, { headers: { 'retry-after': String(s) } });
      return reply;
    }
    return undefined;
  }

  const endpointOf = (req: FastifyRequest): string => (req.url.startsWith('/v1/messages') ? 'anthropic.messages' : req.url.startsWith('/v1/chat/completions') ? 'openai.chat' : `white-box:${(req.params as { name?: string })?.name ?? ''}`);

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const format = formatOf(req.url);
    const status = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const code = status === 413 ? 'request_too_large' : status === 415 ? 'unsupported_media_type' : status === 500 ? 'internal_error' : 'invalid_request';
    const message = status === 413 ? `request body is larger than ${cfg.maxBodyBytes} bytes` : status === 415 ? 'request body must be application/json' : status === 500 ? 'internal error' : err.message;
    if (reply.sent || reply.raw.headersSent) return;
    if (status === 500) process.stderr.write(`assay gateway: ${err.stack ?? err.message}\n`);
    if (req.assay) await deny(reply, req.assay, endpointOf(req), status, code, message);
    else refuse(reply, format, status, code, message);
  });
  app.setNotFoundHandler((req, reply) => {
    refuse(reply, formatOf(req.url), 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}: the gateway serves POST /v1/chat/completions, POST /v1/messages, POST /v1/white-box/<name>, GET /v1/assay/grant, GET /v1/assay/log/proofs`);
  });

  app.get('/health', async (_req, reply) => (alog.failed ? reply.code(503).send({ ok: false, gateway: cfg.id, error: alog.failed.message }) : { ok: true, gateway: cfg.id }));

  app.get('/v1/assay/grant', { onRequest: guard }, async (req, reply) => {
    const ctx = req.assay!;
    const g = ctx.claims.assay;
    const u = ctx.meter.used;
    reply.header('x-assay-request-id', ctx.requestId);
    return { jti: ctx.claims.jti, tester: ctx.claims.sub, expiresAt: new Date(ctx.claims.exp * 1000).toISOString(), grant: g, usage: u, releases: Object.fromEntries(g.models.filter((m) => releases.has(m)).map((m) => [m, releases.get(m)])) };
  });

  /**
   * A tester's own records with inclusion proofs against a signed, anchored v2 head
   * (`assay.gateway-proofs/v1`). Never another grant's records: the proof hashes reveal nothing
   * about them. A fresh head is signed when the latest does not cover the caller's records (at
   * most one a second; otherwise the latest head and the records it covers).
   */
  app.get('/v1/assay/log/proofs', { onRequest: guard }, async (req, reply) => {
    const ctx = req.assay!;
    const mine = alog.recordsOf(ctx.claims.jti, Number.POSITIVE_INFINITY);
    const heads = await store.heads();
    let h: { size: number; envelopeJson: string; tlogProof: string | null } | undefined = heads.at(-1);
    const covers = (x: typeof h) => x && (mine.length === 0 || mine.at(-1)! < x.size) && isV2(x.envelopeJson);
    if (!covers(h)) {
      // At most one on-demand head a second (each is a transparency-log entry): within the second,
      // the latest head answers, with the caller's records it covers.
      if (lastCheckpoint && Date.now() - lastCheckpointAt < 1000) h = (await lastCheckpoint.catch(() => undefined)) ?? h;
      else h = await checkpointOnce();
      if (!h || !isV2(h.envelopeJson)) h = await checkpointOnce();
    }
    const size = h!.size;
    const records = alog.recordsOf(ctx.claims.jti, size).map((seq) => ({ seq, text: store.recordAt(seq)!.text, proof: alog.tree.inclusionProof(seq, size) }));
    reply.header('x-assay-request-id', ctx.requestId).header('content-type', 'application/json');
    return formatProofs({ gateway: cfg.id, publicKey: o.signer.publicKey, signedHead: JSON.parse(h!.envelopeJson) as Envelope, tlogProof: h!.tlogProof, records });
  });
  const isV2 = (envelopeJson: string): boolean => {
    try {
      return 'root' in openHead(JSON.parse(envelopeJson) as Envelope, o.signer.publicKey);
    } catch {
      return false;
    }
  };

  /** Reads and strictly parses the body; on failure refuses (and logs) and returns undefined. */
  async function readBody(req: FastifyRequest, reply: FastifyReply, ctx: Ctx, endpoint: string): Promise<{ raw: Buffer; parsed: JsonValue } | undefined> {
    const raw = req.body as Buffer | undefined;
    if (!raw || raw.length === 0) {
      await deny(reply, ctx, endpoint, 400, 'invalid_json', 'empty request body');
      return undefined;
    }
    try {
      return { raw, parsed: parseStrictJson(raw) };
    } catch (err) {
      const e = err as AssayError;
      const code = e.code === 'JSON_DUPLICATE_KEY' ? 'duplicate_key' : 'invalid_json';
      await deny(reply, ctx, endpoint, 400, code, `request body is not strict JSON: ${e.message}`, { raw });
      return undefined;
    }
  }

  function upstreamFor(model: string): { name: string; up: UpstreamConfig; upstreamModel: string } | null {
    const m = own(cfg.models, model);
    if (!m) return null;
    return { name: m.upstream, up: own(cfg.upstreams, m.upstream)!, upstreamModel: m.upstreamModel ?? model };
  }

  /** Prompt tokens of an OpenAI-format request by tokenizer (messages' text + the chat template's per-message overhead). */
  function promptTokensByTokenizer(c: TokenCounter, body: Record<string, JsonValue>, fallback: number): number {
    if (c.name === 'bytes') return fallback;
    const msgs = Array.isArray(body.messages) ? body.messages : [];
    let n = 3;
    for (const m of msgs as { content?: unknown; role?: unknown }[]) {
      n += 4 + c.count(typeof m.role === 'string' ? m.role : '');
      if (typeof m.content === 'string') n += c.count(m.content);
      else if (Array.isArray(m.content)) for (const p of m.content as { text?: unknown }[]) if (typeof p?.text === 'string') n += c.count(p.text);
    }
    return n;
  }

  async function chat(endpoint: Endpoint, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const ctx = req.assay!;
    const body = await readBody(req, reply, ctx, endpoint);
    if (!body) return;
    const checked = checkRequest(endpoint, body.parsed, ctx.claims.assay);
    if (isRefusal(checked)) {
      const model = typeof (body.parsed as Record<string, unknown>)?.model === 'string' ? ((body.parsed as Record<string, string>).model ?? null) : null;
      return deny(reply, ctx, endpoint, checked.status, checked.code, checked.message, { raw: body.raw, parsed: body.parsed, model: model && own(cfg.models, model) ? model : null });
    }
    const route = upstreamFor(checked.model);
    const base = route ? (endpoint === 'openai.chat' ? route.up.openai : route.up.anthropic) : undefined;
    if (!route || !base) {
      const [status, code, message] = !route
        ? ([404, 'model_not_found', `model "${checked.model}" is granted but not served by this gateway`] as const)
        : ([400, 'wrong_format', `model "${checked.model}" is not served over the ${endpoint === 'openai.chat' ? 'OpenAI chat-completions' : 'Anthropic Messages'} format here`] as const);
      return deny(reply, ctx, endpoint, status, code, message, { raw: body.raw, parsed: body.parsed, model: route ? checked.model : null, params: checked.params });
    }
    const price = own(cfg.models, checked.model)!.price;
    const tok = counters.get(checked.model)!;
    // Worst case before forwarding: the prompt's bytes (≥ its tokens under any tokenizer) plus the
    // output bound — the request's own, else the grant's cap, else what the budget has left.
    const promptBound = body.raw.length;
    const cap = ctx.claims.assay.maxTokensPerRequest;
    const res = ctx.meter.reserve({ promptTokens: promptBound, maxTokens: checked.maxTokens ?? cap, fill: checked.maxTokens === null }, price);
    if (!res.ok) return deny(reply, ctx, endpoint, 429, 'budget_exhausted', res.message, { raw: body.raw, parsed: body.parsed, model: checked.model, params: checked.params });
    const inject = checked.maxTokens === null ? res.outputTokens : null;
    // Forward exactly what was validated, re-serialised (the upstream never sees bytes we did not
    // parse), with the model alias and the injected output bound.
    const out = body.parsed as Record<string, JsonValue>;
    const forwarded = route.upstreamModel === checked.model && inject === null ? JSON.stringify(out) : JSON.stringify({ ...out, model: route.upstreamModel, ...(inject !== null ? { max_tokens: inject } : {}) });
    const url = endpoint === 'openai.chat' ? `${base.replace(/\/+$/, '')}/chat/completions` : `${base.replace(/\/+$/, '')}/v1/messages`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const key = route.up.apiKeyEnv ? env[route.up.apiKeyEnv] : undefined;
    if (endpoint === 'openai.chat') {
      if (key) headers.authorization = `Bearer ${key}`;
    } else {
      if (key) headers['x-api-key'] = key;
      const v = header(req, 'anthropic-version');
      headers['anthropic-version'] = v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : '2023-06-01';
    }
    const release = releases.get(checked.model) ?? null;
    const reqCommit = commit(ctx, 'req', { form: 'jcs', bytes: Buffer.from(canonicalJson(body.parsed)) });
    const base_ = { time: ctx.arrived, requestId: ctx.requestId, grant: ctx.claims.jti, tester: ctx.claims.sub, endpoint, model: checked.model, release, params: checked.params };
    const bound = checked.maxTokens ?? inject;
    /** Releases the reservation and charges; upstream errors cost nothing. */
    const settle = (charged: { input: number; output: number; reported: boolean } | null) => {
      if (!charged) {
        ctx.meter.settle(res.reservation, { inputTokens: 0, outputTokens: 0, costUsd: 0 });
        return { usage: null, costUsd: null };
      }
      const costUsd = costOf(charged.input, charged.output, price);
      ctx.meter.settle(res.reservation, { inputTokens: charged.input, outputTokens: charged.output, costUsd });
      return { usage: charged, costUsd };
    };

    let up;
    try {
      up = await undiciRequest(url, { method: 'POST', headers, body: forwarded, dispatcher: pools.get(route.name)!, headersTimeout: route.up.timeoutS * 1000, bodyTimeout: route.up.timeoutS * 1000 });
    } catch (err) {
      ctx.meter.settle(res.reservation, null);
      return deny(reply, ctx, endpoint, 502, 'upstream_unreachable', `upstream did not answer: ${(err as Error & { code?: string }).code ?? (err as Error).message}`, { parsed: body.parsed, model: checked.model, params: checked.params });
    }
    const outHeaders: Record<string, string> = { 'x-assay-request-id': ctx.requestId, [ctx.format === 'openai' ? 'x-request-id' : 'request-id']: ctx.requestId };
    for (const h of ['content-type', 'retry-after', 'x-assay-simulated']) {
      const v = up.headers[h];
      if (typeof v === 'string') outHeaders[h] = v;
    }
    const upId = up.headers[ctx.format === 'openai' ? 'x-request-id' : 'request-id'];
    if (typeof upId === 'string') outHeaders['x-assay-upstream-request-id'] = upId;
    if (release) outHeaders[RELEASE_HEADER] = release;
    const ok = up.statusCode >= 200 && up.statusCode < 300;
    const isStream = ok && checked.stream && String(up.headers['content-type'] ?? '').startsWith('text/event-stream');

    if (!isStream) {
      const text = await up.body.text().catch(() => null);
      if (text === null) {
        ctx.meter.settle(res.reservation, null);
        return deny(reply, ctx, endpoint, 502, 'upstream_failed', 'upstream answer was cut off', { parsed: body.parsed, model: checked.model, params: checked.params });
      }
      let charged: { input: number; output: number; reported: boolean } | null = null;
      if (ok) {
        try {
          const u = (JSON.parse(text) as { usage?: Record<string, unknown> }).usage;
          const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
          const i = n(endpoint === 'openai.chat' ? u?.prompt_tokens : u?.input_tokens);
          const out_ = n(endpoint === 'openai.chat' ? u?.completion_tokens : u?.output_tokens);
          if (i !== null && out_ !== null) charged = { input: i, output: out_, reported: true };
        } catch {
          // not JSON: charged below
        }
        // No usage reported: the prompt bound, and the output bound (else the answer's bytes).
        charged ??= { input: promptBound, output: bound ?? Buffer.byteLength(text), reported: false };
      }
      const s = settle(charged);
      try {
        await append({ ...base_, status: up.statusCode, refusal: null, stream: false, ...s, request: reqCommit, response: commit(ctx, 'resp', commitContent(text)) }, ctx);
      } catch {
        return void sendRefusal(reply, ctx.format, 503, withheld(ctx.format), { 'x-assay-request-id': ctx.requestId });
      }
      reply.code(up.statusCode).headers(outHeaders).send(text);
      return;
    }

    // Event stream: passed through chunk by chunk, hashed as it goes. The terminal event
    // ([DONE] / message_stop) and the end of the response are held back until the record is durable.
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(up.statusCode, { ...outHeaders, 'cache-control': 'no-cache' });
    const hash = createHash('sha256');
    const scan = new SseUsage(ctx.format);
    let clientGone = false;
    raw.once('close', () => {
      if (!raw.writableFinished) {
        clientGone = true;
        up.body.destroy();
      }
    });
    let failed = false;
    // Bytes after the last complete event are carried (a client cannot act on half an event, so
    // this costs no latency) until the event completes; that way a terminal event split across
    // chunks is still recognised. From the terminal event on, everything is held.
    let carry: Buffer = Buffer.alloc(0);
    let holding = false;
    const held: Buffer[] = [];
    try {
      for await (const chunk of up.body as AsyncIterable<Buffer>) {
        if (holding) {
          held.push(chunk);
          continue;
        }
        const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        const t = terminalAt(buf, ctx.format);
        let cut: number;
        if (t >= 0) {
          cut = t;
          holding = true;
          held.push(buf.subarray(t));
          carry = Buffer.alloc(0);
        } else {
          cut = eventsEnd(buf);
          if (buf.length - cut > 1 << 20) cut = buf.length; // no event boundary in 1 MiB: not an event stream worth parsing
          carry = buf.subarray(cut);
        }
        const now = buf.subarray(0, cut);
        hash.update(now);
        scan.push(now);
        if (now.length && !raw.write(now)) await new Promise<void>((r) => raw.once('drain', r).once('close', r));
        if (clientGone) break;
      }
    } catch {
      failed = true;
    }
    const tail = Buffer.concat([carry, ...held]);
    if (!clientGone) {
      hash.update(tail);
      scan.push(tail);
    }
    // Charged: the upstream's final usage report; else what was delivered, counted.
    const reported = scan.reported();
    let charged: { input: number; output: number; reported: boolean };
    if (reported) charged = { ...reported, reported: true };
    else {
      const input = scan.reportedInput() ?? (endpoint === 'openai.chat' ? promptTokensByTokenizer(tok, out, promptBound) : promptBound);
      // Counted text (bytes, for families without a tokenizer) can exceed the tokens it really was;
      // an upstream that honours the bound it was sent produced at most `bound` tokens, so the
      // charge never exceeds what was reserved — concurrent cut streams cannot overshoot a budget.
      const counted = Math.max(scan.reportedOutput() ?? 0, tok.count(scan.deliveredText()));
      charged = { input, output: bound !== null ? Math.min(counted, bound) : counted, reported: false };
    }
    const s = settle(charged);
    const respCommit = { form: 'bytes' as const, commitment: commitmentFromDigest(nonceFor(ctx.commitKey, 'resp', ctx.requestId), hash.digest()) };
    try {
      await append({ ...base_, status: up.statusCode, refusal: clientGone ? 'client_closed' : failed ? 'upstream_failed' : null, stream: true, ...s, request: reqCommit, response: respCommit }, ctx);
    } catch {
      // Not recorded: the terminal event is never sent and the response is cut (no chunked end),
      // after an error event the SDKs surface.
      if (!clientGone) {
        raw.write(ctx.format === 'openai' ? `data: ${withheld('openai')}\n\n` : `event: error\ndata: ${withheld('anthropic')}\n\n`, () => raw.destroy());
      }
      return;
    }
    if (!clientGone) raw.end(tail);
  }

  app.post('/v1/chat/completions', { onRequest: guard }, (req, reply) => chat('openai.chat', req, reply));
  app.post('/v1/messages', { onRequest: guard }, (req, reply) => chat('anthropic.messages', req, reply));

  /**
   * White-box endpoints: only for white-box grants, only where the model's upstream declares the
   * endpoint. The body must be a strict-JSON object naming a granted `model`; it is forwarded as
   * parsed (the upstream's job interface defines the rest, and must validate it).
   */
  app.post('/v1/white-box/:name', { onRequest: guard }, async (req, reply) => {
    const ctx = req.assay!;
    const name = (req.params as { name: string }).name;
    const endpoint = `white-box:${name}`;
    const body = await readBody(req, reply, ctx, endpoint);
    if (!body) return;
    const p = body.parsed as Record<string, JsonValue>;
    const model = p && typeof p === 'object' && !Array.isArray(p) && typeof p.model === 'string' ? p.model : null;
    const no = (status: number, code: string, message: string) => deny(reply, ctx, endpoint, status, code, message, { raw: body.raw, parsed: body.parsed, model: model && own(cfg.models, model) ? model : null });
    if (ctx.claims.assay.level !== 'white-box') return no(403, 'parameter_forbidden', `white-box endpoints need white-box access; this grant is ${ctx.claims.assay.level}`);
    if (!model) return no(400, 'invalid_request', 'a white-box request is a JSON object naming its "model"');
    if (!ctx.claims.assay.models.includes(model)) return no(403, 'model_not_granted', `model "${model}" is not covered by this grant`);
    const route = upstreamFor(model);
    if (!route) return no(404, 'model_not_found', `model "${model}" is not served by this gateway`);
    // Own properties only: "constructor" or "__proto__" must not find Object.prototype's members.
    const path = own(route.up.whiteBox, name);
    if (typeof path !== 'string') {
      const offered = Object.keys(route.up.whiteBox);
      return no(501, 'not_offered', `the upstream serving "${model}" offers no white-box endpoint "${name}"${offered.length ? ` (it offers: ${offered.join(', ')})` : ' (it offers none: text access only)'}`);
    }
    const baseUrl = new URL(route.up.openai ?? route.up.anthropic!);
    const url = `${baseUrl.origin}${path}`;
    const res = ctx.meter.reserve({ promptTokens: body.raw.length, maxTokens: null }, undefined);
    if (!res.ok) return no(429, 'budget_exhausted', res.message);
    const key = route.up.apiKeyEnv ? env[route.up.apiKeyEnv] : undefined;
    const reqCommit = commit(ctx, 'req', { form: 'jcs', bytes: Buffer.from(canonicalJson(body.parsed)) });
    const release = releases.get(model) ?? null;
    let up;
    let text: string;
    try {
      // The upstream learns whose request this is (an enclave keeps per-grant release caps) and the grant's enclave terms.
      const who = { 'x-assay-request-id': ctx.requestId, 'x-assay-grant': ctx.claims.jti, 'x-assay-tester': encodeURIComponent(ctx.claims.sub), 'x-assay-grant-enclave': JSON.stringify(ctx.claims.assay.enclave ?? null) };
      up = await undiciRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...who, ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify({ ...p, model: route.upstreamModel }), dispatcher: pools.get(route.name)!, headersTimeout: route.up.timeoutS * 1000, bodyTimeout: route.up.timeoutS * 1000 });
      text = await up.body.text();
    } catch (err) {
      ctx.meter.settle(res.reservation, null);
      return no(502, 'upstream_unreachable', `upstream did not answer: ${(err as Error & { code?: string }).code ?? (err as Error).message}`);
    }
    ctx.meter.settle(res.reservation, { inputTokens: 0, outputTokens: 0, costUsd: 0 });
    const h: Record<string, string> = { 'x-assay-request-id': ctx.requestId, 'content-type': String(up.headers['content-type'] ?? 'application/json') };
    if (release) h[RELEASE_HEADER] = release;
    try {
      await append({ time: ctx.arrived, requestId: ctx.requestId, grant: ctx.claims.jti, tester: ctx.claims.sub, endpoint, model, release, status: up.statusCode, refusal: null, stream: false, params: Object.keys(p).sort(), usage: null, costUsd: null, request: reqCommit, response: commit(ctx, 'resp', commitContent(text)) }, ctx);
    } catch {
      return void sendRefusal(reply, ctx.format, 503, withheld(ctx.format), { 'x-assay-request-id': ctx.requestId });
    }
    reply.code(up.statusCode).headers(h).send(text);
  });

  if (cfg.adminApi) registerAdmin(app, { config: cfg, signer: o.signer, store, ...(o.tlog ? { tlog: o.tlog } : {}), checkpoint: checkpointOnce });

  try {
    await app.listen({ host: o.listen?.host ?? cfg.listen.host, port: o.listen?.port ?? cfg.listen.port });
  } catch (err) {
    await alog.close();
    storeLock?.release();
    for (const p of pools.values()) await p.close();
    throw err;
  }
  const addr = app.server.address() as AddressInfo;
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | null = null;
  return {
    url: `${https ? 'https' : 'http'}://${host}:${addr.port}`,
    port: addr.port,
    flush: () => alog.flush(),
    head: () => alog.head(),
    failed: () => alog.failed,
    checkpoint: checkpointOnce,
    close: () =>
      (closed ??= (async () => {
        if (timer) clearInterval(timer);
        await app.close();
        await alog.flush().catch(() => undefined);
        if (cfg.tlog && alog.head().size > 0 && !alog.failed) await checkpointOnce().catch(() => undefined);
        await alog.close();
        for (const p of pools.values()) await p.close();
        storeLock?.release();
      })()),
  };
}

export type { Reservation };
