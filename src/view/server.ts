import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import * as z from 'zod';
import { AssayError } from '../common/errors.js';
import { ASSAY_ROOT } from '../version.js';
import { ViewData, type ViewOptions } from './data.js';
import { index, logQuery, runId, sampleQuery, verdictQuery } from './api-schema.js';

/**
 * `assay view`: the web UI over $ASSAY_HOME on 127.0.0.1 only. Every API call needs the per-launch
 * token (given once in the printed URL, then kept in an HttpOnly SameSite=Strict cookie); a Host
 * header other than this server's loopback address is refused (DNS rebinding). The built UI is read
 * into memory at start: only its files are served, never anything else on disk.
 */
export const UI_DIR = join(ASSAY_ROOT, 'dist-web');

/** No inline or remote script, no remote anything; styles allow inline attributes for the chart library's SVG (its <style> and style=""). */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon' };
/** Cookies are per host, not per port: each launch's cookie is named for its port so two viewers do not overwrite each other's. */
const cookieName = (port: number) => `assay_view_${port}`;

export interface ViewServerOptions extends ViewOptions {
  /** Per-launch token (default: 32 random bytes). */
  token?: string;
  uiDir?: string;
}

export function loadUi(dir: string): Map<string, { body: Buffer; type: string }> {
  if (!existsSync(join(dir, 'index.html'))) throw new AssayError('UI_MISSING', `the web UI is not built (${dir}/index.html missing): run npm run build`);
  const files = new Map<string, { body: Buffer; type: string }>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && statSync(p).size < 5_000_000) files.set('/' + relative(dir, p).split('\\').join('/'), { body: readFileSync(p), type: TYPES[extname(p)] ?? 'application/octet-stream' });
    }
  };
  walk(dir);
  return files;
}

const eq = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const cookieToken = (req: FastifyRequest, name: string): string | null => {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
};

export interface ViewServer {
  app: FastifyInstance;
  token: string;
  url: string;
  close(): Promise<void>;
}

export async function startViewServer(o: ViewServerOptions & { port?: number }): Promise<ViewServer> {
  const token = o.token ?? randomBytes(32).toString('base64url');
  const ui = loadUi(o.uiDir ?? UI_DIR);
  const data = new ViewData(o);
  const app = Fastify({ logger: false, bodyLimit: 1024, routerOptions: { maxParamLength: 300 } });
  let port = 0;

  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(HEADERS)) reply.header(k, v);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return reply.code(421).type('text/plain').send('wrong Host header: assay view answers only 127.0.0.1\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply.code(405).send({ code: 'METHOD', message: 'the viewer is read-only' });
  });

  const fail = (reply: FastifyReply, e: unknown) => {
    if (e instanceof AssayError) return reply.code(/NOT_FOUND|MISSING/.test(e.code) ? 404 : 400).send({ code: e.code, message: e.message });
    if (e instanceof z.ZodError) return reply.code(400).send({ code: 'BAD_QUERY', message: e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    throw e;
  };

  // Every /api route needs the token: the cookie set at launch, or a Bearer header (scripts).
  app.register(async (api) => {
    api.addHook('onRequest', async (req, reply) => {
      reply.header('cache-control', 'no-store');
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
      const given = cookieToken(req, cookieName(port)) ?? bearer;
      if (!given || !eq(given, token)) return reply.code(401).send({ code: 'UNAUTHORISED', message: 'open the URL assay view printed (it carries this launch\u2019s token)' });
    });
    const route = (path: string, fn: (req: FastifyRequest) => Promise<unknown>) =>
      api.get(path, async (req, reply) => {
        try {
          return await fn(req);
        } catch (e) {
          return fail(reply, e);
        }
      });
    type P = Record<string, string>;
    route('/api/runs', async () => ({ runs: await data.runs() }));
    route('/api/runs/:id', async (req) => data.run((req.params as P).id!));
    route('/api/runs/:id/samples', async (req) => {
      const q = sampleQuery.parse(req.query);
      const { offset, limit, ...f } = q;
      return data.sampleList((req.params as P).id!, Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)), offset, limit);
    });
    route('/api/runs/:id/samples/:key', async (req) => data.sample((req.params as P).id!, (req.params as P).key!));
    route('/api/compare/:a/:b', async (req) => data.compare((req.params as P).a!, (req.params as P).b!));
    route('/api/policies', async () => ({ policies: data.policyFiles().map((f, i) => ({ index: i, name: f.split('/').pop() })) }));
    route('/api/runs/:id/verdict/:policy', async (req) => {
      const { mode } = verdictQuery.parse(req.query);
      return data.verdict(runId.parse((req.params as P).id), index.parse((req.params as P).policy), mode);
    });
    route('/api/reports', async () => ({ reports: data.reports() }));
    route('/api/reports/:name', async (req) => data.verify((req.params as P).name!));
    route('/api/log', async (req) => {
      const q = logQuery.parse(req.query);
      return { log: await data.tlog(q.from, q.limit) };
    });
    route('/api/log/proof/:index', async (req) => data.tlogProof(index.parse((req.params as P).index)));
  });

  // The UI: index.html at / (a ?token= visit sets the cookie and drops the token from the URL).
  app.get('/', async (req, reply) => {
    const t = (req.query as Record<string, string>).token;
    if (typeof t === 'string') {
      if (!eq(t, token)) return reply.code(401).type('text/plain').send('wrong token: open the URL assay view printed\n');
      reply.header('set-cookie', `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      return reply.redirect('/');
    }
    const f = ui.get('/index.html')!;
    return reply.type(f.type).header('cache-control', 'no-store').send(f.body);
  });
  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    const f = path !== '/index.html' ? ui.get(path) : undefined;
    if (!f) return reply.code(404).type('text/plain').send('not found\n');
    return reply.type(f.type).send(f.body);
  });

  const addr = await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  port = Number(new URL(addr).port);
  const url = `http://127.0.0.1:${port}/`;
  return { app, token, url, close: () => app.close() };
}
