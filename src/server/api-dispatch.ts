import * as z from 'zod';
import { RUN_SPEC_STATES, RunDispatch } from '../registry/run-dispatch.js';
import { route, type Api } from './http.js';

/**
 * `/api/v1` run dispatch (issue 26): the tester plans an engagement's runs; its coordinator claims
 * them (`assay registry run pull`), keeps the claim alive, and reports each run's id and log
 * digest, or why it failed. docs/formats/registry-api.md.
 */
const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{8,40}$`), `expected a ${prefix}_… identifier`);
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>');
const suiteRef = z.strictObject({ id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, 'expected a suite id'), version: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]{1,64})?$/, 'expected a semantic version'), digest });
const model = z.string().regex(/^[a-z][a-z0-9-]{0,31}\/[A-Za-z0-9._:\/-]{1,200}$/, 'expected provider/model');
const lease = z.number().int().min(30).max(86_400);

export const runSpecSchema = z.object({
  id: z.string(), engagementId: z.string(), developerId: z.string(), testerId: z.string(), suite: z.object({ id: z.string(), version: z.string(), digest: z.string() }), model: z.string(),
  config: z.object({ epochs: z.number().nullable(), seed: z.number(), limit: z.number().nullable() }), state: z.enum(RUN_SPEC_STATES), claimId: z.string().nullable().optional(),
  claimedBy: z.string().nullable(), leaseUntil: z.string().nullable(), attempts: z.number(), result: z.record(z.string(), z.unknown()).nullable(), createdBy: z.string(), createdAt: z.string(), updatedAt: z.string(),
});
const outcome = z.strictObject({
  runId: z.string().regex(/^r-[0-9A-Za-z-]{6,80}$/, 'expected an Assay run id'), logDigest: digest, status: z.string().max(200), samples: z.number().int().min(0), errored: z.number().int().min(0), reportId: z.string().max(200).nullable(),
});

export function registerDispatchApi(api: Api) {
  const d = new RunDispatch(api.registry);
  route(api, {
    method: 'POST', path: '/api/v1/engagements/:id/run-specs', tag: 'dispatch', auth: 'required', summary: 'The tester plans a run in an active engagement (a suite the engagement agreed, pinned by digest)', status: 201,
    params: z.strictObject({ id: id('eng') }), body: z.strictObject({ suite: suiteRef, model, epochs: z.number().int().min(1).max(1000).nullable().optional(), seed: z.number().int().min(0).max(2 ** 31).optional(), limit: z.number().int().min(1).max(10_000_000).nullable().optional() }), response: runSpecSchema,
    handler: ({ actor, params, body }) => d.add(actor, params.id, body),
  });
  route(api, {
    method: 'GET', path: '/api/v1/run-specs', tag: 'dispatch', auth: 'required', summary: 'Run specifications of the caller\'s engagements',
    query: z.strictObject({ state: z.enum(RUN_SPEC_STATES).optional(), engagement: id('eng').optional(), cursor: z.string().max(400).optional(), limit: z.coerce.number().int().min(1).max(200).optional() }),
    response: z.object({ items: z.array(runSpecSchema), next: z.string().nullable() }),
    handler: ({ actor, query }) => d.list(actor, { state: query.state, engagementId: query.engagement, cursor: query.cursor, limit: query.limit }),
  });
  route(api, {
    method: 'GET', path: '/api/v1/run-specs/:id', tag: 'dispatch', auth: 'required', summary: 'A run specification (the engagement\'s parties)', params: z.strictObject({ id: id('rsp') }), response: runSpecSchema,
    handler: ({ actor, params }) => d.get(actor, params.id),
  });
  route(api, {
    method: 'POST', path: '/api/v1/run-specs/claim', tag: 'dispatch', auth: 'required', summary: 'A tester\'s coordinator takes the oldest runnable spec (queued, or with a lapsed claim); null when none',
    body: z.strictObject({ engagement: id('eng').optional(), leaseSeconds: lease.optional() }), response: z.object({ spec: runSpecSchema.nullable() }),
    handler: async ({ actor, body }) => ({ spec: await d.claim(actor, { engagementId: body.engagement, leaseSeconds: body.leaseSeconds }) }),
  });
  route(api, {
    method: 'POST', path: '/api/v1/run-specs/:id/heartbeat', tag: 'dispatch', auth: 'required', summary: 'The claimer extends its lease',
    params: z.strictObject({ id: id('rsp') }), body: z.strictObject({ claimId: id('clm'), leaseSeconds: lease.optional() }), response: runSpecSchema,
    handler: ({ actor, params, body }) => d.heartbeat(actor, params.id, body.claimId, body.leaseSeconds),
  });
  route(api, {
    method: 'POST', path: '/api/v1/run-specs/:id/complete', tag: 'dispatch', auth: 'required', summary: 'The claimer reports the finished run (run id, log digest, counts)',
    params: z.strictObject({ id: id('rsp') }), body: z.strictObject({ claimId: id('clm'), result: outcome }), response: runSpecSchema,
    handler: ({ actor, params, body }) => d.report(actor, params.id, body.claimId, { completed: body.result }),
  });
  route(api, {
    method: 'POST', path: '/api/v1/run-specs/:id/fail', tag: 'dispatch', auth: 'required', summary: 'The claimer reports that the run could not be done, with the reason',
    params: z.strictObject({ id: id('rsp') }), body: z.strictObject({ claimId: id('clm'), reason: z.string().trim().min(1).max(2000) }), response: runSpecSchema,
    handler: ({ actor, params, body }) => d.report(actor, params.id, body.claimId, { failed: body.reason }),
  });
  route(api, {
    method: 'POST', path: '/api/v1/run-specs/:id/cancel', tag: 'dispatch', auth: 'required', summary: 'The tester cancels a spec not yet finished',
    params: z.strictObject({ id: id('rsp') }), body: z.strictObject({ reason: z.string().trim().min(1).max(2000).optional() }), response: runSpecSchema,
    handler: ({ actor, params, body }) => d.cancel(actor, params.id, body.reason ?? null),
  });
}
