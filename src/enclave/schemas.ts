import * as z from 'zod';
import { enclaveConfigSchema } from './config.js';
import { jobSchema, ledgerEntrySchema, resultSchema } from './job.js';
import { ledgerHeadSchema } from './ledger-head.js';

/** The enclave's public formats as JSON Schema (draft 2020-12), generated from the zod schemas: schemas/<name>. */
export function enclaveJsonSchemas(): Record<string, Record<string, unknown>> {
  const gen = (s: z.ZodType, id: string, title: string, io: 'input' | 'output' = 'output') => ({ $id: `https://assay.dev/schemas/${id}`, title, ...z.toJSONSchema(s, { io }) });
  return {
    'enclave-job.v1.schema.json': gen(jobSchema, 'enclave-job.v1.schema.json', 'Assay enclave job (assay.enclave-job/v1)', 'input'),
    'enclave-result.v1.schema.json': gen(resultSchema, 'enclave-result.v1.schema.json', 'Assay enclave answer (assay.enclave-result/v1)'),
    'enclave-ledger.v1.schema.json': gen(ledgerEntrySchema, 'enclave-ledger.v1.schema.json', 'Assay enclave ledger entry (assay.enclave-ledger/v1)'),
    'enclave-ledger-head.v1.schema.json': gen(ledgerHeadSchema, 'enclave-ledger-head.v1.schema.json', 'Assay enclave ledger head (assay.enclave-ledger-head/v1, the payload of a DSSE envelope)'),
    'enclave-config.v1.schema.json': gen(enclaveConfigSchema, 'enclave-config.v1.schema.json', 'Assay enclave configuration (assay.enclave-config/v1)', 'input'),
  };
}
