import type { Behaviour, BehaviourFactory, BehaviourParams } from './types.js';
import { echoSystem } from './echo-system.js';
import { refuser } from './refuser.js';
import { groupBias } from './group-bias.js';
import { bbqUnknown } from './bbq-unknown.js';
import { rubricGrader } from './rubric-grader.js';
import { electionFacts } from './election-facts.js';
import { electionTwins } from './election-twins.js';
import { oneSided } from './one-sided.js';
import { mcqReader } from './mcq-reader.js';
import { mcqMirror } from './mcq-mirror.js';
import { codeWriter } from './code-writer.js';
import { injectionTarget } from './injection-target.js';
import { injectionGrader } from './injection-grader.js';
import { electionGrader } from './election-grader.js';
import { extractionGrader } from './extraction-grader.js';
import { oracle } from './oracle.js';
import { saboteur } from './saboteur.js';

export type { Behaviour, BehaviourAnswer, BehaviourContext, BehaviourFactory, BehaviourParams, BehaviourTurn } from './types.js';

/**
 * The behaviours `assay target serve --behaviour <spec>` and TargetProfile.behaviours know, by
 * name. Each lives in its own module beside this one; add one line here per behaviour.
 */
export const BEHAVIOURS: Record<string, BehaviourFactory> = {
  oracle: oracle,
  saboteur: saboteur,
  'echo-system': echoSystem,
  refuser: refuser,
  'group-bias': groupBias,
  'bbq-unknown': bbqUnknown,
  'rubric-grader': rubricGrader,
  'election-facts': electionFacts,
  'election-twins': electionTwins,
  'one-sided': oneSided,
  'mcq-reader': mcqReader,
  'mcq-mirror': mcqMirror,
  'code-writer': codeWriter,
  'injection-target': injectionTarget,
  'injection-grader': injectionGrader,
  'election-grader': electionGrader,
  'extraction-grader': extractionGrader,
};

/** Parses `name` or `name:key=value,key=value` into a behaviour; errors name the spec and the problem. */
export function behaviourFromSpec(spec: string): Behaviour {
  const i = spec.indexOf(':');
  const name = i < 0 ? spec : spec.slice(0, i);
  const f = BEHAVIOURS[name];
  if (!f) throw new RangeError(`unknown behaviour "${name}" (known: ${Object.keys(BEHAVIOURS).sort().join(', ')})`);
  const params: BehaviourParams = {};
  if (i >= 0 && spec.slice(i + 1).trim() !== '')
    for (const kv of spec.slice(i + 1).split(',')) {
      const j = kv.indexOf('=');
      if (j <= 0) throw new RangeError(`behaviour "${name}": parameter "${kv}" is not key=value`);
      params[kv.slice(0, j).trim()] = kv.slice(j + 1).trim();
    }
  return f.create(params);
}
