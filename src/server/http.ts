import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as z from 'zod';
import { AssayError } from '../common/errors.js';
import { RegistryError, type Actor, type Registry } from '../registry/registry.js';

/**
 * Route wiring shared by every API module: one declaration gives the Fastify route, its zod
 * validation (unknown fields refused, errors naming the field as problem+json) and its OpenAPI 3.1
 * operation, so the published document cannot drift from what the server accepts.
 */
export const SESSION_COOKIE = 'assay_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface Ctx<P, Q, B> {
  actor: Actor | null;
  params: P;
  query: Q;
  body: B;
  req: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify style, e.g. /api/v1/orgs/:id */
  path: string;
  summary: string;
  tag: string;
  /** public: no credentials needed (a token, if sent, is still used). */
  auth: 'public' | 'required';
  params?: P;
  query?: Q;
  body?: B;
  response: z.ZodType;
  status?: number;
  bodyLimit?: number;
  rateLimit?: { max: number; timeWindow: string };
  handler: (c: Ctx<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<unknown>;
}

export interface Api {
  app: FastifyInstance;
  registry: Registry;
  openapi: OpenAPIRegistry;
  /** HMAC key for CSRF tokens (per server start: sessions survive, CSRF tokens are re-fetched). */
  csrfKey: Buffer;
}

export const csrfFor = (key: Buffer, session: string) => createHmac('sha256', key).update(session).digest('base64url');

function problem(reply: FastifyReply, status: number, title: string, detail: string, field?: string) {
  return reply
    .status(status)
    .type('application/problem+json')
    .send({ type: `https://assay.dev/problems/${title.toLowerCase().replace(/[^a-z]+/g, '-')}`, title, status, detail, ...(field ? { field } : {}) });
}

export function sendError(reply: FastifyReply, err: unknown) {
  if (err instanceof RegistryError) return problem(reply, err.status, err.code, err.problem, err.location.field);
  if (err instanceof z.ZodError) {
    const i = err.issues[0]!;
    return problem(reply, 400, 'INVALID', i.message, i.path.join('.') || undefined);
  }
  if (err instanceof AssayError) return problem(reply, 400, err.code, err.problem, err.location.field);
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return problem(reply, e.statusCode, e.code ?? 'BAD_REQUEST', e.message ?? 'bad request');
  reply.log.error(err);
  return problem(reply, 500, 'INTERNAL', 'internal error (logged)');
}

const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z_]+)/g, '{$1}');

async function actorOf(api: Api, req: FastifyRequest): Promise<{ actor: Actor | null; viaCookie: boolean; session?: string }> {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer (\S+)$/.exec(h);
    const actor = m ? await api.registry.actorForToken(m[1]!) : null;
    if (!actor) throw new RegistryError(401, 'UNAUTHENTICATED', 'the token is unknown, expired or revoked');
    return { actor, viaCookie: false };
  }
  const s = req.cookies?.[SESSION_COOKIE];
  if (s) {
    const actor = await api.registry.actorForToken(s);
    if (actor) return { actor, viaCookie: true, session: s };
  }
  return { actor: null, viaCookie: false };
}

export function route<P extends z.ZodType = z.ZodObject<{}>, Q extends z.ZodType = z.ZodObject<{}>, B extends z.ZodType = z.ZodUndefined>(api: Api, d: RouteDef<P, Q, B>): void {
  const status = d.status ?? 200;
  api.openapi.registerPath({
    method: d.method.toLowerCase() as 'get' | 'post' | 'delete',
    path: toOpenApiPath(d.path),
    summary: d.summary,
    tags: [d.tag],
    ...(d.auth === 'required' ? { security: [{ bearer: [] }, { session: [] }] } : {}),
    request: {
      ...(d.params ? { params: d.params as unknown as z.ZodObject } : {}),
      ...(d.query ? { query: d.query as unknown as z.ZodObject } : {}),
      ...(d.body ? { body: { content: { 'application/json': { schema: d.body } } } } : {}),
    },
    responses: {
      [status]: { description: 'OK', content: { 'application/json': { schema: d.response } } },
      '4XX': { description: 'Problem (RFC 9457)', content: { 'application/problem+json': { schema: problemSchema } } },
    },
  });
  api.app.route({
    method: d.method,
    url: d.path,
    ...(d.bodyLimit ? { bodyLimit: d.bodyLimit } : {}),
    ...(d.rateLimit ? { config: { rateLimit: d.rateLimit } } : {}),
    handler: async (req, reply) => {
      try {
        const who = await actorOf(api, req);
        if (d.auth === 'required' && !who.actor) throw new RegistryError(401, 'UNAUTHENTICATED', 'sign in or present an API token');
        // Cookie sessions: unsafe methods need the CSRF token (double submit, HMAC of the session).
        if (who.viaCookie && d.method !== 'GET') {
          const sent = req.headers[CSRF_HEADER];
          const want = csrfFor(api.csrfKey, who.session!);
          if (typeof sent !== 'string' || sent.length !== want.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(want))) throw new RegistryError(403, 'CSRF', `missing or wrong ${CSRF_HEADER} header`);
        }
        const params = d.params ? d.params.parse(req.params) : {};
        const query = d.query ? d.query.parse(req.query) : {};
        if (d.body && (req.body === undefined || req.body === null)) throw new RegistryError(400, 'INVALID', 'a JSON body is required');
        const body = d.body ? d.body.parse(req.body) : undefined;
        const out = await d.handler({ actor: who.actor, params, query, body, req, reply } as Ctx<z.infer<P>, z.infer<Q>, z.infer<B>>);
        if (reply.sent) return reply;
        return reply.status(status).send(out);
      } catch (err) {
        return sendError(reply, err);
      }
    },
  });
}

export const problemSchema = z.object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(), field: z.string().optional() });

export function openApiDocument(api: Api, origin: string) {
  api.openapi.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'API token (assay_…), from POST /api/v1/login or POST /api/v1/tokens' });
  api.openapi.registerComponent('securitySchemes', 'session', { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: `browser session; unsafe methods also need the ${CSRF_HEADER} header` });
  return new OpenApiGeneratorV31(api.openapi.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Assay registry API', version: '1.0.0', description: `The registry at ${origin}: organisations, accreditation and recognition, models in scope, engagements, verified reports, events. Format: docs/formats/registry-api.md.` },
    servers: [{ url: '/' }],
  });
}

export const newCsrfKey = () => randomBytes(32);
