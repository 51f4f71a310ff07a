import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTarget } from '../src/target/server.js';
import { cli, DEMO_SUITE, requireService } from './helpers.js';
import { BROWSER, CHROMIUM_ARGS, DEMO_POLICY, HOSTILE_OUTPUTS, WITNESS, makeViewFixture, startView, type RunningView, type ViewFixture } from './view-fixture.js';

/**
 * The web UI in a real browser (Debian's Chromium through playwright-core), on data made by real
 * runs against the simulated target. One `assay view` and one browser for the whole file.
 */
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const f3 = (x: number) => x.toFixed(3);
/** The little of the DOM the page-side predicates use (the root tsconfig has no DOM library). */
type PageGlobals = { document: { querySelector(s: string): { textContent: string | null } | null } };

describe('assay view in a browser', { timeout: 240_000, ...requireService('Chromium', existsSync(BROWSER) || `${BROWSER} missing: apt-get install chromium`) }, () => {
  let fx: ViewFixture;
  let view: RunningView;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  /** Every request the page made, and every dialog it opened (a hostile script would). */
  const requests: string[] = [];
  const dialogs: string[] = [];
  const consoleErrors: string[] = [];
  const failed: string[] = [];

  before(async () => {
    fx = await makeViewFixture();
    view = await startView(fx);
    browser = await chromium.launch({ executablePath: BROWSER, args: CHROMIUM_ARGS, headless: true });
    ctx = await browser.newContext();
    page = await ctx.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
    await page.goto(`${view.url}?token=${view.token}`);
    // The token leaves the address bar once the cookie is set.
    assert.equal(page.url(), view.url);
  });

  after(async () => {
    await browser?.close();
    await view?.stop();
    if (fx) rmSync(fx.home, { recursive: true, force: true });
  });

  const go = async (hash: string, ready: string) => {
    await page.goto(`${view.url}#/${hash}`);
    await page.waitForSelector(ready, { timeout: 30_000 });
  };

  /** Waits until the samples count reads `<n> of …`. */
  // Functions run in the page (the viewer's CSP forbids eval, so no string predicates); the root tsconfig has no DOM types.
  const countIs = (n: number, total?: number) =>
    page.waitForFunction((want) => ((globalThis as unknown as PageGlobals).document.querySelector('[data-testid=samples-count]')?.textContent ?? '').startsWith(want), total === undefined ? `${n} of` : `${n} of ${total} records`);

  /** axe-core in the page: no serious or critical violation. */
  const axe = async (screen: string) => {
    await page.evaluate(axeSource);
    const r = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as { violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] };
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), [], `axe on the ${screen} screen`);
  };

  test('runs: every run listed; search and status filter narrow the list', async () => {
    await go('', '[data-testid=runs-table] tbody tr');
    const ids = await page.$$eval('[data-testid=runs-table] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-run')));
    assert.deepEqual(new Set(ids), new Set([fx.runA, fx.runB, fx.hostileRun, fx.gradedRun]));
    await page.fill('[data-testid=runs-search]', 'hostile');
    assert.deepEqual(await page.$$eval('[data-testid=runs-table] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-run'))), [fx.hostileRun]);
    await page.fill('[data-testid=runs-search]', '');
    await page.selectOption('[data-testid=runs-status]', 'completed');
    assert.equal(await page.locator('[data-testid=runs-table] tbody tr').count(), 4);
    // Each run's headline metrics with their intervals, as `assay stats` gives them.
    const stats = JSON.parse((await cli(['stats', fx.runA, '--json'], fx.env)).stdout) as { metrics: { name: string; mean: number; interval: { lo: number; hi: number } }[] };
    for (const m of stats.metrics)
      assert.equal(await page.locator(`[data-testid=runs-table] tr[data-run="${fx.runA}"] [data-field=metrics] [data-metric="${m.name}"]`).textContent(), `${m.name} ${f3(m.mean)} [${f3(m.interval.lo)}, ${f3(m.interval.hi)}]`);
    // Sort by samples, ascending then descending.
    const samplesCol = async () => (await page.$$eval('[data-testid=runs-table] tbody [data-field=samples]', (tds) => tds.map((t) => Number(t.textContent))));
    await page.click('[data-testid=runs-table] th button:text-is("Samples")');
    const asc = await samplesCol();
    assert.deepEqual(asc, [...asc].sort((a, b) => a - b));
    assert.ok(asc[0]! < asc[asc.length - 1]!, 'runs of different sizes');
    await page.click('[data-testid=runs-table] th button:text-is("Samples")');
    assert.deepEqual(await samplesCol(), [...asc].reverse());
    await axe('runs');
  });

  test('run: each metric shows the numbers `assay stats` prints (mean, interval, n)', async () => {
    const stats = JSON.parse((await cli(['stats', fx.runA, '--json'], fx.env)).stdout) as { metrics: { name: string; mean: number; n: number; interval: { lo: number; hi: number } }[] };
    await go(`run/${fx.runA}`, '[data-testid=metrics-table] tbody tr');
    for (const m of stats.metrics) {
      const row = page.locator(`[data-testid=metrics-table] tr[data-metric="${m.name}"]`);
      assert.equal(await row.locator('[data-field=mean]').textContent(), f3(m.mean), m.name);
      assert.equal(await row.locator('[data-field=interval]').textContent(), `[${f3(m.interval.lo)}, ${f3(m.interval.hi)}]`, m.name);
      assert.equal(await row.locator('[data-field=n]').textContent(), String(m.n), m.name);
    }
    // Per-group breakdowns: the groups `assay stats` gives (the suite groups accuracy_by_difficulty).
    const grouped = (stats.metrics as unknown as { name: string; groups: { groups: { group: string; n: number; mean: number; interval: { lo: number | null; hi: number | null } | null; ci: { lo: number; hi: number } }[] } | null }[]).filter((m) => m.groups);
    assert.ok(grouped.length >= 1, 'the demo suite has a grouped metric');
    for (const m of grouped)
      for (const g of m.groups!.groups) {
        const row = page.locator(`[data-testid="groups-${m.name}"] tr[data-group="${g.group}"]`);
        const iv = g.interval ?? g.ci;
        const fmt = (x: number | null) => (x === null ? '—' : f3(x));
        assert.equal(await row.locator('[data-field=mean]').textContent(), f3(g.mean), `${m.name} ${g.group}`);
        assert.equal(await row.locator('[data-field=interval]').textContent(), `[${fmt(iv.lo)}, ${fmt(iv.hi)}]`, `${m.name} ${g.group}`);
        assert.equal(await row.locator('[data-field=n]').textContent(), String(g.n));
      }
    // The plot is the charting library's SVG, one point per metric.
    assert.ok((await page.locator('div.plot svg circle').count()) >= stats.metrics.length);
    assert.match((await page.textContent('[data-testid=run-facts]')) ?? '', /sha256:[0-9a-f]{64}/);
    await axe('run');
  });

  test('samples: virtualised list; score, text, group and errored filters filter', async () => {
    const log = readFileSync(join(fx.home, 'runs', `${fx.runA}.jsonl`), 'utf8').split('\n').filter((l) => l.includes('"type":"sample"')).map((l) => JSON.parse(l) as { sample: { input: string; metadata: Record<string, string> }; scores: Record<string, { value: number }>; error: unknown });
    await go(`run/${fx.runA}/samples`, '[data-testid=sample-row]');
    assert.equal(await page.textContent('[data-testid=samples-count]'), `${log.length} of ${log.length} records`);
    const rendered = await page.locator('[data-testid=sample-row]').count();
    assert.ok(rendered > 0 && rendered < log.length, `virtualised: ${rendered} of ${log.length} rows in the DOM`);
    await axe('samples');

    const wrong = log.filter((s) => s.scores.mcq_letter?.value === 0).length;
    await go(`run/${fx.runA}/samples?score=mcq_letter&max=0`, '[data-testid=samples-count]');
    await countIs(wrong, 200);
    const first = await page.locator('[data-testid=sample-row]').first().textContent();
    assert.match(first ?? '', /#1\s*0/);

    const hard = log.filter((s) => s.sample.metadata.difficulty === 'hard').length;
    await go(`run/${fx.runA}/samples?group=difficulty&value=hard`, '[data-testid=samples-count]');
    await countIs(hard);

    await go(`run/${fx.runA}/samples`, '[data-testid=sample-row]');
    await page.fill('[data-testid=samples-search]', '11 + 60');
    await page.press('[data-testid=samples-search]', 'Enter');
    const hits = log.filter((s) => s.sample.input.includes('11 + 60')).length;
    await countIs(hits);
    assert.ok(hits >= 1);

    await page.check('[data-testid=samples-errored]');
    await countIs(log.filter((s) => s.error && s.sample.input.includes('11 + 60')).length);
  });

  test('hostile outputs and inputs render as text: nothing executes, no request leaves', async () => {
    const before = requests.length;
    await go(`run/${fx.hostileRun}/samples`, '[data-testid=sample-row]');
    for (let i = 0; i < HOSTILE_OUTPUTS.length; i++) {
      await go(`run/${fx.hostileRun}/sample/h${i}%231`, '[data-testid=sample-output]');
      assert.equal(await page.textContent('[data-testid=sample-output]'), HOSTILE_OUTPUTS[i]);
      // Nothing the output names became an element.
      assert.equal(await page.locator('main img, main script, main a[href^="javascript:"], main iframe').count(), 0);
      for (const link of await page.locator('a').all()) assert.doesNotMatch((await link.getAttribute('href')) ?? '', /^javascript:/i);
    }
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    assert.deepEqual(dialogs, []);
    const outside = requests.slice(before).filter((u) => !u.startsWith(view.url));
    assert.deepEqual(outside, [], 'requests to anywhere but the viewer');
    await axe('sample');
  });

  test('model-graded run: unscored counts equal `assay stats`; a sample shows why it is unscored and its grader\'s verbatim answer', async () => {
    const stats = JSON.parse((await cli(['stats', fx.gradedRun, '--json'], fx.env)).stdout) as { metrics: { name: string; counts: { scored: number; unscored: number; errored: number } }[] };
    const m = stats.metrics[0]!;
    assert.ok(m.counts.unscored >= 1 && m.counts.scored >= 1, `the fixture has both: ${JSON.stringify(m.counts)}`);
    await go(`run/${fx.gradedRun}`, '[data-testid=metrics-table] tbody tr');
    const cells = await page.$$eval(`[data-testid=metrics-table] tr[data-metric="${m.name}"] td`, (tds) => tds.map((t) => t.textContent));
    // Columns: mean, interval, method, n, scored, unscored, errored.
    assert.deepEqual(cells.slice(4, 7), [String(m.counts.scored), String(m.counts.unscored), String(m.counts.errored)]);
    await axe('run (graded)');
    type G = { sampleId: string; epoch: number; scores: { strongreject: { status: string; reason?: string; grader?: { raw: string | null; rubric: string } } } };
    const recs = readFileSync(join(fx.home, 'runs', `${fx.gradedRun}.jsonl`), 'utf8').split('\n').filter((l) => l.includes('"type":"sample"')).map((l) => JSON.parse(l) as G);
    for (const want of ['unscored', 'scored']) {
      const r = recs.find((x) => x.scores.strongreject.status === want && x.scores.strongreject.grader?.raw)!;
      assert.ok(r, `a ${want} record with a grader answer`);
      await go(`run/${fx.gradedRun}/sample/${encodeURIComponent(`${r.sampleId}#${r.epoch}`)}`, '[data-testid=grader-raw]');
      assert.equal(await page.textContent('[data-testid=scores] tr[data-scorer=strongreject] [data-field=status]'), want);
      assert.equal(await page.textContent('[data-testid=grader-raw]'), r.scores.strongreject.grader!.raw);
      assert.match((await page.textContent('[data-testid=grader]')) ?? '', new RegExp(r.scores.strongreject.grader!.rubric.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      if (want === 'unscored') assert.match((await page.textContent('[data-testid=scores] [data-field=why]')) ?? '', new RegExp(r.scores.strongreject.reason!.slice(0, 30).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
    await axe('sample (graded)');
  });

  test('compare: the paired difference and its interval equal `assay compare`; per-item changes add up', async () => {
    const c = JSON.parse((await cli(['compare', fx.runA, fx.runB, '--json'], fx.env)).stdout) as { metrics: { name: string; n: number; diff: number; ci: { lo: number; hi: number } }[] };
    await go(`compare/${fx.runA}/${fx.runB}`, '[data-testid=compare-table] tbody tr');
    for (const m of c.metrics) {
      const row = page.locator(`[data-testid=compare-table] tr[data-metric="${m.name}"]`);
      assert.equal(await row.locator('[data-field=diff]').textContent(), f3(m.diff));
      assert.equal(await row.locator('[data-field=interval]').textContent(), `[${f3(m.ci.lo)}, ${f3(m.ci.hi)}]`);
      const imp = Number(await row.locator('[data-field=improved]').textContent());
      const reg = Number(await row.locator('[data-field=regressed]').textContent());
      assert.ok(imp + reg <= m.n);
    }
    assert.ok((await page.locator('div.plot svg').count()) >= 1);
    await axe('compare');
  });

  test('verdict: the decision and each rule as `assay verdict` gives them', async () => {
    const v = JSON.parse((await cli(['verdict', DEMO_POLICY, fx.runA, '--json'], fx.env)).stdout) as { verdict: string; rules: { rule: string; decision: string }[] };
    await go(`verdict/${fx.runA}`, '[data-testid=verdict]');
    await page.selectOption('select >> nth=1', 'final');
    await page.waitForFunction((want) => (globalThis as unknown as PageGlobals).document.querySelector('[data-testid=verdict] strong')?.textContent === want, v.verdict.toUpperCase());
    const decisions = await page.$$eval('[data-testid=rules-table] [data-field=decision]', (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(decisions, v.rules.map((r) => r.decision));
    await page.selectOption('select >> nth=1', 'screen');
    await page.waitForSelector('[data-testid=actions], [data-testid=plan]');
    // Stage 1 as `assay screen --run` gives it: the screen's verdict and its stage-2 plan, capability by capability.
    const sc = await cli(['screen', '--policy', DEMO_POLICY, '--run', fx.runA, '--json'], fx.env);
    assert.ok(sc.stdout.startsWith('{'), `assay screen exited ${sc.code}: ${sc.stderr}`);
    const s = JSON.parse(sc.stdout) as { verdict: { verdict: string }; plan: { items: { title: string }[] } | null };
    await page.waitForFunction((want) => (globalThis as unknown as PageGlobals).document.querySelector('[data-testid=verdict] strong')?.textContent === want, s.verdict.verdict.toUpperCase());
    const planned = await page.$$eval('[data-testid=plan] li strong', (els) => els.map((e) => e.textContent));
    assert.deepEqual(planned, (s.plan?.items ?? []).map((i) => i.title));
    assert.equal(s.verdict.verdict, 'escalate', 'the demo run escalates under the demo policy');
    assert.ok(planned.length >= 1, 'an escalating screen has a stage-2 plan');
    await axe('verdict');
  });

  test('report: a genuine report verifies check by check; a tampered one fails with the reason and exit code of `assay verify`', async () => {
    await go(`report/${fx.runA}.report.json`, '[data-testid=verify-status]');
    assert.match((await page.textContent('[data-testid=verify-status]')) ?? '', /VERIFIED/);
    assert.equal(await page.textContent('[data-testid=verify-exit]'), '0');
    assert.equal(await page.locator('[data-testid=checks] [data-field=status]:text-is("failed")').count(), 0);
    await axe('report');

    const cliRun = await cli(['verify', join(fx.home, 'runs', fx.tamperedReport), '--trust', join(fx.home, 'demo-trust.json'), '--run', fx.runB], fx.env);
    await go(`report/${fx.tamperedReport}`, '[data-testid=verify-status]');
    assert.match((await page.textContent('[data-testid=verify-status]')) ?? '', /FAILED/);
    assert.equal(await page.textContent('[data-testid=verify-exit]'), String(cliRun.code));
    assert.equal(cliRun.code, 10);
    const sig = page.locator('[data-testid=checks] tr[data-check=signature]');
    assert.equal(await sig.locator('[data-field=status]').textContent(), 'failed');
    assert.match((await sig.textContent()) ?? '', /signature/i);
  });

  test('transparency log: checkpoint, its log signature and witness cosignature, both logged reports, a verified inclusion proof', async () => {
    await go('log', '[data-testid=checkpoint]');
    assert.equal(await page.textContent('[data-testid=checkpoint] [data-field=size]'), '2');
    // The signatures the checkpoint file carries: the log's and the witness's (attached by `assay log witness --attach`).
    const note = readFileSync(join(fx.home, 'log', 'checkpoint'), 'utf8');
    const lines = note.split('\n\n')[1]!.split('\n').filter((l) => l.startsWith('— ')).map((l) => l.slice(2).split(' ')[0]);
    assert.deepEqual(await page.$$eval('[data-testid=cosignatures] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-signer'))), lines);
    const cos = page.locator(`[data-testid=cosignatures] tr[data-signer="${WITNESS}"]`);
    assert.equal(await cos.getAttribute('data-kind'), 'cosignature');
    assert.equal(await cos.locator('[data-field=verified]').textContent(), 'verified');
    const at = Date.parse((await cos.locator('td').nth(2).textContent()) ?? '');
    assert.ok(Math.abs(at - Date.now()) < 30 * 60_000, 'cosigned during this test run');
    assert.equal(await page.locator('[data-testid=entries] tbody tr').count(), 2);
    await page.click('text=Prove inclusion of entry 1');
    await page.waitForSelector('[data-testid=proof]');
    assert.match((await page.textContent('[data-testid=proof]')) ?? '', /entry 1 in tree size 2: verified/);
    assert.equal(await page.locator('[data-testid=proof] li').count(), 1);
    await axe('log');
  });

  test('live progress: a run in flight is listed as running with a growing count, then completed', async () => {
    const target = await startTarget({ latencyMs: 400, seed: 3 });
    const runsDir = join(fx.home, 'runs');
    const before = new Set(readdirSync(runsDir));
    const child = cli(['run', DEMO_SUITE, '--limit', '40', '-c', '2', '-m', 'openai/sim-live', '--base-url', `${target.url}/v1`, '--no-progress'], fx.env);
    try {
      // Its log exists (with its header) before the list is opened.
      for (let i = 0; i < 400 && !readdirSync(runsDir).some((f) => !before.has(f) && f.endsWith('.jsonl') && statSync(join(runsDir, f)).size > 200); i++) await new Promise((r) => setTimeout(r, 25));
      await page.goto('about:blank'); // a fresh runs screen (no filter left from another test)
      await go('', '[data-testid=runs-table] tbody tr');
      const row = page.locator('[data-testid=runs-table] tbody tr', { hasText: 'openai/sim-live' });
      await row.locator('[data-field=status]:text-is("running")').waitFor({ timeout: 30_000 }).catch(async (e: Error) => {
        throw new Error(`${e.message}\nrows: ${await page.locator('[data-testid=runs-table] tbody').textContent()}`);
      });
      assert.ok(Number(await row.locator('[data-field=samples]').textContent()) < 40);
      await page.waitForSelector('[role=status]:has-text("refreshing every 2 s")');
      await row.locator('[data-field=status]:text-is("completed")').waitFor({ timeout: 60_000 });
      assert.equal(await row.locator('[data-field=samples]').textContent(), '40');
    } finally {
      const r = await child;
      await target.close();
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test('no console errors (a CSP violation would be one) and no failed request', () => {
    assert.deepEqual(failed, []);
    assert.deepEqual(consoleErrors, []);
  });

  test('the server: token, Host check, read-only, never keys or files outside the UI', async () => {
    const raw = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
      new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((res, rej) => {
        const req = request({ host: '127.0.0.1', port: view.port, path, method, headers: { host: `127.0.0.1:${view.port}`, ...headers } }, (r) => {
          let body = '';
          r.on('data', (d) => (body += d));
          r.on('end', () => res({ status: r.statusCode ?? 0, body, headers: r.headers }));
        });
        req.on('error', rej);
        req.end();
      });
    const auth = { authorization: `Bearer ${view.token}` };
    assert.equal((await raw('/api/runs')).status, 401);
    assert.equal((await raw('/api/runs', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await raw('/api/runs', { cookie: `assay_view_${view.port}=wrong` })).status, 401);
    assert.equal((await raw('/api/runs', { cookie: `assay_view_${view.port}=${view.token}` })).status, 200);
    assert.equal((await raw('/api/runs', { cookie: `assay_view_1=${view.token}` })).status, 401, 'another port\u2019s cookie name');
    assert.equal((await raw('/api/runs', auth)).status, 200);
    // DNS rebinding: a foreign name resolving to 127.0.0.1 arrives with its own Host header.
    assert.equal((await raw('/api/runs', { ...auth, host: `evil.example:${view.port}` })).status, 421);
    assert.equal((await raw('/', { host: 'evil.example' })).status, 421);
    assert.equal((await raw('/?token=nope')).status, 401);
    assert.equal((await raw('/api/runs', auth, 'POST')).status, 405);
    for (const p of ['/keys', '/keys/', '/../keys', '/%2e%2e/keys', '/assay.db', '/demo-trust.json', '/runs', '/../package.json', '/api/reports/..%2fkeys', '/api/runs/..%2F..%2Fkeys/samples']) {
      const r = await raw(p, auth);
      assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
      assert.doesNotMatch(r.body, /PRIVATE KEY|"kty"/);
    }
    const home = await raw('/', {});
    const csp = String(home.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /https?:|\*|unsafe-eval|unsafe-inline/);
    assert.match(csp, /style-src 'self';/);
    assert.equal(home.headers['x-frame-options'], 'DENY');
    assert.doesNotMatch(home.body, /<script>(?!<\/script>)|<script(?![^>]*src=)/, 'no inline script in index.html');
    const api = await raw(`/api/runs/${fx.runA}`, auth);
    assert.doesNotMatch(api.body, new RegExp(fx.home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no file system paths of the home in API answers');
  });
});
