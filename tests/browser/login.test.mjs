// Browser tests in Debian's Chromium: the demo district served by the real binary, used on a
// phone-sized and a desktop viewport. Run by .ci/run (stage "browser"); by hand:
//   cargo build -p roundtable && (cd tests/browser && npm ci && npm test)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { start } from './server.mjs';

let srv, base, browser, out;

before(async () => {
  srv = await start();
  ({ base, browser, out } = srv);
});

after(async () => {
  await srv?.stop();
});

const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' };
const desktop = { viewport: { width: 1280, height: 800 }, locale: 'zh-CN' };

async function login(page, username, password = srv.logins.get(username)) {
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login/, 'an anonymous visit is sent to the login page');
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
}

async function noSidewaysScroll(page) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `page is ${scroll}px wide on a ${width}px screen`);
}

test('a community secretary logs in on a phone and sees their home page', async () => {
  const context = await browser.newContext(phone);
  const page = await context.newPage();
  await login(page, 'secretary');
  await page.waitForURL(`${base}/`);
  assert.match(await page.locator('h1').innerText(), /^您好/);
  assert.match(await page.locator('main').innerText(), /社区\(村\)书记/);
  const stats = page.locator('.stat');
  assert.ok((await stats.count()) >= 3, 'the home page shows the counts of the community');
  const people = Number(await page.locator('.stat', { hasText: '人员' }).first().locator('b').innerText());
  assert.ok(people > 0 && people < 5000, `a secretary sees their community only, not the district (${people})`);
  await noSidewaysScroll(page);
  await page.screenshot({ path: path.join(out, 'home-phone.png'), fullPage: true });
  // The menu works by touch: the people list of the community, still without sideways scroll.
  await page.getByRole('link', { name: '人员', exact: true }).first().tap();
  await page.waitForURL(/\/people/);
  assert.ok((await page.locator('tbody tr').count()) > 0);
  await context.close();
});

test('a wrong password is refused with a Chinese message', async () => {
  const context = await browser.newContext(phone);
  const page = await context.newPage();
  await login(page, 'staff', 'not-the-password');
  await page.waitForSelector('[role=alert]');
  assert.equal(await page.locator('[role=alert]').innerText(), '用户名或密码错误');
  assert.match(page.url(), /\/login/);
  await context.close();
});

test('an administrator searches people and opens the Excel page on a desktop', async () => {
  const context = await browser.newContext(desktop);
  const page = await context.newPage();
  await login(page, 'admin');
  await page.waitForURL(`${base}/`);
  await page.screenshot({ path: path.join(out, 'home-desktop.png') });
  await page.getByRole('link', { name: '人员', exact: true }).first().click();
  await page.waitForURL(/\/people/);
  assert.match(await page.locator('main').innerText(), /共 \d+ 页，\d+ 条/);
  const first = (await page.locator('tbody tr td a').first().innerText()).trim();
  await page.locator('input[name=q]').fill(first);
  await page.getByRole('button', { name: '查询' }).click();
  await page.waitForURL(/q=/);
  const names = await page.locator('tbody tr td:first-child').allInnerTexts();
  assert.ok(names.length > 0 && names.every((n) => n.includes(first)), `search for ${first}: ${names}`);
  await page.getByRole('link', { name: 'Excel' }).click();
  await page.waitForURL(/\/excel/);
  assert.ok(await page.locator('input[type=file]').isVisible());
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: '全部工作表' }).click();
  assert.match((await download).suggestedFilename(), /^roundtable-template-all-\d{8}\.xlsx$/);
  await context.close();
});
