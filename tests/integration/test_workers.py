"""test_workers.py: intake.fcgi's workers start as requests come and
leave when idle (cgi/main.c).

One process under lighttpd with the default INTAKE_THREADS holds more
slow streams at once than the workers it starts with and than the old
fixed count of 64: every stream's first delta arrives before any stream
ends, and the process then runs a thread per stream.  Once they end, the
workers beyond the first few leave (counted in /proc/PID/task).  A
SIGTERM while that many stream lets every one of them finish (the stop's
grace) and the process leave.

    BUILD=build/test python3 tests/integration/test_workers.py

The last line printed is "integration_workers: N passed, N failed".
"""

import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import ServerTestCase, main, read_events  # noqa: E402

STREAMS = 80            # more than 64, the old fixed count, and than 4
WORD_DELAY_MS = 300     # the built-in reply (44 words) lasts ~13 s
IDLE_THREADS = 8        # main, the saver, 4 workers kept, and a margin


def task_count(pid):
    try:
        return len(os.listdir("/proc/%d/task" % pid))
    except OSError:
        return -1


class Crowd:
    """STREAMS turns at once, each in a thread: when its first delta and
    its last event arrived, and what that event was."""

    def __init__(self, server, n):
        self.server = server
        self.convs = [server.create_conversation() for _ in range(n)]
        self.first = [None] * n
        self.last = [None] * n
        self.end = [None] * n
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,),
                                         daemon=True) for i in range(n)]

    def run(self, i):
        conv, token = self.convs[i]
        try:
            r = self.server.post_message(conv, token, "Hello, I need help "
                                         "with a car accident.")
            try:
                if r.status != 200:
                    raise harness.HarnessError("status %d %r" % (
                        r.status, r.read_body()[:200]))
                for ev in read_events(r):
                    if ev.event == "delta" and self.first[i] is None:
                        self.first[i] = ev.t
                    self.last[i] = ev.event
                    self.end[i] = ev.t
            finally:
                r.close()
        except Exception as e:  # noqa: BLE001 (reported by the test)
            with self.lock:
                self.errors.append("stream %d: %s" % (i, e))

    def start(self):
        for th in self.threads:
            th.start()

    def wait_first(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(t is not None for t in self.first) or self.errors:
                break
            time.sleep(0.05)
        return sum(t is not None for t in self.first)

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for th in self.threads:
            th.join(max(0.1, deadline - time.monotonic()))


class WorkersTests(ServerTestCase):
    server_env = {"INTAKE_MAX_STREAMS_PER_ADDR": "0",
                  "INTAKE_MAX_FOLLOWS_PER_CONV": "0"}
    word_delay_ms = WORD_DELAY_MS

    def pid(self):
        pids = self.server.fcgi_pids()
        self.assertEqual(len(pids), 1, pids)
        return pids[0]

    def test_1_streams_beyond_the_old_count_run_at_once(self):
        crowd = Crowd(self.server, STREAMS)
        crowd.start()
        got = crowd.wait_first(60)
        threads = task_count(self.pid())
        crowd.join(90)
        self.assertEqual(crowd.errors, [])
        self.assertEqual(got, STREAMS, "first deltas: %d of %d" %
                         (got, STREAMS))
        self.assertEqual(crowd.last, ["done"] * STREAMS)
        # Served together: every first delta before any stream ended.
        self.assertLess(max(crowd.first), min(crowd.end),
                        "a stream ended before another one started")
        self.assertGreaterEqual(threads, STREAMS,
                                "a worker per stream while they ran")

    def test_2_idle_workers_leave(self):
        # After test 1's crowd (or one of its own when run alone).
        pid = self.pid()
        if task_count(pid) <= IDLE_THREADS:
            crowd = Crowd(self.server, 12)
            crowd.start()
            crowd.wait_first(60)
            self.assertGreater(task_count(pid), IDLE_THREADS)
            crowd.join(60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                task_count(pid) > IDLE_THREADS:
            time.sleep(0.5)
        self.assertLessEqual(task_count(pid), IDLE_THREADS,
                             "idle workers still there after 30 s")
        # The few left still answer, and more start again as needed.
        crowd = Crowd(self.server, 10)
        crowd.start()
        self.assertEqual(crowd.wait_first(60), 10)
        crowd.join(60)
        self.assertEqual(crowd.errors, [])
        self.assertEqual(crowd.last, ["done"] * 10)

    def test_3_sigterm_lets_every_stream_finish(self):
        pid = self.pid()
        crowd = Crowd(self.server, STREAMS)
        crowd.start()
        self.assertEqual(crowd.wait_first(60), STREAMS)
        os.kill(pid, signal.SIGTERM)
        crowd.join(90)
        self.assertEqual(crowd.errors, [])
        self.assertEqual(crowd.last, ["done"] * STREAMS,
                         "every stream in flight finishes (the grace)")
        self.assertLess(max(crowd.first), min(crowd.end),
                        "all of them were in flight at the signal")
        # Gone once the last one ended, not at the grace's end (30 s):
        # the idle workers, waiting their turn to accept, left at once.
        deadline = max(crowd.end) + 10
        while time.monotonic() < deadline and \
                harness.proc_stat(pid) is not None and \
                harness.proc_stat(pid)[1] not in ("Z", "X"):
            time.sleep(0.2)
        st = harness.proc_stat(pid)
        self.assertTrue(st is None or st[1] in ("Z", "X"),
                        "the process left after its streams")


if __name__ == "__main__":
    main("integration_workers")
