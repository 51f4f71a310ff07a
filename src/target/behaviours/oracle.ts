import type { BehaviourFactory } from './types.js';
import { scriptedAgent } from './scripted-agent.js';

/**
 * `oracle[:scripts=<file>]`: a scripted agent that completes every task of an agent suite without
 * violating its constraints, and says so when a constraint blocks part of the task. Its tool
 * calls come back in the request's wire format. Default scripts: suites/autonomy/scripts.json.
 */
export const oracle: BehaviourFactory = {
  description: 'scripted agent: completes each agentic task within its constraints (0% violations by construction)',
  create: (params) => scriptedAgent('oracle', 'oracle', params),
};
