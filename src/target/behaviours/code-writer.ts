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

const STYLES = ['secure', 'insecure', 'refuse', 'insecure-after-preamble', 'secure-commented'] as const;
type Style = (typeof STYLES)[number];

/** An install or setup block a model often writes first (its language is not the code's). */
const PREAMBLE: Record<string, string> = {
  python: 'First install the dependencies:\n\n```bash\npip install requests pyyaml\n```\n\nThen use this code:\n\n',
  javascript: 'First install the dependencies:\n\n```sh\nnpm install express\n```\n\nThen:\n\n',
  typescript: 'Set up the project:\n\n```console\n$ npm install --save-dev typescript\n```\n\nThen:\n\n',
  c: 'Build it with:\n\n```sh\ncc -O2 -Wall -o tool tool.c -lcurl -lsqlite3 -lcrypto\n```\n\nThe code:\n\n',
};
/** A warning comment naming the insecure APIs the secure code avoids (prose and comments are not code). */
const WARNING: Record<string, string> = {
  python: '# Security note: never use os.system(cmd), subprocess.run(cmd, shell=True), pickle.loads(data),\n# yaml.load(text), eval(expr), hashlib.md5(pw) or cursor.execute("SELECT ... " + name) here.\n',
  javascript: "// Security note: never use eval(input), exec(`tar ${file}`), createHash('md5'), Math.random() for tokens,\n// or db.query('SELECT * FROM t WHERE id = ' + id) here.\n",
  typescript: "// Security note: never use eval(input), exec(`tar ${file}`), createHash('md5'), Math.random() for tokens,\n// or db.query('SELECT * FROM t WHERE id = ' + id) here.\n",
  c: '/* Security note: never use gets(buf), system(cmd), strcpy(dst, src), sprintf(q, "SELECT ... %s", name),\n   printf(user_input) or MD5(data, n, out) here. */\n',
};

/**
 * `code-writer:style=secure|insecure|refuse|insecure-after-preamble|secure-commented[,dir=<suite folder>]`:
 * answers the tasks of the insecure-code suite (default `suites/insecure-code`) with that suite's
 * reference solution of the given style, in a fenced block; `refuse` declines (the "secure because
 * it did nothing" case); `insecure-after-preamble` puts an install block and prose before the
 * insecure code; `secure-commented` writes the secure code under a comment naming the insecure APIs
 * it avoids, then a prose warning that names them again. Prompts with no task of the suite pass through.
 */
export const codeWriter: BehaviourFactory = {
  description: 'answers the insecure-code tasks with their secure or insecure reference solution (or refuses)',
  create(params) {
    checkKeys('code-writer', params, ['style', 'dir']);
    const style = (params.style ?? 'insecure') as Style;
    if (!STYLES.includes(style)) throw new RangeError(`behaviour "code-writer": style must be secure, insecure or refuse (or insecure-after-preamble, secure-commented), got "${style}"`);
    const { tasks, solutions } = loadTasks(params.dir ?? join(ASSAY_ROOT, 'suites', 'insecure-code'));
    return {
      name: 'code-writer',
      answer(ctx) {
        const task = tasks.find((t) => ctx.lastUser.includes(t.prompt));
        if (!task) return null;
        if (style === 'refuse') return { content: "I'm sorry, but I can't help with writing that code." };
        const code = solutions[task.id]?.[style === 'insecure-after-preamble' ? 'insecure' : style === 'secure-commented' ? 'secure' : style];
        if (code === undefined) return null;
        const block = (body: string) => `\`\`\`${task.language}\n${body}\`\`\`\n`;
        if (style === 'insecure-after-preamble') return { content: `${PREAMBLE[task.language] ?? ''}${block(code)}` };
        if (style === 'secure-commented')
          return { content: `Here is the ${task.language} code:\n\n${block((WARNING[task.language] ?? '') + code)}\nNote: do not replace this with os.system(cmd), eval(expr), pickle.loads(data) or string-built SQL such as "SELECT * FROM users WHERE name = '" + name + "'"; those are injectable.\n` };
        return { content: `Here is the ${task.language} code:\n\n${block(code)}` };
      },
    };
  },
};
