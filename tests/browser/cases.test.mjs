// Browser test of the seven steps (issue 4): the demo secretary runs one case of each level —
// community, street, district — from a topic to 办结 through the pages, with the leader's
// supervision, another person's confirmation of the ledger, a resident's objection and vote on
// a phone, the working-day notice period let pass by moving the server's clock, and every
// document printed to PDF by Chromium and read back with pdftotext.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { start } from './server.mjs';

let srv;
before(async () => {
  srv = await start();
});
after(async () => {
  await srv?.stop();
});

const desktop = { viewport: { width: 1280, height: 900 }, locale: 'zh-CN' };
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' };

const iso = (d) => d.toISOString().slice(0, 10);
const chinaToday = () => new Date(Date.now() + 8 * 3600 * 1000);
const today = iso(chinaToday());

/** A photo as a phone sends it (an 8×8 PNG). */
const photo = { name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGOQqziBFTEMLQkABkZXgRDDjAEAAAAASUVORK5CYII=', 'base64') };

/** Fills the first form whose action (less a query string: forms with photos carry their CSRF
 * token there) ends with `action` and submits it with `button`; `photos: n` attaches n photos. */
async function submit(page, action, fields = {}, button = undefined) {
  await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
  const form = page.locator(`form[action$="${action}"], form[action*="${action}?"]`).first();
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'photos') {
      await form.locator('[name="photos"]').setInputFiles(Array(value).fill(photo));
      continue;
    }
    const el = form.locator(`[name="${name}"]`).first();
    const tag = await el.evaluate((e) => e.tagName);
    if (tag === 'SELECT') {
      await el.selectOption(value === 1 ? { index: 1 } : value);
    } else {
      await el.fill(value);
    }
  }
  const btn = button ? form.getByRole('button', { name: button }) : form.locator('button[type=submit]').first();
  await Promise.all([page.waitForLoadState('load'), btn.click()]);
}

/** The page after a change shows no error (a refusal would come back with role=alert). */
async function ok(page, what) {
  const alert = page.locator('[role=alert]');
  if (await alert.count()) {
    assert.fail(`${what}: ${await alert.first().innerText()}`);
  }
}

async function advance(page, to) {
  await submit(page, '/moves', {}, new RegExp(`完成本步骤，进入「${to}」`));
  await ok(page, `进入${to}`);
  await page.locator('h1 .tag', { hasText: to }).waitFor();
}

/** Steps 1–5 of one case up to its published notice; answers the case page's URL. */
async function untilNotice(page, resident, level, title) {
  await page.goto(`${srv.base}/topics/new`);
  await page.locator('select[name=org_id]').selectOption({ index: 1 });
  await page.locator('select[name=channel]').selectOption('hotline');
  await page.locator('input[name=title]').fill(title);
  await page.locator('textarea[name=description]').fill(`${title}：居民多次反映，影响日常出行和安全。`);
  await page.locator('select[name=category]').selectOption('safety');
  await page.locator('select[name=level]').selectOption(level);
  await Promise.all([page.waitForURL(/\/topics\/\d+$/), page.getByRole('button', { name: '保存', exact: true }).click()]);
  await submit(page, '/decision', { public_note: '已受理，提交圆桌会协商' }, '受理');
  await ok(page, '受理');
  await Promise.all([page.waitForURL(/\/cases\/\d+$/), submit(page, '/cases', { note: '本月议题' }, '立项')]);
  const url = page.url();

  // 1 → 2 征求意见: a council member's visit, an opinion, the preliminary plan.
  await advance(page, '征求意见');
  await submit(page, '/visits', { visitor_person_id: 1, place: '3栋2单元', findings: '情况属实，涉及约60户', opinion: '希望尽快解决', photos: 2 });
  assert.equal(await page.locator('img[alt^="佐证照片"]').count(), 2, 'the visit shows its two photos');
  await ok(page, '走访');
  await submit(page, '/step-documents/preliminary_plan', { content: `${title}的初步协商方案：社区牵头，物业配合，资金多方筹措。` });
  await ok(page, '初步协商方案');
  // 3 分析研判: the council meeting, feasibility, the meeting plan (and the consultation).
  await advance(page, '分析研判');
  await submit(page, '/step-documents/council_meeting', { held_on: today, attendees: '民情理事会成员5人', conclusions: '属公共事务，建议提交圆桌会' });
  await submit(page, '/step-documents/feasibility', { nature: '公共事务', content: title, impact: '全小区', scope: '小区范围', conclusion: '可行' });
  await submit(page, '/step-documents/meeting_plan', { date: today, time: '09:30' });
  await ok(page, '议事方案');
  if (level === 'district') {
    await submit(page, '/step-documents/leader_consultation', { consulted_on: today, notes: '原则同意，协调区直部门' });
    await ok(page, '事先沟通');
  }
  // 4 协商议事: the meeting planned from the 议事方案, opened with its reason, minuted, filed.
  await advance(page, '协商议事');
  await submit(page, '/meeting', {}, '安排圆桌会');
  await ok(page, '安排圆桌会');
  const reason = page.locator('form[action$="/meeting/open"] [name=override_reason]');
  if (await reason.count()) await reason.fill('试点小区，参会人数从简');
  await submit(page, '/meeting/open', {}, '确认名单，开始会议');
  await ok(page, '开始会议');
  await submit(page, '/sign-in', {}, '签到');
  await submit(page, '/meeting/minutes', { introduction: `主持人介绍议题：${title}`, discussion: '居民代表、物业发言', summary: '同意实施' });
  await submit(page, '/meeting/minutes/actions', {}, '提交参会人员审阅');
  await submit(page, '/meeting/minutes/actions', {}, '确认会议记录');
  await ok(page, '确认会议记录');
  await submit(page, '/meeting/resolution', { text: `同意实施“${title}”项目，由社区牵头、物业配合。`, votes_for: '1', votes_against: '0', votes_abstain: '0' });
  await ok(page, '协商决议');
  await submit(page, '/meeting/filing', {}, '备案登记');
  await ok(page, '备案登记');
  await page.getByText(/备案登记号 \d+-\d{4}-\d{3}/).first().waitFor();
  // 5 项目公示: the plan, its money in fen, agreement, the notice with its working days.
  await advance(page, '项目公示');
  await submit(page, '/plan/tasks', { title: '施工', owner_name: '王工', unit_name: '物业公司', starts_on: today, due_on: today });
  await submit(page, '/plan/budget', { source: 'fiscal', amount: '-1' });
  await page.locator('strong.error', { hasText: '金额不能为负数' }).waitFor();
  await submit(page, '/plan/budget', { source: 'fiscal', amount: '12000.50' });
  await submit(page, '/plan/agreements', { party: '区住建局', party_kind: 'department', agreed_on: today });
  await ok(page, '原则同意');
  await submit(page, '/notices', {}, '发布公示');
  await ok(page, '发布公示');
  await page.getByText(/公示期：\d{4}年\d+月\d+日至/).first().waitFor();
  // Implementation cannot start during the notice (R-CAL-1).
  await submit(page, '/moves', {}, /完成本步骤/);
  await page.locator('[role=alert]', { hasText: '公示期满' }).waitFor();

  // A resident objects on a phone; the secretary answers.
  const code = (await page.locator('a[href^="/c/"]').first().getAttribute('href')).slice(3);
  await resident.goto(`${srv.base}/c/${code}`);
  await resident.getByText('公示期：').first().waitFor();
  await resident.locator('textarea[name=content]').fill('施工时间请避开早晚高峰');
  await resident.getByRole('button', { name: '提交意见' }).click();
  await resident.getByText('您的意见已收到').waitFor();
  await page.goto(url);
  await submit(page, '/answer', { answer: '已调整为白天施工' }, '答复');
  await ok(page, '答复异议');
  return { url, code };
}

/** Steps 6–7 after the notice period; the leader of the level supervises. */
async function toDone(page, staff, leader, resident, c, level) {
  await page.goto(c.url);
  await advance(page, '项目实施');
  // The responsible person's 销号 with evidence, confirmed by someone else.
  await submit(page, '/actions', { evidence: '已完工，附现场照片说明', photos: 1 }, '销号');
  await ok(page, '销号');
  const shot = page.locator('img[alt^="佐证照片"]').last();
  assert.ok(await shot.evaluate((img) => img.complete && img.naturalWidth > 0), 'the 销号 photo is shown');
  await staff.goto(c.url);
  await submit(staff, '/actions', {}, '确认完成');
  await ok(staff, '确认完成');
  if (leader) {
    await leader.goto(c.url);
    await submit(leader, '/supervision/remarks', { remark: '请按期完成，街道跟踪督办' });
    await ok(leader, '挂帅督办');
  }
  await page.goto(c.url);
  await submit(page, '/supervision/bulletins', {}, '生成并发布本期通报');
  await ok(page, '进度通报');
  await advance(page, '监督执行');
  await submit(page, '/supervision/committee', { person_id: 1, side: 'party_organisation' });
  await submit(page, '/supervision/inspections', { inspectors: '监督委员会3人', progress: '全部完成', quality: '合格', deadline: '按期', photos: 1 });
  await ok(page, '监督检查');
  await submit(page, '/supervision/acceptance', { members: '社区、物业、居民代表', conclusion: '验收合格' });
  await ok(page, '验收');
  await submit(page, '/moves', {}, '完成本步骤，进入「办结」');
  await ok(page, `${level} 办结`);
  await page.locator('h1 .tag', { hasText: '办结' }).waitFor();
  // The resident's satisfaction on the phone.
  await resident.goto(`${srv.base}/c/${c.code}`);
  await resident.getByRole('button', { name: '满意', exact: true }).click();
  await resident.getByText('感谢您的评价').waitFor();
}

/** Every document of a case printed to PDF and read back. */
async function printAll(page, caseUrl, title, level) {
  const docs = {
    meeting_notice: '会议通知',
    sign_in: '签到表',
    minutes: '会议记录',
    plan: '攻坚任务计划书',
    notice: '公示期',
    bulletin: '进度通报',
    completion: '完成报告',
  };
  for (const [kind, text] of Object.entries(docs)) {
    await page.goto(`${caseUrl}/documents/${kind}`);
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    await page.emulateMedia({ media: 'screen' });
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-', kind);
    const file = path.join(srv.out, `case-${level}-${kind}.pdf`);
    writeFileSync(file, pdf);
    const words = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    assert.ok(words.includes(text), `${kind}.pdf says ${text}: ${words.slice(0, 400)}`);
    assert.ok(words.includes(title) || kind === 'sign_in' || kind === 'minutes', `${kind}.pdf names the case`);
    assert.ok(!words.includes('修改密码') && !words.includes('打印 / 存为PDF'), `${kind}.pdf carries no menu or button`);
  }
}

test('a case of each level runs through the seven steps to 办结, with documents printed to PDF', async () => {
  const cases = [
    { level: 'community', title: '楼道声控灯更换', leader: null },
    { level: 'street', title: '背街小巷路面修补', leader: 'street' },
    { level: 'district', title: '老旧小区加装电梯', leader: 'leader' },
  ];
  const sec = await (await srv.browser.newContext(desktop)).newPage();
  const resident = await (await srv.browser.newContext(phone)).newPage();
  await srv.login(sec, 'secretary');
  for (const c of cases) {
    Object.assign(c, await untilNotice(sec, resident, c.level, c.title));
  }
  // Three weeks later: every notice period (five working days) has passed.
  const later = iso(new Date(chinaToday().getTime() + 21 * 24 * 3600 * 1000));
  await srv.restartOn(later);
  const ctx = async (user) => {
    const p = await (await srv.browser.newContext(desktop)).newPage();
    await srv.login(p, user);
    return p;
  };
  const page = await ctx('secretary');
  const staff = await ctx('staff');
  const leaders = { street: await ctx('street'), leader: await ctx('leader') };
  for (const c of cases) {
    await toDone(page, staff, c.leader ? leaders[c.leader] : null, resident, c, c.level);
    await printAll(page, c.url, c.title, c.level);
  }
  // The timeline shows the whole journey.
  await page.goto(`${cases[2].url}/timeline`);
  await page.getByText('发布公示第1版').waitFor();
  await page.getByText('项目验收').first().waitFor();
  await page.screenshot({ path: path.join(srv.out, 'case-timeline.png'), fullPage: true });
});
