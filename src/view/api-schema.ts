import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';

/**
 * The `assay view` JSON API (assay.view-api/v1), declared once: the server validates its queries
 * with these schemas and schemas/view-api.v1.openapi.json is generated from them
 * (docs/formats/view-api.md). Responses reuse the CLI's own documents: `assay stats --json`
 * (assay.run-stats/v4), `assay compare --json`, `assay verdict --json`, `assay verify --json`.
 */
const bool = z.enum(['true', 'false']).transform((v) => v === 'true').optional();
export const runId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'a run id');
export const sampleQuery = z.strictObject({
  q: z.string().max(500).optional().describe('case-insensitive text in the input or output'),
  score: z.string().max(200).optional().describe('score name the min/max bounds apply to'),
  min: z.coerce.number().finite().optional(),
  max: z.coerce.number().finite().optional(),
  errored: bool,
  unscored: bool,
  group: z.string().max(200).optional().describe('metadata field'),
  value: z.string().max(500).optional().describe('its value'),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export const verdictQuery = z.strictObject({ mode: z.enum(['screen', 'final']).default('screen') });
export const logQuery = z.strictObject({ from: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(500).default(100) });
export const index = z.coerce.number().int().min(0);

const runRow = z.object({ runId: z.string(), suiteId: z.string(), suiteVersion: z.string(), suiteDigest: z.string(), model: z.string(), simulated: z.boolean(), status: z.string(), startedAt: z.string(), updatedAt: z.string(), samples: z.number(), errored: z.number(), rescoreOf: z.string().nullable(), summary: z.unknown() });
export const sampleRow = z.object({
  i: z.number().int(), key: z.string(), sampleId: z.string(), epoch: z.number().int(), scores: z.record(z.string(), z.number()), errored: z.boolean(), unscored: z.boolean(),
  outcome: z.string().nullable(), input: z.string().describe('first 2,000 characters'), output: z.string().describe('first 2,000 characters'), metadata: z.record(z.string(), z.string()), latencyMs: z.number(), tokens: z.number().nullable(),
});
const problem = z.object({ code: z.string(), message: z.string() });
const check = z.object({ check: z.string(), status: z.enum(['passed', 'failed']), failures: z.array(z.object({ check: z.string(), exit: z.number(), where: z.string(), message: z.string() })) });

export function viewOpenApi() {
  const reg = new OpenAPIRegistry();
  reg.registerComponent('securitySchemes', 'launchToken', { type: 'apiKey', in: 'cookie', name: 'assay_view_<port>', description: 'the per-launch token from the URL `assay view` prints (or `Authorization: Bearer <token>`)' });
  const get = (path: string, summary: string, response: z.ZodType, req: { params?: z.ZodObject; query?: z.ZodObject } = {}) =>
    reg.registerPath({
      method: 'get', path, summary, security: [{ launchToken: [] }], request: req,
      responses: { 200: { description: 'OK', content: { 'application/json': { schema: response } } }, '4XX': { description: 'Problem', content: { 'application/json': { schema: problem } } } },
    });
  const id = z.object({ id: runId });
  get('/api/runs', 'The run index (`assay runs list`), newest first', z.object({ runs: z.array(runRow) }));
  get('/api/runs/{id}', 'Header facts, `assay stats --json` (stats), outcomes of unscored/errored records, events', z.object({ header: z.unknown(), status: z.string(), records: z.number(), outcomes: z.record(z.string(), z.number()), groupFields: z.array(z.string()), scoreNames: z.array(z.string()), stats: z.unknown().describe('assay.run-stats (v4 for new runs; a signed report keeps its version)'), events: z.array(z.unknown()) }), { params: id });
  get('/api/runs/{id}/samples', 'One page of the run\u2019s sample records after server-side filtering', z.object({ total: z.number(), matched: z.number(), offset: z.number(), rows: z.array(sampleRow) }), { params: id, query: sampleQuery });
  get('/api/runs/{id}/samples/{key}', 'A full sample record of the run log (without the request as sent)', z.unknown(), { params: z.object({ id: runId, key: z.string() }) });
  get('/api/compare/{a}/{b}', '`assay compare --json` and per-item changes (improved/regressed/same)', z.object({ comparison: z.unknown(), items: z.array(z.object({ metric: z.string(), scorer: z.string(), improved: z.number(), regressed: z.number(), same: z.number(), changed: z.array(z.object({ sampleId: z.string(), a: z.number(), b: z.number() })) })) }), { params: z.object({ a: runId, b: runId }) });
  get('/api/policies', 'Policy files offered (assay view --policy)', z.object({ policies: z.array(z.object({ index: z.number(), name: z.string() })) }));
  get('/api/runs/{id}/verdict/{policy}', 'The verdict of a policy on the run (assay.verdict/v1) and its stage-2 plan in screen mode', z.object({ verdict: z.unknown(), plan: z.unknown().nullable() }), { params: z.object({ id: runId, policy: index }), query: verdictQuery });
  get('/api/reports', 'Signed reports in $ASSAY_HOME/runs', z.object({ reports: z.array(z.string()) }));
  get('/api/reports/{name}', '`assay verify <report> --run <its run>` check by check, with the exit code', z.object({ report: z.string(), runId: z.string().nullable(), ok: z.boolean(), exitCode: z.number(), checks: z.array(check), warnings: z.array(z.string()) }).passthrough(), { params: z.object({ name: z.string() }) });
  get('/api/log', 'The local transparency log: signed checkpoint and entries', z.object({ log: z.object({ origin: z.string(), vkey: z.string(), size: z.number(), root: z.string(), note: z.string(), signers: z.array(z.string()), signatures: z.array(z.object({ name: z.string(), keyId: z.string(), kind: z.enum(['log', 'cosignature']), time: z.string().nullable().describe('cosignature time (ISO 8601)'), verified: z.boolean().nullable().describe('null: a witness the trust file does not list for this log') })), entries: z.array(z.object({ index: z.number(), entry: z.unknown() })) }).nullable() }), { query: logQuery });
  get('/api/log/proof/{index}', 'Inclusion proof of an entry, verified against the signed checkpoint', z.object({ index: z.number(), size: z.number(), root: z.string(), proof: z.array(z.string()), verified: z.boolean() }), { params: z.object({ index }) });
  return new OpenApiGeneratorV31(reg.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Assay view API', version: '1.0.0', description: 'Read-only JSON API of `assay view` over one $ASSAY_HOME, on 127.0.0.1 only. Format: docs/formats/view-api.md.' },
    servers: [{ url: '/' }],
  });
}
