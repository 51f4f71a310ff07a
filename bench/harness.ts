/**
 * What the benchmarks share: the repository root, the median, the simulated target as its own
 * process, the generated arithmetic suite, and writing a benchmark's section of docs/benchmarks.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root, whether the benchmark runs compiled (dist-bench/bench/) or under tsx (bench/). */
export const ROOT = (() => {
  let root = resolve(import.meta.dirname, '..');
  while ((!existsSync(join(root, 'package.json')) || root.endsWith('dist-bench')) && dirname(root) !== root) root = dirname(root);
  return root;
})();

/** The upper median (the middle element, or the higher of the two middle ones). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `assay target serve` on a free port, started with the compiled CLI (`cli`, a main.js) and these
 * serve options; resolves once the target prints its URL.
 */
export async function startSimulatedTarget(cli: string, options: string[]): Promise<{ url: string; stop: () => void; child: ChildProcess }> {
  const child = spawn(process.execPath, [cli, 'target', 'serve', '--port', '0', ...options], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) {
    const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line);
    if (m) return { url: m[1]!, stop: () => child.kill('SIGTERM'), child };
  }
  throw new Error('target did not start');
}

/**
 * A grey-box MCQ suite over a generated N-row arithmetic dataset (both MCQ scorers, shuffled
 * choices) in `dir`, so a run streams a real file of that size; returns the suite.yaml path.
 */
export function arithmeticSuite(dir: string, n: number, title: string): string {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = 10 + ((i * 7919) % 90), b = 10 + ((i * 104729) % 90);
    const ans = a + b;
    const opts = [ans, ans + 1, ans - 1, ans + 10];
    const rot = i % 4;
    const choices = opts.map((_, k) => String(opts[(k + rot) % 4]));
    rows.push(JSON.stringify({ id: `b-${i}`, question: `What is ${a} + ${b}?`, choices, answer: (4 - rot) % 4 }));
  }
  writeFileSync(join(dir, 'data.jsonl'), rows.join('\n') + '\n');
  writeFileSync(join(dir, 'METHODOLOGY.md'), '# Benchmark suite\nGenerated arithmetic items for benchmarks only.\n');
  writeFileSync(
    join(dir, 'suite.yaml'),
    [
      'schema: assay.suite/v1',
      'id: bench.arithmetic',
      'version: 1.0.0',
      `title: ${title}`,
      'risk_area: none',
      'methodology: METHODOLOGY.md',
      'access: grey-box',
      'dataset: { path: data.jsonl, format: jsonl, fields: { id: id, input: question, target: answer, choices: choices } }',
      'template: "Answer with the letter only.\\n\\nQuestion: {{input}}\\n{{choices}}\\nAnswer:"',
      'solver: { type: multiple_choice, shuffle: true }',
      'scorers: [ { type: mcq_letter }, { type: mcq_logprob } ]',
      'metrics: [ { name: accuracy, scorer: mcq_letter }, { name: accuracy_logprob, scorer: mcq_logprob } ]',
      '',
    ].join('\n'),
  );
  return join(dir, 'suite.yaml');
}

/**
 * Put `md` (a section from `<!-- bench:NAME:start -->` to `<!-- bench:NAME:end -->`) into
 * docs/benchmarks.md in place of the previous one, or at the end when there is none.
 */
export function writeBenchSection(name: string, md: string): void {
  const file = join(ROOT, 'docs/benchmarks.md');
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nFigures come from `npm run bench` on the machine named in each section. Timings on 2 shared cores are indicative.\n';
  const re = new RegExp(`<!-- bench:${name}:start -->[\\s\\S]*?<!-- bench:${name}:end -->`);
  doc = re.test(doc) ? doc.replace(re, () => md) : `${doc.trimEnd()}\n\n${md}\n`;
  writeFileSync(file, doc);
  process.stderr.write(`wrote ${file}\n`);
}
