import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '../src/model/registry.js';
import { loadSuite } from '../src/suite/load.js';
import { runSuite } from '../src/run/engine.js';
import { isArtefactRef, getArtefact, artefactDir } from '../src/run/artefacts.js';
import { ROOT, DEMO_SUITE, tmp, config, cli, faultyProxy, openaiBody, sampleLines } from './helpers.js';
import { closers, records, samplesOf, target, spawnCli, suiteWithData } from './run-ops-fixture.js';

test('a killed run is findable: id and log printed at start in every output mode, indexed as running, shown as crashed, resumable by id', async () => {
  const t = await target({ latencyMs: 30 });
  const dir = tmp();
  const home = join(dir, 'home');
  const run = spawnCli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '-c', '2', '--json', '--no-progress'], { ASSAY_HOME: home });
  const [, runId] = await run.waitFor(/started run (r-\S+)\n {2}log (\S+)/);
  const m = run.out().stderr.match(/ {2}log (\S+)/)!;
  const log = m[1]!;
  while (sampleLines(log) < 5) await new Promise((r) => setTimeout(r, 20));
  const live = await cli(['runs', 'list', '--json'], { ASSAY_HOME: home });
  assert.equal((JSON.parse(live.stdout) as { runId: string; status: string }[]).find((r) => r.runId === runId)?.status, 'running');
  run.child.kill('SIGKILL');
  await run.exited;
  const list = await cli(['runs', 'list'], { ASSAY_HOME: home });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${runId}.*crashed`));
  for (const l of list.stdout.split('\n')) assert.ok(l.length <= 80, `line longer than 80 columns: ${l}`);
  const resumed = await cli(['run', '--resume', runId!, '--no-progress', '--json'], { ASSAY_HOME: home });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resuming run ${runId}`));
  const out = JSON.parse(resumed.stdout) as { status: string; samples: number };
  assert.equal(out.status, 'completed');
  assert.equal(out.samples, 200);
  const after = JSON.parse((await cli(['runs', 'list', '--json'], { ASSAY_HOME: home })).stdout) as { runId: string; status: string }[];
  assert.equal(after.find((r) => r.runId === runId)?.status, 'completed');
  // Started as a real model, the endpoint answered as the simulated target: the list says so.
  const listed = (await cli(['runs', 'list'], { ASSAY_HOME: home })).stdout;
  assert.match(listed, new RegExp(`${runId} .* SIM +completed`));
  assert.match(listed, /SIM: the simulated target, not a real model/);
});

test('the index is never needed: deleted or corrupt, it rebuilds from the logs with a warning, never a stack trace; runs reindex finds --out logs', async () => {
  const t = await target();
  const dir = tmp();
  const home = join(dir, 'home');
  const env = { ASSAY_HOME: home };
  const a = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--limit', '5', '--no-progress', '--json'], env);
  assert.equal(a.code, 0, a.stderr);
  const idA = (JSON.parse(a.stdout) as { runId: string }).runId;
  const outLog = join(dir, 'elsewhere.jsonl');
  const b = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--limit', '5', '--no-progress', '--out', outLog, '--json'], env);
  const idB = (JSON.parse(b.stdout) as { runId: string }).runId;
  // Deleted: the next command rebuilds it from $ASSAY_HOME/runs and says so.
  rmSync(join(home, 'assay.db'));
  for (const ext of ['-wal', '-shm']) rmSync(join(home, `assay.db${ext}`), { force: true });
  const show = await cli(['runs', 'show', idA, '--json'], env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stderr, /warning: run index .* was missing: rebuilt from 1 run log/);
  // The --out log is outside the runs folder: reindex with its folder.
  assert.equal((await cli(['runs', 'show', idB], env)).code, 2);
  const re = await cli(['runs', 'reindex', dir], env);
  assert.equal(re.code, 0, re.stderr);
  assert.match(re.stdout, /indexed 2 run log/);
  assert.equal((await cli(['runs', 'show', idB, '--json'], env)).code, 0);
  // Corrupt: a run still makes its calls, writes its log, prints its results, and exits 0.
  writeFileSync(join(home, 'assay.db'), 'this is not a database'.repeat(100));
  for (const ext of ['-wal', '-shm']) rmSync(join(home, `assay.db${ext}`), { force: true });
  const c = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--limit', '5', '--no-progress'], env);
  assert.equal(c.code, 0, c.stderr);
  assert.doesNotMatch(c.stderr, /SqliteError|\n\s+at /);
  assert.match(c.stderr, /warning: run index .* was unreadable .*moved to/);
  assert.match(c.stdout, /completed: 5 samples, 0 errored/);
  // Piped output: 80 columns at most, and no colour codes.
  for (const l of c.stdout.split('\n')) assert.ok(l.length <= 80, `longer than 80 columns: ${l}`);
  assert.doesNotMatch(c.stdout + c.stderr, /\u001b\[/);
  const list = await cli(['runs', 'list', '--json'], env);
  const ids = (JSON.parse(list.stdout) as { runId: string }[]).map((r) => r.runId);
  // Rebuilt from $ASSAY_HOME/runs (the unreadable index's knowledge of --out logs is gone: reindex <dir> again).
  assert.ok(ids.includes(idA) && ids.length === 2, JSON.stringify(ids));
});

test('one writer per run log: a second --resume is refused while the first runs; a completed run resumes as a no-op; a signed run is refused', async () => {
  const t = await target({ latencyMs: 30 });
  const dir = tmp();
  const home = join(dir, 'home');
  const log = join(dir, 'run.jsonl');
  const first = spawnCli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '-c', '2', '--out', log, '--no-progress'], { ASSAY_HOME: home });
  while (sampleLines(log) < 10) await new Promise((r) => setTimeout(r, 20));
  first.child.kill('SIGKILL');
  await first.exited;
  const a = spawnCli(['run', '--resume', log, '--no-progress', '-c', '2'], { ASSAY_HOME: home });
  await a.waitFor(/resuming run/);
  const second = await cli(['run', '--resume', log, '--no-progress'], { ASSAY_HOME: home });
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /RUN_LOCKED.*in use by another assay process/);
  assert.equal(await a.exited, 0, a.out().stderr);
  const keys = samplesOf(await records(log)).map((s) => s.key);
  assert.equal(keys.length, 200);
  assert.equal(new Set(keys).size, 200);
  // Each sample's request was sent once, except those lost at the kill: in flight (-c 2) or answered but still in
  // the log writer's batch (it writes asynchronously; on a loaded machine a write can take a few answers' time,
  // which made a bound of 2 flaky). A second resume that was not refused would send ~190 again.
  const extra = [...t.stats().bodyCounts.values()].reduce((a, c) => a + c - 1, 0);
  assert.ok(extra <= 6, `${extra} requests sent twice`);
  // Completed: nothing sent, nothing written, a message.
  const bytes = readFileSync(log);
  const sent = t.stats().requests;
  const again = await cli(['run', '--resume', log, '--no-progress'], { ASSAY_HOME: home });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already complete: nothing sent, nothing written/);
  assert.equal(t.stats().requests, sent);
  assert.deepEqual(readFileSync(log), bytes);
  // Signed (a report beside the log): refused, log untouched.
  writeFileSync(join(dir, 'run.report.json'), '{}');
  const signed = await cli(['run', '--resume', log, '--no-progress', '--retry-errored'], { ASSAY_HOME: home });
  assert.equal(signed.code, 2);
  assert.match(signed.stderr, /RUN_SIGNED/);
  assert.deepEqual(readFileSync(log), bytes);
});

test('outcomes: content null, a refusal, a content filter and an Anthropic refusal are recorded as empty/filtered, never wrong, shown in the table; a large raw body is stored once', async () => {
  const t = await target();
  const big = 'y'.repeat(600_000);
  const replies = [
    openaiBody({ content: null }),
    openaiBody({ content: null, refusal: 'I cannot help with that.' }),
    openaiBody({ content: '' }, 'content_filter'),
    openaiBody({ content: big }),
  ];
  const p = await faultyProxy(t.url, (n) => (n < 4 ? { status: 200, body: replies[n]! } : 'pass'));
  closers.push(p);
  const dir = tmp();
  const log = join(dir, 'o.jsonl');
  const r = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${p.url}/v1`, '-c', '1', '--limit', '6', '--out', log, '--no-progress'], { ASSAY_HOME: join(dir, 'home') });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /6 samples, 0 errored, 1 empty, 2 filtered by the provider/);
  const s = samplesOf(await records(log));
  assert.deepEqual(s.slice(0, 4).map((x) => x.outcome ?? null), ['empty', 'filtered', 'filtered', null]);
  for (const x of s.slice(0, 3)) assert.deepEqual(x.scores, {}, 'no score: excluded, not wrong');
  // The big answer: content once in the line, the raw body once in the artefact store.
  const line = readFileSync(log, 'utf8').split('\n').find((l) => l.includes(big.slice(0, 1000)))!;
  assert.equal(line.split(big).length - 1, 1, 'the answer appears once in its log line');
  assert.ok(isArtefactRef(s[3]!.output!.raw));
  assert.ok(getArtefact(artefactDir(log), s[3]!.output!.raw as never).toString('utf8').includes(big));
  // Anthropic's stop_reason refusal.
  const ap = await faultyProxy(t.url, () => ({ status: 200, body: JSON.stringify({ id: 'msg', type: 'message', model: 'm', content: [], stop_reason: 'refusal', usage: { input_tokens: 1, output_tokens: 0 } }) }));
  closers.push(ap);
  const am = createModel('anthropic/sim', { baseUrl: ap.url, apiKey: 'k', maxConnections: 1 });
  const g = await am.generate({ messages: [{ role: 'user', content: 'x' }], maxTokens: 5 });
  assert.equal(g.outcome, 'filtered');
  await am.close();
});

test('suite validation: an unknown scorer type fails validate; the same id@version with other data is refused where a suite is resolved by id', async () => {
  const dir = tmp();
  const env = { ASSAY_HOME: join(dir, 'home') };
  const bad = suiteWithData(readFileSync(join(ROOT, 'suites/demo-arithmetic/data.jsonl')));
  writeFileSync(bad, readFileSync(bad, 'utf8').replace('  - type: mcq_letter', '  - type: no_such_scorer\n    name: mcq_letter'));
  const v = await cli(['suite', 'validate', bad], env);
  assert.equal(v.code, 2, v.stdout);
  assert.match(v.stderr, /SCORER_UNKNOWN.*no_such_scorer/);
  // Two folders holding demo-arithmetic at the same version, one with a sample fewer.
  const root = tmp();
  for (const [name, cut] of [['a', 0], ['b', 1]] as const) {
    const d = join(root, name);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(d);
    for (const f of ['suite.yaml', 'METHODOLOGY.md']) copyFileSync(join(ROOT, 'suites/demo-arithmetic', f), join(d, f));
    const lines = readFileSync(join(ROOT, 'suites/demo-arithmetic/data.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(d, 'data.jsonl'), lines.slice(cut).join('\n') + '\n');
  }
  const list = await cli(['suite', 'list', root], env);
  assert.equal(list.code, 2);
  assert.match(list.stderr, /SUITE_AMBIGUOUS.*demo\.arithmetic@/);
  const el = await cli(['elicit', '--suite', 'demo.arithmetic', '--suites', root, '--model', 'openai/sim', '--base-url', 'http://127.0.0.1:9/v1', '--expert', 'E'], env);
  assert.equal(el.code, 2, el.stderr);
  assert.match(el.stderr, /SUITE_AMBIGUOUS.*different digests/);
});

test('results fit the width given (the terminal, or 80 when piped) and are coloured only on a terminal', async () => {
  const { resultsTable, colour } = await import('../src/cli/results.js');
  const { statsForRun } = await import('../src/stats/from-log.js');
  const t = await target();
  const log = join(tmp(), 'w.jsonl');
  const suite = await loadSuite(DEMO_SUITE);
  const res = await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 4 }), config: config({ limit: 20 }), logPath: log });
  const s = await statsForRun(log);
  const plain = colour({ isTTY: false } as NodeJS.WriteStream);
  for (const width of [60, 80, 100]) {
    const out = resultsTable(res, s, width, plain);
    for (const l of out.split('\n')) assert.ok(l.length <= width, `wider than ${width}: ${l}`);
    assert.match(out, /accuracy +0\.\d{3} \[0\.\d{3}, \d\.\d{3}\] [a-z-]+ +n=/);
  }
  // A wide terminal gets the full table.
  assert.match(resultsTable(res, s, 400, plain), /metric +value \[95% CI\] interval/);
  const tty = colour({ isTTY: true } as NodeJS.WriteStream);
  const prev = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
  assert.match(resultsTable(res, s, 400, tty), /\u001b\[32mcompleted/);
  process.env.NO_COLOR = '1';
  assert.doesNotMatch(resultsTable(res, s, 400, colour({ isTTY: true } as NodeJS.WriteStream)), /\u001b\[/);
  if (prev === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = prev;
});

test('UTF-8 check: characters split across chunks pass; a bad byte is named by line, also on an unterminated last line', async () => {
  const { utf8Checked } = await import('../src/suite/utf8.js');
  const { Readable } = await import('node:stream');
  const { pipeline } = await import('node:stream/promises');
  const drain = async (chunks: Buffer[]) => {
    const out: Buffer[] = [];
    const check = utf8Checked('f.jsonl');
    check.on('data', (d: Buffer) => out.push(d));
    await pipeline(Readable.from(chunks), check);
    return Buffer.concat(out);
  };
  const text = Buffer.from('{"a":"é"}\n{"b":"日本"}\n{"c":"😀"}\n');
  // Every split point, including inside each multi-byte character: bytes pass through unchanged.
  for (let i = 1; i < text.length; i++) assert.deepEqual(await drain([text.subarray(0, i), text.subarray(i)]), text);
  const bad = Buffer.concat([Buffer.from('{"a":1}\n{"b":2}\n{"c":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
  await assert.rejects(drain([bad.subarray(0, 20), bad.subarray(20)]), (e: Error & { code?: string }) => e.code === 'DATASET_ENCODING' && /f\.jsonl:3/.test(e.message));
  await assert.rejects(drain([Buffer.from('{"a":1}\n"'), Buffer.from([0xff])]), (e: Error & { code?: string }) => e.code === 'DATASET_ENCODING' && /:2\b/.test(e.message));
});
