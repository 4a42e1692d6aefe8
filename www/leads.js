/*
 * leads.js: the staff page. Lists leads (GET /api/leads), shows one lead with
 * its extraction history (GET /api/leads/{id}), and downloads the CSV.
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

  async function api(path) {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    let res;
    try {
      res = await fetch(path, { headers, cache: 'no-store' });
    } catch (e) {
      throw new Error("We couldn't reach the server. Check the connection and try again.");
    }
    if (res.status === 401) throw new AuthError();
    if (!res.ok) {
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
  function formatTime(v) {
    if (isEmpty(v)) return '—';
    let date;
    if (typeof v === 'number') {
      date = new Date(v < 1e12 ? v * 1000 : v);
    } else {
      let s = String(v);
      if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(s)) s = s.replace(' ', 'T');
      if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s += 'Z';
      date = new Date(s);
    }
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

  async function showDetail(id) {
    els.list.hidden = true;
    els.tokenForm.hidden = true;
    showStatus('Loading lead…', false);
    try {
      const data = await (await api('/api/leads/' + encodeURIComponent(id))).json();
      renderDetail(id, data);
      els.signOut.hidden = !getToken();
      els.detail.hidden = false;
      showStatus('', false);
      els.detailHeading.focus();
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
  function route() {
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
