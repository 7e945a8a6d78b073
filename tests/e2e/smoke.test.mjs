// The public home page on a phone and a PC, the large-text switch with and without JavaScript,
// and the 404 page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { desktop, launchBrowser, openContext, phone } from './support/browser.mjs';
import { startServer } from './support/server.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const url = (path) => new URL(path, server.baseURL).href;
const bodyFontSize = (page) =>
  page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
const isLarge = async (page) => (await page.locator('html.text-large').count()) === 1;

async function textCookie(context) {
  return (await context.cookies(server.baseURL)).find((cookie) => cookie.name === 'zw_text');
}

function assertClean(report) {
  assert.deepEqual(report.consoleErrors, [], 'console errors');
  assert.deepEqual(report.failedRequests, [], 'failed requests');
  assert.deepEqual(report.foreignRequests, [], 'requests to other hosts');
}

for (const [name, device] of [['phone', phone], ['desktop', desktop]]) {
  test(`home page on a ${name}: 200, titled 平政镇, only the server's own resources`, async () => {
    const { context, report } = await openContext(browser, server.baseURL, device);
    try {
      const page = await context.newPage();
      const response = await page.goto(url('/'));
      assert.equal(response.status(), 200);
      assert.match(response.headers()['content-type'], /^text\/html/);
      assert.match(await page.title(), /平政镇/);
      assert.match((await page.locator('html').getAttribute('lang')) ?? '', /^zh/);
      await page.waitForLoadState('networkidle');
      assertClean(report);
    } finally {
      await context.close();
    }
  });
}

test('the large-text switch enlarges the text and stays on after a reload', async () => {
  const { context, report } = await openContext(browser, server.baseURL, phone);
  try {
    const page = await context.newPage();
    await page.goto(url('/'));
    assert.equal(await isLarge(page), false, 'text starts at the normal size');
    const normalSize = await bodyFontSize(page);

    await page.locator('#text-size-toggle').click();
    await page.locator('html.text-large').waitFor({ state: 'attached', timeout: 5_000 });
    await page.waitForLoadState('load');
    const largeSize = await bodyFontSize(page);
    assert.ok(largeSize > normalSize, `font size ${largeSize}px > ${normalSize}px`);
    assert.equal((await textCookie(context))?.value, 'large');

    await page.reload();
    assert.equal(await isLarge(page), true, 'still large after a reload');
    assert.equal(await bodyFontSize(page), largeSize);
    await page.waitForLoadState('networkidle');
    assertClean(report);
  } finally {
    await context.close();
  }
});

test('the large-text switch works with JavaScript disabled', async () => {
  const { context, report } = await openContext(browser, server.baseURL, {
    ...phone,
    javaScriptEnabled: false,
  });
  try {
    const page = await context.newPage();
    const response = await page.goto(url('/'));
    assert.equal(response.status(), 200);
    assert.equal(await isLarge(page), false);

    const toggle = page.locator('#text-size-toggle');
    const href = new URL(await toggle.getAttribute('href'), server.baseURL);
    assert.equal(href.pathname, '/settings/text-size');
    assert.equal(href.searchParams.get('size'), 'large');
    assert.equal(href.searchParams.get('back'), '/');

    await toggle.click();
    await page.waitForURL(url('/'));
    assert.equal(await isLarge(page), true, 'the page comes back large');
    const cookie = await textCookie(context);
    assert.equal(cookie?.value, 'large');
    assert.ok(cookie.expires > Date.now() / 1000 + 30 * 24 * 3600, 'the choice is remembered');
    assertClean(report);
  } finally {
    await context.close();
  }
});

test('/settings/text-size sets the cookie and redirects back, never to another site', async () => {
  const response = await fetch(url('/settings/text-size?size=large&back=/'), {
    redirect: 'manual',
  });
  assert.ok([302, 303].includes(response.status), `status ${response.status}`);
  assert.equal(new URL(response.headers.get('location'), server.baseURL).href, url('/'));
  assert.match(response.headers.get('set-cookie') ?? '', /(^|;\s*)zw_text=large/);

  for (const back of ['https://evil.example/', '//evil.example/', '/\\evil.example/']) {
    const query = new URLSearchParams({ size: 'large', back });
    const redirect = await fetch(url(`/settings/text-size?${query}`), { redirect: 'manual' });
    const target = new URL(redirect.headers.get('location') ?? '/', server.baseURL);
    assert.equal(target.origin, new URL(server.baseURL).origin, `back=${back}`);
  }
});

test('an unknown address shows the Chinese 404 page', async () => {
  const response = await fetch(url('/no-such-page'));
  assert.equal(response.status, 404);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await response.text(), /页面不存在|找不到/);

  const { context } = await openContext(browser, server.baseURL, phone);
  try {
    const page = await context.newPage();
    const pageResponse = await page.goto(url('/no-such-page'));
    assert.equal(pageResponse.status(), 404);
    assert.match(await page.locator('body').innerText(), /页面不存在|找不到/);
  } finally {
    await context.close();
  }
});
