// The organisation tree: an administrator adds a unit, sees a duplicate code refused beside the
// field with the form kept, moves a unit and retires one. Needs the demo tree and accounts
// (admin / Demo@2026), loaded with `zhenwu demo` before the server starts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { desktop, launchBrowser, openContext, submit } from './support/browser.mjs';
import { startDemoServer } from './support/server.mjs';

let server;
let browser;

before(async () => {
  server = await startDemoServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const url = (path) => new URL(path, server.baseURL).href;

test('admin adds a unit, a duplicate code is refused beside the field, moves and retires', async () => {
  const { context, report } = await openContext(browser, server.baseURL, desktop);
  try {
    const page = await context.newPage();
    await page.goto(url('/login'));
    await page.fill('#login', 'admin');
    await page.fill('#password', 'Demo@2026');
    await Promise.all([page.waitForURL(/\/admin/), page.click('form.form button[type=submit]')]);

    // The tree, with 平政镇 and its villages.
    await page.goto(url('/admin/org'));
    assert.match(await page.locator('main').innerText(), /平政镇/);
    await page.click('li[data-code="PZ"] > details > summary a.org-add');
    await page.waitForURL(/\/admin\/org\/new\?parent=\d+$/);

    // Add a village.
    await page.selectOption('#kind', 'village');
    await page.fill('#name', '测试新村');
    await page.fill('#code', 'e2e-c01');
    await Promise.all([
      page.waitForURL(/\/admin\/org\/\d+\?done=created$/),
      page.click('form.form button[type=submit]'),
    ]);
    const newUnitUrl = page.url();
    const newUnitId = new URL(newUnitUrl).pathname.split('/').pop();
    assert.match(await page.locator('h1').innerText(), /测试新村/);
    assert.match(await page.locator('main').innerText(), /E2E-C01/);

    // A duplicate code: 422, the message beside the field, everything typed kept.
    await page.goto(url('/admin/org'));
    await page.click('li[data-code="PZ"] > details > summary a.org-add');
    await page.selectOption('#kind', 'village');
    await page.fill('#name', '重复编码村');
    await page.fill('#code', 'PZ-C01');
    await page.fill('#division_code', '450981106201');
    const refused = await submit(page, 'form.form button[type=submit]');
    assert.equal(refused.status(), 422);
    assert.match(await page.locator('#code-error').innerText(), /PZ-C01/);
    assert.match((await page.getAttribute('#code', 'aria-describedby')) ?? '', /code-error/);
    assert.equal(await page.getAttribute('#code', 'aria-invalid'), 'true');
    assert.equal(await page.inputValue('#name'), '重复编码村');
    assert.equal(await page.inputValue('#code'), 'PZ-C01');
    assert.equal(await page.inputValue('#division_code'), '450981106201');
    assert.equal(await page.inputValue('#kind'), 'village');

    // Move a village window of 示例一村 under the new village.
    await page.goto(url('/admin/org'));
    // Villages start collapsed: follow the window's link rather than clicking it.
    const windowHref = await page
      .locator('li[data-code="PZ-C01-W01"] a[href^="/admin/org/"]')
      .first()
      .getAttribute('href');
    await page.goto(url(windowHref));
    await page.selectOption('#parent_id', newUnitId);
    await Promise.all([
      page.waitForURL(/\?done=moved$/),
      page.click('form[action$="/move"] button[type=submit]'),
    ]);
    assert.match(await page.locator('.breadcrumb').innerText(), /测试新村/);

    // Retire the new village: it and the window under it are shown retired.
    await page.goto(newUnitUrl.replace(/\?.*$/, ''));
    await Promise.all([
      page.waitForURL(/\?done=retired$/),
      page.click('form[action$="/retire"] button[type=submit]'),
    ]);
    assert.match(await page.locator('h1').innerText(), /已撤销/);
    await page.goto(url('/admin/org'));
    assert.equal(await page.locator('li.is-retired[data-code="E2E-C01"]').count(), 1);
    assert.equal(await page.locator('li.is-retired[data-code="PZ-C01-W01"]').count(), 1);

    assert.deepEqual(report.consoleErrors, [], 'console errors');
    assert.deepEqual(report.foreignRequests, [], 'requests to other hosts');
  } finally {
    await context.close();
  }
});
