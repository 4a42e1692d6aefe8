/*
 * sse.js: the page's one reader of server-sent events.
 *
 * Both replies the page reads are event streams: the answer to POST
 * …/messages and the follow of GET …/events.  Both are read with fetch (so
 * the token travels in the Authorization header, never in a URL that would
 * land in access logs and history), and both go through this parser, which
 * applies the WHATWG event-stream rules to bytes in arbitrary chunks:
 *   - lines end in LF, CR or CRLF, and a CRLF may be split across chunks;
 *   - bytes are decoded as UTF-8 with a streaming TextDecoder, so a
 *     character split across chunks comes out whole (a leading BOM is
 *     dropped, invalid bytes become U+FFFD);
 *   - a line starting with ':' is a comment (the server's ": ping");
 *   - "field:value" with one optional space after the colon; a line with
 *     no colon is a field with an empty value; fields data, event, id are
 *     kept (retry and unknown fields are ignored: the page has its own
 *     backoff);
 *   - a blank line dispatches {event, data, id}: event defaults to
 *     "message", several data lines are joined with LF, id is the last id
 *     seen (ids holding NUL are ignored); nothing is dispatched without a
 *     data line;
 *   - a stream that ends mid-event drops the unfinished event.
 * No DOM and no network here, so tests/browser/sse.test.mjs runs it under
 * Node.  Loaded with its own <script src> (the CSP allows no inline script);
 * it defines IntakeSse on the global object.
 */
'use strict';

(function (global) {
  // Text held for one unfinished line or event, in UTF-16 code units. The
  // server's events are far smaller; beyond this the stream is broken.
  const DEFAULT_MAX_PENDING = 1024 * 1024;

  // onEvent({event, data, id}) is called for every dispatched event.
  // options.maxPending: the limit above (push throws RangeError past it).
  function createParser(onEvent, options) {
    const maxPending = (options && options.maxPending) || DEFAULT_MAX_PENDING;
    const decoder = new TextDecoder('utf-8');
    let line = '';           // the unfinished line
    let skipLF = false;      // the last chunk ended in CR: an LF next is its pair
    let type = '';
    let data = [];
    let dataLen = 0;
    let lastId = '';

    function field(text) {
      if (text === '') {
        if (data.length) onEvent({ event: type || 'message', data: data.join('\n'), id: lastId });
        type = '';
        data = [];
        dataLen = 0;
        return;
      }
      if (text.charCodeAt(0) === 58) return;   // ':' comment
      const colon = text.indexOf(':');
      const name = colon === -1 ? text : text.slice(0, colon);
      let value = colon === -1 ? '' : text.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (name === 'data') {
        dataLen += value.length + 1;
        if (dataLen > maxPending) throw new RangeError('sse: event over ' + maxPending + ' characters');
        data.push(value);
      } else if (name === 'event') {
        type = value;
      } else if (name === 'id') {
        if (value.indexOf('\0') === -1) lastId = value;
      }
    }

    function feed(text) {
      let start = 0;
      if (skipLF && text.length) {
        if (text.charCodeAt(0) === 10) start = 1;
        skipLF = false;
      }
      const eol = /[\r\n]/g;
      eol.lastIndex = start;
      let m;
      while ((m = eol.exec(text)) !== null) {
        let i = m.index;
        const whole = line + text.slice(start, i);
        line = '';
        if (text.charCodeAt(i) === 13) {
          if (i + 1 === text.length) skipLF = true;
          else if (text.charCodeAt(i + 1) === 10) i++;
        }
        start = eol.lastIndex = i + 1;
        field(whole);
      }
      line += text.slice(start);
      if (line.length > maxPending) throw new RangeError('sse: line over ' + maxPending + ' characters');
    }

    return {
      // bytes: a Uint8Array chunk of the response body, cut anywhere.
      push(bytes) {
        feed(decoder.decode(bytes, { stream: true }));
      },
      // The body ended: an unfinished line or event is dropped.
      end() {
        feed(decoder.decode());
        line = '';
        type = '';
        data = [];
        dataLen = 0;
      }
    };
  }

  global.IntakeSse = { createParser, DEFAULT_MAX_PENDING };
}(typeof globalThis !== 'undefined' ? globalThis : self));
