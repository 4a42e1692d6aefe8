// page.test.mjs: the intake page (www/) in Debian's headless Chromium,
// against the real program under lighttpd.
//
//   node tests/browser/page.test.mjs http://127.0.0.1:PORT/
//
// Normally started by test_page.py, which starts the server the way every
// integration suite does (tests/integration/harness.py) and adds up the
// counts.  Prints "plan N", then "ok NAME" or "FAIL NAME: why" per test,
// then "page.test: N passed, N failed".
//
// Environment: CHROMIUM (default /usr/bin/chromium), SCREENSHOT_DIR
// (default build/test/screenshots), BROWSER_TEST_ONLY (a substring: run
// only the tests whose name holds it).
//
// Every wait is bounded; a test has TEST_TIMEOUT_MS in all.  Each test gets
// a fresh browser context (its own localStorage), so each starts a fresh
// conversation.  Timing facts are measured inside the page (a recorder
// installed before the page's own script runs), not over the DevTools link.
import fs from 'node:fs';
import path from 'node:path';
import {
  TOP, BASE, ORIGIN, SHOTS, issues, newContext as baseContext, noIssues, Fail, check, eq, untilWith, getJson, test, main
} from './lib.mjs';

const TEST_TIMEOUT_MS = 25000;
const REPLY_MS = 15000;          // a whole built-in reply, generously
const STORAGE_KEY = 'intake.conversation';

const MSG = '#messages';
const ASSISTANT = '#messages [data-role="assistant"]';
const USER = '#messages [data-role="user"]';

if (!BASE) {
  console.error('usage: node page.test.mjs BASE_URL');
  process.exit(2);
}

/* ---------- what every page reports, gathered over the whole run ---------- */

// Console errors, uncaught page errors and requests that left the loopback
// server are noted by lib.mjs; CSP violations are added to its issues.
// Requests whose URL holds a token (issue 10: tokens in URLs land in access
// logs, proxies and history); every page of every test is watched.
const tokenUrls = [];

// Installed before any page script: records #messages after every mutation,
// the textarea's usability every 20 ms, Enter key presses and CSP violations.
function recorder() {
  const rec = window.__rec = {
    snaps: [],          // {t, m: [[role, status, textLength, id], ...], q: queued count}
    inputSamples: 0,
    inputBad: [],       // samples where the textarea was disabled or read-only
    enters: [],         // times of Enter (no Shift) keydowns
    csp: []
  };
  const now = () => performance.now();
  document.addEventListener('securitypolicyviolation', (e) => {
    const v = e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber;
    rec.csp.push(v);
    if (window.__report) window.__report('csp', v);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) rec.enters.push(now());
  }, true);
  function snap() {
    const m = Array.from(document.querySelectorAll('#messages [data-role]'), (b) =>
      [b.dataset.role, b.dataset.status || '', b.textContent.length, b.dataset.messageId || '']);
    const q = document.getElementById('queue');
    rec.snaps.push({ t: now(), m, q: q ? q.childElementCount : 0 });
  }
  function start() {
    const box = document.getElementById('messages');
    const input = document.querySelector('#intake-form textarea[name="message"]');
    if (!box) return;   // not the intake page (about:blank of a new tab)
    snap();
    new MutationObserver(snap).observe(box, {
      subtree: true, childList: true, characterData: true, attributes: true,
      attributeFilter: ['data-status', 'data-role', 'data-message-id']
    });
    const queue = document.getElementById('queue');
    if (queue) new MutationObserver(snap).observe(queue, { childList: true });
    setInterval(() => {
      rec.inputSamples++;
      if (!input || input.disabled || input.readOnly || input.matches(':disabled') ||
          input.closest('[inert]')) {
        rec.inputBad.push({ t: now(), disabled: !!(input && input.disabled),
          readOnly: !!(input && input.readOnly) });
      }
    }, 20);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}

// A fresh context with the recorder installed; opts as lib.mjs's newContext.
async function newContext(browser, name, opts = {}) {
  const ctx = await baseContext(browser, name, opts);
  await ctx.addInitScript(recorder);
  await ctx.exposeFunction('__report', (kind, text) => {
    issues.push({ test: name, kind, text });
  });
  ctx.on('page', (page) => watch(page, name));
  return ctx;
}

// What the tests ask of a page's requests: the paths it POSTed to and the
// API's answers; a token in a URL is noted for the last test.
function watch(page, name) {
  page.__posts = [];
  page.on('request', (req) => {
    if (req.method() === 'POST') page.__posts.push(new URL(req.url()).pathname);
    if (/token=/i.test(req.url())) tokenUrls.push({ test: name, url: req.url() });
  });
  page.__statuses = [];
  page.on('response', (res) => {
    const u = new URL(res.url());
    if (u.pathname.startsWith('/api/')) page.__statuses.push([res.request().method(), u.pathname, res.status()]);
  });
}

/* ---------- helpers ---------- */

async function dom(page) {
  try {
    return await page.evaluate(() => ({
      messages: Array.from(document.querySelectorAll('#messages [data-role]'),
        (b) => [b.dataset.role, b.dataset.status, b.textContent.slice(0, 60)]),
      queue: Array.from(document.querySelectorAll('#queue .bubble'), (b) => b.textContent.slice(0, 60)),
      notice: document.getElementById('notice').textContent
    }));
  } catch (e) {
    return String(e);
  }
}

// Wait for fn(arg) to be true in the page, at most ms; fail saying what.
const until = untilWith(async (page) => 'page: ' + JSON.stringify(await dom(page)), REPLY_MS, 20);

function assistants(page) {
  return page.$$eval(ASSISTANT, (els) => els.map((b) => ({
    status: b.dataset.status, text: b.textContent, id: b.dataset.messageId || ''
  })));
}

function allBubbles(page) {
  return page.$$eval('#messages [data-role]', (els) => els.map((b) => ({
    role: b.dataset.role, status: b.dataset.status, text: b.textContent, id: b.dataset.messageId || ''
  })));
}

// The n-th assistant element (0-based) is streaming and shows >= chars.
function streamingWith(page, n, chars, ms = 10000) {
  return until(page, 'assistant #' + n + ' streaming with >= ' + chars + ' characters',
    ([n, chars]) => {
      const b = document.querySelectorAll('#messages [data-role="assistant"]')[n];
      if (!b) return false;
      if (b.dataset.status !== 'streaming') {
        if (b.dataset.status) return { ended: b.dataset.status, len: b.textContent.length };
        return false;
      }
      return b.textContent.length >= chars ? { len: b.textContent.length } : false;
    }, [n, chars], ms).then((r) => {
    if (r.ended) {
      throw new Fail('assistant #' + n + ' ended (' + r.ended + ', ' + r.len +
        ' chars) before showing ' + chars + ' characters while streaming: the reply is too fast to test');
    }
    return r;
  });
}

function finalWith(page, n, status = 'complete', ms = REPLY_MS) {
  return until(page, 'assistant #' + n + ' ' + status,
    ([n, status]) => {
      const b = document.querySelectorAll('#messages [data-role="assistant"]')[n];
      if (!b || !b.dataset.status || b.dataset.status === 'streaming') return false;
      return { status: b.dataset.status };
    }, [n, status], ms).then((r) => {
    eq(r.status, status, 'assistant #' + n + ' final data-status');
  });
}

async function send(page, text) {
  await page.focus('#intake-form textarea[name="message"]');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

async function stored(page) {
  const raw = await page.evaluate((k) => localStorage.getItem(k), STORAGE_KEY);
  check(raw, 'localStorage "' + STORAGE_KEY + '" is set');
  const conv = JSON.parse(raw);
  check(typeof conv.id === 'string' && typeof conv.token === 'string',
    'localStorage "' + STORAGE_KEY + '" holds {id, token}: ' + raw);
  return conv;
}

async function api(page) {
  const conv = await stored(page);
  const body = await getJson('api/conversations/' + encodeURIComponent(conv.id), conv.token,
    'GET /api/conversations/{id} status');
  return body.messages;
}

// The DOM's messages and the stored ones agree: role, text, status, id.
async function agrees(page) {
  const shown = await allBubbles(page);
  const saved = await api(page);
  eq(shown.map((m) => [m.role, m.status]), saved.map((m) => [m.role, m.status]),
    'DOM (role, status) vs the API');
  shown.forEach((m, i) => {
    eq(m.text, saved[i].text, 'text of message ' + i + ' (' + m.role + ') DOM vs API');
    eq(m.id, saved[i].id, 'data-message-id of message ' + i + ' vs the API id');
  });
  return saved;
}

function rec(page) {
  return page.evaluate(() => window.__rec);
}

function noConflicts(page) {
  const bad = page.__statuses.filter(([m, p, s]) => m === 'POST' && /\/messages$/.test(p) && s !== 200);
  eq(bad, [], 'POST …/messages answers other than 200 (409 = the previous turn was not over on the server)');
}

function inputNeverDisabled(r) {
  check(r.inputSamples > 20, 'textarea sampled (only ' + r.inputSamples + ' samples)');
  eq(r.inputBad.slice(0, 3), [], 'samples (of ' + r.inputSamples + ') with the textarea disabled or read-only');
}

// First snapshot time at which pred(messages, snap) holds, or null.
function firstAt(r, pred) {
  for (const s of r.snaps) if (pred(s.m, s)) return s.t;
  return null;
}

const role = (m, r) => m.filter((x) => x[0] === r);

/* ---------- the tests ---------- */

const notes = [];

test('fast typist: the next message goes out the moment a reply ends, textarea never disabled', async (browser) => {
  const ctx = await newContext(browser, 'fast typist');
  const page = await ctx.newPage();
  await page.goto(BASE);
  await send(page, 'Hello, my name is Jane Doe and I was hurt in a car accident last week.');
  await streamingWith(page, 0, 1);
  // The typist types the next message while the reply streams...
  const next = 'You can reach me at jane.doe@example.com or 555 201 7788.';
  await page.keyboard.type(next);
  eq(await page.inputValue('textarea[name="message"]'), next, 'textarea value typed mid-reply');
  // ...and presses Enter the instant it ends.
  await until(page, 'first reply complete', () => {
    const b = document.querySelector('#messages [data-role="assistant"]');
    return b && b.dataset.status === 'complete';
  }, null, REPLY_MS);
  await page.keyboard.press('Enter');
  await streamingWith(page, 1, 1, 5000).catch(async (e) => {
    // A very short reply may already be complete: that is fine here.
    const a = await assistants(page);
    if (!(a[1] && a[1].status === 'complete' && a[1].text)) throw e;
  });
  await finalWith(page, 1);
  const r = await rec(page);
  const tDone = firstAt(r, (m) => role(m, 'assistant')[0] && role(m, 'assistant')[0][1] === 'complete');
  const tEnter = r.enters.filter((t) => t >= tDone)[0];
  const tFirst2 = firstAt(r, (m) => role(m, 'assistant')[1] && role(m, 'assistant')[1][2] > 0);
  check(tDone !== null && tEnter !== undefined && tFirst2 !== null, 'recorded the end, the Enter and the next reply');
  const sinceEnter = tFirst2 - tEnter;
  notes.push('fast typist: Enter ' + Math.round(tEnter - tDone) + ' ms after the reply ended; next reply\'s ' +
    'first text ' + Math.round(sinceEnter) + ' ms after Enter');
  check(sinceEnter < 1000, 'the second reply started streaming ' + Math.round(sinceEnter) +
    ' ms after Enter (want < 1000 ms)');
  noConflicts(page);
  inputNeverDisabled(r);
  await agrees(page);
  await ctx.close();
});

test('a message sent mid-reply is queued, then sent right after the reply ends', async (browser) => {
  const ctx = await newContext(browser, 'queued');
  const page = await ctx.newPage();
  await page.goto(BASE);
  const first = 'Hi, I am Sam Carter. My landlord is keeping my deposit.';
  const second = 'My phone is 555 404 1212.';
  await send(page, first);
  await streamingWith(page, 0, 5);
  await send(page, second);
  const mid = await page.evaluate(() => ({
    users: document.querySelectorAll('#messages [data-role="user"]').length,
    queued: Array.from(document.querySelectorAll('#queue .bubble'), (b) => b.textContent),
    status: document.querySelector('#messages [data-role="assistant"]').dataset.status,
    value: document.querySelector('textarea[name="message"]').value
  }));
  eq(mid.status, 'streaming', 'first reply still streaming when the second message was sent (slow the model)');
  eq(mid.users, 1, 'user elements in #messages while the first reply streams');
  eq(mid.queued, [second], '#queue while the first reply streams');
  eq(mid.value, '', 'textarea emptied after sending');
  await finalWith(page, 0);
  await finalWith(page, 1);
  const r = await rec(page);
  // Never a second user element while the first reply was not final.
  const early = r.snaps.find((s) => {
    const a = role(s.m, 'assistant')[0];
    return role(s.m, 'user').length > 1 && (!a || a[1] !== 'complete');
  });
  check(!early, 'the queued message entered #messages before the first reply ended: ' + JSON.stringify(early));
  const tDone = firstAt(r, (m) => role(m, 'assistant')[0] && role(m, 'assistant')[0][1] === 'complete');
  const tSent = firstAt(r, (m) => role(m, 'user').length === 2);
  const tFirst2 = firstAt(r, (m) => role(m, 'assistant')[1] && role(m, 'assistant')[1][2] > 0);
  notes.push('queued: sent ' + Math.round(tSent - tDone) + ' ms and streaming ' + Math.round(tFirst2 - tDone) +
    ' ms after the first reply ended');
  check(tFirst2 - tDone < 1000, 'the queued message\'s reply started ' + Math.round(tFirst2 - tDone) +
    ' ms after the first reply ended (want < 1000 ms)');
  const shown = await allBubbles(page);
  eq(shown.map((m) => m.role), ['user', 'assistant', 'user', 'assistant'], 'roles in #messages, in order');
  eq(shown.map((m) => m.status), ['complete', 'complete', 'complete', 'complete'], 'data-status of each');
  eq([shown[0].text, shown[2].text], [first, second], 'user texts');
  eq(await page.$$eval('#queue > *', (e) => e.length), 0, '#queue empty at the end');
  const saved = await agrees(page);
  eq(saved.map((m) => m.turn), [1, 1, 2, 2], 'stored turns');
  noConflicts(page);
  inputNeverDisabled(r);
  await ctx.close();
});

test('reload mid-reply shows the partial text and follows it to the end, once', async (browser) => {
  const ctx = await newContext(browser, 'reload');
  const page = await ctx.newPage();
  await page.goto(BASE);
  const text = 'Hello, I need help with a will for my mother.';
  await send(page, text);
  await streamingWith(page, 0, 30);
  const before = (await assistants(page))[0].text;
  await page.reload({ timeout: 5000 });
  await until(page, 'the assistant element after reload',
    () => document.querySelector('#messages [data-role="assistant"]'), null, 5000);
  await finalWith(page, 0);
  const r = await rec(page);
  const firstSeen = r.snaps.find((s) => role(s.m, 'assistant').length > 0);
  const a0 = role(firstSeen.m, 'assistant')[0];
  eq(a0[1], 'streaming', 'status of the reply when first shown after reload (the reply ended before the ' +
    'reload took effect: slow the model)');
  check(a0[2] > 0, 'partial text shown after reload (got ' + a0[2] + ' characters)');
  const lens = r.snaps.map((s) => role(s.m, 'assistant')[0]).filter(Boolean).filter((x) => x[1] === 'streaming')
    .map((x) => x[2]);
  check(new Set(lens).size >= 2, 'the reloaded page followed the reply as it grew (lengths seen while ' +
    'streaming: ' + JSON.stringify([...new Set(lens)]) + ')');
  check(lens.every((l, i) => i === 0 || l >= lens[i - 1]), 'text only grew while following: ' + JSON.stringify(lens));
  const shown = await allBubbles(page);
  eq(shown.map((m) => m.role), ['user', 'assistant'], 'one user and one assistant element after reload');
  eq(shown[0].text, text, 'user text after reload');
  check(shown[1].text.startsWith(before), 'the final reply starts with what was shown before reload');
  const saved = await agrees(page);
  eq(saved[1].status, 'complete', 'stored status');
  eq(r.snaps.some((s) => role(s.m, 'assistant').length > 1), false, 'never two assistant elements for the turn');
  inputNeverDisabled(r);
  await ctx.close();
});

// The follow request(s) a page made to the events endpoint, with all headers.
async function followRequests(page) {
  const out = [];
  for (const req of page.__requests) {
    if (!/\/events$/.test(new URL(req.url()).pathname)) continue;
    out.push({ url: req.url(), method: req.method(), type: req.resourceType(), headers: await req.allHeaders() });
  }
  return out;
}

test('reload mid-reply: the follow is a fetch with the token in Authorization, never in a URL', async (browser) => {
  const ctx = await newContext(browser, 'follow without token in URL');
  const urls = [];
  ctx.on('request', (req) => urls.push(req.url()));
  const page = await ctx.newPage();
  await page.goto(BASE);
  await send(page, 'Hello, I am Ola Nordmann and my employer has not paid my last two salaries.');
  await streamingWith(page, 0, 20);
  const conv = await stored(page);
  const before = (await assistants(page))[0].text;
  await page.reload({ timeout: 5000 });
  await until(page, 'the assistant element after reload',
    () => document.querySelector('#messages [data-role="assistant"]'), null, 5000);
  await finalWith(page, 0);
  const r = await rec(page);
  const seen = r.snaps.map((s) => role(s.m, 'assistant')[0]).filter(Boolean);
  eq(seen[0][1], 'streaming', 'status of the reply when first shown after reload (slow the model)');
  const lens = [...new Set(seen.filter((x) => x[1] === 'streaming').map((x) => x[2]))];
  check(lens.length >= 2, 'the reloaded page followed the reply as it grew (lengths while streaming: ' +
    JSON.stringify(lens) + ')');
  const a = await assistants(page);
  check(a.length === 1 && a[0].text.startsWith(before), 'one reply, starting with what was shown before reload');
  const saved = await agrees(page);
  eq(saved[1].status, 'complete', 'stored status');

  const follows = await followRequests(page);
  check(follows.length >= 1, 'the reloaded page requested …/events (requests: ' + JSON.stringify(urls) + ')');
  for (const f of follows) {
    eq([f.method, f.type], ['GET', 'fetch'], 'the follow request is a fetch (not EventSource): ' + f.url);
    eq(f.headers.authorization, 'Bearer ' + conv.token, 'the follow request\'s Authorization header');
    check(/^[0-9]+$/.test(f.headers['last-event-id'] || ''), 'the follow request sends Last-Event-ID (got ' +
      JSON.stringify(f.headers['last-event-id']) + ')');
  }
  check(urls.length > 3, 'requests recorded (' + urls.length + ')');
  eq(urls.filter((u) => /token=/i.test(u) || u.includes(conv.token)), [], 'request URLs holding the token');
  await ctx.close();
});

test('a 429 on the events endpoint: the page waits Retry-After, then follows the reply to the end', async (browser) => {
  const ctx = await newContext(browser, 'follow 429', { allow: [/status of 429/] });
  const times = [];
  await ctx.route((url) => url.origin === ORIGIN && /\/events$/.test(url.pathname), (route) => {
    times.push(Date.now());
    if (times.length > 1) return route.fallback();
    return route.fulfill({
      status: 429,
      headers: { 'Content-Type': 'application/json', 'Retry-After': '2' },
      body: '{"error":{"code":"rate_limited","message":"Too many requests."}}'
    });
  });
  const page = await ctx.newPage();
  await page.goto(BASE);
  await send(page, 'Good evening, I am Tomas Berg. A builder left my roof half finished.');
  await streamingWith(page, 0, 10);
  await page.reload({ timeout: 5000 });
  const said = await until(page, 'a notice while waiting', () => {
    const n = document.getElementById('notice').textContent.trim();
    return n || false;
  }, null, 5000);
  notes.push('follow 429: notice "' + said + '"');
  await finalWith(page, 0);
  check(times.length >= 2, 'the follow was retried after the 429 (' + times.length + ' requests to …/events)');
  const waited = times[1] - times[0];
  notes.push('follow 429: retried ' + waited + ' ms after the 429');
  check(waited >= 1800, 'waited ' + waited + ' ms after a 429 with Retry-After: 2 (want >= 1800 ms)');
  const saved = await agrees(page);
  eq(saved[1].status, 'complete', 'stored status');
  await until(page, 'the notice cleared once the reply was followed',
    () => document.getElementById('notice').textContent === '', null, 2000);
  await ctx.close();
});

test('a second page on the same conversation follows the reply live', async (browser) => {
  const ctx = await newContext(browser, 'second page');
  const a = await ctx.newPage();
  await a.goto(BASE);
  await send(a, 'Good morning, this is Priya Natarajan. I was dismissed from my job without notice.');
  await streamingWith(a, 0, 10);
  const b = await ctx.newPage();
  await b.goto(BASE);
  await finalWith(b, 0);
  await finalWith(a, 0);
  const rb = await rec(b);
  const seen = rb.snaps.map((s) => role(s.m, 'assistant')[0]).filter(Boolean);
  check(seen.length && seen[0][1] === 'streaming', 'the second page first showed the reply as streaming ' +
    '(first seen: ' + JSON.stringify(seen[0]) + ')');
  const growing = [...new Set(seen.filter((x) => x[1] === 'streaming').map((x) => x[2]))];
  check(growing.length >= 2, 'the second page showed the text growing (lengths while streaming: ' +
    JSON.stringify(growing) + ')');
  const ta = await allBubbles(a);
  const tb = await allBubbles(b);
  eq(tb.map((m) => [m.role, m.status]), [['user', 'complete'], ['assistant', 'complete']], 'second page messages');
  eq(tb[1].text, ta[1].text, 'the second page\'s reply text equals the first page\'s');
  eq(tb[1].id, ta[1].id, 'the same message id on both pages');
  await agrees(a);
  await agrees(b);
  eq(b.__posts.filter((p) => /\/messages$/.test(p)), [], 'the second page sent nothing');
  await ctx.close();
});

test('markup in a message is shown as text, never run', async (browser) => {
  const ctx = await newContext(browser, 'markup');
  const page = await ctx.newPage();
  await page.goto(BASE);
  const text = '<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>';
  await page.fill('textarea[name="message"]', text);
  await page.press('textarea[name="message"]', 'Enter');
  await until(page, 'the user element', () => document.querySelector('#messages [data-role="user"]'), null, 5000);
  await finalWith(page, 0);
  for (const when of ['after sending', 'after reload']) {
    eq((await allBubbles(page))[0].text, text, 'user bubble textContent ' + when);
    eq(await page.evaluate(() => typeof window.__pwned), 'undefined', 'window.__pwned ' + when);
    eq(await page.$$eval('#messages img, #messages script, #queue img, #queue script', (e) => e.length), 0,
      '<img>/<script> elements in #messages ' + when);
    if (when === 'after sending') {
      await page.reload({ timeout: 5000 });
      await finalWith(page, 0, 'complete', 5000);
    }
  }
  const saved = await agrees(page);
  eq(saved[0].text, text, 'stored text');
  await ctx.close();
});

test('Stop cancels the reply and keeps the partial text', async (browser) => {
  const ctx = await newContext(browser, 'stop');
  const page = await ctx.newPage();
  await page.goto(BASE);
  await send(page, 'Hi there, I have a question about a contract dispute.');
  await streamingWith(page, 0, 20);
  const stop = page.locator('[data-action="stop"]');
  check(await stop.isVisible() && await stop.isEnabled(), 'Stop visible and enabled while streaming');
  const before = (await assistants(page))[0].text;
  const t0 = Date.now();
  await stop.click({ timeout: 2000 });
  await finalWith(page, 0, 'cancelled', 5000);
  const took = Date.now() - t0;
  notes.push('stop: cancelled ' + took + ' ms after the click');
  check(took < 2500, 'cancelled ' + took + ' ms after Stop (want < 2.5 s)');
  const after = (await assistants(page))[0].text;
  check(after.length > 0 && after.startsWith(before), 'partial text kept (before "' + before.slice(0, 40) +
    '", after "' + after.slice(0, 40) + '")');
  const saved = await agrees(page);
  eq(saved[1].status, 'cancelled', 'stored status');
  check(await stop.isHidden(), 'Stop hidden once the reply ended');
  // The conversation goes on.
  await send(page, 'Sorry, go on. My name is Lee Park.');
  await finalWith(page, 1);
  await agrees(page);
  const cancels = page.__statuses.filter(([m, p]) => m === 'POST' && /\/cancel$/.test(p)).map((x) => x[2]);
  eq(cancels, [202], 'cancel answers');
  await ctx.close();
});

test('Enter sends, Shift+Enter makes a new line', async (browser) => {
  const ctx = await newContext(browser, 'enter');
  const page = await ctx.newPage();
  await page.goto(BASE);
  await page.focus('textarea[name="message"]');
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  eq(await page.inputValue('textarea[name="message"]'), 'line one\nline two', 'textarea value after Shift+Enter');
  await page.waitForTimeout(300);
  eq(await page.$$eval('#messages > *, #queue > *', (e) => e.length), 0, 'nothing shown as sent');
  eq(page.__posts, [], 'POST requests after Shift+Enter');
  await page.keyboard.press('Enter');
  await until(page, 'the user element', () => document.querySelector('#messages [data-role="user"]'), null, 5000);
  eq(await page.inputValue('textarea[name="message"]'), '', 'textarea emptied by Enter');
  await finalWith(page, 0);
  eq((await allBubbles(page))[0].text, 'line one\nline two', 'sent text keeps its newline');
  await agrees(page);
  await ctx.close();
});

test('the page says so when the network fails, and retries by itself', async (browser) => {
  // The one failure caused on purpose: the first POST …/messages is refused.
  const ctx = await newContext(browser, 'network', { allow: [/ERR_CONNECTION_REFUSED/] });
  let refused = 0;
  await ctx.route((url) => url.origin === ORIGIN && /\/messages$/.test(url.pathname), (route) => {
    if (route.request().method() === 'POST' && refused === 0) {
      refused++;
      return route.abort('connectionrefused');
    }
    return route.fallback();
  });
  const page = await ctx.newPage();
  await page.goto(BASE);
  const text = 'Hello, I am Alex Moreno and I need help with a visa.';
  await send(page, text);
  const shownNotice = await until(page, 'a notice about the failure', () => {
    const n = document.getElementById('notice').textContent.trim();
    return n || false;
  }, null, 5000);
  notes.push('network: notice "' + shownNotice + '"');
  eq(await page.$$eval('#queue .bubble', (e) => e.map((b) => b.textContent)), [text], 'the unsent message stays queued');
  await until(page, 'the retried message sent', () => document.querySelector('#messages [data-role="user"]'), null, 8000);
  await finalWith(page, 0);
  eq(refused, 1, 'requests refused on purpose');
  eq(await page.textContent('#notice'), '', 'notice cleared after the retry worked');
  const saved = await agrees(page);
  eq(saved.length, 2, 'stored messages (one turn, not two)');
  await ctx.close();
});

test('screenshots at phone and desktop size', async (browser) => {
  const ctx = await newContext(browser, 'screenshots', { viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  await page.goto(BASE);
  await send(page, 'Hello, my name is Maria Gonzalez. I slipped on a wet floor at a supermarket.');
  await finalWith(page, 0);
  await send(page, 'My number is 555 301 9944, it is fairly urgent.');
  await finalWith(page, 1);
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  fs.mkdirSync(SHOTS, { recursive: true });
  const files = [];
  for (const [name, w, h] of [['intake-phone.png', 390, 844], ['intake.png', 1280, 800]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.waitForTimeout(150);
    const file = path.join(SHOTS, name);
    fs.rmSync(file, { force: true });
    await page.screenshot({ path: file, timeout: 5000 });
    files.push([file, w, h]);
  }
  for (const [file, w, h] of files) {
    check(fs.existsSync(file), file + ' exists');
    const png = fs.readFileSync(file);
    check(png.length > 1000, file + ' is non-trivial (' + png.length + ' bytes)');
    eq(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', file + ' PNG signature');
    eq([png.readUInt32BE(16), png.readUInt32BE(20)], [w, h], file + ' size');
  }
  notes.push('screenshots: ' + files.map((f) => path.relative(TOP, f[0])).join(', '));
  // Horizontal overflow at phone width is a layout bug.
  await page.setViewportSize({ width: 390, height: 844 });
  const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(over <= 0, 'no horizontal scrolling at 390 px (overflow ' + over + ' px)');
  await ctx.close();
});

test('no console errors, page errors, CSP violations or requests off the server', async () => {
  noIssues('console errors / page errors / CSP violations');
  eq(tokenUrls.map((o) => '[' + o.test + '] ' + o.url), [], 'requests with token= in the URL');
});

main('page.test', TEST_TIMEOUT_MS, notes);
