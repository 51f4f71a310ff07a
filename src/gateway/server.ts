import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { Agent, request as undiciRequest } from 'undici';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { parseStrictJson, type JsonValue } from '../attest/json.js';
import type { Signer } from '../attest/keys.js';
import { encodeEntry, sha256Prefixed } from '../tlog/entry.js';
import type { LocalLog } from '../tlog/storage.js';
import { GENESIS, commitContent, commitmentFromDigest, commitmentOf, nonceFor, recordHash, recordText, type AccessRecord, type Form } from './commit.js';
import type { GatewayConfig, UpstreamConfig } from './config.js';
import { GrantError, splitAccessKey, tokenDigest, verifyGrantToken, type GrantClaims } from './grant.js';
import { signHead } from './head.js';
import { GrantMeter, costOf, type Reservation, type Usage } from './limits.js';
import { checkRequest, isRefusal, type Endpoint } from './policy.js';
import { RELEASE_HEADER, loadRelease } from './release.js';
import { SseUsage } from './sse.js';
import type { GatewayStore } from './store.js';

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
 * access-log record (commit.ts).
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

export interface RunningGateway {
  url: string;
  port: number;
  /** Writes pending records and usage to the store. */
  flush(): Promise<void>;
  /** Current log size and head hash (including records not yet flushed). */
  head(): { size: number; head: string };
  /** Signs the current head, stores it, and appends it to the transparency log when configured. */
  checkpoint(): Promise<{ size: number; head: string; envelopeJson: string; tlogIndex: number | null }>;
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

  // Model releases: verified once at start (signed by the gateway key), stamped on every answer.
  const releases = new Map<string, string>();
  for (const [name, m] of Object.entries(cfg.models)) {
    if (!m.release) continue;
    const r = loadRelease(m.release, o.signer.publicKey);
    if (r.statement.predicate.model !== name && r.statement.predicate.model !== (m.upstreamModel ?? name))
      throw new AssayError('GATEWAY_CONFIG', `release file declares model "${r.statement.predicate.model}", not "${name}"`, { file: m.release, field: `models.${name}.release` });
    releases.set(name, r.digest);
  }

  const pools = new Map<string, Agent>();
  for (const [name, up] of Object.entries(cfg.upstreams)) pools.set(name, new Agent({ connections: up.connections, pipelining: 1, keepAliveTimeout: 30_000 }));

  // ---- the access log: chained in memory, written to the store in batches -------------------
  const last = await store.lastRecord();
  let seq = last ? last.seq + 1 : 0;
  let prev = last ? last.hash : GENESIS;
  let pending: { seq: number; hash: string; text: string }[] = [];
  const dirtyUsage = new Map<string, Usage>();
  let flushing: Promise<void> = Promise.resolve();
  let flushQueued = false;
  let sinceCheckpoint = 0;

  const flush = (): Promise<void> => {
    flushQueued = false;
    const batch = pending;
    const usage = new Map([...dirtyUsage].map(([k, u]) => [k, { ...u }]));
    pending = [];
    dirtyUsage.clear();
    try {
      store.commit(batch, usage);
    } catch (err) {
      process.stderr.write(`assay gateway: could not write the access log: ${(err as Error).message}\n`);
    }
    return flushing;
  };

  function append(r: Omit<AccessRecord, 'schema' | 'seq' | 'prev'>, ctx: Ctx): void {
    const rec: AccessRecord = { schema: 'assay.gateway-record/v1', seq, prev, ...r };
    const hash = recordHash(rec);
    pending.push({ seq, hash, text: recordText(rec) });
    seq++;
    prev = hash;
    dirtyUsage.set(ctx.claims.jti, ctx.meter.used);
    // Group commit: records of the next 20 ms share one SQLite transaction (a WAL write per batch,
    // not per request); 256 pending records flush at once.
    if (pending.length >= 256) void flush();
    else if (!flushQueued) {
      flushQueued = true;
      setTimeout(() => void flush(), 20).unref();
    }
    if (cfg.tlog && ++sinceCheckpoint >= cfg.tlog.everyRecords) void checkpoint().catch(() => undefined);
  }

  async function checkpoint() {
    sinceCheckpoint = 0;
    const size = seq;
    const head = prev;
    await flush();
    const time = new Date().toISOString();
    const signed = signHead(o.signer, { gateway: cfg.id, size, head, time });
    let tlogIndex: number | null = null;
    if (o.tlog) {
      const entry = encodeEntry({ type: 'access-log', digest: sha256Prefixed(signed.payload), metadata: { gateway: cfg.id, size, head } });
      tlogIndex = (await o.tlog.append([entry])).indices[0]!;
    }
    const envelopeJson = canonicalJson(signed.envelope);
    await store.saveHead({ size, head, time, envelopeJson, tlogIndex });
    return { size, head, envelopeJson, tlogIndex };
  }
  const timer = cfg.tlog ? setInterval(() => void (seq > 0 ? checkpoint().catch(() => undefined) : undefined), cfg.tlog.everySeconds * 1000) : null;
  timer?.unref();

  /** Commitment over a body held in memory. */
  const commit = (ctx: Ctx, dir: 'req' | 'resp', c: { form: Form; bytes: Uint8Array }) => ({ form: c.form, commitment: commitmentOf(nonceFor(ctx.commitKey, dir, ctx.requestId), c.bytes) });

  function logRefusal(ctx: Ctx, endpoint: string, status: number, code: string, requestBody: Uint8Array | null, parsed: JsonValue | undefined, responseText: string, model: string | null = null, params: string[] = []) {
    const reqContent = parsed !== undefined ? { form: 'jcs' as const, bytes: Buffer.from(canonicalJson(parsed)) } : { form: 'bytes' as const, bytes: Buffer.from(requestBody ?? []) };
    append(
      {
        time: ctx.arrived, requestId: ctx.requestId, grant: ctx.claims.jti, tester: ctx.claims.sub, endpoint, model, release: model ? (releases.get(model) ?? null) : null,
        status, refusal: code, stream: false, params, usage: null, costUsd: null,
        request: commit(ctx, 'req', reqContent), response: commit(ctx, 'resp', { form: 'jcs', bytes: Buffer.from(canonicalJson(JSON.parse(responseText))) }),
      },
      ctx,
    );
  }

  function refuse(reply: FastifyReply, format: Format, status: number, code: string, message: string, extra: Record<string, string> = {}): string {
    const text = errorText(format, status, code, message);
    const ctx = reply.request.assay;
    reply.code(status).headers({ 'content-type': 'application/json', ...(ctx ? { 'x-assay-request-id': ctx.requestId } : {}), ...extra }).send(text);
    return text;
  }

  // ---- credentials ---------------------------------------------------------------------------
  const verified = new Map<string, { claims: GrantClaims; digest: string }>();
  const meters = new Map<string, Promise<GrantMeter>>();

  async function authenticate(req: FastifyRequest): Promise<Ctx> {
    const auth = header(req, 'authorization');
    const apiKey = header(req, 'x-api-key');
    let bearer: string | null = null;
    if (auth !== null) {
      const m = /^Bearer +(\S+)$/i.exec(auth.trim());
      if (!m) throw new GrantError('invalid_token', 'Authorization header must be "Bearer <access key>"');
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
    if (status.tokenSha256 !== v.digest) throw new GrantError('invalid_token', `token does not match the one registered for grant ${v.claims.jti}`);
    if (status.revokedAt) throw new GrantError('grant_revoked', `grant ${v.claims.jti} was revoked at ${status.revokedAt}`);
    if (!commitKey) throw new GrantError('commit_key_required', 'no commitment key: use the access key printed by "assay grant access-key" (<token>~<key>), or send x-assay-commit-key, so your requests are logged as commitments only you can open');
    let meter = meters.get(v.claims.jti);
    if (!meter) {
      const claims = v.claims;
      meter = store.usageOf(claims.jti).then((u) => new GrantMeter(claims.assay, u, Date.now()));
      meters.set(claims.jti, meter);
    }
    return { requestId: randomUUID(), arrived: new Date().toISOString(), claims: v.claims, commitKey, meter: await meter, format: formatOf(req.url) };
  }

  const app = Fastify({ logger: false, bodyLimit: cfg.maxBodyBytes, requestTimeout: 120_000, keepAliveTimeout: 120_000, return503OnClosing: true, forceCloseConnections: true, routerOptions: { maxParamLength: 64 } });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: cfg.maxBodyBytes }, (_req, body, done) => done(null, body));

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
        return reply;
      }
      throw err;
    }
    req.assay = ctx;
    const r = ctx.meter.rate(Date.now());
    if (!r.ok) {
      const s = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      const text = refuse(reply, format, 429, 'rate_limited', `rate limit: this grant allows ${ctx.claims.assay.rate.perSecond} requests/s (burst ${ctx.claims.assay.rate.burst}); retry after ${s} s`, { 'retry-after': String(s) });
      logRefusal(ctx, endpointOf(req), 429, 'rate_limited', null, undefined, text);
      return reply;
    }
    return undefined;
  }

  const endpointOf = (req: FastifyRequest): string => (req.url.startsWith('/v1/messages') ? 'anthropic.messages' : req.url.startsWith('/v1/chat/completions') ? 'openai.chat' : `white-box:${(req.params as { name?: string })?.name ?? ''}`);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const format = formatOf(req.url);
    const status = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const code = status === 413 ? 'request_too_large' : status === 415 ? 'unsupported_media_type' : status === 500 ? 'internal_error' : 'invalid_request';
    const message = status === 413 ? `request body is larger than ${cfg.maxBodyBytes} bytes` : status === 415 ? 'request body must be application/json' : status === 500 ? 'internal error' : err.message;
    if (reply.sent || reply.raw.headersSent) return;
    const text = refuse(reply, format, status, code, message);
    if (req.assay) logRefusal(req.assay, endpointOf(req), status, code, null, undefined, text);
    if (status === 500) process.stderr.write(`assay gateway: ${err.stack ?? err.message}\n`);
  });
  app.setNotFoundHandler((req, reply) => {
    refuse(reply, formatOf(req.url), 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}: the gateway serves POST /v1/chat/completions, POST /v1/messages, POST /v1/white-box/<name>, GET /v1/assay/grant`);
  });

  app.get('/health', async () => ({ ok: true, gateway: cfg.id }));

  app.get('/v1/assay/grant', { onRequest: guard }, async (req, reply) => {
    const ctx = req.assay!;
    const g = ctx.claims.assay;
    const u = ctx.meter.used;
    reply.header('x-assay-request-id', ctx.requestId);
    return { jti: ctx.claims.jti, tester: ctx.claims.sub, expiresAt: new Date(ctx.claims.exp * 1000).toISOString(), grant: g, usage: u, releases: Object.fromEntries(g.models.filter((m) => releases.has(m)).map((m) => [m, releases.get(m)])) };
  });

  /** Reads and strictly parses the body; on failure refuses (and logs) and returns undefined. */
  function readBody(req: FastifyRequest, reply: FastifyReply, ctx: Ctx, endpoint: string): { raw: Buffer; parsed: JsonValue } | undefined {
    const raw = req.body as Buffer | undefined;
    if (!raw || raw.length === 0) {
      const text = refuse(reply, ctx.format, 400, 'invalid_json', 'empty request body');
      logRefusal(ctx, endpoint, 400, 'invalid_json', null, undefined, text);
      return undefined;
    }
    try {
      return { raw, parsed: parseStrictJson(raw) };
    } catch (err) {
      const e = err as AssayError;
      const code = e.code === 'JSON_DUPLICATE_KEY' ? 'duplicate_key' : 'invalid_json';
      const text = refuse(reply, ctx.format, 400, code, `request body is not strict JSON: ${e.message}`);
      logRefusal(ctx, endpoint, 400, code, raw, undefined, text);
      return undefined;
    }
  }

  function upstreamFor(model: string): { name: string; up: UpstreamConfig; upstreamModel: string } | null {
    const m = cfg.models[model];
    if (!m) return null;
    return { name: m.upstream, up: cfg.upstreams[m.upstream]!, upstreamModel: m.upstreamModel ?? model };
  }

  async function chat(endpoint: Endpoint, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const ctx = req.assay!;
    const body = readBody(req, reply, ctx, endpoint);
    if (!body) return;
    const checked = checkRequest(endpoint, body.parsed, ctx.claims.assay);
    if (isRefusal(checked)) {
      const text = refuse(reply, ctx.format, checked.status, checked.code, checked.message);
      const model = typeof (body.parsed as Record<string, unknown>)?.model === 'string' ? ((body.parsed as Record<string, string>).model ?? null) : null;
      logRefusal(ctx, endpoint, checked.status, checked.code, body.raw, body.parsed, text, model && cfg.models[model] ? model : null);
      return;
    }
    const route = upstreamFor(checked.model);
    const base = route ? (endpoint === 'openai.chat' ? route.up.openai : route.up.anthropic) : undefined;
    if (!route || !base) {
      const [status, code, message] = !route
        ? ([404, 'model_not_found', `model "${checked.model}" is granted but not served by this gateway`] as const)
        : ([400, 'wrong_format', `model "${checked.model}" is not served over the ${endpoint === 'openai.chat' ? 'OpenAI chat-completions' : 'Anthropic Messages'} format here`] as const);
      const text = refuse(reply, ctx.format, status, code, message);
      logRefusal(ctx, endpoint, status, code, body.raw, body.parsed, text, route ? checked.model : null, checked.params);
      return;
    }
    const price = cfg.models[checked.model]!.price;
    const promptTokens = Math.ceil(body.raw.length / 4);
    const res = ctx.meter.reserve({ promptTokens, maxTokens: checked.maxTokens }, price);
    if (!res.ok) {
      const text = refuse(reply, ctx.format, 429, 'budget_exhausted', res.message);
      logRefusal(ctx, endpoint, 429, 'budget_exhausted', body.raw, body.parsed, text, checked.model, checked.params);
      return;
    }
    // Forward exactly what was validated, re-serialised (the upstream never sees bytes we did not parse).
    const out = body.parsed as Record<string, JsonValue>;
    const forwarded = route.upstreamModel === checked.model ? JSON.stringify(out) : JSON.stringify({ ...out, model: route.upstreamModel });
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
    const settle = (status: number, usage: { input: number; output: number } | null, ok: boolean) => {
      // Upstream errors cost nothing; a success without reported usage is charged its reservation.
      const charged = !ok ? { inputTokens: 0, outputTokens: 0 } : usage ? { inputTokens: usage.input, outputTokens: usage.output } : { inputTokens: promptTokens, outputTokens: checked.maxTokens ?? 0 };
      const costUsd = costOf(charged.inputTokens, charged.outputTokens, price);
      ctx.meter.settle(res.reservation, { ...charged, costUsd });
      return { usage: ok ? { input: charged.inputTokens, output: charged.outputTokens, reported: usage !== null } : null, costUsd: ok ? costUsd : null };
    };

    let up;
    try {
      up = await undiciRequest(url, { method: 'POST', headers, body: forwarded, dispatcher: pools.get(route.name)!, headersTimeout: route.up.timeoutS * 1000, bodyTimeout: route.up.timeoutS * 1000 });
    } catch (err) {
      ctx.meter.settle(res.reservation, null);
      const text = refuse(reply, ctx.format, 502, 'upstream_unreachable', `upstream did not answer: ${(err as Error & { code?: string }).code ?? (err as Error).message}`);
      append({ ...base_, status: 502, refusal: 'upstream_unreachable', stream: checked.stream, usage: null, costUsd: null, request: reqCommit, response: commit(ctx, 'resp', commitContent(text)) }, ctx);
      return;
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
        const t = refuse(reply, ctx.format, 502, 'upstream_failed', 'upstream answer was cut off');
        append({ ...base_, status: 502, refusal: 'upstream_failed', stream: false, usage: null, costUsd: null, request: reqCommit, response: commit(ctx, 'resp', commitContent(t)) }, ctx);
        return;
      }
      reply.code(up.statusCode).headers(outHeaders).send(text);
      let usage: { input: number; output: number } | null = null;
      if (ok) {
        try {
          const u = (JSON.parse(text) as { usage?: Record<string, unknown> }).usage;
          const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
          const i = n(endpoint === 'openai.chat' ? u?.prompt_tokens : u?.input_tokens);
          const out_ = n(endpoint === 'openai.chat' ? u?.completion_tokens : u?.output_tokens);
          if (i !== null && out_ !== null) usage = { input: i, output: out_ };
        } catch {
          // not JSON: charged its reservation
        }
      }
      const s = settle(up.statusCode, usage, ok);
      append({ ...base_, status: up.statusCode, refusal: null, stream: false, ...s, request: reqCommit, response: commit(ctx, 'resp', commitContent(text)) }, ctx);
      return;
    }

    // Event stream: passed through chunk by chunk, hashed as it goes.
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
    try {
      for await (const chunk of up.body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        scan.push(chunk);
        if (!raw.write(chunk)) await new Promise<void>((r) => raw.once('drain', r).once('close', r));
        if (clientGone) break;
      }
    } catch {
      failed = true;
    }
    raw.end();
    const reported = scan.reported();
    const s = settle(up.statusCode, reported ?? (failed || clientGone ? null : { input: promptTokens, output: scan.estimatedOutput() }), true);
    if (s.usage && !reported) s.usage.reported = false;
    const respCommit = { form: 'bytes' as const, commitment: commitmentFromDigest(nonceFor(ctx.commitKey, 'resp', ctx.requestId), hash.digest()) };
    append({ ...base_, status: up.statusCode, refusal: clientGone ? 'client_closed' : failed ? 'upstream_failed' : null, stream: true, ...s, request: reqCommit, response: respCommit }, ctx);
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
    const body = readBody(req, reply, ctx, endpoint);
    if (!body) return;
    const p = body.parsed as Record<string, JsonValue>;
    const model = p && typeof p === 'object' && !Array.isArray(p) && typeof p.model === 'string' ? p.model : null;
    const no = (status: number, code: string, message: string) => {
      const text = refuse(reply, ctx.format, status, code, message);
      logRefusal(ctx, endpoint, status, code, body.raw, body.parsed, text, model && cfg.models[model] ? model : null);
    };
    if (ctx.claims.assay.level !== 'white-box') return no(403, 'parameter_forbidden', `white-box endpoints need white-box access; this grant is ${ctx.claims.assay.level}`);
    if (!model) return no(400, 'invalid_request', 'a white-box request is a JSON object naming its "model"');
    if (!ctx.claims.assay.models.includes(model)) return no(403, 'model_not_granted', `model "${model}" is not covered by this grant`);
    const route = upstreamFor(model);
    if (!route) return no(404, 'model_not_found', `model "${model}" is not served by this gateway`);
    const path = route.up.whiteBox[name];
    if (!path) {
      const offered = Object.keys(route.up.whiteBox);
      return no(501, 'not_offered', `the upstream serving "${model}" offers no white-box endpoint "${name}"${offered.length ? ` (it offers: ${offered.join(', ')})` : ' (it offers none: text access only)'}`);
    }
    const baseUrl = new URL(route.up.openai ?? route.up.anthropic!);
    const url = `${baseUrl.origin}${path}`;
    const res = ctx.meter.reserve({ promptTokens: Math.ceil(body.raw.length / 4), maxTokens: null }, undefined);
    if (!res.ok) return no(429, 'budget_exhausted', res.message);
    const key = route.up.apiKeyEnv ? env[route.up.apiKeyEnv] : undefined;
    const reqCommit = commit(ctx, 'req', { form: 'jcs', bytes: Buffer.from(canonicalJson(body.parsed)) });
    const release = releases.get(model) ?? null;
    try {
      const up = await undiciRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify({ ...p, model: route.upstreamModel }), dispatcher: pools.get(route.name)!, headersTimeout: route.up.timeoutS * 1000, bodyTimeout: route.up.timeoutS * 1000 });
      const text = await up.body.text();
      ctx.meter.settle(res.reservation, { inputTokens: 0, outputTokens: 0, costUsd: 0 });
      const h: Record<string, string> = { 'x-assay-request-id': ctx.requestId, 'content-type': String(up.headers['content-type'] ?? 'application/json') };
      if (release) h[RELEASE_HEADER] = release;
      reply.code(up.statusCode).headers(h).send(text);
      append({ time: ctx.arrived, requestId: ctx.requestId, grant: ctx.claims.jti, tester: ctx.claims.sub, endpoint, model, release, status: up.statusCode, refusal: null, stream: false, params: Object.keys(p).sort(), usage: null, costUsd: null, request: reqCommit, response: commit(ctx, 'resp', commitContent(text)) }, ctx);
    } catch (err) {
      ctx.meter.settle(res.reservation, null);
      return no(502, 'upstream_unreachable', `upstream did not answer: ${(err as Error & { code?: string }).code ?? (err as Error).message}`);
    }
  });

  await app.listen({ host: o.listen?.host ?? cfg.listen.host, port: o.listen?.port ?? cfg.listen.port });
  const addr = app.server.address() as AddressInfo;
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    flush,
    head: () => ({ size: seq, head: prev }),
    checkpoint,
    close: () =>
      (closed ??= (async () => {
        if (timer) clearInterval(timer);
        await app.close();
        await flush();
        if (cfg.tlog && seq > 0) await checkpoint().catch(() => undefined);
        await flushing;
        for (const p of pools.values()) await p.close();
      })()),
  };
}

export type { Reservation };
