// sse.test.mjs: the page's SSE parser (www/sse.js) on its own, under Node.
//
//   node tests/browser/sse.test.mjs
//
// Feeds the recorded LLM streams (tests/fixtures/llm-streams/*.sse, their
// dispatched event counts and names in expected.json) and hand-made streams
// (CRLF/CR line ends, comments, fields without a space, multi-line data,
// ids, UTF-8, an unfinished last event, the size limit) to the parser three
// ways: whole, split in two at every byte offset, and one byte at a time.
// Every way must dispatch the same events.  Like test_sse.c for the C
// parser: where a chunk ends must not matter.
//
// www/sse.js is run in a fresh VM context with nothing but TextDecoder, as
// a plain script (the way the browser loads it).  SSE_JS=path tests another
// file (e.g. a deliberately broken copy, to see this test fail).
// Prints "FAIL …" lines, then "sse_js: N passed, N failed"; exits 1 on a
// failure.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOP = path.resolve(HERE, '..', '..');
const FIXTURES = path.join(TOP, 'tests', 'fixtures', 'llm-streams');
const SOURCE = process.env.SSE_JS || path.join(TOP, 'www', 'sse.js');

let passed = 0;
let failed = 0;

function ok(cond, what, detail) {
  if (cond) {
    passed++;
    return true;
  }
  failed++;
  console.log('FAIL ' + what + (detail ? ': ' + detail : ''));
  return false;
}

function load() {
  const sandbox = { TextDecoder };
  vm.createContext(sandbox);
  vm.runInContext(fs.readFileSync(SOURCE, 'utf8'), sandbox, { filename: SOURCE });
  if (!sandbox.IntakeSse || typeof sandbox.IntakeSse.createParser !== 'function') {
    throw new Error(SOURCE + ' does not define IntakeSse.createParser');
  }
  return sandbox.IntakeSse;
}

const Sse = load();
const encoder = new TextEncoder();

// Feed bytes cut at the given offsets; the events (plain copies) and the
// error a push threw, if any.
function parse(bytes, cuts, options) {
  const events = [];
  const parser = Sse.createParser((ev) => events.push({ event: ev.event, data: ev.data, id: ev.id }), options);
  let from = 0;
  let error = null;
  try {
    for (const to of [...cuts, bytes.length]) {
      parser.push(bytes.subarray(from, to));
      from = to;
    }
    parser.end();
  } catch (e) {
    error = (e && e.name) || String(e);
  }
  return { events, error };
}

function same(a, b) {
  if (a.error !== b.error || a.events.length !== b.events.length) return false;
  return a.events.every((e, i) => e.event === b.events[i].event && e.data === b.events[i].data &&
    e.id === b.events[i].id);
}
const show = (r) => String(JSON.stringify(r)).slice(0, 400);

// Whole, split in two at every offset, one byte at a time: each must equal
// want (or, without want, the whole run).  Returns the whole run.
function threeWays(name, bytes, want, options) {
  const whole = parse(bytes, [], options);
  const ref = want || whole;
  ok(same(whole, ref), name + ' (whole)', 'got ' + show(whole) + ', want ' + show(ref));
  let bad = null;
  for (let cut = 1; cut < bytes.length && !bad; cut++) {
    const r = parse(bytes, [cut], options);
    if (!same(r, ref)) bad = 'cut at byte ' + cut + ': got ' + show(r) + ', want ' + show(ref);
  }
  ok(!bad, name + ' (split in two at every offset)', bad);
  const each = [];
  for (let i = 1; i < bytes.length; i++) each.push(i);
  const bytewise = parse(bytes, each, options);
  ok(same(bytewise, ref), name + ' (one byte at a time)', 'got ' + show(bytewise) + ', want ' + show(ref));
  return whole;
}

/* ---------- the recorded streams ---------- */

const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'));
const recorded = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.sse')).sort();
ok(recorded.length >= 5, 'recorded .sse streams found in ' + FIXTURES, 'only ' + recorded.length);
for (const file of recorded) {
  const want = expected[file];
  if (!ok(want && Number.isInteger(want.sse_events), file + ' has sse_events in expected.json')) continue;
  const bytes = new Uint8Array(fs.readFileSync(path.join(FIXTURES, file)));
  const r = threeWays(file, bytes, null);
  ok(r.error === null, file + ' parses without error', r.error);
  ok(r.events.length === want.sse_events, file + ' dispatched events',
    'got ' + r.events.length + ', want ' + want.sse_events);
  if (want.sse_event_names) {
    const names = {};
    for (const ev of r.events) names[ev.event] = (names[ev.event] || 0) + 1;
    const sorted = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
    ok(sorted(names) === sorted(want.sse_event_names), file + ' event names and counts',
      'got ' + sorted(names) + ', want ' + sorted(want.sse_event_names));
  }
  // The recorded payloads are JSON or the closing [DONE]: a mangled data
  // field would not parse.
  const broken = r.events.filter((ev) => {
    if (ev.data === '[DONE]') return false;
    try { JSON.parse(ev.data); return false; } catch (e) { return true; }
  });
  ok(broken.length === 0, file + ' every data is JSON or [DONE]', broken.length + ' are not: ' + show(broken[0]));
}

/* ---------- hand-made streams ---------- */

const ev = (event, data, id = '') => ({ event, data, id });

// [name, input (string, or bytes), events wanted]
const cases = [
  ['the server\'s turn, LF',
    'event: turn\ndata: {"turn":1}\n\nid: 17\nevent: delta\ndata: {"text":"Hi"}\n\nevent: done\ndata: {"status":"complete"}\n\n',
    [ev('turn', '{"turn":1}'), ev('delta', '{"text":"Hi"}', '17'), ev('done', '{"status":"complete"}', '17')]],
  ['CRLF line ends, multi-line data',
    'id: 3\r\nevent: delta\r\ndata: one\r\ndata: two\r\n\r\ndata: three\r\n\r\n',
    [ev('delta', 'one\ntwo', '3'), ev('message', 'three', '3')]],
  ['CR line ends, multi-line data',
    'event: a\rdata: x\rdata: y\r\rdata: z\r\r',
    [ev('a', 'x\ny'), ev('message', 'z')]],
  ['LF, CR and CRLF mixed',
    'data: a\r\n\rdata: b\n\r\ndata: c\rdata: d\r\n\n',
    [ev('message', 'a'), ev('message', 'b'), ev('message', 'c\nd')]],
  ['CR then LF is one line end, CR CR is two',
    'data: a\r\r\ndata: b\r\n\r\n',
    [ev('message', 'a'), ev('message', 'b')]],
  ['comments, between and inside events',
    ': ping\n\n:\n\ndata: a\n: a comment inside\ndata: b\n\n:no space\n\n',
    [ev('message', 'a\nb')]],
  ['one optional space after the colon, no more',
    'data:x\n\ndata:  two spaces\n\ndata: a: b\n\nevent:delta\ndata:\n\n',
    [ev('message', 'x'), ev('message', ' two spaces'), ev('message', 'a: b'), ev('delta', '')]],
  ['a field without a colon has an empty value',
    'data\n\ndata\ndata\n\nevent\ndata: e\n\n',
    [ev('message', ''), ev('message', '\n'), ev('message', 'e')]],
  ['empty data lines keep their line ends',
    'data: a\ndata:\ndata: b\ndata:\n\n',
    [ev('message', 'a\n\nb\n')]],
  ['no data, no dispatch; the event name resets',
    'event: lonely\n\ndata: after\n\nevent: x\nid: 1\n\n\n\ndata: y\n\n',
    [ev('message', 'after'), ev('message', 'y', '1')]],
  ['ids persist, an empty id clears, an id with NUL is ignored',
    'id: 5\ndata: a\n\ndata: b\n\nid: 6\u0000x\ndata: c\n\nid\ndata: d\n\nid: 7\n\ndata: e\n\n',
    [ev('message', 'a', '5'), ev('message', 'b', '5'), ev('message', 'c', '5'), ev('message', 'd', ''),
      ev('message', 'e', '7')]],
  ['retry, unknown and differently cased fields are ignored',
    'retry: 10\nfoo: bar\nData: no\nEVENT: no\ndata: q\n\n',
    [ev('message', 'q')]],
  ['an unfinished last event is dropped (LF)',
    'data: a\n\ndata: b\n',
    [ev('message', 'a')]],
  ['an unfinished last event is dropped (no line end)',
    'data: a\n\ndata: b',
    [ev('message', 'a')]],
  ['an unfinished last event is dropped (CR)',
    'data: a\r\rdata: b\r',
    [ev('message', 'a')]],
  ['a leading BOM is dropped',
    '\uFEFFdata: a\n\n',
    [ev('message', 'a')]],
  ['UTF-8 of 2, 3 and 4 bytes, split anywhere',
    'event: delta\nid: 40\ndata: {"text":"Jürgen Müller — 5 € · 日本語 😀👍🏽"}\n\ndata: é\r\ndata: 😀\r\n\r\n',
    [ev('delta', '{"text":"Jürgen Müller — 5 € · 日本語 😀👍🏽"}', '40'), ev('message', 'é\n😀', '40')]],
  ['UTF-8 in a field name and in an id',
    'id: ü1\ndata: ä\n\névent: x\ndata: y\n\n',
    [ev('message', 'ä', 'ü1'), ev('message', 'y', 'ü1')]],
  ['invalid UTF-8 becomes U+FFFD, the stream goes on',
    new Uint8Array([...encoder.encode('data: a'), 0xff, 0xc3, ...encoder.encode('\n\ndata: b\n\n')]),
    [ev('message', 'a\uFFFD\uFFFD'), ev('message', 'b')]],
  ['a multi-byte character cut off by the end of the body',
    new Uint8Array([...encoder.encode('data: a\n\ndata: '), 0xe2, 0x82]),
    [ev('message', 'a')]],
  ['an empty body', '', []]
];

for (const [name, input, want] of cases) {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  threeWays(name, bytes, { events: want, error: null });
}

// The limit: a line or an event's data beyond maxPending throws, however
// it is cut; up to it, it parses.
const limit = { maxPending: 16 };
threeWays('a 16-character line at a 16-character limit', encoder.encode('data: 0123456789\n\n'),
  { events: [ev('message', '0123456789')], error: null }, limit);
threeWays('a line over the limit throws', encoder.encode('data: 0123456789abcdef\n\n'),
  { events: [], error: 'RangeError' }, limit);
threeWays('data lines adding up over the limit throw', encoder.encode('data: 01234\ndata: 56789\ndata: abcde\n\n'),
  { events: [], error: 'RangeError' }, limit);
ok(Sse.DEFAULT_MAX_PENDING >= 65536, 'the default limit holds a 64 KiB event', String(Sse.DEFAULT_MAX_PENDING));

// Events come out as soon as their blank line arrives, not at the end.
{
  const seen = [];
  const p = Sse.createParser((e) => seen.push(e.data));
  p.push(encoder.encode('data: a\n\ndata: b\r'));
  const early = seen.slice();
  p.push(encoder.encode('\r'));
  ok(JSON.stringify(early) === '["a"]' && JSON.stringify(seen) === '["a","b"]',
    'events dispatch on their blank line, a CR ends a line at once',
    'after the first push ' + JSON.stringify(early) + ', after the CR ' + JSON.stringify(seen));
}

console.log('sse_js: ' + passed + ' passed, ' + failed + ' failed');
process.exit(failed ? 1 : 0);
