// The demo district served by the real binary in a temporary directory, and Debian's Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? path.resolve(here, '../../target');
const bin = process.env.ROUNDTABLE_BIN ?? path.join(target, 'debug', 'roundtable');
const out = path.join(here, 'out');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready at ${url} within ${ms} ms`);
}

export async function start() {
  const dir = mkdtempSync(path.join(tmpdir(), 'roundtable-browser-'));
  // No history: the tests make their own, and a year of it takes a minute in a debug build.
  execFileSync(bin, ['demo', '--no-serve', '--no-history'], { cwd: dir, stdio: 'ignore' });
  const logins = new Map();
  for (const line of readFileSync(path.join(dir, 'data', 'demo-logins.txt'), 'utf8').split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length >= 3) logins.set(parts.at(-2), parts.at(-1));
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const launch = (extraEnv = {}) =>
    spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`], {
      cwd: dir,
      env: { ...process.env, DATABASE_URL: 'sqlite://data/demo.db', ...extraEnv },
      stdio: 'ignore',
    });
  let server = launch();
  await waitReady(`${base}/readyz`, 15000);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  mkdirSync(out, { recursive: true });
  return {
    base,
    browser,
    logins,
    out,
    async login(page, username, password = logins.get(username)) {
      await page.goto(`${base}/`);
      assert.match(page.url(), /\/login/, 'an anonymous visit is sent to the login page');
      await page.getByLabel('用户名').fill(username);
      await page.getByLabel('密码').fill(password);
      await page.getByRole('button', { name: '登录' }).click();
      await page.waitForURL(`${base}/`);
    },
    /// Serves the same database again with the clock moved to `day` (YYYY-MM-DD): how a test
    /// lets a notice period pass. Sessions end (they went idle).
    async restartOn(day) {
      await new Promise((resolve) => {
        server.once('exit', resolve);
        server.kill('SIGTERM');
      });
      server = launch({ ROUNDTABLE_TODAY: day });
      await waitReady(`${base}/readyz`, 15000);
    },
    async stop() {
      await browser.close();
      server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
