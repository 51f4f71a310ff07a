import * as z from 'zod';
import { openingSchema, recordSchema } from './commit.js';
import { gatewayConfigSchema } from './config.js';
import { claimsSchema } from './grant.js';
import { releaseStatementSchema } from './release.js';

/** The gateway's public formats as JSON Schema (draft 2020-12), generated from the zod schemas: schemas/<name>. */
export function gatewayJsonSchemas(): Record<string, Record<string, unknown>> {
  const gen = (s: z.ZodType, id: string, title: string, io: 'input' | 'output' = 'output') => ({ $id: `https://assay.dev/schemas/${id}`, title, ...z.toJSONSchema(s, { io }) });
  return {
    'gateway-config.v1.schema.json': gen(gatewayConfigSchema, 'gateway-config.v1.schema.json', 'Assay gateway configuration (assay.gateway-config/v1)', 'input'),
    'gateway-grant.v1.schema.json': gen(claimsSchema, 'gateway-grant.v1.schema.json', 'Assay grant token claims (JWT payload; the assay claim is assay.grant/v1)'),
    'gateway-record.v1.schema.json': gen(recordSchema, 'gateway-record.v1.schema.json', 'Assay access-log record (assay.gateway-record/v1)'),
    'gateway-opening.v1.schema.json': gen(openingSchema, 'gateway-opening.v1.schema.json', 'Assay access-log opening (assay.gateway-opening/v1)'),
    'model-release.v1.schema.json': gen(releaseStatementSchema, 'model-release.v1.schema.json', 'Assay model-release statement (in-toto Statement v1, predicate https://assay.dev/attestation/model-release/v1)'),
  };
}
