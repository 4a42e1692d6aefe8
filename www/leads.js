/*
 * leads.js: the staff workspace. A paralegal works the leads from here:
 *
 * - the list (GET /api/leads): status, name, phone, e-mail, matter,
 *   urgency, last activity; filtered by status and urgency, searched
 *   (?q=), paged with "Older leads" (after the page's last lead), never
 *   every lead at once;
 * - one lead (GET /api/leads/{id}): the conversation as a conversation,
 *   the fields and where each came from, what changed when, related
 *   leads, the disclosure the visitor saw, the notifications (the e-mail
 *   and webhook that told the firm; a failed one can be sent again) and
 *   the extraction log;
 * - the status and a note (PATCH /api/leads/{id});
 * - erasing a conversation on the visitor's request (DELETE
 *   /api/conversations/{id}), after a confirmation that names the visitor.
 *
 * The address's hash keeps the view (#status=new&urgency=high&q=jane&lead=ID;
 * limit=N sets the page size), so a reload or Back shows the same thing.
 * The link in a notification is leads.html#ID (and older ones #lead/ID):
 * it opens that lead.
 *
 * The admin token lives in sessionStorage only, so it is gone when the tab
 * closes. The first request goes without one: when the web server does its
 * own authentication (REMOTE_USER), no token is needed at all.
 * Every value from the server is set with textContent, never as HTML.
 */
'use strict';

(function () {
  const TOKEN_KEY = 'intake.adminToken';
  const PAGE_SIZE = 50;
  const PAGE_SIZE_MAX = 1000;
  const NOTE_MAX = 2000;
  const Q_MAX = 200;
  const SEARCH_DELAY_MS = 350;
  const STATUSES = ['new', 'contacted', 'qualified', 'declined', 'spam'];
  const URGENCIES = ['low', 'normal', 'high', 'emergency'];
  const FIELDS = ['full_name', 'phone', 'email', 'matter_type', 'urgency', 'summary'];
  const LABELS = {
    full_name: 'Name', phone: 'Phone', email: 'E-mail',
    matter_type: 'Matter', urgency: 'Urgency', summary: 'Summary'
  };
  // The strength a field has when it is complete (DESIGN.md, the merge):
  // below it the value is shown as tentative (one word of a name, a phone
  // number too short, a matter of "other").
  const FULL_STRENGTH = { full_name: 2, phone: 2, matter_type: 2 };
  // Words people read for the values the program stores.
  const WORDS = {
    personal_injury: 'Personal injury', family: 'Family', criminal: 'Criminal',
    employment: 'Employment', immigration: 'Immigration', estate_planning: 'Estate planning',
    real_estate: 'Real estate', business: 'Business', other: 'Other',
    low: 'Low', normal: 'Normal', high: 'High', emergency: 'Emergency',
    new: 'New', contacted: 'Contacted', qualified: 'Qualified', declined: 'Declined', spam: 'Spam',
    rules: 'Rules', model: 'Model'
  };

  const $ = (sel) => document.querySelector(sel);
  const els = {
    status: $('#leads-status'),
    tokenForm: $('#token-form'),
    tokenInput: $('#admin-token'),
    signOut: $('[data-action="sign-out"]'),
    list: $('#list-view'),
    listHeading: $('#list-heading'),
    filters: $('#filters'),
    q: $('#f-q'),
    fStatus: $('#f-status'),
    fUrgency: $('#f-urgency'),
    clearFilters: $('[data-action="clear-filters"]'),
    count: $('#leads-count'),
    rows: $('#leads-table tbody'),
    refresh: $('[data-action="refresh"]'),
    csv: $('[data-action="csv"]'),
    older: $('[data-action="older"]'),
    detail: $('#detail-view'),
    back: $('[data-action="back"]'),
    detailHeading: $('#detail-heading'),
    detailSub: $('#detail-sub'),
    detailId: $('#detail-id'),
    disclosure: $('#disclosure'),
    transcript: $('#transcript'),
    currentStatus: $('#current-status'),
    statusForm: $('#status-form'),
    statusSelect: $('#status-select'),
    note: $('#status-note'),
    noteCount: $('#note-count'),
    save: $('[data-action="save-status"]'),
    statusMessage: $('#status-message'),
    fieldRows: $('#fields-table tbody'),
    changes: $('#history'),
    related: $('#related'),
    notifyHeading: $('#notify-heading'),
    notifications: $('#notifications'),
    erase: $('[data-action="erase"]'),
    history: $('#extractions'),
    dialog: $('#erase-dialog'),
    dialogTitle: $('#erase-title'),
    dialogDesc: $('#erase-desc'),
    dialogError: $('#erase-error'),
    dialogCancel: $('[data-action="erase-cancel"]'),
    dialogConfirm: $('[data-action="erase-confirm"]')
  };

  class AuthError extends Error {}

  // The list as loaded: its filters (key), the leads shown, the cursor of
  // the next page; seq drops an answer that a newer request replaced.
  const list = { key: null, leads: [], next: null, seq: 0, stale: false };
  // The lead shown: its id and the last answer for it.
  const detail = { id: null, data: null, seq: 0, saving: false, erasing: false };
  let view = 'none';          // 'list', 'detail' or 'none' (token form)
  let searchTimer = null;
  let routed = null;          // the address route() last showed

  /* ---------- token ---------- */

  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function setToken(token) {
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* storage blocked */ }
  }

  function clearToken() {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage blocked */ }
  }

  /* ---------- requests ---------- */

  // opts: method, body (sent as JSON), ok (statuses the caller handles
  // itself besides 2xx: the response is returned for them too).
  async function api(path, opts = {}) {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = { method: opts.method || 'GET', headers, cache: 'no-store' };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new Error("We couldn't reach the server. Check the connection and try again.");
    }
    if (res.status === 401) throw new AuthError();
    if (!res.ok && !(opts.ok && opts.ok.indexOf(res.status) !== -1)) {
      const message = await errorMessage(res);
      throw new Error(message ? 'The server said: ' + message : 'The server answered ' + res.status + '.');
    }
    return res;
  }

  // The message of an error answer ({"error":{"message"}}), or ''.
  async function errorMessage(res) {
    try {
      const body = await res.json();
      return (body && body.error && typeof body.error.message === 'string') ? body.error.message : '';
    } catch (e) {
      return '';
    }
  }

  function showStatus(text, isError) {
    els.status.textContent = text;
    els.status.classList.toggle('is-error', !!isError);
  }

  function handleError(err) {
    if (err instanceof AuthError) {
      const hadToken = !!getToken();
      clearToken();
      askForToken(hadToken ? "That token wasn't accepted. Please enter it again."
        : 'Enter the admin token to see the leads.');
      return;
    }
    showStatus(err.message || 'Something went wrong.', true);
  }

  function askForToken(message) {
    if (els.dialog.open) els.dialog.close();
    view = 'none';
    els.list.hidden = true;
    els.detail.hidden = true;
    els.signOut.hidden = true;
    els.tokenForm.hidden = false;
    list.key = null;
    showStatus(message, false);
    els.tokenInput.value = '';
    els.tokenInput.focus();
  }

  /* ---------- words ---------- */

  function isEmpty(v) {
    return v === null || v === undefined || v === '';
  }

  function asText(v) {
    if (isEmpty(v)) return '—';
    if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) {
      return v.length ? v.join(', ') : '—';
    }
    if (typeof v === 'object') return JSON.stringify(v, null, 2);
    return String(v);
  }

  // A stored word as people read it: a matter type, an urgency, a status,
  // a source. "personal_injury" is "Personal injury"; a word of the
  // firm's own list ("landlord_tenant") is read the same way.
  function words(v) {
    if (isEmpty(v)) return '—';
    const s = String(v);
    if (Object.prototype.hasOwnProperty.call(WORDS, s)) return WORDS[s];
    if (!/^[a-z0-9_]+$/.test(s)) return s;
    const spaced = s.replace(/_+/g, ' ').trim();
    return spaced.charAt(0).toUpperCase() + spaced.slice(1);
  }

  function plural(n, one, many) {
    return n === 1 ? '1 ' + one : n.toLocaleString('en') + ' ' + many;
  }

  // Characters as the server counts them (code points, not UTF-16 units).
  function chars(s) {
    return Array.from(s).length;
  }

  /* ---------- times ---------- */

  // SQLite timestamps ("2025-01-02 10:00:00", UTC) are shown in local time.
  function parseTime(v) {
    if (typeof v === 'number') return new Date(v < 1e12 ? v * 1000 : v);
    let s = String(v);
    if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(s)) s = s.replace(' ', 'T');
    if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s += 'Z';
    return new Date(s);
  }

  function formatTime(v) {
    if (isEmpty(v)) return '—';
    const date = parseTime(v);
    if (Number.isNaN(date.getTime())) return String(v);
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  // "14:02" today, "Mar 3, 2025, 14:02" on another day (local time).
  function shortTime(v) {
    const date = parseTime(v);
    if (Number.isNaN(date.getTime()) || date.toDateString() !== new Date().toDateString()) {
      return formatTime(v);
    }
    return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }

  // "Today 14:02", "Yesterday 09:15", or the date and time.
  function dayTime(v) {
    if (isEmpty(v)) return '—';
    const date = parseTime(v);
    if (Number.isNaN(date.getTime())) return String(v);
    const hm = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (date.toDateString() === today.toDateString()) return 'Today ' + hm;
    if (date.toDateString() === yesterday.toDateString()) return 'Yesterday ' + hm;
    return formatTime(v);
  }

  // A <time> element reading dayTime(v), the stored value in its title.
  function timeEl(v) {
    const t = document.createElement('time');
    t.textContent = dayTime(v);
    if (!isEmpty(v)) {
      t.title = String(v);
      const date = parseTime(v);
      if (!Number.isNaN(date.getTime())) t.dateTime = date.toISOString();
    }
    return t;
  }

  /* ---------- small pieces ---------- */

  function cell(content, label, className) {
    const td = document.createElement('td');
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content;
    if (label) td.dataset.label = label;
    if (className) td.className = className;
    if (content === '—') td.classList.add('empty-value');
    return td;
  }

  function statusBadge(status) {
    const s = document.createElement('span');
    s.className = 'badge badge-status';
    s.dataset.status = String(status || 'new');
    s.textContent = words(status || 'new');
    return s;
  }

  // Urgency in words; high and emergency marked by a sign and weight as
  // well as colour ("! High", "!! Emergency").
  function urgencyBadge(urgency) {
    const s = document.createElement('span');
    if (isEmpty(urgency)) {
      s.className = 'empty-value';
      s.textContent = '—';
      return s;
    }
    s.className = 'badge badge-urgency';
    s.dataset.urgency = String(urgency);
    if (urgency === 'high' || urgency === 'emergency') {
      const sign = document.createElement('span');
      sign.className = 'urgency-sign';
      sign.setAttribute('aria-hidden', 'true');
      sign.textContent = urgency === 'emergency' ? '!!' : '!';
      s.append(sign, ' ');
    }
    s.append(words(urgency));
    return s;
  }

  // A tel: or mailto: link for a stored phone or e-mail, or plain text.
  function contactEl(kind, value) {
    if (isEmpty(value)) return '—';
    const v = String(value);
    let href = null;
    if (kind === 'phone' && /^\+?[0-9]{3,20}$/.test(v)) href = 'tel:' + v;
    if (kind === 'email' && /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$/.test(v)) href = 'mailto:' + v;
    if (!href) return v;
    const a = document.createElement('a');
    a.href = href;
    a.textContent = v;
    return a;
  }

  function emptyItem(text) {
    const li = document.createElement('li');
    li.className = 'empty-value';
    li.textContent = text;
    return li;
  }

  /* ---------- the address ---------- */

  function pageSize(v) {
    return v.limit || PAGE_SIZE;
  }

  // The view the hash asks for. Older links (#ID, #lead/ID) open the lead.
  function readHash() {
    const h = location.hash.replace(/^#/, '');
    const v = { status: '', urgency: '', q: '', lead: '', limit: 0 };
    const bare = /^([A-Za-z0-9_-]{8,})$/.exec(h);
    const old = /^lead\/(.+)$/.exec(h);
    if (bare || old) {
      let id = bare ? bare[1] : old[1];
      try { id = decodeURIComponent(id); } catch (e) { /* kept as it is */ }
      v.lead = id;
      history.replaceState(null, '', hashOf(v));
      return v;
    }
    const p = new URLSearchParams(h);
    const status = p.get('status') || '';
    const urgency = p.get('urgency') || '';
    const limit = parseInt(p.get('limit') || '', 10);
    v.status = STATUSES.indexOf(status) !== -1 ? status : '';
    v.urgency = URGENCIES.indexOf(urgency) !== -1 ? urgency : '';
    v.q = Array.from((p.get('q') || '').trim()).slice(0, Q_MAX).join('');
    v.lead = p.get('lead') || '';
    v.limit = limit >= 1 && limit <= PAGE_SIZE_MAX ? limit : 0;
    return v;
  }

  // The address (path and hash) of a view.
  function hashOf(v) {
    const p = new URLSearchParams();
    if (v.status) p.set('status', v.status);
    if (v.urgency) p.set('urgency', v.urgency);
    if (v.q) p.set('q', v.q);
    if (v.limit) p.set('limit', String(v.limit));
    if (v.lead) p.set('lead', v.lead);
    const s = p.toString();
    return location.pathname + location.search + (s ? '#' + s : '');
  }

  function leadHref(id) {
    return hashOf(Object.assign(readFilters(), { lead: id }));
  }

  // The filters of the current address (no lead).
  function readFilters() {
    const v = readHash();
    v.lead = '';
    return v;
  }

  function listKey(v) {
    return [v.status, v.urgency, v.q, pageSize(v)].join('\u0000');
  }

  // Goes to view v: a new history entry unless replace.
  function go(v, replace) {
    const url = hashOf(v);
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    route();
  }

  function route(focus) {
    const v = readHash();
    routed = location.href;
    // Not while staff type in it: the debounced search is behind them.
    if (document.activeElement !== els.q) els.q.value = v.q;
    els.fStatus.value = v.status;
    els.fUrgency.value = v.urgency;
    els.back.href = hashOf(Object.assign({}, v, { lead: '' }));
    if (v.lead) showDetail(v.lead);
    else showList(v, focus);
  }

  /* ---------- the list ---------- */

  // Shows the list of view v: the one loaded when its filters are the same
  // (coming back from a lead keeps the older pages loaded and the place),
  // else the first page.
  async function showList(v, focus) {
    const from = view === 'detail' ? detail.id : null;
    view = 'list';
    els.detail.hidden = true;
    els.tokenForm.hidden = true;
    document.title = 'Intake leads';
    if (list.key === listKey(v) && !list.stale) {
      els.list.hidden = false;
      els.signOut.hidden = !getToken();
      if (focus !== 'keep') showStatus('', false);
      focusAfterList(from, focus);
      return;
    }
    await loadList(v, false, from, focus);
  }

  // Where the focus goes once the list shows: the lead just left, else the
  // list's heading when the list replaces another view.
  function focusAfterList(from, focus) {
    if (focus === 'keep' || focus === 'none') return;
    const link = from && els.rows.querySelector('tr[data-id="' + CSS.escape(from) + '"] .row-link');
    if (link) link.focus();
    else if (from || focus === 'heading') els.listHeading.focus();
  }

  // Loads the first page of view v, or (append) the next one.
  async function loadList(v, append, from, focus) {
    const seq = ++list.seq;
    const params = new URLSearchParams();
    params.set('limit', String(pageSize(v)));
    if (v.status) params.set('status', v.status);
    if (v.urgency) params.set('urgency', v.urgency);
    if (v.q) params.set('q', v.q);
    if (append && list.next) {
      params.set('before', String(list.next.before));
      if (!isEmpty(list.next.before_id)) params.set('before_id', String(list.next.before_id));
    }
    showStatus(append ? 'Loading older leads…' : 'Loading leads…', false);
    let data;
    try {
      const res = await api('/api/leads?' + params.toString(), { ok: [400] });
      if (res.status === 400) {
        const message = await errorMessage(res);
        throw new Error('The server refused these filters' + (message ? ': ' + message : '.'));
      }
      data = await res.json();
    } catch (err) {
      if (seq === list.seq) handleError(err);
      return;
    }
    if (seq !== list.seq || view !== 'list') return;
    const leads = Array.isArray(data.leads) ? data.leads : [];
    const first = list.leads.length;
    if (!append) {
      list.leads = [];
      els.rows.replaceChildren();
    }
    // A lead that moved up while paging may come twice: show it once.
    const have = new Set(list.leads.map((l) => l.conversation_id));
    const added = leads.filter((l) => l && !have.has(l.conversation_id));
    added.forEach((lead) => {
      list.leads.push(lead);
      els.rows.appendChild(leadRow(lead));
    });
    // A full page may have older ones after it: the next page starts
    // after this page's last lead (its updated_at, then its id).
    const last = leads.length ? leads[leads.length - 1] : null;
    list.next = leads.length >= pageSize(v) && last && !isEmpty(last.updated_at)
      ? { before: last.updated_at, before_id: last.conversation_id } : null;
    list.key = listKey(v);
    list.stale = false;
    renderCount(v);
    els.older.hidden = !list.next;
    els.list.hidden = false;
    els.signOut.hidden = !getToken();
    showStatus(append ? (added.length ? plural(added.length, 'older lead', 'older leads') + ' added.'
      : 'No older leads.') : '', false);
    if (append) {
      // Keyboard users go on from the first lead added.
      const row = els.rows.children[first];
      const link = row && row.querySelector('.row-link');
      if (link) link.focus();
      else els.listHeading.focus();
    } else {
      focusAfterList(from, focus);
    }
  }

  function filtersInWords(v) {
    const parts = [];
    if (v.status) parts.push('status ' + words(v.status));
    if (v.urgency) parts.push('urgency ' + words(v.urgency));
    if (v.q) parts.push('“' + v.q + '”');
    return parts.join(', ');
  }

  function renderCount(v) {
    const n = list.leads.length;
    const filters = filtersInWords(v);
    let text;
    if (!n) text = filters ? 'No leads match ' + filters + '.' : 'No leads yet.';
    else text = plural(n, 'lead', 'leads') + (filters ? ' matching ' + filters : '') +
      (list.next ? '; older ones follow.' : '.');
    els.count.textContent = text;
    if (!n) {
      const tr = document.createElement('tr');
      tr.className = 'empty-row';
      const td = cell(text, '', 'empty-value');
      td.colSpan = 7;
      tr.appendChild(td);
      els.rows.replaceChildren(tr);
    } else {
      const empty = els.rows.querySelector('.empty-row');
      if (empty) empty.remove();
    }
  }

  function leadName(fields) {
    return isEmpty(fields.full_name) ? '' : String(fields.full_name);
  }

  function leadRow(lead) {
    const fields = lead.fields || {};
    const tr = document.createElement('tr');
    tr.dataset.id = lead.conversation_id;
    tr.dataset.status = String(lead.status || 'new');
    if (!isEmpty(fields.urgency)) tr.dataset.urgency = String(fields.urgency);

    tr.appendChild(cell(statusBadge(lead.status), 'Status', 'status-cell'));
    const open = document.createElement('a');
    open.className = 'row-link';
    open.href = leadHref(lead.conversation_id);
    open.textContent = leadName(fields) || '(no name yet)';
    tr.appendChild(cell(open, 'Name', 'name-cell'));
    tr.appendChild(cell(contactEl('phone', fields.phone), 'Phone', 'phone-cell nowrap'));
    tr.appendChild(cell(contactEl('email', fields.email), 'E-mail', 'email-cell'));
    tr.appendChild(cell(words(fields.matter_type), 'Matter', 'matter-cell'));
    tr.appendChild(cell(urgencyBadge(fields.urgency), 'Urgency', 'urgency-cell'));
    tr.appendChild(cell(timeEl(lead.updated_at), 'Updated', 'time-cell'));
    // The phone's cards leave out what is empty.
    ['phone', 'email', 'matter_type', 'urgency'].forEach((k, i) => {
      if (isEmpty(fields[k])) tr.cells[2 + i].classList.add('is-empty');
    });
    return tr;
  }

  // Applies the filter controls: the first page of the list they ask for.
  function applyFilters() {
    clearTimeout(searchTimer);
    searchTimer = null;
    const v = readFilters();
    v.status = els.fStatus.value;
    v.urgency = els.fUrgency.value;
    v.q = Array.from(els.q.value.trim()).slice(0, Q_MAX).join('');
    if (listKey(v) === list.key && !list.stale && view === 'list') return;
    go(v, true);
  }

  /* ---------- one lead ---------- */

  // after: what to say once it is shown, and where the focus goes (a
  // reload after "Send again" keeps it at the notifications).
  async function showDetail(id, after) {
    const seq = ++detail.seq;
    const other = detail.id !== id;
    view = 'detail';
    els.list.hidden = true;
    els.tokenForm.hidden = true;
    if (!after) showStatus('Loading lead…', false);
    let data;
    try {
      const res = await api('/api/leads/' + encodeURIComponent(id), { ok: [404] });
      if (res.status === 404) {
        if (seq !== detail.seq) return;
        forget(id);
        const v = readFilters();
        history.replaceState(null, '', hashOf(v));
        view = 'detail';
        await showList(v, 'heading');
        showStatus('That lead is not there: it may have been erased.', true);
        return;
      }
      data = await res.json();
    } catch (err) {
      if (seq === detail.seq) handleError(err);
      return;
    }
    if (seq !== detail.seq || view !== 'detail') return;
    detail.id = id;
    detail.data = data;
    if (other) resetStatusForm();
    renderDetail(id, data);
    els.signOut.hidden = !getToken();
    els.detail.hidden = false;
    showStatus(after ? after.message : '', false);
    (after && after.focus ? after.focus : els.detailHeading).focus();
  }

  function fieldValue(data, key) {
    const f = data.fields && data.fields[key];
    return f && !isEmpty(f.value) ? String(f.value) : '';
  }

  // Who the lead is, for headings and the erase dialog.
  function whoIs(data) {
    return fieldValue(data, 'full_name') || fieldValue(data, 'phone') || fieldValue(data, 'email');
  }

  function renderDetail(id, data) {
    const name = fieldValue(data, 'full_name');
    els.detailHeading.textContent = name || 'Lead with no name yet';
    document.title = (name || 'Lead') + ' · Intake leads';
    els.detailId.textContent = 'Conversation ' + (data.conversation_id || id);

    const sub = [statusBadge(data.status)];
    const urgency = fieldValue(data, 'urgency');
    if (urgency) sub.push(urgencyBadge(urgency));
    const matter = fieldValue(data, 'matter_type');
    if (matter) {
      const m = document.createElement('span');
      m.className = 'sub-matter';
      m.textContent = words(matter);
      sub.push(m);
    }
    els.detailSub.replaceChildren(...sub);

    renderDisclosure(data.disclosure);
    renderTranscript(Array.isArray(data.transcript) ? data.transcript : []);
    els.currentStatus.replaceChildren(statusBadge(data.status));
    if (STATUSES.indexOf(data.status) !== -1) els.statusSelect.value = data.status;
    renderFields(data.fields || {});
    renderChanges(Array.isArray(data.history) ? data.history : []);
    renderRelated(Array.isArray(data.related) ? data.related : []);
    renderNotifications(data.conversation_id || id,
      Array.isArray(data.notifications) ? data.notifications : []);

    els.history.replaceChildren();
    const extractions = Array.isArray(data.extractions) ? data.extractions : [];
    extractions.forEach((x) => els.history.appendChild(renderExtraction(x)));
    if (!extractions.length) els.history.appendChild(emptyItem('No extractions recorded yet.'));
  }

  function renderDisclosure(d) {
    els.disclosure.replaceChildren();
    const label = document.createElement('strong');
    label.textContent = 'Disclosure shown: ';
    els.disclosure.appendChild(label);
    if (!d || typeof d !== 'object' || isEmpty(d.sha256)) {
      els.disclosure.append('not recorded.');
      els.disclosure.dataset.recorded = 'no';
      return;
    }
    els.disclosure.dataset.recorded = 'yes';
    els.disclosure.append(timeEl(d.at), ', text SHA-256 ');
    const code = document.createElement('code');
    code.textContent = String(d.sha256);
    els.disclosure.append(code, '.');
  }

  const TURN_STATE = {
    streaming: 'still being written', cancelled: 'stopped by the visitor',
    interrupted: 'cut off', error: 'failed'
  };

  function renderTranscript(messages) {
    els.transcript.replaceChildren();
    messages.forEach((m) => {
      if (!m || typeof m !== 'object') return;
      const role = m.role === 'user' ? 'user' : 'assistant';
      const li = document.createElement('li');
      li.className = 'turn turn--' + role;
      li.dataset.role = role;
      li.dataset.status = String(m.status || 'complete');
      const head = document.createElement('p');
      head.className = 'turn-head';
      const who = document.createElement('strong');
      who.textContent = role === 'user' ? 'Visitor' : 'Assistant';
      head.appendChild(who);
      if (!isEmpty(m.created_at)) head.append(' · ', timeEl(m.created_at));
      if (TURN_STATE[m.status]) head.append(' · ' + TURN_STATE[m.status]);
      const text = document.createElement('p');
      text.className = 'turn-text';
      // The visitor's words, as text: line breaks kept by CSS.
      text.textContent = isEmpty(m.text) ? '' : String(m.text);
      li.append(head, text);
      els.transcript.appendChild(li);
    });
    if (!els.transcript.childElementCount) {
      els.transcript.appendChild(emptyItem('No messages in this conversation.'));
    }
  }

  function renderFields(fields) {
    els.fieldRows.replaceChildren();
    const names = FIELDS.concat(Object.keys(fields).filter((k) => FIELDS.indexOf(k) === -1));
    names.forEach((key) => {
      const f = fields[key] || {};
      const tr = document.createElement('tr');
      tr.dataset.field = key;
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = LABELS[key] || words(key);
      tr.appendChild(th);
      let value;
      if (isEmpty(f.value)) value = '—';
      else if (key === 'matter_type') value = words(f.value);
      else if (key === 'urgency') value = urgencyBadge(f.value);
      else if (key === 'phone' || key === 'email') value = contactEl(key, f.value);
      else value = asText(f.value);
      tr.appendChild(cell(value, 'Value', 'value-cell'));
      tr.appendChild(cell(provenance(key, f), 'From', 'source-cell'));
      els.fieldRows.appendChild(tr);
    });
  }

  // Where a field came from: "Rules · turn 2 · Today 14:02", tentative
  // when weaker than a complete value.
  function provenance(key, f) {
    if (isEmpty(f.value)) return '—';
    const span = document.createElement('span');
    const parts = [];
    if (!isEmpty(f.source)) {
      span.dataset.source = String(f.source);
      parts.push(words(f.source));
    }
    if (typeof f.turn === 'number') parts.push('turn ' + f.turn);
    span.append(parts.join(' · '));
    if (!isEmpty(f.updated_at)) span.append(parts.length ? ' · ' : '', timeEl(f.updated_at));
    if (FULL_STRENGTH[key] && typeof f.strength === 'number' && f.strength < FULL_STRENGTH[key]) {
      span.append(' · tentative');
    }
    return span;
  }

  function renderChanges(rows) {
    els.changes.replaceChildren();
    rows.forEach((h) => {
      if (!h || typeof h !== 'object') return;
      const li = document.createElement('li');
      li.className = 'change';
      const head = document.createElement('p');
      head.className = 'change-head';
      head.append(timeEl(h.at), ' · ');
      const by = document.createElement('span');
      by.className = 'change-by';
      by.textContent = isEmpty(h.by) ? 'unknown' : String(h.by);
      head.appendChild(by);
      li.appendChild(head);
      if (!isEmpty(h.status)) {
        const p = document.createElement('p');
        p.className = 'change-status';
        p.append('Status set to ', statusBadge(h.status));
        li.appendChild(p);
      }
      if (!isEmpty(h.note)) {
        const p = document.createElement('p');
        p.className = 'change-note';
        p.textContent = String(h.note);
        li.appendChild(p);
      }
      els.changes.appendChild(li);
    });
    if (!els.changes.childElementCount) {
      els.changes.appendChild(emptyItem('Nothing yet: no status change, no note.'));
    }
  }

  function renderRelated(ids) {
    els.related.replaceChildren();
    ids.forEach((rid) => {
      if (isEmpty(rid)) return;
      const id = String(rid);
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = leadHref(id);
      const known = list.leads.find((l) => l.conversation_id === id);
      const name = known ? leadName(known.fields || {}) : '';
      a.textContent = name ? name + ' (conversation ' + id + ')' : 'Conversation ' + id;
      li.appendChild(a);
      els.related.appendChild(li);
    });
    if (!els.related.childElementCount) {
      els.related.appendChild(emptyItem('None with the same phone or e-mail.'));
    }
  }

  // The audit record's shape may grow; show whatever keys it has.
  function renderExtraction(x) {
    const li = document.createElement('li');
    if (!x || typeof x !== 'object' || Array.isArray(x)) {
      li.textContent = asText(x);
      return li;
    }
    const dl = document.createElement('dl');
    Object.keys(x).forEach((key) => {
      const dt = document.createElement('dt');
      dt.textContent = key;
      const dd = document.createElement('dd');
      dd.textContent = /(_at|time)$/.test(key) && typeof x[key] === 'string'
        ? formatTime(x[key]) : asText(x[key]);
      dl.append(dt, dd);
    });
    li.appendChild(dl);
    return li;
  }

  /* ---------- status and notes ---------- */

  function resetStatusForm() {
    els.note.value = '';
    updateNoteCount();
    formMessage('', false);
  }

  function updateNoteCount() {
    const n = chars(els.note.value);
    const over = n > NOTE_MAX;
    els.noteCount.textContent = n.toLocaleString('en') + ' of 2,000 characters' +
      (over ? ': ' + (n - NOTE_MAX).toLocaleString('en') + ' too many' : '');
    els.noteCount.classList.toggle('is-error', over);
    els.note.setAttribute('aria-invalid', over ? 'true' : 'false');
  }

  function formMessage(text, isError) {
    els.statusMessage.textContent = text;
    els.statusMessage.classList.toggle('is-error', !!isError);
  }

  async function saveStatus(e) {
    e.preventDefault();
    if (detail.saving || !detail.data) return;
    const id = detail.id;
    const body = {};
    const status = els.statusSelect.value;
    const note = els.note.value.trim();
    if (status !== detail.data.status) body.status = status;
    if (note) body.note = note;
    if (!body.status && !body.note) {
      formMessage('Nothing to save: choose another status or write a note.', true);
      return;
    }
    if (chars(note) > NOTE_MAX) {
      formMessage('The note is too long: ' + chars(note).toLocaleString('en') +
        ' characters, at most 2,000. Shorten it, then save.', true);
      els.note.focus();
      return;
    }
    detail.saving = true;
    els.save.setAttribute('aria-disabled', 'true');
    formMessage('Saving…', false);
    let message = '';
    let data = null;
    try {
      const res = await api('/api/leads/' + encodeURIComponent(id),
        { method: 'PATCH', body, ok: [400, 404, 413] });
      if (res.status === 200) {
        data = await res.json();
      } else {
        const said = await errorMessage(res);
        if (res.status === 413) message = 'The note is too long for the server: at most 2,000 characters.';
        else if (res.status === 404) message = 'This lead is not there any more: it may have been erased.';
        else message = 'The server refused the change' + (said ? ': ' + said : '.');
      }
    } catch (err) {
      if (!(err instanceof AuthError)) message = err.message || 'Something went wrong.';
      else handleError(err);
    } finally {
      detail.saving = false;
      els.save.removeAttribute('aria-disabled');
    }
    if (detail.id !== id || view !== 'detail') return;
    if (!data) {
      if (message) formMessage(message, true);
      return;
    }
    detail.data = data;
    renderDetail(id, data);
    els.note.value = '';
    updateNoteCount();
    const what = [];
    if (body.status) what.push('status ' + words(data.status || body.status));
    if (body.note) what.push('note added');
    formMessage('Saved: ' + what.join(', ') + '.', false);
    updateListRow(id, data);
  }

  // The list row of lead id after a change; the list is read again when
  // it filters by status and this one may no longer match.
  function updateListRow(id, data) {
    const lead = list.leads.find((l) => l.conversation_id === id);
    if (lead) lead.status = data.status;
    const tr = els.rows.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
    if (tr) {
      tr.dataset.status = String(data.status);
      const td = tr.querySelector('.status-cell');
      if (td) td.replaceChildren(statusBadge(data.status));
    }
    if (readFilters().status) list.stale = true;
  }

  /* ---------- erase ---------- */

  function openErase() {
    if (!detail.data || els.dialog.open) return;
    const who = whoIs(detail.data);
    els.dialogTitle.textContent = 'Erase the conversation with ' + (who || 'this visitor') + '?';
    els.dialogDesc.textContent = 'Everything ' + (who || 'this visitor (no name given)') +
      ' wrote, the assistant\'s replies, the lead\'s details, its status, notes and notifications ' +
      'are removed from the database for good. This cannot be undone.';
    els.dialogError.textContent = '';
    els.dialogConfirm.textContent = 'Erase for good';
    els.dialog.returnValue = '';
    els.dialog.showModal();
    // Never the destructive button first: Enter or Space right away cancels.
    els.dialogCancel.focus();
  }

  async function confirmErase() {
    if (detail.erasing || !detail.data) return;
    const id = detail.id;
    const who = whoIs(detail.data);
    detail.erasing = true;
    els.dialogError.textContent = '';
    els.dialogConfirm.textContent = 'Erasing…';
    let status = 0;
    try {
      const res = await api('/api/conversations/' + encodeURIComponent(id), { method: 'DELETE', ok: [404] });
      status = res.status;
    } catch (err) {
      detail.erasing = false;
      els.dialogConfirm.textContent = 'Erase for good';
      if (err instanceof AuthError) {
        handleError(err);
      } else {
        els.dialogError.textContent = (err.message || 'Something went wrong.') + ' Nothing was erased.';
      }
      return;
    }
    detail.erasing = false;
    els.dialog.close('erased');
    forget(id);
    detail.id = null;
    detail.data = null;
    const v = readFilters();
    history.replaceState(null, '', hashOf(v));
    await showList(v, 'none');
    showStatus(status === 404 ? 'That conversation had already been erased.'
      : 'The conversation with ' + (who || 'this visitor') + ' was erased. It is no longer in the list.', false);
    els.status.focus();
  }

  // Drops lead id from the list as loaded.
  function forget(id) {
    const before = list.leads.length;
    list.leads = list.leads.filter((l) => l.conversation_id !== id);
    const tr = els.rows.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
    if (tr) tr.remove();
    if (before !== list.leads.length && list.key !== null) renderCount(readFilters());
  }

  /* ---------- notifications ---------- */

  const TARGETS = { email: 'E-mail', webhook: 'Webhook' };
  const TYPES = { 'lead.ready': 'New lead', 'lead.updated': 'Update' };

  function tries(n) {
    return n === 1 ? '1 try' : n + ' tries';
  }

  // The line's words before the error: "E-mail · New lead · sent 14:02 (1 try)".
  function notificationText(n) {
    const attempts = typeof n.attempts === 'number' ? n.attempts : 0;
    let state;
    if (n.status === 'sent') {
      state = 'sent' + (isEmpty(n.sent_at) ? '' : ' ' + shortTime(n.sent_at)) + ' (' + tries(attempts) + ')';
    } else if (n.status === 'failed') {
      state = 'failed after ' + tries(attempts);
    } else if (n.status === 'pending') {
      state = isEmpty(n.last_error) ? (attempts ? 'sending again soon' : 'waiting to be sent') : 'retrying';
    } else {
      state = asText(n.status);
    }
    return [TARGETS[n.target] || asText(n.target), TYPES[n.type] || asText(n.type), state].join(' · ');
  }

  function renderNotifications(convId, items) {
    els.notifications.replaceChildren();
    items.forEach((n) => {
      if (!n || typeof n !== 'object') return;
      const li = document.createElement('li');
      li.dataset.id = String(n.id);
      li.dataset.status = String(n.status);
      li.dataset.target = String(n.target);
      const line = document.createElement('span');
      line.className = 'notify-line';
      line.textContent = notificationText(n);
      if (n.status === 'sent' && !isEmpty(n.sent_at)) line.title = String(n.sent_at);
      if (n.status !== 'sent' && !isEmpty(n.last_error)) {
        // The server's words (a status, a refusal): text, never markup.
        const err = document.createElement('span');
        err.className = 'notify-error';
        err.textContent = String(n.last_error);
        line.append(' — ', err);
      }
      li.appendChild(line);
      if (n.status === 'failed') {
        const again = document.createElement('button');
        again.type = 'button';
        again.className = 'btn btn-secondary btn-small';
        again.dataset.action = 'notify-retry';
        again.textContent = 'Send again';
        again.setAttribute('aria-label', 'Send again: ' + notificationText(n));
        again.addEventListener('click', () => retryNotification(convId, String(n.id), again));
        li.appendChild(again);
      }
      els.notifications.appendChild(li);
    });
    if (!els.notifications.childElementCount) {
      els.notifications.appendChild(emptyItem('None. The firm is told by e-mail or webhook (when set up) ' +
        'once a lead has a name and a phone number or e-mail address.'));
    }
  }

  async function retryNotification(convId, id, button) {
    button.disabled = true;
    showStatus('Sending again…', false);
    let message;
    try {
      const res = await api('/api/leads/' + encodeURIComponent(convId) + '/notifications/' +
        encodeURIComponent(id) + '/retry', { method: 'POST', ok: [404, 409] });
      // Read the answer to its end (202 {"status":"pending"}, or the error).
      await res.json().catch(() => null);
      if (res.status === 409) {
        message = 'That notification is no longer failed: nothing to send again.';
      } else if (res.status === 404) {
        message = 'That notification is gone.';
      } else {
        message = 'It will be sent again in a moment.';
      }
    } catch (err) {
      button.disabled = false;
      handleError(err);
      return;
    }
    // Read the lead again, unless staff went elsewhere meanwhile.
    if (view !== 'detail' || detail.id !== convId) showStatus(message, false);
    else await showDetail(convId, { message, focus: els.notifyHeading });
  }

  /* ---------- CSV ---------- */

  async function downloadCsv(e) {
    e.preventDefault();
    showStatus('Preparing the CSV…', false);
    try {
      const blob = await (await api('/api/leads?format=csv')).blob();
      const url = URL.createObjectURL(new Blob([blob], { type: 'text/csv;charset=utf-8' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = 'leads-' + new Date().toISOString().slice(0, 10) + '.csv';
      document.body.appendChild(a);
      a.click();
      a.remove();
      // Revoking at once can cancel the download in some browsers.
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      showStatus('', false);
    } catch (err) {
      handleError(err);
    }
  }

  /* ---------- wiring ---------- */

  function init() {
    els.tokenForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const token = els.tokenInput.value.trim();
      if (!token) return;
      setToken(token);
      els.tokenInput.value = '';
      route('heading');
    });
    els.signOut.addEventListener('click', () => {
      clearToken();
      list.key = null;
      list.leads = [];
      detail.id = null;
      detail.data = null;
      [els.rows, els.fieldRows, els.history, els.notifications, els.transcript, els.changes,
        els.related].forEach((el) => el.replaceChildren());
      askForToken('Signed out.');
    });

    els.filters.addEventListener('submit', (e) => {
      e.preventDefault();
      applyFilters();
    });
    els.q.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(applyFilters, SEARCH_DELAY_MS);
    });
    els.fStatus.addEventListener('change', applyFilters);
    els.fUrgency.addEventListener('change', applyFilters);
    els.clearFilters.addEventListener('click', () => {
      els.q.value = '';
      els.fStatus.value = '';
      els.fUrgency.value = '';
      applyFilters();
      els.q.focus();
    });
    els.refresh.addEventListener('click', () => {
      list.stale = true;
      showList(readFilters(), 'keep');
    });
    els.older.addEventListener('click', () => {
      if (list.next) loadList(readFilters(), true);
    });
    els.csv.addEventListener('click', downloadCsv);
    els.rows.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-id]');
      // Links (the lead, tel:, mailto:) do their own thing; selecting text
      // in a row does not open it.
      if (!tr || e.target.closest('a') || String(window.getSelection())) return;
      go(Object.assign(readFilters(), { lead: tr.dataset.id }), false);
    });

    els.note.addEventListener('input', updateNoteCount);
    els.statusForm.addEventListener('submit', saveStatus);
    els.erase.addEventListener('click', openErase);
    els.dialogCancel.addEventListener('click', () => els.dialog.close('cancel'));
    els.dialogConfirm.addEventListener('click', confirmErase);
    els.dialog.addEventListener('close', () => {
      if (els.dialog.returnValue !== 'erased' && view === 'detail') els.erase.focus();
    });
    els.dialog.addEventListener('cancel', (e) => {
      // Escape while erasing: wait for the answer.
      if (detail.erasing) e.preventDefault();
    });

    // Back, Forward, a link to #…: Chromium fires both events for one
    // move; the second finds the address already shown.
    const moved = () => { if (location.href !== routed) route(); };
    window.addEventListener('hashchange', moved);
    window.addEventListener('popstate', moved);
    updateNoteCount();
    route('none');
  }

  init();
}());
