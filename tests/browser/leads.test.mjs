// leads.test.mjs: the leads page's notifications (www/leads.js) in Debian's
// headless Chromium, against the real program under lighttpd.
//
//   node tests/browser/leads.test.mjs http://127.0.0.1:PORT/
//
// Started by test_leads.py, which makes a lead whose e-mail was sent and
// whose webhook failed (real SMTP and HTTP receivers on loopback) and
// passes LEADS_ADMIN_TOKEN, LEADS_CONV, LEADS_EMAIL_ID and LEADS_WEBHOOK_ID.
// Prints "plan N", then "ok NAME" or "FAIL NAME: why" per test, then
// "leads.test: N passed, N failed".  BROWSER_TEST_ONLY (a substring) runs
// only the tests whose name holds it; SCREENSHOT_DIR is where the phone
// screenshot goes.
//
// The tests run in order: the second sends the failed webhook again, so
// it is no longer failed afterwards.  The third answers the page with
// made-up leads (a route in the browser) for what the real server cannot
// be made to say on cue: markup in an error, a 409, a 404, a 401.
import fs from 'node:fs';
import path from 'node:path';
import { BASE, ORIGIN, SHOTS, staffContext as newContext, signIn, noIssues, check, eq, untilWith, getJson, test, main }
  from './lib.mjs';

const ADMIN = process.env.LEADS_ADMIN_TOKEN || '';
const CONV = process.env.LEADS_CONV || '';
const EMAIL_ID = process.env.LEADS_EMAIL_ID || '';
const WEBHOOK_ID = process.env.LEADS_WEBHOOK_ID || '';
// The fragment of the link the webhook carried (leads.html#ID).
const LINK_HASH = process.env.LEADS_LINK_HASH || '';

const TEST_TIMEOUT_MS = 45000;
const WAIT_MS = 10000;

if (!BASE || !ADMIN || !CONV || !EMAIL_ID || !WEBHOOK_ID || !LINK_HASH) {
  console.error('usage: LEADS_ADMIN_TOKEN=… LEADS_CONV=… LEADS_EMAIL_ID=… LEADS_WEBHOOK_ID=… ' +
    'LEADS_LINK_HASH=… node leads.test.mjs BASE_URL');
  process.exit(2);
}

/* ---------- helpers ---------- */

// What the notifications list shows, one object per line.
function shown(page) {
  return page.$$eval('#notifications li', (lis) => lis.map((li) => {
    const err = li.querySelector('.notify-error');
    const btn = li.querySelector('button[data-action="notify-retry"]');
    return {
      id: li.dataset.id || '',
      status: li.dataset.status || '',
      line: (li.querySelector('.notify-line') || li).textContent,
      error: err ? err.textContent : null,
      errorElements: err ? err.childElementCount : 0,
      button: btn ? btn.textContent : null
    };
  }));
}

const until = untilWith(async (page) => 'shown: ' + JSON.stringify(await shown(page).catch(String)) +
  ', status line: ' + JSON.stringify(await page.textContent('#leads-status').catch(String)), WAIT_MS, 50);

function lineOf(page, id, status) {
  return until(page, 'the line of ' + id + (status ? ' ' + status : ''), ([id, status]) => {
    const li = document.querySelector('#notifications li[data-id="' + id + '"]');
    return li && !document.getElementById('detail-view').hidden &&
      (!status || li.dataset.status === status) ? true : false;
  }, [id, status]).then(async () => (await shown(page)).find((n) => n.id === id));
}

function apiLead() {
  return getJson('api/leads/' + encodeURIComponent(CONV), ADMIN, 'GET /api/leads/{id}');
}

/* ---------- the tests ---------- */

test('the list opens the lead: the e-mail sent, the webhook failed with its error as text', async (browser) => {
  // The first request goes without a token and is refused: the page asks.
  const ctx = await newContext(browser, 'lines', { allow: [/status of 401/] });
  const page = await ctx.newPage();
  await signIn(page, ADMIN, WAIT_MS);
  const row = page.locator('#leads-table tr[data-id="' + CONV + '"] a.row-link');
  await row.waitFor({ timeout: WAIT_MS });
  eq(await row.textContent(), 'Jane Doe', 'the lead\'s name in the list');
  await row.click();

  const hook = await lineOf(page, WEBHOOK_ID);
  const mail = await lineOf(page, EMAIL_ID);
  const api = await apiLead();
  const apiHook = api.notifications.find((n) => n.id === WEBHOOK_ID);
  eq(apiHook.status, 'failed', 'the API\'s webhook status');

  check(/^E-mail · New lead · sent [0-9]{2}:[0-9]{2} \(1 try\)$/.test(mail.line),
    'the e-mail line reads "E-mail · New lead · sent HH:MM (1 try)": ' + JSON.stringify(mail.line));
  eq([mail.status, mail.error, mail.button], ['sent', null, null], 'the e-mail line: status, error, button');

  eq(hook.status, 'failed', 'the webhook line\'s data-status');
  eq(hook.line, 'Webhook · New lead · failed after 2 tries — ' + apiHook.last_error, 'the webhook line');
  eq(hook.error, apiHook.last_error, 'the error shown is the API\'s last_error');
  eq(hook.errorElements, 0, 'elements inside the shown error');
  eq(hook.button, 'Send again', 'the failed line\'s button');
  eq((await shown(page)).length, 2, 'lines in the notifications list');
  // Still the page it was: the fields and the history are there.
  check(await page.locator('#fields-table tbody tr').count() >= 6, 'the fields table is filled');
  check(await page.locator('#extractions li').count() >= 1, 'the extraction history is filled');
  await ctx.close();
});

test('the notification\'s link opens the lead; Send again: one POST with the admin token, pending, then sent', async (browser) => {
  const ctx = await newContext(browser, 'send again', { token: ADMIN });
  const page = await ctx.newPage();
  await page.goto(BASE + 'leads.html#' + LINK_HASH);
  await lineOf(page, WEBHOOK_ID, 'failed');
  eq(await page.evaluate(() => location.hash), '#lead=' + CONV, 'the address once the link opened the lead');
  const button = page.locator('#notifications li[data-id="' + WEBHOOK_ID + '"] button[data-action="notify-retry"]');
  const answered = page.waitForResponse((res) => res.request().method() === 'POST', { timeout: WAIT_MS });
  await button.click();
  const res = await answered;
  const req = res.request();
  eq(new URL(req.url()).pathname, '/api/leads/' + CONV + '/notifications/' + WEBHOOK_ID + '/retry', 'the POST\'s path');
  eq((await req.allHeaders()).authorization, 'Bearer ' + ADMIN, 'the POST\'s Authorization');
  eq([res.status(), await res.json()], [202, { status: 'pending' }], 'the retry\'s answer');

  const after = await lineOf(page, WEBHOOK_ID, 'pending');
  check(/^Webhook · New lead · (retrying — .+|waiting to be sent|sending again soon)$/.test(after.line),
    'the line after Send again: ' + JSON.stringify(after.line));
  eq(after.button, null, 'no Send again on a pending line');
  eq(await page.textContent('#leads-status'), 'It will be sent again in a moment.', 'the status line');
  eq(await page.evaluate(() => document.activeElement && document.activeElement.id), 'notify-heading',
    'the focus stays at the notifications');
  eq(page.__requests.filter((r) => r.method() === 'POST').length, 1, 'POST requests');

  // The receiver takes it now (after a pause): reload until it shows sent.
  const deadline = Date.now() + 30000;
  let last = after;
  while (last.status !== 'sent' && Date.now() < deadline) {
    await page.waitForTimeout(500);
    await page.reload();
    last = await lineOf(page, WEBHOOK_ID);
  }
  eq(last.status, 'sent', 'the webhook\'s status within 30 s of Send again');
  check(/^Webhook · New lead · sent [0-9]{2}:[0-9]{2} \(3 tries\)$/.test(last.line),
    'the sent line: ' + JSON.stringify(last.line));
  eq(last.error, null, 'no error shown on a sent line');
  await ctx.close();
});

test('made-up answers: markup stays text, pending with an error says retrying, 409 404 401 in words', async (browser) => {
  const ctx = await newContext(browser, 'made-up', {
    token: ADMIN, allow: [/status of (401|404|409)/], viewport: { width: 390, height: 844 }
  });
  const conv = 'conv_madeup';
  const today = new Date().toISOString().slice(0, 10);
  const markup = '<img src=x onerror="window.__pwned=1">the webhook answered HTTP 500';
  const lead = {
    conversation_id: conv,
    fields: { full_name: { value: 'Ana Lima', strength: 2, turn: 1, updated_at: today + ' 14:00:00' } },
    extractions: [],
    notifications: [
      { id: 'msg_a', type: 'lead.updated', target: 'webhook', status: 'failed', attempts: 7,
        last_error: markup, sent_at: null },
      { id: 'msg_b', type: 'lead.ready', target: 'email', status: 'pending', attempts: 3,
        last_error: 'the mail server said 451 try again later', sent_at: null },
      { id: 'msg_c', type: 'lead.ready', target: 'webhook', status: 'sent', attempts: 1,
        last_error: null, sent_at: today + ' 14:02:00' }
    ]
  };
  const retries = [];
  let gets = 0;
  const answers = [
    [409, { error: { code: 'not_failed', message: 'It is not failed.' } }],
    [404, { error: { code: 'not_found', message: 'Not found.' } }],
    [401, { error: { code: 'unauthorized', message: 'Unauthorized.' } }]
  ];
  await ctx.route((url) => url.origin === ORIGIN && url.pathname.startsWith('/api/leads/' + conv), async (route) => {
    const req = route.request();
    if (req.method() === 'GET') {
      gets++;
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(lead) });
    }
    retries.push([new URL(req.url()).pathname, (await req.allHeaders()).authorization]);
    const [status, body] = answers[retries.length - 1] || [500, {}];
    return route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  });
  const page = await ctx.newPage();
  await page.goto(BASE + 'leads.html#lead/' + conv);
  await lineOf(page, 'msg_a');
  eq(await shown(page), [
    { id: 'msg_a', status: 'failed', line: 'Webhook · Update · failed after 7 tries — ' + markup,
      error: markup, errorElements: 0, button: 'Send again' },
    { id: 'msg_b', status: 'pending', line: 'E-mail · New lead · retrying — the mail server said 451 try again later',
      error: 'the mail server said 451 try again later', errorElements: 0, button: null },
    { id: 'msg_c', status: 'sent', line: 'Webhook · New lead · sent 14:02 (1 try)',
      error: null, errorElements: 0, button: null }
  ], 'the three lines');
  eq(await page.evaluate(() => typeof window.__pwned), 'undefined', 'window.__pwned');
  eq(await page.$$eval('#notifications img', (e) => e.length), 0, '<img> elements in the list');

  // At phone width the lines wrap: no horizontal scrolling.
  const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(over <= 0, 'no horizontal scrolling at 390 px (overflow ' + over + ' px)');
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.locator('#notify-heading').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, 'leads-notifications-phone.png'), timeout: 5000 });

  const again = page.locator('#notifications li[data-id="msg_a"] button[data-action="notify-retry"]');
  const said = async (text, n) => {
    await until(page, 'the status line "' + text + '"', ([text, n]) =>
      document.getElementById('leads-status').textContent === text &&
      document.querySelectorAll('#notifications li').length === n, [text, n]);
  };
  await again.click();
  await said('That notification is no longer failed: nothing to send again.', 3);
  eq(gets, 2, 'the lead read again after a 409');
  await again.click();
  await said('That notification is gone.', 3);
  eq(gets, 3, 'the lead read again after a 404');
  await again.click();
  await until(page, 'the token form after a 401', () => !document.getElementById('token-form').hidden &&
    document.getElementById('detail-view').hidden);
  eq(await page.textContent('#leads-status'), 'That token wasn\'t accepted. Please enter it again.', 'status after a 401');
  eq(retries, [0, 1, 2].map(() => ['/api/leads/' + conv + '/notifications/msg_a/retry', 'Bearer ' + ADMIN]),
    'the retry requests (path, Authorization)');
  await ctx.close();
});

test('no console errors, page errors or requests off the server', async () => {
  noIssues('console errors / page errors');
});

main('leads.test', TEST_TIMEOUT_MS);
