/**
 * Screenshots of the web UI's main screens for the README (docs/screenshots/*.png), in Debian's
 * Chromium: `assay view` on fixture data made by real runs against the simulated target
 * (test/view-fixture.ts), and the registry's screens on `assay server` with data made through its
 * API (test/view-registry-fixture.ts).
 *
 *   npm run build && npm run screenshots
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BROWSER, CHROMIUM_ARGS, makeViewFixture, startView } from '../test/view-fixture.js';
import { ROOT } from '../test/helpers.js';
import { makeRegistryUiFixture } from '../test/view-registry-fixture.js';

const out = join(ROOT, 'docs/screenshots');
mkdirSync(out, { recursive: true });
const fx = await makeViewFixture();
const view = await startView(fx);
const browser = await chromium.launch({ executablePath: BROWSER, args: CHROMIUM_ARGS, headless: true });
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${view.url}?token=${view.token}`);
  const shots: [string, string, string][] = [
    ['runs', '', '[data-testid=runs-table] tbody tr'],
    ['run', `run/${fx.runA}`, 'div.plot svg'],
    ['samples', `run/${fx.runA}/samples`, '[data-testid=sample-row]'],
    ['sample-hostile', `run/${fx.hostileRun}/sample/h1%231`, '[data-testid=sample-output]'],
    ['compare', `compare/${fx.runA}/${fx.runB}`, 'div.plot svg'],
    ['verdict', `verdict/${fx.runA}`, 'div.plot svg'],
    ['report-verified', `report/${fx.runA}.report.json`, '[data-testid=checks]'],
    ['report-tampered', `report/${fx.tamperedReport}`, '[data-testid=checks]'],
    ['log', 'log', '[data-testid=entries]'],
  ];
  for (const [name, hash, ready] of shots) {
    await page.goto(`${view.url}#/${hash}`);
    await page.waitForSelector(ready);
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
    process.stdout.write(`docs/screenshots/${name}.png\n`);
  }
  // The registry's screens (`assay server`, /ui/): public, then signed in as the tester and the agency.
  const reg = await makeRegistryUiFixture();
  try {
    const shoot = async (p: typeof page, name: string, hash: string, ready: string) => {
      await p.goto(`${reg.run.baseUrl}/ui/#/${hash}`);
      await p.waitForSelector(ready);
      await p.screenshot({ path: join(out, `${name}.png`), fullPage: false });
      process.stdout.write(`docs/screenshots/${name}.png\n`);
    };
    const as = async (who: { email: string; password: string }) => {
      const p = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      await p.goto(`${reg.run.baseUrl}/ui/#/signin`);
      await p.fill('[data-testid=email]', who.email);
      await p.fill('[data-testid=password]', who.password);
      await p.click('button[type=submit]');
      await p.waitForSelector('[data-testid=memberships] li');
      return p;
    };
    const pub = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await shoot(pub, 'registry-public', '', 'div.plot svg');
    await shoot(pub, 'registry-model-results', `model/${reg.w.modelId}`, '[data-testid=result-metrics]');
    const tester = await as(reg.w.testerA);
    await shoot(tester, 'registry-findings', 'findings?scope=mine', '[data-testid=findings] [data-testid=countdown]');
    await shoot(tester, 'registry-finding', `finding/${reg.f.hostile.id}`, '[data-testid=finding-description]');
    await shoot(await as(reg.w.developer), 'registry-obligations', 'obligations', '[data-testid=obligations] tbody tr');
    await shoot(await as(reg.w.agency), 'registry-inbox', 'inbox', '[data-testid=embargo-countdown]');
  } finally {
    await reg.close();
  }
} finally {
  await browser.close();
  await view.stop();
  rmSync(fx.home, { recursive: true, force: true });
}
