import type { AccessLevel, ChatMessage } from '../model/types.js';

/** One item of a dataset, after field mapping. `id` is stable across runs. */
export interface Sample {
  id: string;
  /** The text put into the prompt template's {{input}}, or a full chat. */
  input: string | ChatMessage[];
  /** Expected answer(s). For multiple choice: the correct choice's index as a string ("0".."n-1") or its letter. */
  target?: string | string[];
  /** Multiple-choice options, in dataset order. */
  choices?: string[];
  /** Cluster key for clustered standard errors (suite's `dataset.fields.cluster`). */
  cluster?: string;
  /** Every other mapped field (group, category, ...), available to templates and stats. */
  metadata: Record<string, unknown>;
  /** 1-based row (JSON/CSV record index) or line (JSONL) in the data file, for error messages. */
  source: { file: string; line?: number; row?: number };
}

export type SolverSpec =
  | { type: 'generate'; system?: string }
  | { type: 'multiple_choice'; system?: string; shuffle: boolean }
  | { type: 'agent'; system?: string; sandbox: string; taskField: string; limits?: AgentLimitsSpec };

/** Episode limits of an agentic task; absent fields fall back to the next level (task → suite → built-in default). */
export interface AgentLimitsSpec {
  maxMessages?: number;
  maxToolCalls?: number;
  maxTokens?: number;
  wallTimeS?: number;
  commandTimeoutS?: number;
}

/** A scorer named in a suite, with its options. `type` selects the implementation in `score/`. */
export interface ScorerSpec {
  type: string;
  name?: string;
  [option: string]: unknown;
}

/** A metric: an aggregate of one scorer's per-sample values. */
export interface MetricSpec {
  name: string;
  scorer: string;
  /** Aggregate over samples; statistics (SE, CI) are added by `stats`. */
  aggregate: 'mean';
  /** Group by a sample field (metadata key) for grouped metrics. */
  groupBy?: string;
}

export type DatasetFormat = 'jsonl' | 'csv' | 'json';

export interface DatasetSpec {
  path: string;
  format: DatasetFormat;
  /** Dataset field names for each sample property. */
  fields: {
    id?: string;
    input: string;
    target?: string;
    choices?: string;
    cluster?: string;
    metadata?: string[];
  };
}

/** The suite definition as written (YAML or TypeScript), after validation and defaults. */
export interface SuiteDefinition {
  schema: 'assay.suite/v1';
  id: string;
  version: string;
  title: string;
  riskArea: string;
  methodology: string;
  description?: string;
  access: AccessLevel;
  dataset: DatasetSpec;
  template: string;
  solver: SolverSpec;
  scorers: ScorerSpec[];
  metrics: MetricSpec[];
  epochs: number;
  /** Source files an importer read: their digests and row counts (the dataset version). */
  provenance?: SuiteProvenance;
  /** A held-out split (issue 27): encrypted items and their salted commitments (src/suite/heldout.ts). */
  heldOut?: { path: string; cipher: 'aes-256-gcm'; keyId: string; pairBy?: string; commitments: string[] };
}

export interface SuiteProvenance {
  source: string;
  revision?: string;
  licence?: string;
  files: { name: string; sha256: string; rows: number }[];
  transform?: string;
  /** false: the data must not be published with the suite (non-commercial, gated, hazard-adjacent). */
  redistributable?: boolean;
  /** Attribution the licence requires. */
  attribution?: string;
  /** Metadata fields carrying per-item licence and source (also in dataset.fields.metadata). */
  item_fields?: string[];
}

/** A suite ready to run: definition, where it lives, its digest, and a streaming sample reader. */
export interface LoadedSuite {
  def: SuiteDefinition;
  /** Absolute path of the suite file (or a synthetic name for API-built suites). */
  file: string;
  /** Directory relative paths in the definition resolve against. */
  dir: string;
  /** "sha256:<hex>" over canonical JSON of {definition, data: {path: digest}}. */
  digest: string;
  /** Data file digests, keyed by the path as written in the definition. */
  dataDigests: Record<string, string>;
  /** Streams samples in file order; never loads the whole file. Throws AssayError naming file/line/field. */
  samples(): AsyncIterable<Sample>;
  /** How many samples the dataset holds, cheaply where the format allows (JSONL: a byte scan). */
  /** Number of samples, counting no further than `max` when given. */
  countSamples(max?: number): Promise<number>;
}
