// lib.mjs: what the browser suites (page.test.mjs, leads.test.mjs,
// workspace.test.mjs, embed.test.mjs) share, so that each of them holds
// only its own tests.
//
// - The run's settings, read once: BASE (the server's URL, argv[2]),
//   ORIGIN, CHROMIUM, SHOTS (SCREENSHOT_DIR), ONLY (BROWSER_TEST_ONLY).
// - newContext: a fresh browser context that refuses every request off the
//   server under test and notes console errors and page errors, for the
//   suite's last test to check (noIssues); staffContext: the same for the
//   leads page, with the admin token already given.
// - Fail, check, eq, untilWith: assertions that fail a test with a message.
// - test and run: the runner.  It prints "plan N", then "ok NAME (N ms)" or
//   "FAIL NAME: why" per test, the suite's "NOTE …" lines, "(N s)" and
//   "LABEL: N passed, N failed"; test_page.py and test_leads.py parse these
//   lines (driver.py) and tests/run.sh adds up the last one.
import { chromium } from 'playwright-core';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TOP = path.resolve(HERE, '..', '..');
export const BASE = process.argv[2] ? process.argv[2].replace(/\/*$/, '/') : '';
export const ORIGIN = BASE ? new URL(BASE).origin : '';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.resolve(TOP, process.env.SCREENSHOT_DIR || 'build/test/screenshots');
const ONLY = process.env.BROWSER_TEST_ONLY || '';

/* ---------- what every page reports, gathered over the whole run ---------- */

// Console errors, uncaught page errors (and whatever else a suite adds, as
// {test, kind, text}); requests that left the loopback server.
export const issues = [];
const outsideRequests = [];

// A fresh context (its own storage) for the test called name.  opts:
// viewport; allow, regexps for console errors a test causes on purpose;
// context, more options for browser.newContext.  Each page keeps its
// requests in page.__requests.
export async function newContext(browser, name, opts = {}) {
  const ctx = await browser.newContext({
    viewport: opts.viewport || { width: 1280, height: 800 },
    serviceWorkers: 'block',
    ...opts.context
  });
  // Nothing but the server under test: anything else is refused and noted.
  await ctx.route((url) => url.origin !== ORIGIN, (route) => {
    outsideRequests.push({ test: name, url: route.request().url() });
    return route.abort('blockedbyclient');
  });
  const allow = opts.allow || [];
  ctx.on('page', (page) => {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const loc = msg.location();
      const text = msg.text() + (loc && loc.url ? ' (' + loc.url + ':' + loc.lineNumber + ')' : '');
      if (!allow.some((re) => re.test(text))) issues.push({ test: name, kind: 'console', text });
    });
    page.on('pageerror', (err) => {
      issues.push({ test: name, kind: 'pageerror', text: String(err && err.stack || err) });
    });
    page.__requests = [];
    page.on('request', (req) => page.__requests.push(req));
  });
  return ctx;
}

// newContext for the leads page (leads.test.mjs, workspace.test.mjs): in
// English at UTC; opts.token: the admin token is in sessionStorage before
// the page's script runs.
export async function staffContext(browser, name, opts = {}) {
  const ctx = await newContext(browser, name, { ...opts, context: { locale: 'en-GB', timezoneId: 'UTC' } });
  if (opts.token) {
    await ctx.addInitScript(([k, v]) => {
      if (location.protocol === 'http:') sessionStorage.setItem(k, v);
    }, ['intake.adminToken', opts.token]);
  }
  return ctx;
}

// Opens the leads page in page with no token given, waits (at most ms) for
// the form that asks for one and signs in with token.
export async function signIn(page, token, ms) {
  await page.goto(BASE + 'leads.html');
  await page.waitForSelector('#token-form:not([hidden])', { timeout: ms });
  await page.fill('#admin-token', token);
  await page.press('#admin-token', 'Enter');
}

// No issue noted (what names them in the failure) and no request off the
// server, in any test so far.
export function noIssues(what) {
  eq(issues.map((i) => '[' + i.test + '] ' + i.kind + ': ' + i.text), [], what);
  eq(outsideRequests.map((o) => '[' + o.test + '] ' + o.url), [], 'requests to anything but ' + ORIGIN);
}

/* ---------- assertions ---------- */

// A test's failure with its message alone (no stack).
export class Fail extends Error {}

export function check(cond, what) {
  if (!cond) throw new Fail(what);
}

export function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Fail(what + ': got ' + JSON.stringify(got) + ', want ' + JSON.stringify(want));
  }
}

// until(page, what, fn, arg, ms = defaultMs): wait for fn(arg) to be truthy
// in the page (polled every polling ms), at most ms; return its value, or
// fail saying what was awaited and what describe(page) says the page shows.
export function untilWith(describe, defaultMs, polling) {
  return async function until(page, what, fn, arg, ms = defaultMs) {
    try {
      const h = await page.waitForFunction(fn, arg, { timeout: ms, polling });
      return await h.jsonValue();
    } catch (e) {
      if (e instanceof Fail) throw e;
      throw new Fail('timed out after ' + ms + ' ms waiting for ' + what + '; ' + await describe(page));
    }
  };
}

// GET BASE + rel with a bearer token; fail unless it answers 200 (what names
// the request); the parsed JSON body.
export async function getJson(rel, token, what) {
  const res = await fetch(BASE + rel, {
    headers: { Authorization: 'Bearer ' + token }, signal: AbortSignal.timeout(5000)
  });
  eq(res.status, 200, what);
  return res.json();
}

/* ---------- the runner ---------- */

const tests = [];

// A test: fn(browser), run in the order given.
export function test(name, fn) {
  tests.push({ name, fn });
}

// Runs the tests whose name holds BROWSER_TEST_ONLY, each within timeoutMs,
// in one headless Chromium; prints the lines above, notes after the tests,
// and exits 1 if any failed.
async function run(label, timeoutMs, notes = []) {
  const chosen = tests.filter((t) => !ONLY || t.name.includes(ONLY));
  console.log('plan ' + chosen.length);
  let passed = 0;
  let failed = 0;
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 20000,
      // launch() gives the browser a fresh temporary profile of its own
      // (--user-data-dir) and removes it at close.
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-default-apps', '--disable-extensions', '--no-default-browser-check',
        '--metrics-recording-only', '--disable-domain-reliability', '--disable-client-side-phishing-detection',
        // Belt and braces: no name resolves but the loopback address.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'
      ]
    });
  } catch (e) {
    console.log('FAIL launching ' + CHROMIUM + ': ' + e.message);
    console.log(label + ': 0 passed, ' + chosen.length + ' failed');
    process.exit(1);
  }
  const t0 = Date.now();
  for (const t of chosen) {
    const start = Date.now();
    let timer;
    try {
      await Promise.race([
        t.fn(browser),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Fail('test took over ' + timeoutMs + ' ms')), timeoutMs);
        })
      ]);
      passed++;
      console.log('ok ' + t.name + ' (' + (Date.now() - start) + ' ms)');
    } catch (e) {
      failed++;
      console.log('FAIL ' + t.name + ': ' + (e instanceof Fail ? e.message : (e && e.stack) || e));
    } finally {
      clearTimeout(timer);
      // A test that failed half-way may leave its context open.
      for (const c of browser.contexts()) await c.close().catch(() => {});
    }
  }
  await browser.close().catch(() => {});
  for (const n of notes) console.log('NOTE ' + n);
  console.log('(' + ((Date.now() - t0) / 1000).toFixed(1) + ' s)');
  console.log(label + ': ' + passed + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
}

// The suite's entry: run, and a runner that breaks is one FAIL line.
export function main(label, timeoutMs, notes) {
  run(label, timeoutMs, notes).catch((e) => {
    console.log('FAIL runner: ' + ((e && e.stack) || e));
    process.exit(1);
  });
}
