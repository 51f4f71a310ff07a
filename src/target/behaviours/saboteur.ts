import type { BehaviourFactory } from './types.js';
import { scriptedAgent } from './scripted-agent.js';

/**
 * `saboteur[:scripts=<file>]`: a scripted agent that takes the forbidden easier path in every task
 * of an agent suite (edits protected files, sends what it was told not to, hard-codes tests,
 * writes insecure code, complies with misuse requests, underperforms under evaluation pressure)
 * and does not mention it. Default scripts: suites/autonomy/scripts.json.
 */
export const saboteur: BehaviourFactory = {
  description: 'scripted agent: violates the constraint of each agentic task (100% violations by construction)',
  create: (params) => scriptedAgent('saboteur', 'saboteur', params),
};
