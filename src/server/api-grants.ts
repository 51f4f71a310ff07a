import * as z from 'zod';
import { ACCESS_LEVELS } from '../model/types.js';
import { GRANT_REQUEST_STATES, GrantRequests } from '../registry/grant-requests.js';
import { route, type Api } from './http.js';

/**
 * `/api/v1` grant requests: the tester asks for gateway access in an engagement; the developer's
 * inbox lists what waits for it; the developer approves (with the digest, level, budget and expiry
 * of the grant its own gateway issued) or refuses. docs/formats/registry-api.md.
 */
const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{8,40}$`), `expected a ${prefix}_… identifier`);
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>');
const budget = z.strictObject({ tokens: z.number().int().min(1).max(1e15).nullable(), costUsd: z.number().positive().max(1e12).nullable() });
const reason = z.string().trim().min(1).max(2000);

export const grantRequestSchema = z.object({
  id: z.string(), engagementId: z.string(), developerId: z.string(), testerId: z.string(), origin: z.enum(['accept', 'tester']), requestedBy: z.string().nullable(),
  level: z.string(), budget: z.object({ tokens: z.number().nullable(), costUsd: z.number().nullable() }).nullable(), note: z.string().nullable(), state: z.enum(GRANT_REQUEST_STATES),
  decision: z.record(z.string(), z.unknown()).nullable(), decidedBy: z.string().nullable(), createdAt: z.string(), decidedAt: z.string().nullable(),
});

export function registerGrantApi(api: Api) {
  const g = new GrantRequests(api.registry);
  route(api, {
    method: 'POST', path: '/api/v1/engagements/:id/grant-requests', tag: 'grants', auth: 'required', summary: 'The tester asks for gateway access in an engagement (one pending request at a time)', status: 201,
    params: z.strictObject({ id: id('eng') }), body: z.strictObject({ level: z.enum(ACCESS_LEVELS), budget: budget.nullable().optional(), note: z.string().max(2000).nullable().optional() }), response: grantRequestSchema,
    handler: ({ actor, params, body }) => g.request(actor, params.id, body),
  });
  route(api, {
    method: 'GET', path: '/api/v1/grant-requests', tag: 'grants', auth: 'required', summary: 'Grant requests the caller\'s organisations are party to (the developer\'s inbox: ?state=pending)',
    query: z.strictObject({ state: z.enum(GRANT_REQUEST_STATES).optional(), engagement: id('eng').optional(), cursor: z.string().max(400).optional(), limit: z.coerce.number().int().min(1).max(200).optional() }),
    response: z.object({ items: z.array(grantRequestSchema), next: z.string().nullable() }),
    handler: ({ actor, query }) => g.list(actor, { state: query.state, engagementId: query.engagement, cursor: query.cursor, limit: query.limit }),
  });
  route(api, {
    method: 'GET', path: '/api/v1/grant-requests/:id', tag: 'grants', auth: 'required', summary: 'A grant request (the engagement\'s parties)', params: z.strictObject({ id: id('grq') }), response: grantRequestSchema,
    handler: ({ actor, params }) => g.get(actor, params.id),
  });
  route(api, {
    method: 'POST', path: '/api/v1/grant-requests/:id/approve', tag: 'grants', auth: 'required',
    summary: 'The developer approves: records the digest, level, budget and expiry of the grant its own gateway issued (an accepted engagement becomes active)',
    params: z.strictObject({ id: id('grq') }), body: z.strictObject({ grantDigest: digest, level: z.enum(ACCESS_LEVELS), budget, expiresAt: z.iso.datetime({ offset: true }), reason: reason.optional() }), response: grantRequestSchema,
    handler: ({ actor, params, body }) => g.approve(actor, params.id, body),
  });
  route(api, {
    method: 'POST', path: '/api/v1/grant-requests/:id/refuse', tag: 'grants', auth: 'required', summary: 'The developer refuses a pending request, with a reason',
    params: z.strictObject({ id: id('grq') }), body: z.strictObject({ reason }), response: grantRequestSchema,
    handler: ({ actor, params, body }) => g.close(actor, params.id, 'refuse', body.reason),
  });
  route(api, {
    method: 'POST', path: '/api/v1/grant-requests/:id/withdraw', tag: 'grants', auth: 'required', summary: 'The tester withdraws its pending request',
    params: z.strictObject({ id: id('grq') }), body: z.strictObject({ reason: reason.optional() }), response: grantRequestSchema,
    handler: ({ actor, params, body }) => g.close(actor, params.id, 'withdraw', body.reason ?? null),
  });
}
