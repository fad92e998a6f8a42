// Browser tests of questionnaires (issue 3 item 8): community staff build and publish one on a
// desktop, a resident answers it on a phone without an account, staff read the results (chart
// beside its table) and download the workbook.
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
const desktop = { viewport: { width: 1280, height: 800 }, locale: 'zh-CN', acceptDownloads: true };

test('staff build and publish a questionnaire, a resident answers on a phone, staff read and export the results', async () => {
  const staff = await srv.browser.newContext(desktop);
  const page = await staff.newPage();
  await srv.login(page, 'staff');
  await page.getByRole('link', { name: '问卷', exact: true }).click();
  await page.getByRole('link', { name: '新建问卷' }).click();
  await page.locator('select[name=org_id]').selectOption({ index: 1 });
  await page.getByLabel('问卷标题').fill('加装电梯意愿调查');
  await page.locator('select[name=category]').selectOption('living_care');
  await page.getByRole('button', { name: '保存草稿' }).click();
  await page.waitForURL(/\/questionnaires\/\d+$/);

  const add = async (kind, prompt, options = '') => {
    await page.locator('select[name=kind]').selectOption(kind);
    await page.locator('input[name=prompt]').fill(prompt);
    await page.locator('textarea[name=options]').fill(options);
    await page.getByRole('button', { name: '添加', exact: true }).click();
    await page.waitForURL(/\/questionnaires\/\d+$/);
  };
  await add('single', '您住几楼？', '1-3楼\n4-6楼\n7楼以上');
  await add('rating', '加装电梯有多迫切');
  await add('text', '您的顾虑或建议');
  assert.equal(await page.locator('ol.questions > li').count(), 3);
  await page.getByRole('button', { name: '发布问卷' }).click();
  await page.waitForURL(/\/questionnaires\/\d+$/);
  const link = await page.locator('.poster a').first().getAttribute('href');
  assert.match(link, /\/q\/[0-9a-f]{12}$/);
  assert.equal(await page.locator('.qr svg').count(), 1, 'a QR code to print');
  const results = page.url() + '/results';

  // The resident: a phone, no account, no sideways scrolling.
  const resident = await srv.browser.newContext(phone);
  const mobile = await resident.newPage();
  await mobile.goto(new URL(new URL(link).pathname, srv.base).href);
  const [scroll, width] = await mobile.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `answer page is ${scroll}px wide on a ${width}px screen`);
  await mobile.getByLabel('4-6楼').check();
  await mobile.getByRole('button', { name: '提交' }).tap();
  await mobile.waitForSelector('strong.error');
  assert.match(await mobile.locator('main').innerText(), /此题必答/, 'the rating is required');
  assert.ok(await mobile.getByLabel('4-6楼').isChecked(), 'the choice is kept');
  await mobile.getByLabel('5分').check();
  await mobile.locator('textarea').fill('希望一楼住户的意见也能被听到');
  await mobile.getByRole('button', { name: '提交' }).tap();
  await mobile.waitForSelector('.flash');
  assert.match(await mobile.locator('.flash').innerText(), /提交成功/);
  await mobile.screenshot({ path: `${srv.out}/questionnaire-answered-phone.png` });
  // The same phone again: told at once, no form.
  await mobile.goto(new URL(new URL(link).pathname, srv.base).href);
  assert.match(await mobile.locator('main').innerText(), /已经填写过/);
  assert.equal(await mobile.getByRole('button', { name: '提交' }).count(), 0);
  await resident.close();

  await page.goto(results);
  assert.match(await page.locator('main').innerText(), /共 1 份答卷/);
  assert.ok(await page.locator('figure.chart svg').count() >= 2, 'a chart per counted question');
  assert.match(await page.locator('main').innerText(), /希望一楼住户的意见也能被听到/);
  await page.screenshot({ path: `${srv.out}/questionnaire-results-desktop.png`, fullPage: true });
  // Staff cannot export (the permission table); the text answer becomes a topic.
  await page.getByRole('button', { name: '转为议题' }).click();
  await page.waitForURL(/\/topics\/\d+$/);
  assert.match(await page.locator('main').innerText(), /调查问卷/);
  await staff.close();

  const secretary = await srv.browser.newContext(desktop);
  const sp = await secretary.newPage();
  await srv.login(sp, 'secretary');
  await sp.goto(results);
  const [download] = await Promise.all([sp.waitForEvent('download'), sp.getByRole('link', { name: '导出 Excel' }).click()]);
  assert.match(download.suggestedFilename(), /\.xlsx$/);
  await secretary.close();
});
