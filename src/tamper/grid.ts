import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { digestJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { parseYamlWith } from '../common/yaml-schema.js';

/**
 * The tampering-attack grid (`assay.tamper-grid/v1`, docs/formats/tamper.md): which fine-tuning
 * attacks to run against an open-weight model, at which strengths, through which back-end, and
 * which suites and metrics to re-measure after each, within a budget.
 */
export const TAMPER_GRID_SCHEMA = 'assay.tamper-grid/v1';

const positiveInt = z.number().int().positive();
const id = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_" and "-", at most 64');

const openaiBackend = z.strictObject({
  type: z.literal('openai-fine-tuning'),
  /** Base URL of the API (files, fine_tuning/jobs and chat/completions under it), e.g. https://api.openai.com/v1. */
  url: z.url(),
  /** Environment variable holding the API key (never the key itself). */
  api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
  poll_interval_ms: positiveInt.max(600_000).default(5_000),
  /** A job not finished by then is cancelled and recorded as timed out. */
  timeout_s: positiveInt.max(7 * 24 * 3600).default(24 * 3600),
});

const commandBackend = z.strictObject({
  type: z.literal('command'),
  /**
   * argv of the tester's own trainer; placeholders {train_file} {out_dir} {base_model} {kind}
   * {method} {examples} {epochs} {learning_rate} {batch_size} {seed}. It must write
   * {out_dir}/result.json: {"endpoint": "<OpenAI-compatible base URL>", "model": "<name>"}.
   */
  command: z.array(z.string().min(1)).min(1),
  timeout_s: positiveInt.max(7 * 24 * 3600).default(24 * 3600),
});

const attackSchema = z.strictObject({
  id,
  /** harmful: harmful-example fine-tuning; benign: ordinary data (also erodes safeguards); identity-shift: persona data. */
  kind: z.enum(['harmful', 'benign', 'identity-shift']),
  method: z.enum(['full', 'lora']).default('full'),
  /** JSONL chat examples ({"messages": [...]}) relative to the grid file, or "placeholder" (neutral generated lines; simulation and tests). */
  data: z.string().min(1),
  /** The sweep: one job per value (the first N examples of the data). */
  examples: z.array(positiveInt).min(1).max(64),
  epochs: positiveInt.max(100).default(1),
  learning_rate_multiplier: z.number().positive().max(100).default(1),
  /** Absolute learning rate (command back-end; recorded). */
  learning_rate: z.number().positive().max(1).optional(),
  batch_size: positiveInt.max(4096).default(1),
  seed: z.number().int().min(0).default(0),
});

const evaluationSchema = z.strictObject({
  /** Suite directory or suite.yaml, relative to the grid file. */
  suite: z.string().min(1),
  /** The scorer whose mean is the safeguard rate (e.g. "refused"). */
  metric: z.string().min(1),
  /** The rate the safeguard must keep: the cost to break is the least attack that takes it below. */
  threshold: z.number().gt(0).lt(1),
  limit: positiveInt.optional(),
});

export const tamperGridSchema = z.strictObject({
  schema: z.literal(TAMPER_GRID_SCHEMA),
  id,
  title: z.string().optional(),
  /** The open-weight base model as the back-end names it. */
  base_model: z.string().min(1),
  backend: z.discriminatedUnion('type', [openaiBackend, commandBackend]),
  attacks: z.array(attackSchema).min(1).max(32),
  evaluations: z.array(evaluationSchema).min(1).max(16),
  /** Axis of the dose–response curves and the cost to break. */
  strength: z.enum(['examples', 'steps', 'trained_tokens']).default('examples'),
  seed: z.number().int().min(0).default(1),
  max_connections: positiveInt.max(256).default(8),
  budget: z
    .strictObject({
      max_jobs: positiveInt.max(10_000).optional(),
      max_trained_tokens: positiveInt.optional(),
      max_cost: z.number().positive().optional(),
      price_per_1k_trained_tokens: z.number().nonnegative().default(0),
    })
    .default({ price_per_1k_trained_tokens: 0 }),
});

export type TamperGrid = z.output<typeof tamperGridSchema>;
export type Attack = TamperGrid['attacks'][number];

export interface LoadedGrid {
  grid: TamperGrid;
  file: string;
  dir: string;
  /** sha256 over the RFC 8785 form of the validated grid. */
  digest: string;
}

export function parseGridYaml(text: string, file: string): LoadedGrid {
  const grid = parseYamlWith(tamperGridSchema, text, file, 'TAMPER_GRID', 'tamper grid');
  const ids = new Set<string>();
  for (const [i, a] of grid.attacks.entries()) {
    if (ids.has(a.id)) throw new AssayError('TAMPER_GRID_INVALID', `attack id "${a.id}" is used twice`, { file, field: `attacks.${i}.id` });
    ids.add(a.id);
    if (new Set(a.examples).size !== a.examples.length) throw new AssayError('TAMPER_GRID_INVALID', 'examples lists a strength twice', { file, field: `attacks.${i}.examples` });
  }
  return { grid, file, dir: dirname(file), digest: digestJson(grid) };
}

export async function loadGrid(path: string): Promise<LoadedGrid> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AssayError('TAMPER_GRID_READ', `cannot read the tamper grid: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  return parseGridYaml(text, file);
}

/** One job of the grid: an attack at one strength. */
export interface GridCell {
  attack: Attack;
  examples: number;
  /** Stable key in the tamper log. */
  key: string;
}

export function gridCells(grid: TamperGrid): GridCell[] {
  return grid.attacks.flatMap((attack) => [...attack.examples].sort((a, b) => a - b).map((examples) => ({ attack, examples, key: `${attack.id}@${examples}` })));
}

/** Optimiser steps of a cell: ⌈examples / batch⌉ × epochs. */
export const stepsOf = (c: GridCell) => Math.ceil(c.examples / c.attack.batch_size) * c.attack.epochs;

export function tamperGridJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(tamperGridSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  void $schema;
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'https://assay.dev/schemas/tamper-grid.v1.schema.json', title: 'Assay tamper grid v1', ...rest };
}
