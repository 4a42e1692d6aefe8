/*
 * embed.js: the intake chat on any page of the firm's own site, with one tag:
 *
 *   <script src="https://INTAKE-HOST/intake/embed.js" async></script>
 *
 * It adds a launcher button at the bottom corner of the page; the button
 * opens the intake page (index.html in the folder this file is served
 * from) in an iframe panel: beside the button on a wide screen, the whole
 * screen on a phone.  Inside the frame the page is the page alone, with its
 * own storage: a reload of the host page, or the next page of the site,
 * finds the conversation again (and the panel open if it was).
 *
 * What it does to the host page: one element, <intake-embed>, at the end of
 * <body>, holding everything in a shadow root; its styles are a constructed
 * stylesheet adopted by that root (no <style> element, no style attribute,
 * so a host page whose CSP forbids inline styles needs nothing for them),
 * and the host's own styles cannot reach inside.  One global,
 * window.IntakeEmbed {open, close, toggle}.  One sessionStorage key,
 * "intake.embed.open", so that the panel stays open from page to page.
 *
 * What the host page needs: if it has a Content-Security-Policy,
 * script-src and frame-src must allow the intake origin
 * ("script-src 'self' https://INTAKE-HOST; frame-src https://INTAKE-HOST").
 * What the intake side needs: the host's origin in INTAKE_EMBED_ORIGINS
 * (the page's frame-ancestors), or the browser refuses to show the frame.
 *
 * Optional attributes on the tag: data-label (the button's words, "Chat
 * with us"), data-title (the panel's title, "Contact us").
 *
 * Escape closes the panel and puts the focus back on the button; inside the
 * frame the page passes Escape on with postMessage({intake: "close"}), and
 * this file asks it to focus its message box with {intake: "focus"}.  Only
 * messages from the frame's own window and origin are heeded.
 */
(function () {
  'use strict';

  if (window.IntakeEmbed || !window.URL || !document.createElement('div').attachShadow) return;

  // This tag (any classic script, async or not, knows its own while it runs).
  const script = document.currentScript;
  if (!script || !script.src) return;

  const PAGE = new URL('./', script.src).href;     // the intake page: this file's folder
  const ORIGIN = new URL(PAGE).origin;
  const LABEL = script.getAttribute('data-label') || 'Chat with us';
  const TITLE = script.getAttribute('data-title') || 'Contact us';
  const OPEN_KEY = 'intake.embed.open';
  const SVG = 'http://www.w3.org/2000/svg';

  const CSS = `
:host {
  all: initial !important;
  display: block !important;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.launcher {
  position: fixed;
  z-index: 2147483000;
  right: max(16px, env(safe-area-inset-right, 0px));
  bottom: max(16px, env(safe-area-inset-bottom, 0px));
  display: inline-flex;
  align-items: center;
  justify-content: center;
  gap: 8px;
  min-width: 56px;
  min-height: 56px;
  margin: 0;
  padding: 0 22px 0 18px;
  border: 2px solid #ffffff;
  border-radius: 28px;
  background: #1f3a5f;
  color: #ffffff;
  font: 600 16px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  letter-spacing: normal;
  text-transform: none;
  box-shadow: 0 4px 16px rgba(0, 0, 0, 0.28);
  cursor: pointer;
  -webkit-tap-highlight-color: transparent;
}
.launcher:hover { background: #172d4a; }
.launcher:focus { outline: none; }
.launcher:focus-visible {
  outline: 3px solid #1a56db;
  outline-offset: 3px;
}
.launcher svg { width: 22px; height: 22px; flex: none; }
.panel {
  position: fixed;
  z-index: 2147483000;
  right: max(16px, env(safe-area-inset-right, 0px));
  bottom: calc(max(16px, env(safe-area-inset-bottom, 0px)) + 56px + 12px);
  width: min(400px, calc(100vw - 32px));
  height: min(680px, calc(100vh - 56px - 12px - 32px));
  display: flex;
  flex-direction: column;
  overflow: hidden;
  border: 1px solid #d8d4cb;
  border-radius: 14px;
  background: #f6f5f1;
  box-shadow: 0 12px 40px rgba(0, 0, 0, 0.3);
}
.bar {
  display: flex;
  align-items: center;
  justify-content: space-between;
  gap: 8px;
  min-height: 48px;
  padding: 2px 4px 2px 16px;
  background: #1f3a5f;
  color: #ffffff;
  font: 600 16px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.title { margin: 0; font: inherit; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.close {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  width: 44px;
  height: 44px;
  margin: 0;
  padding: 0;
  border: 0;
  border-radius: 10px;
  background: transparent;
  color: inherit;
  cursor: pointer;
}
.close:hover { background: rgba(255, 255, 255, 0.15); }
.close:focus { outline: none; }
.close:focus-visible { outline: 3px solid #ffffff; outline-offset: -5px; }
.close svg { width: 20px; height: 20px; }
.frame {
  display: block;
  flex: 1 1 auto;
  width: 100%;
  min-height: 0;
  margin: 0;
  border: 0;
  background: #f6f5f1;
}
@media (prefers-color-scheme: dark) {
  .panel, .frame { background: #14181d; border-color: #333c47; }
}
/* A phone, or a short window: the panel takes the screen, with the close
   button in its bar; the launcher waits underneath until it closes. */
@media (max-width: 560px), (max-height: 560px) {
  .panel {
    top: 0;
    right: 0;
    bottom: 0;
    left: 0;
    width: auto;
    height: auto;
    border: 0;
    border-radius: 0;
    box-shadow: none;
    padding: env(safe-area-inset-top, 0px) env(safe-area-inset-right, 0px)
      env(safe-area-inset-bottom, 0px) env(safe-area-inset-left, 0px);
  }
  .root[data-open] .launcher { display: none; }
}
@media (prefers-reduced-motion: no-preference) {
  .panel { animation: rise 0.16s ease-out; }
  @keyframes rise { from { opacity: 0; transform: translateY(8px); } }
}
`;

  function icon(paths) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    paths.forEach((d) => {
      const p = document.createElementNS(SVG, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    });
    return svg;
  }

  const CHAT = ['M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z'];
  const CROSS = ['M6 6l12 12', 'M18 6L6 18'];

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function remember(open) {
    try {
      if (open) sessionStorage.setItem(OPEN_KEY, '1');
      else sessionStorage.removeItem(OPEN_KEY);
    } catch (e) { /* storage blocked: the panel starts closed on the next page */ }
  }

  function remembered() {
    try { return sessionStorage.getItem(OPEN_KEY) === '1'; } catch (e) { return false; }
  }

  function build() {
    const host = document.createElement('intake-embed');
    const root = host.attachShadow({ mode: 'open' });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      // Older browsers: an inline <style>, which a strict host CSP may refuse.
      root.appendChild(el('style', '', CSS));
    }

    const wrap = el('div', 'root');
    const panel = el('div', 'panel');
    panel.id = 'intake-embed-panel';
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', TITLE);
    panel.hidden = true;
    const bar = el('div', 'bar');
    const title = el('p', 'title', TITLE);
    title.setAttribute('aria-hidden', 'true');
    const close = el('button', 'close');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close chat');
    close.appendChild(icon(CROSS));
    bar.append(title, close);
    panel.appendChild(bar);

    const launcher = el('button', 'launcher');
    launcher.type = 'button';
    launcher.setAttribute('aria-controls', panel.id);
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', LABEL);
    let glyph = icon(CHAT);
    const words = el('span', '', LABEL);
    launcher.append(glyph, words);

    wrap.append(panel, launcher);
    root.appendChild(wrap);

    let frame = null;
    let loaded = false;

    function post(message) {
      if (frame && frame.contentWindow) frame.contentWindow.postMessage(message, ORIGIN);
    }

    function focusFrame() {
      frame.focus();
      if (loaded) post({ intake: 'focus' });
    }

    function makeFrame() {
      frame = el('iframe', 'frame');
      frame.title = TITLE + ': chat with the firm';
      frame.setAttribute('referrerpolicy', 'no-referrer');
      frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-modals');
      frame.addEventListener('load', () => {
        loaded = true;
        if (wrap.hasAttribute('data-open') && wrap.dataset.focus === '1') post({ intake: 'focus' });
      });
      frame.src = PAGE;
      panel.appendChild(frame);
    }

    function setLauncher(open) {
      const text = open ? 'Close chat' : LABEL;
      launcher.setAttribute('aria-expanded', open ? 'true' : 'false');
      launcher.setAttribute('aria-label', text);
      words.textContent = open ? 'Close' : LABEL;
      const next = icon(open ? CROSS : CHAT);
      glyph.replaceWith(next);
      glyph = next;
    }

    // focus: move the focus into the frame (a visitor's click or key), not
    // when the panel reopens by itself on the next page.
    function open(focus) {
      if (!frame) makeFrame();
      panel.hidden = false;
      wrap.setAttribute('data-open', '');
      wrap.dataset.focus = focus === false ? '0' : '1';
      setLauncher(true);
      remember(true);
      if (focus !== false) focusFrame();
    }

    function closePanel() {
      if (panel.hidden) return;
      panel.hidden = true;
      wrap.removeAttribute('data-open');
      setLauncher(false);
      remember(false);
      launcher.focus();
    }

    launcher.addEventListener('click', () => {
      if (panel.hidden) open(true);
      else closePanel();
    });
    close.addEventListener('click', closePanel);
    wrap.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !panel.hidden) {
        e.stopPropagation();
        closePanel();
      }
    });
    window.addEventListener('message', (e) => {
      if (!frame || e.source !== frame.contentWindow || e.origin !== ORIGIN) return;
      if (e.data && e.data.intake === 'close') closePanel();
    });

    document.body.appendChild(host);
    if (remembered()) open(false);

    return {
      open: () => open(true),
      close: closePanel,
      toggle: () => (panel.hidden ? open(true) : closePanel())
    };
  }

  let api = null;
  const pending = [];
  function call(name) {
    if (api) api[name]();
    else pending.push(name);
  }
  window.IntakeEmbed = Object.freeze({
    open: () => call('open'),
    close: () => call('close'),
    toggle: () => call('toggle')
  });

  function start() {
    api = build();
    pending.splice(0).forEach((name) => api[name]());
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
}());
