// Debian's Chromium driven by playwright-core, with what a page did wrong collected for asserts.
import { chromium } from 'playwright-core';

const kExecutable = process.env.ZHENWU_CHROMIUM ?? '/usr/bin/chromium';

// The machine has no network: without these Chromium keeps dialling Google's hosts.
const kArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A cheap Android phone, as many villagers use. */
export const phone = {
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/120.0.0.0 Mobile Safari/537.36',
};

/** An office PC. */
export const desktop = {
  viewport: { width: 1366, height: 768 },
};

/**
 * Launches headless Chromium. Playwright gives every launch a fresh, empty user-data directory
 * and removes it on close().
 */
export async function launchBrowser() {
  return chromium.launch({ executablePath: kExecutable, headless: true, args: kArgs });
}

/**
 * Opens a browser context for the test server at BASE_URL (options: phone or desktop, plus any
 * Playwright context option such as javaScriptEnabled) and records, for every page in it:
 * console errors and uncaught exceptions (`consoleErrors`), requests that failed at the network
 * level (`failedRequests`) and requests to any origin other than the test server
 * (`foreignRequests`).
 */
export async function openContext(browser, baseURL, options = {}) {
  const context = await browser.newContext({
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    ...options,
  });
  const origin = new URL(baseURL).origin;
  const report = { consoleErrors: [], failedRequests: [], foreignRequests: [] };

  const isLocal = (url) => {
    const parsed = new URL(url);
    return ['data:', 'blob:', 'about:'].includes(parsed.protocol) || parsed.origin === origin;
  };
  context.on('request', (request) => {
    if (!isLocal(request.url())) report.foreignRequests.push(request.url());
  });
  context.on('requestfailed', (request) => {
    report.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`);
  });
  const watch = (page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') {
        // Chromium reports every page answered with an error status as a console error; a form
        // sent back with 422 (the field messages) is the product working, not a script error.
        if (/status of 422 \(Unprocessable Entity\)/.test(message.text())) return;
        report.consoleErrors.push(`${message.text()} (${message.location().url})`);
      }
    });
    page.on('pageerror', (error) => report.consoleErrors.push(`uncaught: ${error.message}`));
  };
  context.on('page', watch);
  return { context, report };
}

/** Clicks a submit button; resolves with the POST's answer once the page it leads to has loaded. */
export async function submit(page, selector) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click(selector),
  ]);
  await page.waitForLoadState('load');
  return response;
}
