import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { appendEvent, newId } from './events.js';
import type { Findings } from './findings.js';
import { RegistryError, type Actor } from './registry.js';

/**
 * Webhooks (Standard Webhooks): each pending delivery (written by notify.ts in the same
 * transaction as its event) is POSTed with `webhook-id` (the delivery id: the receiver's
 * idempotency key, identical on every retry), `webhook-timestamp` (Unix seconds of the attempt)
 * and `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`. Failures are
 * retried with exponential backoff from the table, so a crash never loses a delivery; a crash
 * after the receiver answered but before the row was marked sends it again with the same id
 * (at least once; a receiver that keeps the ids it has seen processes each once).
 *
 * SSRF: the URL's host is resolved and every address checked at registration AND at connection
 * time (the socket's own lookup), so DNS rebinding cannot reach a private or loopback address;
 * those are allowed only through the server's explicit allow-list.
 */
export const BACKOFF_SECONDS = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200];
export const MAX_ATTEMPTS = BACKOFF_SECONDS.length + 1;
/** A delivery being attempted is leased for this long (another worker skips it meanwhile). */
const LEASE_MS = 60_000;

const forbidden = (why: string) => new RegistryError(403, 'FORBIDDEN', why);
const invalid = (why: string, field?: string) => new RegistryError(400, 'INVALID', why, field);
const notFound = (what: string) => new RegistryError(404, 'NOT_FOUND', `${what} not found`);

/** Addresses never reached unless allow-listed: private, loopback, link-local, CGNAT, ULA, multicast, unspecified, metadata. */
const BLOCKED = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32]] as const) BLOCKED.addSubnet(net, bits, 'ipv6');

/** IPv4-mapped IPv6 (::ffff:127.0.0.1) is checked as the IPv4 address it is. */
const unmap = (addr: string) => (/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)?.[1] ?? addr);

export class AddressPolicy {
  private readonly allow = new BlockList();
  /** `allow`: CIDRs (e.g. "127.0.0.0/8", "::1/128") reachable even though private. */
  constructor(allow: string[] = []) {
    for (const c of allow) {
      const [net, bits] = c.split('/');
      const fam = isIP(net ?? '');
      if (!fam || bits === undefined || !/^\d+$/.test(bits)) throw new RangeError(`webhook allow-list entry "${c}" is not a CIDR`);
      this.allow.addSubnet(net!, Number(bits), fam === 6 ? 'ipv6' : 'ipv4');
    }
  }
  /** Null when the address may be reached; otherwise why not. */
  refuse(address: string): string | null {
    const a = unmap(address);
    const fam = isIP(a);
    if (!fam) return `"${address}" is not an IP address`;
    const type = fam === 6 ? 'ipv6' : 'ipv4';
    if (this.allow.check(a, type)) return null;
    if (BLOCKED.check(a, type)) return `${a} is a private, loopback or reserved address (not on the webhook allow-list)`;
    return null;
  }
  /** A socket lookup that refuses blocked addresses (used for every connection). */
  lookup(): LookupFunction {
    return ((host: string, opts: object, cb: (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void) => {
      dnsLookup(host, { ...opts, all: true }, (err, addrs) => {
        if (err) return cb(err, '');
        const list = addrs as { address: string; family: number }[];
        const bad = list.map((x) => this.refuse(x.address)).find((x) => x);
        if (bad || !list.length) return cb(Object.assign(new Error(`refused: ${bad ?? 'no address'}`), { code: 'ESSRF' }), '');
        if ((opts as { all?: boolean }).all) return cb(null, list);
        return cb(null, list[0]!.address, list[0]!.family);
      });
    }) as LookupFunction;
  }
  /** Checks a URL before it is stored: scheme, no credentials, every resolved address allowed. */
  async checkUrl(raw: string): Promise<URL> {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw invalid('not a URL', 'url');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid('a webhook URL is https (or http)', 'url');
    if (u.username || u.password) throw invalid('a webhook URL carries no credentials', 'url');
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const addrs = isIP(host) ? [host] : await new Promise<string[]>((res, rej) => dnsLookup(host, { all: true }, (e, a) => (e ? rej(invalid(`cannot resolve ${host}: ${e.code ?? e.message}`, 'url')) : res(a.map((x) => x.address)))));
    for (const a of addrs) {
      const why = this.refuse(a);
      if (why) throw invalid(`webhook URL refused: ${why}`, 'url');
    }
    return u;
  }
}

export interface DeliveryOptions {
  policy: AddressPolicy;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
}

/** POSTs one signed message; resolves to the HTTP status (throws on network errors and timeouts). */
function post(url: URL, headers: Record<string, string>, body: string, o: DeliveryOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, lookup: o.policy.lookup(), timeout: o.timeoutMs ?? 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export class Webhooks {
  constructor(
    private readonly findings: Findings,
    private readonly o: DeliveryOptions,
  ) {}

  private get db() {
    return this.findings.db;
  }
  private admin(actor: Actor | null, orgId: string, scope: 'read' | 'write'): Actor {
    if (!actor) throw new RegistryError(401, 'UNAUTHENTICATED', 'sign in or present an API token');
    if (!actor.scopes.includes(scope)) throw forbidden(`this token lacks the "${scope}" scope`);
    if (actor.memberships.find((m) => m.orgId === orgId)?.role !== 'admin') throw forbidden(`needs the admin role in organisation ${orgId}`);
    return actor;
  }

  /** Registers a webhook; its secret is returned once (whsec_…, Standard Webhooks form). */
  async create(actor: Actor | null, orgId: string, url: string) {
    const a = this.admin(actor, orgId, 'write');
    const u = await this.o.policy.checkUrl(url);
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    return this.findings.write(async (trx) => {
      const id = newId('whk');
      const at = this.findings.now();
      await trx.insertInto('webhooks').values({ id, org_id: orgId, url: u.toString(), secret, created_at: at.toISOString(), disabled_at: null }).execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: orgId, kind: 'webhook.create', subject: `org/${orgId}`, data: { webhook: id, url: u.origin }, at });
      return { id, url: u.toString(), secret, createdAt: at.toISOString() };
    });
  }

  async remove(actor: Actor | null, orgId: string, id: string) {
    const a = this.admin(actor, orgId, 'write');
    await this.findings.write(async (trx) => {
      const h = await trx.selectFrom('webhooks').select(['id', 'disabled_at']).where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
      if (!h) throw notFound(`webhook ${id}`);
      if (h.disabled_at) return;
      const at = this.findings.now();
      await trx.updateTable('webhooks').set({ disabled_at: at.toISOString() }).where('id', '=', id).execute();
      await trx.updateTable('deliveries').set({ state: 'cancelled' }).where('webhook_id', '=', id).where('state', '=', 'pending').execute();
      await appendEvent(trx, { actorUser: a.userId, actorOrg: orgId, kind: 'webhook.remove', subject: `org/${orgId}`, data: { webhook: id }, at });
    });
  }

  /** Webhooks of an organisation with their delivery status (admins). */
  async list(actor: Actor | null, orgId: string) {
    this.admin(actor, orgId, 'read');
    const hooks = await this.db.selectFrom('webhooks').select(['id', 'url', 'created_at', 'disabled_at']).where('org_id', '=', orgId).orderBy('created_at').execute();
    const out = [];
    for (const h of hooks) {
      const ds = await this.db.selectFrom('deliveries').select(['id', 'inbox_id', 'state', 'attempts', 'next_attempt_at', 'last_status', 'last_error', 'delivered_at', 'created_at']).where('webhook_id', '=', h.id).orderBy('created_at', 'desc').orderBy('id').limit(100).execute();
      out.push({
        id: h.id, url: h.url, createdAt: h.created_at, disabledAt: h.disabled_at,
        deliveries: ds.map((d) => ({ id: d.id, messageId: d.inbox_id, state: d.state, attempts: d.attempts, nextAttemptAt: d.state === 'pending' ? d.next_attempt_at : null, lastStatus: d.last_status, lastError: d.last_error, deliveredAt: d.delivered_at, createdAt: d.created_at })),
      });
    }
    return { items: out };
  }

  /** The body of a message: the same bytes on every attempt. */
  static body(m: { id: string; kind: string; subject: string; data: string; created_at: string }) {
    return `{"type":${JSON.stringify(m.kind)},"timestamp":${JSON.stringify(m.created_at)},"data":{"message":${JSON.stringify(m.id)},"subject":${JSON.stringify(m.subject)},"detail":${m.data}}}`;
  }

  /** One pass over due deliveries (the scheduler calls it). Returns how many were attempted. */
  async deliverDue(limit = 100): Promise<number> {
    const now = this.findings.now();
    const due = await this.db.selectFrom('deliveries').select(['id', 'next_attempt_at']).where('state', '=', 'pending').where('next_attempt_at', '<=', now.toISOString()).orderBy('next_attempt_at').orderBy('id').limit(limit).execute();
    let n = 0;
    for (const d of due) {
      // Lease: a conditional update, so two workers never attempt the same delivery at once.
      const lease = new Date(now.getTime() + LEASE_MS).toISOString();
      const took = await this.db.updateTable('deliveries').set({ next_attempt_at: lease }).where('id', '=', d.id).where('state', '=', 'pending').where('next_attempt_at', '=', d.next_attempt_at).executeTakeFirst();
      if (Number(took.numUpdatedRows) !== 1) continue;
      n++;
      await this.attempt(d.id);
    }
    return n;
  }

  private async attempt(id: string) {
    const d = await this.db.selectFrom('deliveries').innerJoin('webhooks', 'webhooks.id', 'deliveries.webhook_id').innerJoin('inbox', 'inbox.id', 'deliveries.inbox_id')
      .select(['deliveries.id', 'deliveries.attempts', 'webhooks.url', 'webhooks.secret', 'inbox.id as mid', 'inbox.kind', 'inbox.subject', 'inbox.data', 'inbox.created_at']).where('deliveries.id', '=', id).executeTakeFirstOrThrow();
    const body = Webhooks.body({ id: d.mid, kind: d.kind, subject: d.subject, data: d.data, created_at: d.created_at });
    const at = this.findings.now();
    const ts = new Date(Math.floor(at.getTime() / 1000) * 1000);
    const signature = new Webhook(d.secret).sign(d.id, ts, body);
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await post(new URL(d.url), { 'webhook-id': d.id, 'webhook-timestamp': String(ts.getTime() / 1000), 'webhook-signature': signature, 'user-agent': 'assay-registry-webhooks/1' }, body, this.o);
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = ((err as Error).message || 'network error').slice(0, 300);
    }
    const attempts = d.attempts + 1;
    const after = this.findings.now();
    if (!error) {
      await this.db.updateTable('deliveries').set({ state: 'delivered', attempts, last_status: status, last_error: null, delivered_at: after.toISOString() }).where('id', '=', id).execute();
    } else if (attempts >= MAX_ATTEMPTS) {
      await this.db.updateTable('deliveries').set({ state: 'failed', attempts, last_status: status, last_error: error }).where('id', '=', id).execute();
    } else {
      const next = new Date(after.getTime() + BACKOFF_SECONDS[attempts - 1]! * 1000).toISOString();
      await this.db.updateTable('deliveries').set({ attempts, last_status: status, last_error: error, next_attempt_at: next }).where('id', '=', id).execute();
    }
  }

  // ── inbox ──

  async inbox(actor: Actor | null, orgId: string, q: { unread?: boolean; cursor?: string; limit?: number }) {
    if (!actor) throw new RegistryError(401, 'UNAUTHENTICATED', 'sign in or present an API token');
    if (!actor.scopes.includes('read')) throw forbidden('this token lacks the "read" scope');
    if (!actor.memberships.some((m) => m.orgId === orgId)) throw forbidden(`only members of organisation ${orgId} read its inbox`);
    const limit = q.limit ?? 50;
    let qb = this.db.selectFrom('inbox').selectAll().where('org_id', '=', orgId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1);
    if (q.unread) qb = qb.where('read_at', 'is', null);
    if (q.cursor) {
      const [at, mid] = Buffer.from(q.cursor, 'base64url').toString('utf8').split('|');
      if (!at || !mid) throw invalid('malformed cursor', 'cursor');
      qb = qb.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', mid)])]));
    }
    const rows = await qb.execute();
    const items = rows.slice(0, limit).map((r) => ({ id: r.id, kind: r.kind, subject: r.subject, data: JSON.parse(r.data) as Record<string, unknown>, createdAt: r.created_at, readAt: r.read_at }));
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? Buffer.from(`${last.createdAt}|${last.id}`, 'utf8').toString('base64url') : null };
  }

  async markRead(actor: Actor | null, orgId: string, id: string) {
    if (!actor) throw new RegistryError(401, 'UNAUTHENTICATED', 'sign in or present an API token');
    if (!actor.scopes.includes('write')) throw forbidden('this token lacks the "write" scope');
    if (!actor.memberships.some((m) => m.orgId === orgId && m.role !== 'viewer')) throw forbidden(`needs the member role in organisation ${orgId}`);
    const r = await this.db.updateTable('inbox').set({ read_at: this.findings.now().toISOString() }).where('id', '=', id).where('org_id', '=', orgId).where('read_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0 && !(await this.db.selectFrom('inbox').select('id').where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst())) throw notFound(`message ${id}`);
    return { ok: true as const };
  }
}
