import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Shop } from '../src/createShop.js';
import type { ShopClient } from './support/shopClient.js';
import { startShop } from './support/startShop.js';

const chromiumPath = '/usr/bin/chromium';
const artifacts = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts/dashboard');
const token = 'e2e-dashboard-token-0123456789';

function chromiumAvailable(): boolean {
  if (existsSync(chromiumPath)) return true;
  const message = `${chromiumPath} is missing (apt-get install chromium)`;
  if (process.env.TIDEMARK_REQUIRE_SERVICES === '1') throw new Error(`${message} and TIDEMARK_REQUIRE_SERVICES=1`);
  console.warn(`skipping: ${message}`);
  return false;
}

/**
 * The dashboard in real headless Chromium, mounted by the real shop on a temp directory: the
 * events made over HTTP are found and opened, a projection's lag shows, a rebuild refused
 * without the token runs with it and is watched to the end, and event data holding a script
 * tag is shown as text. Assertions are on the DOM; screenshots go to test-artifacts/dashboard.
 */
describe.skipIf(!chromiumAvailable())('dashboard in the browser', () => {
  let dataDir: string;
  let shop: Shop;
  let client: ShopClient;
  let url: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'tidemark-dashboard-e2e-'));
    ({ shop, client, url } = await startShop({ config: { dataDir, dashboardToken: token } }));
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await shop?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const projectionRow = (name: string) => page.locator(`tr[data-projection="${name}"]`);

  it('shows the events made over HTTP, their envelope, the lag, and a rebuild that needs the token', async () => {
    // The balances projector is stopped, so the events below are its lag until a rebuild catches it up.
    const balances = shop.readModels.projectors.find((p) => p.name === 'shop.account_balances');
    await balances?.stop();
    expect((await client.post('/accounts', { accountId: 'e2e-ada', owner: 'Ada Lovelace', initialDeposit: 1000 })).status).toBe(201);
    expect((await client.post('/accounts/e2e-ada/deposits', { amount: 250 })).status).toBe(200);
    const script = '<script>window.__injected = true</script><b>bold</b>';
    expect((await client.post('/accounts', { accountId: 'e2e-xss', owner: script, initialDeposit: 0 })).status).toBe(201);

    // The log, filtered by type: both openings, newest first.
    await page.goto(`${url}/#/events?type=bank.account.opened`);
    const rows = page.locator('table.events tbody tr[data-event-id]');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.locator('td:nth-child(3)').allTextContents()).toEqual(['account-e2e-xss', 'account-e2e-ada']);
    await shot('events');

    // One event: its envelope, and its data with the script tag as text, not as markup.
    await rows.nth(0).locator('a.event-link').click();
    await page.locator('#event-data').waitFor();
    expect(await page.locator('#event-type').textContent()).toBe('bank.account.opened');
    expect(await page.locator('#event-data').textContent()).toContain(script);
    expect(await page.locator('#main script, #main b').count()).toBe(0);
    // Evaluated as text in the page: the test's own compilation has no DOM types.
    expect(await page.evaluate('typeof window.__injected')).toBe('undefined');
    await shot('event');

    // The lag of the stopped projector: its three events.
    await page.goto(`${url}/#/projections`);
    const row = projectionRow('shop.account_balances');
    await expect.poll(() => row.locator('.lag-events').textContent()).toBe('3');
    await shot('projections-lag');

    // Without the token the rebuild is refused, on the page and over HTTP.
    await row.locator('button.rebuild-button').click();
    await expect.poll(() => page.locator('#toast').textContent()).toContain('refused (401)');
    const refused = await client.post('/api/projections/shop.account_balances/rebuild');
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');
    const wrong = await client.post('/api/projections/shop.account_balances/rebuild', undefined, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(403);
    expect(await row.locator('.rebuild-phase').count()).toBe(0);

    // With the token it runs, and the page follows it to the end: the lag is gone.
    await page.fill('#token', token);
    await page.press('#token', 'Enter');
    await row.locator('button.rebuild-button').click();
    await expect.poll(() => row.locator('.rebuild-phase').textContent(), { timeout: 20_000 }).toBe('done');
    await expect.poll(() => row.locator('.lag-events').textContent(), { timeout: 10_000 }).toBe('0');
    expect(await row.locator('.checkpoint').textContent()).toBe('3');
    await shot('projections-rebuilt');
  });
});
