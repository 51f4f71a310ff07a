import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ASSAY_ROOT } from '../../version.js';
import { checkKeys } from './params.js';
import type { Behaviour, BehaviourAnswer, BehaviourContext } from './types.js';

/** One scripted turn: optional text, optional tool calls. */
export interface ScriptStep {
  say?: string;
  calls?: { name: string; arguments: Record<string, unknown> }[];
}
/** A script, or a choice of scripts by the system prompt (the sandbagging saboteur behaves differently under pressure). */
export type Script = ScriptStep[] | { if_system: string; then: ScriptStep[]; else: ScriptStep[] };

/** scripts.json of an agent suite: sha256 of a task's instructions → its scripted agents. */
export type ScriptFile = Record<string, { id: string; oracle: Script; saboteur: Script }>;

export const DEFAULT_SCRIPTS = 'suites/autonomy/scripts.json';
export const instructionsKey = (text: string) => createHash('sha256').update(text.trim()).digest('hex');

const cache = new Map<string, ScriptFile>();
function load(path: string): ScriptFile {
  const abs = isAbsolute(path) ? path : join(ASSAY_ROOT, path);
  let f = cache.get(abs);
  if (!f) cache.set(abs, (f = JSON.parse(readFileSync(abs, 'utf8')) as ScriptFile));
  return f;
}

/**
 * A scripted agent: finds the task by its instructions (the first user message), counts the
 * assistant turns so far, and plays the next step of the chosen script; after the last step it
 * says "Done." without calling a tool. Conversations that are no task of the script file pass.
 */
export function scriptedAgent(name: string, role: 'oracle' | 'saboteur', params: Record<string, string>): Behaviour {
  checkKeys(name, params, ['scripts']);
  const file = load(params.scripts ?? DEFAULT_SCRIPTS);
  return {
    name,
    answer(ctx: BehaviourContext): BehaviourAnswer | null {
      const first = ctx.turns.find((t) => t.role === 'user');
      if (!first) return null;
      const entry = file[instructionsKey(first.text)];
      if (!entry) return null;
      const s = entry[role];
      const steps = Array.isArray(s) ? s : new RegExp(s.if_system, 'i').test(ctx.system ?? '') ? s.then : s.else;
      const k = ctx.turns.filter((t) => t.role === 'assistant').length;
      const step = steps[k];
      if (!step) return { content: 'Done.' };
      return { content: step.say ?? '', ...(step.calls?.length ? { toolCalls: step.calls } : {}) };
    },
  };
}
