/*
 * leads.js: the staff page. Lists leads (GET /api/leads), shows one lead with
 * its notifications (the e-mail and webhook that told the firm of it) and its
 * extraction history (GET /api/leads/{id}), sends a failed notification again
 * (POST /api/leads/{id}/notifications/{nid}/retry), and downloads the CSV.
 *
 * The admin token lives in sessionStorage only, so it is gone when the tab
 * closes. The first request goes without one: when the web server does its
 * own authentication (REMOTE_USER), no token is needed at all.
 * Every value from the server is set with textContent.
 */
'use strict';

(function () {
  const TOKEN_KEY = 'intake.adminToken';
  const FIELDS = ['full_name', 'phone', 'email', 'matter_type', 'urgency', 'summary'];
  const LABELS = {
    full_name: 'Name', phone: 'Phone', email: 'Email',
    matter_type: 'Matter', urgency: 'Urgency', summary: 'Summary'
  };

  const els = {
    status: document.getElementById('leads-status'),
    tokenForm: document.getElementById('token-form'),
    tokenInput: document.getElementById('admin-token'),
    signOut: document.querySelector('[data-action="sign-out"]'),
    list: document.getElementById('list-view'),
    count: document.getElementById('leads-count'),
    rows: document.querySelector('#leads-table tbody'),
    refresh: document.querySelector('[data-action="refresh"]'),
    csv: document.querySelector('[data-action="csv"]'),
    detail: document.getElementById('detail-view'),
    detailHeading: document.getElementById('detail-heading'),
    detailId: document.getElementById('detail-id'),
    fieldRows: document.querySelector('#fields-table tbody'),
    history: document.getElementById('extractions'),
    notifyHeading: document.getElementById('notify-heading'),
    notifications: document.getElementById('notifications'),
    back: document.querySelector('[data-action="back"]')
  };

  class AuthError extends Error {}

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

  // ok: statuses the caller handles itself besides 2xx (the response is
  // returned for them too).
  async function api(path, method, ok) {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    let res;
    try {
      res = await fetch(path, { method: method || 'GET', headers, cache: 'no-store' });
    } catch (e) {
      throw new Error("We couldn't reach the server. Check the connection and try again.");
    }
    if (res.status === 401) throw new AuthError();
    if (!res.ok && !(ok && ok.indexOf(res.status) !== -1)) {
      let message = '';
      try {
        const body = await res.json();
        message = body && body.error && body.error.message;
      } catch (e) { /* not JSON */ }
      throw new Error(message ? 'The server said: ' + message : 'The server answered ' + res.status + '.');
    }
    return res;
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
    els.list.hidden = true;
    els.detail.hidden = true;
    els.signOut.hidden = true;
    els.tokenForm.hidden = false;
    showStatus(message, false);
    els.tokenInput.value = '';
    els.tokenInput.focus();
  }

  /* ---------- formatting ---------- */

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

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    if (text === '—') td.classList.add('empty-value');
    return td;
  }

  function timeCell(v) {
    const td = cell(formatTime(v), 'time-cell');
    if (!isEmpty(v)) td.title = String(v);
    return td;
  }

  /* ---------- list ---------- */

  async function showList() {
    els.detail.hidden = true;
    els.tokenForm.hidden = true;
    showStatus('Loading leads…', false);
    try {
      const data = await (await api('/api/leads')).json();
      renderList(Array.isArray(data.leads) ? data.leads : []);
      els.signOut.hidden = !getToken();
      els.list.hidden = false;
      showStatus('', false);
    } catch (err) {
      handleError(err);
    }
  }

  function renderList(leads) {
    els.rows.replaceChildren();
    els.count.textContent = leads.length === 1 ? '1 lead' : leads.length + ' leads';
    leads.forEach((lead) => {
      const fields = lead.fields || {};
      const tr = document.createElement('tr');
      tr.dataset.id = lead.conversation_id;

      const nameCell = document.createElement('td');
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'row-link';
      open.textContent = isEmpty(fields.full_name) ? '(no name yet)' : String(fields.full_name);
      nameCell.appendChild(open);
      tr.appendChild(nameCell);

      tr.appendChild(cell(asText(fields.phone), 'nowrap'));
      tr.appendChild(cell(asText(fields.email)));
      tr.appendChild(cell(asText(fields.matter_type)));
      tr.appendChild(cell(asText(fields.urgency)));
      tr.appendChild(cell(asText(fields.summary), 'summary-cell'));
      tr.appendChild(timeCell(lead.created_at));
      tr.appendChild(timeCell(lead.updated_at));
      els.rows.appendChild(tr);
    });
    if (!leads.length) {
      const tr = document.createElement('tr');
      const td = cell('No leads yet.', 'empty-value');
      td.colSpan = 8;
      tr.appendChild(td);
      els.rows.appendChild(tr);
    }
  }

  /* ---------- one lead ---------- */

  // after: what to say once it is shown, and where the focus goes (a
  // reload after "Send again" keeps it at the notifications).
  async function showDetail(id, after) {
    els.list.hidden = true;
    els.tokenForm.hidden = true;
    if (!after) showStatus('Loading lead…', false);
    try {
      const data = await (await api('/api/leads/' + encodeURIComponent(id))).json();
      renderDetail(id, data);
      els.signOut.hidden = !getToken();
      els.detail.hidden = false;
      showStatus(after ? after.message : '', false);
      (after ? els.notifyHeading : els.detailHeading).focus();
    } catch (err) {
      handleError(err);
    }
  }

  function renderDetail(id, data) {
    const fields = data.fields || {};
    const name = fields.full_name && fields.full_name.value;
    els.detailHeading.textContent = isEmpty(name) ? 'Lead' : String(name);
    els.detailId.textContent = 'Conversation ' + (data.conversation_id || id);

    els.fieldRows.replaceChildren();
    const names = FIELDS.concat(Object.keys(fields).filter((k) => FIELDS.indexOf(k) === -1));
    names.forEach((key) => {
      const f = fields[key] || {};
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = LABELS[key] || key;
      tr.appendChild(th);
      tr.appendChild(cell(asText(f.value), 'value-cell'));
      tr.appendChild(cell(asText(f.strength)));
      tr.appendChild(cell(asText(f.turn)));
      tr.appendChild(timeCell(f.updated_at));
      els.fieldRows.appendChild(tr);
    });

    renderNotifications(data.conversation_id || id,
      Array.isArray(data.notifications) ? data.notifications : []);

    els.history.replaceChildren();
    const extractions = Array.isArray(data.extractions) ? data.extractions : [];
    extractions.forEach((x) => els.history.appendChild(renderExtraction(x)));
    if (!extractions.length) {
      const li = document.createElement('li');
      li.textContent = 'No extractions recorded yet.';
      li.className = 'empty-value';
      els.history.appendChild(li);
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

  /* ---------- notifications ---------- */

  const TARGETS = { email: 'E-mail', webhook: 'Webhook' };
  const TYPES = { 'lead.ready': 'New lead', 'lead.updated': 'Update' };

  function tries(n) {
    return n === 1 ? '1 try' : n + ' tries';
  }

  // "14:02" today, "Mar 3, 2025, 14:02" on another day (local time).
  function shortTime(v) {
    const date = parseTime(v);
    if (Number.isNaN(date.getTime()) || date.toDateString() !== new Date().toDateString()) {
      return formatTime(v);
    }
    return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
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

  function renderNotifications(convId, list) {
    els.notifications.replaceChildren();
    list.forEach((n) => {
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
      const li = document.createElement('li');
      li.textContent = 'None. The firm is told by e-mail or webhook (when set up) once a lead has a ' +
        'name and a phone number or e-mail address.';
      li.className = 'empty-value';
      els.notifications.appendChild(li);
    }
  }

  async function retryNotification(convId, id, button) {
    button.disabled = true;
    showStatus('Sending again…', false);
    let message;
    try {
      const res = await api('/api/leads/' + encodeURIComponent(convId) + '/notifications/' +
        encodeURIComponent(id) + '/retry', 'POST', [404, 409]);
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
    // Read the lead again, unless staff went back to the list meanwhile.
    if (els.detail.hidden) showStatus(message, false);
    else await showDetail(convId, { message });
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

  /* ---------- navigation ---------- */

  // The hash keeps the open lead, so Back and reload behave as expected.
  // The link in a notification (e-mail, webhook) is leads.html#ID: it
  // opens that lead, and the address becomes #lead/ID.
  function route() {
    const bare = /^#([A-Za-z0-9_-]{8,})$/.exec(location.hash);
    if (bare) history.replaceState(null, '', '#lead/' + bare[1]);
    const m = /^#lead\/(.+)$/.exec(location.hash);
    if (m) {
      let id;
      try { id = decodeURIComponent(m[1]); } catch (e) { id = m[1]; }
      showDetail(id);
    } else {
      showList();
    }
  }

  function openLead(id) {
    location.hash = 'lead/' + encodeURIComponent(id);
  }

  function init() {
    els.tokenForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const token = els.tokenInput.value.trim();
      if (!token) return;
      setToken(token);
      els.tokenInput.value = '';
      route();
    });
    els.signOut.addEventListener('click', () => {
      clearToken();
      els.rows.replaceChildren();
      els.fieldRows.replaceChildren();
      els.history.replaceChildren();
      els.notifications.replaceChildren();
      askForToken('Signed out.');
    });
    els.refresh.addEventListener('click', showList);
    els.csv.addEventListener('click', downloadCsv);
    els.back.addEventListener('click', () => {
      if (location.hash) history.pushState(null, '', location.pathname + location.search);
      showList();
    });
    els.rows.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-id]');
      // Let people select text in a row without opening it.
      if (!tr || (String(window.getSelection()) && !e.target.closest('button'))) return;
      openLead(tr.dataset.id);
    });
    window.addEventListener('hashchange', route);
    route();
  }

  init();
}());
