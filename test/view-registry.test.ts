import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { RegistryClient } from '../src/registry/client.js';
import type { Party, World } from '../src/registry/scenario.js';
import { cli, requireService, tmp } from './helpers.js';
import type { Running } from './registry-fixture.js';
import { HOSTILE_DESCRIPTION, HOSTILE_TITLE, makeRegistryUiFixture, type RegistryUiFixture, type UiFinding } from './view-registry-fixture.js';
import { BROWSER, CHROMIUM_ARGS } from './view-fixture.js';

/**
 * The registry's screens as `assay server` serves them (/ui/), in Debian's Chromium, on the
 * registry scenario (accreditors, a developer, testers, an agency, a published report), then
 * findings, a signed verdict's obligations and an agency's pre-notification made through the same
 * HTTP API by the parties they belong to (real time: the countdowns count against the real clock).
 * One server and one browser for the file; one browser context per signed-in party. SQLite.
 */
type PageGlobals = { document: { querySelector(s: string): { textContent: string | null } | null } };
/** Seconds in a countdown's text ("in 89 d 23 h 59 min 58 s"). */
const seconds = (t: string): number => {
  const m = /^in (?:(\d+) d )?(?:(\d+) h )?(?:(\d+) min )?(\d+) s$/.exec(t.trim());
  if (!m) throw new Error(`not a countdown: ${t}`);
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4]);
};
type Finding = UiFinding;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('registry screens in a browser', { timeout: 240_000, ...requireService('Chromium', existsSync(BROWSER) || `${BROWSER} missing: apt-get install chromium`) }, () => {
  let fx: RegistryUiFixture;
  let run: Running;
  let w: World;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let runLogs: Buffer[];
  let f: RegistryUiFixture['f'];
  let obligations: { id: string; title: string }[];

  before(async () => {
    fx = await makeRegistryUiFixture();
    ({ run, w, runLogs, f, obligations } = fx);
    browser = await chromium.launch({ executablePath: BROWSER, args: CHROMIUM_ARGS, headless: true });
    page = await watch(await browser.newContext());
  });

  /** A page whose console errors, failed responses, outside requests and dialogs are recorded. */
  const watch = async (ctx: BrowserContext): Promise<Page> => {
    const p = await ctx.newPage();
    p.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    p.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
    p.on('request', (r) => !r.url().startsWith(run.baseUrl) && problems.push(`outside request ${r.url()}`));
    p.on('dialog', (d) => {
      problems.push(`dialog ${d.message()}`);
      void d.dismiss();
    });
    return p;
  };
  /** A fresh browser context signed in through the sign-in screen as `who`. */
  const signedIn = async (who: Party): Promise<Page> => {
    const p = await watch(await browser.newContext());
    await p.goto(`${run.baseUrl}/ui/#/signin`);
    await p.fill('[data-testid=email]', who.email);
    await p.fill('[data-testid=password]', who.password);
    await p.click('button[type=submit]');
    await p.waitForSelector('[data-testid=memberships] li');
    return p;
  };
  const apiAs = (who: Party | null) => new RegistryClient(run.baseUrl, who?.client.token ?? null);
  const text = async (p: Page, sel: string) => ((await p.textContent(sel)) ?? '').trim();
  after(async () => {
    await browser?.close();
    await fx?.close();
  });

  const axe = async (screen: string, p: Page = page) => {
    await p.evaluate(axeSource);
    const r = (await p.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
    assert.deepEqual(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${screen}`);
  };

  test('public pages need no sign-in: models, published reports with a verification badge, accreditations and recognition', async () => {
    await page.goto(`${run.baseUrl}/`);
    assert.equal(new URL(page.url()).pathname, '/ui/');
    await page.waitForSelector('[data-testid=published] [data-testid=badge]');
    const badges = await page.$$eval('[data-testid=published] [data-testid=badge]', (els) => els.map((e) => e.textContent));
    assert.deepEqual(badges, ['Verified']);
    assert.equal(w.exitCode, 0);
    await page.waitForSelector('[data-testid=models] tbody tr');
    assert.ok((await page.locator('[data-testid=accreditations] tbody tr').count()) >= 1);
    await page.waitForSelector('[data-testid=recognitions] tbody tr');
    await axe('registry home');
    await page.click('[data-testid=models] tbody tr a');
    await page.waitForSelector('[data-testid=model]');
    assert.match((await page.textContent('[data-testid=model]')) ?? '', /sha256:[0-9a-f]{64}/);
    await axe('model page');
  });

  test('sign-in: a wrong password is refused; the developer sees its engagements and their states', async () => {
    await page.goto(`${run.baseUrl}/ui/#/dashboard`);
    await page.waitForSelector('[role=alert]');
    problems.length = 0; // the 401 of the signed-out dashboard is expected
    await page.goto(`${run.baseUrl}/ui/#/signin`);
    await page.fill('[data-testid=email]', w.developer.email);
    await page.fill('[data-testid=password]', 'not the password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=signin-error]');
    problems.length = 0;
    await axe('sign-in');
    await page.fill('[data-testid=password]', w.developer.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=engagements] tbody tr');
    const states = await page.$$eval('[data-testid=engagements] [data-field=state]', (els) => els.map((e) => e.textContent));
    const api = (await (await fetch(`${run.baseUrl}/api/v1/engagements`, { headers: { authorization: `Bearer ${w.developer.client.token}` } })).json()) as { items: { state: string }[] };
    assert.deepEqual(states, api.items.map((e) => e.state));
    assert.ok(states.length >= 1);
    assert.match((await page.textContent('[data-testid=memberships]')) ?? '', /developer/);
    await axe('dashboard');
    assert.deepEqual(problems, []);
  });

  test('public model page: its published results, with the verification badge and the numbers `assay stats` gives for the report\'s run', async () => {
    await page.goto(`${run.baseUrl}/ui/#/model/${w.modelId}`);
    await page.waitForSelector('[data-testid=result] [data-testid=result-metrics] tbody tr');
    const published = await apiAs(null).get<{ items: { id: string; modelId: string }[] }>('/api/v1/reports', { model: w.modelId });
    assert.deepEqual(await page.$$eval('[data-testid=result]', (els) => els.map((e) => e.getAttribute('data-report'))), published.items.map((r) => r.id));
    assert.deepEqual(published.items.map((r) => r.modelId), [w.modelId]);
    assert.equal(await text(page, '[data-testid=result] [data-testid=badge]'), 'Verified');
    // The numbers are the signed statement's, which are what `assay stats` computes from the run log.
    const logFile = join(tmp('assay-view-reg-'), 'run.jsonl');
    writeFileSync(logFile, runLogs[0]!);
    const stats = JSON.parse((await cli(['stats', logFile, '--json'])).stdout) as { metrics: { name: string; mean: number; n: number; interval: { lo: number; hi: number } }[] };
    assert.ok(stats.metrics.length >= 1);
    for (const m of stats.metrics) {
      const row = page.locator(`[data-testid=result-metrics] tr[data-metric="${m.name}"]`);
      assert.equal(await row.locator('[data-field=mean]').textContent(), m.mean.toFixed(3), m.name);
      assert.equal(await row.locator('[data-field=interval]').textContent(), `[${m.interval.lo.toFixed(3)}, ${m.interval.hi.toFixed(3)}]`, m.name);
      assert.equal(await row.locator('[data-field=n]').textContent(), String(m.n), m.name);
    }
    assert.ok((await page.locator('[data-testid=result] div.plot svg circle').count()) >= stats.metrics.length);
    await axe('public model results');
    // The recognition graph on the public home: one arrow per agreement (Plot's arrow mark: one path each).
    await page.goto(`${run.baseUrl}/ui/#/`);
    await page.waitForSelector('[data-testid=recognitions] tbody tr');
    const recs = await apiAs(null).get<{ items: unknown[] }>('/api/v1/recognitions');
    await page.waitForSelector('div.plot svg g.recognition-edge path');
    assert.ok(recs.items.length >= 2, 'the scenario\'s mutual agreement is two edges');
    assert.equal(await page.locator('div.plot svg g.recognition-edge path').count(), recs.items.length);
  });

  test('findings, signed out: only published ones, with their publication; an embargoed identifier shows only that it exists', async () => {
    const p = await watch(await browser.newContext());
    await p.goto(`${run.baseUrl}/ui/#/findings`);
    await p.waitForSelector('[data-testid=findings] tbody tr');
    const pub = await apiAs(null).get<{ items: Finding[] }>('/api/v1/findings');
    assert.deepEqual(pub.items.map((x) => x.id), [f.published.id]);
    assert.deepEqual(await p.$$eval('[data-testid=findings] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-finding'))), [f.published.id]);
    assert.match(await text(p, '[data-testid=findings] [data-field=disclosure]'), new RegExp(`^published ${pub.items[0]!.clock.publishedAt!.slice(0, 10)}$`));
    assert.equal(await p.locator('[data-testid=findings-scope]').count(), 0, 'no "my organisations" scope when signed out');
    await p.goto(`${run.baseUrl}/ui/#/finding/${f.hostile.id}`);
    await p.waitForSelector('[data-testid=embargoed]');
    assert.equal(await p.locator('text=leaks the prompt').count(), 0);
    await axe('findings (public)', p);
    await p.context().close();
    // The only failures: /api/v1/me answering 401 to a signed-out visitor.
    assert.deepEqual(problems.filter((x) => !/401|status of 401/.test(x)), []);
    problems.length = 0;
  });

  test('findings, as the reporting tester: the live disclosure countdown counts down to the API\'s deadline; filters filter; hostile text stays text', async () => {
    const p = await signedIn(w.testerA);
    await p.goto(`${run.baseUrl}/ui/#/findings?scope=mine`);
    await p.waitForSelector(`[data-testid=findings] tr[data-finding="${f.low.id}"]`);
    const mine = await apiAs(w.testerA).get<{ items: Finding[] }>('/api/v1/findings', { mine: true });
    assert.equal(mine.items.length, 4);
    assert.equal(await text(p, '[data-testid=findings-count]'), `4 of 4 findings`);
    assert.deepEqual(new Set(await p.$$eval('[data-testid=findings] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-finding')))), new Set(mine.items.map((x) => x.id)));
    // The countdown: what the API's deadline minus now gives, and one second later, less.
    const row = p.locator(`[data-testid=findings] tr[data-finding="${f.low.id}"] [data-testid=countdown]`);
    const due = Date.parse(mine.items.find((x) => x.id === f.low.id)!.clock.disclosureAt!);
    const s1 = seconds((await row.textContent()) ?? '');
    assert.ok(Math.abs(s1 - (due - Date.now()) / 1000) <= 3, `${s1} s vs ${(due - Date.now()) / 1000} s`);
    assert.ok(s1 > 89 * 86400 && s1 <= 90 * 86400, 'the standard 90-day clock');
    await p.waitForFunction(([sel, before]) => {
      const m = /(\d+) s$/.exec((globalThis as unknown as PageGlobals).document.querySelector(sel as string)?.textContent ?? '');
      return m !== null && (globalThis as unknown as PageGlobals).document.querySelector(sel as string)!.textContent !== before;
    }, [`[data-finding="${f.low.id}"] [data-testid=countdown]`, await row.textContent()] as const);
    const s2 = seconds((await row.textContent()) ?? '');
    assert.ok(s2 < s1 && s2 >= s1 - 5, `counted down: ${s1} → ${s2}`);
    // The in-the-wild finding runs on the 7-day clock.
    const wild = seconds((await p.locator(`tr[data-finding="${f.wild.id}"] [data-testid=countdown]`).textContent()) ?? '');
    assert.ok(wild > 6 * 86400 && wild <= 7 * 86400, `in the wild: ${wild} s`);
    // Filters: state (server side), severity and title text (client side), each against the API's answer.
    await p.selectOption('[data-testid=findings-state]', 'acknowledged');
    await p.waitForSelector('[data-testid=findings-count]:has-text("1 of 1 findings")');
    assert.deepEqual(await p.$$eval('[data-testid=findings] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-finding'))), (await apiAs(w.testerA).get<{ items: Finding[] }>('/api/v1/findings', { mine: true, state: 'acknowledged' })).items.map((x) => x.id));
    await p.selectOption('[data-testid=findings-state]', '');
    await p.selectOption('[data-testid=findings-severity]', 'moderate');
    await p.waitForSelector(`[data-testid=findings-count]:has-text("${mine.items.filter((x) => x.severity === 'moderate').length} of 4 findings")`);
    assert.deepEqual(await p.$$eval('[data-testid=findings] [data-field=severity]', (tds) => [...new Set(tds.map((t) => t.textContent?.replace(/in the wild|restricted/g, '')))]), ['moderate']);
    await p.selectOption('[data-testid=findings-severity]', '');
    await p.fill('[data-testid=findings-search]', 'role-play');
    await p.press('[data-testid=findings-search]', 'Enter');
    await p.waitForSelector('[data-testid=findings-count]:has-text("1 of 4 findings")');
    await p.fill('[data-testid=findings-search]', '');
    await p.press('[data-testid=findings-search]', 'Enter');
    await p.waitForSelector('[data-testid=findings-count]:has-text("4 of 4 findings")');
    // Hostile title in the list: the text itself, no element made from it.
    assert.equal(await text(p, `tr[data-finding="${f.hostile.id}"] [data-field=title]`), HOSTILE_TITLE);
    await axe('findings', p);
    await p.click(`a[href="#/finding/${f.hostile.id}"]`);
    await p.waitForSelector('[data-testid=finding-description]');
    assert.equal(await text(p, 'h1'), HOSTILE_TITLE);
    assert.equal(await text(p, '[data-testid=finding-description]'), HOSTILE_DESCRIPTION);
    assert.equal(await text(p, '[data-testid=finding-reproduction]'), '<script>window.__pwned="repro"</script>');
    assert.match(await text(p, '[data-testid=finding-evidence]'), /javascript:window\.__pwned='evidence'/);
    assert.equal(await p.locator('main img, main script, main iframe, main a[href^="javascript:"]').count(), 0);
    for (const a of await p.locator('a').all()) assert.doesNotMatch((await a.getAttribute('href')) ?? '', /^javascript:/i);
    assert.equal(await text(p, '[data-testid=finding-facts] [data-field=state]'), 'acknowledged');
    assert.equal(await p.getAttribute('[data-testid=deadlines] [data-testid=countdown]', 'datetime'), f.hostile.clock.disclosureAt);
    assert.ok((await p.locator('[data-testid=timeline] tbody tr').count()) >= 2);
    await p.waitForTimeout(300);
    assert.equal(await p.evaluate('window.__pwned'), undefined);
    await axe('finding', p);
    await p.context().close();
    assert.deepEqual(problems, []);
  });

  test('obligations, as the developer: the verdict\'s two obligations with their deadlines; the state filter filters', async () => {
    const p = await signedIn(w.developer);
    await p.goto(`${run.baseUrl}/ui/#/obligations`);
    await p.waitForSelector('[data-testid=obligations] tbody tr');
    const api = await apiAs(w.developer).get<{ items: { id: string; title: string; state: string; deadline: string }[] }>('/api/v1/obligations');
    assert.equal(api.items.length, 2);
    assert.equal(await text(p, '[data-testid=obligations-count]'), '2 obligations');
    assert.deepEqual(await p.$$eval('[data-testid=obligations] tbody tr', (trs) => trs.map((t) => [t.getAttribute('data-obligation'), t.querySelector('[data-field=title]')?.textContent, t.querySelector('[data-field=state]')?.textContent])), api.items.map((o) => [o.id, o.title, o.state]));
    const notify = api.items.find((o) => o.title.includes('within 14 days'))!;
    const left = seconds((await p.locator(`tr[data-obligation="${notify.id}"] [data-testid=countdown]`).textContent()) ?? '');
    assert.ok(Math.abs(left - (Date.parse(notify.deadline) - Date.now()) / 1000) <= 3);
    await p.selectOption('[data-testid=obligations-state]', 'fulfilled');
    await p.waitForSelector('[data-testid=obligations-count]:has-text("1 obligations")');
    assert.deepEqual(await p.$$eval('[data-testid=obligations] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-obligation'))), [obligations[0]!.id]);
    await p.selectOption('[data-testid=obligations-state]', 'open');
    await p.waitForSelector('[data-testid=obligations-count]:has-text("1 obligations")');
    assert.deepEqual(await p.$$eval('[data-testid=obligations] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-obligation'))), [obligations[1]!.id]);
    // The filter lives in the URL: the box shows checked once the hash has changed (asynchronously), so click and wait.
    await p.click('[data-testid=obligations-overdue]');
    await p.waitForSelector('[data-testid=obligations-overdue]:checked');
    await p.waitForSelector('[data-testid=obligations-count]:has-text("0 obligations")');
    await axe('obligations', p);
    // The dashboard names the engagement and the model in scope.
    await p.goto(`${run.baseUrl}/ui/#/dashboard`);
    await p.waitForSelector('[data-testid=in-scope] li');
    assert.equal(await p.locator(`[data-testid=in-scope] a[href="#/model/${w.modelId}"]`).count(), 1);
    await p.context().close();
    assert.deepEqual(problems, []);
  });

  test('an agency\'s inbox: the embargoed pre-notification with its countdown; unread filter; marking read and acknowledging the notice', async () => {
    const p = await signedIn(w.agency);
    await p.goto(`${run.baseUrl}/ui/#/inbox`);
    await p.waitForSelector('[data-testid=inbox] tbody tr');
    const api = await apiAs(w.agency).get<{ items: { id: string; kind: string; readAt: string | null; data: { finding?: string; embargoUntil?: string } }[] }>(`/api/v1/orgs/${w.agency.orgId}/inbox`);
    assert.deepEqual(await p.$$eval('[data-testid=inbox] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-message'))), api.items.map((m) => m.id));
    const pre = api.items.filter((m) => m.kind === 'finding.prenotified');
    assert.deepEqual(pre.map((m) => m.data.finding), [f.wild.id], 'pre-notified of the in-the-wild GB finding only');
    const embargo = seconds((await p.locator(`tr[data-message="${pre[0]!.id}"] [data-testid=embargo-countdown]`).textContent()) ?? '');
    assert.ok(Math.abs(embargo - (Date.parse(pre[0]!.data.embargoUntil!) - Date.now()) / 1000) <= 3);
    const unread = api.items.filter((m) => !m.readAt).length;
    assert.equal(await text(p, '[data-testid=inbox-count]'), `${api.items.length} messages, ${unread} unread`);
    await axe('inbox', p);
    await p.click(`tr[data-message="${pre[0]!.id}"] [data-testid=mark-read]`);
    await p.waitForSelector(`[data-testid=inbox-count]:has-text("${unread - 1} unread")`);
    assert.notEqual((await apiAs(w.agency).get<{ items: { id: string; readAt: string | null }[] }>(`/api/v1/orgs/${w.agency.orgId}/inbox`)).items.find((m) => m.id === pre[0]!.id)!.readAt, null);
    // The filter lives in the URL: the box shows checked once the hash has changed (asynchronously), so click and wait.
    await p.click('[data-testid=inbox-unread]');
    await p.waitForSelector('[data-testid=inbox-unread]:checked');
    await p.waitForSelector(`[data-testid=inbox-count]:has-text("${unread - 1} messages, ${unread - 1} unread")`);
    // The embargoed finding, as the pre-notified agency sees it; it acknowledges the notice (after a reload: the CSRF token is fetched again).
    await p.goto(`${run.baseUrl}/ui/#/finding/${f.wild.id}`);
    await p.reload();
    await p.waitForSelector('[data-testid=acknowledge]');
    await p.click('[data-testid=acknowledge]');
    await p.waitForSelector('[data-testid=agencies] li:has-text("acknowledged")');
    const seen = await apiAs(w.agency).get<{ agencies: { orgId: string; acknowledgedAt: string | null }[] }>(`/api/v1/findings/${f.wild.id}`);
    assert.notEqual(seen.agencies.find((a) => a.orgId === w.agency.orgId)?.acknowledgedAt, null);
    await axe('finding (agency)', p);
    await p.context().close();
    assert.deepEqual(problems, []);
  });

  test('the registry serves only the bundle beside its API, under its own CSP', async () => {
    const r = await fetch(`${run.baseUrl}/ui/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    for (const p of ['/assets/../package.json', '/assets/%2e%2e/package.json', '/ui/../package.json', '/assets/nothing.js']) assert.equal((await fetch(`${run.baseUrl}${p}`)).status, 404, p);
  });
});
