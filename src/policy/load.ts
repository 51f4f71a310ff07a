import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type * as z from 'zod';
import { digestJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { parseYamlWith, yamlErrorMap } from '../common/yaml-schema.js';
import { modelFactsSchema, policyFileSchema, type ModelFacts, type Policy } from './schema.js';

export interface LoadedPolicy {
  policy: Policy;
  file: string;
  /** "sha256:<hex>" over the RFC 8785 form of the validated policy (defaults filled in). */
  digest: string;
}

export interface LoadedFacts {
  facts: ModelFacts;
  file: string;
  digest: string;
}

/** The policy digest: YAML formatting, comments and key order do not change it; any change to what it decides does. */
export const policyDigest = (p: Policy): string => digestJson(p);

const errorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'invalid_union' && 'discriminator' in iss && iss.discriminator) return `unknown ${iss.discriminator}; one of: escalate, require-safeguards, restrict-deployment, kyc-gating, notify, re-evaluate`;
  return yamlErrorMap(iss);
};

export function parsePolicyYaml(text: string, file: string): LoadedPolicy {
  const policy = parseYamlWith(policyFileSchema, text, file, 'POLICY', 'policy', errorMap);
  return { policy, file, digest: policyDigest(policy) };
}

export function parseModelFactsYaml(text: string, file: string): LoadedFacts {
  const facts = parseYamlWith(modelFactsSchema, text, file, 'MODEL_FACTS', 'model facts', errorMap);
  return { facts, file, digest: digestJson(facts) };
}

async function readText(path: string, code: string, what: string): Promise<{ text: string; file: string }> {
  const file = resolve(path);
  try {
    return { text: await readFile(file, 'utf8'), file };
  } catch (e) {
    throw new AssayError(code, `cannot read ${what} file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
}

export async function loadPolicy(path: string): Promise<LoadedPolicy> {
  const { text, file } = await readText(path, 'POLICY_NOT_FOUND', 'policy');
  return parsePolicyYaml(text, file);
}

export async function loadModelFacts(path: string): Promise<LoadedFacts> {
  const { text, file } = await readText(path, 'MODEL_FACTS_NOT_FOUND', 'model facts');
  return parseModelFactsYaml(text, file);
}
