#!/usr/bin/python3
"""smtp_server.py: a real SMTP server for intake's delivery tests.

It is Debian's python3-aiosmtpd (scripts/deps.sh installs it), which
lives in /usr/lib/python3/dist-packages: run it with Debian's own
/usr/bin/python3, not a python3 of another installation.

    /usr/bin/python3 tests/smtp_server.py --port N --out FILE
        [--log FILE] [--control FILE] [--user U --password P]
        [--refuse N] [--kill-on-quit PID|peer]

It listens on 127.0.0.1:N (0: any free port), prints "ready PORT" once
it does, and runs until SIGTERM or SIGINT.  Every message it accepts is
one JSON line appended to --out, written before the 250 goes out:

    {"mail_from": "...", "rcpt_tos": ["..."], "raw": "...", "time": T,
     "mono": M, "peer": [host, port], "login": "user" or null}

"raw" is the message's bytes as latin-1 (raw.encode("latin-1") gives
them back exactly); "time" is time.time() and "mono" time.monotonic()
(CLOCK_MONOTONIC, comparable with the tests' own clock).  --log gets
one JSON line per event (listening, ehlo, mail, auth, refused,
accepted, quit, kill)
with "event" naming it; no password is ever written.

Faults.  --refuse N answers the next N DATA with 451 (then accepts);
--user/--password require AUTH (PLAIN or LOGIN, allowed without TLS on
this loopback server) with those credentials; --kill-on-quit PID sends
SIGKILL to PID on the first QUIT that follows an accepted message, before
answering it ("peer": the process that holds the client's end of the
connection, found through /proc/net/tcp).  The control file's
"kill_on_data" kills the same way once a message is accepted (recorded)
but before its 250 is sent: the client cannot know it was.  --control
FILE names a JSON file re-read at every command that needs it, for
faults chosen while the server runs: while it holds an object, its
keys replace the command line's faults as a whole (a key left out is no
fault), and a change of its content starts the counters again:

    {"refuse_data": N, "refuse_reply": "451 4.3.0 ...",
     "kill_on_quit": PID or "peer", "kill_on_data": PID or "peer",
     "kill_times": 1,
     "data_delay_s": S, "auth_fail": true}

The module can be imported by any python3 (aiosmtpd is imported only by
main()): SmtpProcess starts and drives the program for the tests, and
peer_pid() is the /proc lookup.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEBIAN_PYTHON = "/usr/bin/python3"
REFUSE_REPLY = "451 4.3.0 Temporarily refused (test)"


# --------------------------------------------------------------------------
# who holds a TCP connection (for "kill the sender", whoever it is)

def _hexaddr(host, port):
    """/proc/net/tcp's form of an IPv4 address and port."""
    a = bytes(int(x) for x in host.split("."))
    return "%08X:%04X" % (int.from_bytes(a, "little"), port)


def socket_inode(local, remote):
    """The inode of the TCP socket whose local end is local (host, port)
    and remote end remote, or None."""
    want_l, want_r = _hexaddr(*local), _hexaddr(*remote)
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[1] == want_l and parts[2] == want_r:
                    return int(parts[9])
    except (OSError, ValueError, StopIteration):
        pass
    return None


def peer_pid(peer, me):
    """The pid of the process that holds the client end of a loopback TCP
    connection: peer is the client's (host, port), me the server's; None
    when not found (gone, or not readable)."""
    inode = socket_inode(tuple(peer), tuple(me))
    if not inode:
        return None
    target = "socket:[%d]" % inode
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % name)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (name, fd)) == target:
                    return int(name)
            except OSError:
                pass
    return None


# --------------------------------------------------------------------------
# the program (Debian's python3 with aiosmtpd)

class State:
    """The faults in force: the command line's, replaced as a whole by
    the control file's while it holds an object; the counters start again
    when its content changes."""

    def __init__(self, args):
        self.args = args
        self.control_text = None
        self.control = {}
        self.refused = 0
        self.kills = 0
        self.outf = open(args.out, "a")
        self.logf = open(args.log, "a") if args.log else None

    def reload(self):
        if not self.args.control:
            return
        try:
            with open(self.args.control) as f:
                text = f.read()
        except OSError:
            text = ""
        if text == self.control_text:
            return
        self.control_text = text
        try:
            self.control = json.loads(text) if text.strip() else {}
        except ValueError:
            self.control = {}
        self.refused = 0
        self.kills = 0

    def get(self, key, initial, off=None):
        """key's value: the control file's while it holds an object
        (off when it lacks key), else the command line's (initial)."""
        self.reload()
        if self.control:
            return self.control.get(key, off)
        return initial

    def log(self, event, **kw):
        if self.logf is None:
            return
        kw.update(event=event, time=time.time(), mono=time.monotonic())
        self.logf.write(json.dumps(kw) + "\n")
        self.logf.flush()

    def record(self, obj):
        self.outf.write(json.dumps(obj) + "\n")
        self.outf.flush()
        os.fsync(self.outf.fileno())


class Handler:
    def __init__(self, state, port):
        self.st = state
        self.port = port

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        self.st.log("ehlo", peer=list(session.peer), hostname=hostname)
        return responses

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        self.st.log("mail", peer=list(session.peer), mail_from=address)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        delay = float(self.st.get("data_delay_s", 0, 0) or 0)
        if delay > 0:
            await asyncio.sleep(delay)
        n = int(self.st.get("refuse_data", self.st.args.refuse, 0) or 0)
        if self.st.refused < n:
            self.st.refused += 1
            reply = self.st.get("refuse_reply", REFUSE_REPLY, REFUSE_REPLY)
            self.st.log("refused", peer=list(session.peer),
                        rcpt_tos=list(envelope.rcpt_tos), reply=reply,
                        n=self.st.refused)
            return reply
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        login = session.auth_data       # what the authenticator gave
        self.st.record({
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "raw": raw.decode("latin-1"),
            "time": time.time(), "mono": time.monotonic(),
            "peer": list(session.peer), "login": login,
        })
        session.accepted = getattr(session, "accepted", 0) + 1
        self.st.log("accepted", peer=list(session.peer),
                    rcpt_tos=list(envelope.rcpt_tos))
        self._kill(session, "kill_on_data", None)
        return "250 2.0.0 OK queued"

    def _kill(self, session, key, initial):
        """SIGKILL the target the fault key names (at most kill_times
        times per control file): a pid, or "peer"."""
        target = self.st.get(key, initial)
        times = int(self.st.get("kill_times", 1, 1))
        if not target or self.st.kills >= times:
            return
        if target == "peer":
            pid = peer_pid(session.peer, ("127.0.0.1", self.port))
        else:
            pid = int(target)
        self.st.kills += 1
        if not pid:
            self.st.log("kill", pid=None, why=key, error="no process found")
            return
        try:
            os.kill(pid, signal.SIGKILL)
            self.st.log("kill", pid=pid, why=key, peer=list(session.peer))
        except OSError as e:
            self.st.log("kill", pid=pid, why=key, error=str(e))

    async def handle_QUIT(self, server, session, envelope):
        self.st.log("quit", peer=list(session.peer),
                    accepted=getattr(session, "accepted", 0))
        if getattr(session, "accepted", 0):
            self._kill(session, "kill_on_quit", self.st.args.kill_on_quit)
        return "221 Bye"


def _authenticator(state):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def auth(server, session, envelope, mechanism, auth_data):
        ok = False
        login = None
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            ok = (not state.get("auth_fail", False, False) and
                  auth_data.login == state.args.user.encode() and
                  auth_data.password == state.args.password.encode())
        state.log("auth", mechanism=mechanism, login=login, ok=ok)
        return AuthResult(success=ok, handled=False,
                          auth_data=login if ok else None)
    return auth


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--log")
    ap.add_argument("--control")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--refuse", type=int, default=0)
    ap.add_argument("--kill-on-quit")
    args = ap.parse_args(argv)
    if (args.user is None) != (args.password is None):
        ap.error("--user and --password go together")

    import asyncio
    import logging
    import warnings
    from aiosmtpd.smtp import SMTP

    # aiosmtpd warns (and logs) that AUTH without TLS is unsafe: it is
    # what this loopback test server is for.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)

    state = State(args)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    port_box = [args.port]

    def factory():
        kw = {"hostname": "smtp.test", "ident": "intake-test-smtp",
              "enable_SMTPUTF8": True, "loop": loop}
        if args.user is not None:
            kw.update(authenticator=_authenticator(state), auth_required=True,
                      auth_require_tls=False)
        smtp = SMTP(Handler(state, port_box[0]), **kw)
        return smtp

    server = loop.run_until_complete(
        loop.create_server(factory, host=args.host, port=args.port,
                           reuse_address=True))
    port_box[0] = server.sockets[0].getsockname()[1]
    state.log("listening", port=port_box[0])

    def stop(*_):
        loop.stop()
    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, stop)
    print("ready %d" % port_box[0], flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        state.log("stopped")
    return 0


# --------------------------------------------------------------------------
# the tests' side: start, drive and read one server

class SmtpProcess:
    """One smtp_server.py process under /usr/bin/python3.

        s = SmtpProcess(folder, port).start()   # port 0: any free one
        s.set_control({"refuse_data": 2})
        s.messages()                            # the accepted ones
        s.stop()
    """

    def __init__(self, folder, port=0, user=None, password=None,
                 refuse=0, kill_on_quit=None, name="smtp"):
        self.folder = folder
        self.port = port
        self.user, self.password = user, password
        self.refuse = refuse
        self.kill_on_quit = kill_on_quit
        self.out = os.path.join(folder, name + ".jsonl")
        self.logfile = os.path.join(folder, name + ".log.jsonl")
        self.control = os.path.join(folder, name + ".control.json")
        self.stderr = os.path.join(folder, name + ".stderr")
        self.proc = None

    def start(self, timeout=20.0):
        if self.proc is not None:
            return self
        cmd = [DEBIAN_PYTHON, os.path.join(HERE, "smtp_server.py"),
               "--port", str(self.port), "--out", self.out,
               "--log", self.logfile, "--control", self.control]
        if self.user is not None:
            cmd += ["--user", self.user, "--password", self.password]
        if self.refuse:
            cmd += ["--refuse", str(self.refuse)]
        if self.kill_on_quit is not None:
            cmd += ["--kill-on-quit", str(self.kill_on_quit)]
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME")}
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=open(self.stderr, "ab"), env=env, cwd=self.folder)
        import select
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if not line.startswith(b"ready "):
            self.stop()
            with open(self.stderr, "rb") as f:
                err = f.read()[-2000:]
            raise RuntimeError("smtp_server.py did not start (%r): %s" %
                               (line, err.decode("utf-8", "replace")))
        self.port = int(line.split()[1])
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stdout.close()
        self.proc = None

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def set_control(self, obj):
        """Faults from now on, replacing the command line's as a whole
        (None or {}: no fault at all).  The counters start again every
        time, even for the same faults (a nonce changes the file's
        text)."""
        d = dict(obj or {})
        d["_nonce"] = time.monotonic()
        tmp = self.control + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(d))
        os.replace(tmp, self.control)

    @staticmethod
    def _read(path):
        out = []
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return out
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                pass            # a line being written
        return out

    def messages(self):
        """The accepted messages, oldest first (dicts; see the module)."""
        return self._read(self.out)

    def events(self, kind=None, since=None):
        """The logged events (of kind; after time.monotonic() since)."""
        return [e for e in self._read(self.logfile)
                if (kind is None or e.get("event") == kind) and
                (since is None or e.get("mono", 0) > since)]


if __name__ == "__main__":
    sys.exit(main())
