"""harness.py: drive the real intake.fcgi under the real lighttpd over HTTP.

Standard library only.  A Server makes a private temporary folder (the
database and lighttpd's run folder), creates the database with
`intake-extract --init`, writes lighttpd's configuration with
scripts/lighttpd-conf.sh and runs `lighttpd -D` on a free loopback port.
Requests go over raw sockets so that tests see exactly what went over the
wire and when: every SSE event carries the time it arrived, and a
response records when it ended (the terminal chunk of a chunked body, or
EOF of a close-delimited one) and when the connection hit EOF.

lighttpd writes its own messages to <run>/error.log; the program's
stderr (its log lines and sanitizer reports, the extractor's too) is
lighttpd's own stderr, which the harness sends to <run>/lighttpd.out.
Both are scanned after every test and at stop: "AddressSanitizer",
"LeakSanitizer" or "runtime error:" there fails the test (or the class).

    BUILD=build/test python3 tests/integration/test_turn.py

Environment: BUILD (default build/test), INTAKE_TEST_KEEP=1 keeps the
temporary folders, INTAKE_TEST_VERBOSE=1 prints each test's name.

INTAKE_TEST_ENGINE=postgresql runs the same suites on PostgreSQL: one
throwaway cluster per test process (tests/pg_cluster.py, started when the
first Server is made), a fresh database per Server whose URI is its
INTAKE_DB, and Server.db()/db_rw()/query() through psycopg2 (Debian's
python3-psycopg2; the harness re-runs itself under /usr/bin/python3 when
the python3 it was started with lacks it) with the suites' `?`
placeholders and sqlite3.Row-like rows.  Tests that read what only SQLite
has (its files, their modes, PRAGMA) are marked @sqlite_only.
"""

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", "build/test")
BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(TOP, BUILD)
EXTRACTOR = os.path.join(BUILD_DIR, "intake-extract")

# The engine the suites run on: sqlite (the default) or postgresql.
ENGINE = os.environ.get("INTAKE_TEST_ENGINE", "sqlite") or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    raise SystemExit("INTAKE_TEST_ENGINE must be sqlite or postgresql, "
                     "not %r" % ENGINE)
PG = ENGINE == "postgresql"
DEBIAN_PYTHON = "/usr/bin/python3"
if PG:
    try:
        import psycopg2
        import psycopg2.extensions
    except ImportError:
        if os.path.realpath(sys.executable) != \
                os.path.realpath(DEBIAN_PYTHON) and \
                os.access(DEBIAN_PYTHON, os.X_OK) and \
                not os.environ.get("INTAKE_TEST_REEXEC"):
            # Nothing started yet: run the suite again under Debian's
            # python3, which has python3-psycopg2.
            os.environ["INTAKE_TEST_REEXEC"] = "1"
            sys.stdout.flush()
            sys.stderr.flush()
            os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
        raise SystemExit("INTAKE_TEST_ENGINE=postgresql needs psycopg2 "
                         "(apt-get install python3-psycopg2; run the suite "
                         "with /usr/bin/python3)")
sys.path.insert(0, os.path.join(TOP, "tests"))
import pg_cluster  # noqa: E402  (tests/pg_cluster.py)


def sqlite_only(reason):
    """Decorator: skip a test (or class) on PostgreSQL; reason says what
    only SQLite has (its file, -wal, a file mode, PRAGMA)."""
    return unittest.skipIf(PG, "SQLite only: " + reason)


_CLUSTER = None
_DB_URIS = {}       # a Server's db_path -> its INTAKE_DB


def connect(db_path):
    """A read-write connection to the database of the Server whose
    db_path this is, as the suites' sqlite3.connect(db_path, timeout=10)
    (plain tuples there; Row on PostgreSQL)."""
    if PG:
        return PgConnection(_DB_URIS[db_path])
    return sqlite3.connect(db_path, timeout=10)


def pg():
    """The test process's PostgreSQL cluster (started on first use, shared
    by every Server of the suite, stopped at exit); None on SQLite."""
    global _CLUSTER
    if not PG:
        return None
    if _CLUSTER is None:
        _CLUSTER = pg_cluster.start(stop_at_exit=False)
    return _CLUSTER

# A lead's fields (DESIGN.md), and the admin token of the suites that read
# leads (LeadChecks): a new one each run.
FIELDS = ("full_name", "phone", "email", "matter_type", "urgency", "summary")
ADMIN = "admin-" + secrets.token_urlsafe(24)

SOCK_TIMEOUT = 20.0          # any single socket wait
START_TIMEOUT = 10.0         # lighttpd answering /api/health
STOP_TIMEOUT = 5.0           # lighttpd and its children leaving

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "ThreadSanitizer", "UndefinedBehaviorSanitizer")


class HarnessError(Exception):
    pass


# --------------------------------------------------------------------------
# processes

def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # the command may hold spaces and parens: split after the last ')'
    rest = stat[stat.rfind(b")") + 2:].split()
    return int(rest[1])


def _start_time(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    rest = stat[stat.rfind(b")") + 2:].split()
    return int(rest[19])


def _alive(pid, start):
    """pid still runs and is the same process (same start time)."""
    st = _start_time(pid)
    if st is None or st != start:
        return False
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            state = f.read()
        state = state[state.rfind(b")") + 2:].split()[0]
        return state != b"Z"
    except OSError:
        return False


def _pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def _environ_has(pid, needle):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return needle in f.read().split(b"\0")
    except OSError:
        return False


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dead_pid():
    """The pid of a process that has exited and been reaped."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


# ---- process scans and reaping (opt-in: nothing above calls them)

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def proc_stat(pid):
    """(comm, state, ppid, session) of pid from /proc/PID/stat, or None.
    A zombie keeps its stat (comm, ppid) though its cmdline is empty."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    lp, rp = stat.find(b"("), stat.rfind(b")")
    comm = stat[lp + 1:rp].decode("utf-8", "replace")
    rest = stat[rp + 2:].split()
    return comm, rest[0].decode(), int(rest[1]), int(rest[3])


def zombies():
    """[(pid, ppid, comm)] of every zombie process visible in /proc."""
    out = []
    for pid in _pids():
        st = proc_stat(pid)
        if st is not None and st[1] == "Z":
            out.append((pid, st[2], st[0]))
    return out


def require_subreaper():
    """become_subreaper(), or skip the module (call it from setUpModule)
    where this process cannot be one."""
    if not become_subreaper():
        raise unittest.SkipTest("prctl(PR_SET_CHILD_SUBREAPER) failed")


def become_subreaper():
    """Make this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER),
    so that orphans below it (double-forked extractors) are adopted by it
    rather than by PID 1, which in some containers never reaps them.
    True when it is one (now or already).  Adopted children must then be
    reaped: see reap_adopted()."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    cur = ctypes.c_int(0)
    if libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(cur), 0, 0, 0) == 0 \
            and cur.value:
        return True
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def reap_adopted(exclude=()):
    """Reap (waitpid WNOHANG) zombie children of this process that the
    harness did not start itself: not a live server's lighttpd, not a pid
    in exclude.  Call it from the thread that runs subprocess.run, never
    concurrently with one (it could take that child's status).  Returns
    [(pid, comm)] of those reaped."""
    me = os.getpid()
    own = set(exclude)
    for srv in list(LIVE_SERVERS):
        if srv.proc is not None:
            own.add(srv.proc.pid)
    out = []
    for pid, ppid, comm in zombies():
        if ppid != me or pid in own:
            continue
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                out.append((pid, comm))
        except ChildProcessError:
            pass
    return out


def processes_of(exe, env_needle=None):
    """Pids of live (non-zombie) processes running the program exe (by
    /proc/PID/exe, else argv[0]) whose environment holds env_needle
    (bytes "NAME=value") when given."""
    exe = os.path.realpath(exe)
    out = []
    for pid in _pids():
        st = proc_stat(pid)
        if st is None or st[1] in ("Z", "X"):
            continue
        try:
            path = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    path = f.read().split(b"\0")[0].decode("utf-8",
                                                            "replace")
            except OSError:
                continue
        if path.endswith(" (deleted)"):
            path = path[:-len(" (deleted)")]
        if path != exe and os.path.realpath(path) != exe:
            continue
        if env_needle is not None and not _environ_has(pid, env_needle):
            continue
        out.append(pid)
    return out


def wait_until(fn, timeout=15.0, interval=0.05, what="condition"):
    """Poll fn() until it returns a true value (returned); AssertionError
    after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s (last: "
                         "%r)" % (timeout, what, last))


# --------------------------------------------------------------------------
# HTTP over a raw socket

class Response:
    """One HTTP response read incrementally from a socket.

    status, reason, headers (lower-case names; a repeated header keeps its
    last value), then the body through chunks() / read_body() /
    read_events().  t_end is when the body ended (terminal chunk, the
    Content-Length reached, or EOF); t_eof when the connection hit EOF
    (None if it did not, e.g. a kept-alive connection)."""

    def __init__(self, sock, method):
        self.sock = sock
        self.method = method
        self.buf = b""
        self.eof = False
        self.t_end = None
        self.t_eof = None
        self.body_done = False
        self._read_head()

    # raw reading
    def _recv(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise HarnessError("socket timeout (%.0f s) waiting for the "
                               "server" % self.sock.gettimeout())
        except ConnectionResetError:
            data = b""
        now = time.monotonic()
        if not data:
            self.eof = True
            self.t_eof = now
            return False
        self.buf += data
        self.t_recv = now
        return True

    def _line(self):
        while b"\r\n" not in self.buf:
            if not self._recv():
                raise HarnessError("connection closed inside a header or "
                                   "chunk line: %r" % self.buf[:200])
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_head(self):
        line = self._line()
        parts = line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise HarnessError("bad status line %r" % line)
        self.version = parts[0]
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = {}
        self.header_list = []
        while True:
            line = self._line()
            if line == b"":
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
            self.header_list.append((name.strip(), value.strip()))
        self.t_head = time.monotonic()

    def content_type(self):
        return self.headers.get("content-type", "")

    # the body, as (bytes, arrival time) pieces
    def chunks(self):
        if self.body_done:
            return
        te = self.headers.get("transfer-encoding", "").lower()
        if self.method == "HEAD" or self.status in (204, 304) or \
                100 <= self.status < 200:
            self._finish()
            return
        if "chunked" in te:
            while True:
                size_line = self._line()
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    # trailers up to the empty line
                    while self._line() != b"":
                        pass
                    self._finish()
                    return
                while len(self.buf) < size + 2:
                    if not self._recv():
                        raise HarnessError("EOF inside a chunk")
                piece, self.buf = self.buf[:size], self.buf[size + 2:]
                yield piece, self.t_recv
        elif "content-length" in self.headers:
            left = int(self.headers["content-length"])
            while left > 0:
                if not self.buf and not self._recv():
                    raise HarnessError("EOF with %d body bytes missing" %
                                       left)
                piece, self.buf = self.buf[:left], self.buf[left:]
                left -= len(piece)
                yield piece, self.t_recv
            self._finish()
        else:
            while True:
                if self.buf:
                    piece, self.buf = self.buf, b""
                    yield piece, self.t_recv
                if not self._recv():
                    break
            self._finish()

    def _finish(self):
        self.body_done = True
        self.t_end = time.monotonic()
        # With "Connection: close" the server closes now; see when.
        if not self.eof:
            try:
                self.sock.settimeout(5.0)
                while self._recv():
                    pass
            except (HarnessError, OSError):
                pass

    def read_body(self):
        return b"".join(p for p, _ in self.chunks())

    def json(self):
        body = self.read_body()
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError:
            raise HarnessError("not JSON (status %d): %r" %
                               (self.status, body[:300]))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request(port, method, path, body=None, headers=None, timeout=SOCK_TIMEOUT,
            content_type=None, content_length=None):
    """Send one HTTP/1.1 request (Connection: close) and return the
    Response with its head read.  body is bytes, str or a JSON-able
    object; headers a dict."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        if content_type is None:
            content_type = "application/json"
    if isinstance(body, str):
        body = body.encode("utf-8")
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""      # as browsers do: lighttpd wants a length (411)
    h = {"Host": "127.0.0.1:%d" % port, "Connection": "close",
         "User-Agent": "intake-integration"}
    if content_type is not None:
        h["Content-Type"] = content_type
    if body is not None:
        h["Content-Length"] = str(len(body) if content_length is None
                                  else content_length)
    if headers:
        h.update(headers)
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in h.items()
                    if v is not None)
    head += "\r\n"
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    try:
        sock.sendall(head.encode("latin-1") + (body or b""))
        return Response(sock, method)
    except Exception:
        sock.close()
        raise


def call(port, method, path, body=None, headers=None, **kw):
    """A whole non-streaming exchange: (status, headers, body bytes)."""
    r = request(port, method, path, body, headers, **kw)
    try:
        data = r.read_body()
    finally:
        r.close()
    return r.status, r.headers, data


class Event:
    __slots__ = ("event", "data", "id", "t", "raw")

    def __init__(self, event, data, id_, t, raw):
        self.event, self.data, self.id, self.t, self.raw = \
            event, data, id_, t, raw

    def __iter__(self):
        return iter((self.event, self.data, self.id, self.t))

    def __repr__(self):
        return "Event(%r, %r, id=%r)" % (self.event, self.data, self.id)


def read_events(resp):
    """Yield the SSE events of resp as Event(event, data_json, id, t) —
    iterable as the tuple (event, data, id, t_received) — where t is the
    time.monotonic() at which the bytes completing the event arrived.
    Comments (": ping") are skipped.  When the generator ends, resp.t_end
    and resp.t_eof tell when the body ended and the connection closed."""
    pending = b""
    for piece, t in resp.chunks():
        pending += piece.replace(b"\r\n", b"\n")
        while b"\n\n" in pending:
            block, pending = pending.split(b"\n\n", 1)
            ev = _parse_event(block, t)
            if ev is not None:
                yield ev
    if pending.strip():
        raise HarnessError("stream ended inside an event: %r" % pending)


def _parse_event(block, t):
    name, data, id_ = "message", [], None
    seen = False
    for line in block.decode("utf-8").split("\n"):
        if line == "" or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        seen = True
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            id_ = value
    if not seen:
        return None
    text = "\n".join(data)
    try:
        obj = json.loads(text) if text else None
    except ValueError:
        raise HarnessError("event %s: data is not JSON: %r" % (name, text))
    return Event(name, obj, id_, t, block)


def collect(resp, stop_after=None):
    """All events of resp as a list (stop_after: a predicate on the list;
    when true the socket is closed and the list returned early)."""
    out = []
    for ev in read_events(resp):
        out.append(ev)
        if stop_after is not None and stop_after(out):
            resp.close()
            break
    return out


def delta_text(events):
    return "".join(e.data["text"] for e in events if e.event == "delta")


# --------------------------------------------------------------------------
# the server

SERVERS = ("lighttpd", "apache", "apache-proxy", "cgi")
APACHE_MODES = {"apache": "fcgid", "apache-proxy": "proxy", "cgi": "cgi"}


def _web_user():
    """(uid, gid) Apache's workers run as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    import pwd
    pw = pwd.getpwnam("www-data")
    return pw.pw_uid, pw.pw_gid


class Server:
    """One web server with the program behind it.  server is lighttpd
    (mod_fastcgi), apache (mod_fcgid), apache-proxy (mod_proxy_fcgi with
    intake.fcgi --listen) or cgi (plain CGI under Apache's mod_cgid)."""

    def __init__(self, env=None, word_delay_ms=5, name="intake",
                 server="lighttpd", db_uri=None):
        if not os.path.isfile(os.path.join(BUILD_DIR, "intake.fcgi")):
            raise HarnessError("%s/intake.fcgi is missing: run make "
                               "test-build first" % BUILD_DIR)
        if server not in SERVERS:
            raise HarnessError("unknown server %r" % server)
        self.server = server
        self.helper = None          # intake.fcgi --listen (apache-proxy)
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="intake-it-")
        os.chmod(self.tmp, 0o700)
        self.rundir = os.path.join(self.tmp, "run")
        os.mkdir(self.rundir, 0o700)
        # db_path: the SQLite file (not made on PostgreSQL); db_uri: what
        # INTAKE_DB says, the file or a fresh database's URI.
        self.db_path = os.path.join(self.tmp, "intake.db")
        self.db_uri = self.db_path
        self.pg_db = None
        if db_uri is not None:
            # Another Server's database (PostgreSQL): a second web node
            # on it.  That Server made it and drops it at its cleanup.
            self.db_uri = db_uri
        elif PG:
            self.pg_db = "it_%d_%s" % (os.getpid(), secrets.token_hex(4))
            self.db_uri = pg().create_db(self.pg_db)
        self.errlog = os.path.join(self.rundir, "error.log")
        # lighttpd's own stderr, which its FastCGI children inherit: the
        # program's log lines and sanitizer reports land here.
        self.outlog = os.path.join(self.rundir, "lighttpd.out")
        self.conf = os.path.join(self.rundir, "lighttpd.conf")
        self.port = None
        self.proc = None
        self.children = {}          # pid -> start time
        self._log_offsets = {}
        self._db_ready = db_uri is not None
        self.keep = os.environ.get("INTAKE_TEST_KEEP") == "1"
        self.deleted_at_stop = []
        # Lines appended to lighttpd's generated configuration (a test
        # that needs more of the server, e.g. its own authentication).
        self.extra_conf = ""
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("INTAKE_")}
        self.env["INTAKE_DB"] = self.db_uri
        _DB_URIS[self.db_path] = self.db_uri
        self.env["INTAKE_EXTRACTOR"] = EXTRACTOR
        self.env["INTAKE_WORD_DELAY_MS"] = str(word_delay_ms)
        # Suites make many conversations from one address in seconds:
        # the per-address limits are tested on their own, with a server
        # that sets them.
        self.env["INTAKE_RATE_CONVERSATIONS"] = "0"
        self.env["INTAKE_RATE_MESSAGES"] = "0"
        self.bindir = BUILD_DIR
        self.www = os.path.join(TOP, "www")
        if server != "lighttpd":
            self._apache_prepare()
        if env:
            self.env.update({k: str(v) for k, v in env.items()})

    def _apache_prepare(self):
        """Apache runs its workers as www-data when we are root, and the
        repository may sit where that user cannot reach: the programs and
        the page are copied into the server's own folder, which that user
        owns."""
        self.conf = os.path.join(self.rundir, "apache.conf")
        self.outlog = os.path.join(self.rundir, "apache.out")
        self.bindir = os.path.join(self.tmp, "bin")
        self.www = os.path.join(self.tmp, "www")
        os.mkdir(self.bindir)
        for prog in ("intake.fcgi", "intake-extract"):
            shutil.copy2(os.path.join(BUILD_DIR, prog), self.bindir)
        shutil.copytree(os.path.join(TOP, "www"), self.www)
        os.mkdir(os.path.join(self.rundir, "fcgid"))
        os.chmod(self.tmp, 0o755)
        self.env["INTAKE_EXTRACTOR"] = os.path.join(self.bindir,
                                                    "intake-extract")

    def _chown_web(self):
        ids = _web_user()
        if ids is None:
            return
        for root, dirs, files in os.walk(self.tmp):
            for n in [root] + [os.path.join(root, f) for f in dirs + files]:
                try:
                    os.lchown(n, *ids)
                except OSError:
                    pass

    # --- life
    def init_db(self):
        """Create the database with intake-extract --init (once)."""
        if self._db_ready:
            return
        # As root, --init wants to be told who owns the database (the
        # Apache modes hand the folder to www-data afterwards).
        owner = ["--owner", "root"] if os.geteuid() == 0 else []
        init = subprocess.run(
            [EXTRACTOR, "--init"] + owner,
            env=self.env, cwd=TOP, capture_output=True, timeout=30)
        if init.returncode != 0:
            raise HarnessError("intake-extract --init failed (%d): %s" %
                               (init.returncode, init.stderr.decode(
                                   "utf-8", "replace")[-2000:]))
        self._db_ready = True

    def start(self, healthy=True):
        """Start the web server; wait until /api/health answers 200 (or,
        with healthy=False, answers at all: a configuration that the
        program refuses, whose health is 503)."""
        self.init_db()
        LIVE_SERVERS.add(self)
        launch = (self._launch_lighttpd if self.server == "lighttpd"
                  else self._launch_apache)
        if self.server != "lighttpd":
            self._chown_web()
        last = None
        for attempt in range(3):      # a port taken in between: try again
            self.port = free_port()
            launch()
            try:
                self._wait_healthy(healthy)
                self._note_children()
                return self
            except HarnessError as e:
                last = e
                self.stop()
        raise HarnessError("server did not start: %s\n%s" %
                           (last, self.log_tail()))

    def _write_conf(self, cmd):
        """Run a scripts/*-conf.sh command; its output is self.conf."""
        gen = subprocess.run(cmd, env=self.env, cwd=TOP, capture_output=True,
                             timeout=30)
        if gen.returncode != 0:
            raise HarnessError("%s failed: %s" % (
                os.path.basename(cmd[0]),
                gen.stderr.decode("utf-8", "replace")))
        # It holds the server's INTAKE_* values (the admin token): 0600,
        # like the one scripts/run.sh writes.
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(gen.stdout)
        for p in (self.errlog, self.outlog):
            open(p, "ab").close()

    def _launch_lighttpd(self):
        self._write_conf([os.path.join(TOP, "scripts", "lighttpd-conf.sh"),
                          BUILD_DIR, self.rundir, str(self.port)])
        if self.extra_conf:
            with open(self.conf, "a") as f:
                f.write("\n" + self.extra_conf + "\n")
        self.proc = subprocess.Popen(
            ["lighttpd", "-D", "-f", self.conf], env=self.env, cwd=TOP,
            stdin=subprocess.DEVNULL, stdout=open(self.outlog, "ab"),
            stderr=subprocess.STDOUT)

    def _launch_apache(self):
        mode = APACHE_MODES[self.server]
        self._write_conf([os.path.join(TOP, "scripts", "apache-conf.sh"),
                          mode, self.bindir, self.rundir, str(self.port),
                          self.www])
        self._chown_web()
        if mode == "proxy":
            cmd = [os.path.join(self.bindir, "intake.fcgi"), "--listen",
                   os.path.join(self.rundir, "intake.sock")]
            if _web_user() is not None:
                cmd = ["setpriv", "--reuid=www-data", "--regid=www-data",
                       "--init-groups", "--"] + cmd
            self.helper = subprocess.Popen(
                cmd, env=self.env, cwd=self.tmp, stdin=subprocess.DEVNULL,
                stdout=open(self.outlog, "ab"), stderr=subprocess.STDOUT)
            sock = os.path.join(self.rundir, "intake.sock")
            deadline = time.monotonic() + START_TIMEOUT
            while not os.path.exists(sock) and time.monotonic() < deadline:
                time.sleep(0.02)
        self.proc = subprocess.Popen(
            ["apache2", "-D", "FOREGROUND", "-f", self.conf],
            env=self.env, cwd=self.tmp, stdin=subprocess.DEVNULL,
            stdout=open(self.outlog, "ab"), stderr=subprocess.STDOUT)

    def _wait_healthy(self, healthy=True):
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError("%s exited with %d" %
                                   (self.server, self.proc.returncode))
            try:
                r = request(self.port, "GET", "/api/health", timeout=2)
                body = r.read_body()
                r.close()
                if r.status == 200 or not healthy:
                    self.health_status = r.status
                    return
                last = "status %d %r" % (r.status, body[:200])
            except (OSError, HarnessError) as e:
                last = repr(e)
            time.sleep(0.05)
        raise HarnessError("no 200 from /api/health in %.0f s (last: %s)" %
                           (START_TIMEOUT, last))

    def _note_children(self):
        """Remember lighttpd's intake.fcgi children (pid, start time) and
        any process carrying this server's unique INTAKE_DB, so stop()
        ends only what this server started."""
        if self.proc is None:
            return
        needle = ("INTAKE_DB=" + self.env.get("INTAKE_DB",
                                              self.db_uri)).encode()
        # Several nodes on one database: this one's have its INTAKE_NODE.
        node = self.env.get("INTAKE_NODE")
        node = ("INTAKE_NODE=" + node).encode() if node else None
        for pid in _pids():
            if pid == self.proc.pid or pid == os.getpid():
                continue
            if _ppid(pid) == self.proc.pid or (
                    _environ_has(pid, needle) and
                    (node is None or _environ_has(pid, node))):
                st = _start_time(pid)
                if st is not None:
                    self.children[pid] = st

    def stop(self):
        if self.proc is None:
            return
        self._note_children()
        self.deleted_at_stop = self.fcgi_deleted_files()
        if self.deleted_at_stop:
            NOTES.append("%s: at stop the server held deleted database "
                         "files (its -wal/-shm were removed by another "
                         "process while it ran; later requests fail or "
                         "write where nobody reads): %s" % (
                             self.name, "; ".join(self.deleted_at_stop[:3])))
        if self.proc.poll() is None:
            # lighttpd stops gracefully on SIGINT; Apache stops on SIGTERM.
            self.proc.send_signal(signal.SIGINT if self.server == "lighttpd"
                                  else signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        if self.helper is not None:
            if self.helper.poll() is None:
                self.helper.send_signal(signal.SIGTERM)
                try:
                    self.helper.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.helper.kill()
                    self.helper.wait(STOP_TIMEOUT)
            self.helper = None
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(
                _alive(p, s) for p, s in self.children.items()):
            time.sleep(0.05)
        for pid, st in self.children.items():
            if _alive(pid, st):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.proc = None
        LIVE_SERVERS.discard(self)

    def cleanup(self):
        """Remove the temporary folder (kept with INTAKE_TEST_KEEP=1 or
        when a sanitizer report is in its logs)."""
        if self.keep:
            sys.stderr.write("kept %s\n" % self.tmp)
            if self.pg_db is not None:
                sys.stderr.write("kept %s\n" % self.db_uri)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.pg_db is not None and _CLUSTER is not None:
            try:
                _CLUSTER.drop_db(self.pg_db)
            except pg_cluster.ClusterError as e:
                sys.stderr.write("drop %s: %s\n" % (self.pg_db, e))

    # --- the logs
    def log_text(self):
        """error.log and lighttpd's stderr (the program's log), joined."""
        out = []
        for p in (self.errlog, self.outlog):
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "\n".join(out)

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def sanitizer_findings(self, since_last=True):
        """Sanitizer report lines (with context) in error.log or lighttpd's
        stderr (since the last call when since_last), or ""."""
        found = []
        for p in (self.errlog, self.outlog):
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            start = self._log_offsets.get(p, 0) if since_last else 0
            if since_last:
                self._log_offsets[p] = len(data)
            lines = data[start:].decode("utf-8", "replace").splitlines()
            for i, line in enumerate(lines):
                if any(m in line for m in SANITIZER_MARKS):
                    self.keep = True
                    found.append("%s:\n%s" % (p, "\n".join(
                        lines[max(0, i - 5):i + 40])))
                    break
        return "\n".join(found)

    def fcgi_pids(self):
        """Pids of lighttpd's live children (the intake.fcgi processes)."""
        if self.proc is None:
            return []
        out = []
        for pid in _pids():
            st = proc_stat(pid)
            if st is not None and st[2] == self.proc.pid and \
                    st[1] not in ("Z", "X"):
                out.append(pid)
        return out

    def fcgi_deleted_files(self):
        """Files the server's processes hold open that were deleted (a
        database -wal or -shm pulled from under them)."""
        out = []
        for pid, st in list(self.children.items()):
            if not _alive(pid, st):
                continue
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if t.startswith(self.tmp) and t.endswith("(deleted)"):
                    out.append("pid %d fd %s -> %s" % (pid, fd, t))
        return out

    # --- HTTP helpers
    def request(self, method, path, body=None, headers=None, **kw):
        return request(self.port, method, path, body, headers, **kw)

    def call(self, method, path, body=None, headers=None, **kw):
        """A whole non-streaming exchange: (status, headers, body bytes)."""
        return call(self.port, method, path, body, headers, **kw)

    def create_conversation(self):
        status, headers, body = self.call("POST", "/api/conversations")
        if status != 201:
            raise HarnessError("POST /api/conversations: %d %r" %
                               (status, body[:300]))
        obj = json.loads(body)
        return obj["id"], obj["token"]

    @staticmethod
    def auth(token):
        return {"Authorization": "Bearer %s" % token}

    def post_message(self, conv_id, token, text, client_id=None, body=None,
                     headers=None, **kw):
        """POST a message; the Response with its head read (read its events
        with read_events / collect)."""
        if body is None:
            body = {"text": text}
            if client_id is not None:
                body["client_id"] = client_id
        h = self.auth(token) if token is not None else {}
        if headers:
            h.update(headers)
        return self.request("POST", "/api/conversations/%s/messages" %
                            conv_id, body, h, **kw)

    def turn(self, conv_id, token, text, client_id=None):
        """A whole turn: (response, events); fails unless 200."""
        r = self.post_message(conv_id, token, text, client_id)
        if r.status != 200:
            body = r.read_body()
            r.close()
            raise HarnessError("turn: status %d %r" % (r.status, body[:300]))
        try:
            return r, collect(r)
        finally:
            r.close()

    def get_conversation(self, conv_id, token):
        status, headers, body = self.call(
            "GET", "/api/conversations/%s" % conv_id, None, self.auth(token))
        if status != 200:
            raise HarnessError("GET conversation: %d %r" % (status,
                                                             body[:300]))
        return json.loads(body)

    def events(self, conv_id, token=None, query_token=None, offset=None,
               last_event_id=None):
        q = []
        if query_token is not None:
            q.append("token=%s" % query_token)
        if offset is not None:
            q.append("offset=%s" % offset)
        path = "/api/conversations/%s/events" % conv_id
        if q:
            path += "?" + "&".join(q)
        h = self.auth(token) if token is not None else {}
        if last_event_id is not None:
            h["Last-Event-ID"] = str(last_event_id)
        return self.request("GET", path, None, h)

    def db(self):
        """A read-only connection to the test database (on PostgreSQL a
        PgConnection: autocommit, read-only, each statement a fresh view)."""
        if PG:
            return PgConnection(self.db_uri, readonly=True)
        c = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True,
                            timeout=10)
        c.row_factory = sqlite3.Row
        return c

    def db_rw(self):
        """A read-write connection.  Closing one while the server runs
        checkpoints and may delete the -wal/-shm under the server if the
        server lost its locks (see SharedDatabaseTests); tests plant rows
        before the server starts instead.  On PostgreSQL a PgConnection
        that, like sqlite3's, writes inside a transaction until commit()."""
        if PG:
            return PgConnection(self.db_uri, readonly=False)
        c = sqlite3.connect(self.db_path, timeout=10)
        c.row_factory = sqlite3.Row
        c.execute("PRAGMA busy_timeout = 10000")
        return c

    def db_bytes(self):
        """What the database holds, as bytes, to search for a text that
        must not be stored: SQLite, the file and its -wal; PostgreSQL,
        a pg_dump of the rows (live rows only: not a file-level check)."""
        if PG:
            c = pg()
            r = subprocess.run(
                [os.path.join(c.bin, "pg_dump"), "--data-only", "-d",
                 self.db_uri], capture_output=True, timeout=60)
            if r.returncode != 0:
                raise HarnessError("pg_dump: %s" % r.stderr.decode(
                    "utf-8", "replace"))
            return r.stdout
        out = b""
        for p in (self.db_path, self.db_path + "-wal"):
            try:
                with open(p, "rb") as f:
                    out += f.read()
            except FileNotFoundError:
                pass
        return out

    def query(self, sql, args=()):
        c = self.db()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def counts(self, conv_id=None):
        """(conversations, messages, message_parts) — of conv_id when given."""
        c = self.db()
        try:
            if conv_id is None:
                return tuple(c.execute(q).fetchone()[0] for q in (
                    "SELECT count(*) FROM conversations",
                    "SELECT count(*) FROM messages",
                    "SELECT count(*) FROM message_parts"))
            return (
                c.execute("SELECT count(*) FROM conversations WHERE id = ?",
                          (conv_id,)).fetchone()[0],
                c.execute("SELECT count(*) FROM messages WHERE "
                          "conversation_id = ?", (conv_id,)).fetchone()[0],
                c.execute("SELECT count(*) FROM message_parts WHERE "
                          "message_id IN (SELECT id FROM messages WHERE "
                          "conversation_id = ?)", (conv_id,)).fetchone()[0])
        finally:
            c.close()

    def snapshot(self):
        """Every stored row of the three tables, for "nothing changed"."""
        c = self.db()
        try:
            return {t: [tuple(r) for r in c.execute(
                        "SELECT * FROM %s ORDER BY 1, 2" % t)]
                    for t in ("conversations", "messages", "message_parts")}
        finally:
            c.close()

    def quiesce(self, timeout=20.0):
        """Wait (bounded) until no reply streams and no extraction job is
        pending or running, so that later snapshots hold still."""
        def idle():
            c = self.db()
            try:
                busy = c.execute("SELECT count(*) FROM jobs WHERE state IN "
                                 "('pending', 'running')").fetchone()[0]
                busy += c.execute("SELECT count(*) FROM messages WHERE "
                                  "status = 'streaming'").fetchone()[0]
                return busy == 0
            finally:
                c.close()
        self.wait_for(idle, timeout=timeout,
                      what="jobs and replies to finish")

    def wait_for(self, fn, timeout=15.0, interval=0.05, what="condition"):
        """Poll fn() until it returns a true value (returned); bounded."""
        return wait_until(fn, timeout, interval, what)


# --------------------------------------------------------------------------
# a TestCase with a server per class and a sanitizer check per test

class ServerTestCase(unittest.TestCase):
    server_env = None
    word_delay_ms = 5
    server = None
    web_server = "lighttpd"     # or apache, apache-proxy, cgi

    @classmethod
    def setUpClass(cls):
        srv = Server(cls.server_env, cls.word_delay_ms, cls.__name__,
                     server=cls.web_server)
        try:
            srv.init_db()
            cls.before_start(srv)
            srv.start()
            cls.server = srv
            cls.prepare()
        except BaseException:
            # tearDownClass does not run when setUpClass fails
            srv.stop()
            found = srv.sanitizer_findings(False)
            if found:
                SANITIZER_REPORTS.append((cls.__name__, found))
            sys.stderr.write("server log tail:\n%s\n" % srv.log_tail())
            srv.cleanup()
            cls.server = None
            raise

    @classmethod
    def before_start(cls, srv):
        """Hook: the database exists, the server does not run yet."""

    @classmethod
    def prepare(cls):
        """Hook: the server runs (cls.server)."""

    @classmethod
    def tearDownClass(cls):
        srv = cls.server
        if srv is None:
            return
        cls.server = None
        srv.stop()
        found = srv.sanitizer_findings()
        if found:
            SANITIZER_REPORTS.append((cls.__name__, found))
        srv.cleanup()
        if found:
            raise AssertionError("sanitizer report in the server's error "
                                 "log (after stop):\n" + found)

    def tearDown(self):
        if self.server is None:
            return
        found = self.server.sanitizer_findings()
        if found:
            SANITIZER_REPORTS.append((self.id(), found))
            self.fail("sanitizer report in the server's error log during "
                      "this test:\n" + found)


SANITIZER_REPORTS = []
NOTES = []
LIVE_SERVERS = set()


@atexit.register
def _stop_leftovers():
    for srv in list(LIVE_SERVERS):
        try:
            srv.stop()
        except Exception:
            pass
    # PostgreSQL last: the servers above may still have been using it.
    if _CLUSTER is not None:
        _CLUSTER.stop()


# --------------------------------------------------------------------------
# PostgreSQL connections shaped like the suites' sqlite3 ones

class Row(tuple):
    """A row like sqlite3.Row: by position, by column name, keys(),
    dict(row), tuple(row), equal to the tuple of its values."""

    def __new__(cls, values, names):
        r = super().__new__(cls, values)
        r._names = names
        return r

    def keys(self):
        return list(self._names)

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                lower = [n.lower() for n in self._names]
                if key.lower() in lower:
                    return tuple.__getitem__(self, lower.index(key.lower()))
                raise IndexError("No item with that key: %r" % key)
        return tuple.__getitem__(self, key)


_PG_OFFSET = re.compile(r"\boffset\b(?!\s*(?:\d|\?))", re.I)
_PG_BY = re.compile(r"(?<![A-Za-z_])(?<!order )(?<!group )(?<!partition )"
                    r"\bby\b", re.I)


def _pg_plain(seg, has_args):
    """One stretch of SQL outside quotes."""
    seg = _PG_OFFSET.sub('"offset"', seg)
    seg = _PG_BY.sub('"by"', seg)
    if has_args:
        seg = seg.replace("%", "%%")
    return seg.replace("?", "%s")


def pg_sql(sql, has_args):
    """The suites' SQLite SQL for psycopg2: `?` placeholders (outside
    quotes) become %s, a literal % is doubled when there are args, and the
    columns offset and by (keywords in PostgreSQL) are quoted as the
    schema has them (not OFFSET n, ORDER BY)."""
    out = []
    i = 0
    while i < len(sql):
        j = min([k for k in (sql.find("'", i), sql.find('"', i))
                 if k >= 0] or [len(sql)])
        out.append(_pg_plain(sql[i:j], has_args))
        if j >= len(sql):
            break
        end = sql.find(sql[j], j + 1)
        end = len(sql) if end < 0 else end + 1
        lit = sql[j:end]
        out.append(lit.replace("%", "%%") if has_args else lit)
        i = end
    return "".join(out)


def _pg_value(v):
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def _pg_arg(v):
    if isinstance(v, (bytes, bytearray)):
        return psycopg2.Binary(bytes(v))
    return v


class PgCursor:
    """What the suites use of sqlite3.Cursor."""

    def __init__(self, cur):
        self._cur = cur

    def _row(self, values):
        if values is None:
            return None
        names = [d[0] for d in self._cur.description]
        return Row([_pg_value(v) for v in values], names)

    def fetchone(self):
        if self._cur.description is None:
            return None
        return self._row(self._cur.fetchone())

    def fetchall(self):
        if self._cur.description is None:
            return []
        return [self._row(v) for v in self._cur.fetchall()]

    def __iter__(self):
        return iter(self.fetchall())

    @property
    def rowcount(self):
        return self._cur.rowcount

    @property
    def lastrowid(self):
        """The id an INSERT just took (the identity's lastval()), or None."""
        cur = self._cur.connection.cursor()
        try:
            cur.execute("SAVEPOINT harness_lastrowid")
            try:
                cur.execute("SELECT lastval()")
                v = cur.fetchone()[0]
                cur.execute("RELEASE SAVEPOINT harness_lastrowid")
                return v
            except psycopg2.Error:
                cur.execute("ROLLBACK TO SAVEPOINT harness_lastrowid")
                return None
        finally:
            cur.close()

    @property
    def description(self):
        return self._cur.description

    def close(self):
        self._cur.close()


class PgConnection:
    """What the suites use of sqlite3.Connection, on PostgreSQL:
    execute/executemany/executescript with `?`, commit, rollback, close,
    and `with c:` committing (or rolling back) as sqlite3's does."""

    def __init__(self, uri, readonly=False):
        self._c = psycopg2.connect(uri, connect_timeout=10)
        if readonly:
            self._c.set_session(readonly=True, autocommit=True)

    def execute(self, sql, args=()):
        args = tuple(_pg_arg(a) for a in args) if args else None
        cur = self._c.cursor()
        cur.execute(pg_sql(sql, args is not None), args)
        return PgCursor(cur)

    def executemany(self, sql, seq):
        cur = self._c.cursor()
        cur.executemany(pg_sql(sql, True),
                        [tuple(_pg_arg(a) for a in args) for args in seq])
        return PgCursor(cur)

    def executescript(self, sql):
        cur = self._c.cursor()
        cur.execute(sql)
        self._c.commit()
        return PgCursor(cur)

    def commit(self):
        self._c.commit()

    def rollback(self):
        self._c.rollback()

    def close(self):
        self._c.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._c.commit()
        else:
            self._c.rollback()
        return False


# --------------------------------------------------------------------------
# main

class _Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.outcome = {}       # test id -> "pass" / "fail" / "skip"
        self.class_failures = []

    def _mark(self, test, what):
        if not isinstance(test, unittest.TestCase):
            self.class_failures.append(str(test))
            return
        tid = test.id()
        if what == "fail" or tid not in self.outcome:
            self.outcome[tid] = what

    def addSuccess(self, test):
        super().addSuccess(test)
        self._mark(test, "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._mark(test, "fail")

    def addError(self, test, err):
        super().addError(test, err)
        self._mark(test, "fail")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._mark(test, "skip")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._mark(test, "pass")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._mark(test, "fail")


def _test_ids(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _test_ids(t)
        else:
            yield t.id()


class LeadChecks:
    """Put before ServerTestCase in the bases of a class whose server has
    INTAKE_ADMIN_TOKEN = ADMIN: the admin's reading of a lead."""

    def admin(self, token=ADMIN):
        return Server.auth(token)

    def detail(self, conv):
        """GET /api/leads/{conv}; None when 404."""
        status, _, body = self.server.call("GET", "/api/leads/%s" % conv,
                                           None, self.admin())
        if status == 404:
            return None
        self.assertEqual(status, 200, body[:300])
        return json.loads(body)


class MockProviderMixin:
    """Put before ServerTestCase in the bases: the class's server talks to
    a mock provider (cls.mock, tests/mock_provider.py) started before the
    server and stopped after it.  mock_setup(mock) scripts the mock and
    returns the server's environment (None keeps cls.server_env)."""

    mock = None

    @classmethod
    def mock_setup(cls, mock):
        return None

    @classmethod
    def setUpClass(cls):
        from mock_provider import MockProvider
        cls.mock = MockProvider(port=0).start()
        try:
            env = cls.mock_setup(cls.mock)
            if env is not None:
                cls.server_env = env
            super().setUpClass()
        except BaseException:
            cls.mock.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            if cls.mock is not None:
                cls.mock.stop()
            reap_adopted()


def main(suite_name, module=None, engine_suffix=True):
    """Run the module's TestCases; the last line printed is
    "<suite_name>: N passed, N failed" (<suite_name>_pg on PostgreSQL,
    unless engine_suffix is false: a suite that runs on one engine only).
    A test method that did not pass (failure, error, or never run because
    its class could not start) counts as failed; a class-level failure after its tests (the
    sanitizer check at stop) counts as one more; skips are listed apart."""
    module = module or sys.modules["__main__"]
    if PG and engine_suffix:
        suite_name += "_pg"     # its own line in run.sh's counts
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromModule(module)
    if len(sys.argv) > 1:
        suite = unittest.TestSuite(
            loader.loadTestsFromName(n, module) for n in sys.argv[1:])
    ids = list(_test_ids(suite))
    verbosity = 2 if os.environ.get("INTAKE_TEST_VERBOSE") == "1" else 1
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=verbosity,
                                     resultclass=_Result)
    t0 = time.monotonic()
    result = runner.run(suite)
    passed = sum(1 for i in ids if result.outcome.get(i) == "pass")
    skipped = [i for i in ids if result.outcome.get(i) == "skip"]
    failed = len(ids) - passed - len(skipped)
    # Class-level failures (setUpClass with no test run is already counted
    # through its methods; tearDownClass after passing tests is not).
    extra = sum(1 for c in result.class_failures if "tearDownClass" in c)
    failed += extra
    for note in NOTES:
        print("NOTE %s" % note)
    if NOTES:
        print("NOTE failures in those classes may all follow from that "
              "(see SharedDatabaseTests)")
    for name, text in SANITIZER_REPORTS:
        print("SANITIZER (%s):\n%s" % (name, text))
    for i in ids:
        if result.outcome.get(i) not in ("pass", "skip"):
            print("FAILED %s" % i)
    for c in result.class_failures:
        print("FAILED %s" % c)
    if skipped:
        print("%s: %d skipped: %s" % (suite_name, len(skipped),
                                      ", ".join(skipped)))
    print("(%.1f s)" % (time.monotonic() - t0))
    sys.stdout.flush()
    print("%s: %d passed, %d failed" % (suite_name, passed, failed))
    sys.exit(1 if failed else 0)
