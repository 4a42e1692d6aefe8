// embed.test.mjs: the chat on the firm's own site (www/embed.js) and the
// page's disclosure, in Debian's headless Chromium, against the real
// program under lighttpd.
//
//   EMBED_HOST=http://127.0.0.1:H/ EMBED_OTHER=http://127.0.0.1:O/ EMBED_ADMIN=TOKEN \
//     node tests/browser/embed.test.mjs http://127.0.0.1:PORT/
//
// Started by test_embed.py, which serves the firm's page (EMBED_HOST, an
// origin in INTAKE_EMBED_ORIGINS) and the same page from an origin that is
// not listed (EMBED_OTHER), each with the one tag for BASE's embed.js and a
// strict CSP of its own.  Prints "plan N", then "ok NAME" or "FAIL NAME:
// why" per test, then "embed.test: N passed, N failed".  BROWSER_TEST_ONLY
// (a substring) runs only the tests whose name holds it; SCREENSHOT_DIR is
// where embed*.png go.
//
// Each test gets a fresh browser context (its own storage).  The intake
// page inside the frame is reached through Playwright's frame of the
// <iframe> in the embed's shadow root (CSS selectors pierce open shadow
// roots).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  TOP, BASE, ORIGIN, SHOTS, issues, newContext as baseContext, noIssues, Fail, check, eq, untilWith, getJson,
  test, main
} from './lib.mjs';

const HOST = process.env.EMBED_HOST || '';
const OTHER = process.env.EMBED_OTHER || '';
const ADMIN = process.env.EMBED_ADMIN || '';
const DISCLOSURE_FILE = process.env.EMBED_DISCLOSURE_FILE || '';

const TEST_TIMEOUT_MS = 45000;
const REPLY_MS = 15000;
const STORAGE_KEY = 'intake.conversation';

const LAUNCHER = 'intake-embed button.launcher';
const PANEL = 'intake-embed .panel';
const FRAME = 'intake-embed iframe';
const CLOSE = 'intake-embed button.close';

if (!BASE || !HOST || !OTHER || !ADMIN) {
  console.error('usage: EMBED_HOST=… EMBED_OTHER=… EMBED_ADMIN=… node embed.test.mjs BASE_URL');
  process.exit(2);
}
const HOST_ORIGIN = new URL(HOST).origin;
const OTHER_ORIGIN = new URL(OTHER).origin;

/* ---------- contexts ---------- */

// Installed before any page script, in every frame: CSP violations, and on
// the host page the window's own names once the page has loaded.
function recorder() {
  const rec = window.__embedRec = { csp: [] };
  document.addEventListener('securitypolicyviolation', (e) => {
    rec.csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + location.origin);
  });
}

// lib.mjs's context (requests off the server refused), letting the two
// sites' pages through too; opts as lib.mjs's newContext.
async function newContext(browser, name, opts = {}) {
  const ctx = await baseContext(browser, name, opts);
  await ctx.route((url) => url.origin === HOST_ORIGIN || url.origin === OTHER_ORIGIN,
    (route) => route.continue());
  await ctx.addInitScript(recorder);
  return ctx;
}

/* ---------- helpers ---------- */

// The intake page's frame inside the embed (waits for the <iframe>).
async function intakeFrame(page) {
  const handle = await page.waitForSelector(FRAME, { state: 'attached', timeout: 5000 });
  const frame = await handle.contentFrame();
  check(frame, 'the embed\'s <iframe> has a frame');
  return frame;
}

async function frameDom(frame) {
  try {
    return await frame.evaluate(() => ({
      url: location.href,
      messages: Array.from(document.querySelectorAll('#messages [data-role]'),
        (b) => [b.dataset.role, b.dataset.status, b.textContent.slice(0, 50)]),
      queue: Array.from(document.querySelectorAll('#queue .bubble'), (b) => b.textContent.slice(0, 50)),
      notice: (document.getElementById('notice') || {}).textContent
    }));
  } catch (e) {
    return String(e);
  }
}

async function embedState(page) {
  try {
    return await page.evaluate(() => {
      const host = document.querySelector('intake-embed');
      if (!host) return 'no <intake-embed>';
      const r = host.shadowRoot;
      const b = r.querySelector('button.launcher');
      return {
        expanded: b.getAttribute('aria-expanded'),
        panelHidden: r.querySelector('.panel').hidden,
        active: document.activeElement && document.activeElement.tagName,
        shadowActive: r.activeElement ? r.activeElement.className || r.activeElement.tagName : null
      };
    });
  } catch (e) {
    return String(e);
  }
}

// until(pageOrFrame, what, fn, arg, ms): fn(arg) truthy in that frame.
const until = untilWith(async (p) => {
  const isFrame = typeof p.parentFrame === 'function';
  return isFrame ? 'frame: ' + JSON.stringify(await frameDom(p)) : 'embed: ' + JSON.stringify(await embedState(p));
}, REPLY_MS, 25);

function assistantFinal(frame, n, status = 'complete', ms = REPLY_MS) {
  return until(frame, 'assistant #' + n + ' ' + status, ([n]) => {
    const b = document.querySelectorAll('#messages [data-role="assistant"]')[n];
    return b && b.dataset.status && b.dataset.status !== 'streaming' ? b.dataset.status : false;
  }, [n], ms).then((got) => eq(got, status, 'assistant #' + n + ' final data-status'));
}

function assistantStreaming(frame, n, chars, ms = 10000) {
  return until(frame, 'assistant #' + n + ' streaming with >= ' + chars + ' characters', ([n, chars]) => {
    const b = document.querySelectorAll('#messages [data-role="assistant"]')[n];
    if (!b) return false;
    if (b.dataset.status !== 'streaming') return b.dataset.status ? { ended: b.dataset.status } : false;
    return b.textContent.length >= chars ? { len: b.textContent.length } : false;
  }, [n, chars], ms).then((r) => {
    if (r.ended) throw new Fail('assistant #' + n + ' ended (' + r.ended + ') before ' + chars + ' characters');
    return r;
  });
}

function bubbles(frame) {
  return frame.$$eval('#messages [data-role]', (els) => els.map((b) => ({
    role: b.dataset.role, status: b.dataset.status, text: b.textContent, id: b.dataset.messageId || ''
  })));
}

async function storedConv(frame) {
  const raw = await frame.evaluate((k) => localStorage.getItem(k), STORAGE_KEY);
  check(raw, 'the intake page\'s localStorage "' + STORAGE_KEY + '" is set');
  return JSON.parse(raw);
}

// The frame's messages and the stored ones agree.
async function agrees(frame) {
  const conv = await storedConv(frame);
  const saved = (await getJson('api/conversations/' + encodeURIComponent(conv.id), conv.token,
    'GET /api/conversations/{id}')).messages;
  const shown = await bubbles(frame);
  eq(shown.map((m) => [m.role, m.status, m.text, m.id]), saved.map((m) => [m.role, m.status, m.text, m.id]),
    'the frame\'s messages vs the API');
  return { conv, saved };
}

// Tab through the host page until the launcher has the focus.
async function tabToLauncher(page) {
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    const on = await page.evaluate(() => {
      const host = document.querySelector('intake-embed');
      return !!host && document.activeElement === host &&
        host.shadowRoot.activeElement === host.shadowRoot.querySelector('button.launcher');
    });
    if (on) return i + 1;
  }
  throw new Fail('Tab never reached the launcher: ' + JSON.stringify(await embedState(page)));
}

function launcherFocused(page) {
  return page.evaluate(() => {
    const host = document.querySelector('intake-embed');
    return document.activeElement === host &&
      host.shadowRoot.activeElement === host.shadowRoot.querySelector('button.launcher');
  });
}

function box(a) {
  return a ? { x: Math.round(a.x), y: Math.round(a.y), w: Math.round(a.width), h: Math.round(a.height) } : null;
}

function overlaps(a, b) {
  if (!a || !b) return false;
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function inside(a, vw, vh) {
  return a && a.x >= -0.5 && a.y >= -0.5 && a.x + a.width <= vw + 0.5 && a.y + a.height <= vh + 0.5;
}

async function send(page, text) {
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

const sha256 = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

// The bodies of the POST …/messages a page (any of its frames) sent.
function watchPosts(page) {
  const bodies = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && /\/messages$/.test(new URL(req.url()).pathname)) {
      bodies.push(JSON.parse(req.postData() || '{}'));
    }
  });
  return bodies;
}

const notes = [];

/* ---------- the tests ---------- */

test('the launcher is a real button: keyboard opens the chat, a reply streams, Escape closes and the focus returns',
  async (browser) => {
    const ctx = await newContext(browser, 'keyboard');
    const page = await ctx.newPage();
    const bodies = watchPosts(page);
    await page.goto(HOST);
    const launcher = page.locator(LAUNCHER);
    await launcher.waitFor({ state: 'visible', timeout: 5000 });
    const attrs = await launcher.evaluate((b) => ({
      tag: b.tagName, type: b.type, expanded: b.getAttribute('aria-expanded'), label: b.getAttribute('aria-label'),
      controls: b.getAttribute('aria-controls'), text: b.textContent.trim(), position: getComputedStyle(b).position,
      panel: b.getRootNode().getElementById(b.getAttribute('aria-controls')) ? true : false
    }));
    eq([attrs.tag, attrs.type, attrs.expanded, attrs.position], ['BUTTON', 'button', 'false', 'fixed'],
      'launcher tag, type, aria-expanded, position');
    check(attrs.label && attrs.label.includes(attrs.text), 'aria-label "' + attrs.label + '" holds the visible words "' +
      attrs.text + '"');
    check(attrs.panel, 'aria-controls names the panel (' + attrs.controls + ')');
    const b0 = await launcher.boundingBox();
    check(b0.width >= 44 && b0.height >= 44, 'launcher at least 44×44 (' + JSON.stringify(box(b0)) + ')');
    check(b0.x + b0.width > 1280 - 120 && b0.y + b0.height > 800 - 120,
      'launcher in the bottom right corner (' + JSON.stringify(box(b0)) + ')');

    const tabs = await tabToLauncher(page);
    const ring = await launcher.evaluate((b) => ({
      visible: b.matches(':focus-visible'), style: getComputedStyle(b).outlineStyle,
      width: parseFloat(getComputedStyle(b).outlineWidth)
    }));
    check(ring.visible && ring.style !== 'none' && ring.width >= 2,
      'a visible focus ring on the launcher after Tab (' + JSON.stringify(ring) + ')');
    notes.push('keyboard: the launcher is reached with ' + tabs + ' Tab(s) on the test page');
    await page.keyboard.press('Enter');
    await until(page, 'the panel open', () => {
      const r = document.querySelector('intake-embed').shadowRoot;
      return !r.querySelector('.panel').hidden &&
        r.querySelector('button.launcher').getAttribute('aria-expanded') === 'true';
    }, null, 5000);
    const iframe = await page.locator(FRAME).evaluate((f) => ({ title: f.title, src: f.src }));
    check(iframe.title.trim().length > 0, 'the iframe has a title');
    eq(iframe.src, BASE, 'the iframe shows the intake page (the folder of embed.js)');
    const frame = await intakeFrame(page);
    await until(frame, 'the intake form in the frame', () => !!document.getElementById('intake-form'), null, 10000);
    // The focus is in the frame's message box: the visitor types at once.
    await until(frame, 'the message box focused', () =>
      document.hasFocus() && document.activeElement === document.querySelector('textarea[name="message"]'),
    null, 5000);
    const disclosure = await frame.evaluate(() => {
      const d = document.getElementById('disclosure');
      return d && { hidden: d.hidden, open: d.open, text: d.querySelector('.disclosure-text').textContent };
    });
    const text = 'Hello, my name is Nora Quist. A delivery van hit my bicycle on Monday.';
    await send(page, text);
    await assistantStreaming(frame, 0, 1);
    await assistantFinal(frame, 0);
    const { saved } = await agrees(frame);
    eq(saved[0].text, text, 'the stored message');
    eq(bodies.length, 1, 'POST …/messages sent');
    check(disclosure && !disclosure.hidden && disclosure.open && disclosure.text,
      'the disclosure shown in the frame before the first message: ' + JSON.stringify(disclosure));
    eq(bodies[0].disclosure, sha256(disclosure.text),
      'the first message from the frame carries the SHA-256 of the disclosure shown in it');

    // Escape inside the frame closes the panel; the focus is back on the button.
    await page.keyboard.press('Escape');
    await until(page, 'the panel closed with the focus on the launcher', () => {
      const host = document.querySelector('intake-embed');
      const r = host.shadowRoot;
      return r.querySelector('.panel').hidden && document.activeElement === host &&
        r.activeElement === r.querySelector('button.launcher') &&
        r.querySelector('button.launcher').getAttribute('aria-expanded') === 'false';
    }, null, 5000);
    // Space opens it again: the same conversation, the same page (not reloaded).
    await page.keyboard.press('Space');
    await until(page, 'the panel open again', () =>
      !document.querySelector('intake-embed').shadowRoot.querySelector('.panel').hidden, null, 5000);
    eq((await bubbles(frame)).map((m) => m.role), ['user', 'assistant'], 'the conversation when opened again');
    // Escape on the panel's own close button, and the close button itself.
    await page.locator(CLOSE).focus();
    await page.keyboard.press('Escape');
    await until(page, 'closed by Escape on the close button', () =>
      document.querySelector('intake-embed').shadowRoot.querySelector('.panel').hidden, null, 5000);
    check(await launcherFocused(page), 'the focus on the launcher after Escape on the close button');
    await launcher.click();
    await page.locator(CLOSE).click();
    await until(page, 'closed by the close button', () =>
      document.querySelector('intake-embed').shadowRoot.querySelector('.panel').hidden, null, 5000);
    check(await launcherFocused(page), 'the focus on the launcher after the close button');
    await ctx.close();
  });

test('the conversation survives a reload of the host page, mid-reply too, and lives in the intake page\'s storage',
  async (browser) => {
    const ctx = await newContext(browser, 'reload');
    const page = await ctx.newPage();
    await page.goto(HOST);
    await page.locator(LAUNCHER).click();
    let frame = await intakeFrame(page);
    await until(frame, 'the message box focused', () =>
      document.activeElement === document.querySelector('textarea[name="message"]'), null, 10000);
    const text = 'Hi, I am Oskar Lind. My landlord will not return my deposit and I need advice on what to do.';
    await send(page, text);
    await assistantStreaming(frame, 0, 30);
    const before = (await bubbles(frame))[1].text;
    const conv = await storedConv(frame);

    await page.reload({ timeout: 10000 });
    // The panel was open: it opens again by itself, without taking the focus.
    await until(page, 'the panel open again after the reload', () => {
      const host = document.querySelector('intake-embed');
      return host && !host.shadowRoot.querySelector('.panel').hidden;
    }, null, 5000);
    frame = await intakeFrame(page);
    const first = await until(frame, 'the reply shown after the reload', () => {
      const b = document.querySelector('#messages [data-role="assistant"]');
      return b ? { status: b.dataset.status, len: b.textContent.length } : false;
    }, null, 10000);
    eq(first.status, 'streaming', 'the reply when first shown after the reload (slow the model if it ended)');
    check(first.len > 0, 'its partial text shown after the reload');
    await assistantFinal(frame, 0);
    const shown = await bubbles(frame);
    eq(shown.map((m) => m.role), ['user', 'assistant'], 'one user and one assistant message after the reload');
    eq(shown[0].text, text, 'the user message after the reload');
    check(shown[1].text.startsWith(before), 'the reply goes on from what was shown before the reload');
    const after = await agrees(frame);
    eq(after.conv.id, conv.id, 'the same conversation after the reload');
    eq(after.saved[1].status, 'complete', 'stored status');
    const focus = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
    eq(focus, 'BODY', 'the focus after the reload (a panel that reopens by itself takes none)');

    // The conversation is the intake page's, in its own storage: the host's
    // has none of it, and the page alone (same site here) shows it too.
    const hostKeys = await page.evaluate(() => Object.keys(localStorage));
    eq(hostKeys, [], 'the host page\'s localStorage keys');
    const alone = await ctx.newPage();
    await alone.goto(BASE);
    await until(alone, 'the conversation on the page alone', (n) =>
      document.querySelectorAll('#messages [data-role]').length === n, 2, 10000);
    eq((await bubbles(alone)).map((m) => m.text), shown.map((m) => m.text), 'the page alone shows the same');
    await ctx.close();
  });

test('in the frame: a message sent mid-reply is queued, Stop cancels, the queued one goes next', async (browser) => {
  const ctx = await newContext(browser, 'queue and stop');
  const page = await ctx.newPage();
  const bodies = watchPosts(page);
  await page.goto(HOST);
  await page.locator(LAUNCHER).click();
  const frame = await intakeFrame(page);
  await until(frame, 'the message box focused', () =>
    document.activeElement === document.querySelector('textarea[name="message"]'), null, 10000);
  await send(page, 'Good evening, this is Petra Holm. My employer has not paid me for two months.');
  await assistantStreaming(frame, 0, 10);
  const second = 'You can reach me at 555 301 2222.';
  await send(page, second);
  const mid = await frame.evaluate(() => ({
    queued: Array.from(document.querySelectorAll('#queue .bubble'), (b) => b.textContent),
    disabled: document.querySelector('textarea[name="message"]').disabled,
    stop: !document.querySelector('[data-action="stop"]').hidden
  }));
  eq(mid, { queued: [second], disabled: false, stop: true }, 'while the first reply streams');
  await frame.locator('[data-action="stop"]').click({ timeout: 2000 });
  await assistantFinal(frame, 0, 'cancelled', 5000);
  await assistantFinal(frame, 1);
  const shown = await bubbles(frame);
  eq(shown.map((m) => [m.role, m.status]), [['user', 'complete'], ['assistant', 'cancelled'],
    ['user', 'complete'], ['assistant', 'complete']], 'messages after Stop and the queued one');
  eq(shown[2].text, second, 'the queued message, sent after the stopped reply');
  await agrees(frame);
  eq(bodies.length, 2, 'POST …/messages sent');
  check(!('disclosure' in bodies[1]), 'the second message carries no disclosure');
  await ctx.close();
});

test('a site not in INTAKE_EMBED_ORIGINS cannot frame the chat', async (browser) => {
  const ctx = await newContext(browser, 'not listed', { allow: [/Refused to frame/, /frame-ancestors/] });
  const page = await ctx.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  await page.goto(OTHER);
  await page.locator(LAUNCHER).click({ timeout: 5000 });
  const handle = await page.waitForSelector(FRAME, { state: 'attached', timeout: 5000 });
  let frame = null;
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    frame = await handle.contentFrame();
    if (frame && /^chrome-error:/.test(frame.url())) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  check(frame && /^chrome-error:/.test(frame.url()), 'the frame shows Chromium\'s error page (url ' +
    (frame && frame.url()) + ')');
  let form = null;
  try {
    form = await frame.evaluate(() => !!document.getElementById('intake-form') ||
      !!document.querySelector('textarea[name="message"]'));
  } catch (e) {
    form = false;   // not even a document to ask: unreachable
  }
  eq(form, false, 'the intake form in the refused frame');
  check(consoleLines.some((l) => /frame-ancestors/.test(l) && l.includes(HOST_ORIGIN)),
    'the console names the frame-ancestors directive with the listed origin only: ' + JSON.stringify(consoleLines));
  eq(await page.evaluate(() => Object.keys(localStorage)), [], 'the other site\'s localStorage');
  await ctx.close();
});

// The host page's own elements, as computed, and what the window holds.
function hostSnapshot(page) {
  return page.evaluate(() => {
    const props = ['display', 'position', 'fontFamily', 'fontSize', 'color', 'backgroundColor', 'margin', 'padding',
      'transform', 'opacity', 'boxSizing', 'width', 'height', 'overflow', 'borderTopWidth', 'lineHeight'];
    const out = {};
    for (const sel of ['html', 'body', 'header', 'nav', '#host-title', '#host-link', '#host-text', '#host-button',
      'main', '.site-footer']) {
      const el = document.querySelector(sel);
      const cs = getComputedStyle(el);
      out[sel] = props.map((p) => cs[p]).join(' | ');
    }
    return {
      styles: out,
      globals: Object.getOwnPropertyNames(window).filter((n) => !n.startsWith('__')).sort(),
      bodyChildren: Array.from(document.body.children, (e) => e.tagName),
      headChildren: document.head.children.length,
      sheets: document.styleSheets.length,
      adopted: document.adoptedStyleSheets ? document.adoptedStyleSheets.length : 0,
      scroll: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
      csp: window.__embedRec.csp
    };
  });
}

test('the host page is untouched: one global, its own styles as they were, its strict CSP needs nothing inline',
  async (browser) => {
    // The same page with an empty embed.js: what the page is without the chat.
    const bare = await newContext(browser, 'untouched (bare)');
    await bare.route((url) => url.origin === ORIGIN && url.pathname === '/embed.js',
      (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
    const p0 = await bare.newPage();
    await p0.goto(HOST);
    await p0.waitForLoadState('load');
    await p0.waitForTimeout(300);
    const without = await hostSnapshot(p0);
    await bare.close();

    const ctx = await newContext(browser, 'untouched');
    const page = await ctx.newPage();
    await page.goto(HOST);
    await page.locator(LAUNCHER).waitFor({ state: 'visible', timeout: 5000 });
    const closed = await hostSnapshot(page);
    await page.locator(LAUNCHER).click();
    const frame = await intakeFrame(page);
    await until(frame, 'the intake form in the frame', () => !!document.getElementById('intake-form'), null, 10000);
    const open = await hostSnapshot(page);

    for (const [what, snap] of [['closed', closed], ['open', open]]) {
      eq(snap.styles, without.styles, 'the host\'s elements as computed, the chat ' + what);
      eq(snap.globals.filter((n) => !without.globals.includes(n)), ['IntakeEmbed'],
        'globals the chat added (' + what + ')');
      eq(without.globals.filter((n) => !snap.globals.includes(n)), [], 'globals the chat removed (' + what + ')');
      eq(snap.bodyChildren, without.bodyChildren.concat(['INTAKE-EMBED']), 'the body\'s children (' + what + ')');
      eq([snap.headChildren, snap.sheets, snap.adopted], [without.headChildren, without.sheets, without.adopted],
        'the head\'s children, the document\'s style sheets (' + what + ')');
      eq(snap.scroll, without.scroll, 'the host page\'s scroll size (' + what + ')');
      eq(snap.csp, [], 'CSP violations on the host page (' + what + ')');
    }
    // The host's hostile styles do not reach inside (the pointer away: no hover).
    await page.mouse.move(5, 5);
    const look = await page.evaluate(() => {
      const r = document.querySelector('intake-embed').shadowRoot;
      const b = r.querySelector('button.launcher');
      const f = r.querySelector('iframe');
      const cs = getComputedStyle(b);
      return {
        bg: cs.backgroundColor, size: cs.fontSize, svg: getComputedStyle(b.querySelector('svg')).display,
        frameBorder: getComputedStyle(f).borderTopWidth, frameWidth: f.getBoundingClientRect().width,
        hostTransform: getComputedStyle(document.querySelector('intake-embed')).transform,
        panelHidden: getComputedStyle(r.querySelector('.panel')).display
      };
    });
    eq([look.bg, look.size, look.svg, look.frameBorder, look.hostTransform],
      ['rgb(31, 58, 95)', '16px', 'block', '0px', 'none'], 'the launcher and frame under the host\'s styles');
    check(look.frameWidth >= 300, 'the frame is ' + look.frameWidth + ' px wide');
    eq(await frame.evaluate(() => window.__embedRec.csp), [], 'CSP violations inside the frame');
    await page.locator(CLOSE).click();
    eq(await page.evaluate(() => getComputedStyle(
      document.querySelector('intake-embed').shadowRoot.querySelector('.panel')).display), 'none',
    'the panel closed despite the host\'s [hidden] { display: block !important }');
    await ctx.close();
  });

test('the disclosure is shown before the first message, as text, and the first message carries its SHA-256',
  async (browser) => {
    const res = await fetch(BASE + 'api/disclosure', { signal: AbortSignal.timeout(5000) });
    eq(res.status, 200, 'GET /api/disclosure');
    const api = await res.json();
    eq(api.sha256, sha256(api.text), 'the API\'s sha256 is the SHA-256 of its text');
    if (DISCLOSURE_FILE) eq(api.text, fs.readFileSync(DISCLOSURE_FILE, 'utf8'), 'the text of INTAKE_DISCLOSURE_FILE');

    const ctx = await newContext(browser, 'disclosure');
    const page = await ctx.newPage();
    const bodies = watchPosts(page);
    await page.goto(BASE);
    await until(page, 'the disclosure shown', () => {
      const d = document.getElementById('disclosure');
      return d && !d.hidden && d.open && d.getBoundingClientRect().height > 0;
    }, null, 5000);
    const shown = await page.evaluate(() => {
      const d = document.getElementById('disclosure');
      const t = d.querySelector('.disclosure-text');
      const m = document.getElementById('messages');
      return {
        text: t.textContent, elements: t.childElementCount,
        above: d.getBoundingClientRect().bottom <= m.getBoundingClientRect().top + 1,
        pwned: typeof window.__pwned,
        input: !document.querySelector('textarea[name="message"]').disabled &&
          !document.querySelector('textarea[name="message"]').readOnly,
        modal: !!document.querySelector('dialog[open], [aria-modal="true"]')
      };
    });
    eq(shown, { text: api.text, elements: 0, above: true, pwned: 'undefined', input: true, modal: false },
      'the disclosure as shown (text as text, above the conversation, nothing blocking the message box)');
    await page.focus('textarea[name="message"]');
    await send(page, 'Hello, I am Ines Varga, phone 555 777 1234. My neighbour\'s tree fell on my car.');
    await until(page, 'the first reply complete', () => {
      const b = document.querySelector('#messages [data-role="assistant"]');
      return b && b.dataset.status === 'complete';
    });
    eq(bodies.length, 1, 'POST …/messages sent');
    eq(bodies[0].disclosure, api.sha256, 'the first message\'s "disclosure"');
    await send(page, 'It happened yesterday evening.');
    await until(page, 'the second reply complete', () => {
      const b = document.querySelectorAll('#messages [data-role="assistant"]')[1];
      return b && b.dataset.status === 'complete';
    });
    eq(bodies.length, 2, 'POST …/messages sent');
    check(!('disclosure' in bodies[1]), 'the second message carries no disclosure: ' + JSON.stringify(bodies[1]));
    eq(await page.evaluate(() => document.getElementById('disclosure').open), false,
      'the disclosure folded once the conversation has messages');

    // The lead records what was shown, and when.
    const conv = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), STORAGE_KEY));
    let lead = null;
    for (const t0 = Date.now(); Date.now() - t0 < 15000;) {
      const r = await fetch(BASE + 'api/leads/' + encodeURIComponent(conv.id), {
        headers: { Authorization: 'Bearer ' + ADMIN }, signal: AbortSignal.timeout(5000)
      });
      if (r.status === 200) { lead = await r.json(); break; }
      await new Promise((res) => setTimeout(res, 200));
    }
    check(lead, 'GET /api/leads/{id} answered 200');
    check(lead.disclosure && lead.disclosure.sha256 === api.sha256 && typeof lead.disclosure.at === 'string' &&
      lead.disclosure.at.length > 0, 'the lead\'s "disclosure": ' + JSON.stringify(lead.disclosure));

    // A reload: still there, folded, opens with a click.
    await page.reload({ timeout: 10000 });
    await until(page, 'the conversation after the reload', () =>
      document.querySelectorAll('#messages [data-role]').length === 4, null, 10000);
    await until(page, 'the disclosure after the reload', () =>
      !document.getElementById('disclosure').hidden, null, 5000);
    eq(await page.evaluate(() => document.getElementById('disclosure').open), false, 'folded after the reload');
    await page.click('#disclosure summary');
    eq(await page.evaluate(() => document.getElementById('disclosure').open), true, 'opened with a click');
    // Start over: a new conversation shows it open again.
    page.once('dialog', (d) => d.accept());
    await page.click('[data-action="start-over"]');
    await until(page, 'the disclosure open again after Start over', () =>
      document.getElementById('disclosure').open && !document.querySelector('#messages [data-role]'), null, 5000);
    await ctx.close();
  });

test('without its disclosure (the request fails) the page still works and sends none', async (browser) => {
  const ctx = await newContext(browser, 'no disclosure', { allow: [/status of 503/] });
  let asked = 0;
  await ctx.route((url) => url.origin === ORIGIN && url.pathname === '/api/disclosure', (route) => {
    asked++;
    return route.fulfill({
      status: 503, contentType: 'application/json',
      body: '{"error":{"code":"unavailable","message":"Try again."}}'
    });
  });
  const page = await ctx.newPage();
  const bodies = watchPosts(page);
  await page.goto(BASE);
  await page.focus('textarea[name="message"]');
  await send(page, 'Hi, I am Leo Park. I need help with a will.');
  await until(page, 'the reply complete', () => {
    const b = document.querySelector('#messages [data-role="assistant"]');
    return b && b.dataset.status === 'complete';
  });
  eq(await page.evaluate(() => document.getElementById('disclosure').hidden), true, 'the disclosure stays hidden');
  eq(bodies.length, 1, 'POST …/messages sent');
  check(!('disclosure' in bodies[0]), 'no "disclosure" in the message: ' + JSON.stringify(bodies[0]));
  eq(await page.textContent('#notice'), '', 'no notice about it');
  check(asked >= 1 && asked <= 3, 'GET /api/disclosure tried ' + asked + ' time(s) (1 to 3)');
  await ctx.close();
});

// Screenshots of the embed closed and open, with the checks that make them
// worth having: nothing wider than the viewport, nothing covering the
// frame's message box or Send button.
async function shots(browser, label, viewport, mobile) {
  const ctx = await newContext(browser, 'screenshots ' + label, {
    viewport, context: mobile ? { isMobile: true, hasTouch: true } : {}
  });
  const page = await ctx.newPage();
  await page.goto(HOST);
  const launcher = page.locator(LAUNCHER);
  await launcher.waitFor({ state: 'visible', timeout: 5000 });
  fs.mkdirSync(SHOTS, { recursive: true });
  const files = [];
  const shot = async (name) => {
    const file = path.join(SHOTS, name);
    fs.rmSync(file, { force: true });
    await page.screenshot({ path: file, timeout: 5000 });
    files.push(file);
  };
  const vw = viewport.width;
  const vh = viewport.height;
  const wide = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

  const lb = await launcher.boundingBox();
  check(inside(lb, vw, vh) && lb.width >= 44 && lb.height >= 44,
    label + ': the launcher, at least 44×44, inside the viewport (' + JSON.stringify(box(lb)) + ')');
  check(await wide() <= 0, label + ': the host page no wider than the viewport, chat closed');
  await shot('embed-closed' + (mobile ? '-phone' : '') + '.png');

  await launcher.click();
  const frame = await intakeFrame(page);
  await until(frame, 'the message box focused', () =>
    document.activeElement === document.querySelector('textarea[name="message"]'), null, 10000);
  await send(page, 'Hello, my name is Maria Gonzalez. I slipped on a wet floor at a supermarket.');
  await assistantFinal(frame, 0);
  await frame.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.waitForTimeout(200);
  await shot('embed-open' + (mobile ? '-phone' : '') + '.png');

  const panel = await page.locator(PANEL).boundingBox();
  const fbox = await page.locator(FRAME).boundingBox();
  const input = await frame.locator('textarea[name="message"]').boundingBox();
  const sendBtn = await frame.locator('#intake-form button[type="submit"]').boundingBox();
  const closeBtn = await page.locator(CLOSE).boundingBox();
  const lOpen = await launcher.isVisible() ? await launcher.boundingBox() : null;
  check(inside(panel, vw, vh), label + ': the panel inside the viewport (' + JSON.stringify(box(panel)) + ')');
  check(inside(input, vw, vh) && overlaps(input, fbox), label + ': the frame\'s message box in view (' +
    JSON.stringify(box(input)) + ')');
  check(inside(sendBtn, vw, vh), label + ': the frame\'s Send button in view (' + JSON.stringify(box(sendBtn)) + ')');
  check(!overlaps(lOpen, input) && !overlaps(lOpen, sendBtn), label + ': the launcher (' + JSON.stringify(box(lOpen)) +
    ') covers neither the message box (' + JSON.stringify(box(input)) + ') nor Send (' + JSON.stringify(box(sendBtn)) + ')');
  check(!overlaps(lOpen, panel), label + ': the launcher outside the panel');
  check(closeBtn && closeBtn.width >= 44 && closeBtn.height >= 44 && inside(closeBtn, vw, vh),
    label + ': a close button of at least 44×44 in view (' + JSON.stringify(box(closeBtn)) + ')');
  if (mobile) {
    check(panel.width >= vw - 1 && panel.height >= vh - 1, label + ': the panel takes the screen (' +
      JSON.stringify(box(panel)) + ')');
  } else {
    check(lOpen && panel.width <= 440 && panel.y + panel.height <= lOpen.y, label +
      ': a panel above the launcher, which stays to close it (' + JSON.stringify([box(panel), box(lOpen)]) + ')');
  }
  check(await wide() <= 0, label + ': the host page no wider than the viewport, chat open');
  const inner = await frame.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(inner <= 0, label + ': the intake page no wider than its frame (overflow ' + inner + ' px)');
  for (const file of files) {
    const png = fs.readFileSync(file);
    eq(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', file + ' PNG signature');
    eq([png.readUInt32BE(16), png.readUInt32BE(20)], [vw, vh], file + ' size');
  }
  notes.push('screenshots: ' + files.map((f) => path.relative(TOP, f)).join(', '));
  await ctx.close();
}

test('screenshots at desktop width, closed and open: nothing overflows, nothing covers the message box',
  (browser) => shots(browser, 'desktop', { width: 1280, height: 800 }, false));

test('screenshots at phone width, closed and open: nothing overflows, nothing covers the message box',
  (browser) => shots(browser, 'phone', { width: 390, height: 844 }, true));

test('no console errors, page errors or requests off the three origins', async () => {
  noIssues('console errors / page errors');
});

main('embed.test', TEST_TIMEOUT_MS, notes);
