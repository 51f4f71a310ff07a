import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { stringify } from 'yaml';
import { AssayError } from '../src/common/errors.js';
import { canonicalJson } from '../src/common/canonical.js';
import { findSuites, loadSuite, loadSuiteFromDefinition } from '../src/suite/load.js';
import { defineSuite, suiteJsonSchema, type SuiteFile } from '../src/suite/schema.js';
import { permutation, resolveTarget, showChoices } from '../src/suite/choices.js';
import { renderTemplate } from '../src/suite/template.js';
import type { LoadedSuite, Sample } from '../src/suite/types.js';
import { DEMO_SUITE, ROOT, cli, tmp } from './helpers.js';

/** A minimal valid multiple-choice suite file; tests override parts of it. */
function baseSuite(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'assay.suite/v1',
    id: 'test.mini',
    version: '1.0.0',
    title: 'Mini',
    risk_area: 'none',
    methodology: 'METHODOLOGY.md',
    dataset: { path: 'data.jsonl', format: 'jsonl', fields: { id: 'id', input: 'q', target: 'a', choices: 'c', cluster: 'g', metadata: ['g', 'level'] } },
    template: 'Q: {{input}}\n{{choices}}\nLevel {{level}}\nAnswer:',
    solver: { type: 'multiple_choice', shuffle: true },
    scorers: [{ type: 'mcq_letter' }],
    metrics: [{ name: 'accuracy', scorer: 'mcq_letter', group_by: 'level' }],
    ...over,
  };
}

const ROWS = [
  { id: 'r1', q: 'What is 1 + 1?', a: 0, c: ['2', '3', '4'], g: 'add', level: 'easy' },
  { id: 'r2', q: 'What is 2 * 3?', a: 2, c: ['5', '7', '6'], g: 'mul', level: 'hard' },
  { id: 'r3', q: 'What is 9 - 4?', a: 1, c: ['4', '5', '6'], g: 'sub', level: 'easy' },
];

/** Write a suite folder: suite.yaml (or given text), METHODOLOGY.md, and a data file. */
function writeSuite(opts: { suite?: Record<string, unknown>; yaml?: string; data?: string; dataName?: string } = {}): string {
  const dir = tmp('assay-suite-');
  writeFileSync(join(dir, 'METHODOLOGY.md'), '# test\n');
  writeFileSync(join(dir, opts.dataName ?? 'data.jsonl'), opts.data ?? ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'suite.yaml'), opts.yaml ?? stringify(opts.suite ?? baseSuite()));
  return join(dir, 'suite.yaml');
}

async function all(s: LoadedSuite): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const x of s.samples()) out.push(x);
  return out;
}

/** The located error a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<AssayError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AssayError, `expected AssayError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

async function loadAndRead(file: string): Promise<Sample[]> {
  return all(await loadSuite(file));
}

const strip = (s: Sample) => ({ id: s.id, input: s.input, target: s.target, choices: s.choices, cluster: s.cluster, metadata: s.metadata });

test('the demo suite validates: 200 samples, digest, count', async () => {
  const s = await loadSuite(DEMO_SUITE);
  assert.equal(s.def.id, 'demo.arithmetic');
  assert.equal(s.def.access, 'grey-box');
  assert.deepEqual(s.def.solver, { type: 'multiple_choice', shuffle: true });
  assert.match(s.digest, /^sha256:[0-9a-f]{64}$/);
  const samples = await all(s);
  assert.equal(samples.length, 200);
  assert.equal(await s.countSamples(), 200);
  const first = samples[0]!;
  assert.equal(first.id, 'arith-0001');
  assert.equal(first.cluster, undefined, 'the operation is a stratum, not a cluster (1.2.0)');
  assert.match(String(first.input), /^What is \d+ [+*-] \d+\?$/);
  // Every target is a normalised index naming the right answer.
  for (const x of samples) {
    const [a, op, b] = String(x.input).slice(8, -1).split(' ');
    const want = op === '+' ? Number(a) + Number(b) : op === '-' ? Number(a) - Number(b) : Number(a) * Number(b);
    assert.equal(x.choices![Number(x.target)], String(want), x.id);
  }
});

test('digest: stable across YAML formatting and key order; changes with data or definition', async () => {
  const file = writeSuite();
  const d0 = (await loadSuite(file)).digest;
  assert.equal((await loadSuite(file)).digest, d0);
  // Same definition, different key order, flow style, comments and defaults written out.
  const reordered = Object.fromEntries(Object.entries(baseSuite({ epochs: 1, access: 'black-box' })).reverse());
  writeFileSync(file, '# a comment\n\n' + stringify(reordered, { indent: 4, defaultStringType: 'QUOTE_DOUBLE' }));
  assert.equal((await loadSuite(file)).digest, d0);
  writeFileSync(file, stringify(baseSuite({ title: 'Mini 2' })));
  const d1 = (await loadSuite(file)).digest;
  assert.notEqual(d1, d0);
  appendFileSync(join(file, '..', 'data.jsonl'), JSON.stringify({ ...ROWS[0], id: 'r4' }) + '\n');
  const s = await loadSuite(file);
  assert.notEqual(s.digest, d1);
  // The definition of the digest, exactly: sha256 over canonical JSON of {definition, data}.
  const dataSha = createHash('sha256').update(readFileSync(join(file, '..', 'data.jsonl'))).digest('hex');
  assert.deepEqual(s.dataDigests, { 'data.jsonl': `sha256:${dataSha}` });
  const want = createHash('sha256').update(canonicalJson({ definition: s.def, data: { 'data.jsonl': `sha256:${dataSha}` } })).digest('hex');
  assert.equal(s.digest, `sha256:${want}`);
});

test('JSONL, CSV and JSON map fields to the same samples', async () => {
  const jsonl = await loadAndRead(writeSuite());
  const csv = [
    'id,q,a,c,g,level',
    'r1,What is 1 + 1?,0,2|3|4,add,easy',
    'r2,"What is 2 * 3?",C,"[""5"",""7"",""6""]",mul,hard',
    'r3,What is 9 - 4?,5,4 | 5 | 6,sub,easy',
  ].join('\r\n');
  const csvSuite = baseSuite({ dataset: { ...(baseSuite().dataset as object), path: 'data.csv', format: 'csv' } });
  const fromCsv = await loadAndRead(writeSuite({ suite: csvSuite, data: csv, dataName: 'data.csv' }));
  const jsonSuite = baseSuite({ dataset: { ...(baseSuite().dataset as object), path: 'data.json', format: 'json' } });
  const fromJson = await loadAndRead(writeSuite({ suite: jsonSuite, data: JSON.stringify(ROWS, null, 2), dataName: 'data.json' }));
  assert.deepEqual(jsonl.map(strip), fromCsv.map(strip));
  assert.deepEqual(jsonl.map(strip), fromJson.map(strip));
  assert.deepEqual(strip(jsonl[1]!), { id: 'r2', input: 'What is 2 * 3?', target: '2', choices: ['5', '7', '6'], cluster: 'mul', metadata: { g: 'mul', level: 'hard' } });
  assert.deepEqual(jsonl.map((s) => s.source.line), [1, 2, 3]);
  assert.deepEqual(fromCsv.map((s) => [s.source.row, s.source.line]), [[1, 2], [2, 3], [3, 4]]);
  assert.deepEqual(fromJson.map((s) => s.source.row), [1, 2, 3]);
});

test('chat inputs, array targets and generate solvers', async () => {
  const suite = baseSuite({
    dataset: { path: 'data.jsonl', format: 'jsonl', fields: { input: 'msgs', target: 'answers', cluster: 'n' } },
    template: '{{input}}',
    solver: { type: 'generate', system: 'Be brief.' },
    scorers: [{ type: 'includes', name: 'inc', ignore_case: true }],
    metrics: [{ name: 'acc', scorer: 'inc' }],
  });
  const data = [
    { msgs: [{ role: 'user', content: 'Say hi' }, { role: 'assistant', content: 'hi' }, { role: 'user', content: 'again' }], answers: ['hi', 'hello'], n: 7 },
    { msgs: 'plain text', answers: 42, n: 8 },
  ];
  const s = await loadSuite(writeSuite({ suite, data: data.map((d) => JSON.stringify(d)).join('\n') }));
  assert.deepEqual(s.def.scorers, [{ type: 'includes', name: 'inc', ignore_case: true }]);
  const [a, b] = await all(s);
  assert.equal((a!.input as unknown[]).length, 3);
  assert.deepEqual(a!.target, ['hi', 'hello']);
  assert.equal(a!.cluster, '7');
  assert.equal(b!.target, '42');
});

test('derived ids: "h-" + 16 hex of sha256 over canonical mapped content; independent of order and format', async () => {
  const noId = (format: string, path: string) => baseSuite({ dataset: { path, format, fields: { input: 'q', target: 'a', choices: 'c', metadata: ['level'] } }, template: '{{input}}\n{{choices}}' });
  const fwd = await loadAndRead(writeSuite({ suite: noId('jsonl', 'data.jsonl') }));
  const rev = await loadAndRead(writeSuite({ suite: noId('jsonl', 'data.jsonl'), data: [...ROWS].reverse().map((r) => JSON.stringify(r)).join('\n') }));
  const json = await loadAndRead(writeSuite({ suite: noId('json', 'd.json'), data: JSON.stringify(ROWS), dataName: 'd.json' }));
  assert.deepEqual(fwd.map((s) => s.id), [...rev].reverse().map((s) => s.id));
  assert.deepEqual(fwd.map((s) => s.id), json.map((s) => s.id));
  const r = ROWS[0]!;
  const content = { input: r.q, metadata: { level: r.level }, choices: r.c, target: String(r.a) };
  const want = 'h-' + createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 16);
  assert.equal(fwd[0]!.id, want);
  assert.equal(new Set(fwd.map((s) => s.id)).size, 3);
});

test('suite file errors name the file, YAML line and field', async () => {
  let e = await failure(loadSuite(writeSuite({ yaml: 'schema: assay.suite/v1\nid: x\ndataset: [1, 2\n' })));
  assert.equal(e.code, 'SUITE_YAML');
  assert.match(e.message, /suite\.yaml:\d+: YAML error/);

  e = await failure(loadSuite(writeSuite({ yaml: stringify(baseSuite()).replace('risk_area: none', 'risk_area: none\nrisk_area: again') })));
  assert.match(e.message, /suite\.yaml:\d+: YAML error: Map keys must be unique/);

  const typo = stringify(baseSuite()).replace('    input: q', '    inptu: q');
  e = await failure(loadSuite(writeSuite({ yaml: typo })));
  const typoLine = typo.split('\n').findIndex((l) => l.includes('inptu')) + 1;
  assert.equal(e.location.field, 'dataset.fields.inptu');
  assert.equal(e.location.line, typoLine);
  assert.match(e.message, new RegExp(`suite\\.yaml:${typoLine}, field "dataset\\.fields\\.inptu": unknown key "inptu" \\(did you mean "input"\\?\\)`));
  assert.match(e.message, /also line \d+, field "dataset\.fields\.input": required field is missing/);

  e = await failure(loadSuite(writeSuite({ suite: baseSuite({ extra_thing: 1 }) })));
  assert.equal(e.location.field, 'extra_thing');
  assert.match(e.message, /unknown key "extra_thing"/);

  for (const version of ['1.0', '1.0.0.0', 'v1.0.0', '01.0.0', '1.0.0-01']) {
    e = await failure(loadSuite(writeSuite({ suite: baseSuite({ version }) })));
    assert.equal(e.location.field, 'version', version);
    assert.match(e.message, /semantic version/);
  }
  e = await failure(loadSuite(writeSuite({ yaml: stringify(baseSuite()).replace(/version: .*/, 'version: 1.0') })));
  assert.match(e.message, /field "version": expected string, got number \(quote it in YAML: "1"\)/);
  assert.equal((await loadSuite(writeSuite({ suite: baseSuite({ version: '2.1.0-rc.1+build.5' }) }))).def.version, '2.1.0-rc.1+build.5');

  e = await failure(loadSuite(writeSuite({ suite: baseSuite({ id: 'Bad Id' }) })));
  assert.equal(e.location.field, 'id');

  e = await failure(loadSuite(writeSuite({ suite: baseSuite({ metrics: [{ name: 'm', scorer: 'nope' }] }) })));
  assert.equal(e.location.field, 'metrics.0.scorer');
  assert.match(e.message, /no scorer named "nope"/);

  e = await failure(loadSuite(writeSuite({ suite: baseSuite({ solver: { type: 'mc' } }) })));
  assert.equal(e.location.field, 'solver.type');

  e = await failure(loadSuite(writeSuite({ yaml: '' })));
  assert.match(e.message, /empty/);

  e = await failure(loadSuite(join(tmp(), 'nope.yaml')));
  assert.equal(e.code, 'SUITE_NOT_FOUND');
});

test('missing methodology or data file is a clear error', async () => {
  const file = writeSuite({ suite: baseSuite({ dataset: { ...(baseSuite().dataset as object), path: 'missing.jsonl' } }) });
  let e = await failure(loadSuite(file));
  assert.equal(e.location.field, 'dataset.path');
  assert.match(e.message, /data file not found: .*missing\.jsonl/);
  rmSync(join(file, '..', 'METHODOLOGY.md'));
  e = await failure(loadSuite(file));
  assert.equal(e.location.field, 'methodology');
  assert.match(e.message, /methodology file not found/);
});

test('template placeholders are checked when the suite is validated', async () => {
  const tpl = (template: string) => loadSuite(writeSuite({ suite: baseSuite({ template }) }));
  let e = await failure(tpl('{{input}}\n{{choices}}\n{{levle}}'));
  assert.equal(e.location.field, 'template');
  assert.ok(e.location.line !== undefined);
  assert.match(e.message, /unknown placeholder \{\{levle\}\}.*available: input, choices, g, level/);
  e = await failure(tpl('{{input}} {{ not a name }} {{choices}}'));
  assert.match(e.message, /malformed placeholder/);
  e = await failure(tpl('{{input}}'));
  assert.match(e.message, /must contain \{\{choices\}\}/);
  e = await failure(tpl('{{choices}}'));
  assert.match(e.message, /must contain \{\{input\}\}/);
  e = await failure(tpl('{{input}} {{choices}} {{target}}'));
  assert.match(e.message, /unknown placeholder \{\{target\}\}/);
  e = await failure(loadSuite(writeSuite({ suite: baseSuite({ dataset: { path: 'data.jsonl', format: 'jsonl', fields: { input: 'q', choices: 'c', metadata: ['input'] } } }) })));
  assert.match(e.message, /"input" is reserved/);
});

test('rendering: letter lines, metadata, single pass', () => {
  const sample: Sample = { id: 'x', input: 'Is {{choices}} literal?', choices: ['yes', 'no'], target: '0', metadata: { level: 3, tag: 'a' }, source: { file: 'f' } };
  const { shown, targetLetter } = showChoices(sample, false, 0, 1);
  assert.equal(renderTemplate('Q: {{ input }}\n{{choices}}\n[{{level}}|{{tag}}|{{missing}}]', sample, shown), 'Q: Is {{choices}} literal?\nA. yes\nB. no\n[3|a|]');
  assert.equal(targetLetter, 'A');
});

test('dataset errors name file, line or row, and field', async () => {
  const withData = (data: string, over: Record<string, unknown> = {}) => loadAndRead(writeSuite({ suite: baseSuite(over), data }));
  const ok = JSON.stringify(ROWS[0]);

  let e = await failure(withData(`${ok}\n\n{"id": "r2", "q": oops}\n`));
  assert.match(e.message, /data\.jsonl:3: line is not valid JSON/);
  assert.equal(e.location.line, 3);

  e = await failure(withData(`${ok}\n${JSON.stringify({ ...ROWS[1], q: undefined })}\n`));
  assert.match(e.message, /data\.jsonl:2, field "q": required field is missing/);

  e = await failure(withData(`${ok}\n${JSON.stringify({ ...ROWS[1], q: { text: 'x' } })}\n`));
  assert.match(e.message, /:2, field "q": input must be a string or a list of \{role, content\} messages, got an object/);

  e = await failure(withData(`${JSON.stringify({ ...ROWS[0], q: [{ role: 'robot', content: 'x' }] })}\n`));
  assert.equal(e.location.field, 'q[0].role');

  e = await failure(withData(`${ok}\n${JSON.stringify({ ...ROWS[1] })}\n${JSON.stringify({ ...ROWS[2], id: 'r1' })}\n`));
  assert.match(e.message, /:3, field "id": duplicate sample id "r1" \(first at line 1\)/);

  e = await failure(withData(`${JSON.stringify({ ...ROWS[0], a: 7 })}\n`));
  assert.match(e.message, /field "a": target 7 is not a valid choice index/);

  e = await failure(withData(`${JSON.stringify({ ...ROWS[0], a: '1', c: ['1', '0', '2'] })}\n`));
  assert.match(e.message, /field "a": target "1" is ambiguous/);

  e = await failure(withData(`${JSON.stringify({ ...ROWS[0], c: ['only'] })}\n`));
  assert.match(e.message, /field "c": choices must have at least 2 options/);

  e = await failure(withData(`${JSON.stringify({ ...ROWS[0], level: undefined })}\n`));
  assert.match(e.message, /field "level": required field is missing \(the template uses it\)/);

  e = await failure(withData('[1, 2]\n'));
  assert.match(e.message, /data\.jsonl:1: record must be an object/);

  // Derived ids make identical content a duplicate too.
  const noId = { dataset: { path: 'data.jsonl', format: 'jsonl', fields: { input: 'q' } }, template: '{{input}}', solver: { type: 'generate' }, metrics: [{ name: 'accuracy', scorer: 'mcq_letter' }] };
  e = await failure(withData('{"q":"a"}\n{"q":"b"}\n{"q":"a"}\n', noId));
  assert.match(e.message, /:3: duplicate sample: same content as line 1/);
});

test('CSV and JSON errors are located', async () => {
  const csvSuite = baseSuite({ dataset: { ...(baseSuite().dataset as object), path: 'd.csv', format: 'csv' } });
  const csv = (data: string) => loadAndRead(writeSuite({ suite: csvSuite, data, dataName: 'd.csv' }));
  let e = await failure(csv('id,q,a,c,g,level\nr1,"What is 1 + 1?,0,2|3,add,easy\n'));
  assert.equal(e.code, 'DATASET_INVALID');
  assert.match(e.message, /d\.csv.*CSV error/);
  e = await failure(csv('id,q,a,c,g,level\nr1,Q,0,2|3,add,easy\nr2,Q2,0,2|3,add\n'));
  assert.match(e.message, /d\.csv:3, row 2: CSV error/);
  e = await failure(csv('id,question,a,c,g,level\nr1,Q,0,2|3,add,easy\n'));
  assert.match(e.message, /d\.csv:1, field "dataset\.fields\.input": column "q" is not in the header/);
  e = await failure(csv('id,q,a,c,g,level\nr1,Q,0,2|3,add,easy\nr2,,0,2|3,add,easy\n'));
  assert.match(e.message, /d\.csv:3, row 2, field "q": required field is empty/);

  const jsonSuite = baseSuite({ dataset: { ...(baseSuite().dataset as object), path: 'd.json', format: 'json' } });
  const json = (data: string) => loadAndRead(writeSuite({ suite: jsonSuite, data, dataName: 'd.json' }));
  e = await failure(json(JSON.stringify([ROWS[0], { ...ROWS[1], c: 'nope' }])));
  assert.match(e.message, /d\.json, row 2, field "c": choices must have at least 2 options/);
  e = await failure(json(JSON.stringify({ rows: ROWS })));
  assert.match(e.message, /d\.json: JSON error/);
  e = await failure(json(JSON.stringify(ROWS).slice(0, 80)));
  assert.match(e.message, /d\.json: JSON error/);
});

test('multiple-choice targets: index, numeric string, letter or text', () => {
  const c = ['red', 'green', 'blue'];
  assert.deepEqual(resolveTarget(1, c), { index: 1 });
  assert.deepEqual(resolveTarget('2', c), { index: 2 });
  assert.deepEqual(resolveTarget('B', c), { index: 1 });
  assert.deepEqual(resolveTarget('blue', c), { index: 2 });
  assert.ok('problem' in resolveTarget('D', c));
  assert.ok('problem' in resolveTarget('purple', c));
  assert.ok('problem' in resolveTarget(1.5, c));
  assert.deepEqual(resolveTarget('A', ['A', 'B']), { index: 0 });
  assert.ok('problem' in resolveTarget('B', ['B', 'A']));
});

test('seeded shuffle: deterministic, a permutation, varies with seed and epoch, follows the documented algorithm', () => {
  // The algorithm as docs/formats/suite.md states it, written independently.
  const documented = (n: number, seed: number, id: string, epoch: number) => {
    const p = [...Array(n).keys()];
    const bytes: number[] = [];
    for (let b = 0; bytes.length < 6 * n; b++) {
      const h = createHash('sha256').update(`${seed}:${id}:${epoch}:${b}`).digest();
      bytes.push(...h.subarray(0, 30));
    }
    for (let i = n - 1, k = 0; i > 0; i--, k++) {
      const r = Number(BigInt('0x' + Buffer.from(bytes.slice(6 * k, 6 * k + 6)).toString('hex')) % BigInt(i + 1));
      [p[i], p[r]] = [p[r]!, p[i]!];
    }
    return p;
  };
  for (const n of [2, 4, 7, 26]) {
    for (const id of ['a', 'arith-0001', 'h-0123456789abcdef']) {
      const p = permutation(n, 3, id, 1);
      assert.deepEqual(p, permutation(n, 3, id, 1));
      assert.deepEqual([...p].sort((x, y) => x - y), [...Array(n).keys()]);
      assert.deepEqual(p, documented(n, 3, id, 1));
    }
  }
  const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
  const orders = (seed: number, epoch: number) => ids.map((id) => permutation(6, seed, id, epoch).join(',')).join(';');
  assert.notEqual(orders(0, 1), orders(1, 1));
  assert.notEqual(orders(0, 1), orders(0, 2));
  // The target letter follows the correct choice to wherever it lands.
  const sample: Sample = { id: 'q', input: 'x', choices: ['a', 'b', 'c', 'd'], target: '2', metadata: {}, source: { file: 'f' } };
  for (let seed = 0; seed < 20; seed++) {
    const { shown, targetLetter } = showChoices(sample, true, seed, 1);
    assert.deepEqual(shown.map((s) => s.letter), ['A', 'B', 'C', 'D']);
    assert.equal(shown.find((s) => s.letter === targetLetter)!.text, 'c');
  }
});

test('streaming: 200k JSONL rows iterate within a bounded heap', async () => {
  const file = writeSuite({
    suite: baseSuite({ dataset: { path: 'big.jsonl', format: 'jsonl', fields: { id: 'id', input: 'q', metadata: ['pad'] } }, template: '{{input}}', solver: { type: 'generate' }, metrics: [{ name: 'accuracy', scorer: 'mcq_letter' }] }),
    data: '',
  });
  const big = join(file, '..', 'big.jsonl');
  const out = createWriteStream(big);
  const pad = 'x'.repeat(200);
  for (let i = 0; i < 200_000; i += 1000) {
    let chunk = '';
    for (let j = i; j < i + 1000; j++) chunk += `{"id":"s${j}","q":"What is ${j} + 1?","pad":"${pad}"}\n`;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  // Measured in a child: a real --expose-gc (reachable heap, not garbage awaiting collection), and
  // none of the test runner's per-promise async tracking, which triples the time of a 200k-item loop.
  const probe = join(file, '..', 'probe.mts');
  writeFileSync(
    probe,
    `import { loadSuite } from ${JSON.stringify(join(ROOT, 'src/suite/load.ts'))};
const s = await loadSuite(${JSON.stringify(file)});
globalThis.gc(); const base = process.memoryUsage().heapUsed; let peak = 0; let n = 0;
for await (const x of s.samples()) { if (++n % 50000 === 0) { globalThis.gc(); peak = Math.max(peak, process.memoryUsage().heapUsed - base); } }
process.stdout.write(JSON.stringify({ n, peak }));`,
  );
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', probe], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { n, peak } = JSON.parse(r.stdout) as { n: number; peak: number };
  assert.equal(n, 200_000);
  // The file is ~50 MB; holding it (as strings, let alone parsed) would blow well past this.
  // What remains is the duplicate-id set (~12 MB for 200k ids).
  assert.ok(peak < 60 * 1024 * 1024, `heap grew by ${(peak / 1048576).toFixed(1)} MB`);
  rmSync(big);
});

test('stopping early releases the data file', async () => {
  const s = await loadSuite(writeSuite());
  for await (const x of s.samples()) {
    assert.equal(x.id, 'r1');
    break;
  }
  // A second full pass still works after the early stop.
  assert.equal((await all(s)).length, 3);
});

test('TypeScript API: defineSuite validates like YAML; loadSuiteFromDefinition digests the same', async () => {
  const file = writeSuite();
  const def = defineSuite(baseSuite() as SuiteFile);
  assert.equal(def.riskArea, 'none');
  assert.equal(def.epochs, 1);
  assert.equal(def.access, 'black-box');
  assert.deepEqual(def.metrics, [{ name: 'accuracy', scorer: 'mcq_letter', aggregate: 'mean', groupBy: 'level' }]);
  const viaApi = await loadSuiteFromDefinition(def, join(file, '..'));
  assert.equal(viaApi.digest, (await loadSuite(file)).digest);
  assert.throws(() => defineSuite(baseSuite({ epochs: 0 }) as SuiteFile), (e: unknown) => e instanceof AssayError && e.location.field === 'epochs');
  await assert.rejects(loadSuiteFromDefinition({ ...def, template: '{{input}} {{nope}} {{choices}}' }, join(file, '..')), /unknown placeholder \{\{nope\}\}/);
});

test('findSuites lists subfolders holding suite.yaml', async () => {
  const root = tmp();
  for (const name of ['b', 'a']) {
    mkdirSync(join(root, name));
    copyFileSync(DEMO_SUITE, join(root, name, 'suite.yaml'));
  }
  mkdirSync(join(root, 'empty'));
  assert.deepEqual(await findSuites(root), [join(root, 'a', 'suite.yaml'), join(root, 'b', 'suite.yaml')]);
  assert.deepEqual(await findSuites(join(root, 'nope')), []);
});

test('the committed JSON Schema matches the zod schema', () => {
  const path = join(ROOT, 'schemas/suite.v1.schema.json');
  const generated = JSON.stringify(suiteJsonSchema(), null, 2) + '\n';
  // UPDATE_SCHEMAS=1 rewrites the file after a deliberate schema change.
  if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(path, generated);
  assert.ok(readFileSync(path, 'utf8') === generated, 'schemas/suite.v1.schema.json is stale: re-run this test with UPDATE_SCHEMAS=1'); // a boolean: assert.equal's diff of two large texts can take minutes
});

test('CLI: suite validate, digest and list', async () => {
  const bad = writeSuite({ data: `${JSON.stringify(ROWS[0])}\n{"id": "r2"\n` });
  // Child processes in parallel: each pays the TypeScript loader's start-up.
  const [fail, d, list, missing] = await Promise.all([
    cli(['suite', 'validate', DEMO_SUITE, bad]),
    cli(['suite', 'digest', join(ROOT, 'suites/demo-arithmetic')]),
    cli(['suite', 'list', join(ROOT, 'suites')]),
    cli(['suite', 'digest', join(tmp(), 'none.yaml')]),
  ]);
  const digest = (await loadSuite(DEMO_SUITE)).digest;

  // One good and one bad file: the good one is reported OK, the bad one located, exit 2.
  assert.equal(fail.code, 2);
  assert.ok(fail.stdout.startsWith(`OK   demo.arithmetic@1.2.0  200 samples  ${digest}`), fail.stdout);
  assert.match(fail.stderr, /FAIL \[DATASET_INVALID\] .*data\.jsonl:2: line is not valid JSON/);

  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout, `${digest}\n`);

  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^id\s+version\s+risk area\s+access\s+samples\s+digest/);
  assert.match(list.stdout, new RegExp(`demo\\.arithmetic\\s+1\\.2\\.0\\s+none \\(engine smoke test\\)\\s+grey-box\\s+200\\s+${digest.slice(0, 19)}`));

  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /SUITE_NOT_FOUND/);
});

test('countSamples counts non-blank JSONL lines (CRLF, blank and whitespace lines, no final newline) and stops at a limit', async () => {
  const [a, b, c] = ROWS.map((r) => JSON.stringify(r));
  const cases: [string, number][] = [
    [`${a}\n${b}\n${c}\n`, 3],
    [`${a}\r\n\r\n${b}\r\n  \t \r\n${c}`, 3],
    [`\n\n${a}\n\n`, 1],
    ['', 0],
    [' \n\t\n', 0],
  ];
  for (const [data, n] of cases) {
    const s = await loadSuite(writeSuite({ data }));
    assert.equal(await s.countSamples(), n, JSON.stringify(data));
    // Agrees with what streaming actually yields.
    assert.equal((await all(s)).length, n, JSON.stringify(data));
  }
  // A line split across read chunks (1 MiB) still counts once.
  const big = Array.from({ length: 9000 }, (_, i) => JSON.stringify({ ...ROWS[0], id: `x${i}`, q: `${'pad '.repeat(30)}${i}` })).join('\n');
  const s = await loadSuite(writeSuite({ data: big }));
  assert.equal(await s.countSamples(), 9000);
  assert.equal(await s.countSamples(250), 250);
});
