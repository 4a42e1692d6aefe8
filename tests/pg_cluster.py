#!/usr/bin/env python3
"""pg_cluster.py: a throwaway PostgreSQL cluster for the tests.

Standard library only.  start() runs `initdb` in a new temporary folder
(Debian's postgresql package, /usr/lib/postgresql/N/bin), then the
server with no TCP at all (listen_addresses = ''), its Unix socket in
that folder, fsync off, and room for the suites' connections.  As root
the cluster runs as Debian's `postgres` account (PostgreSQL refuses
root); the folder and socket stay reachable by any user, so FastCGI
processes running as www-data connect too.  Authentication is trust on
the local socket: the role `intake` logs in and owns each database.

    c = pg_cluster.start()
    c.create_db("t1")           # CREATE DATABASE ... TEMPLATE template0
    c.uri("t1")                 # postgresql:///t1?host=/tmp/...&user=intake
    c.psql("t1", "SELECT 1")    # psql's unaligned output
    c.restart()                 # pg_ctl restart -m fast
    c.stop()                    # stop and remove the folder

Nothing outlives the process that started the cluster: a watchdog (this
file run with --watch) holds the read end of a pipe whose write end only
that process has; when it closes (a normal exit, an exception, SIGKILL)
the watchdog stops PostgreSQL immediately and removes the folder.  Each
cluster has its own folder, so a stale one never blocks the next.

As a script:

    pg_cluster.py --run [--env NAME] CMD...   a cluster and a fresh
        database for CMD, whose URI is in $NAME (default INTAKE_TEST_DB);
        exits with CMD's status, the cluster gone
    pg_cluster.py --serve [DBNAME]            prints the URI of a fresh
        database, keeps the cluster until stdin closes or a signal
    pg_cluster.py --check                     start, create, psql,
        restart, drop, stop: a self-test
    pg_cluster.py --available                 exits 0 when a cluster can
        be started here (the package, and the postgres account as root)
"""

import atexit
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROLE = "intake"
SUPERUSER = "postgres"
PORT = 5432                 # only names the socket file: no TCP
MAX_CONNECTIONS = 300
START_TIMEOUT = 60          # seconds for pg_ctl -w (a loaded machine)
PREFIX = "intake-pg-"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ClusterError(Exception):
    pass


def bindir():
    """The newest /usr/lib/postgresql/N/bin with initdb, or ClusterError."""
    cands = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        v = os.path.basename(os.path.dirname(d))
        if os.path.isfile(os.path.join(d, "initdb")) and v.isdigit():
            cands.append((int(v), d))
    if not cands:
        raise ClusterError("no /usr/lib/postgresql/N/bin/initdb: install "
                           "Debian's postgresql (scripts/deps.sh test)")
    return max(cands)[1]


def available():
    try:
        bindir()
        return True
    except ClusterError:
        return False


def _server_user():
    """(uid, gid, name) to run PostgreSQL as: postgres when we are root,
    else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    import pwd
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError("running as root and there is no postgres "
                           "account (install Debian's postgresql)")
    return pw.pw_uid, pw.pw_gid, pw.pw_name


def _as_server(cmd):
    u = _server_user()
    if u is None:
        return cmd
    return ["setpriv", "--reuid=%d" % u[0], "--regid=%d" % u[1],
            "--init-groups", "--"] + cmd


def _tmp_base():
    """A temp folder short enough for a Unix socket path (108 bytes)."""
    base = tempfile.gettempdir()
    if len(base) > 60 or not os.access(base, os.W_OK | os.X_OK):
        base = "/tmp"
    return base


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _postmaster_pid(data):
    try:
        with open(os.path.join(data, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def _kill_postmaster(data, timeout=10.0):
    """Stop the postmaster of data now (SIGQUIT: immediate shutdown), then
    SIGKILL the group if it lingers.  No pg_ctl: it may be gone too."""
    pid = _postmaster_pid(data)
    if pid is None or not _pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGQUIT)
    except OSError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.05)
    if _pid_alive(pid):
        for p in _children_of(pid) + [pid]:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def _children_of(ppid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(b")") + 2:].split()
        if int(rest[1]) == ppid:
            out.append(int(name))
    return out


def sweep_stale(base=None):
    """Remove cluster folders of earlier runs whose owner and postmaster
    are both gone (a watchdog killed with them).  Never touches a folder
    whose owner or postmaster still runs (another agent's, another run's)."""
    base = base or _tmp_base()
    for d in glob.glob(os.path.join(base, PREFIX + "*")):
        try:
            with open(os.path.join(d, "owner.pid")) as f:
                owner = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        data = os.path.join(d, "data")
        pm = _postmaster_pid(data)
        if pm is not None and _pid_alive(pm):
            _kill_postmaster(data)
        shutil.rmtree(d, ignore_errors=True)


class Cluster:
    """One running cluster (see start())."""

    def __init__(self):
        self.bin = bindir()
        self.user = _server_user()
        self.dir = tempfile.mkdtemp(prefix=PREFIX, dir=_tmp_base())
        # Reachable by every user (the web user's FastCGI processes reach
        # the socket here); the data folder inside stays 0700.
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "owner.pid"), "w") as f:
            f.write("%d\n" % os.getpid())
        self.data = os.path.join(self.dir, "data")
        self.sockdir = self.dir
        self.log = os.path.join(self.dir, "postgres.log")
        self.watchdog = None
        self._stopped = False
        if self.user is not None:
            os.chown(self.dir, self.user[0], self.user[1])

    # --- the watchdog
    def _watch(self):
        """The process that cleans up after us whatever way we end."""
        self.watchdog = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--watch", self.dir],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
            close_fds=True, cwd="/")

    # --- commands as the server's user
    def _run(self, cmd, timeout=START_TIMEOUT, check=True):
        r = subprocess.run(_as_server(cmd), cwd=self.dir,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, env=self._env())
        if check and r.returncode != 0:
            raise ClusterError("%s failed (%d): %s\n%s" % (
                os.path.basename(cmd[0]), r.returncode,
                (r.stdout + r.stderr).decode("utf-8", "replace")[-2000:],
                self.log_tail()))
        return r

    def _env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        if self.user is not None:
            env["HOME"] = self.dir
        return env

    def _initdb(self):
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data,
                   "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                   "--locale=C", "--no-sync", "--no-instructions"],
                  timeout=120)
        conf = (
            "\n# pg_cluster.py: a throwaway test cluster\n"
            "listen_addresses = ''\n"
            "unix_socket_directories = '%s'\n"
            "unix_socket_permissions = 0777\n"
            "port = %d\n"
            "max_connections = %d\n"
            "shared_buffers = 32MB\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "logging_collector = off\n"
            "log_min_messages = warning\n"
            "log_min_error_statement = panic\n"
            "log_line_prefix = '%%m [%%p] '\n"
            "timezone = 'UTC'\n"
            % (self.sockdir, PORT, MAX_CONNECTIONS))
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(conf)

    def _pg_ctl(self, *args, timeout=START_TIMEOUT):
        return self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                          "-l", self.log, "-w", "-t", str(timeout)]
                         + list(args), timeout=timeout + 10)

    def _start(self, stop_at_exit=True):
        self._watch()
        self._initdb()
        self._pg_ctl("start")
        self.psql("postgres", "CREATE ROLE %s LOGIN" % ROLE)
        if stop_at_exit:
            atexit.register(self.stop)
        return self

    # --- what the tests use
    def uri(self, dbname, user=ROLE):
        _check_name(dbname)
        return "postgresql:///%s?host=%s&user=%s" % (dbname, self.sockdir,
                                                     user)

    def dsn(self, dbname, user=ROLE):
        """The same as keyword=value, for psycopg2.connect."""
        _check_name(dbname)
        return "dbname=%s host=%s user=%s port=%d" % (dbname, self.sockdir,
                                                      user, PORT)

    def psql(self, dbname, sql, user=SUPERUSER, check=True):
        """Run sql with psql (as the superuser unless told); its unaligned,
        tuples-only output as str.  ClusterError on an error."""
        _check_name(dbname)
        r = subprocess.run(
            [os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t",
             "-v", "ON_ERROR_STOP=1", "-h", self.sockdir, "-p", str(PORT),
             "-U", user, "-d", dbname, "-c", sql],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
            env=self._env())
        if check and r.returncode != 0:
            raise ClusterError("psql %s: %s" % (dbname, r.stderr.decode(
                "utf-8", "replace").strip()))
        return r.stdout.decode("utf-8", "replace")

    def create_db(self, name):
        """A fresh, empty database owned by the role intake."""
        _check_name(name)
        self.psql("postgres", 'CREATE DATABASE "%s" OWNER %s TEMPLATE '
                  'template0' % (name, ROLE))
        return self.uri(name)

    def drop_db(self, name):
        """Drop it, ending any session still in it."""
        _check_name(name)
        self.psql("postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' %
                  name)

    def restart(self):
        """pg_ctl restart -m fast: every session is cut; the socket comes
        back at the same path."""
        self._pg_ctl("restart", "-m", "fast")

    def running(self):
        pid = _postmaster_pid(self.data)
        return pid is not None and _pid_alive(pid)

    def log_tail(self, n=30):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self):
        """Stop the server (immediate: nothing here is worth keeping) and
        remove the folder.  Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.running():
                self._run([os.path.join(self.bin, "pg_ctl"), "-D",
                           self.data, "-m", "immediate", "-w", "-t", "20",
                           "stop"], timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            pass
        _kill_postmaster(self.data)
        if os.environ.get("INTAKE_TEST_KEEP") == "1":
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self.watchdog is not None:
            try:
                self.watchdog.stdin.close()
            except OSError:
                pass
            try:
                self.watchdog.wait(30)
            except subprocess.TimeoutExpired:
                self.watchdog.kill()
                self.watchdog.wait()
            self.watchdog = None


def _check_name(name):
    if not _NAME_RE.match(name):
        raise ClusterError("bad database or role name %r" % name)


def start(stop_at_exit=True):
    """Start a new cluster; a Cluster, stopped at interpreter exit unless
    stop_at_exit is false (then the caller stops it; the watchdog still
    ends it if the caller dies)."""
    sweep_stale()
    c = Cluster()
    try:
        return c._start(stop_at_exit)
    except BaseException:
        c.stop()
        raise


# --------------------------------------------------------------------------
# as a script

def _watch_main(folder):
    """--watch FOLDER: wait for stdin to close, then stop and remove."""
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    data = os.path.join(folder, "data")
    _kill_postmaster(data)
    if os.environ.get("INTAKE_TEST_KEEP") != "1":
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _run_main(args):
    envname = "INTAKE_TEST_DB"
    if args[:1] == ["--env"]:
        envname, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.stderr.write("usage: pg_cluster.py --run [--env NAME] CMD...\n")
        return 2
    c = start()
    try:
        name = "t_%d" % os.getpid()
        env = dict(os.environ)
        env[envname] = c.create_db(name)
        # A signal to us ends the command too, then the cluster.
        p = subprocess.Popen(args, env=env)
        def fwd(sig, _frame):
            p.send_signal(sig)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, fwd)
        return p.wait()
    finally:
        c.stop()


def _serve_main(args):
    name = args[0] if args else "intake"
    c = start()
    done = []
    def quit_(sig, _frame):
        done.append(sig)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, quit_)
    try:
        print(c.create_db(name), flush=True)
        while not done:
            try:
                if not os.read(0, 4096):
                    break
            except InterruptedError:
                continue
            except OSError:
                # stdin not readable (e.g. closed): wait for a signal
                while not done:
                    signal.pause()
    finally:
        c.stop()
    return 0


def _check_main():
    t0 = time.monotonic()
    c = start()
    print("started in %.1f s: %s" % (time.monotonic() - t0, c.dir))
    try:
        t = time.monotonic()
        c.create_db("check_a")
        print("create_db in %.2f s" % (time.monotonic() - t))
        out = c.psql("check_a", "CREATE TABLE t (x int); INSERT INTO t "
                     "VALUES (1), (2); SELECT sum(x) FROM t", user=ROLE)
        assert out.strip() == "3", out
        pid = _postmaster_pid(c.data)
        with open("/proc/%d/status" % pid) as f:
            uid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
        print("postmaster pid %d uid %s" % (pid, uid))
        if os.geteuid() == 0:
            assert uid != "0", "the postmaster runs as root"
        mode = os.stat(os.path.join(c.sockdir, ".s.PGSQL.%d" % PORT))
        print("socket mode %o, folder mode %o" % (
            mode.st_mode & 0o777, os.stat(c.sockdir).st_mode & 0o777))
        t = time.monotonic()
        c.restart()
        print("restart in %.2f s" % (time.monotonic() - t))
        assert c.psql("check_a", "SELECT count(*) FROM t").strip() == "2"
        c.drop_db("check_a")
        assert "check_a" not in c.psql("postgres",
                                       "SELECT datname FROM pg_database")
    finally:
        c.stop()
    assert not os.path.exists(c.dir), c.dir
    print("pg_cluster: ok")
    return 0


def main(argv):
    if argv[:1] == ["--watch"] and len(argv) == 2:
        return _watch_main(argv[1])
    if argv[:1] == ["--run"]:
        return _run_main(argv[1:])
    if argv[:1] == ["--serve"]:
        return _serve_main(argv[1:])
    if argv[:1] == ["--available"]:
        try:
            bindir()
            _server_user()
            return 0
        except ClusterError as e:
            sys.stderr.write("pg_cluster: %s\n" % e)
            return 1
    if argv[:1] == ["--check"] or not argv:
        return _check_main()
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
