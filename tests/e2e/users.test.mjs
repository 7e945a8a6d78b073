// The administrator signs in, creates a staff user with a role, and a weak password is refused
// beside the field with everything else typed kept. Needs the demo accounts (admin / Demo@2026),
// loaded with `zhenwu demo` into the server's database before it starts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desktop, launchBrowser, openContext } from './support/browser.mjs';
import { repoRoot, startServer } from './support/server.mjs';

let server;
let browser;
let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zhenwu-e2e-users-'));
  const db = `sqlite:${join(dir, 'zhenwu.db')}`;
  const bin = process.env.ZHENWU_BIN ?? join(repoRoot, 'build/release/zhenwu');
  // The demo writes encrypted residents: the server must use the same data folder (people.key).
  const data = join(dir, 'data');
  execFileSync(bin, ['demo', '--config', join(repoRoot, 'zhenwu.toml'), '--db', db, '--data-dir', data], {
    cwd: dir,
    stdio: 'pipe',
  });
  server = await startServer({ args: ['--db', db, '--data-dir', data] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
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
