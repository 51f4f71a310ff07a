import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runScenario, type World } from '../src/registry/scenario.js';
import { requireService } from './helpers.js';
import { makeReport, startRegistry, testStore, type Running } from './registry-fixture.js';
import { BROWSER, CHROMIUM_ARGS } from './view-fixture.js';

/**
 * The registry's screens as `assay server` serves them (/ui/), in Debian's Chromium, on the
 * registry scenario (accreditors, a developer, testers, an agency, a published report). SQLite.
 */
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('registry screens in a browser', { timeout: 240_000, ...requireService('Chromium', existsSync(BROWSER) || `${BROWSER} missing: apt-get install chromium`) }, () => {
  let run: Running;
  let w: World;
  let drop: () => Promise<void>;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    const ts = await testStore('sqlite');
    drop = ts.drop;
    run = await startRegistry(await ts.open());
    w = await runScenario({ baseUrl: run.baseUrl, operatorToken: run.operatorToken, makeReport });
    browser = await chromium.launch({ executablePath: BROWSER, args: CHROMIUM_ARGS, headless: true });
    page = await (await browser.newContext()).newPage();
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
    page.on('request', (r) => !r.url().startsWith(run.baseUrl) && problems.push(`outside request ${r.url()}`));
  });
  after(async () => {
    await browser?.close();
    await run?.close();
    await drop?.();
  });

  const axe = async (screen: string) => {
    await page.evaluate(axeSource);
    const r = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
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

  test('the registry serves only the bundle beside its API, under its own CSP', async () => {
    const r = await fetch(`${run.baseUrl}/ui/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    for (const p of ['/assets/../package.json', '/assets/%2e%2e/package.json', '/ui/../package.json', '/assets/nothing.js']) assert.equal((await fetch(`${run.baseUrl}${p}`)).status, 404, p);
  });
});
