// Browser tests of topic intake (issue 3): a resident submits on a phone-sized screen inside no
// account and follows the matter with the tracking code; a community secretary screens it.
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

test('a resident submits a matter on a phone and follows it with the tracking code', async () => {
  const context = await srv.browser.newContext(phone);
  const page = await context.newPage();
  await page.goto(`${srv.base}/p`);
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `portal is ${scroll}px wide on a ${width}px screen`);
  // The community of the demo's secretary is the first one listed.
  await page.locator('select[name=org_id]').selectOption({ index: 1 });
  await page.getByLabel('标题').fill('3栋楼道堆满杂物');
  await page.getByLabel('具体情况').fill('楼道里堆满纸箱和旧家具，堵塞消防通道');
  await page.locator('select[name=category]').selectOption('safety');
  await page.getByLabel('手机号码').fill('13955556666');
  await page.getByLabel('同意社区工作人员就此事与我联系').check();
  // A photo from the phone's album (a 1×1 PNG).
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  await page.locator('input[name=photos]').setInputFiles({ name: 'stairs.png', mimeType: 'image/png', buffer: png });
  await page.getByRole('button', { name: '提交' }).tap();
  await page.waitForSelector('#tracking-code');
  const code = (await page.locator('#tracking-code').innerText()).trim();
  assert.match(code, /^XH-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}$/);
  await page.screenshot({ path: `${srv.out}/portal-done-phone.png` });
  await page.getByRole('link', { name: '查看进度' }).tap();
  await page.getByLabel('手机号码后4位').fill('6666');
  await page.getByRole('button', { name: '查询' }).tap();
  await page.waitForSelector('#result');
  assert.match(await page.locator('#result').innerText(), /待筛选/);
  await context.close();
  srv.lastCode = code;
});

test('the community secretary accepts the matter at the screening desk', async () => {
  const context = await srv.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  await srv.login(page, 'secretary');
  await page.getByRole('link', { name: '议题', exact: true }).click();
  await page.waitForURL(/\/topics/);
  await page.locator('input[name=q]').fill('楼道 杂物');
  await page.locator('select[name=status]').selectOption('pending');
  await page.getByRole('button', { name: '筛选' }).click();
  await page.waitForURL(/q=/);
  await page.getByRole('link', { name: '3栋楼道堆满杂物' }).first().click();
  await page.waitForURL(/\/topics\/\d+$/);
  assert.match(await page.locator('main').innerText(), /139\*{4}6666|13955556666/);
  assert.equal(await page.locator('.photos img').count(), 1, 'the resident\'s photo is shown');
  assert.ok(await page.locator('.photos img').evaluate((img) => img.complete && img.naturalWidth > 0), 'the thumbnail loads');
  await page.locator('input[name=public_note]').first().fill('已受理，将提交本月幸福圆桌会');
  await page.getByRole('button', { name: '受理', exact: true }).click();
  await page.waitForURL(/\/topics\/\d+$/);
  assert.match(await page.locator('h1').innerText(), /已受理/);
  assert.equal(await page.getByRole('button', { name: '受理', exact: true }).count(), 0, 'an accepted matter is not accepted again');
  await page.screenshot({ path: `${srv.out}/screening-desktop.png`, fullPage: true });
  await context.close();
  // The resident sees it.
  const r = await fetch(`${srv.base}/api/v1/public/topics/${srv.lastCode}?phone_last4=6666`);
  assert.equal((await r.json()).status_label, '已受理');
});
