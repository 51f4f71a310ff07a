/**
 * Screenshots of the web UI's main screens for the README (docs/screenshots/*.png), on fixture
 * data made by real runs against the simulated target (test/view-fixture.ts), in Debian's Chromium.
 *
 *   npm run build && npm run screenshots
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BROWSER, CHROMIUM_ARGS, makeViewFixture, startView } from '../test/view-fixture.js';
import { ROOT } from '../test/helpers.js';

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
} finally {
  await browser.close();
  await view.stop();
  rmSync(fx.home, { recursive: true, force: true });
}
