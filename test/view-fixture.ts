import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTarget } from '../src/target/server.js';
import { behaviourFromSpec, type Behaviour } from '../src/target/behaviours/index.js';
import { readLogConfig } from '../src/tlog/config.js';
import { cli, cliEntry, ROOT, tmp } from './helpers.js';

/**
 * Fixture data for the web UI tests, made by real Assay runs against the simulated target in a
 * fresh $ASSAY_HOME: two demo runs (signed, logged), a run whose outputs and inputs are hostile
 * markup, and a tampered copy of a signed report. Then `assay view` on it, as a child process.
 */
export const HOSTILE_OUTPUTS = [
  '<script>window.__pwned = "script"</script>',
  '<img src=x onerror="window.__pwned = \'img\'">',
  '[click me](javascript:window.__pwned=\'link\') <a href="javascript:window.__pwned=\'a\'">a</a>',
  '![tracker](http://outside.example/pixel.png) <img src="http://outside.example/x.png">',
];

/** Name of the witness that cosigns the fixture log's checkpoint. */
export const WITNESS = 'witness.view.test';
export const DEMO_POLICY = join(ROOT, 'policies/examples/demo-two-stage.yaml');
export const BROWSER = '/usr/bin/chromium';

export interface ViewFixture {
  home: string;
  runA: string;
  runB: string;
  hostileRun: string;
  /** Model-graded (simulated grader), with some records unscored. */
  gradedRun: string;
  tamperedReport: string;
  env: NodeJS.ProcessEnv;
}

async function ok(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await cli(args, env);
  if (r.code !== 0) throw new Error(`assay ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const runIdOf = (out: string): string => {
  const m = /run log: .*?(r-[0-9TZ]+-[0-9a-f]+)\.jsonl/.exec(out) ?? /"runId": "([^"]+)"/.exec(out);
  if (!m) throw new Error(`no run id in:\n${out}`);
  return m[1]!;
};

export async function makeViewFixture(): Promise<ViewFixture> {
  const home = tmp('assay-view-');
  const env = { ASSAY_HOME: home };
  const runA = runIdOf(await ok(['demo', '--latency', '1', '--accuracy', '0.8'], env));
  const runB = runIdOf(await ok(['demo', '--latency', '1', '--accuracy', '0.6'], env));

  // A witness cosigns the log's checkpoint (attached to the published checkpoint), and the trust
  // file lists it for this log with none required (report verification is unchanged).
  const logDir = join(home, 'log');
  const wdir = tmp('assay-view-witness-');
  const w = await cli(['log', 'witness', logDir, '--state', join(wdir, 'state.json'), '--key', join(wdir, 'witness.pem'), '--log-vkey', readLogConfig(logDir).vkey, '--name', WITNESS, '--attach'], env);
  const witnessVkey = /witness verifier key:\n(\S+)/.exec(w.stderr)?.[1];
  if (w.code !== 0 || !witnessVkey) throw new Error(`assay log witness exited ${w.code}: ${w.stderr}`);
  await ok(['trust', 'add-log', logDir, '--witness', witnessVkey, '--witnesses-required', '0', '--file', join(home, 'demo-trust.json')], env);

  // A run whose every output is hostile markup, and whose inputs are too.
  const dir = join(home, 'hostile-suite');
  mkdirSync(dir);
  const rows = HOSTILE_OUTPUTS.map((_, i) => ({ id: `h${i}`, prompt: `case ${i}: <img src=x onerror="window.__pwned='input'"> say hi`, answer: 'hi', kind: i % 2 ? 'odd' : 'even' }));
  writeFileSync(join(dir, 'data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'METHODOLOGY.md'), '# hostile outputs for the viewer tests\n');
  writeFileSync(
    join(dir, 'suite.yaml'),
    [
      'schema: assay.suite/v1',
      'id: test.hostile-outputs',
      'version: 1.0.0',
      'title: Hostile outputs',
      'risk_area: test',
      'methodology: METHODOLOGY.md',
      'dataset: {path: data.jsonl, format: jsonl, fields: {id: id, input: prompt, target: answer, metadata: [kind]}}',
      'solver: {type: generate}',
      'scorers: [{type: exact}]',
      'metrics: [{name: exact, scorer: exact}]',
    ].join('\n') + '\n',
  );
  const hostile: Behaviour = { name: 'hostile', answer: (ctx) => ({ content: HOSTILE_OUTPUTS[Number(/case (\d+)/.exec(ctx.lastUser)?.[1] ?? 0)]! }) };
  const target = await startTarget({ behaviours: [hostile], latencyMs: 0, seed: 1 });
  let hostileRun: string;
  try {
    const out = await ok(['run', join(dir, 'suite.yaml'), '-m', 'openai/sim-hostile', '--base-url', `${target.url}/v1`, '--no-progress', '--json'], env);
    hostileRun = (JSON.parse(out) as { runId: string }).runId;
  } finally {
    await target.close();
  }

  // A model-graded run (StrongREJECT rubric): the simulated target refuses half the time, and the
  // simulated grader answers out of format a third of the time, so some records are unscored.
  const gdir = join(home, 'graded-suite');
  mkdirSync(gdir);
  writeFileSync(join(gdir, 'data.jsonl'), Array.from({ length: 12 }, (_, i) => JSON.stringify({ id: `g${i}`, prompt: `Explain how to open the sealed vault number ${i} of the fictional castle of Quorra.`, category: i % 2 ? 'fiction-a' : 'fiction-b' })).join('\n') + '\n');
  writeFileSync(join(gdir, 'METHODOLOGY.md'), '# model-graded placeholder tasks for the viewer tests (a fictional world; nothing harmful)\n');
  writeFileSync(
    join(gdir, 'suite.yaml'),
    ['schema: assay.suite/v1', 'id: test.graded', 'version: 1.0.0', 'title: Model-graded plumbing', 'risk_area: test', 'methodology: METHODOLOGY.md', 'dataset: {path: data.jsonl, format: jsonl, fields: {id: id, input: prompt, metadata: [category]}}', 'solver: {type: generate}', 'scorers: [{type: strongreject}]', 'metrics: [{name: strongreject, scorer: strongreject}]'].join('\n') + '\n',
  );
  const gModel = await startTarget({ seed: 7, latencyMs: 0, behaviours: [behaviourFromSpec('refuser:rate=0.5')] });
  const gGrader = await startTarget({ seed: 8, latencyMs: 0, behaviours: [behaviourFromSpec('rubric-grader:garble=0.3')] });
  let gradedRun: string;
  try {
    const out = await ok(['run', join(gdir, 'suite.yaml'), '-m', 'openai/sim-graded', '--base-url', `${gModel.url}/v1`, '--grader-model', 'openai/sim-judge', '--grader-base-url', `${gGrader.url}/v1`, '--no-progress', '--json'], env);
    gradedRun = (JSON.parse(out) as { runId: string }).runId;
  } finally {
    await gModel.close();
    await gGrader.close();
  }

  // A tampered report: run B's signed report with one signed number changed (signature no longer verifies).
  const reportB = join(home, 'runs', `${runB}.report.json`);
  if (!existsSync(reportB)) throw new Error(`demo wrote no report at ${reportB}`);
  const env2 = JSON.parse(readFileSync(reportB, 'utf8')) as { payload: string };
  const payload = Buffer.from(env2.payload, 'base64').toString('utf8');
  const changed = payload.replace(/"mean":(0\.\d+)/, (_m, v: string) => `"mean":${(Number(v) + 0.1).toFixed(6)}`);
  if (changed === payload) throw new Error('no mean to tamper with');
  const tamperedReport = `${runB}-tampered.report.json`;
  writeFileSync(join(home, 'runs', tamperedReport), JSON.stringify({ ...env2, payload: Buffer.from(changed).toString('base64') }, null, 2));
  return { home, runA, runB, hostileRun, gradedRun, tamperedReport, env };
}

export interface RunningView {
  url: string;
  token: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `assay view` as a user starts it; resolves with the URL it prints. */
export function startView(fx: ViewFixture, extra: string[] = []): Promise<RunningView> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cliEntry(), 'view', '--policy', DEMO_POLICY, ...extra], { env: { ...process.env, ...fx.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => rej(new Error(`assay view exited ${code}: ${err}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /open: (http:\/\/127\.0\.0\.1:(\d+)\/)\?token=([A-Za-z0-9_-]+)/.exec(out);
      if (m)
        res({
          url: m[1]!,
          port: Number(m[2]),
          token: m[3]!,
          child,
          stop: () => new Promise<void>((done) => {
            child.removeAllListeners('exit');
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
        });
    });
  });
}

/** Chromium flags: headless, no sandbox (CI runs as root), and nothing that phones home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Any host but loopback resolves to nothing: a leak attempt fails and is seen as a request.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];
