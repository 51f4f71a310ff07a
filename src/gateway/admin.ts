import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as z from 'zod';
import { parseStrictJson } from '../attest/json.js';
import type { LocalLog } from '../tlog/storage.js';
import type { GatewayConfig } from './config.js';
import { issueGrantToken } from './grant.js';
import type { GatewayStore } from './store.js';
import { AssayError } from '../common/errors.js';
import { signEnvelope, verifySignature } from '../attest/dsse.js';
import type { Signer } from '../attest/keys.js';
import { encodeEntry } from '../tlog/entry.js';
import { accessAtLeast } from '../model/types.js';
import { grantSchema, tokenDigest, type Grant, type GrantClaims } from './grant.js';

/**
 * Live grant management: the admin API of a running gateway (`/v1/assay/admin/…`), used by
 * `assay grant issue|extend|narrow|revoke --gateway <url>`.
 *
 * Authentication: each request carries
 * `x-assay-admin: <unix seconds>.<nonce: 22 base64url chars>.<base64url Ed25519 signature>` by the
 * gateway's own key over the DSSE pre-authentication encoding (payload type
 * `application/vnd.assay.gateway-admin`) of
 *   "assay/gateway/admin/v2\n" METHOD "\n" PATH "\n" SECONDS "\n" NONCE "\n" hex SHA-256(body)
 * Accepted within ±60 s of the gateway's clock, each signature once (replays are refused). The
 * random nonce keeps two identical requests in the same second apart (Ed25519 is deterministic:
 * without it the second would be refused as a replay). Whoever can issue grants already holds this
 * key, so no second secret exists to leak.
 *
 * Every change is logged in the transparency log (an `access-grant` entry, metadata `action`)
 * **before** it takes effect in the store: a failed append leaves nothing active that is not
 * logged. (A revocation is the exception: it takes effect first, because a grant that should be
 * dead must not keep working while the log is unavailable.)
 */

export const ADMIN_HEADER = 'x-assay-admin';
const ADMIN_PAYLOAD_TYPE = 'application/vnd.assay.gateway-admin';
const WINDOW_S = 60;

const message = (method: string, path: string, t: number, nonce: string, body: string) =>
  Buffer.from(`assay/gateway/admin/v2\n${method.toUpperCase()}\n${path}\n${t}\n${nonce}\n${createHash('sha256').update(body).digest('hex')}`);

export function signAdminRequest(signer: Signer, method: string, path: string, body: string, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  const nonce = randomBytes(16).toString('base64url');
  const env = signEnvelope(ADMIN_PAYLOAD_TYPE, message(method, path, t, nonce, body), [signer]);
  return `${t}.${nonce}.${Buffer.from(env.signatures[0]!.sig, 'base64').toString('base64url')}`;
}

/** Server side: checks an admin header; remembers accepted signatures for the window (no replay). */
export class AdminAuth {
  private readonly seen = new Map<string, number>();
  constructor(private readonly key: KeyObject) {}

  check(headerValue: string | null, method: string, path: string, body: string, now = Date.now()): string | null {
    if (!headerValue) return `admin requests need the ${ADMIN_HEADER} header (signed by the gateway key)`;
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{86})$/.exec(headerValue);
    if (!m) return `malformed ${ADMIN_HEADER} header`;
    const t = Number(m[1]);
    const s = Math.floor(now / 1000);
    if (Math.abs(s - t) > WINDOW_S) return `admin request signed at ${t}, ${s - t} s from the gateway's clock (window ±${WINDOW_S} s)`;
    if (this.seen.has(m[3]!)) return 'admin request replayed';
    if (!verifySignature(ADMIN_PAYLOAD_TYPE, message(method, path, t, m[2]!, body), Buffer.from(m[3]!, 'base64url'), this.key)) return "admin request is not signed by the gateway's key";
    for (const [k, exp] of this.seen) if (exp < s) this.seen.delete(k);
    this.seen.set(m[3]!, t + WINDOW_S);
    return null;
  }
}

/** A narrowed grant may only take away: returns what widens, or null. */
export function widening(old: Grant, next: Grant): string | null {
  if (!accessAtLeast(old.level, next.level)) return `level ${next.level} is above ${old.level}`;
  const extraModel = next.models.find((m) => !old.models.includes(m));
  if (extraModel) return `model ${extraModel} is not in the grant`;
  if (old.params !== null && (next.params === null || next.params.some((p) => !old.params!.includes(p)))) return 'params would allow more than the grant does';
  if (next.rate.perSecond > old.rate.perSecond || next.rate.burst > old.rate.burst) return 'rate is higher';
  const le = (a: number | null, b: number | null) => b === null || (a !== null && a <= b);
  if (!le(next.budget.tokens, old.budget.tokens)) return 'token budget is larger';
  if (!le(next.budget.costUsd, old.budget.costUsd)) return 'cost budget is larger';
  if (!le(next.maxTokensPerRequest, old.maxTokensPerRequest)) return 'per-request cap is larger';
  if (next.topLogprobsMax > old.topLogprobsMax) return 'topLogprobsMax is larger';
  // Enclave terms: absent means the enclave's defaults, so a grant that has terms cannot drop them, raise the cap or drop review.
  if (old.enclave && (!next.enclave || next.enclave.releaseBytes > old.enclave.releaseBytes || (old.enclave.review && !next.enclave.review))) return 'enclave terms are looser';
  return null;
}

export const narrowSchema = grantSchema.partial().omit({ schema: true });
export const adminIssueSchema = z.strictObject({ tester: z.string().min(1).max(256), grant: grantSchema, ttlSeconds: z.number().positive() });
export const adminChangeSchema = z.strictObject({ extendSeconds: z.number().positive().optional(), narrow: narrowSchema.optional(), reason: z.string().max(512).optional() });

/** The transparency-log entry for a grant change. */
export function grantEntry(gateway: string, action: 'issue' | 'extend' | 'narrow' | 'revoke', claims: GrantClaims, token: string | null, tokenSha256?: string): Uint8Array {
  const g = claims.assay;
  return encodeEntry({
    type: 'access-grant',
    digest: token ? tokenDigest(token) : tokenSha256!,
    metadata: { gateway, action, grant: claims.jti, tester: claims.sub, level: g.level, models: g.models.join(',').slice(0, 256), expires: new Date(claims.exp * 1000).toISOString(), ...(action === 'revoke' ? { revokedAt: new Date().toISOString() } : {}) },
  });
}

export const ADMIN_PREFIX = '/v1/assay/admin';

export interface AdminDeps {
  config: GatewayConfig;
  signer: Signer;
  store: GatewayStore;
  tlog?: LocalLog;
  checkpoint: () => Promise<unknown>;
}

/** The admin routes on the gateway's own listener. */
export function registerAdmin(app: FastifyInstance, d: AdminDeps): void {
  const auth = new AdminAuth(d.signer.publicKey);
  const send = (reply: FastifyReply, status: number, v: unknown) => reply.code(status).header('content-type', 'application/json').send(JSON.stringify(v));
  const fail = (reply: FastifyReply, status: number, code: string, message: string) => send(reply, status, { error: { code, message: `Assay gateway admin: ${message}` } });
  /** Authenticates and parses; replies and returns undefined on failure. */
  function admit<T>(req: FastifyRequest, reply: FastifyReply, schema: z.ZodType<T> | null): T | undefined {
    const raw = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
    const v = req.headers[ADMIN_HEADER];
    const why = auth.check(typeof v === 'string' ? v : null, req.method, req.url, raw.toString('utf8'));
    if (why) return void fail(reply, 401, 'admin_unauthorized', why);
    if (!schema) return {} as T;
    try {
      const r = schema.safeParse(parseStrictJson(raw.length ? raw : '{}'));
      if (!r.success) return void fail(reply, 400, 'invalid_request', `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
      return r.data;
    } catch (err) {
      return void fail(reply, 400, 'invalid_json', (err as Error).message);
    }
  }
  const log = async (entry: Uint8Array): Promise<number | null> => (d.tlog ? (await d.tlog.append([entry])).indices[0]! : null);

  app.post(`${ADMIN_PREFIX}/grants`, async (req, reply) => {
    const b = admit(req, reply, adminIssueSchema.extend({ certThumbprint: z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional(), dpopJkt: z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional() }));
    if (!b) return;
    for (const m of b.grant.models) if (!Object.hasOwn(d.config.models, m)) return fail(reply, 400, 'model_not_found', `model "${m}" is not served by gateway ${d.config.id}`);
    const { token, claims } = issueGrantToken(d.signer, { tester: b.tester, audience: d.config.id, grant: b.grant, ttlSeconds: b.ttlSeconds, ...(b.certThumbprint ? { certThumbprint: b.certThumbprint } : {}), ...(b.dpopJkt ? { dpopJkt: b.dpopJkt } : {}) });
    // Logged first: if the transparency log refuses, nothing is registered and no token leaves.
    let tlogIndex: number | null;
    try {
      tlogIndex = await log(grantEntry(d.config.id, 'issue', claims, token));
    } catch (err) {
      return fail(reply, 503, 'tlog_unavailable', `grant not issued: the transparency log refused its entry (${(err as Error).message})`);
    }
    await d.store.registerGrant(claims, tokenDigest(token));
    return send(reply, 201, { token, claims, tlogIndex });
  });

  app.get(`${ADMIN_PREFIX}/grants`, async (req, reply) => {
    if (!admit(req, reply, null)) return;
    return send(reply, 200, (await d.store.listGrants()).map(({ claims: _c, ...r }) => r));
  });

  app.patch(`${ADMIN_PREFIX}/grants/:jti`, async (req, reply) => {
    const b = admit(req, reply, adminChangeSchema);
    if (!b) return;
    const row = await d.store.getGrant((req.params as { jti: string }).jti);
    if (!row) return fail(reply, 404, 'grant_unknown', 'no such grant');
    if (row.revokedAt) return fail(reply, 409, 'grant_revoked', `grant was revoked at ${row.revokedAt}`);
    if (!b.extendSeconds && !b.narrow) return fail(reply, 400, 'invalid_request', 'give extendSeconds and/or narrow');
    const old = row.claims;
    const next: Grant = grantSchema.parse({ ...old.assay, ...(b.narrow ?? {}) });
    const wider = widening(old.assay, next);
    if (wider) return fail(reply, 403, 'widening', `a grant can only be narrowed: ${wider}`);
    const nbf = Math.floor(Date.now() / 1000);
    const exp = old.exp + Math.ceil(b.extendSeconds ?? 0);
    if (exp <= nbf) return fail(reply, 409, 'grant_expired', 'the grant has expired; issue a new one');
    const { token, claims } = issueGrantToken(d.signer, { tester: old.sub, audience: d.config.id, grant: next, ttlSeconds: exp - nbf, notBefore: new Date(nbf * 1000), jti: old.jti, ...(old.cnf?.['x5t#S256'] ? { certThumbprint: old.cnf['x5t#S256'] } : {}), ...(old.cnf?.jkt ? { dpopJkt: old.cnf.jkt } : {}) });
    let tlogIndex: number | null;
    try {
      tlogIndex = await log(grantEntry(d.config.id, b.narrow ? 'narrow' : 'extend', claims, token));
    } catch (err) {
      return fail(reply, 503, 'tlog_unavailable', `grant not changed: the transparency log refused its entry (${(err as Error).message})`);
    }
    await d.store.updateGrant(claims, tokenDigest(token));
    return send(reply, 200, { token, claims, tlogIndex });
  });

  app.delete(`${ADMIN_PREFIX}/grants/:jti`, async (req, reply) => {
    const b = admit(req, reply, adminChangeSchema.pick({ reason: true }));
    if (!b) return;
    const row = await d.store.getGrant((req.params as { jti: string }).jti);
    if (!row) return fail(reply, 404, 'grant_unknown', 'no such grant');
    await d.store.revokeGrant(row.jti, b.reason ?? null);
    let tlogIndex: number | null = null;
    try {
      tlogIndex = await log(grantEntry(d.config.id, 'revoke', row.claims, null, row.tokenSha256));
    } catch (err) {
      return send(reply, 200, { revoked: row.jti, tlogIndex: null, warning: `revoked, but the transparency log refused the entry: ${(err as Error).message}` });
    }
    return send(reply, 200, { revoked: row.jti, tlogIndex });
  });

  app.post(`${ADMIN_PREFIX}/checkpoint`, async (req, reply) => {
    if (!admit(req, reply, null)) return;
    return send(reply, 200, await d.checkpoint());
  });
}
