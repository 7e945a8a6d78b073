// A villager on a cheap phone (360×740): finds a service in the catalogue, applies online with a
// photo of a document, gets an ID-card digit wrong (the page comes back with everything typed and
// the file kept), corrects it, sees the receipt (回执) and, in another browser, tracks the case
// with the number and the phone's last four digits. Also: large-text mode keeps the pages within
// the screen, and tracking works without JavaScript. Needs the demo data (`zhenwu demo`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openContext, phone, submit } from './support/browser.mjs';
import { startDemoServer } from './support/server.mjs';

let server;
let browser;
const state = {};

before(async () => {
  server = await startDemoServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const url = (path) => new URL(path, server.baseURL).href;

// A small valid PDF, as a scanner app would produce (the server judges files by their bytes).
const pdf = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');

async function fitsScreen(page) {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen at ${page.url()}`);
}

test('a villager applies online on a phone, fixes a mistake, keeps the file, gets a receipt', async () => {
  const { context, report } = await openContext(browser, server.baseURL, phone);
  try {
    const page = await context.newPage();
    await page.goto(url('/services'));
    await fitsScreen(page);
    assert.match(await page.locator('h1').innerText(), /办事指南/);

    // Search, then open the first service that can be applied for online.
    await page.fill('#q', '申请');
    await Promise.all([page.waitForURL(/\/services\?/), page.click('.svc-filter button[type=submit]')]);
    const online = page.locator('.svc-item', { has: page.locator('.way-online') }).first();
    await online.locator('a.svc-name').click();
    await page.waitForURL(/\/services\/[^/]+$/);
    await fitsScreen(page);
    state.serviceName = (await page.locator('h1').innerText()).trim();
    await Promise.all([page.waitForURL(/\/apply$/), page.click('a.svc-apply')]);
    await fitsScreen(page);

    // The form: a wrong check digit in the ID card, a photo for every material.
    await page.fill('#name', '黄二妹');
    await page.fill('#id_card', '450981199003071230');
    await page.fill('#phone', '13812345678');
    const village = page.locator('#village_id option').nth(1);
    await page.selectOption('#village_id', await village.getAttribute('value'));
    await page.fill('#address', '示例一村 3 组 12 号');
    await page.fill('#description', '家里收入低，申请帮助');
    const inputs = page.locator('input[type=file]');
    const count = await inputs.count();
    for (let i = 0; i < count; i++) {
      await inputs.nth(i).setInputFiles({ name: `材料${i + 1}.pdf`, mimeType: 'application/pdf', buffer: pdf });
    }
    const refused = await submit(page, '#apply-submit');
    assert.equal(refused.status(), 422);
    await fitsScreen(page);
    assert.match(await page.locator('#id_card-error').innerText(), /\S/);
    assert.equal(await page.inputValue('#name'), '黄二妹');
    assert.equal(await page.inputValue('#phone'), '13812345678');
    assert.equal(await page.inputValue('#description'), '家里收入低，申请帮助');
    assert.equal(await page.locator('.kept-file').count(), count);
    assert.match(await page.locator('.kept-file').first().innerText(), /已上传：材料1\.pdf/);

    // Corrected; the files are not chosen again.
    await page.fill('#id_card', '450981199003071237');
    const sent = await submit(page, '#apply-submit');
    assert.equal(sent.status(), 303);
    await page.waitForURL(/\/cases\/[A-Z0-9-]+\/receipt$/);
    await fitsScreen(page);
    state.number = (await page.locator('#case-number').innerText()).trim();
    assert.match(state.number, /^[A-Z0-9-]+-\d{8}-\d{4,}$/);
    const receipt = await page.locator('.svc-receipt').innerText();
    assert.match(receipt, new RegExp(state.serviceName));
    assert.match(receipt, /黄\*\*/);
    assert.match(receipt, /138\*\*\*\*5678/);
    assert.match(receipt, /材料1\.pdf/);
    assert.doesNotMatch(receipt, /黄二妹|13812345678/);

    // Printed: only the receipt, no navigation or buttons.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.site-nav').isVisible(), false);
    assert.equal(await page.locator('.js-print').isVisible(), false);
    assert.equal(await page.locator('#case-number').isVisible(), true);
    await page.emulateMedia({ media: 'screen' });

    assert.deepEqual(report.consoleErrors, []);
    assert.deepEqual(report.failedRequests, []);
    assert.deepEqual(report.foreignRequests, []);
  } finally {
    await context.close();
  }
});

test('the case is tracked in another browser with the number and the last four digits', async () => {
  assert.ok(state.number, 'the application test ran first');
  const { context, report } = await openContext(browser, server.baseURL, phone);
  try {
    const page = await context.newPage();
    await page.goto(url('/track'));
    await fitsScreen(page);
    await page.fill('#number', state.number);
    await page.fill('#phone4', '1234');
    const wrong = await submit(page, '#track-submit');
    assert.equal(wrong.status(), 422);
    assert.match(await page.locator('.form-summary').innerText(), /不正确/);

    await page.fill('#phone4', '5678');
    await Promise.all([page.waitForURL(new RegExp(`/track/${state.number}$`)), page.click('#track-submit')]);
    await fitsScreen(page);
    const text = await page.locator('main').innerText();
    assert.match(text, /待受理/);
    assert.match(text, new RegExp(state.serviceName));
    assert.match(text, /办理过程/);

    // Large-text mode still fits a 360-px screen.
    await page.click('#text-size-toggle');
    assert.equal(await page.evaluate(() => document.documentElement.classList.contains('text-large')), true);
    await page.reload();
    await fitsScreen(page);

    assert.deepEqual(report.consoleErrors, []);
    assert.deepEqual(report.failedRequests, []);
    assert.deepEqual(report.foreignRequests, []);
  } finally {
    await context.close();
  }
});

test('tracking works without JavaScript', async () => {
  assert.ok(state.number, 'the application test ran first');
  const { context } = await openContext(browser, server.baseURL, { ...phone, javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(url(`/track?number=${state.number}`));
    assert.equal(await page.inputValue('#number'), state.number);
    await page.fill('#phone4', '5678');
    await Promise.all([page.waitForURL(new RegExp(`/track/${state.number}$`)), page.click('#track-submit')]);
    assert.match(await page.locator('main').innerText(), /待受理/);
    await page.click('text=查看、打印回执');
    await page.waitForURL(/\/receipt$/);
    assert.equal((await page.locator('#case-number').innerText()).trim(), state.number);
  } finally {
    await context.close();
  }
});
