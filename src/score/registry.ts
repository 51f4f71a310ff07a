import { loadScorerTypes, scorerTypes } from './factories.js';

/**
 * The scorer registry with every built-in scorer loaded, for a synchronous createScorer (tests,
 * suite lint, re-scoring, queue workers). `assay run` uses score/factories.ts directly and loads
 * only the scorers its suite names.
 */
export { createScorer, createScorers, registerScorer, scorerTypes, type ScorerFactory } from './factories.js';

await loadScorerTypes(scorerTypes());
