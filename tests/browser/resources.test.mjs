// Browser test of the resource list (issue 5, R-ORG-4): a community secretary publishes what an
// assistance unit offers on a phone-sized screen, corrects a mistake shown next to the field,
// and finds the offer; a party member publishes their own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start } from './server.mjs';

let srv;
before(async () => {
  srv = await start();
});
after(async () => {
  await srv?.stop();
});

const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' };

async function noSidewaysScroll(page) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `page is ${scroll}px wide on a ${width}px screen`);
}

test('a community secretary publishes a unit\'s offer on a phone and finds it in the list', async () => {
  const context = await srv.browser.newContext(phone);
  const page = await context.newPage();
  await srv.login(page, 'secretary');
  await page.getByRole('link', { name: '资源清单', exact: true }).first().tap();
  await page.waitForURL(/\/resources$/);
  assert.ok((await page.locator('tbody tr').count()) > 0, 'the demo publishes offers');
  const form = page.locator('form[method=post][action="/resources"]');
  await form.locator('select[name=org_id]').selectOption({ index: 1 });
  await form.locator('select[name=unit_id]').selectOption({ index: 1 });
  await form.locator('select[name=kind]').selectOption('volunteers');
  await form.getByLabel(/资源名称/).fill('周末环境整治志愿者');
  await form.locator('input[name=quantity]').fill('十个');
  await form.locator('input[name=categories][value=environment]').check();
  await form.getByRole('button', { name: '发布' }).tap();
  await page.waitForSelector('[role=alert]');
  const again = page.locator('form[method=post][action="/resources"]');
  assert.match(await again.locator('.has-error').innerText(), /应为整数/);
  assert.equal(await again.getByLabel(/资源名称/).inputValue(), '周末环境整治志愿者', 'what was typed is kept');
  await again.locator('input[name=quantity]').fill('10');
  await again.getByRole('button', { name: '发布' }).tap();
  await page.waitForURL(/\/resources\/\d+$/);
  const main = await page.locator('main').innerText();
  assert.match(main, /共 10 人次，剩余 10 人次/);
  assert.match(main, /环境整治类/);
  await noSidewaysScroll(page);
  await page.screenshot({ path: `${srv.out}/resource-phone.png`, fullPage: true });
  await context.close();
});

test('a party member publishes their own offer for their community', async () => {
  const context = await srv.browser.newContext(phone);
  const page = await context.newPage();
  await srv.login(page, 'member');
  await page.goto(`${srv.base}/resources`);
  const form = page.locator('form[method=post][action="/resources"]');
  assert.match(await form.innerText(), /以本人（在职党员）名义发布/);
  await form.locator('select[name=kind]').selectOption('skills');
  await form.getByLabel(/资源名称/).fill('义务理发');
  await form.locator('input[name=quantity]').fill('6');
  await form.getByRole('button', { name: '发布' }).tap();
  await page.waitForURL(/\/resources\/\d+$/);
  assert.match(await page.locator('main').innerText(), /（在职党员）/);
  await page.getByRole('link', { name: '返回资源清单' }).tap();
  await page.locator('input[name=mine]').check();
  await page.getByRole('button', { name: '筛选' }).tap();
  await page.waitForURL(/mine=me/);
  assert.match(await page.locator('tbody').innerText(), /义务理发/);
  await context.close();
});
