/*
 * intake.js: the visitor's side of the intake chat.
 *
 * The reply is state kept by the server, not a stream owned by this page:
 * the page sends a message (POST …/messages, read as SSE), and whenever it
 * loses the stream (network drop, reload, another tab started the turn) it
 * catches up from GET …/{id} and follows the rest with the events endpoint
 * from the byte offset it already shows.  Both streams are read with fetch
 * (the token goes in the Authorization header, never in a URL) through the
 * one SSE parser in sse.js, which index.html loads before this file.
 *
 * DOM: #messages holds one wrapper per stored message,
 *   <div class="msg msg--ROLE">
 *     <div class="who">You|Assistant</div>
 *     <div class="bubble" data-role data-status data-message-id>TEXT ONLY</div>
 *     <div class="meta"><span class="note"></span> [Ask again]</div>
 *   </div>
 * #queue holds messages typed while a reply streams (same wrapper, class
 * msg--queued, no data-role) until the server accepts them.
 *
 * The firm's disclosure (GET /api/disclosure) is shown as text in
 * #disclosure, open before the conversation has a message and folded to one
 * line after (the same on a reload: a visitor who already wrote has read
 * it; it opens again with a click).  A message typed while it was shown
 * carries its SHA-256 ("disclosure") when it is the conversation's first;
 * if the text could not be fetched the page works as before and sends none.
 *
 * In a frame (www/embed.js on the firm's site) the page is the same page;
 * it only passes Escape on to the frame's parent (postMessage {intake:
 * "close"}) and focuses its message box when the parent asks ({intake:
 * "focus"}).
 */
'use strict';

(function () {
  const STORAGE_KEY = 'intake.conversation';   // JSON {id, token}
  const MAX_AUTO_RETRIES = 4;                   // then the visitor gets a Retry button
  const POLL_MS = 10000;
  const STALL_MS = 60000;                       // silence on a reply stream that counts as a drop

  const NET_TROUBLE = "We couldn't reach the server — retrying…";
  const BUSY = 'The server is busy — the reply will continue in a moment…';
  const STATUS_NOTES = {
    cancelled: 'Stopped.',
    error: 'Something went wrong and this reply could not be finished.',
    interrupted: 'This reply was interrupted before it finished.'
  };

  const els = {
    form: document.getElementById('intake-form'),
    input: document.querySelector('#intake-form textarea[name="message"]'),
    messages: document.getElementById('messages'),
    queue: document.getElementById('queue'),
    intro: document.getElementById('intro'),
    notice: document.getElementById('notice'),
    live: document.getElementById('live'),
    stop: document.querySelector('[data-action="stop"]'),
    retry: document.querySelector('[data-action="retry"]'),
    startOver: document.querySelector('[data-action="start-over"]'),
    disclosure: document.getElementById('disclosure'),
    disclosureText: document.getElementById('disclosure-text')
  };

  const state = {
    conv: null,      // {id, token} or null before the first message
    gen: 0,          // bumped by teardown; async work started earlier checks it and gives up
    busy: false,     // a send, a sync or a follow is under way: the queue waits
    queue: [],       // items {text, clientId, el, bubble, note, reply, accepted, attempts, ...}
    live: null,      // the assistant bubble currently streaming (ours or another tab's)
    stopping: false, // a cancel was accepted; the stream will report "cancelled"
    abort: null,     // AbortController of the POST in flight
    follow: null,    // {settle} of the follow of /events under way
    followWait: 0,   // ms a 429 on /events asked us to wait
    timer: null,     // pending retry of the queue head
    disclosure: null,  // {text, sha256} from /api/disclosure, once shown
    wasEmpty: null   // no conversation and nothing queued, at the last updateControls
  };

  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const byteSizes = new WeakMap();   // bubble -> UTF-8 length of its text (the resume offset)

  class HttpError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message || ('HTTP ' + status));
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  /* ---------- storage ---------- */

  function readStored() {
    try {
      const v = JSON.parse(localStorage.getItem(STORAGE_KEY));
      if (v && typeof v.id === 'string' && typeof v.token === 'string') return v;
    } catch (e) { /* blocked storage or a corrupt entry: treat as none */ }
    return null;
  }

  function writeStored(conv) {
    try { localStorage.setItem(STORAGE_KEY, JSON.stringify(conv)); } catch (e) { /* private mode */ }
  }

  function clearStored() {
    try { localStorage.removeItem(STORAGE_KEY); } catch (e) { /* private mode */ }
  }

  /* ---------- small helpers ---------- */

  function newClientId() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    const bytes = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // Exponential, capped, with jitter so that several tabs don't retry in step.
  function backoff(attempt) {
    return Math.min(1000 * Math.pow(2, Math.max(0, attempt - 1)), 15000) + Math.random() * 300;
  }

  function parseJson(text) {
    try { return JSON.parse(text) || {}; } catch (e) { return {}; }
  }

  function parseRetryAfter(value) {
    if (!value) return null;
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const when = Date.parse(value);
    return Number.isNaN(when) ? null : Math.max(0, when - Date.now());
  }

  async function readError(res) {
    let code = '';
    let message = '';
    try {
      const body = await res.json();
      if (body && body.error) {
        code = String(body.error.code || '');
        message = String(body.error.message || '');
      }
    } catch (e) { /* not JSON: a proxy's error page */ }
    return new HttpError(res.status, code, message, parseRetryAfter(res.headers.get('Retry-After')));
  }

  function isGone(err) {
    return err instanceof HttpError && (err.status === 401 || err.status === 404);
  }

  function convPath(suffix) {
    return '/api/conversations/' + encodeURIComponent(state.conv.id) + (suffix || '');
  }

  function authHeaders(extra) {
    const headers = Object.assign({}, extra);
    if (state.conv) headers.Authorization = 'Bearer ' + state.conv.token;
    return headers;
  }

  /* ---------- SSE over fetch ---------- */

  // Reads an event-stream response through the one parser (sse.js) until
  // onEvent returns true (the stream's last event), the body ends or breaks,
  // or abort fires. The server sends ": ping" while it waits, so long silence
  // means a stuck connection (a buffering proxy, a sleeping laptop): abort it
  // so the caller resumes. Resolves true when onEvent ended the stream.
  async function readEvents(res, abort, gen, onEvent) {
    let ended = false;
    const parser = window.IntakeSse.createParser((ev) => {
      if (!ended && gen === state.gen && onEvent(ev)) ended = true;
    });
    const reader = res.body.getReader();
    let lastByte = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastByte > STALL_MS && abort) abort.abort();
    }, 5000);
    let finished = false;
    try {
      for (;;) {
        const chunk = await reader.read();
        lastByte = Date.now();
        if (chunk.done) {
          finished = true;
          parser.end();
          break;
        }
        if (gen !== state.gen) break;
        parser.push(chunk.value);
        if (ended) break;
      }
    } catch (e) {
      /* the connection dropped, was aborted, or sent an event over the parser's limit */
    }
    clearInterval(watchdog);
    if (!finished) reader.cancel().catch(() => {});
    return ended;
  }

  /* ---------- rendering ---------- */

  function shownBytes(bubble) {
    let n = byteSizes.get(bubble);
    if (n === undefined) {
      n = encoder.encode(bubble.textContent).length;
      byteSizes.set(bubble, n);
    }
    return n;
  }

  function setText(bubble, text) {
    bubble.textContent = text;
    byteSizes.set(bubble, encoder.encode(text).length);
  }

  // `end` is the delta's SSE id: the reply's byte length after this chunk. It
  // lets a replay that overlaps what is already shown be trimmed, not doubled.
  function appendText(bubble, text, end) {
    if (typeof text !== 'string' || text === '') return;
    let bytes = encoder.encode(text);
    const have = shownBytes(bubble);
    const endAt = end === '' || end == null ? NaN : Number(end);
    if (Number.isInteger(endAt)) {
      if (endAt <= have) return;
      const startAt = endAt - bytes.length;
      if (startAt < have) {
        bytes = bytes.subarray(have - startAt);
        text = decoder.decode(bytes);
      }
    }
    const stick = nearBottom();
    bubble.textContent += text;
    byteSizes.set(bubble, have + bytes.length);
    if (stick) scrollToEnd();
  }

  function nearBottom() {
    const s = document.scrollingElement || document.documentElement;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 160;
  }

  function scrollToEnd() {
    const s = document.scrollingElement || document.documentElement;
    s.scrollTop = s.scrollHeight;
  }

  function buildMessage(role, text, queued) {
    const wrap = document.createElement('div');
    wrap.className = 'msg msg--' + role;
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = role === 'user' ? 'You' : 'Assistant';
    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    if (!queued) bubble.dataset.role = role;
    setText(bubble, text);
    const meta = document.createElement('div');
    meta.className = 'meta';
    const note = document.createElement('span');
    note.className = 'note';
    meta.appendChild(note);
    wrap.append(who, bubble, meta);
    return { wrap, bubble, note };
  }

  function appendMessage(role, text, status, id) {
    const stick = nearBottom();
    const m = buildMessage(role, text, false);
    if (id) m.bubble.dataset.messageId = id;
    els.messages.appendChild(m.wrap);
    setStatus(m.bubble, status);
    if (stick) scrollToEnd();
    return m.bubble;
  }

  function noteOf(bubble) {
    return bubble.parentNode ? bubble.parentNode.querySelector('.note') : null;
  }

  function setStatus(bubble, status) {
    bubble.dataset.status = status || 'complete';
    const note = noteOf(bubble);
    if (note && bubble.dataset.role === 'assistant') note.textContent = STATUS_NOTES[status] || '';
  }

  function findBubble(id) {
    const all = els.messages.querySelectorAll('[data-message-id]');
    for (let i = 0; i < all.length; i++) if (all[i].dataset.messageId === id) return all[i];
    return null;
  }

  // Only the latest reply gets "Ask again", and only if it failed.
  function refreshAskAgain() {
    els.messages.querySelectorAll('[data-action="ask-again"]').forEach((b) => b.remove());
    const last = els.messages.lastElementChild;
    const bubble = last && last.querySelector('.bubble[data-role="assistant"]');
    if (!bubble || (bubble.dataset.status !== 'error' && bubble.dataset.status !== 'interrupted')) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'btn btn-secondary btn-small';
    button.dataset.action = 'ask-again';
    button.textContent = 'Ask again';
    last.querySelector('.meta').appendChild(button);
  }

  // Bring the view in line with the stored conversation.
  function reconcile(messages) {
    messages.forEach((m) => {
      const text = typeof m.text === 'string' ? m.text : '';
      const bubble = findBubble(m.id);
      if (!bubble) {
        appendMessage(m.role === 'user' ? 'user' : 'assistant', text, m.status, m.id);
        return;
      }
      // The database is saved every 200 characters, so while streaming it may be
      // behind what this page already shows; only then keep the longer text.
      const ahead = m.status === 'streaming' && bubble.textContent.startsWith(text);
      if (!ahead && bubble.textContent !== text) setText(bubble, text);
      setStatus(bubble, m.status);
    });
    refreshAskAgain();
    updateControls();
  }

  function announce(text) {
    els.live.textContent = '';
    // A fresh node after a tick makes screen readers read it even if it repeats.
    setTimeout(() => { els.live.textContent = text; }, 50);
  }

  function notice(text, withRetry) {
    els.notice.textContent = text;
    els.retry.hidden = !withRetry;
  }

  function clearNotice() {
    notice('', false);
  }

  function hint(item, text) {
    item.note.textContent = text;
  }

  function updateControls() {
    if (state.live && state.live.dataset.status !== 'streaming') {
      // A sync found the followed reply already final.
      state.live = null;
      state.stopping = false;
    }
    const streaming = !!state.live;
    if (!streaming && document.activeElement === els.stop) els.input.focus();
    els.stop.hidden = !streaming;
    els.stop.disabled = !streaming || state.stopping;
    const empty = els.messages.childElementCount + els.queue.childElementCount === 0;
    els.intro.hidden = !empty;
    // Open before the first message, folded once there is one or a stored
    // conversation is shown (on a change only: a visitor may open it again).
    const before = empty && !state.conv;
    if (before !== state.wasEmpty) {
      state.wasEmpty = before;
      els.disclosure.open = before;
    }
    state.queue.forEach((item, i) => {
      if (item.accepted || item.failed) return;
      hint(item, i === 0 && state.busy && !state.live ? 'Sending…'
        : 'Queued — sends when the current reply finishes');
    });
  }

  /* ---------- the queue ---------- */

  function enqueue(text) {
    const m = buildMessage('user', text, true);
    m.wrap.classList.add('msg--queued');
    const item = {
      text, clientId: newClientId(), el: m.wrap, bubble: m.bubble, note: m.note,
      disclosure: state.disclosure ? state.disclosure.sha256 : null,   // what the visitor was shown
      reply: null, accepted: false, failed: false, stalled: false, attempts: 0, conflicts: 0, gone: 0
    };
    // Sending again is as good as pressing Retry.
    if (state.queue[0]) retryHead();
    els.queue.appendChild(m.wrap);
    state.queue.push(item);
    updateControls();
    scrollToEnd();
    pump();
  }

  // Show the head item as sent (it moves into #messages) or back as waiting.
  function showAsSent(item) {
    item.el.classList.remove('msg--queued');
    item.bubble.dataset.role = 'user';
    item.bubble.dataset.status = 'complete';
    els.messages.appendChild(item.el);
    refreshAskAgain();
  }

  function showAsQueued(item) {
    if (item.reply && item.reply.parentNode) item.reply.parentNode.remove();
    item.reply = null;
    item.el.classList.add('msg--queued');
    delete item.bubble.dataset.role;
    delete item.bubble.dataset.status;
    delete item.bubble.dataset.messageId;
    els.queue.insertBefore(item.el, els.queue.firstChild);
  }

  function dequeue(item) {
    item.accepted = true;
    hint(item, '');
    const i = state.queue.indexOf(item);
    if (i !== -1) state.queue.splice(i, 1);
  }

  function pump() {
    if (state.busy || state.timer || !state.queue.length) return;
    if (state.queue[0].stalled) return;   // waits for the Retry button
    run((gen) => sendHead(gen));
  }

  // Runs one unit of work with the queue held; releases it and moves on after.
  function run(work) {
    const gen = state.gen;
    state.busy = true;
    updateControls();
    let crashed = false;
    Promise.resolve()
      .then(() => work(gen))
      .catch(() => {
        crashed = true;
        if (gen === state.gen) notice('Something went wrong on this page. Reloading it should help.');
      })
      .then(() => {
        if (gen !== state.gen) return;
        state.busy = false;
        updateControls();
        // After an unexpected failure, pause rather than spin on the same message.
        if (crashed) schedule(5000);
        else pump();
      });
  }

  function retryHead() {
    const head = state.queue[0];
    if (!head || !head.stalled) return;
    head.stalled = false;
    head.attempts = 0;
    clearNotice();
  }

  function schedule(ms) {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => { state.timer = null; pump(); }, ms);
  }

  async function ensureConversation(gen) {
    if (state.conv) return;
    const res = await fetch('/api/conversations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}'
    });
    if (res.status !== 201 && res.status !== 200) throw await readError(res);
    const data = await res.json();
    if (gen !== state.gen) return;
    // Another tab may have started one meanwhile: join it rather than split the visitor's story.
    const other = readStored();
    state.conv = other || { id: String(data.id), token: String(data.token) };
    if (!other) writeStored(state.conv);
  }

  async function sendHead(gen) {
    const item = state.queue[0];
    item.failed = false;
    updateControls();
    let res;
    try {
      await ensureConversation(gen);
      if (gen !== state.gen) return;
      state.abort = new AbortController();
      res = await fetch(convPath('/messages'), {
        method: 'POST',
        headers: authHeaders({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify(messageBody(item)),
        cache: 'no-store',
        signal: state.abort.signal
      });
    } catch (err) {
      if (gen !== state.gen) return;
      return sendFailed(item, err);
    }
    if (gen !== state.gen) return;
    if (res.status === 200 && res.body) return streamReply(item, res, gen);

    const err = await readError(res);
    if (gen !== state.gen) return;
    if (err.status === 409) return waitForOtherReply(item, gen);
    if (err.status === 413) {
      return reject(item, 'Your message is too long to send in one go. Please shorten it or split it into parts.');
    }
    if (err.status === 400 || err.status === 415) {
      return reject(item, "We couldn't send that message. Please check it and try again.");
    }
    if (isGone(err) && item.gone++ === 0) return conversationGone();
    return sendFailed(item, err);
  }

  // The disclosure's hash goes with the conversation's first message only:
  // nothing shown yet means none has been sent (a resend of the same
  // client_id carries it again, which the server takes as the same turn).
  function messageBody(item) {
    const body = { text: item.text, client_id: item.clientId };
    if (item.disclosure && !els.messages.querySelector('[data-role]')) body.disclosure = item.disclosure;
    return body;
  }

  // 409: another tab's reply is streaming. Show and follow it; the item stays
  // at the head of the queue and is sent as soon as that reply ends.
  async function waitForOtherReply(item, gen) {
    item.conflicts += 1;
    await syncLoop(gen, false);
    if (gen !== state.gen) return;
    if (item.conflicts > 1) await sleep(Math.min(500 * item.conflicts, 4000));
  }

  // The server refused this message for good: hand the text back to the visitor.
  function reject(item, message) {
    state.queue.splice(state.queue.indexOf(item), 1);
    item.el.remove();
    const typed = els.input.value;
    els.input.value = typed.trim() ? item.text + '\n\n' + typed : item.text;
    notice(message);
    els.input.focus();
  }

  function sendFailed(item, err) {
    if (!item.accepted) showAsQueued(item);
    state.live = null;
    if (err instanceof HttpError && err.status === 429) {
      const wait = err.retryAfter != null ? err.retryAfter : 5000;
      notice('Lots of messages at once — sending again in a moment…');
      hint(item, 'Waiting to send…');
      item.failed = true;
      schedule(wait);
      return;
    }
    item.attempts += 1;
    item.failed = true;
    if (item.attempts > MAX_AUTO_RETRIES) {
      item.stalled = true;
      notice("We couldn't reach the server. Your message hasn't been sent yet.", true);
      hint(item, 'Not sent');
      return;
    }
    notice(NET_TROUBLE);
    hint(item, 'Not sent yet — retrying…');
    const wait = err instanceof HttpError && err.retryAfter != null ? err.retryAfter : backoff(item.attempts);
    schedule(wait);
  }

  /* ---------- one turn, read from the POST response ---------- */

  async function streamReply(item, res, gen) {
    showAsSent(item);
    // A resend with the same client_id replays the reply from its start, so a
    // fresh bubble is right in both cases.
    const reply = item.reply = appendMessage('assistant', '', 'streaming');
    state.live = reply;
    refreshAskAgain();
    updateControls();

    const accept = () => {
      if (item.accepted) return;
      dequeue(item);
      clearNotice();
    };
    const ended = await readEvents(res, state.abort, gen, (ev) => {
      const data = parseJson(ev.data);
      if (ev.event === 'turn') {
        accept();
        claimId(item.bubble, data.user_message_id);
        claimId(reply, data.assistant_message_id);
      } else if (ev.event === 'delta') {
        accept();
        appendText(reply, data.text, ev.id);
      } else if (ev.event === 'done' || ev.event === 'error') {
        accept();
        finishReply(reply, endStatus(ev.event, data));
        return true;
      }
      return false;
    });
    if (gen !== state.gen) return;
    state.abort = null;
    if (ended) return;

    if (!item.accepted) {
      // We can't tell whether the server started this turn. Resending with the
      // same client_id is safe either way: it replays rather than duplicates.
      return sendFailed(item, new Error('stream ended early'));
    }
    // The turn exists; pick the reply up where this page left it.
    const outcome = await followOnce(reply, gen);
    if (gen !== state.gen || outcome === 'final') return;
    if (outcome === 'busy') await waitBusy(gen);
    await syncLoop(gen, false);
  }

  // The ids of a turn are the server's; drop any copy a sync rendered meanwhile.
  function claimId(bubble, id) {
    if (typeof id !== 'string' || !id) return;
    const other = findBubble(id);
    if (other && other !== bubble) other.parentNode.remove();
    bubble.dataset.messageId = id;
  }

  function endStatus(event, data) {
    if (event === 'done') return data.status === 'cancelled' ? 'cancelled' : 'complete';
    return data.status === 'interrupted' ? 'interrupted' : 'error';
  }

  function finishReply(bubble, status) {
    setStatus(bubble, status);
    if (state.live === bubble) {
      state.live = null;
      state.stopping = false;
    }
    refreshAskAgain();
    updateControls();
    announce(status === 'complete' ? 'Assistant: ' + bubble.textContent : STATUS_NOTES[status] || '');
  }

  /* ---------- following a reply with the events endpoint ---------- */

  // Follows the reply in bubble from the bytes it already shows. fetch, not
  // EventSource: the token goes in the Authorization header, never in the URL
  // (URLs end up in access logs, proxies and history). Resolves 'final' when
  // the reply ended, 'failed' when the request or the stream broke, 'other'
  // when the latest reply is not this bubble (204: there is none), 'busy' on
  // a 429 (state.followWait says how long to wait), 'stale' on teardown.
  async function followOnce(bubble, gen) {
    if (gen !== state.gen || !state.conv) return 'stale';
    const abort = new AbortController();
    let outcome = null;
    const settle = (result) => {
      if (outcome !== null) return;
      outcome = result;
      abort.abort();
    };
    const follow = { settle };
    state.follow = follow;
    state.live = bubble;
    updateControls();
    try {
      const res = await fetch(convPath('/events'), {
        headers: authHeaders({ Accept: 'text/event-stream', 'Last-Event-ID': String(shownBytes(bubble)) }),
        cache: 'no-store',
        signal: abort.signal
      });
      if (outcome !== null) return outcome;
      if (res.status === 204) {
        settle('other');
      } else if (res.status !== 200 || !res.body) {
        const err = await readError(res);
        if (err.status === 429) state.followWait = err.retryAfter != null ? err.retryAfter : 5000;
        settle(err.status === 429 ? 'busy' : 'failed');
      } else {
        const ended = await readEvents(res, abort, gen, (ev) => {
          const data = parseJson(ev.data);
          if (ev.event === 'turn') {
            const id = data.assistant_message_id;
            if (!id) return false;
            if (bubble.dataset.messageId && bubble.dataset.messageId !== id) {
              settle('other');
              return true;
            }
            bubble.dataset.messageId = id;
          } else if (ev.event === 'delta') {
            appendText(bubble, data.text, ev.id);
          } else if (ev.event === 'done' || ev.event === 'error') {
            finishReply(bubble, endStatus(ev.event, data));
            settle('final');
            return true;
          }
          return false;
        });
        if (!ended) settle('failed');
      }
    } catch (e) {
      settle('failed');   // the network failed, or settle() aborted the fetch
    } finally {
      if (state.follow === follow) state.follow = null;
    }
    return outcome;
  }

  // GET the conversation, render it, and follow its reply if one is streaming.
  async function syncOnce(gen) {
    const res = await fetch(convPath(''), { headers: authHeaders(), cache: 'no-store' });
    if (!res.ok) throw await readError(res);
    const data = await res.json();
    if (gen !== state.gen) return 'stale';
    const messages = Array.isArray(data.messages) ? data.messages : [];
    reconcile(messages);
    const last = messages[messages.length - 1];
    if (!last || last.role !== 'assistant' || last.status !== 'streaming') return 'idle';
    const bubble = findBubble(last.id);
    return bubble ? followOnce(bubble, gen) : 'idle';
  }

  // Sync until the conversation is at rest. quiet: one silent try (the idle poll).
  async function syncLoop(gen, quiet) {
    let failures = 0;
    while (gen === state.gen && state.conv) {
      let outcome;
      try {
        outcome = await syncOnce(gen);
      } catch (err) {
        if (gen !== state.gen) return;
        if (isGone(err)) { conversationGone(); return; }
        if (quiet) return;
        failures += 1;
        notice(NET_TROUBLE);
        await sleep(backoff(failures));
        continue;
      }
      if (outcome === 'busy') {
        // A 429 on the events endpoint: wait as long as it asked, then catch up again.
        await waitBusy(gen);
        continue;
      }
      if (outcome === 'failed' || outcome === 'other') {
        // The GET worked, so this is usually a dropped stream; say so only if it repeats.
        failures += 1;
        if (failures > 1 && outcome === 'failed') notice(NET_TROUBLE);
        await sleep(failures > 1 ? backoff(failures - 1) : 200);
        continue;
      }
      if (outcome !== 'stale' && (els.notice.textContent === NET_TROUBLE ||
          els.notice.textContent === BUSY)) clearNotice();
      return;
    }
  }

  function waitBusy(gen) {
    if (gen === state.gen) notice(BUSY);
    return sleep(state.followWait);
  }

  /* ---------- conversation lifecycle ---------- */

  // Forget everything shown; queued messages survive unless dropQueue.
  function teardown(dropQueue) {
    state.gen += 1;
    if (state.abort) state.abort.abort();
    if (state.follow) state.follow.settle('stale');
    clearTimeout(state.timer);
    Object.assign(state, {
      conv: null, busy: false, live: null, stopping: false, abort: null, follow: null, timer: null
    });
    els.messages.replaceChildren();
    if (dropQueue) {
      state.queue = [];
      els.queue.replaceChildren();
    } else {
      state.queue.slice().reverse().forEach((item) => {
        item.accepted = false;
        item.failed = false;
        item.attempts = 0;
        item.stalled = false;
        showAsQueued(item);
      });
    }
    clearNotice();
    updateControls();
  }

  // A 401/404: the stored conversation no longer exists on the server.
  function conversationGone() {
    teardown(false);
    clearStored();
    if (state.queue.length) notice('Your earlier conversation is no longer available, so we started a new one.');
    setTimeout(pump, 0);
  }

  function startOver() {
    if (!window.confirm('Start over? This clears the conversation from this page.')) return;
    teardown(true);
    clearStored();
    els.input.value = '';
    els.input.focus();
  }

  function syncNow(quiet) {
    if (state.busy || state.timer || !state.conv) return;
    run((gen) => syncLoop(gen, quiet));
  }

  async function stopReply() {
    if (!state.conv || !state.live) return;
    state.stopping = true;
    updateControls();
    try {
      const res = await fetch(convPath('/cancel'), {
        method: 'POST',
        headers: authHeaders({ 'Content-Type': 'application/json' }),
        body: '{}'
      });
      // 409 not_streaming: it ended on its own meanwhile; the stream says how.
      if (res.status !== 202 && res.status !== 409) throw await readError(res);
      if (res.status === 409) state.stopping = false;
    } catch (err) {
      state.stopping = false;
      notice("We couldn't stop the reply. Please try again.");
    }
    updateControls();
  }

  function askAgain(button) {
    // The question is the user message just before the failed reply.
    let node = button.closest('.msg');
    while (node && !node.querySelector('.bubble[data-role="user"]')) node = node.previousElementSibling;
    if (!node) return;
    button.remove();
    enqueue(node.querySelector('.bubble[data-role="user"]').textContent);
  }

  /* Blank as the server counts it: white space and invisible marks. */
  const BLANK = /^[\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0]*$/;

  function submit() {
    const text = els.input.value.trim();
    if (!text || BLANK.test(text)) return;
    els.input.value = '';
    if (els.notice.textContent && !state.queue.length) clearNotice();
    enqueue(text);
  }

  /* ---------- the disclosure ---------- */

  // GET /api/disclosure, shown as text; tried a few times, then the page
  // goes on without it (the header's short notice stays).
  async function loadDisclosure() {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const res = await fetch('/api/disclosure', { cache: 'no-store' });
        if (res.ok) {
          const data = await res.json();
          if (!data || typeof data.text !== 'string' || !data.text.trim() ||
              typeof data.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(data.sha256)) return;
          els.disclosureText.textContent = data.text;
          els.disclosure.hidden = false;
          state.disclosure = { text: data.text, sha256: data.sha256 };
          return;
        }
        if (res.status < 500 && res.status !== 429) return;   // not there: no disclosure
      } catch (e) { /* the network: try again */ }
      await sleep(2000 * attempt);
    }
  }

  /* ---------- in a frame (embed.js) ---------- */

  function framed() {
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || e.defaultPrevented || e.isComposing) return;
      window.parent.postMessage({ intake: 'close' }, '*');
    });
    window.addEventListener('message', (e) => {
      if (e.source !== window.parent || !e.data || e.data.intake !== 'focus') return;
      els.input.focus({ preventScroll: true });
    });
  }

  /* ---------- wiring ---------- */

  function onStorage(e) {
    if (e.key !== null && e.key !== STORAGE_KEY) return;
    const stored = readStored();
    const current = state.conv;
    if (stored && current && stored.id === current.id) return;
    if (!stored && !current) return;
    // Another tab started a conversation (or started over): show that one.
    teardown(false);
    state.conv = stored;
    if (stored) syncNow(false);
    else pump();
  }

  function init() {
    els.form.addEventListener('submit', (e) => {
      e.preventDefault();
      submit();
      if (document.activeElement !== els.input) els.input.focus();
    });
    els.input.addEventListener('keydown', (e) => {
      // keyCode 229: some browsers report IME keys this way without isComposing.
      if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      submit();
    });
    els.stop.addEventListener('click', stopReply);
    els.startOver.addEventListener('click', startOver);
    els.retry.addEventListener('click', () => {
      retryHead();
      pump();
    });
    els.messages.addEventListener('click', (e) => {
      const button = e.target.closest('[data-action="ask-again"]');
      if (button) askAgain(button);
    });
    window.addEventListener('storage', onStorage);
    // Pick up turns sent from other tabs while this one sits idle in view.
    setInterval(() => {
      if (document.visibilityState === 'visible') syncNow(true);
    }, POLL_MS);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') syncNow(true);
    });

    if (window.parent !== window) framed();

    state.conv = readStored();
    updateControls();
    if (state.conv) syncNow(false);
    loadDisclosure();
  }

  init();
}());
