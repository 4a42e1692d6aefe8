// workspace.test.mjs: the leads page as the staff's workspace (www/leads.js)
// in Debian's headless Chromium, against the real program under lighttpd.
//
//   node tests/browser/workspace.test.mjs http://127.0.0.1:PORT/
//
// Started by test_workspace.py, which makes seven leads through the API
// and passes WS_ADMIN_TOKEN, WS_CONVS ({"maria": ID, …}), WS_NAMES,
// WS_MARIA (Maria's two messages) and WS_DISCLOSURE (the SHA-256 her page
// showed).  Prints "plan N", then "ok NAME" or "FAIL NAME: why" per test,
// then "workspace.test: N passed, N failed".  BROWSER_TEST_ONLY (a
// substring) runs only the tests whose name holds it; SCREENSHOT_DIR is
// where the screenshots go.
//
// The tests run in order and change the data: the second marks Maria
// contacted, the erase test erases Olga.  The made-up test answers the
// page with made-up errors (a route in the browser) for what the real
// server cannot be made to say on cue.
import fs from 'node:fs';
import path from 'node:path';
import { BASE, ORIGIN, SHOTS, staffContext as newContext, signIn, noIssues, check, eq, untilWith, getJson, test, main }
  from './lib.mjs';

const ADMIN = process.env.WS_ADMIN_TOKEN || '';
const C = JSON.parse(process.env.WS_CONVS || '{}');
const NAMES = JSON.parse(process.env.WS_NAMES || '{}');
const MARIA = JSON.parse(process.env.WS_MARIA || '[]');
const SHA = process.env.WS_DISCLOSURE || '';

const TEST_TIMEOUT_MS = 60000;
const WAIT_MS = 10000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

if (!BASE || !ADMIN || !C.maria || !C.tomas || !C.olga || MARIA.length !== 2 || !SHA) {
  console.error('usage: WS_ADMIN_TOKEN=… WS_CONVS=… WS_NAMES=… WS_MARIA=… WS_DISCLOSURE=… ' +
    'node workspace.test.mjs BASE_URL');
  process.exit(2);
}

/* ---------- helpers ---------- */

// What the page shows, for failure messages.
async function describe(page) {
  return page.evaluate(() => ({
    hash: location.hash,
    status: document.getElementById('leads-status').textContent,
    list: document.getElementById('list-view').hidden ? null
      : Array.from(document.querySelectorAll('#leads-table tr[data-id]')).map((tr) => tr.dataset.id),
    lead: document.getElementById('detail-view').hidden ? null : document.getElementById('detail-heading').textContent,
    form: document.getElementById('status-message').textContent
  })).then(JSON.stringify).catch(String);
}

const until = untilWith(async (page) => 'the page shows ' + await describe(page), WAIT_MS, 50);

function rows(page) {
  return page.$$eval('#leads-table tr[data-id]', (trs) => trs.map((tr) => tr.dataset.id));
}

// Waits until the list shows exactly the leads ids, in that order.
function listIs(page, ids, what) {
  return until(page, what + ' (' + JSON.stringify(ids) + ')', (ids) => {
    const list = document.getElementById('list-view');
    const got = Array.from(document.querySelectorAll('#leads-table tr[data-id]')).map((tr) => tr.dataset.id);
    return !list.hidden && JSON.stringify(got) === JSON.stringify(ids) &&
      !/^Loading/.test(document.getElementById('leads-status').textContent);
  }, ids);
}

function leadShown(page, name) {
  return until(page, 'the lead of ' + name, (name) => !document.getElementById('detail-view').hidden &&
    document.getElementById('detail-heading').textContent === name, name);
}

function active(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    return a ? (a.id || a.dataset.action || a.className || a.tagName) : null;
  });
}

// The URLs of the list requests (GET /api/leads) the page made so far.
function listRequests(page) {
  return page.__requests.map((r) => new URL(r.url()))
    .filter((u) => u.pathname === '/api/leads' && !u.searchParams.has('format'));
}

function requestsOf(page, method) {
  return page.__requests.filter((r) => r.method() === method);
}

function apiLead(id) {
  return getJson('api/leads/' + encodeURIComponent(id), ADMIN, 'GET /api/leads/{id}');
}

async function apiStatus(rel) {
  const res = await fetch(BASE + rel, {
    headers: { Authorization: 'Bearer ' + ADMIN }, signal: AbortSignal.timeout(5000)
  });
  await res.arrayBuffer();
  return res.status;
}

// Nothing wider than the viewport, and no two of the main controls
// (buttons, inputs, selects, links) overlapping.  With a modal dialog
// open, only its own controls count (the rest is inert behind it).
function layout(page) {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.dataset.action ? '[' + el.dataset.action + ']' : '') +
      ' "' + (el.textContent || el.value || '').trim().slice(0, 30) + '"';
    const shown = (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 1 && r.height > 1 && getComputedStyle(el).visibility !== 'hidden';
    };
    const wide = Array.from(document.querySelectorAll('body *')).filter(shown).filter((el) => {
      const r = el.getBoundingClientRect();
      return r.right > vw + 0.5 || r.left < -0.5;
    }).map((el) => name(el) + ' ' + Math.round(el.getBoundingClientRect().left) + '..' +
      Math.round(el.getBoundingClientRect().right));
    const dialog = document.querySelector('dialog[open]');
    const scope = dialog || document;
    const controls = Array.from(scope.querySelectorAll('button, input, select, textarea, a, summary'))
      .filter(shown).filter((el) => dialog || !el.closest('dialog'));
    const overlaps = [];
    for (let i = 0; i < controls.length; i++) {
      const a = controls[i].getBoundingClientRect();
      for (let j = i + 1; j < controls.length; j++) {
        if (controls[i].contains(controls[j]) || controls[j].contains(controls[i])) continue;
        const b = controls[j].getBoundingClientRect();
        if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) {
          overlaps.push(name(controls[i]) + ' / ' + name(controls[j]));
        }
      }
    }
    return {
      scroll: document.documentElement.scrollWidth - vw, wide, overlaps, controls: controls.length
    };
  });
}

async function checkLayout(page, what, shot) {
  const l = await layout(page);
  eq(l.scroll, 0, what + ': horizontal scrolling (px)');
  eq(l.wide, [], what + ': elements wider than the viewport');
  eq(l.overlaps, [], what + ': controls that overlap');
  check(l.controls >= 3, what + ': controls found (' + l.controls + ')');
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, shot), fullPage: true, timeout: 10000 });
}

/* ---------- the tests ---------- */

test('staff sign in, find a lead by name with the search box, read its transcript as text', async (browser) => {
  // The first request goes without a token and is refused: the page asks.
  const ctx = await newContext(browser, 'find and read', { allow: [/status of 401/] });
  const page = await ctx.newPage();
  await signIn(page, ADMIN, WAIT_MS);
  const all = (await getJson('api/leads?limit=1000', ADMIN, 'GET /api/leads')).leads.map((l) => l.conversation_id);
  eq(all.length, Object.keys(C).length, 'leads in the API');
  await listIs(page, all, 'every lead after signing in');
  eq(await active(page), 'list-heading', 'the focus after signing in');

  // Typing searches once the typing pauses: one request, for the whole word.
  const before = listRequests(page).length;
  await page.click('#f-q');
  await page.keyboard.type('quinn', { delay: 40 });
  await listIs(page, [C.maria], 'Maria alone, found by the search box');
  // (At most two: a loaded machine may pause between two keys.)
  const typing = listRequests(page).slice(before).map((u) => u.searchParams.get('q'));
  check(typing.length <= 2 && typing[typing.length - 1] === 'quinn',
    'the list requests made while typing "quinn", one a pause: ' + JSON.stringify(typing));
  eq(await page.evaluate(() => location.hash), '#q=quinn', 'the address keeps the search');
  eq(await active(page), 'f-q', 'the focus stays in the search box');
  // Enter searches at once, and only once.
  const typed = listRequests(page).length;
  await page.fill('#f-q', 'Maria Quinn');
  await page.press('#f-q', 'Enter');
  await listIs(page, [C.maria], 'Maria, searched by her full name');
  await page.waitForTimeout(800);
  eq(listRequests(page).slice(typed).map((u) => u.searchParams.get('q')), ['Maria Quinn'],
    'the list requests after Enter');
  eq(await page.textContent('#leads-count'), '1 lead matching “Maria Quinn”.', 'the count');

  // Open her with the keyboard.
  await page.focus('#leads-table tr[data-id="' + C.maria + '"] a.row-link');
  await page.keyboard.press('Enter');
  await leadShown(page, NAMES.maria);
  eq(await active(page), 'detail-heading', 'the focus once the lead opened');
  const api = await apiLead(C.maria);
  const shown = await page.$$eval('#transcript li', (lis) => lis.map((li) => ({
    role: li.dataset.role, text: li.querySelector('.turn-text').textContent,
    elements: li.querySelector('.turn-text').childElementCount
  })));
  eq(shown, api.transcript.map((m) => ({ role: m.role, text: m.text, elements: 0 })),
    'the conversation shown: the API\'s transcript, each turn as text');
  eq(shown.filter((m) => m.role === 'user').map((m) => m.text), MARIA, 'the visitor\'s words');
  check(shown.filter((m) => m.role === 'assistant' && m.text.length > 0).length === 2,
    'two replies of the assistant shown');
  eq(await page.$$eval('#transcript img, #transcript b', (e) => e.length), 0, '<img> and <b> elements in the transcript');
  eq(await page.evaluate(() => typeof window.__pwned), 'undefined', 'window.__pwned');
  // The line break is kept as a line break (innerText follows the CSS).
  eq(await page.$eval('#transcript li[data-role="user"] .turn-text', (p) => p.innerText), MARIA[0],
    'the first message as rendered, with its line break');
  const whoSaid = await page.$$eval('#transcript .turn-head strong', (s) => s.map((x) => x.textContent));
  eq(whoSaid, ['Visitor', 'Assistant', 'Visitor', 'Assistant'], 'who said each turn');

  // The fields: words, and where each came from.
  const fields = Object.fromEntries(await page.$$eval('#fields-table tbody tr', (trs) => trs.map((tr) => [
    tr.dataset.field, { value: tr.querySelector('.value-cell').textContent, from: tr.querySelector('.source-cell').textContent }
  ])));
  eq(fields.matter_type.value, 'Personal injury', 'the matter in words');
  eq(fields.full_name.value, NAMES.maria, 'the name field');
  const fn = api.fields.full_name;
  check(fields.full_name.from.startsWith((fn.source === 'model' ? 'Model' : 'Rules') + ' · turn ' + fn.turn + ' · '),
    'the name\'s provenance: ' + JSON.stringify(fields.full_name.from) + ' for ' + JSON.stringify(fn));
  // The disclosure she saw.
  const disclosure = await page.textContent('#disclosure');
  check(disclosure.includes(SHA) && api.disclosure && api.disclosure.sha256 === SHA,
    'the disclosure line shows the SHA-256 recorded: ' + JSON.stringify(disclosure));

  // A reload keeps the view; "All leads" goes back to the search, to her row.
  await page.reload();
  await leadShown(page, NAMES.maria);
  eq(await page.evaluate(() => location.hash), '#q=Maria+Quinn&lead=' + C.maria, 'the address of the lead');
  await page.click('[data-action="back"]');
  await listIs(page, [C.maria], 'the list searched as before');
  eq(await page.inputValue('#f-q'), 'Maria Quinn', 'the search box after going back');
  eq(await active(page), 'row-link', 'the focus back on the lead\'s row');
  await ctx.close();
});

test('mark it contacted with a note: the history says who and when, the list and its status filter follow', async (browser) => {
  const ctx = await newContext(browser, 'mark', { token: ADMIN });
  const page = await ctx.newPage();
  await page.goto(BASE + 'leads.html#lead=' + C.maria);
  await leadShown(page, NAMES.maria);
  eq(await page.textContent('#current-status'), 'New', 'the status before');
  eq(await page.$$eval('#history li', (lis) => lis.map((li) => li.textContent)),
    ['Nothing yet: no status change, no note.'], 'the history before');

  // A note over the limit is refused here, before any request.
  await page.fill('#status-note', 'x'.repeat(2001));
  eq(await page.textContent('#note-count'), '2,001 of 2,000 characters: 1 too many', 'the counter over the limit');
  await page.click('[data-action="save-status"]');
  eq(await page.textContent('#status-message'), 'The note is too long: 2,001 characters, at most 2,000. Shorten it, then save.',
    'the words for a note too long');
  eq(requestsOf(page, 'PATCH').length, 0, 'PATCH requests for a note too long');
  eq(await active(page), 'status-note', 'the focus back in the note');

  const note = 'Called her back at 10:15.\nShe will send the police report <b>today</b>.';
  await page.selectOption('#status-select', 'contacted');
  await page.fill('#status-note', note);
  eq(await page.textContent('#note-count'), Array.from(note).length + ' of 2,000 characters', 'the counter');
  const answered = page.waitForResponse((r) => r.request().method() === 'PATCH', { timeout: WAIT_MS });
  await page.click('[data-action="save-status"]');
  const res = await answered;
  const req = res.request();
  eq([new URL(req.url()).pathname, JSON.parse(req.postData()), (await req.allHeaders()).authorization],
    ['/api/leads/' + C.maria, { status: 'contacted', note }, 'Bearer ' + ADMIN], 'the PATCH (path, body, Authorization)');
  eq(res.status(), 200, 'the PATCH\'s answer');
  await until(page, 'the saved message', () => document.getElementById('status-message').textContent.startsWith('Saved'));
  eq(await page.textContent('#status-message'), 'Saved: status Contacted, note added.', 'the words once saved');
  eq(await active(page), 'save-status', 'the focus stays on Save');
  eq(await page.textContent('#current-status'), 'Contacted', 'the status shown after');
  eq(await page.inputValue('#status-note'), '', 'the note box emptied');
  const changes = await page.$$eval('#history li', (lis) => lis.map((li) => ({
    by: li.querySelector('.change-by').textContent,
    status: (li.querySelector('.change-status') || {}).textContent || null,
    note: (li.querySelector('.change-note') || {}).textContent || null,
    when: li.querySelector('time').textContent
  })));
  eq(changes.length, 1, 'history entries');
  eq([changes[0].by, changes[0].status, changes[0].note], ['admin', 'Status set to Contacted', note],
    'the history entry: who, status, note (as text)');
  check(/^Today [0-9]{2}:[0-9]{2}$/.test(changes[0].when), 'the history entry\'s time: ' + JSON.stringify(changes[0].when));
  const api = await apiLead(C.maria);
  eq(api.status, 'contacted', 'the API\'s status');
  eq(api.history.map((h) => [h.by, h.status, h.note]), [['admin', 'contacted', note]], 'the API\'s history');

  // The list shows it; the status filter finds it, and only it.
  await page.click('[data-action="back"]');
  await until(page, 'the list', () => !document.getElementById('list-view').hidden &&
    document.querySelectorAll('#leads-table tr[data-id]').length > 1);
  eq(await page.$eval('#leads-table tr[data-id="' + C.maria + '"] .status-cell', (td) => td.textContent),
    'Contacted', 'Maria\'s status in the list');
  await page.selectOption('#f-status', 'contacted');
  await listIs(page, [C.maria], 'the leads with status Contacted');
  eq(await page.evaluate(() => location.hash), '#status=contacted', 'the address keeps the filter');
  eq(listRequests(page).pop().searchParams.get('status'), 'contacted', 'the list request\'s status');
  await ctx.close();
});

test('filter by urgency: emergency finds Tomas, marked by more than colour; a reload keeps the filter', async (browser) => {
  const ctx = await newContext(browser, 'urgency', { token: ADMIN });
  const page = await ctx.newPage();
  await page.goto(BASE + 'leads.html');
  await until(page, 'the list', () => document.querySelectorAll('#leads-table tr[data-id]').length > 1);
  await page.selectOption('#f-urgency', 'emergency');
  await listIs(page, [C.tomas], 'the emergency leads');
  eq(listRequests(page).pop().searchParams.get('urgency'), 'emergency', 'the list request\'s urgency');
  const row = await page.$eval('#leads-table tr[data-id="' + C.tomas + '"]', (tr) => ({
    urgency: tr.dataset.urgency,
    cells: Array.from(tr.cells).map((td) => td.textContent),
    sign: (tr.querySelector('.urgency-sign') || {}).textContent || null
  }));
  eq(row.urgency, 'emergency', 'the row\'s data-urgency');
  eq(row.cells.slice(0, 6), ['New', NAMES.tomas, '+15553017788', '—', 'Criminal', '!! Emergency'],
    'Tomas\'s row: status, name, phone, e-mail, matter, urgency');
  eq(row.sign, '!!', 'the sign beside the word');
  check(/^Today [0-9]{2}:[0-9]{2}$/.test(row.cells[6]), 'the updated time: ' + JSON.stringify(row.cells[6]));
  await page.reload();
  await listIs(page, [C.tomas], 'the emergency leads after a reload');
  eq(await page.inputValue('#f-urgency'), 'emergency', 'the urgency select after a reload');
  await ctx.close();
});

test('"Older leads" pages through the list after the last lead, a page at a time', async (browser) => {
  const ctx = await newContext(browser, 'paging', { token: ADMIN });
  const page = await ctx.newPage();
  const answers = [];
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/leads') answers.push(r.json().catch(() => null));
  });
  const all = (await getJson('api/leads?limit=1000', ADMIN, 'GET /api/leads')).leads.map((l) => l.conversation_id);
  check(all.length === 7, 'seven leads to page through (' + all.length + ')');
  await page.goto(BASE + 'leads.html#limit=3');
  await listIs(page, all.slice(0, 3), 'the first page of three');
  check(await page.isVisible('[data-action="older"]'), '"Older leads" is shown');
  await page.click('[data-action="older"]');
  await listIs(page, all.slice(0, 6), 'two pages');
  eq(await page.evaluate(() => document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.id),
    all[3], 'the focus on the first lead added');
  eq(await page.textContent('#leads-status'), '3 older leads added.', 'the status line');
  await page.click('[data-action="older"]');
  await listIs(page, all, 'every lead, three pages');
  check(!await page.isVisible('[data-action="older"]'), 'no "Older leads" after the last page');
  eq(await page.textContent('#leads-count'), '7 leads.', 'the count');
  const urls = listRequests(page);
  eq(urls.length, 3, 'list requests');
  const bodies = await Promise.all(answers);
  eq(urls.map((u) => u.searchParams.get('limit')), ['3', '3', '3'], 'each request\'s limit');
  const lastOf = (b) => b.leads[b.leads.length - 1];
  eq(urls.map((u) => [u.searchParams.get('before'), u.searchParams.get('before_id')]),
    [[null, null]].concat(bodies.slice(0, 2).map((b) => [lastOf(b).updated_at, lastOf(b).conversation_id])),
    'each request\'s cursor: the previous page\'s last lead');
  eq(bodies.map((b) => b.leads.length), [3, 3, 1], 'the pages\' sizes');
  await ctx.close();
});

test('made-up answers: the status form\'s 400 413 404 401 and a failed erase, in words', async (browser) => {
  const ctx = await newContext(browser, 'made-up', {
    token: ADMIN, allow: [/status of (400|401|404|413|500)/]
  });
  const conv = 'conv_madeup_0001';
  const lead = {
    conversation_id: conv, status: 'new',
    fields: { full_name: { value: 'Ana Lima', strength: 2, turn: 1, source: 'rules', updated_at: '2025-01-02T10:00:00Z' } },
    transcript: [], history: [], related: [], disclosure: null, extractions: [], notifications: []
  };
  const answers = [
    [400, { error: { code: 'bad_request', message: 'unknown status' } }],
    [413, { error: { code: 'too_large', message: 'note too long' } }],
    [404, { error: { code: 'not_found', message: 'Not found.' } }],
    [401, { error: { code: 'unauthorized', message: 'Unauthorized.' } }]
  ];
  let patches = 0;
  await ctx.route((url) => url.origin === ORIGIN && (url.pathname === '/api/leads/' + conv ||
    url.pathname === '/api/conversations/' + conv), (route) => {
    const req = route.request();
    if (req.method() === 'GET') return route.fulfill({ json: lead });
    if (req.method() === 'DELETE') {
      return route.fulfill({ status: 500, json: { error: { code: 'unavailable', message: 'database is locked' } } });
    }
    const [status, body] = answers[patches++];
    return route.fulfill({ status, json: body });
  });
  const page = await ctx.newPage();
  await page.goto(BASE + 'leads.html#lead=' + conv);
  await leadShown(page, 'Ana Lima');
  eq(await page.textContent('#disclosure'), 'Disclosure shown: not recorded.', 'no disclosure recorded');
  eq(await page.textContent('#transcript'), 'No messages in this conversation.', 'an empty transcript');

  const said = async (text) => {
    await until(page, 'the form saying ' + JSON.stringify(text),
      (text) => document.getElementById('status-message').textContent === text, text);
  };
  await page.selectOption('#status-select', 'qualified');
  await page.click('[data-action="save-status"]');
  await said('The server refused the change: unknown status');
  await page.click('[data-action="save-status"]');
  await said('The note is too long for the server: at most 2,000 characters.');
  await page.click('[data-action="save-status"]');
  await said('This lead is not there any more: it may have been erased.');
  eq(await page.textContent('#current-status'), 'New', 'the status shown after three refusals');

  // A failed erase says so in the dialog, which stays open.
  await page.click('[data-action="erase"]');
  await page.click('[data-action="erase-confirm"]');
  await until(page, 'the dialog\'s error', () => document.getElementById('erase-error').textContent !== '');
  eq(await page.textContent('#erase-error'), 'The server said: database is locked Nothing was erased.', 'the dialog\'s error');
  check(await page.isVisible('#erase-dialog'), 'the dialog is still open');
  await page.click('[data-action="erase-cancel"]');

  await page.click('[data-action="save-status"]');
  await until(page, 'the token form after a 401', () => !document.getElementById('token-form').hidden &&
    document.getElementById('detail-view').hidden);
  eq(await page.textContent('#leads-status'), 'That token wasn\'t accepted. Please enter it again.', 'status after a 401');
  eq(patches, 4, 'PATCH requests');
  await ctx.close();
});

test('erase another one: a real confirmation naming the visitor; then it is gone from the list and the API', async (browser) => {
  const ctx = await newContext(browser, 'erase', { token: ADMIN });
  const page = await ctx.newPage();
  await page.goto(BASE + 'leads.html');
  await until(page, 'Olga in the list', (id) => !!document.querySelector('#leads-table tr[data-id="' + id + '"]'), C.olga);
  await page.click('#leads-table tr[data-id="' + C.olga + '"] a.row-link');
  await leadShown(page, NAMES.olga);

  // Enter at once presses Cancel, not the erase: nothing happens.
  await page.click('[data-action="erase"]');
  await until(page, 'the dialog', () => document.getElementById('erase-dialog').open);
  eq(await page.textContent('#erase-title'), 'Erase the conversation with Olga Petrova?', 'the dialog\'s title');
  const desc = await page.textContent('#erase-desc');
  check(desc.includes('Olga Petrova') && desc.includes('This cannot be undone.'), 'the dialog\'s words: ' + JSON.stringify(desc));
  eq(await active(page), 'erase-cancel', 'the focus when the dialog opens');
  await page.keyboard.press('Enter');
  await until(page, 'the dialog closed', () => !document.getElementById('erase-dialog').open);
  eq(await active(page), 'erase', 'the focus back on the erase button');
  // Escape cancels too.
  await page.keyboard.press('Enter');
  await until(page, 'the dialog again', () => document.getElementById('erase-dialog').open);
  await page.keyboard.press('Escape');
  await until(page, 'the dialog closed by Escape', () => !document.getElementById('erase-dialog').open);
  eq(requestsOf(page, 'DELETE').length, 0, 'DELETE requests after Cancel and Escape');
  eq(await apiStatus('api/leads/' + C.olga), 200, 'Olga still there');

  // The erase button pressed on purpose.
  await page.click('[data-action="erase"]');
  const answered = page.waitForResponse((r) => r.request().method() === 'DELETE', { timeout: WAIT_MS });
  await page.click('[data-action="erase-confirm"]');
  const res = await answered;
  eq([new URL(res.url()).pathname, res.status()], ['/api/conversations/' + C.olga, 204], 'the DELETE and its answer');
  await until(page, 'the list saying so', () => !document.getElementById('list-view').hidden &&
    /erased/.test(document.getElementById('leads-status').textContent));
  eq(await page.textContent('#leads-status'), 'The conversation with Olga Petrova was erased. It is no longer in the list.',
    'the words after erasing');
  eq(await active(page), 'leads-status', 'the focus on what was said');
  check(!(await rows(page)).includes(C.olga), 'Olga gone from the list');
  check(!(await page.evaluate(() => location.hash)).includes('lead='), 'the address no longer names the lead');
  eq(await apiStatus('api/leads/' + C.olga), 404, 'GET /api/leads/{olga} after the erase');
  await page.click('[data-action="refresh"]');
  await until(page, 'the list read again', () => !/^Loading/.test(document.getElementById('leads-status').textContent) &&
    document.querySelectorAll('#leads-table tr[data-id]').length > 1);
  check(!(await rows(page)).includes(C.olga), 'Olga not in the list read again');
  eq(requestsOf(page, 'DELETE').length, 1, 'DELETE requests');
  await ctx.close();
});

for (const [label, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test('screenshots at ' + label + ' width (' + viewport.width + '×' + viewport.height + '): no overflow, no overlapping controls', async (browser) => {
    const ctx = await newContext(browser, 'layout ' + label, { token: ADMIN, viewport });
    const page = await ctx.newPage();
    await page.goto(BASE + 'leads.html');
    await until(page, 'the list', () => document.querySelectorAll('#leads-table tr[data-id]').length > 1);
    await checkLayout(page, 'the list', 'leads-list-' + label + '.png');
    await page.click('#leads-table tr[data-id="' + C.maria + '"] a.row-link');
    await leadShown(page, NAMES.maria);
    await page.fill('#status-note', 'A note being written\nover two lines.');
    await page.click('.extractions summary');
    await checkLayout(page, 'a lead', 'leads-lead-' + label + '.png');
    await page.click('[data-action="erase"]');
    await until(page, 'the dialog', () => document.getElementById('erase-dialog').open);
    const l = await layout(page);
    eq([l.scroll, l.wide, l.overlaps, l.controls], [0, [], [], 2], 'the erase dialog: overflow, overlaps, controls');
    await page.screenshot({ path: path.join(SHOTS, 'leads-erase-' + label + '.png'), timeout: 10000 });
    await page.keyboard.press('Escape');
    await ctx.close();
  });
}

test('no console errors, page errors or requests off the server', async () => {
  noIssues('console errors / page errors');
});

main('workspace.test', TEST_TIMEOUT_MS);
