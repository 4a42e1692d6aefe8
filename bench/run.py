#!/usr/bin/env python3
"""run.py: the benchmark suite behind `make bench` (standard library only).

It builds nothing itself: make has built the optimised programs into
$BUILD (build/bench) and the bench's own C programs into $BUILD/bench:

    mockllm   the mock provider (OpenAI-compatible, C, epoll)
    load      the HTTP load client (threads, SSE parsed off the wire)
    floor     the floor program for the throughput comparison
    merge     lead_merge under contention (links libintake.a)
    procmon   counts extractor processes every 10 ms
    hookrecv  the webhook receiver (checks signatures, can answer late)

It starts the mock, then the real web servers on 127.0.0.1 (lighttpd as
`make run` configures it, Apache mod_fcgid and plain CGI for the dead
input time), each with a private database in a temporary folder, runs
the nine measurements, each bounded in time, then the same service on
PostgreSQL beside SQLite (a throwaway cluster, tests/pg_cluster.py,
stopped whatever happens; skipped and said when PostgreSQL is not
installed; measures 3, 4 and 9 again there, the server counted as the
service's), and writes the issue's figures (each with its target, the
ordinary stack's figure and the ratio, SQLite beside PostgreSQL) and the
table to
bench/results.md (and prints it).  The notes in bench/notes.md (what was
found and changed, before and after) are appended to it as they are.

This process makes itself a child subreaper, so the double-forked
extractors are adopted by it (not by a PID 1 that may never reap them):
it reaps them, and their CPU time (wait4's rusage) is counted as the
service's.  Everything it started is stopped on exit, error, SIGINT or
SIGTERM, and after BENCH_TIMEOUT seconds (default 840) at the latest.

    BUILD=build/bench python3 bench/run.py
    BENCH_ONLY=1,3   run only those measurements (development;
                     BENCH_ONLY=notify is measure 8, lead delivery;
                     BENCH_ONLY=crowd (or 9) measure 9, 2,000 streams
                     and followers in one process;
                     BENCH_ONLY=pg the PostgreSQL one, beside SQLite)
    BENCH_QUICK=1    shorter runs (development; figures less stable)
    BENCH_KEEP=1     keep the temporary folders
    BENCH_OUT=FILE   write the results there, not to bench/results.md
"""

import ctypes
import datetime
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build/bench")
BUILD = BUILD if os.path.isabs(BUILD) else os.path.join(TOP, BUILD)
BIN = os.path.join(BUILD, "bench")
RESULTS = os.environ.get("BENCH_OUT") or os.path.join(TOP, "bench",
                                                      "results.md")
NOTES = os.path.join(TOP, "bench", "notes.md")
QUICK = os.environ.get("BENCH_QUICK") == "1"
KEEP = os.environ.get("BENCH_KEEP") == "1"
ONLY = set(x.strip() for x in os.environ.get("BENCH_ONLY", "").split(",")
           if x.strip())
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "840"))
T0 = time.monotonic()
TICK = os.sysconf("SC_CLK_TCK")

# The Next.js + AI SDK + after() + libsql turn, measured on the same kind
# of two-core machine against the same kind of mock (the issue's figures).
NEXT = {"turns_s": 100.0, "cpu_ms": 10.5, "idle_mb": 130.0,
        "stream_mb": 1.0, "gap_ms": 70.0}


def log(msg):
    sys.stderr.write("[%6.1fs] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


def left():
    return TIMEOUT - (time.monotonic() - T0)


def want(n):
    return not ONLY or str(n) in ONLY or (n == 8 and "notify" in ONLY) or \
        (n == "crowd" and "9" in ONLY)


# --------------------------------------------------------------------------
# processes: subreaper, /proc

PR_SET_CHILD_SUBREAPER = 36


class Reaper:
    """Reap what is adopted (the extractors, the floor's children) and add
    their CPU time up by command name."""

    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        self.ok = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        self.lock = threading.Lock()
        self.own = set()
        self.cpu = {}           # comm -> [processes, cpu seconds]
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def popen(self, *a, **kw):
        with self.lock:
            p = subprocess.Popen(*a, **kw)
            self.own.add(p.pid)
        return p

    def run(self, cmd, timeout, check=False, **kw):
        """subprocess.run, but known to the reaper (which would otherwise
        take its exit status)."""
        p = self.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       **kw)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (
                cmd[0], p.returncode, err.decode("utf-8", "replace")[-500:]))
        return subprocess.CompletedProcess(cmd, p.returncode, out, err)

    def children(self):
        out = []
        try:
            tasks = os.listdir("/proc/self/task")
        except OSError:
            return out
        for t in tasks:
            try:
                with open("/proc/self/task/%s/children" % t) as f:
                    out.extend(int(x) for x in f.read().split())
            except OSError:
                pass
        return out

    def reap(self):
        with self.lock:
            for pid in self.children():
                if pid in self.own:
                    continue
                st = proc_stat(pid)
                if st is None or st["state"] != "Z":
                    continue
                try:
                    rpid, _, ru = os.wait4(pid, os.WNOHANG)
                except ChildProcessError:
                    continue
                if rpid == pid:
                    c = self.cpu.setdefault(st["comm"] + " (detached)",
                                            [0, 0.0])
                    c[0] += 1
                    c[1] += ru.ru_utime + ru.ru_stime

    def loop(self):
        while not self.stop:
            self.reap()
            time.sleep(0.02)

    def snapshot(self):
        with self.lock:
            return {k: list(v) for k, v in self.cpu.items()}


def proc_stat(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read()
    except OSError:
        return None
    lp, rp = s.find(b"("), s.rfind(b")")
    rest = s[rp + 2:].split()
    return {"comm": s[lp + 1:rp].decode("utf-8", "replace"),
            "state": rest[0].decode(), "ppid": int(rest[1]),
            "cpu": sum(int(x) for x in rest[11:15]) / TICK,
            "own_cpu": (int(rest[11]) + int(rest[12])) / TICK}


def all_pids():
    for n in os.listdir("/proc"):
        if n.isdigit():
            yield int(n)


def environ_has(pid, needle):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return needle in f.read().split(b"\0")
    except OSError:
        return False


def status_fields(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def pss_kb(pid):
    """Proportional set size (/proc/PID/smaps_rollup): each page shared
    with other processes counted as its share, so that a sum over
    processes counts every page once."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[int(round((len(v) - 1) * p))]


def dist(values):
    """p50/p99/max of a list (any unit)."""
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    return {"n": len(values), "p50": pct(values, 0.5),
            "p99": pct(values, 0.99), "max": max(values)}


def raise_nofile(want=65536):
    """Open descriptors: the soft limit raised to want (the hard one too
    when this may, as root) or to the hard limit; every program started
    here inherits it (measure 9 holds thousands of connections in the
    client, lighttpd and intake.fcgi).  The limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for lim in ((max(hard, want), max(hard, want)), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, lim)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path, timeout=5.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


# --------------------------------------------------------------------------
# the bench's own servers: the mock provider, and (measure 8) hookrecv

class BenchServer:
    """A bench server (bench/bench.h's): it prints "port N" once it
    listens, and stops on SIGTERM."""

    def __init__(self, reaper, name, args):
        self.proc = reaper.popen([os.path.join(BIN, name)] + args,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"port (\d+)", line)
        if not m:
            raise RuntimeError("%s did not start: %r" % (name, line))
        self.port = int(m.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Mock(BenchServer):
    def __init__(self, reaper):
        BenchServer.__init__(self, reaper, "mockllm",
                             ["-m", str(int(TIMEOUT) + 60)])
        self.url = "http://127.0.0.1:%d/v1" % self.port

    def set(self, **kw):
        q = "&".join("%s=%d" % (k, v) for k, v in kw.items())
        st, body = http_get(self.port, "/_control/set?" + q)
        if st != 200:
            raise RuntimeError("mock set: %d %r" % (st, body))

    def log(self):
        st, body = http_get(self.port, "/_control/log", timeout=30)
        out = {}
        for line in body.decode().splitlines():
            f = line.split()
            if len(f) >= 3:
                out[f[0]] = (int(f[1]), [int(x) for x in f[3:]])
        return out

    def stats(self):
        return json.loads(http_get(self.port, "/_control/stats")[1])



# --------------------------------------------------------------------------
# a service under a real web server

def www_data():
    try:
        import pwd
        pw = pwd.getpwnam("www-data")
        return pw.pw_uid, pw.pw_gid
    except (KeyError, ImportError):
        return None


def chown_tree(path, ids):
    for d, dirs, files in os.walk(path):
        os.chown(d, *ids)
        for f in files:
            os.chown(os.path.join(d, f), *ids)


class Service:
    """kind: intake (lighttpd), floor (lighttpd), fcgid (Apache mod_fcgid),
    cgi (Apache, plain CGI)."""

    def __init__(self, reaper, mock, kind, env=None, label=None):
        self.reaper = reaper
        self.kind = kind
        self.label = label or kind
        self.tmp = tempfile.mkdtemp(prefix="intake-bench-")
        os.chmod(self.tmp, 0o755)
        self.run = os.path.join(self.tmp, "run")
        os.mkdir(self.run, 0o700)
        self.db = os.path.join(self.tmp, "intake.db")
        self.needle = ("INTAKE_DB=" + self.db).encode()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("INTAKE_")}
        self.env.update({
            "INTAKE_DB": self.db,
            "INTAKE_EXTRACTOR": os.path.join(BUILD, "intake-extract"),
            "INTAKE_LLM_PROVIDER": "openai",
            "INTAKE_LLM_URL": mock.url,
            "INTAKE_LLM_MODEL": "mock",
            "INTAKE_WORD_DELAY_MS": "0",
            "INTAKE_RATE_CONVERSATIONS": "0",
            "INTAKE_RATE_MESSAGES": "0",
            # One load generator, one address, hundreds of streams.
            "INTAKE_MAX_STREAMS_PER_ADDR": "0",
            "INTAKE_MAX_FOLLOWS_PER_CONV": "0",
            "INTAKE_THREADS": "16",
        })
        self.env.update({k: str(v) for k, v in (env or {}).items()})
        self.proc = None
        self.port = None
        self.ids = None
        self.last_progress = time.monotonic()
        self.lighttpd_extra = ""       # lines added to lighttpd's config
        if kind in ("fcgid", "cgi") and os.getuid() == 0:
            self.ids = www_data()

    def program(self):
        if self.kind == "floor":
            return os.path.join(BIN, "floor")
        return os.path.join(BUILD, "intake.fcgi")

    def start(self):
        init = [self.program() if self.kind == "floor" else
                os.path.join(BUILD, "intake-extract"), "--init"]
        if self.kind != "floor" and os.geteuid() == 0:
            init += ["--owner", "root"]     # --init as root must say so
        r = self.reaper.run(init, 30, env=self.env)
        if r.returncode != 0:
            raise RuntimeError("%s --init: %s" % (init[0], r.stderr[-500:]))
        self.port = free_port()
        out = open(os.path.join(self.run, "server.out"), "ab")
        if self.kind in ("intake", "floor"):
            conf = self.reaper.run(
                [os.path.join(TOP, "scripts", "lighttpd-conf.sh"), BUILD,
                 self.run, str(self.port)], 30, check=True, env=self.env,
                cwd=TOP).stdout.decode()
            if self.kind == "floor":
                conf = conf.replace(os.path.join(BUILD, "intake.fcgi"),
                                    self.program())
            conf += self.lighttpd_extra
            path = os.path.join(self.run, "lighttpd.conf")
            with open(path, "w") as f:
                f.write(conf)
            cmd = ["lighttpd", "-D", "-f", path]
        else:
            mode = "fcgid" if self.kind == "fcgid" else "cgi"
            os.mkdir(os.path.join(self.run, "fcgid"), 0o700)
            if self.ids:
                chown_tree(self.tmp, self.ids)
            conf = self.reaper.run(
                [os.path.join(TOP, "scripts", "apache-conf.sh"), mode, BUILD,
                 self.run, str(self.port)], 30, check=True, env=self.env,
                cwd=TOP).stdout.decode()
            path = os.path.join(self.run, "apache.conf")
            with open(path, "w") as f:
                f.write(conf)
            cmd = ["apache2", "-D", "FOREGROUND", "-f", path]
        self.proc = self.reaper.popen(cmd, env=self.env, cwd=TOP,
                                      stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited: %s" % (cmd[0], self.tail()))
            try:
                st, body = http_get(self.port, "/api/health", timeout=2)
                if 200 <= st < 300:
                    return self
                last = st
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError("%s: no answer (%s): %s" % (self.kind, last,
                                                       self.tail()))

    def tail(self, n=2000):
        out = []
        for name in ("server.out", "error.log"):
            try:
                with open(os.path.join(self.run, name), "rb") as f:
                    out.append(f.read()[-n:].decode("utf-8", "replace"))
            except OSError:
                pass
        return "\n".join(out)

    def pids(self):
        """Every live process of the service: the server and whatever
        carries this database in its environment (the program, the
        extractors), zombies included (state Z)."""
        out = {}
        if self.proc is None:
            return out
        me = self.proc.pid
        for pid in all_pids():
            st = proc_stat(pid)
            if st is None:
                continue
            if pid == me or st["ppid"] == me or (
                    st["state"] != "Z" and environ_has(pid, self.needle)):
                out[pid] = st
        # zombies: children of any of these
        for pid in list(all_pids()):
            st = proc_stat(pid)
            if st and st["state"] == "Z" and st["ppid"] in out:
                out[pid] = st
        return out

    def db_pids(self):
        """The database server's processes, when it is one (PgService)."""
        return {}

    def sample(self, pss=False, db=False):
        """RSS, fds, threads, processes by name, zombies, CPU seconds of
        every process of the service at one instant; with pss, the PSS
        too; with db, the database server's processes (PostgreSQL's)
        counted as the service's."""
        s = {"rss_kb": 0, "fds": 0, "threads": 0, "procs": {}, "zombies": 0,
             "cpu": {}, "rss_by": {}, "pss_kb": 0, "pss_by": {},
             "t": time.monotonic()}
        procs = self.pids()
        if db:
            procs.update(self.db_pids())
        for pid, st in procs.items():
            if st["state"] == "Z":
                s["zombies"] += 1
                continue
            f = status_fields(pid)
            s["rss_kb"] += f.get("VmRSS", 0)
            s["rss_by"][st["comm"]] = s["rss_by"].get(st["comm"], 0) + \
                f.get("VmRSS", 0)
            if pss:
                k = pss_kb(pid)
                s["pss_kb"] += k
                s["pss_by"][st["comm"]] = s["pss_by"].get(st["comm"], 0) + k
            s["threads"] += f.get("Threads", 0)
            s["fds"] += nfds(pid)
            s["procs"][st["comm"]] = s["procs"].get(st["comm"], 0) + 1
            s["cpu"][pid] = (st["comm"], st["cpu"])
        return s

    def count(self, comm):
        return sum(1 for st in self.pids().values()
                   if st["comm"] == comm and st["state"] != "Z")

    def query(self, sql, args=()):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                              timeout=10, isolation_level=None)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def jobs(self):
        """{state: count} of the extraction jobs."""
        return dict(self.query("SELECT state, count(*) FROM jobs "
                               "GROUP BY state"))

    def landed(self):
        """(landed, total): extractions that are done (intake) or
        upserts made (floor)."""
        if self.kind == "floor":
            n = self.query("SELECT count(*) FROM replies")[0][0]
            if self.env.get("INTAKE_FLOOR_NOCHILD") == "1":
                return n, n
            u = self.query("SELECT coalesce(sum(n), 0) FROM leads")[0][0]
            return u, n
        j = self.jobs()
        return j.get("done", 0) + j.get("failed", 0), sum(j.values())

    def worker_comm(self):
        return "floorchild" if self.kind == "floor" else "intake-extract"

    def wait_landed(self, timeout, stall=5.0):
        """True once every extraction has landed; False at the timeout, or
        when nothing has landed for stall seconds and no worker process is
        left to land it (then it is lost: see lost())."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while True:
            done, total = self.landed()
            if done >= total:
                self.last_progress = time.monotonic()
                return True
            now = time.monotonic()
            if now > deadline:
                return False
            if done != last:
                last, since = done, now
                self.last_progress = now
            elif now - since > stall and self.count(self.worker_comm()) == 0:
                return False
            time.sleep(0.05)

    def wait_no(self, comm, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(comm) == 0:
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT if self.kind in
                                  ("intake", "floor") else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # What is left of ours (extractors still at work, a program still
        # leaving): a moment's grace, then SIGKILL, each by its pid.
        me = self.proc.pid
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            rest = [p for p, st in self.pids().items() if st["state"] != "Z"
                    and p != me]
            if not rest:
                break
            if time.monotonic() > deadline - 6:
                for p in rest:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.1)
        self.proc = None

    def cleanup(self):
        if KEEP:
            log("kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class LoadProc:
    """bench/load in the background: its JSON and its own CPU time
    (wait4's rusage: the client shares the two cores with the service,
    and says how much of them it took); with -s, when its crowd is in
    (the "ready" line on its standard error)."""

    def __init__(self, reaper, args):
        self.cmd = [os.path.join(BIN, "load")] + [str(a) for a in args]
        self.t0 = time.monotonic()
        self.p = reaper.popen(self.cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        self.ready = threading.Event()
        self.t_ready = None
        self.out, self.err = [], []
        self.readers = [threading.Thread(target=self._read, args=(
            self.p.stdout, self.out, False), daemon=True),
                        threading.Thread(target=self._read, args=(
                            self.p.stderr, self.err, True), daemon=True)]
        for th in self.readers:
            th.start()

    def _read(self, f, into, watch):
        for line in iter(f.readline, b""):
            into.append(line)
            if watch and line.startswith(b"ready "):
                self.t_ready = int(line.split()[1]) / 1e6
                self.ready.set()
        f.close()

    def cpu(self):
        """Its CPU seconds so far (while it runs)."""
        st = proc_stat(self.p.pid)
        return st["cpu"] if st else 0.0

    def finish(self, timeout):
        """Its JSON, with cpu_s (its own CPU, every thread) and wall_s."""
        deadline = time.monotonic() + timeout
        for th in self.readers:
            th.join(max(0.0, deadline - time.monotonic()))
        if any(th.is_alive() for th in self.readers):
            self.p.kill()
        _, status, ru = os.wait4(self.p.pid, 0)
        self.p.returncode = os.waitstatus_to_exitcode(status)
        for th in self.readers:
            th.join(5)
        err = b"".join(self.err).decode("utf-8", "replace")
        if self.p.returncode != 0:
            raise RuntimeError("load %s: %s (%d): %s" % (
                " ".join(self.cmd[1:])[:120], "timed out" if
                self.p.returncode == -signal.SIGKILL else "failed",
                self.p.returncode, err[-500:]))
        r = json.loads(b"".join(self.out).decode())
        r["cpu_s"] = ru.ru_utime + ru.ru_stime
        r["wall_s"] = time.monotonic() - self.t0
        return r


def run_load(reaper, args, timeout):
    return LoadProc(reaper, args).finish(timeout)


def read_records(path):
    out = []
    with open(path) as f:
        for line in f:
            x = line.split()
            if len(x) < 10:
                continue
            out.append({"tag": x[0], "direct": x[1] == "d", "ok": x[2] == "1",
                        "t_first": int(x[5]), "deltas": [int(v) for v in
                                                         x[10:]]})
    return out


def service_cpu(before, after, reaped_before, reaped_after):
    """CPU seconds of the service between two samples, by process name:
    the live processes' utime+stime (children reaped by them included)
    plus the adopted ones reaped meanwhile."""
    out = {}
    for pid, (comm, cpu) in after["cpu"].items():
        prev = before["cpu"].get(pid, (comm, 0.0))[1]
        out[comm] = out.get(comm, 0.0) + cpu - prev
    for comm, (n, cpu) in reaped_after.items():
        prev = reaped_before.get(comm, [0, 0.0])[1]
        if cpu - prev > 0:
            out[comm] = out.get(comm, 0.0) + cpu - prev
    return out


# --------------------------------------------------------------------------
# the measurements

R = {}          # results by key
NOTES_RUN = []  # what happened in this run worth saying


def m0_mock(reaper, mock):
    mock.set(tokens=20, delay=0, first=0, extract=0, chars=5, log=0)
    out = {}
    for c in (16, 64):
        r = run_load(reaper, ["-m", "direct", "-P", mock.port, "-c", c,
                              "-T", 1.5 if QUICK else 3], 60)
        out[c] = r["turns_per_s"]
        log("mock ceiling c=%d: %.0f streams/s (20 tokens each)" %
            (c, r["turns_per_s"]))
    R["mock"] = out


def m1_dead(reaper, mock):
    """Dead input time under each server, every extraction 3 s long, every
    turn spawning one (the cap raised so that none is skipped)."""
    mock.set(tokens=10, delay=0, first=0, extract=3000, log=0)
    kinds = ["intake"]
    apache = shutil.which("apache2") and all(os.path.exists(
        "/usr/lib/apache2/modules/" + m) for m in ("mod_fcgid.so",
                                                   "mod_cgid.so"))
    if apache:
        kinds += ["fcgid", "cgi"]
    else:
        NOTES_RUN.append("Apache (apache2, libapache2-mod-fcgid) is not "
                         "installed: measure 1 ran under lighttpd only.")
    n = 100 if QUICK else 300
    R["dead"] = {}
    for kind in kinds:
        srv = Service(reaper, mock, kind, {"INTAKE_MAX_EXTRACTORS": 256})
        try:
            srv.start()
            r = run_load(reaper, ["-p", srv.port, "-c", 1, "-n", n,
                                  "-r", 50, "-k", 10, "-T", 40], 90)
            alive = srv.count("intake-extract")
            jobs = srv.jobs()
            R["dead"][kind] = {"load": r, "extractors_alive": alive,
                               "jobs": jobs}
            log("dead input %s: p50 %s p99 %s max %s us (to EOF p99 %s); "
                "%d extractors alive at the end; errors %s" % (
                    kind, r["dead_us"].get("p50"), r["dead_us"].get("p99"),
                    r["dead_us"].get("max"), r["dead_eof_us"].get("p99"),
                    alive, r["errors"]))
        except Exception as e:
            R["dead"][kind] = {"error": str(e)}
            log("dead input %s: %s" % (kind, e))
        finally:
            srv.stop()
            srv.cleanup()


def m2_relay(reaper, mock):
    """Relay cost: the same stream read through the service and directly,
    side by side in one run, matched token by token to the mock's log."""
    mock.set(tokens=20, delay=10, first=0, extract=0, log=1)
    mock.log()      # empty it
    srv = Service(reaper, mock, "intake")
    rec = os.path.join(srv.tmp, "relay.rec")
    try:
        srv.start()
        r = run_load(reaper, ["-m", "mixed", "-p", srv.port, "-P", mock.port,
                              "-c", 8, "-T", 3 if QUICK else 6, "-k", 10,
                              "-o", rec], 60)
        mlog = mock.log()
        recs = read_records(rec)
    finally:
        mock.set(log=0)
        srv.stop()
    first = {True: [], False: []}
    per = {True: [], False: []}
    ttfd = {True: [], False: []}
    unmatched = 0
    for t in recs:
        m = mlog.get(t["tag"])
        if not t["ok"] or m is None or len(m[1]) != len(t["deltas"]):
            unmatched += 1
            continue
        first[t["direct"]].append(t["deltas"][0] - m[0])
        per[t["direct"]].extend(d - w for d, w in zip(t["deltas"][1:],
                                                      m[1][1:]))
    R["relay"] = {
        "first_service": dist(first[False]), "first_direct":
        dist(first[True]), "per_service": dist(per[False]),
        "per_direct": dist(per[True]), "unmatched": unmatched,
        "errors": r["errors"], "turns": len(recs)}
    srv.cleanup()
    x = R["relay"]
    if x["first_service"]["n"] and x["first_direct"]["n"]:
        x["first_added"] = {k: x["first_service"][k] - x["first_direct"][k]
                            for k in ("p50", "p99")}
        x["per_added"] = {k: x["per_service"][k] - x["per_direct"][k]
                          for k in ("p50", "p99")}
        log("relay: first delta +%d us p50 (+%d p99), per delta +%d us p50 "
            "(+%d p99); %d unmatched" % (
                x["first_added"]["p50"], x["first_added"]["p99"],
                x["per_added"]["p50"], x["per_added"]["p99"], unmatched))


def mock_cpu(mock):
    st = mock and proc_stat(mock.proc.pid)
    return st["cpu"] if st else 0.0


def shares(res, wall, mock_s, load_s):
    """The mock's and the load client's CPU beside the service's: each
    as a share of the machine's cores over the run, and per turn."""
    cores = wall * (os.cpu_count() or 1)
    svc = sum(res["cpu"].values()) + res.get("pg_cpu_s", 0.0)
    res["share"] = {"service": svc / cores, "mock": mock_s / cores,
                    "client": load_s / cores, "wall_s": wall,
                    "mock_ms_turn": 1000 * mock_s / max(res["turns"], 1),
                    "client_ms_turn": 1000 * load_s / max(res["turns"], 1)}


def throughput_run(reaper, srv, conc, seconds, mock=None):
    """One closed-loop run; turns/s counted until every extraction has
    landed, and the service's CPU per turn (and the mock's and the load
    client's: they share the cores)."""
    srv.wait_landed(30)
    before, rb = srv.sample(), reaper.snapshot()
    m0 = mock_cpu(mock)
    t0 = time.monotonic()
    r = run_load(reaper, ["-p", srv.port, "-c", conc, "-T", seconds,
                          "-k", 8], seconds + 60)
    t_http = time.monotonic() - t0
    ok = srv.wait_landed(90)
    t_landed = time.monotonic() - t0
    if srv.kind != "floor":
        srv.wait_no("intake-extract", 10)
    time.sleep(0.3)             # the last children leave; the reaper's turn
    after, ra = srv.sample(), reaper.snapshot()
    m1, t1 = mock_cpu(mock), time.monotonic()
    cpu = service_cpu(before, after, rb, ra)
    done, total = srv.landed()
    if not ok:      # lost ones: count up to the last that landed
        t_landed = max(srv.last_progress - t0, t_http)
    if r["deltas_per_turn"] < 0.95 * 20:
        NOTES_RUN.append("%s at concurrency %d: %.1f deltas per turn where "
                         "the mock sent 20 tokens" % (
                             srv.label, conc, r["deltas_per_turn"]))
    turns = r["ok"]
    res = {"load": r, "turns": turns, "http_s": t_http,
           "lost": total - done,
           "landed_s": t_landed, "landed": done, "jobs": total,
           "all_landed": ok, "turns_s": turns / t_landed,
           "cpu": cpu, "cpu_ms_turn": 1000 * sum(cpu.values()) /
           max(turns, 1)}
    spawned = sum(n - rb.get(k, [0, 0.0])[0] for k, (n, _) in ra.items())
    res["spawned_per_turn"] = spawned / max(turns, 1)
    shares(res, t_landed, m1 - m0, r["cpu_s"])
    if total > done:
        NOTES_RUN.append("%s at concurrency %d: %d of %d extractions never "
                         "landed (their process failed)" % (
                             srv.label, conc, total - done, total))
    log("%s c=%d: %d turns, %.0f/s over HTTP, %.0f/s landed (%d/%d in "
        "%.1f s), CPU %.2f ms/turn %s, %.2f processes spawned per turn, "
        "errors %s; of the cores: service %.0f %%, mock %.0f %%, client "
        "%.0f %%" % (
            srv.label, conc, turns, r["turns_per_s"], res["turns_s"], done,
            total, t_landed, res["cpu_ms_turn"],
            {k: round(1000 * v / max(turns, 1), 2) for k, v in cpu.items()},
            res["spawned_per_turn"], r["errors"],
            100 * res["share"]["service"], 100 * res["share"]["mock"],
            100 * res["share"]["client"]))
    return res


def m3_throughput(reaper, mock):
    mock.set(tokens=20, delay=0, first=0, extract=0, log=0)
    secs = 2 if QUICK else 5
    R["tput"] = {}
    srvs = {"intake": Service(reaper, mock, "intake",
                              {"INTAKE_THREADS": 80}),
            "floor": Service(reaper, mock, "floor", {"INTAKE_THREADS": 80}),
            "relay floor": Service(reaper, mock, "floor",
                                   {"INTAKE_THREADS": 80,
                                    "INTAKE_FLOOR_NOCHILD": 1},
                                   "relay floor"),
            "floor, posix_spawn": Service(reaper, mock, "floor",
                                          {"INTAKE_THREADS": 80,
                                           "INTAKE_FLOOR_SPAWN": 1},
                                          "floor, posix_spawn")}
    try:
        for s in srvs.values():
            s.start()
            run_load(reaper, ["-p", s.port, "-c", 4, "-n", 20], 30)  # warm
        for conc in (16, 64):
            kinds = ("intake", "floor") if conc == 64 else \
                ("intake", "floor", "relay floor", "floor, posix_spawn")
            for kind in kinds:
                R["tput"][(kind, conc)] = throughput_run(reaper, srvs[kind],
                                                         conc, secs, mock)
        st = mock.stats()
        R["expect"] = {"answered": st.get("expect", 0),
                       "requests": st["stream"] + st["extract"]}
        if shutil.which("perf") and left() > 200 and not QUICK:
            R["perf"] = profile(reaper, srvs["intake"], 16)
    finally:
        for s in srvs.values():
            s.stop()
            s.cleanup()


COMMS = "lighttpd,intake.fcgi,intake-extract"


def profile(reaper, srv, conc):
    """perf across the machine while intake runs at conc: where the CPU
    goes, by program and function."""
    data = os.path.join(srv.tmp, "perf.data")
    p = reaper.popen(["perf", "record", "-a", "-g", "-F", "499", "-o", data,
                      "--", "sleep", "4"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        run_load(reaper, ["-p", srv.port, "-c", conc, "-T", 3.5, "-k", 8],
                 60)
    finally:
        p.wait(30)
    srv.wait_landed(60)
    out = {}
    for key, sort in (("comm", "comm"), ("sym", "comm,dso,sym")):
        r = reaper.run(["perf", "report", "-i", data, "--stdio",
                        "--no-children", "--comms", COMMS, "--sort", sort,
                        "-g", "none", "--percent-limit", "0.7"], 120)
        out[key] = [l for l in r.stdout.decode("utf-8", "replace")
                    .splitlines() if l.strip() and not l.startswith("#")][:40]
    return out


# Measure 4's last figure is taken this long after the last stream ended.
AFTER_S = 10.0


def mem_point(smp):
    """One instant's memory, summed over every process of the service
    (the database server's too when it was sampled with db): RSS and
    PSS, with and without the extractors."""
    ext_r = smp["rss_by"].get("intake-extract", 0)
    ext_p = smp["pss_by"].get("intake-extract", 0)
    return {"rss": smp["rss_kb"], "pss": smp["pss_kb"],
            "rss_noext": smp["rss_kb"] - ext_r,
            "pss_noext": smp["pss_kb"] - ext_p,
            "ext_rss": ext_r, "ext_procs": smp["procs"].get(
                "intake-extract", 0)}


class MemSampler:
    """Every process of the service sampled every interval s in a
    thread (with the mock's active streams): each sample sums RSS and
    PSS over the processes at that instant; peaks are the largest sums
    (never the largest of each process taken at different instants)."""

    def __init__(self, srv, mock, interval, db=False):
        self.srv, self.mock, self.interval, self.db = srv, mock, \
            interval, db
        self.samples, self.cost = [], []
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def loop(self):
        while not self.stop_ev.is_set():
            try:
                active = self.mock.stats()["active"]
            except Exception:       # noqa: BLE001 (a sample without it)
                active = None
            t0 = time.monotonic()
            smp = self.srv.sample(pss=True, db=self.db)
            self.cost.append(time.monotonic() - t0)
            m = mem_point(smp)
            m.update(t=t0, active=active or 0, fds=smp["fds"],
                     threads=smp["threads"], procs=dict(smp["procs"]),
                     rss_by=dict(smp["rss_by"]), pss_by=dict(smp["pss_by"]))
            self.samples.append(m)
            self.stop_ev.wait(self.interval)

    def stop(self):
        self.stop_ev.set()
        self.th.join()
        return self.samples

    def peaks(self, idle, streams, since=None, until=None):
        """The peak sums and the growth per stream over idle (KB)."""
        ss = [x for x in self.samples if (since is None or x["t"] >= since)
              and (until is None or x["t"] <= until)]
        out = {"samples": len(ss), "streams": streams,
               "sample_ms": 1000 * (sum(self.cost) / len(self.cost)) if
               self.cost else 0}
        if not ss:
            return out
        im = mem_point(idle)
        for k in ("rss", "pss", "rss_noext", "pss_noext"):
            top = max(ss, key=lambda x: x[k])
            out["peak_" + k] = top[k]
            out["per_" + k] = (top[k] - im[k]) / max(streams, 1)
        top = max(ss, key=lambda x: x["rss"])
        out["at_peak"] = {"rss_by": top["rss_by"], "pss_by": top["pss_by"],
                          "procs": top["procs"], "active": top["active"]}
        out["peak_ext_procs"] = max(x["ext_procs"] for x in ss)
        out["peak_ext_rss"] = max(x["ext_rss"] for x in ss)
        out["peak_fds"] = max(x["fds"] for x in ss)
        out["peak_threads"] = max(x["threads"] for x in ss)
        out["peak_procs"] = max(sum(x["procs"].values()) for x in ss)
        return out


def fmt_mem(x):
    return "%.1f MB RSS (PSS %.1f)" % (x["rss_kb"] / 1024,
                                        x["pss_kb"] / 1024)


def streams_measure(reaper, mock, srv, X, rounds, db=False, need=150):
    """Measure 4 on one service: idle, then rounds of n replies streaming
    at 20 tokens a second at once; memory of every process (db: the
    database server's too), gaps, errors; then the service AFTER_S after
    the last stream ended."""
    tokens = 40 if QUICK else 60
    mock.set(tokens=tokens, delay=50, first=0, extract=0, chars=5, log=1)
    X["rounds"] = []
    try:
        srv.start()
        run_load(reaper, ["-p", srv.port, "-c", 2, "-n", 4], 30)   # warm
        srv.wait_landed(30)
        srv.wait_no("intake-extract", 10)
        time.sleep(1.0)
        mock.log()
        idle = srv.sample(pss=True, db=db)
        X["idle"] = idle
        log("%s idle: %s, %d fds, %s" % (srv.label, fmt_mem(idle),
                                         idle["fds"], idle["procs"]))
        t_end = None
        for n in rounds:
            if left() < need:
                NOTES_RUN.append("measure 4 (%s): round of %d skipped for "
                                 "time" % (srv.label, n))
                break
            rd = stream_round(reaper, mock, srv, n, tokens, idle, db)
            X["rounds"].append(rd)
            t_end = rd["t_last_end"]
        if t_end is not None:
            time.sleep(max(0.0, t_end + AFTER_S - time.monotonic()))
            a = srv.sample(pss=True, db=db)
            a["after_s"] = a["t"] - t_end
            X["after"] = a
            log("%s %.1f s after the last stream ended: %s (idle %s), %d "
                "fds, %d zombies, %s" % (
                    srv.label, a["after_s"], fmt_mem(a), fmt_mem(idle),
                    a["fds"], a["zombies"], a["procs"]))
    finally:
        mock.set(log=0)
        srv.stop()
        srv.cleanup()


def m4_streams(reaper, mock):
    """Concurrent conversations: 200 then 500 (twice) replies streaming at
    20 tokens a second; memory, gaps, errors, and what is left after."""
    srv = Service(reaper, mock, "intake", {"INTAKE_THREADS": 600}, "SQLite")
    R["streams"] = {}
    streams_measure(reaper, mock, srv, R["streams"],
                    (200, 500) if QUICK else (200, 500, 500))


def stream_round(reaper, mock, srv, n, tokens, idle, db=False):
    rec = os.path.join(srv.tmp, "streams-%d.rec" % n)
    sm = MemSampler(srv, mock, 0.25, db)
    try:
        r = run_load(reaper, ["-p", srv.port, "-c", n, "-n", n, "-k", 1,
                              "-R", 1000, "-T", 60, "-o", rec], 120)
    finally:
        samples = sm.stop()
    mlog = mock.log()
    ok_landed = srv.wait_landed(60)
    srv.wait_no("intake-extract", 10)
    time.sleep(0.3)
    after = srv.sample(pss=True, db=db)
    gaps_c, gaps_m, lag = [], [], []
    t_last = 0
    for t in read_full_records(rec):
        t_last = max(t_last, t["t_eof"], t["t_end"])
        m = mlog.get(t["tag"])
        if not t["ok"] or m is None or len(m[1]) != len(t["deltas"]):
            continue
        d, w = t["deltas"], m[1]
        gaps_c.extend(b - a for a, b in zip(d, d[1:]))
        gaps_m.extend(b - a for a, b in zip(w, w[1:]))
        lag.extend(x - y for x, y in zip(d, w))
    peak_active = max((x["active"] for x in samples), default=0)
    res = {"n": n, "load": r, "gap_client": dist(gaps_c),
           "gap_mock": dist(gaps_m), "lag": dist(lag),
           "peak_active": peak_active, "after": after, "landed": ok_landed,
           "mem": sm.peaks(idle, peak_active),
           # load's clock is CLOCK_MONOTONIC, as time.monotonic()
           "t_last_end": t_last / 1e6 if t_last else time.monotonic()}
    if gaps_c and gaps_m:
        res["gap_added_p99"] = res["gap_client"]["p99"] - \
            res["gap_mock"]["p99"]
    m = res["mem"]
    log("%s, %d streams: %d ok, errors %s; peak %d active; peak %.1f MB "
        "RSS, %.1f PSS (without extractors %.1f / %.1f; %d extractors at "
        "most): %.0f KB RSS per stream over idle (PSS %.0f; without "
        "extractors %.0f / %.0f); %d samples, %.0f ms each; p99 gap %s us "
        "(mock %s), lag p99 %s; after: %s, %d fds, %d zombies" % (
            srv.label, n, r["ok"], r["errors"], peak_active,
            m.get("peak_rss", 0) / 1024, m.get("peak_pss", 0) / 1024,
            m.get("peak_rss_noext", 0) / 1024,
            m.get("peak_pss_noext", 0) / 1024, m.get("peak_ext_procs", 0),
            m.get("per_rss", 0), m.get("per_pss", 0),
            m.get("per_rss_noext", 0), m.get("per_pss_noext", 0),
            m["samples"], m["sample_ms"], res["gap_client"]["p99"],
            res["gap_mock"]["p99"], res["lag"]["p99"], fmt_mem(after),
            after["fds"], after["zombies"]))
    return res


# --------------------------------------------------------------------------
# measure 9 (BENCH_ONLY=crowd): 2,000 streams and followers in one process

CROWD_N = 1000          # turns streaming slowly, each with one follower
CROWD_RATE = 10         # new visitors a second while they all run
CROWD_CLIENTS = 100     # the visitors' client threads (replies of 2 s+)
VISIT_TOKENS = 40       # a visitor's reply: 2 s at 20 tokens a second
VISIT_TEXT = ("Hello, my name is Jane Doe and my phone is (415) 555-0100. "
              "I need help with a custody matter after my divorce, it is "
              "urgent. BLEN%d" % VISIT_TOKENS)
# lighttpd holds two descriptors a stream (the client's, the program's):
# its default of 4,096 would refuse the crowd.
CROWD_LIGHTTPD = ("server.max-fds = 16384\n"
                  "server.max-connections = 8192\n")


def crowd_service(make, n=CROWD_N):
    """A service for the crowd: enough workers for every stream and
    follower (INTAKE_THREADS), lighttpd's limits raised."""
    srv = make({"INTAKE_THREADS": 2 * n + 300})
    srv.lighttpd_extra = CROWD_LIGHTTPD
    return srv


def crowd_measure(reaper, mock, srv, X, db=False):
    """CROWD_N replies streaming at 20 tokens a second, each followed
    from a second connection (GET .../events), all on one lighttpd and
    one intake.fcgi; once they are all in, a new visitor every
    1/CROWD_RATE s makes a conversation and sends a turn: how soon its
    first delta comes, the errors, and the memory of every process."""
    n = CROWD_N
    # The crowd arrives at 100 (QUICK: 200) turns a second: on SQLite
    # a faster arrival is refused by the write lock as it stands
    # (measured: 1,000 over 3 s, half of them 503 after 5 s locked).
    ramp = 5.0 if QUICK else 10.0
    window = 8.0 if QUICK else 20.0
    # The crowd's replies outlast its ramp, a margin for all to be in,
    # the visitors' window and a margin after it.
    tokens = int((ramp + 10 + window + 3) / 0.05)
    X.update(n=n, window_s=window, tokens=tokens, rate=CROWD_RATE,
             ramp_s=ramp)
    mock.set(tokens=20, delay=0, first=0, extract=0, chars=5, log=0)
    main = vis = sm = None
    try:
        srv.start()
        run_load(reaper, ["-p", srv.port, "-c", 2, "-n", 4], 30)   # warm
        srv.wait_landed(30)
        srv.wait_no("intake-extract", 10)
        mock.set(tokens=tokens, delay=50)
        time.sleep(1.0)
        idle = X["idle"] = srv.sample(pss=True, db=db)
        log("%s crowd: idle %s, %s" % (srv.label, fmt_mem(idle),
                                       idle["procs"]))
        sm = MemSampler(srv, mock, 0.5, db)
        t0 = time.monotonic()
        main = LoadProc(reaper, ["-p", srv.port, "-c", n, "-n", n, "-k", 1,
                                 "-R", int(ramp * 1000), "-F", 1, "-s",
                                 "-w", 120, "-T", 300])
        if not main.ready.wait(ramp + 90):
            NOTES_RUN.append("measure 9 (%s): the crowd was not all in "
                             "after %.0f s; the visitors came anyway" % (
                                 srv.label, ramp + 90))
        X["ready_s"] = (main.t_ready - t0) if main.t_ready else None
        t_in = time.monotonic()
        c0 = (srv.sample(), reaper.snapshot(), mock_cpu(mock),
              main.cpu(), db_cpu(srv))
        vis = LoadProc(reaper, ["-p", srv.port, "-c", CROWD_CLIENTS,
                                "-r", CROWD_RATE, "-n",
                                int(CROWD_RATE * window), "-T", window + 1,
                                "-k", 1, "-V", "-x", VISIT_TEXT, "-w", 60])
        v = vis.finish(window + 90)
        vis = None
        t_out = time.monotonic()
        c1 = (srv.sample(), reaper.snapshot(), mock_cpu(mock),
              main.cpu(), db_cpu(srv))
        m = main.finish(tokens * 0.05 + ramp + 150)
        main = None
        t_end = time.monotonic()
        samples, done_sm, sm = sm.stop(), sm, None
        landed = srv.wait_landed(90)
        srv.wait_no("intake-extract", 20)
        cores = (t_out - t_in) * (os.cpu_count() or 1)
        by = service_cpu(c0[0], c1[0], c0[1], c1[1])
        for k, x in service_cpu(c0[4], c1[4], {}, {}).items():
            by["PostgreSQL " + k] = x
        X["cpu"] = {"service": sum(by.values()) / cores,
                    "mock": (c1[2] - c0[2]) / cores,
                    "client": (c1[3] - c0[3] + v["cpu_s"]) / cores,
                    "by": by}
        win = [x["active"] for x in samples if t_in <= x["t"] <= t_out]
        connected = m["ok"] + m["follow"]["ok"]
        X.update(main=m, visitors=v, landed=landed,
                 active_min=min(win) if win else None,
                 active_max=max(win) if win else None,
                 connected=connected,
                 mem=done_sm.peaks(idle, connected),
                 mem_window=done_sm.peaks(idle, connected, t_in, t_out))
        # A follower whose turn failed has nothing to follow: that
        # failure is the turn's, counted once.
        X["errors"] = {k: m["errors"].get(k, 0) + v["errors"].get(k, 0) + (
            m["follow"]["errors"].get(k, 0) if k != "no_start" else 0)
            for k in m["errors"]}
        X["errors_n"] = sum(X["errors"].values())
        time.sleep(max(0.0, t_end + AFTER_S - time.monotonic()))
        a = X["after"] = srv.sample(pss=True, db=db)
        a["after_s"] = time.monotonic() - t_end
        mm = X["mem"]
        log("%s crowd: %d turns + %d followers in after %s s (%d ok + %d "
            "ok; errors turns %s, followers %s); streams at the mock during "
            "the visitors %s..%s; visitors: %d, POST conversation → first "
            "delta p50 %s p99 %s max %s us (the turn alone p99 %s; started "
            "late p99 %s us), errors %s; last errors %r / %r; peak %.1f MB "
            "RSS (PSS %.1f), %.0f "
            "KB RSS per connection over idle (PSS %.0f; without extractors "
            "%.0f / %.0f), %d threads, %d fds; the crowd's gap p99 %s us; "
            "CPU of the cores: service %.0f %%, mock %.0f %%, clients %.0f "
            "%%; %.0f s after: %s" % (
                srv.label, n, n, "%.1f" % X["ready_s"] if X["ready_s"]
                else "?", m["ok"], m["follow"]["ok"],
                nz(m["errors"]), nz(m["follow"]["errors"]),
                X["active_min"], X["active_max"], v["ok"],
                v["visit_us"].get("p50"), v["visit_us"].get("p99"),
                v["visit_us"].get("max"), v["ttfd_us"].get("p99"),
                v["late_us"].get("p99"), nz(v["errors"]),
                m.get("last_error"), v.get("last_error"),
                mm.get("peak_rss", 0) / 1024, mm.get("peak_pss", 0) / 1024,
                mm.get("per_rss", 0), mm.get("per_pss", 0),
                mm.get("per_rss_noext", 0), mm.get("per_pss_noext", 0),
                mm.get("peak_threads", 0), mm.get("peak_fds", 0),
                m["gap_us"].get("p99"), 100 * X["cpu"]["service"],
                100 * X["cpu"]["mock"], 100 * X["cpu"]["client"],
                a["after_s"], fmt_mem(a)))
    finally:
        for lp in (vis, main):
            if lp is not None:
                try:
                    lp.p.kill()
                    lp.finish(10)
                except Exception:       # noqa: BLE001 (already failing)
                    pass
        if sm is not None:
            sm.stop()
        srv.stop()
        srv.cleanup()


def db_cpu(srv):
    """The database server's CPU sample (pg_sample), or nothing."""
    return pg_sample(srv.cluster) if isinstance(srv, PgService) else \
        {"cpu": {}}


def nz(errors):
    """The errors that happened, or 0."""
    e = {k: v for k, v in errors.items() if v}
    return e or 0


def m9_crowd(reaper, mock):
    R["crowd"] = {}
    srv = crowd_service(lambda env: Service(reaper, mock, "intake", env,
                                            "SQLite"))
    crowd_measure(reaper, mock, srv, R["crowd"])


def m5_merge(reaper):
    tmp = tempfile.mkdtemp(prefix="intake-bench-merge-")
    R["merge"] = {}
    try:
        for leads in (1, 32):
            for flock in (False, True):
                p = reaper.run([os.path.join(BIN, "merge"), "-d",
                                os.path.join(tmp, "m%d%d.db" % (leads,
                                                                 flock)),
                                "-p", "32", "-m", "10" if QUICK else "25",
                                "-l", str(leads)] + (["-f"] if flock else []),
                               120)
                r = json.loads(p.stdout.decode())
                R["merge"][(leads, flock)] = r
                log("merge, 32 extractors on %d lead(s)%s: tx p50 %d p99 %d "
                    "max %d us, %d merges/s; lost %d; wrong fields %d" % (
                        leads, " (flock)" if flock else "",
                        r["tx_us"]["p50"], r["tx_us"]["p99"],
                        r["tx_us"]["max"], r["per_s"], r["lost"],
                        r["wrong_fields"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def wal_stats(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return {"size": 0, "frames": 0, "commits": 0, "pages": 0,
                "page_size": 4096}
    if len(data) < 32:
        return {"size": len(data), "frames": 0, "commits": 0, "pages": 0,
                "page_size": 4096}
    hdr = struct.unpack(">8I", data[:32])
    pgsz, salts = hdr[2], (hdr[4], hdr[5])
    off, frames, commits, pages = 32, 0, 0, set()
    while off + 24 + pgsz <= len(data):
        pgno, dbsize, s1, s2 = struct.unpack(">4I", data[off:off + 16])
        if (s1, s2) != salts:
            break
        frames += 1
        pages.add(pgno)
        if dbsize:
            commits += 1
        off += 24 + pgsz
    return {"size": len(data), "frames": frames, "commits": commits,
            "pages": len(pages), "page_size": pgsz}


def m6_write_amp(reaper, mock):
    """Bytes written to the database per byte of reply: the WAL appended
    by one turn and its extraction (from an empty WAL), plus what the
    checkpoint then writes into the database file (each page once)."""
    srv = Service(reaper, mock, "intake", {"INTAKE_THREADS": 4})
    R["wamp"] = {}
    try:
        srv.start()
        mock.set(tokens=10, delay=0, first=0, extract=0, chars=5, log=0)
        run_load(reaper, ["-p", srv.port, "-c", 1, "-n", 2], 30)   # warm
        for chars in (2000, 20000):
            mock.set(tokens=chars // 5, delay=0, chars=5)
            srv.wait_landed(30)
            srv.wait_no("intake-extract", 10)
            con = sqlite3.connect(srv.db, timeout=10, isolation_level=None)
            ck = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            con.close()
            if ck[0] != 0:
                NOTES_RUN.append("measure 6: the checkpoint was busy")
            r = run_load(reaper, ["-p", srv.port, "-c", 1, "-n", 1, "-k",
                                  1], 60)
            srv.wait_landed(30)
            srv.wait_no("intake-extract", 10)
            w = wal_stats(srv.db + "-wal")
            written = 32 + w["frames"] * (24 + w["page_size"]) + \
                w["pages"] * w["page_size"]
            R["wamp"][chars] = {"wal": w, "written": written,
                                "per_byte": written / chars,
                                "ok": r["ok"]}
            log("write amplification, %d-byte reply: %d frames (%d commits, "
                "%d pages) = %.0f KB written, %.1f bytes per reply byte" % (
                    chars, w["frames"], w["commits"], w["pages"],
                    written / 1024, written / chars))
    finally:
        mock.set(tokens=20, chars=5)
        srv.stop()
        srv.cleanup()


def m7_backlog(reaper, mock):
    """A burst of 500 turns in 5 s, every model extraction 1 s long."""
    mock.set(tokens=20, delay=0, first=0, extract=1000, log=0)
    n, rate = (200, 100) if QUICK else (500, 100)
    srv = Service(reaper, mock, "intake", {"INTAKE_THREADS": 64})
    try:
        srv.start()
        cap = 8
        pm = reaper.popen([os.path.join(BIN, "procmon"), "-e",
                           os.path.join(BUILD, "intake-extract"), "-i", "10",
                           "-c", str(cap), "-T", "200"],
                          stdout=subprocess.PIPE)
        t0 = time.monotonic()
        r = run_load(reaper, ["-p", srv.port, "-c", 32, "-n", n, "-r", rate,
                              "-k", 5, "-T", 30], 90)
        t_burst = time.monotonic() - t0
        ok = srv.wait_landed(max(30, min(150, left() - 60)))
        t_land = time.monotonic() - t0
        srv.wait_no("intake-extract", 10)
        pm.send_signal(signal.SIGTERM)
        mon = json.loads(pm.communicate(timeout=10)[0].decode())
        R["backlog"] = {"load": r, "burst_s": t_burst, "landed_s": t_land,
                        "all_landed": ok, "jobs": srv.jobs(), "mon": mon,
                        "cap": cap, "n": n, "floor_s": n * 1.0 / cap}
        log("backlog: %d turns in %.1f s (errors %s); peak %d extractors "
            "(cap %d, %d samples over); all landed after %.1f s (%s)" % (
                r["ok"], t_burst, r["errors"], mon["peak"], cap,
                mon["over_cap"], t_land, srv.jobs()))
    finally:
        srv.stop()
        srv.cleanup()


# --------------------------------------------------------------------------
# measure 8: lead delivery (issue 12)

# A key of the bench's own (24 bytes, base64 without padding).
HOOK_SECRET = "whsec_YmVuY2gtd2ViaG9vay1rZXktMjQtYnl0ZXM="
NOTIFY_ENV = {"INTAKE_WEBHOOK_SECRET": HOOK_SECRET,
              "INTAKE_PUBLIC_URL": "https://firm.example"}
MAIL_ENV = {"INTAKE_NOTIFY_EMAIL": "desk@firm.example",
            "INTAKE_SMTP_FROM": "intake@firm.example"}


class Hook(BenchServer):
    """bench/hookrecv: the webhook receiver (C, a thread per connection),
    answering 200 after delay_ms and checking every signature."""

    def __init__(self, reaper, delay_ms=0):
        BenchServer.__init__(self, reaper, "hookrecv",
                             ["-d", str(delay_ms), "-s", HOOK_SECRET,
                              "-m", str(int(TIMEOUT) + 60)])
        self.url = "http://127.0.0.1:%d/hook" % self.port

    def log(self):
        """[(mono_us, webhook-id, conversation id, signature good,
        type)]"""
        out = []
        for line in http_get(self.port, "/_log", 30)[1].decode().split("\n"):
            f = line.split()
            if len(f) == 5:
                out.append((int(f[0]), f[1], f[2], f[4] == "1", f[3]))
        return out

    def cpu(self):
        st = proc_stat(self.proc.pid)
        return st["cpu"] if st else 0.0



class Smtp:
    """tests/smtp_server.py: Debian's aiosmtpd, the tests' real SMTP
    server; one JSON line per accepted message in out."""

    def __init__(self, reaper, out):
        self.out = out
        self.proc = reaper.popen(["/usr/bin/python3", os.path.join(
            TOP, "tests", "smtp_server.py"), "--port", "0", "--out", out],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"ready (\d+)", line)
        if not m:
            raise RuntimeError("smtp_server.py did not start: %r" % line)
        self.url = "smtp://127.0.0.1:%s" % m.group(1)

    def accepted(self):
        try:
            with open(self.out) as f:
                return [json.loads(x) for x in f if x.strip()]
        except OSError:
            return []

    cpu = Hook.cpu
    stop = Hook.stop


def timed_run(reaper, cmd, env, timeout, errpath):
    """Run cmd to its end: (stdout, exit code, wall s, CPU s of its own
    from wait4)."""
    with open(errpath, "ab") as err:
        p = reaper.popen(cmd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=err)
    t0 = time.monotonic()
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    try:
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    return (out.decode("utf-8", "replace"), p.returncode, wall,
            ru.ru_utime + ru.ru_stime)


def notify_seed(reaper, mock, n_conv, n_mail):
    """A database of n_conv ready leads, each with a webhook row and
    n_mail of them with an e-mail row, every row held back (due far
    ahead) until its measurement makes it due: two leads made by the
    service itself (two turns whose deliveries found nobody listening),
    the rest copies of them made by SQL, with fresh ids.  The Service
    (stopped) is returned for its database; the caller cleans it up."""
    dead = free_port()          # nothing listens there
    env = dict(NOTIFY_ENV, **MAIL_ENV)
    env.update(INTAKE_WEBHOOK_URL="http://127.0.0.1:%d/hook" % dead,
               INTAKE_SMTP_URL="smtp://127.0.0.1:%d" % dead,
               INTAKE_NOTIFY_TIMEOUT_MS=2000)
    srv = Service(reaper, mock, "intake", env)
    try:
        srv.start()
        run_load(reaper, ["-p", srv.port, "-c", 1, "-n", 2, "-k", 1], 30)
        srv.wait_landed(30)
        srv.wait_no("intake-extract", 20)
    except Exception:
        srv.stop()
        srv.cleanup()
        raise
    srv.stop()
    con = sqlite3.connect(srv.db, timeout=10, isolation_level=None)
    try:
        tried = con.execute("SELECT count(*) FROM notifications WHERE "
                            "attempts > 0 AND status = 'pending'").fetchone()
        seeds = [r[0] for r in con.execute(
            "SELECT DISTINCT conversation_id FROM notifications WHERE "
            "type = 'lead.ready' AND target = 'webhook'")]
        if len(seeds) < 1:
            raise RuntimeError("no lead became ready: %s" % srv.tail())
        con.execute("BEGIN IMMEDIATE")
        ids = ["bench%027x" % i for i in range(n_conv - len(seeds))]
        pairs = [(c, seeds[i % len(seeds)]) for i, c in enumerate(ids)]
        for t, key in (("conversations", "id"), ("leads", "conversation_id"),
                       ("lead_fields", "conversation_id")):
            cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % t)]
            con.executemany("INSERT INTO %s (%s) SELECT %s FROM %s WHERE "
                            "%s = ?" % (t, ", ".join(cols), ", ".join(
                                "?" if c == key else c for c in cols), t,
                                key), pairs)
        ev = con.execute("SELECT event_at, created_at FROM notifications "
                         "LIMIT 1").fetchone()
        rows = [("msg_bench%023x%d" % (i, tg), c, tg and "webhook" or
                 "email") + ev + ev[1:] for i, c in enumerate(ids)
                for tg in ((1, 0) if i < n_mail - len(seeds) else (1,))]
        con.executemany(
            "INSERT INTO notifications (id, conversation_id, type, target, "
            "status, due_at, event_at, created_at, updated_at) VALUES "
            "(?, ?, 'lead.ready', ?, 'pending', 0, ?, ?, ?)", rows)
        # Held back until their measurement makes them due.
        con.execute("UPDATE notifications SET status = 'pending', due_at = "
                    "9e15, lease_until = NULL, lease_owner = NULL")
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        due = dict(con.execute("SELECT target, count(*) FROM notifications "
                               "GROUP BY target"))
    except Exception:
        srv.cleanup()
        raise
    finally:
        con.close()
    return srv, tried[0], due


def notify_sweeps(reaper, srv, env, expect, budget_s):
    """intake-extract --sweep, run again while it sends (one run may
    stop at a batch): per run (tried, wall s, CPU s)."""
    runs = []
    t0 = time.monotonic()
    total = 0
    while total < expect and time.monotonic() - t0 < budget_s:
        out, rc, wall, cpu = timed_run(
            reaper, [os.path.join(BUILD, "intake-extract"), "--sweep"], env,
            max(5, budget_s - (time.monotonic() - t0)),
            os.path.join(srv.tmp, "sweep.err"))
        m = re.search(r"(\d+) tried", out)
        if rc != 0 or not m:
            raise RuntimeError("--sweep (%d): %r" % (rc, out[-300:]))
        runs.append((int(m.group(1)), wall, cpu))
        total += int(m.group(1))
        if int(m.group(1)) == 0:
            break
    return runs


def sent_by_target(srv):
    return dict(srv.query("SELECT target || '.' || status, count(*) FROM "
                          "notifications GROUP BY target, status"))


def notify_phase(reaper, srv, env, target, reset, expect, budget_s, recv):
    """Make target's rows due (reset: SQL), send them with back-to-back
    sweeps, and say what the sender and the receiver (recv: a Hook or an
    Smtp) did."""
    con = sqlite3.connect(srv.db, timeout=10, isolation_level=None)
    con.execute(reset)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    c0 = recv.cpu()
    runs = notify_sweeps(reaper, srv, env, expect, budget_s)
    c1 = recv.cpu()
    if isinstance(recv, Hook):
        got = recv.log()
        ids = set(g[1] for g in got)
        bad = sum(1 for g in got if not g[3])
    else:
        got = recv.accepted()
        ids = set(m.group(1) for m in (re.search(
            r"(?im)^Message-ID:\s*(\S+)", g["raw"]) for g in got) if m)
        bad = 0
    st = sent_by_target(srv)
    n = sum(r[0] for r in runs)
    wall = sum(r[1] for r in runs)
    cpu = sum(r[2] for r in runs)
    res = {"due": expect, "runs": runs, "tried": n,
           "sent": st.get(target + ".sent", 0), "received": len(got),
           "ids": len(ids), "bad_sig": bad,
           "per_s": n / wall if wall else 0, "wall_s": wall,
           "cpu_ms": 1000 * cpu / max(n, 1),
           "recv_cpu_ms": 1000 * (c1 - c0) / max(len(got), 1),
           "recv_busy": (c1 - c0) / wall if wall else 0}
    log("notify: %s: %d sweep(s) %s tried %d in %.2f s = %.0f/s, sender "
        "CPU %.3f ms each; received %d (%d ids, %d bad signatures), "
        "receiver CPU %.3f ms each (%.0f %% of one core); rows %s" % (
            target, len(runs), [r[0] for r in runs], n, wall, res["per_s"],
            res["cpu_ms"], res["received"], res["ids"], bad,
            res["recv_cpu_ms"], 100 * res["recv_busy"], st))
    return res


def m8_throughput(reaper, mock):
    """(a) One sender's throughput: N due webhook rows sent by
    intake-extract --sweep to bench/hookrecv, due one after the other as
    merges queue them, then all due at the same instant (as --sweep
    --retry-failed makes them); then e-mails to aiosmtpd."""
    n_hook, n_mail = (500, 60) if QUICK else (2000, 200)
    mock.set(tokens=10, delay=0, first=0, extract=0, log=0)
    t_prep = time.monotonic()
    srv, tried, due = notify_seed(reaper, mock, n_hook, n_mail)
    X = R["notify"]
    X["seed_tried"] = tried
    X["prep_s"] = time.monotonic() - t_prep
    log("notify: %d rows prepared (%s) in %.1f s; the seed's %d tries to a "
        "closed port left them pending" % (sum(due.values()), due,
                                            X["prep_s"], tried))
    hook = Hook(reaper)
    smtp = None
    again = ("UPDATE notifications SET status = 'pending', lease_until = "
             "NULL, lease_owner = NULL, sent_at = NULL, due_at = %s WHERE "
             "target = '%s'")
    try:
        env = dict(srv.env, INTAKE_WEBHOOK_URL=hook.url,
                   INTAKE_SMTP_URL="smtp://127.0.0.1:%d" % free_port())
        # rowid: the order the rows were written, 1 ms apart.
        X["hook"] = notify_phase(reaper, srv, env, "webhook",
                                 again % ("rowid", "webhook"),
                                 due.get("webhook", 0), 40, hook)
        X["hook_same"] = notify_phase(reaper, srv, env, "webhook",
                                      again % ("1", "webhook"),
                                      due.get("webhook", 0), 40, hook)
        if not os.path.exists("/usr/bin/python3") or reaper.run(
                ["/usr/bin/python3", "-c", "import aiosmtpd"],
                20).returncode != 0:
            NOTES_RUN.append("measure 8: python3-aiosmtpd is not installed: "
                             "no e-mail figure")
            return
        smtp = Smtp(reaper, os.path.join(srv.tmp, "mail.jsonl"))
        env["INTAKE_SMTP_URL"] = smtp.url
        X["mail"] = notify_phase(reaper, srv, env, "email",
                                 again % ("rowid", "email"),
                                 due.get("email", 0), 40, smtp)
    finally:
        hook.stop()
        if smtp is not None:
            smtp.stop()
        srv.cleanup()


def m8_slow(reaper, mock):
    """(b) Dead input time while every delivery takes 5 s: turns that
    each make a lead ready (the load's text has a name and a phone), two
    per conversation, against the same without any target configured."""
    mock.set(tokens=10, delay=0, first=0, extract=0, log=0)
    n, rate = (30, 10) if QUICK else (60, 10)
    X = R["notify"]
    X["slow"] = {}
    hook = Hook(reaper, 5000)
    try:
        for name, extra in (("none", {}),
                            ("slow", dict(NOTIFY_ENV,
                                          INTAKE_WEBHOOK_URL=hook.url))):
            srv = Service(reaper, mock, "intake",
                          dict(extra, INTAKE_MAX_EXTRACTORS=256))
            rec = os.path.join(srv.tmp, "slow.rec")
            try:
                srv.start()
                # Warm, with a text that makes no lead ready.
                run_load(reaper, ["-p", srv.port, "-c", 1, "-n", 2, "-k",
                                  1, "-x", "Hello, I have a question"], 30)
                srv.wait_landed(30)
                hook.log()
                r = run_load(reaper, ["-p", srv.port, "-c", 1, "-n", n,
                                      "-r", rate, "-k", 2, "-T", 40, "-o",
                                      rec], 90)
                alive = srv.count("intake-extract")
                recs = {t["tag"]: t for t in read_full_records(rec)}
                # The second message of each conversation (on its slot,
                # 100 ms after the first, its lead's delivery under way):
                # how soon it was answered.
                second = [t["t_first"] - t["t_send"] for tag, t in
                          recs.items() if t["ok"] and t["deltas"] and
                          int(tag.split("x")[1]) % 2 == 1]
                res = {"load": r, "alive": alive, "second_ttfd": dist(second)}
                if name == "slow":
                    # The response end of each measured conversation's
                    # first turn (the one that made its lead ready).
                    conv_end = {}
                    for cid, text in srv.query(
                            "SELECT conversation_id, text FROM messages "
                            "WHERE role = 'user' AND turn = 1 AND text "
                            "LIKE '%Jane Doe%'"):
                        m = re.search(r"BTAG(\d+x\d+)", text)
                        t = m and recs.get("BTAG" + m.group(1))
                        if t and t["ok"]:
                            conv_end[cid] = t["t_end"]
                    want_n = len(set(r[0] for r in srv.query(
                        "SELECT conversation_id FROM leads WHERE ready_at "
                        "IS NOT NULL")) & set(conv_end))
                    # Every lead's webhook arrives (5 s each, in
                    # parallel), and every extractor has recorded its own.
                    deadline = time.monotonic() + 20
                    got = []
                    while time.monotonic() < deadline:
                        got += [g for g in hook.log() if g[2] in conv_end]
                        if len(set(g[2] for g in got if g[4] ==
                                   "lead.ready")) >= want_n:
                            break
                        time.sleep(0.2)
                    srv.wait_no("intake-extract", 15)
                    got += [g for g in hook.log() if g[2] in conv_end]
                    after = [g[0] - conv_end[g[2]] for g in got
                             if g[4] == "lead.ready"]
                    rows = srv.query(
                        "SELECT type, status, count(*), sum(attempts) FROM "
                        "notifications WHERE conversation_id IN (SELECT "
                        "conversation_id FROM messages WHERE text LIKE "
                        "'%Jane Doe%') GROUP BY type, status")
                    res.update({
                        "ready": want_n, "received": len(got),
                        "ready_received": len(after),
                        "ids": len(set(g[1] for g in got)),
                        "bad_sig": sum(1 for g in got if not g[3]),
                        "rows": {"%s %s" % (r[0], r[1]): (r[2], r[3])
                                 for r in rows},
                        "after_end": dist(after),
                        "after_min": min(after) if after else None,
                        "before_end": sum(1 for a in after if a < 0)})
                X["slow"][name] = res
                d, e = r["dead_us"], r["dead_eof_us"]
                log("notify %s: %d turns, errors %s; dead p50 %s p99 %s max "
                    "%s us, to EOF p99 %s; second message's first delta p50 "
                    "%s p99 %s us; %d extractors alive at the end%s" % (
                        name, r["ok"], r["errors"], d.get("p50"),
                        d.get("p99"), d.get("max"), e.get("p99"),
                        res["second_ttfd"]["p50"], res["second_ttfd"]["p99"],
                        alive, "" if name == "none" else
                        "; %d leads ready, %d webhooks received (%d "
                        "lead.ready; %d ids, %d bad signatures), rows "
                        "(count, attempts) %s; lead.ready arrived after "
                        "the response ended: min %s p50 %s max %s us" % (
                            res["ready"], res["received"],
                            res["ready_received"], res["ids"],
                            res["bad_sig"], res["rows"],
                            min(after) if after else None,
                            res["after_end"]["p50"],
                            res["after_end"]["max"])))
            finally:
                srv.stop()
                srv.cleanup()
    finally:
        hook.stop()


def read_full_records(path):
    """read_records with the times of each turn (bench/load -o)."""
    out = []
    with open(path) as f:
        for line in f:
            x = line.split()
            if len(x) < 10:
                continue
            out.append({"tag": x[0], "ok": x[2] == "1", "t_send": int(x[4]),
                        "t_first": int(x[5]), "t_done": int(x[6]),
                        "t_end": int(x[7]), "t_eof": int(x[8]),
                        "deltas": [int(v) for v in x[10:]]})
    return out


def m8_notify(reaper, mock):
    R["notify"] = {}
    for part in (m8_throughput, m8_slow):
        try:
            part(reaper, mock)
        except Exception as e:
            NOTES_RUN.append("measure 8 (%s) failed: %s" % (part.__name__,
                                                             e))
            log("measure 8 (%s) failed: %s" % (part.__name__, e))


# --------------------------------------------------------------------------
# measure pg: PostgreSQL beside SQLite (issue 14)

sys.path.insert(0, os.path.join(TOP, "tests"))
try:
    import pg_cluster
except ImportError:             # the file is the tests'; never fatal here
    pg_cluster = None

# The backends of the bench's own probes: never counted as the service's.
PROBE_PIDS = set()


class PgWire:
    """A minimal PostgreSQL client, for the bench's probes (the standard
    library has none): the simple query protocol over the throwaway
    cluster's Unix socket, trust authentication (tests/pg_cluster.py).
    Integer columns come back as int, the rest as str."""

    INTS = (20, 21, 23, 26)     # int8, int2, int4, oid

    def __init__(self, cluster, db, user=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(os.path.join(cluster.sockdir, ".s.PGSQL.%d" %
                                    pg_cluster.PORT))
        self.buf = b""
        params = b"".join(k + b"\0" + v.encode() + b"\0" for k, v in (
            (b"user", user or pg_cluster.SUPERUSER), (b"database", db),
            (b"application_name", "bench-probe"))) + b"\0"
        body = struct.pack("!I", 196608) + params
        self.s.sendall(struct.pack("!I", len(body) + 4) + body)
        self._until_ready()
        self.pid = self.query("SELECT pg_backend_pid()")[0][0]
        PROBE_PIDS.add(self.pid)

    def _msg(self):
        while True:
            if len(self.buf) >= 5:
                n = struct.unpack("!I", self.buf[1:5])[0]
                if len(self.buf) >= 1 + n:
                    t, body = self.buf[:1], self.buf[5:1 + n]
                    self.buf = self.buf[1 + n:]
                    return t, body
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError("PostgreSQL closed the probe's "
                                   "connection")
            self.buf += d

    @staticmethod
    def _error(body):
        for f in body.split(b"\0"):
            if f[:1] == b"M":
                return f[1:].decode("utf-8", "replace")
        return "error"

    def _until_ready(self):
        err = None
        while True:
            t, b = self._msg()
            if t == b"R" and struct.unpack("!I", b[:4])[0] != 0:
                raise RuntimeError("PostgreSQL wants a password: the "
                                   "probe speaks trust only")
            if t == b"E":
                err = self._error(b)
            if t == b"Z":
                if err:
                    raise RuntimeError(err)
                return

    def query(self, sql):
        q = sql.encode() + b"\0"
        self.s.sendall(b"Q" + struct.pack("!I", len(q) + 4) + q)
        rows, types, err = [], [], None
        while True:
            t, b = self._msg()
            if t == b"T":
                n, off, types = struct.unpack("!H", b[:2])[0], 2, []
                for _ in range(n):
                    off = b.index(b"\0", off) + 1
                    types.append(struct.unpack("!IhIhih",
                                               b[off:off + 18])[2])
                    off += 18
            elif t == b"D":
                n, off, row = struct.unpack("!H", b[:2])[0], 2, []
                for i in range(n):
                    ln = struct.unpack("!i", b[off:off + 4])[0]
                    off += 4
                    if ln < 0:
                        row.append(None)
                        continue
                    v = b[off:off + ln].decode("utf-8", "replace")
                    off += ln
                    row.append(int(v) if types[i] in self.INTS else v)
                rows.append(tuple(row))
            elif t == b"E":
                err = self._error(b)
            elif t == b"Z":
                if err:
                    raise RuntimeError("%s: %s" % (err, sql[:80]))
                return rows

    def close(self):
        try:
            self.s.sendall(b"X" + struct.pack("!I", 4))
        except OSError:
            pass
        self.s.close()


class PgService(Service):
    """An intake node (lighttpd + intake.fcgi + its extractors) on a
    database of the throwaway cluster.  Every node of one database has
    the same INTAKE_DB, so its processes are found by a variable of its
    own (INTAKE_BENCH_SERVICE, passed on like every INTAKE_* one)."""

    def __init__(self, reaper, mock, cluster, dbname, node, env=None,
                 label=None):
        Service.__init__(self, reaper, mock, "intake", env, label)
        self.cluster, self.dbname, self.wire = cluster, dbname, None
        self.db = cluster.uri(dbname)
        self.env.update(INTAKE_DB=self.db, INTAKE_NODE=node,
                        INTAKE_BENCH_SERVICE=self.tmp)
        self.needle = ("INTAKE_BENCH_SERVICE=" + self.tmp).encode()

    def db_pids(self):
        """The PostgreSQL server's processes (the postmaster, its
        backends, its own workers), the bench's probes left out: they
        serve this service alone while it is measured."""
        out = {}
        pm = pg_cluster._postmaster_pid(self.cluster.data)
        st = pm and proc_stat(pm)
        if not st:
            return out
        out[pm] = st
        for pid in all_pids():
            st = proc_stat(pid)
            if st and st["ppid"] == pm and st["state"] != "Z" and \
                    pid not in PROBE_PIDS:
                out[pid] = st
        return out

    def query(self, sql, args=()):
        if args:
            raise ValueError("PgService.query takes no parameters")
        if self.wire is None:
            self.wire = PgWire(self.cluster, self.dbname, pg_cluster.ROLE)
        return self.wire.query(sql)

    def cleanup(self):
        if self.wire is not None:
            self.wire.close()
            self.wire = None
        Service.cleanup(self)


def pg_sample(cluster):
    """The PostgreSQL server's processes, in Service.sample's shape for
    service_cpu: the postmaster itself; the backends it has reaped (its
    children's time: the connections of processes that left, such as
    the extractors'); its live children (the pools' backends, the
    server's own workers), the bench's probes left out."""
    out = {"cpu": {}}
    pm = pg_cluster._postmaster_pid(cluster.data)
    st = pm and proc_stat(pm)
    if not st:
        return out
    out["cpu"][pm] = ("postmaster", st["own_cpu"])
    out["cpu"][-pm] = ("backends gone", st["cpu"] - st["own_cpu"])
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st["ppid"] == pm and st["state"] != "Z" and \
                pid not in PROBE_PIDS:
            out["cpu"][pid] = ("backends live", st["cpu"])
    return out


def nodes_throughput(reaper, srvs, cluster, conc, seconds, mock=None):
    """throughput_run for one node or several on one database: one load
    client per node, conc split between them, all at once; turns/s
    counted until every extraction landed; the service's CPU (every
    node's processes, the adopted extractors) and, on PostgreSQL, the
    server's apart."""
    srvs[0].wait_landed(30)
    before = [s.sample() for s in srvs]
    rb = reaper.snapshot()
    pb = pg_sample(cluster) if cluster else None
    m0 = mock_cpu(mock)
    loads, errs = [None] * len(srvs), []

    def one(i):
        try:
            loads[i] = run_load(reaper, ["-p", srvs[i].port, "-c",
                                         conc // len(srvs), "-T", seconds,
                                         "-k", 8], seconds + 60)
        except Exception as e:      # noqa: BLE001 (raised below)
            errs.append(e)

    t0 = time.monotonic()
    ths = [threading.Thread(target=one, args=(i,)) for i in range(len(srvs))]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    if errs:
        raise errs[0]
    t_http = time.monotonic() - t0
    ok = srvs[0].wait_landed(90)    # one database: every node's jobs
    t_landed = time.monotonic() - t0
    for s in srvs:
        s.wait_no("intake-extract", 10)
    time.sleep(0.3)
    after = [s.sample() for s in srvs]
    ra = reaper.snapshot()
    pa = pg_sample(cluster) if cluster else None
    m1 = mock_cpu(mock)
    cpu = service_cpu({"cpu": {}}, {"cpu": {}}, rb, ra)
    for b, a in zip(before, after):
        for k, v in service_cpu(b, a, {}, {}).items():
            cpu[k] = cpu.get(k, 0.0) + v
    pg_by = service_cpu(pb, pa, {}, {}) if cluster else {}
    pg_cpu = sum(pg_by.values())
    done, total = srvs[0].landed()
    if not ok:
        t_landed = max(max(s.last_progress for s in srvs) - t0, t_http)
    turns = sum(r["ok"] for r in loads)
    label = " + ".join(s.label for s in srvs)
    for r in loads:
        if r["deltas_per_turn"] < 0.95 * 20:
            NOTES_RUN.append("%s at concurrency %d: %.1f deltas per turn "
                             "where the mock sent 20 tokens" % (
                                 label, conc, r["deltas_per_turn"]))
    if total > done:
        NOTES_RUN.append("%s at concurrency %d: %d of %d extractions never "
                         "landed" % (label, conc, total - done, total))
    errors = {}
    for r in loads:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    res = {"loads": loads, "turns": turns, "http_s": t_http,
           "landed_s": t_landed, "lost": total - done, "jobs": total,
           "turns_s": turns / t_landed, "errors": errors,
           "http_turns_s": turns / t_http, "cpu": cpu,
           "cpu_ms_turn": 1000 * sum(cpu.values()) / max(turns, 1),
           "pg_ms_turn": 1000 * pg_cpu / max(turns, 1), "pg_cpu": pg_by,
           "ttfd_us": dist_merge([r["ttfd_us"] for r in loads])}
    res["spawned_per_turn"] = sum(n - rb.get(k, [0, 0.0])[0] for k, (n, _)
                                  in ra.items()) / max(turns, 1)
    res["pg_cpu_s"] = pg_cpu
    shares(res, t_landed, m1 - m0, sum(r["cpu_s"] for r in loads))
    log("%s c=%d: %d turns, %.0f/s landed (%d/%d in %.1f s), %.3f "
        "extractor processes per turn, service CPU "
        "%.2f ms/turn %s, PostgreSQL %.2f ms/turn %s, errors %s" % (
            label, conc, turns, res["turns_s"], done, total, t_landed,
            res["spawned_per_turn"],
            res["cpu_ms_turn"], {k: round(1000 * v / max(turns, 1), 2)
                                 for k, v in cpu.items()},
            res["pg_ms_turn"], {k: round(1000 * v / max(turns, 1), 2)
                                for k, v in pg_by.items()}, errors))
    return res


def dist_merge(ds):
    """load's p50/p99 of several clients: the worst of each (the clients
    ran at once on the same machine)."""
    out = {}
    for k in ("p50", "p99", "max"):
        v = [d[k] for d in ds if d.get(k) is not None]
        out[k] = max(v) if v else None
    return out


def sse_read(port, method, path, token, body, out, started=None):
    """One request whose answer is SSE: (event, id, time.monotonic()) of
    each event appended to out as it arrives (comments skipped); started
    is set at the first event.  Returns at done or error, or at the end
    of the response."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        h = {"Authorization": "Bearer " + token,
             "Accept": "text/event-stream"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError("%s %s: %d %r" % (method, path, r.status,
                                                 r.read()[:200]))
        pending = b""
        while True:
            d = r.read1(65536)
            t = time.monotonic()
            if not d:
                return
            pending += d.replace(b"\r\n", b"\n")
            while b"\n\n" in pending:
                block, pending = pending.split(b"\n\n", 1)
                ev, eid = None, None
                for line in block.split(b"\n"):
                    if line.startswith(b"event:"):
                        ev = line[6:].strip().decode()
                    elif line.startswith(b"id:"):
                        eid = int(line[3:].strip())
                if ev is None:
                    continue
                out.append((ev, eid, t))
                if started is not None:
                    started.set()
                if ev in ("done", "error"):
                    return
    finally:
        c.close()


def conv_new(srv):
    st, body = http_post(srv.port, "/api/conversations")
    if st != 201:
        raise RuntimeError("POST /api/conversations: %d %r" % (st, body))
    j = json.loads(body)
    return j["id"], j["token"]


def http_post(port, path, timeout=10.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, body=b"", headers={"Content-Length": "0"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def follow_turn(turn_srv, follow_srv, n_follow):
    """One turn on turn_srv with n_follow followers of its reply on
    follow_srv (GET .../events, started once the turn's first event is
    in).  Returns (the turn's events, [each follower's events])."""
    conv, token = conv_new(turn_srv)
    a, started, errs = [], threading.Event(), []
    fs = [[] for _ in range(n_follow)]

    def run(fn, *args):
        try:
            fn(*args)
        except Exception as e:      # noqa: BLE001 (raised below)
            errs.append(e)

    ta = threading.Thread(target=run, args=(
        sse_read, turn_srv.port, "POST",
        "/api/conversations/%s/messages" % conv, token,
        {"text": "Hello, I need help with a custody matter."}, a, started))
    ta.start()
    started.wait(30)
    tf = [threading.Thread(target=run, args=(
        sse_read, follow_srv.port, "GET", "/api/conversations/%s/events" %
        conv, token, None, f)) for f in fs]
    for th in tf:
        th.start()
    for th in [ta] + tf:
        th.join(60)
    if errs:
        raise errs[0]
    return a, fs


def follow_lags(a, f):
    """For each delta the turn's client got after the follower's first
    event: the time until the follower had the same bytes (its first
    delta whose end offset reaches this one's), in microseconds; and
    the deltas the follower never got (0 when it got everything)."""
    if not f:
        return [], 1
    t_follow = f[0][2]
    fd = [(eid, t) for ev, eid, t in f if ev == "delta"]
    lags, missing = [], 0
    for ev, eid, t in a:
        if ev != "delta" or t < t_follow:
            continue
        got = [tb for e, tb in fd if e >= eid]
        if got:
            lags.append(int(1e6 * (got[0] - t)))
        else:
            missing += 1
    return lags, missing


def follow_latency(turn_srv, follow_srv, turns):
    lags, missing, errors = [], 0, 0
    for _ in range(turns):
        a, fs = follow_turn(turn_srv, follow_srv, 1)
        if not a or a[-1][0] != "done" or not fs[0] or \
                fs[0][-1][0] != "done":
            errors += 1
        x, m = follow_lags(a, fs[0])
        lags.extend(x)
        missing += m
    return {"lag_us": dist(lags), "missing": missing, "errors": errors,
            "turns": turns}


def pg_commits(probe, dbname):
    return probe.query("SELECT xact_commit FROM pg_stat_database WHERE "
                       "datname = '%s'" % dbname)[0][0]


# A backend reports its counts when it goes idle, at most once a second,
# or 10 s after its last transaction (PostgreSQL's PGSTAT_IDLE_INTERVAL).
PG_STATS_SETTLE = 11.0


def follower_load(reaper, mock, cluster, probe, a, b, k):
    """What k followers on node b add: one turn on a, without followers
    and then with k; the database's committed transactions (every
    statement outside db_begin is one) counted once the backends have
    reported them, and the CPU of b and of the PostgreSQL server."""
    out = {}
    mock.set(tokens=120, delay=50, first=0, extract=0, chars=5, log=0)
    for n in (0, k):
        a.wait_no("intake-extract", 15)
        time.sleep(PG_STATS_SETTLE)
        c0 = pg_commits(probe, b.dbname)
        sb, pb, rb = b.sample(), pg_sample(cluster), reaper.snapshot()
        t0 = time.monotonic()
        ev, fs = follow_turn(a, b, n)
        wall = time.monotonic() - t0
        sb2, pb2, rb2 = b.sample(), pg_sample(cluster), reaper.snapshot()
        a.wait_no("intake-extract", 15)
        time.sleep(PG_STATS_SETTLE)
        c1 = pg_commits(probe, b.dbname)
        t_turn = [t for e, _, t in ev if e == "turn"]
        t_done = [t for e, _, t in ev if e == "done"]
        out[n] = {"commits": c1 - c0, "wall_s": wall,
                  "stream_s": (t_done[0] - t_turn[0]) if t_turn and t_done
                  else wall,
                  "b_cpu": sum(service_cpu(sb, sb2, {}, {}).values()),
                  "pg_cpu": sum(service_cpu(pb, pb2, {}, {}).values()),
                  "ok": sum(1 for f in fs if f and f[-1][0] == "done")}
        log("followers: %d on node b: %d transactions committed, b's CPU "
            "%.1f ms, PostgreSQL's %.1f ms over a %.1f s stream" % (
                n, out[n]["commits"], 1000 * out[n]["b_cpu"],
                1000 * out[n]["pg_cpu"], out[n]["stream_s"]))
    z, w = out[0], out[k]
    s = w["stream_s"]
    out["per_follower"] = {
        "queries_s": (w["commits"] - z["commits"]) / k / s,
        "b_ms_s": 1000 * (w["b_cpu"] - z["b_cpu"]) / k / s,
        "pg_ms_s": 1000 * (w["pg_cpu"] - z["pg_cpu"]) / k / s}
    return out


def pg_connect_cost(cluster, n):
    """The server's CPU for one new connection that runs one query and
    leaves (what each extractor process costs before its work): n of
    them, one after the other, from the postmaster's reaped children."""
    before = pg_sample(cluster)
    pids = []
    for _ in range(n):
        w = PgWire(cluster, "postgres", pg_cluster.ROLE)
        w.query("SELECT 1")
        w.close()
        pids.append(w.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            os.path.exists("/proc/%d" % p) for p in pids):
        time.sleep(0.05)
    time.sleep(0.2)
    by = service_cpu(before, pg_sample(cluster), {}, {})
    return 1000 * by.get("backends gone", 0.0) / n


def merge_run(reaper, db, leads, merges):
    p = reaper.run([os.path.join(BIN, "merge"), "-d", db, "-p", "32", "-m",
                    str(merges), "-l", str(leads)], 120)
    if p.returncode != 0:
        raise RuntimeError("merge -d %s: %s" % (db.split("?")[0],
                                                p.stderr[-300:]))
    return json.loads(p.stdout.decode())


def pg_connections(reaper, mock, cluster, probe, n):
    """n streams of 3 s at once against one node (INTAKE_THREADS 256,
    the default pool): the most connections of the programs
    (application_name intake) PostgreSQL saw, sampled every 50 ms."""
    mock.set(tokens=60, delay=50, first=0, extract=0, chars=5, log=0)
    cluster.create_db("bench_conn")
    srv = PgService(reaper, mock, cluster, "bench_conn", "a",
                    {"INTAKE_THREADS": 256})
    samples, stop = [], threading.Event()
    q = ("SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM "
         "pg_stat_activity WHERE application_name = 'intake' AND datname = "
         "'bench_conn'")

    def sampler():
        k = 0
        while not stop.is_set():
            conns, busy = probe.query(q)[0]
            ext = srv.count("intake-extract") if k % 5 == 0 else None
            samples.append((conns, busy, ext))
            k += 1
            stop.wait(0.05)

    try:
        srv.start()
        run_load(reaper, ["-p", srv.port, "-c", 2, "-n", 4], 30)   # warm
        srv.wait_landed(30)
        srv.wait_no("intake-extract", 10)
        idle = probe.query(q)[0][0]
        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        try:
            r = run_load(reaper, ["-p", srv.port, "-c", n, "-n", n, "-k", 1,
                                  "-R", 1000, "-T", 60], 120)
            srv.wait_landed(60)
        finally:
            stop.set()
            th.join()
        peak = max(samples, key=lambda s: s[0])
        res = {"n": n, "load": r, "idle": idle, "peak": peak[0],
               "peak_busy": max(s[1] for s in samples),
               "samples": len(samples),
               "peak_extractors": max((s[2] for s in samples
                                       if s[2] is not None), default=0),
               "after": probe.query(q)[0][0], "jobs": srv.jobs()}
        log("connections: %d streams, %d ok, errors %s; PostgreSQL "
            "connections of the programs: %d idle before, peak %d (%d "
            "busy at most), %d after; extractors at most %d (%d samples)" % (
                n, r["ok"], r["errors"], idle, res["peak"],
                res["peak_busy"], res["after"], res["peak_extractors"],
                len(samples)))
        return res
    finally:
        srv.stop()
        srv.cleanup()


def m_pg(reaper, mock):
    X = R["pg"] = {"load_start": os.getloadavg()}
    t0 = time.monotonic()
    try:
        if pg_cluster is None:
            raise RuntimeError("tests/pg_cluster.py is missing")
        pg_cluster.bindir()             # the package
        pg_cluster._server_user()       # as root, its postgres account
        cluster = pg_cluster.start()    # stopped by start() if it fails
    except Exception as e:              # noqa: BLE001 (said, not fatal)
        X["absent"] = ("PostgreSQL cannot run here, no PostgreSQL figure "
                       "(%s)" % str(e).strip()[:300])
        NOTES_RUN.append(X["absent"])
        log(X["absent"])
        return
    srvs = []
    X["version"] = cluster.psql("postgres", "SHOW server_version").strip()
    log("PostgreSQL %s cluster in %.1f s (%s)" % (
        X["version"], time.monotonic() - t0, cluster.dir))
    probe = PgWire(cluster, "postgres")
    secs = 2 if QUICK else 5

    def part(name, fn, need):
        if left() < need:
            NOTES_RUN.append("measure pg: %s skipped for time" % name)
            return
        try:
            fn()
        except Exception as e:      # noqa: BLE001 (reported)
            X.setdefault("failed", {})[name] = str(e)
            NOTES_RUN.append("measure pg (%s) failed: %s" % (name, e))
            log("measure pg (%s) failed: %s" % (name, e))

    def stop_all():
        for s in srvs:
            s.stop()
            s.cleanup()
        del srvs[:]

    def tput():
        mock.set(tokens=20, delay=0, first=0, extract=0, chars=5, log=0)
        th = {"INTAKE_THREADS": 80}
        cluster.create_db("bench_t1")
        cluster.create_db("bench_t2")
        runs = (("sqlite", lambda: [Service(reaper, mock, "intake", th,
                                            "SQLite")], None),
                ("pg1", lambda: [PgService(reaper, mock, cluster, "bench_t1",
                                           "a", th, "PostgreSQL")], cluster),
                ("pg2", lambda: [PgService(reaper, mock, cluster, "bench_t2",
                                           n, th, "PostgreSQL node " + n)
                                 for n in ("a", "b")], cluster))
        X["tput"] = {}
        try:
            for key, make, cl in runs:
                ss = make()
                srvs.extend(ss)
                for s in ss:
                    s.start()
                    run_load(reaper, ["-p", s.port, "-c", 4, "-n", 20], 30)
                X["tput"][key] = nodes_throughput(reaper, ss, cl, 16, secs,
                                                  mock)
                if key != "pg2":
                    stop_all()
        except Exception:
            stop_all()
            raise

    def follow():
        # The two nodes of the throughput run, and a SQLite node whose
        # followers are on the same node (SQLite has no other).
        mock.set(tokens=60, delay=50, first=0, extract=0, chars=5, log=0)
        turns = 2 if QUICK else 5
        lite = Service(reaper, mock, "intake", None, "SQLite")
        try:
            lite.start()
            X["follow_sqlite"] = follow_latency(lite, lite, turns)
        finally:
            lite.stop()
            lite.cleanup()
        a, b = srvs
        X["follow_pg"] = follow_latency(a, b, turns)
        for key, what in (("follow_sqlite", "SQLite, same node"),
                          ("follow_pg", "PostgreSQL, node a → node b")):
            x = X[key]
            log("follow latency, %s: p50 %s p99 %s max %s us over %d "
                "deltas; %d never seen, %d turns failed" % (
                    what, x["lag_us"]["p50"], x["lag_us"]["p99"],
                    x["lag_us"]["max"], x["lag_us"]["n"], x["missing"],
                    x["errors"]))
        if left() > 80 and not QUICK:
            X["follow_load"] = follower_load(reaper, mock, cluster, probe,
                                             a, b, 10)
        else:
            NOTES_RUN.append("measure pg: the followers' database load "
                             "was not measured (time or BENCH_QUICK)")

    def dead():
        mock.set(tokens=10, delay=0, first=0, extract=3000, log=0)
        n = 100 if QUICK else 300
        cluster.create_db("bench_dead")
        X["dead"] = {}
        for key in ("sqlite", "pg"):
            if key == "sqlite" and "intake" in R.get("dead", {}) and \
                    "load" in R["dead"]["intake"]:
                X["dead"][key] = dict(R["dead"]["intake"], same=1)
                continue
            env = {"INTAKE_MAX_EXTRACTORS": 256}
            srv = Service(reaper, mock, "intake", env) if key == "sqlite" \
                else PgService(reaper, mock, cluster, "bench_dead", "a", env)
            try:
                srv.start()
                r = run_load(reaper, ["-p", srv.port, "-c", 1, "-n", n,
                                      "-r", 50, "-k", 10, "-T", 40], 90)
                alive = srv.count("intake-extract")
                X["dead"][key] = {"load": r, "extractors_alive": alive}
                log("dead input %s: p50 %s p99 %s max %s us (to EOF p99 "
                    "%s); %d extractors alive at the end; errors %s" % (
                        key, r["dead_us"].get("p50"),
                        r["dead_us"].get("p99"), r["dead_us"].get("max"),
                        r["dead_eof_us"].get("p99"), alive, r["errors"]))
            finally:
                srv.stop()
                srv.cleanup()

    def merge():
        tmp = tempfile.mkdtemp(prefix="intake-bench-merge-")
        merges = 20 if QUICK else 50
        X["merge"] = {}
        try:
            for leads in (1, 32):
                name = "bench_merge%d" % leads
                cluster.create_db(name)
                for key, db in (("sqlite", os.path.join(tmp, name + ".db")),
                                ("pg", cluster.uri(name))):
                    r = merge_run(reaper, db, leads, merges)
                    X["merge"][(key, leads)] = r
                    log("merge %s, 32 extractors × %d on %d lead(s): tx p50 "
                        "%d p99 %d max %d us, %d merges/s; lost %d, wrong "
                        "fields %d, failed %d" % (
                            key, merges, leads, r["tx_us"]["p50"],
                            r["tx_us"]["p99"], r["tx_us"]["max"],
                            r["per_s"], r["lost"], r["wrong_fields"],
                            r["failed"]))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def streams():
        # Measure 4 with the PostgreSQL server counted as the service's.
        cluster.create_db("bench_streams")
        X["streams"] = {}
        streams_measure(reaper, mock, PgService(
            reaper, mock, cluster, "bench_streams", "a",
            {"INTAKE_THREADS": 600}, "PostgreSQL"), X["streams"],
            (200, 500), db=True, need=40)

    def crowd():
        cluster.create_db("bench_crowd")
        X["crowd"] = {}
        crowd_measure(reaper, mock, crowd_service(
            lambda env: PgService(reaper, mock, cluster, "bench_crowd", "a",
                                  env, "PostgreSQL")), X["crowd"], db=True)

    def conns():
        X["conns"] = pg_connections(reaper, mock, cluster, probe,
                                    100 if QUICK else 200)
        X["connect_ms"] = pg_connect_cost(cluster, 100)
        log("a new connection (connect, SELECT 1, leave): %.2f ms of the "
            "server's CPU" % X["connect_ms"])

    try:
        part("throughput", tput, 90)
        if len(srvs) == 2:
            part("follow", follow, 60)
        stop_all()
        part("streams", streams, 60)
        part("crowd", crowd, 100 if QUICK else 130)
        part("dead input", dead, 45)
        part("merge", merge, 40)
        part("connections", conns, 40)
    finally:
        stop_all()
        probe.close()
        cluster.stop()
        X["load_end"] = os.getloadavg()
        X["took_s"] = time.monotonic() - t0


def report_pg(a, X):
    """Measure pg's section."""
    a("## PostgreSQL beside SQLite (measure pg, issue 14)")
    a("")
    if "absent" in X:
        a(X["absent"] + ".")
        a("")
        return
    a("A throwaway PostgreSQL %s cluster (tests/pg_cluster.py: initdb in a "
      "temporary folder, Unix socket only, fsync and synchronous_commit "
      "off, as the tests run it), each run on a fresh database; the "
      "SQLite runs are measured in the same run, on the same mock and "
      "load. Service CPU is every process of the service (lighttpd, "
      "intake.fcgi, the extractors), as in measure 3; PostgreSQL's is the "
      "postmaster and its backends (the bench's probes left out). The "
      "machine is shared: load average %.2f when this measure began, %.2f "
      "when it ended; it took %.0f s." % (
          X.get("version", "?"), X["load_start"][0],
          X.get("load_end", (0,))[0], X.get("took_s", 0)))
    a("")
    a("| figure | SQLite | PostgreSQL, one node | PostgreSQL, two nodes "
      "| notes |")
    a("|---|---|---|---|---|")
    T = X.get("tput", {})
    if T:
        def cell(key, fn):
            x = T.get(key)
            return fn(x) if x else "–"
        a("| turns/s at concurrency 16, zero-delay mock, counted until "
          "every extraction landed | %s | %s | %s | two nodes: two "
          "lighttpd + intake.fcgi (INTAKE_NODE a, b) on one database, two "
          "load clients at 8 each; lost / errors: %s |" % tuple(
              [cell(k, lambda x: "**%.0f**" % x["turns_s"])
               for k in ("sqlite", "pg1", "pg2")] + [" / ".join(
                   cell(k, lambda x: "%d, %d" % (
                       x["lost"], sum(x["errors"].values())))
                   for k in ("sqlite", "pg1", "pg2"))]))
        a("| CPU per turn, the service (lighttpd, intake.fcgi, "
          "extractors) | %s | %s | %s | |" % tuple(
              cell(k, lambda x: "%.2f ms" % x["cpu_ms_turn"])
              for k in ("sqlite", "pg1", "pg2")))
        a("| CPU per turn, the PostgreSQL server | – | %s | %s | |" % tuple(
            cell(k, lambda x: "%.2f ms" % x["pg_ms_turn"])
            for k in ("pg1", "pg2")))
        if "connect_ms" in X:
            a("| … the server's CPU for one new connection (connect, one "
              "query, leave; the mean of 100) | | %.2f ms | | each "
              "extractor process makes one, and its first statement is "
              "the schema check under an advisory lock |" % X["connect_ms"])
        a("| **CPU per turn with the database** | %s | %s | %s | SQLite's "
          "is inside the programs |" % tuple(
              cell(k, lambda x: "**%.2f ms**" % (x["cpu_ms_turn"] +
                                                 x["pg_ms_turn"]))
              for k in ("sqlite", "pg1", "pg2")))
        a("| extractor processes started per turn (each drains the jobs "
          "pending when it is done; on PostgreSQL each has one "
          "connection) | %s | %s | %s | |" % tuple(
              cell(k, lambda x: "%.3f" % x["spawned_per_turn"])
              for k in ("sqlite", "pg1", "pg2")))
        a("| time to first delta at concurrency 16 (p50 / p99, ms) | %s | "
          "%s | %s | two nodes: the worse client's |" % tuple(
              cell(k, lambda x: "%s / %s" % (ms(x["ttfd_us"]["p50"]),
                                             ms(x["ttfd_us"]["p99"])))
              for k in ("sqlite", "pg1", "pg2")))
    D = X.get("dead", {})
    if D:
        def dcell(key, fld="dead_us"):
            x = D.get(key)
            if not x or "load" not in x:
                return "–"
            d = x["load"][fld]
            return "%s / %s / %s" % (ms(d.get("p50")), ms(d.get("p99")),
                                     ms(d.get("max")))
        errs = " / ".join("%d" % sum(D[k]["load"]["errors"].values())
                          if k in D else "–" for k in ("sqlite", "pg"))
        alive = " / ".join("%d" % D[k]["extractors_alive"] if k in D else
                           "–" for k in ("sqlite", "pg"))
        a("| dead input time (`done` → end of response; p50 / p99 / max, "
          "ms), measure 1's load under lighttpd | %s | %s | | extraction "
          "3 s; extractors alive at the end %s, errors %s%s |" % (
              dcell("sqlite"), dcell("pg"), alive, errs,
              " (SQLite: measure 1's figure)" if D.get("sqlite", {}).get(
                  "same") else ""))
        a("| `done` → connection closed (p50 / p99 / max, ms) | %s | %s | "
          "| |" % (dcell("sqlite", "dead_eof_us"),
                   dcell("pg", "dead_eof_us")))
    M = X.get("merge", {})
    for leads in (1, 32):
        s, p = M.get(("sqlite", leads)), M.get(("pg", leads))
        if not s and not p:
            continue

        def mcell(x):
            if not x:
                return "–"
            return "%s / %s / %s; **%d/s**; %d lost, %d wrong" % (
                ms(x["tx_us"]["p50"]), ms(x["tx_us"]["p99"]),
                ms(x["tx_us"]["max"]), x["per_s"], x["lost"],
                x["wrong_fields"])
        a("| merge under contention: 32 extractor processes × %d merges on "
          "%d lead(s) (bench/merge; transaction p50 / p99 / max ms; "
          "merges/s) | %s | %s | | PostgreSQL: the conversation's advisory "
          "lock (db_begin_for); SQLite: BEGIN IMMEDIATE |" % (
              (s or p)["merges"], leads, mcell(s), mcell(p)))
    C = X.get("conns")
    if C:
        errs = sum(C["load"]["errors"].values())
        a("| connections: %d streams at once on one node (INTAKE_THREADS "
          "256, INTAKE_DB_POOL 4), the programs' connections in "
          "pg_stat_activity, sampled every 50 ms | | **peak %d** (%d "
          "running a statement at most) | | %d before, %d after; at most "
          "%d extractors alive (each its own process and pool); %d of %d "
          "turns ok, **%d failed** %s |" % (
              C["n"], C["peak"], C["peak_busy"], C["idle"], C["after"],
              C["peak_extractors"], C["load"]["ok"], C["n"], errs,
              C["load"]["errors"] if errs else ""))
    fs, fp = X.get("follow_sqlite"), X.get("follow_pg")
    if fs or fp:
        def fcell(x):
            if not x:
                return "–"
            d = x["lag_us"]
            return "%s / %s / %s (%d deltas)" % (ms(d["p50"], 0),
                                                 ms(d["p99"], 0),
                                                 ms(d["max"], 0), d["n"])
        a("| follow latency: a delta's arrival at the turn's client → the "
          "same bytes at a follower's (p50 / p99 / max, ms), mock at 20 "
          "tokens/s | %s (follower on the same node) | | %s (turn on a, "
          "follower on b) | polling: saves every 250 ms, a peek every "
          "100 ms; never seen %s, failed turns %s |" % (
              fcell(fs), fcell(fp),
              " / ".join(str(x["missing"]) if x else "–" for x in (fs, fp)),
              " / ".join(str(x["errors"]) if x else "–" for x in (fs, fp))))
    L = X.get("follow_load")
    if L:
        pf = L["per_follower"]
        k = [n for n in L if n not in (0, "per_follower")][0]
        a("| a follower's database load, polling (%d followers on b of a "
          "%.1f s stream on a, against none) | | | **%.1f queries/s**; "
          "%.2f ms/s of PostgreSQL CPU, %.2f ms/s of b's | committed "
          "transactions %d with %d followers, %d without |" % (
              k, L[k]["stream_s"], pf["queries_s"], pf["pg_ms_s"],
              pf["b_ms_s"], L[k]["commits"], k, L[0]["commits"]))
    a("")
    if X.get("failed"):
        for k, v in sorted(X["failed"].items()):
            a("- measure pg, %s: **failed**: %s" % (k, v[:300]))
        a("")
    if T:
        a("CPU per turn by process (ms): %s. PostgreSQL's: \"backends "
          "gone\" is what the postmaster's reaped children used, the "
          "backends of connections closed during the run: the "
          "extractors' (one connection per extractor process, serving "
          "every job it drains, its start included); \"backends live\" "
          "its children still running (the web nodes' pools, the "
          "server's own workers)." % "; ".join(
              "%s: %s" % (k, ", ".join("%s %.2f" % (c, 1000 * v / max(
                  T[k]["turns"], 1)) for c, v in sorted(
                      list(T[k]["cpu"].items()) + [
                          ("PostgreSQL " + p, v) for p, v in
                          T[k].get("pg_cpu", {}).items()],
                      key=lambda kv: -kv[1])))
              for k in ("sqlite", "pg1", "pg2") if k in T))
        a("")


# --------------------------------------------------------------------------
# the report

def ms(us, nd=2):
    return "–" if us is None else ("%.*f" % (nd, us / 1000.0))


def yes(b):
    return "**yes**" if b else "**no**"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def ver(cmd, pat):
        try:
            out = subprocess.run(cmd, capture_output=True, timeout=10)
            m = re.search(pat, (out.stdout + out.stderr).decode())
            return m.group(1) if m else "?"
        except OSError:
            return "not installed"

    return {"nproc": os.cpu_count(), "cpu": cpu,
            "kernel": platform.release(),
            "date": datetime.datetime.now().astimezone().strftime(
                "%Y-%m-%d %H:%M %Z"),
            "load": os.getloadavg(),
            "lighttpd": ver(["lighttpd", "-v"], r"lighttpd/(\S+)"),
            "apache": ver(["apache2", "-v"], r"Apache/(\S+)"),
            "sqlite": sqlite3.sqlite_version}


def report_notify(a, X):
    """Measure 8's section."""
    a("## Lead delivery (measure 8)")
    a("")
    a("(a) Ready leads with due notification rows (two leads made by the "
      "service, whose first tries found nobody listening, copied by SQL "
      "with fresh ids) are sent by `intake-extract --sweep` (run again "
      "until nothing is due; one run sends all that is due) to "
      "bench/hookrecv, a C receiver "
      "on loopback that checks every signature, or to aiosmtpd; the "
      "sender's CPU is wait4's, the receiver's /proc's. (b) Turns at "
      "10/s, two per conversation, whose first makes a lead ready, under "
      "lighttpd while the webhook's receiver answers only after 5 s, "
      "against the same service with no target configured; the dead "
      "input time is measure 1's.")
    a("")
    a("| figure | value | receiver; checks |")
    a("|---|---|---|")
    for key, label in (
            ("hook", "webhooks delivered per second by one sender, rows due "
             "one after another (as merges queue them)"),
            ("hook_same", "… every row due at the same instant (as `--sweep "
             "--retry-failed` makes them)"),
            ("mail", "e-mails delivered per second by one sender, to "
             "Debian's aiosmtpd (tests/smtp_server.py)")):
        x = X.get(key)
        if not x:
            continue
        a("| %s | **%.0f/s**, %.2f ms of sender CPU each, the sender on "
          "CPU %.0f %% of the time (%d in %.2f s, %d sweeps) | %.2f ms CPU "
          "each, %.0f %% of one core; %d of %d received, %d distinct ids, "
          "%d bad signatures, %d recorded sent |" % (
              label, x["per_s"], x["cpu_ms"],
              100 * x["cpu_ms"] * x["tried"] / 1000 / max(x["wall_s"], 1e-9),
              x["tried"], x["wall_s"], len(x["runs"]), x["recv_cpu_ms"],
              100 * x["recv_busy"], x["received"], x["due"], x["ids"],
              x["bad_sig"], x["sent"]))
    S = X.get("slow", {})
    if "none" in S and "slow" in S:
        n, s = S["none"], S["slow"]
        for key, label in (("dead_us", "dead input time (`done` → end of "
                            "response)"),
                           ("dead_eof_us", "`done` → connection closed")):
            a("| %s, no target / webhook taking 5 s (p50 / p99 / max, ms) | "
              "%s / %s / %s vs **%s / %s / %s** | |" % (
                  label, ms(n["load"][key].get("p50")),
                  ms(n["load"][key].get("p99")),
                  ms(n["load"][key].get("max")),
                  ms(s["load"][key].get("p50")),
                  ms(s["load"][key].get("p99")),
                  ms(s["load"][key].get("max"))))
        a("| the conversation's next message: send → first delta, no target "
          "/ webhook taking 5 s (p50 / p99 / max, ms) | %s / %s / %s vs "
          "**%s / %s / %s** | |" % (
              ms(n["second_ttfd"]["p50"]), ms(n["second_ttfd"]["p99"]),
              ms(n["second_ttfd"]["max"]), ms(s["second_ttfd"]["p50"]),
              ms(s["second_ttfd"]["p99"]), ms(s["second_ttfd"]["max"])))
        errs = sum(n["load"]["errors"].values()) + \
            sum(s["load"]["errors"].values())
        a("| lead.ready webhook: end of the response → arrival (min / p50 "
          "/ max, ms) | %s / %s / %s | %d of %d ready leads' lead.ready "
          "received, none before its response ended (%d); %d webhooks in "
          "all (%d distinct ids, %d bad signatures); rows %s; %d "
          "extractors still waiting on the receiver when the turns ended; "
          "%d HTTP errors |" % (
              ms(s.get("after_min")),
              ms(s["after_end"]["p50"]), ms(s["after_end"]["max"]),
              s["ready_received"], s["ready"], s["before_end"],
              s["received"], s["ids"], s["bad_sig"], ", ".join(
                  "%s: %d (%d tries)" % (k, v[0], v[1])
                  for k, v in sorted(s["rows"].items())), s["alive"],
              errs))
        ok = (errs == 0 and s["before_end"] == 0 and
              s["ready_received"] == s["ready"] and
              s["load"]["dead_us"].get("p99") is not None and
              s["load"]["dead_us"]["p99"] < 5000)
        a("")
        a("The slow receiver costs the visitor nothing (dead input time p99 "
          "under measure 1's 5 ms, no errors, every lead delivered after its "
          "response ended): %s." % yes(ok))
    a("")


# --------------------------------------------------------------------------
# the issue's figures, SQLite beside PostgreSQL

def worst(rounds, n, key):
    """The round of n streams with the largest key (the worse of the
    repeated rounds), or None."""
    rs = [rd for rd in rounds if rd["n"] == n and key(rd) is not None]
    return max(rs, key=key) if rs else None


def hl_figures(T, S, C):
    """The issue's figures of one engine, from its throughput run (T),
    its measure 4 (S) and its measure 9 (C): {row key: (value text,
    met or None, ratio text)}."""
    out = {}
    if T:
        sh = T.get("share", {})
        out["tput"] = (
            "**%.0f/s** (%d lost, %d errors; of the two cores: service "
            "%.0f %%, mock %.0f %%, load client %.0f %%)" % (
                T["turns_s"], T["lost"],
                sum(T["errors"].values()) if "errors" in T else
                sum(T["load"]["errors"].values()),
                100 * sh.get("service", 0), 100 * sh.get("mock", 0),
                100 * sh.get("client", 0)),
            T["turns_s"] >= 1000 and T["lost"] == 0,
            times(T["turns_s"] / NEXT["turns_s"]))
        cpu = T["cpu_ms_turn"] + T.get("pg_ms_turn", 0.0)
        out["cpu"] = ("**%.2f ms**%s (mock %.2f, load client %.2f)" % (
            cpu, " (PostgreSQL's %.2f of it)" % T["pg_ms_turn"] if
            "pg_ms_turn" in T else "", sh.get("mock_ms_turn", 0),
            sh.get("client_ms_turn", 0)), cpu <= 1.05,
            times(NEXT["cpu_ms"] / max(cpu, 1e-9)))
    if S and "idle" in S:
        i = S["idle"]
        out["idle"] = ("**%.1f MB** RSS (PSS %.1f)" % (
            i["rss_kb"] / 1024, i["pss_kb"] / 1024),
            i["rss_kb"] / 1024 <= 13,
            times(NEXT["idle_mb"] * 1024 / max(i["rss_kb"], 1)))
        for n in (200, 500):
            rd = worst(S.get("rounds", []), n,
                       lambda r: r["mem"].get("per_rss"))
            if rd:
                m = rd["mem"]
                out["mem%d" % n] = (
                    "**%.0f KB** RSS (PSS %.0f); peak %.1f MB RSS, %d "
                    "extractors at most" % (
                        m["per_rss"], m["per_pss"], m["peak_rss"] / 1024,
                        m["peak_ext_procs"]), m["per_rss"] <= 100,
                    times(1024 * NEXT["stream_mb"] /
                               max(m["per_rss"], 1e-9)))
                out["noext%d" % n] = (
                    "%.0f KB RSS (PSS %.0f)" % (m["per_rss_noext"],
                                                m["per_pss_noext"]),
                    None, "")
            rd = worst(S.get("rounds", []), n,
                       lambda r: r.get("gap_added_p99"))
            if rd:
                errs = sum(rd["load"]["errors"].values())
                out["gap%d" % n] = (
                    "**%s ms**, %d errors" % (ms(rd["gap_added_p99"], 1),
                                              errs),
                    rd["gap_added_p99"] <= 7000 and errs == 0,
                    times(NEXT["gap_ms"] * 1000 /
                               max(rd["gap_added_p99"], 1)))
        aft = S.get("after")
        if aft:
            out["after"] = ("**%.1f MB = %.2f× idle** (PSS %.1f MB)" % (
                aft["rss_kb"] / 1024, aft["rss_kb"] / max(i["rss_kb"], 1),
                aft["pss_kb"] / 1024), aft["rss_kb"] <= 1.5 * i["rss_kb"],
                "")
    if C and "visitors" in C:
        v, m = C["visitors"], C["mem"]
        vu = v["visit_us"]
        out["visit"] = (
            "**%s ms** (the turn alone %s; %d visitors)" % (
                ms(vu.get("p99"), 1), ms(v["ttfd_us"].get("p99"), 1),
                v["ok"]), vu.get("p99") is not None and vu["p99"] < 100000,
            "")
        out["crowd_err"] = ("**%d** (%s)" % (C["errors_n"], crowd_errors(C)),
                            C["errors_n"] == 0, "")
        if "per_rss" in m:
            out["crowd_mem"] = (
                "**%.0f KB** RSS (PSS %.0f) over %d connections" % (
                    m["per_rss"], m["per_pss"], C["connected"]),
                m["per_rss"] <= 100,
                times(1024 * NEXT["stream_mb"] /
                           max(m["per_rss"], 1e-9)))
            out["crowd_peak"] = ("%.1f MB RSS (PSS %.1f)" % (
                m["peak_rss"] / 1024, m["peak_pss"] / 1024), None, "")
    return out


def times(r):
    """A ratio to the ordinary stack: 0.4×, 3.1×, 12×."""
    return ("%.0f×" if r >= 10 else "%.1f×") % r


def crowd_errors(C):
    m, v = C["main"], C["visitors"]
    parts = []
    for what, e in (("turns", m["errors"]), ("followers", {
            k: x for k, x in m["follow"]["errors"].items()
            if k != "no_start"}), ("visitors", v["errors"])):
        e = {k: x for k, x in e.items() if x}
        parts.append("%s %s" % (what, ", ".join(
            "%d %s" % (x, k) for k, x in sorted(e.items())) or "0"))
    return "; ".join(parts)


HEADLINE = (
    ("tput", "turns/s at concurrency 16, zero-delay mock, counted until "
     "every extraction landed", "≥ 1,000/s", "~100/s"),
    ("cpu", "CPU per turn at concurrency 16, extraction on, every process "
     "of the service (lighttpd, intake.fcgi, the extractors; on "
     "PostgreSQL its server too)", "≤ 1.05 ms", "10.5 ms"),
    ("idle", "memory at idle, every process, RSS summed", "≤ 13 MB",
     "130 MB"),
    ("mem200", "memory per concurrent stream over idle, 200 streams, every "
     "process at the same instants (extractors included), RSS summed",
     "≤ 100 KB", "~1 MB (extraction included)"),
    ("noext200", "… the same without the extractors' processes", "", ""),
    ("mem500", "memory per concurrent stream over idle, 500 streams (the "
     "worse round), every process, RSS summed", "≤ 100 KB", "~1 MB"),
    ("noext500", "… the same without the extractors' processes", "", ""),
    ("after", "RSS of every process %.0f s after the last stream ended" %
     AFTER_S, "≤ 1.5× idle", "–"),
    ("gap200", "p99 inter-delta gap added, 200 streams", "≤ 7 ms, 0 errors",
     "70–77 ms"),
    ("gap500", "p99 inter-delta gap added, 500 streams (the worse round)",
     "≤ 7 ms, 0 errors", "–"),
    ("visit", "2,000 concurrent (1,000 streams + 1,000 followers, one "
     "intake.fcgi): a new visitor every 100 ms, POST conversation → first "
     "delta, p99", "< 100 ms", "–"),
    ("crowd_err", "… errors (the crowd's turns, its followers, the "
     "visitors)", "0", "–"),
    ("crowd_mem", "… memory per connection over idle, every process, RSS "
     "summed", "≤ 100 KB", "~1 MB"),
    ("crowd_peak", "… peak memory, every process", "", ""),
)


def report_headline(a):
    """The issue's figures in one table, SQLite beside PostgreSQL."""
    P = R.get("pg", {})
    lite = hl_figures(R.get("tput", {}).get(("intake", 16)),
                      R.get("streams"), R.get("crowd"))
    pg = hl_figures(P.get("tput", {}).get("pg1"), P.get("streams"),
                    P.get("crowd"))
    if not lite and not pg:
        return
    a("## Ten times the ordinary stack (issue 15)")
    a("")
    a("The ordinary stack: a Next.js route + AI SDK + `after()` + SQLite "
      "through libsql, one Node process, measured on this kind of two-core "
      "machine against the same kind of mock and client (the issue's "
      "figures). Ratio: ordinary ÷ ours where lower is better, ours ÷ "
      "ordinary for turns/s; the target is 10×. Memory is summed over "
      "every process of the service sampled at the same instants (the "
      "largest sum, never each process's own peak); the target is judged "
      "on summed RSS, the stricter; PSS (/proc/PID/smaps_rollup) is beside "
      "it because it is the fairer sum: RSS counts a page shared by "
      "several processes (libc, libsqlite3, libcurl and the program's own "
      "text in every extractor; on PostgreSQL the shared buffers in every "
      "backend) once per process that maps it, where PSS divides it "
      "among them, so that their PSS adds up to each page counted once. "
      "On PostgreSQL the server's processes (postmaster, backends, its "
      "own workers; the bench's probes left out) are counted as the "
      "service's, for CPU and for memory.")
    a("")
    a("| figure | target | ordinary stack | SQLite | met? | ratio | "
      "PostgreSQL | met? | ratio |")
    a("|---|---|---|---|---|---|---|---|---|")

    def cell(f, key):
        if key not in f:
            return "– | | "
        v, met, ratio = f[key]
        return "%s | %s | %s" % (v, "" if met is None else yes(met), ratio)

    for key, fig, target, ordinary in HEADLINE:
        if key not in lite and key not in pg:
            continue
        a("| %s | %s | %s | %s | %s |" % (fig, target, ordinary,
                                          cell(lite, key), cell(pg, key)))
    a("")


def report_crowd(a, C, label):
    """Measure 9's details for one engine."""
    if not C or "visitors" not in C:
        return
    m, v, mm = C["main"], C["visitors"], C["mem"]
    cp = C.get("cpu", {})
    aft = C.get("after") or {"after_s": 0, "rss_kb": 0, "pss_kb": 0}
    a("- **%s:** the %d turns and %d followers were all in %s s after the "
      "first request; streams at the mock while the visitors came: %s to "
      "%s. Visitors: %d of %d ok; POST /api/conversations → first delta "
      "p50 / p99 / max %s / %s / %s ms; the turn alone (POST .../messages "
      "→ first delta) %s / %s / %s ms; a visitor started late against its "
      "schedule by %s ms at p99 (the client's own lag). Followers: first "
      "delta p50 / p99 %s / %s ms after their GET, %.0f deltas each. The "
      "crowd's own gap between deltas p50 / p99 / max %s / %s / %s ms "
      "(the mock sends one every 50 ms). Errors: %s. Peak, every process "
      "at one instant: %.1f MB RSS (PSS %.1f): %s; %d threads, %d "
      "descriptors, %d extractors at most; per connection over idle %.0f "
      "KB RSS (PSS %.0f), without the extractors %.0f (PSS %.0f); during "
      "the visitors' window alone %.0f KB RSS. CPU while the visitors "
      "came, of the two cores: service %.0f %%, mock %.0f %%, the load "
      "clients %.0f %%. %.0f s after the crowd ended: %.1f MB RSS (PSS "
      "%.1f; idle %.1f / %.1f)." % (
          label, C["n"], C["n"], "%.1f" % C["ready_s"] if C.get("ready_s")
          else "(never)", C.get("active_min"), C.get("active_max"),
          v["ok"], C["window_s"] * C["rate"],
          ms(v["visit_us"].get("p50"), 1), ms(v["visit_us"].get("p99"), 1),
          ms(v["visit_us"].get("max"), 1), ms(v["ttfd_us"].get("p50"), 1),
          ms(v["ttfd_us"].get("p99"), 1), ms(v["ttfd_us"].get("max"), 1),
          ms(v["late_us"].get("p99"), 1),
          ms(m["follow"]["first_us"].get("p50"), 1),
          ms(m["follow"]["first_us"].get("p99"), 1),
          m["follow"]["deltas_per"], ms(m["gap_us"].get("p50"), 1),
          ms(m["gap_us"].get("p99"), 1), ms(m["gap_us"].get("max"), 1),
          crowd_errors(C) + ("; %d followers had no turn to follow" %
                             m["follow"]["errors"].get("no_start", 0)
                             if m["follow"]["errors"].get("no_start")
                             else "") +
          ("; last: %s / %s" % (m.get("last_error") or "–",
                                v.get("last_error") or "–")
           if C["errors_n"] else ""),
          mm.get("peak_rss", 0) / 1024, mm.get("peak_pss", 0) / 1024,
          ", ".join("%s %.1f" % (k, x / 1024) for k, x in sorted(
              mm.get("at_peak", {}).get("rss_by", {}).items(),
              key=lambda kv: -kv[1])),
          mm.get("peak_threads", 0), mm.get("peak_fds", 0),
          mm.get("peak_ext_procs", 0), mm.get("per_rss", 0),
          mm.get("per_pss", 0), mm.get("per_rss_noext", 0),
          mm.get("per_pss_noext", 0),
          C.get("mem_window", {}).get("per_rss", 0),
          100 * cp.get("service", 0), 100 * cp.get("mock", 0),
          100 * cp.get("client", 0), aft["after_s"],
          aft["rss_kb"] / 1024, aft["pss_kb"] / 1024,
          C["idle"]["rss_kb"] / 1024, C["idle"]["pss_kb"] / 1024))


def report_crowds(a):
    lite, pg = R.get("crowd"), R.get("pg", {}).get("crowd")
    if not (lite and "visitors" in lite) and not (pg and "visitors" in pg):
        return
    a("## 2,000 streams and followers in one process (measure 9)")
    a("")
    ramp = (lite or pg).get("ramp_s", 0)
    a("One lighttpd (server.max-fds 16384, max-connections 8192) and one "
      "intake.fcgi (INTAKE_THREADS %d: its cap on workers). bench/load "
      "makes %d conversations, then starts their turns over %.0f s, the "
      "mock streaming each reply at 20 tokens a second for long enough, "
      "and one follower per turn "
      "(GET /api/conversations/{id}/events with the conversation's token, "
      "once the turn's first delta is in). Once every turn and follower "
      "has its first delta, a second client brings a new visitor every "
      "%d ms (open loop, %d threads): POST /api/conversations, then a "
      "turn whose reply is %d tokens. Memory: every process of the "
      "service (lighttpd, intake.fcgi, the extractors the visitors' and "
      "then the crowd's turns start; on PostgreSQL the server) summed at "
      "each sample, every 0.5 s, the largest sum; per connection is that "
      "peak less idle, over the turns and followers that ran to their "
      "end." % (2 * CROWD_N + 300, CROWD_N, ramp, 1000 // CROWD_RATE,
                CROWD_CLIENTS, VISIT_TOKENS))
    a("")
    report_crowd(a, lite, "SQLite")
    report_crowd(a, pg, "PostgreSQL")
    a("")


def report(mach, elapsed):
    L = []
    a = L.append
    a("# intake: benchmarks")
    a("")
    a("Generated by `make bench` (bench/run.py); do not edit by hand — the "
      "notes at the end come from bench/notes.md.")
    a("")
    a("- **Machine:** %d cores (`nproc`), %s, Linux %s" % (
        mach["nproc"], mach["cpu"], mach["kernel"]))
    a("- **Date:** %s; load average at start %.2f %.2f %.2f; the suite "
      "took %.0f s" % ((mach["date"],) + tuple(mach["load"]) + (elapsed,)))
    a("- **Build:** `-O2 -g -DNDEBUG` (%s); lighttpd %s, Apache %s, SQLite "
      "%s; everything on 127.0.0.1; open descriptors %d" % (
          os.path.relpath(BUILD, TOP), mach["lighttpd"], mach["apache"],
          mach["sqlite"], mach.get("nofile", 0)))
    if "mock" in R:
        a("- **Mock provider ceiling** (bench/mockllm, one thread, read "
          "directly by bench/load on the same two cores): %.0f streams/s at "
          "concurrency 16, %.0f at 64 (20 tokens each) — far above anything "
          "below, so it is not the bottleneck." % (R["mock"][16],
                                                    R["mock"][64]))
    if QUICK:
        a("- **BENCH_QUICK=1:** shortened runs; figures less stable.")
    a("")
    report_headline(a)
    a("## Every measure")
    a("")
    a("Times are p50 / p99 / max in milliseconds unless said otherwise. "
      "\"vs Next.js\" is how many times better than the Next.js + AI SDK + "
      "`after()` + libsql turn measured on the same kind of machine "
      "(100 turns/s, 10.5 ms CPU/turn, 130 MB idle, ~1 MB per stream, "
      "70–77 ms added to the p99 gap at 200 streams); the issue's target "
      "is 10× on each.")
    a("")
    a("| # | figure | p50 | p99 | max | target | met? | vs Next.js |")
    a("|---|---|---|---|---|---|---|---|")
    table_at = len(L)

    if "dead" in R:
        for kind, label in (("intake", "lighttpd"), ("fcgid",
                            "Apache mod_fcgid"), ("cgi", "Apache plain CGI")):
            x = R["dead"].get(kind)
            if x is None:
                continue
            if "error" in x:
                a("| 1 | dead input time, %s | – | – | – | p99 < 5 ms | "
                  "failed: %s | |" % (label, x["error"][:80]))
                continue
            d = x["load"]["dead_us"]
            errs = sum(x["load"]["errors"].values())
            a("| 1 | dead input time (`done` → end of response), %s; "
              "extraction 3 s, %d extractors still running at the end; "
              "%d errors | %s | %s | %s | p99 < 5 ms | %s | |" % (
                  label, x["extractors_alive"], errs, ms(d["p50"]),
                  ms(d["p99"]), ms(d["max"]),
                  yes(d["p99"] is not None and d["p99"] < 5000 and
                      errs == 0)))
    if "relay" in R and "first_added" in R["relay"]:
        x = R["relay"]
        a("| 2 | relay: mock's first byte → client's first `delta`, through "
          "lighttpd + intake | %s | %s | %s | | | |" % (
              ms(x["first_service"]["p50"]), ms(x["first_service"]["p99"]),
              ms(x["first_service"]["max"])))
        a("| 2 | … the same mock read directly (the mock stamps a token "
          "after send() returns, so this can come out a few µs below 0) | "
          "%s | %s | %s | | | |" % (
            ms(x["first_direct"]["p50"]), ms(x["first_direct"]["p99"]),
            ms(x["first_direct"]["max"])))
        a("| 2 | **relay cost added, first delta** | %s | %s | | < 1 ms at "
          "p50 | %s | |" % (ms(x["first_added"]["p50"]),
                            ms(x["first_added"]["p99"]),
                            yes(x["first_added"]["p50"] < 1000)))
        a("| 2 | per-delta relay delay (token written → delta received), "
          "through the service | %s | %s | %s | | | |" % (
              ms(x["per_service"]["p50"]), ms(x["per_service"]["p99"]),
              ms(x["per_service"]["max"])))
        a("| 2 | … directly | %s | %s | %s | | | |" % (
            ms(x["per_direct"]["p50"]), ms(x["per_direct"]["p99"]),
            ms(x["per_direct"]["max"])))
        a("| 2 | **relay cost added, per delta** | %s | %s | | < 1 ms at "
          "p50 | %s | |" % (ms(x["per_added"]["p50"]),
                            ms(x["per_added"]["p99"]),
                            yes(x["per_added"]["p50"] < 1000)))
    if "tput" in R:
        for conc in (16, 64):
            i, f = R["tput"].get(("intake", conc)), R["tput"].get(("floor",
                                                                    conc))
            f0 = R["tput"].get(("relay floor", conc))
            if not i or not f:
                continue
            ratio = i["turns_s"] / f["turns_s"] if f["turns_s"] else 0
            a("| 3 | turns/s at concurrency %d, counted until every "
              "extraction landed (intake %.0f/s, %d lost; floor %.0f/s, %d "
              "lost; over HTTP alone %.0f vs %.0f; errors %d; of the two "
              "cores: service %.0f %%, mock %.0f %%, load client %.0f %%) "
              "| ratio **%.2f** of the floor | | | ≥ 0.7 of the floor; ≥ "
              "1,000/s (10×) | %s / %s | %.1f× |" % (
                  conc, i["turns_s"], i["lost"], f["turns_s"], f["lost"],
                  i["load"]["turns_per_s"], f["load"]["turns_per_s"],
                  sum(i["load"]["errors"].values()),
                  100 * i["share"]["service"], 100 * i["share"]["mock"],
                  100 * i["share"]["client"], ratio,
                  yes(ratio >= 0.7 and i["lost"] == 0),
                  yes(i["turns_s"] >= 1000),
                  i["turns_s"] / NEXT["turns_s"]))
            a("| 3 | CPU per turn at concurrency %d (every process of the "
              "service, extractor included; floor %.2f ms) | %.2f ms | | | "
              "≤ 1.05 ms (10×) | %s | %.1f× |" % (
                  conc, f["cpu_ms_turn"], i["cpu_ms_turn"],
                  yes(i["cpu_ms_turn"] <= 1.05),
                  NEXT["cpu_ms"] / max(i["cpu_ms_turn"], 1e-9)))
            if f0:
                a("| 3 | … the relay floor (the floor without its child) at "
                  "concurrency %d: %.0f turns/s, %.2f ms CPU/turn; intake "
                  "is **%.2f** of it | | | | | | |" % (
                      conc, f0["turns_s"], f0["cpu_ms_turn"],
                      i["turns_s"] / max(f0["turns_s"], 1e-9)))
            fs = R["tput"].get(("floor, posix_spawn", conc))
            if fs:
                a("| 3 | … the floor with its first fork a posix_spawn: "
                  "%.0f turns/s, %.2f ms CPU/turn (fork(): %.0f, %.2f ms) | "
                  "| | | | | |" % (fs["turns_s"], fs["cpu_ms_turn"],
                                   f["turns_s"], f["cpu_ms_turn"]))
            i_ttfd = i["load"]["ttfd_us"]
            a("| 3 | time to first delta at concurrency %d (floor %s / %s) "
              "| %s | %s | %s | | | |" % (
                  conc, ms(f["load"]["ttfd_us"].get("p50")),
                  ms(f["load"]["ttfd_us"].get("p99")),
                  ms(i_ttfd.get("p50")), ms(i_ttfd.get("p99")),
                  ms(i_ttfd.get("max"))))
    if "streams" in R and R["streams"].get("rounds"):
        S = R["streams"]
        idle = S["idle"]
        idle_mb = idle["rss_kb"] / 1024
        a("| 4 | service memory at idle, every process (%s), RSS summed "
          "(PSS summed: %.1f MB) | %.1f MB | | | ≤ 13 MB (10×) | %s | "
          "%.1f× |" % (
              ", ".join("%s %d" % kv for kv in sorted(
                  idle["procs"].items())), idle["pss_kb"] / 1024, idle_mb,
              yes(idle_mb <= 13), NEXT["idle_mb"] / idle_mb))
        for rd in S["rounds"]:
            errs = sum(rd["load"]["errors"].values())
            m = rd["mem"]
            if "per_rss" in m:
                a("| 4 | %d streams at 20 tokens/s, %d at once: every "
                  "process at the same instants (lighttpd, intake.fcgi, "
                  "up to %d extractors), peak %.1f MB RSS (PSS %.1f); "
                  "**%.0f KB per stream** over idle, RSS (PSS %.0f KB); "
                  "without the extractors %.0f KB (PSS %.0f) | | | | ≤ "
                  "100 KB (10×) | %s | %.1f× |" % (
                      rd["n"], rd["peak_active"], m["peak_ext_procs"],
                      m["peak_rss"] / 1024, m["peak_pss"] / 1024,
                      m["per_rss"], m["per_pss"], m["per_rss_noext"],
                      m["per_pss_noext"], yes(m["per_rss"] <= 100),
                      1024 * NEXT["stream_mb"] / max(m["per_rss"], 1e-9)))
            if "gap_added_p99" in rd:
                a("| 4 | %d streams: gap between deltas at the client "
                  "(provider's own gaps %s / %s / %s); %d errors; "
                  "**p99 added %s ms** | %s | %s | %s | p99 added ≤ 7 ms "
                  "(10×), 0 errors | %s | %.0f× |" % (
                      rd["n"], ms(rd["gap_mock"]["p50"], 1),
                      ms(rd["gap_mock"]["p99"], 1),
                      ms(rd["gap_mock"]["max"], 1), errs,
                      ms(rd["gap_added_p99"], 1),
                      ms(rd["gap_client"]["p50"], 1),
                      ms(rd["gap_client"]["p99"], 1),
                      ms(rd["gap_client"]["max"], 1),
                      yes(rd["gap_added_p99"] <= 7000 and errs == 0),
                      NEXT["gap_ms"] * 1000 / max(rd["gap_added_p99"], 1)))
        if len(S["rounds"]) > 1:
            a("| 4 | after each round (%s streams): RSS %s MB, fds %s, "
              "processes %s, zombies %s — a plateau, not a leak, if the "
              "repeated round adds nothing | | | | no growth round to round "
              "| %s | |" % (
                  " / ".join(str(rd["n"]) for rd in S["rounds"]),
                  " / ".join("%.1f" % (rd["after"]["rss_kb"] / 1024)
                             for rd in S["rounds"]),
                  " / ".join(str(rd["after"]["fds"]) for rd in S["rounds"]),
                  " / ".join(str(sum(rd["after"]["procs"].values()))
                             for rd in S["rounds"]),
                  " / ".join(str(rd["after"]["zombies"])
                             for rd in S["rounds"]),
                  yes(S["rounds"][-1]["after"]["rss_kb"] <=
                      1.05 * S["rounds"][-2]["after"]["rss_kb"] and
                      S["rounds"][-1]["after"]["fds"] <=
                      S["rounds"][-2]["after"]["fds"])))
        aft = S.get("after")
        if aft:
            # Four spare SQLite handles stay open (2 descriptors each).
            back = (aft["procs"] == idle["procs"] and aft["fds"] <=
                    idle["fds"] + 8 and aft["zombies"] == 0)
            a("| 4 | %.0f s after the last stream ended: processes %s (idle "
              "%s), fds %d (idle %d), zombies %d | | | | back to idle, no "
              "zombies | %s | |" % (
                  aft["after_s"], aft["procs"], idle["procs"], aft["fds"],
                  idle["fds"], aft["zombies"], yes(back)))
            a("| 4 | … RSS of every process then: **%.1f MB = %.2f× idle** "
              "(PSS %.1f MB = %.2f× idle) | | | | RSS ≤ 1.5× idle | %s | |"
              % (aft["rss_kb"] / 1024, aft["rss_kb"] / idle["rss_kb"],
                 aft["pss_kb"] / 1024, aft["pss_kb"] / max(idle["pss_kb"],
                                                           1),
                 yes(aft["rss_kb"] <= 1.5 * idle["rss_kb"])))
    if "merge" in R:
        for leads in (1, 32):
            x = R["merge"].get((leads, False))
            y = R["merge"].get((leads, True))
            if not x:
                continue
            a("| 5 | merge: 32 concurrent extractors × %d merges on %d "
              "lead(s); transaction time (lead_merge: BEGIN IMMEDIATE → "
              "COMMIT, busy waits included), %d merges/s; %d lost, %d wrong "
              "fields | %s | %s | %s | 0 lost | %s | |" % (
                  x["merges"], leads, x["per_s"], x["lost"],
                  x["wrong_fields"], ms(x["tx_us"]["p50"]),
                  ms(x["tx_us"]["p99"]), ms(x["tx_us"]["max"]),
                  yes(x["lost"] == 0 and x["wrong_fields"] == 0 and
                      x["failed"] == 0)))
            if y:
                a("| 5 | … experiment, same run: writers queued on a "
                  "flock(2) instead of SQLite's polling busy handler, %d "
                  "merges/s; %d lost | %s | %s | %s | | | |" % (
                      y["per_s"], y["lost"], ms(y["tx_us"]["p50"]),
                      ms(y["tx_us"]["p99"]), ms(y["tx_us"]["max"])))
    if "wamp" in R and len(R["wamp"]) == 2:
        a2, a20 = R["wamp"][2000], R["wamp"][20000]
        slope = (a20["written"] - a2["written"]) / 18000.0
        a("| 6 | write amplification: bytes written to the database (WAL "
          "+ checkpoint) per reply byte, 2,000-char reply | %.1f | | | "
          "linear | | |" % a2["per_byte"])
        a("| 6 | … 20,000-char reply (marginal: %.1f bytes per added reply "
          "byte) | %.1f | | | grows ≤ linearly: ratio ≤ 1.2 | %s (ratio "
          "%.2f) | |" % (slope, a20["per_byte"],
                         yes(a20["per_byte"] <= 1.2 * a2["per_byte"]),
                         a20["per_byte"] / a2["per_byte"]))
    if "backlog" in R:
        x = R["backlog"]
        a("| 7 | backlog: %d turns in %.1f s, model extractions 1 s: peak "
          "extractor processes %d (cap %d, %d samples of %d over it) | | | "
          "| never above the cap | %s | |" % (
              x["load"]["ok"], x["burst_s"], x["mon"]["peak"], x["cap"],
              x["mon"]["over_cap"], x["mon"]["samples"],
              yes(x["mon"]["over_cap"] == 0)))
        a("| 7 | … time until every extraction has landed (the cap's own "
          "bound: %d jobs × 1 s / %d = %.1f s) | %.1f s | | | report | %s | "
          "|" % (x["n"], x["cap"], x["floor_s"], x["landed_s"],
                 "all landed" if x["all_landed"] else "**not all landed: "
                 "%s**" % x["jobs"]))
    if len(L) == table_at:          # no row: no table
        del L[table_at - 6:]
    a("")
    report_crowds(a)
    if "notify" in R:
        report_notify(a, R["notify"])
    if "pg" in R:
        report_pg(a, R["pg"])

    # details
    if "tput" in R:
        a("## Where the CPU of a turn goes (measure 3)")
        a("")
        a("CPU milliseconds per completed turn, by process, from "
          "/proc/PID/stat (live processes, with the children they reaped) "
          "and wait4's rusage for the adopted ones (extractors, the floor's "
          "children).")
        a("")
        a("| run | turns/s (landed) | CPU/turn | processes spawned per "
          "turn | by process |")
        a("|---|---|---|---|---|")
        for (kind, conc), x in sorted(R["tput"].items(),
                                      key=lambda kv: (kv[0][1], kv[0][0])):
            a("| %s c=%d | %.0f | %.2f ms | %.2f | %s |" % (
                kind, conc, x["turns_s"], x["cpu_ms_turn"],
                x["spawned_per_turn"], ", ".join(
                    "%s %.2f" % (k, 1000 * v / max(x["turns"], 1))
                    for k, v in sorted(x["cpu"].items(),
                                       key=lambda kv: -kv[1]))))
        a("")
    if "perf" in R:
        a("## perf, system-wide, intake at concurrency 16 (3.5 s)")
        a("")
        a("```")
        L.extend(R["perf"]["comm"][:15])
        a("")
        L.extend(R["perf"]["sym"][:40])
        a("```")
        a("")
    if "expect" in R:
        a("`Expect: 100-continue` headers the mock answered so far in this "
          "run: %d of %d model requests (each would be one round trip to the "
          "provider before the request's body goes out)." % (
              R["expect"]["answered"], R["expect"]["requests"]))
        a("")
    if NOTES_RUN:
        a("## This run")
        a("")
        for n in NOTES_RUN:
            a("- " + n)
        a("")
    try:
        with open(NOTES) as f:
            a(f.read().rstrip())
            a("")
    except OSError:
        pass
    return "\n".join(L) + "\n"


def main():
    for p in ("mockllm", "load", "floor", "merge", "procmon", "hookrecv"):
        if not os.access(os.path.join(BIN, p), os.X_OK):
            sys.exit("run.py: %s/%s is missing: run make bench" % (BIN, p))
    mach = machine()
    mach["nofile"] = raise_nofile()
    reaper = Reaper()
    if not reaper.ok:
        NOTES_RUN.append("could not become a child subreaper: extractor CPU "
                         "is not counted and zombies are PID 1's to reap")
    mock = None

    def on_signal(sig, frame):
        raise KeyboardInterrupt("signal %d" % sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(TIMEOUT) + 20)
    try:
        mock = Mock(reaper)
        log("mock provider on port %d" % mock.port)
        steps = [(0, m0_mock, (reaper, mock)), (1, m1_dead, (reaper, mock)),
                 (2, m2_relay, (reaper, mock)), (5, m5_merge, (reaper,)),
                 (6, m6_write_amp, (reaper, mock)),
                 (8, m8_notify, (reaper, mock)),
                 (3, m3_throughput, (reaper, mock)),
                 (4, m4_streams, (reaper, mock)),
                 ("crowd", m9_crowd, (reaper, mock)),
                 (7, m7_backlog, (reaper, mock)),
                 ("pg", m_pg, (reaper, mock))]
        for n, fn, args in steps:
            if not want(n):
                continue
            if left() < 30:
                NOTES_RUN.append("measure %s skipped: out of time" % n)
                continue
            try:
                fn(*args)
            except KeyboardInterrupt as e:
                NOTES_RUN.append("stopped during measure %s (%s)" % (n, e))
                log("stopped: %s" % e)
                break
            except Exception as e:
                NOTES_RUN.append("measure %s failed: %s" % (n, e))
                log("measure %s failed: %s" % (n, e))
    finally:
        signal.alarm(0)
        if mock is not None:
            mock.stop()
        reaper.stop = True
    text = report(mach, time.monotonic() - T0)
    with open(RESULTS, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    log("wrote %s" % os.path.relpath(RESULTS, TOP))


if __name__ == "__main__":
    main()
