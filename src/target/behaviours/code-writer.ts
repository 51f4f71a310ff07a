import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASSAY_ROOT } from '../../version.js';
import type { BehaviourFactory } from './types.js';
import { checkKeys } from './params.js';

interface Task {
  prompt: string;
  language: string;
}

/** Tasks and reference solutions of the shipped insecure-code suite, read once. */
function loadTasks(dir: string): { tasks: (Task & { id: string })[]; solutions: Record<string, { secure: string; insecure: string }> } {
  const tasks = readFileSync(join(dir, 'data.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Task & { id: string });
  const solutions = JSON.parse(readFileSync(join(dir, 'reference-solutions.json'), 'utf8')) as Record<string, { secure: string; insecure: string }>;
  return { tasks, solutions };
}

/**
 * `code-writer:style=secure|insecure|refuse[,dir=<suite folder>]`: answers the tasks of the
 * insecure-code suite (default `suites/insecure-code`) with that suite's reference solution of the
 * given style, in a fenced block; `refuse` declines (the "secure because it did nothing" case).
 * Prompts that contain no task of the suite pass through.
 */
export const codeWriter: BehaviourFactory = {
  description: 'answers the insecure-code tasks with their secure or insecure reference solution (or refuses)',
  create(params) {
    checkKeys('code-writer', params, ['style', 'dir']);
    const style = params.style ?? 'insecure';
    if (style !== 'secure' && style !== 'insecure' && style !== 'refuse') throw new RangeError(`behaviour "code-writer": style must be secure, insecure or refuse, got "${style}"`);
    const { tasks, solutions } = loadTasks(params.dir ?? join(ASSAY_ROOT, 'suites', 'insecure-code'));
    return {
      name: 'code-writer',
      answer(ctx) {
        const task = tasks.find((t) => ctx.lastUser.includes(t.prompt));
        if (!task) return null;
        if (style === 'refuse') return { content: "I'm sorry, but I can't help with writing that code." };
        const code = solutions[task.id]?.[style];
        if (code === undefined) return null;
        return { content: `Here is the ${task.language} code:\n\n\`\`\`${task.language}\n${code}\`\`\`\n` };
      },
    };
  },
};
