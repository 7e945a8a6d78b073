// The whole path of one-stop services (issue 4's Done means), in real browsers: the editor puts a
// service in the catalogue; a villager applies on a phone-sized screen; the village cadre does a
// 代办 application; the clerk asks for 补正 (一次性告知); the applicant corrects on the tracking
// page; the clerk accepts and completes; the applicant tracks with number + phone digits and rates
// it badly; the follow-up opens on the clerk's desk, the clerk closes it and the applicant sees the
// outcome. Needs the demo tree and accounts (Demo@2026), loaded with `zhenwu demo` first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { desktop, launchBrowser, openContext, phone, submit } from './support/browser.mjs';
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
const kPdf = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');
const pdf = (name) => ({ name, mimeType: 'application/pdf', buffer: kPdf });

// A valid 18-digit ID-card number (GB 11643 check digit) for a person born 1960-05-{day}.
function idCard(day, seq) {
  const base = `450981196005${String(day).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...base].reduce((s, ch, i) => s + Number(ch) * weights[i], 0);
  return base + '10X98765432'[sum % 11];
}

async function signIn(context, login) {
  const page = await context.newPage();
  await page.goto(url('/login'));
  await page.fill('#login', login);
  await page.fill('#password', 'Demo@2026');
  await Promise.all([page.waitForURL(/\/admin|\/account/), page.click('form.form button[type=submit]')]);
  return page;
}

// Nothing on the page is wider than the screen (a 360-px phone scrolls only downwards).
async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

const kPhone = '13977001234';
const kPhone4 = '1234';

test('apply, 代办, 补正, correct, accept, complete, rate badly, follow-up: the whole path', async () => {
  const staff = await openContext(browser, server.baseURL, desktop);
  const villager = await openContext(browser, server.baseURL, phone);
  try {
    // --- the editor puts a service in the catalogue (online and 代办, one required material)
    const editor = await signIn(staff.context, 'editor');
    await editor.goto(url('/admin/services/new'));
    await editor.fill('#code', 'E2E-MZ-01');
    await editor.fill('#name', '临时救助申请（测试）');
    await editor.selectOption('#unit_id', { label: '民政办' });
    await editor.selectOption('#category', '行政给付');
    await editor.fill('#statutory_days', '20');
    await editor.fill('#promised_days', '5');
    await editor.check('#online');
    await editor.check('#proxy');
    await editor.fill('#m0-name', '居民身份证');
    await editor.selectOption('#m0-form', 'copy');
    const saved = await submit(editor, '#save-service');
    assert.equal(saved.status(), 303);
    assert.match(editor.url(), /\/admin\/services\/\d+\/edit\?done=created$/);
    await staff.context.clearCookies();

    // --- a villager applies on a phone
    const v = await villager.context.newPage();
    await v.goto(url('/services/E2E-MZ-01/apply'));
    assert.ok(await fitsWidth(v), 'the application form fits a 360-px screen');
    await v.fill('#name', '黄阿婆');
    await v.fill('#id_card', idCard(12, 21));
    await v.fill('#phone', kPhone);
    await v.selectOption('#village_id', { label: '示例一村' });
    await v.fill('#address', '示例一村 2 组');
    await v.fill('#description', '家里突发困难');
    await v.setInputFiles('input[type=file]', pdf('身份证.pdf'));
    const applied = await submit(v, '#apply-submit');
    assert.equal(applied.status(), 303);
    await v.waitForURL(/\/cases\/[A-Z0-9-]+\/receipt/);
    const number = (await v.locator('#case-number').innerText()).trim();
    assert.match(number, /^PZ-\d{8}-\d{4,}$/);

    // --- the village cadre applies for another villager (代办)
    const cadre = await signIn(staff.context, 'cadre1');
    await cadre.goto(url('/desk'));
    await cadre.waitForURL(/\/desk\/proxy/);
    await cadre.click('#new-proxy');
    await cadre.click('a:has-text("临时救助申请（测试）")');
    assert.match(await cadre.locator('#apply-service').innerText(), /临时救助申请/);
    await cadre.fill('#name', '韦阿公');
    await cadre.fill('#id_card', idCard(3, 45));
    await cadre.fill('#phone', '13977005678');
    await cadre.fill('#address', '示例一村 7 组');
    // Forgetting the required material keeps everything typed.
    const missing = await submit(cadre, '#apply-submit');
    assert.equal(missing.status(), 422);
    assert.equal(await cadre.inputValue('#name'), '韦阿公');
    assert.match(await cadre.locator('.field-error').first().innerText(), /居民身份证/);
    await cadre.setInputFiles('input[type=file]', pdf('韦阿公身份证.pdf'));
    const proxied = await submit(cadre, '#apply-submit');
    assert.equal(proxied.status(), 303);
    await cadre.waitForURL(/\/desk\/cases\/PZ-\d{8}-\d+\?done=created$/);
    const proxyNumber = (await cadre.locator('#case-number').innerText()).trim();
    assert.match(await cadre.locator('#case-facts').innerText(), /村级代办（代办人：张村干）/);
    await cadre.goto(url('/desk/proxy'));
    assert.match(await cadre.locator('#proxy-cases').innerText(), new RegExp(proxyNumber));
    await staff.context.clearCookies();

    // --- the clerk sees both on the desk and asks the villager for 补正 (一次性告知)
    const clerk = await signIn(staff.context, 'clerk');
    await clerk.goto(url('/desk'));
    await clerk.waitForURL(/\/desk\/cases$/);
    const queue = await clerk.locator('#queue').innerText();
    assert.match(queue, new RegExp(number));
    assert.match(queue, new RegExp(proxyNumber));
    await clerk.fill('#q', number);
    await Promise.all([clerk.waitForURL(/q=/), clerk.click('.desk-filter button[type=submit]')]);
    await clerk.click(`a[href="/desk/cases/${number}"]`);
    assert.match(await clerk.locator('#case-facts').innerText(), /139\*\*\*\*1234/);
    await clerk.click('#details-correct > summary');
    await clerk.check('.desk-correct-item input[type=checkbox]');
    await clerk.fill('.desk-correct-item input[type=text]', '照片模糊，请重新拍摄正反面');
    await clerk.fill('#correct-note', '请补充近三个月的收入说明');
    const corrected = await submit(clerk, '#do-correct');
    assert.equal(corrected.status(), 303);
    assert.match(await clerk.locator('#case-status').innerText(), /待补正/);
    assert.match(await clerk.locator('main').innerText(), /照片模糊，请重新拍摄正反面/);

    // --- the applicant corrects on the tracking page (number + last four phone digits)
    await v.goto(url('/track'));
    await v.fill('#number', number);
    await v.fill('#phone4', kPhone4);
    await submit(v, '#track-submit');
    assert.match(await v.locator('.status-label').innerText(), /待补正/);
    const list = await v.locator('.correction-list').innerText();
    assert.match(list, /居民身份证/);
    assert.match(list, /照片模糊/);
    assert.match(list, /收入说明/);
    assert.ok(await fitsWidth(v), 'the tracking page fits a 360-px screen');
    await v.setInputFiles('.svc-correction input[type=file]', pdf('身份证-清晰.pdf'));
    const resubmitted = await submit(v, '#resubmit-submit');
    assert.ok([200, 303].includes(resubmitted.status()), `resubmit answered ${resubmitted.status()}`);
    assert.match(await v.locator('.status-label').innerText(), /待受理/);

    // --- the clerk accepts and completes
    await clerk.goto(url(`/desk/cases/${number}`));
    assert.match(await clerk.locator('#case-files').innerText(), /身份证-清晰\.pdf/);
    const accepted = await submit(clerk, '#do-accept');
    assert.equal(accepted.status(), 303);
    assert.match(await clerk.locator('#case-status').innerText(), /办理中/);
    await clerk.click('#details-complete > summary');
    await clerk.fill('#result', '已批准临时救助 800 元，三个工作日内发放');
    const completed = await submit(clerk, '#do-complete');
    assert.equal(completed.status(), 303);
    assert.match(await clerk.locator('#case-status').innerText(), /已办结/);

    // --- the applicant tracks it and rates it badly
    await v.goto(url('/track'));
    await v.fill('#number', number);
    await v.fill('#phone4', kPhone4);
    await submit(v, '#track-submit');
    assert.match(await v.locator('.status-label').innerText(), /已办结/);
    assert.match(await v.locator('main').innerText(), /已批准临时救助 800 元/);
    await v.check('#score-2');
    await v.fill('#comment', '跑了两趟，等得太久');
    const rated = await submit(v, '#rate-submit');
    assert.ok([200, 303].includes(rated.status()), `rating answered ${rated.status()}`);
    assert.match(await v.locator('.svc-rating').innerText(), /不满意/);
    assert.match(await v.locator('.svc-followup').innerText(), /回访|整改/);

    // --- the follow-up is on the clerk's desk; the clerk closes it
    await clerk.goto(url('/desk/followups'));
    const item = clerk.locator('.desk-followup', { hasText: number });
    await item.locator('textarea').fill('已上门回访，说明了审核流程，今后材料问题当场一次性告知');
    const [closed] = await Promise.all([
      clerk.waitForResponse((r) => r.request().method() === 'POST'),
      item.locator('button[type=submit]').click(),
    ]);
    assert.equal(closed.status(), 303);
    await clerk.waitForLoadState('load');
    assert.match(await clerk.locator('main').innerText(), /回访结果已保存/);

    // The leader's overview counts it.
    await staff.context.clearCookies();
    const leader = await signIn(staff.context, 'leader');
    await leader.goto(url('/desk/overview'));
    const overview = await leader.locator('#overview').innerText();
    assert.match(overview, /民政办/);
    assert.match(overview, /合计/);

    // --- the applicant sees the outcome
    await v.goto(url('/track'));
    await v.fill('#number', number);
    await v.fill('#phone4', kPhone4);
    await submit(v, '#track-submit');
    assert.match(await v.locator('.svc-followup').innerText(), /已上门回访/);

    for (const { report } of [staff, villager]) {
      assert.deepEqual(report.consoleErrors, [], 'console errors');
      assert.deepEqual(report.foreignRequests, [], 'requests to other hosts');
      // A page left quickly may abort its favicon; anything else failing is a fault.
      const failed = report.failedRequests.filter((r) => !r.endsWith('net::ERR_ABORTED'));
      assert.deepEqual(failed, [], 'failed requests');
    }
  } finally {
    await staff.context.close();
    await villager.context.close();
  }
});

test('the clerk exports the queue as Excel and CSV; a neighbour village cadre gets 404', async () => {
  const { context } = await openContext(browser, server.baseURL, desktop);
  try {
    const clerk = await signIn(context, 'clerk');
    await clerk.goto(url('/desk/cases?status=all'));
    const [xlsx] = await Promise.all([
      clerk.waitForEvent('download'),
      clerk.click('.desk-export a[href^="/desk/cases.xlsx"]'),
    ]);
    assert.match(xlsx.suggestedFilename(), /\.xlsx$/);
    const response = await context.request.get(url('/desk/cases.csv?status=all'));
    assert.equal(response.status(), 200);
    const csv = await response.text();
    assert.match(csv, /^\uFEFF?办件编号,事项名称/);
    const number = csv.split('\r\n')[1]?.split(',')[0];
    assert.match(number ?? '', /^PZ-/);
    await context.clearCookies();

    const neighbour = await signIn(context, 'cadre2');
    const denied = await neighbour.goto(url(`/desk/cases/${number}`));
    assert.equal(denied.status(), 404);
  } finally {
    await context.close();
  }
});
