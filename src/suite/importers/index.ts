/**
 * Dataset importers by format name, for `assay suite import <format> <file> --out <dir>`.
 * One line per format; other risk-suite modules add theirs here.
 */
import { cseAutocompleteImporter, cseFrrImporter, cseInstructImporter, csePromptInjectionImporter } from './cyberseceval.js';
import { mcqGenericImporter, wmdpImporter } from './mcq.js';
import type { Importer } from './types.js';
import { discrimEvalImporter } from './discrimeval.js';
import { bbqImporter } from './bbq.js';
import { harmBenchImporter, strongRejectImporter, xstestImporter } from './refusal-sets.js';
import { electionQuestionsImporter } from './election-questions.js';

export type { Importer, ImportOptions, ImportResult } from './types.js';

export const IMPORTERS: Record<string, Importer> = {
  wmdp: wmdpImporter,
  mcq: mcqGenericImporter,
  'cse-instruct': cseInstructImporter,
  'cse-autocomplete': cseAutocompleteImporter,
  'cse-prompt-injection': csePromptInjectionImporter,
  'cse-frr': cseFrrImporter,
  discrimeval: discrimEvalImporter,
  bbq: bbqImporter,
  xstest: xstestImporter,
  strongreject: strongRejectImporter,
  harmbench: harmBenchImporter,
  'election-questions': electionQuestionsImporter,
};
