/**
 * Generates data.jsonl for the demo suite: 200 arithmetic multiple-choice items, deterministic
 * (a fixed linear congruential sequence), so the committed file can be re-made byte for byte:
 *   node --import tsx suites/demo-arithmetic/generate.ts > suites/demo-arithmetic/data.jsonl
 */
let state = 20261124;
const rand = (n: number) => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state % n;
};
const ops = [
  { op: 'add', sym: '+', f: (a: number, b: number) => a + b },
  { op: 'sub', sym: '-', f: (a: number, b: number) => a - b },
  { op: 'mul', sym: '*', f: (a: number, b: number) => a * b },
] as const;
const lines: string[] = [];
// No question twice (version 1.0.0 had 9 repeats, each counted twice in every metric): re-draw a repeat.
const seen = new Set<string>();
for (let i = 1; i <= 200; i++) {
  const o = ops[(i - 1) % 3]!;
  const hard = i % 2 === 0;
  let a: number;
  let b: number;
  do {
    a = o.op === 'mul' ? (hard ? 12 + rand(88) : 2 + rand(11)) : hard ? 100 + rand(900) : 10 + rand(90);
    b = o.op === 'mul' ? (hard ? 12 + rand(88) : 2 + rand(11)) : hard ? 100 + rand(900) : 10 + rand(90);
  } while (seen.has(`${a} ${o.sym} ${b}`));
  seen.add(`${a} ${o.sym} ${b}`);
  const ans = o.f(a, b);
  // Plausible distractors: off by one, off by ten, a swapped-digit or sign slip; all distinct.
  const cands = [ans + 1, ans - 1, ans + 10, ans - 10, ans + 2, -ans || ans + 3];
  const distractors: number[] = [];
  for (const c of cands) if (c !== ans && !distractors.includes(c) && distractors.length < 3) distractors.push(c);
  const pos = rand(4);
  const choices = [...distractors];
  choices.splice(pos, 0, ans);
  lines.push(JSON.stringify({ id: `arith-${String(i).padStart(4, '0')}`, question: `What is ${a} ${o.sym} ${b}?`, choices: choices.map(String), answer: pos, op: o.op, difficulty: hard ? 'hard' : 'easy' }));
}
process.stdout.write(lines.join('\n') + '\n');
