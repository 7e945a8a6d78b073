// The administrator signs in, creates a staff user with a role, and a weak password is refused
// beside the field with everything else typed kept. Needs the demo accounts (admin / Demo@2026),
// loaded with `zhenwu demo` into the server's database before it starts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { desktop, launchBrowser, openContext } from './support/browser.mjs';
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

test('admin creates a user; a weak password is refused beside the field, the form kept', async () => {
  const { context, report } = await openContext(browser, server.baseURL, desktop);
  try {
    const page = await context.newPage();
    await page.goto(url('/login'));
    await page.fill('#login', 'admin');
    await page.fill('#password', 'Demo@2026');
    await Promise.all([page.waitForURL(url('/admin')), page.click('form.form button[type=submit]')]);
    assert.match(await page.locator('main').innerText(), /系统管理员/);

    await page.click('a[href="/admin/users"]');
    await page.click('a[href="/admin/users/new"]');
    await page.fill('#login', 'e2e.clerk');
    await page.fill('#display_name', '测试窗口员');
    await page.selectOption('#role_0', 'clerk');
    await page.fill('#password', 'weakpass');
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('form.form button[type=submit]'),
    ]);
    assert.equal(refused.status(), 422);
    assert.match(await page.locator('#password-error').innerText(), /至少三类/);
    assert.equal(await page.inputValue('#login'), 'e2e.clerk');
    assert.equal(await page.inputValue('#display_name'), '测试窗口员');
    assert.equal(await page.inputValue('#role_0'), 'clerk');
    assert.equal(await page.inputValue('#password'), '', 'password fields are never re-filled');
    assert.equal(await page.getAttribute('#password', 'aria-invalid'), 'true');

    await page.fill('#password', 'Strong#2026');
    await Promise.all([
      page.waitForURL(/\/admin\/users\/\d+\?created=1$/),
      page.click('form.form button[type=submit]'),
    ]);
    assert.match(await page.locator('main').innerText(), /用户已创建/);
    await page.goto(url('/admin/users'));
    assert.match(await page.locator('table.table').innerText(), /e2e\.clerk/);
    assert.deepEqual(report.consoleErrors, [], 'console errors');
    assert.deepEqual(report.foreignRequests, [], 'requests to other hosts');
  } finally {
    await context.close();
  }
});
