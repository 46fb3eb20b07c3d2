"""Shared pieces of the fault tests (tests/faults/run): the stack's processes
(MariaDB, the pool master and its workers, deploy/stack), a bounded load of
client requests in Python threads, and the ledger verdict every fault test
ends with: every generation the simulator answered for the test has exactly
one usage row, no row without a generation (unless its cost_source is
'none'), reservations released, the period's used equal to its rows and
within the allowance, usage_daily equal to the rows, and `aigw-admin check`
clean.

Standard library only; the HTTP, CLI and SQL helpers are those of
tests/integration/gw.py (imported, not copied)."""

import json
import os
import re
import signal
import subprocess
import threading
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
import sys  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import gw  # noqa: E402

MODEL = "openai/gpt-4o-mini"
MAX_TOKENS = 64
STACK_TIMEOUT = 240  # seconds for one deploy/stack command


class TestFailure(AssertionError):
    pass


load_env = gw.load_env  # stack.env into os.environ


def log(msg):
    print("  %s %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


# ---- the stack's processes -----------------------------------------------------

def stack_dir():
    return gw.env("AIGW_DIR")


def stack_cmd(*args, timeout=STACK_TIMEOUT):
    """Runs deploy/stack CMD ... --dir DIR (prebuilt binaries, no package
    installs); returns (rc, output)."""
    environ = dict(os.environ)
    environ["AIGW_SKIP_DEPS"] = "1"
    environ["AIGW_BIN_DIR"] = os.path.dirname(gw.env("AIGW_FCGI"))
    cmd = [os.path.join(ROOT, "deploy", "stack")] + list(args) + ["--dir", stack_dir()]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, env=environ)
    except subprocess.TimeoutExpired as e:
        return 124, "timed out after %ss: %s" % (timeout, e)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def stack_up():
    """`deploy/stack up` with the options of the previous up: starts what is
    not running, restarts the pool when aigw.conf changed."""
    rc, out = stack_cmd("up")
    if rc != 0:
        raise TestFailure("deploy/stack up failed (exit %d): %s" % (rc, out[-2000:]))
    return out


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def proc_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def proc_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def mariadbd_pid():
    """The stack's mariadbd (its own pid file, else the stack's), or None."""
    d = stack_dir()
    for path in (os.path.join(d, "run", "mysqld", "mariadbd.pid"),
                 os.path.join(d, "run", "mariadb.pid")):
        pid = read_pid(path)
        if pid and proc_comm(pid) in ("mariadbd", "mysqld") and proc_alive(pid):
            return pid
    return None


def pool_master():
    pid = read_pid(os.path.join(stack_dir(), "run", "aigw.pid"))
    if pid and proc_alive(pid) and (proc_comm(pid) or "").startswith("aigw"):
        return pid
    return None


def pool_workers(master=None):
    """Pids of the pool master's live children (its workers)."""
    master = master or pool_master()
    if master is None:
        return []
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            pid = int(name)
            if proc_ppid(pid) == master and proc_alive(pid):
                out.append(pid)
    return sorted(out)


def thread_dump(pid, limit=6000):
    """What a process's threads are doing, for a failure message: each
    thread's name, state and kernel wait channel, then gdb's backtraces
    when gdb is there (bounded)."""
    lines = []
    try:
        for tid in sorted(os.listdir("/proc/%d/task" % pid), key=int):
            base = "/proc/%d/task/%s/" % (pid, tid)
            try:
                comm = open(base + "comm").read().strip()
                state = open(base + "stat").read().rsplit(")", 1)[1].split()[0]
                wchan = open(base + "wchan").read().strip()
            except OSError:
                continue
            lines.append("%s %s %s %s" % (tid, comm, state, wchan))
    except OSError as e:
        return "no /proc/%d: %s" % (pid, e)
    text = "threads (tid name state wchan): " + "; ".join(lines)
    try:
        p = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex",
                            "thread apply all bt 12"], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        bt = [l for l in p.stdout.decode("utf-8", "replace").splitlines()
              if l.startswith(("Thread ", "#"))]
        text += "\n" + "\n".join(bt)
    except (OSError, subprocess.TimeoutExpired):
        pass
    return text[:limit]


def configured_workers(master=None):
    """The pool's worker count (the master's --workers, else 2)."""
    master = master or pool_master()
    try:
        with open("/proc/%d/cmdline" % master, "rb") as f:
            args = f.read().decode("utf-8", "replace").split("\0")
        return int(args[args.index("--workers") + 1])
    except (TypeError, OSError, ValueError, IndexError):
        return 2


def wait_pool_settled(timeout=15):
    """Waits until the pool runs exactly its configured workers (workers of
    a previous reload or stop have finished draining); returns them."""
    ok = wait_until(lambda: pool_master() is not None and
                    len(pool_workers()) == configured_workers(), timeout, 0.05)
    if not ok:
        raise TestFailure("the pool does not run its %d workers (and no others) within %ds: "
                          "master %s, workers %s" % (configured_workers(), timeout,
                                                     pool_master(), pool_workers()))
    return pool_workers()


def wait_until(pred, timeout, interval=0.1):
    """Calls pred until it returns a true value or timeout seconds pass;
    returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def health_ok():
    try:
        return gw.request("GET", "/v1/health", timeout=5).status == 200
    except Exception:
        return False


def wait_healthy(timeout=60):
    if not wait_until(health_ok, timeout, 0.25):
        raise TestFailure("the gateway does not answer 200 on /v1/health within %ds" % timeout)


def stop_pool(timeout=60):
    """SIGTERM to the pool master (how deploy/stack stops it); waits until it
    is gone. Returns (pid, seconds it took)."""
    pid = pool_master()
    if pid is None:
        return None, 0.0
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    if not wait_until(lambda: not proc_alive(pid), timeout, 0.05):
        raise TestFailure("the pool master %d still runs %ds after SIGTERM" % (pid, timeout))
    return pid, time.monotonic() - t0


def _socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", target)
            if m:
                inodes.add(m.group(1))
    except OSError:
        pass
    return inodes


def requests_in_flight(pid):
    """How many FastCGI connections process pid has accepted on the pool's
    socket and not closed: the requests it serves now."""
    path = os.path.join(stack_dir(), "run", "aigw", "aigw.sock")
    inodes = _socket_inodes(pid)
    n = 0
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                parts = line.split()
                # Num RefCount Protocol Flags Type St Inode Path; St 03: connected
                if len(parts) >= 8 and parts[7] == path and parts[5] == "03" and \
                        parts[6] in inodes:
                    n += 1
    except OSError:
        pass
    return n


def sockets_to_port(pid, port):
    """How many TCP connections of process pid have remote port `port`
    (a worker's upstream connections, idle ones included)."""
    inodes = _socket_inodes(pid)
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    rport = int(parts[2].rsplit(":", 1)[1], 16)
                    if rport == port and parts[3] == "01" and parts[9] in inodes:
                        n += 1
        except OSError:
            pass
    return n


# ---- aigw.conf -----------------------------------------------------------------

def conf_path():
    return gw.env("AIGW_CONFIG")


def conf_read():
    with open(conf_path()) as f:
        return f.read()


def conf_write(text):
    """Rewrites aigw.conf in place (keeps its owner and mode)."""
    with open(conf_path(), "r+") as f:
        f.seek(0)
        f.write(text)
        f.truncate()


def conf_set(key, value):
    """Sets `key = value` in aigw.conf (replacing the key's lines); returns
    the previous text to restore."""
    old = conf_read()
    lines = [l for l in old.split("\n")
             if not re.match(r"^\s*%s\s*=" % re.escape(key), l)]
    while lines and lines[-1] == "":
        lines.pop()
    lines.append("%s = %s" % (key, value))
    conf_write("\n".join(lines) + "\n")
    return old


def conf_key_known(key, value):
    """Whether this build's config reader accepts `key = value`: aigw-admin
    reads the same aigw.conf format (base/conffile.c) and refuses unknown
    keys. Returns (known, message)."""
    tmp = os.path.join(stack_dir(), "faults-conf-probe.conf")
    old = conf_read()
    try:
        with open(tmp, "w") as f:
            os.chmod(tmp, 0o600)
            f.write(old.rstrip("\n") + "\n%s = %s\n" % (key, value))
        cmd = [gw.env("AIGW_ADMIN"), "--config", tmp, "app", "list"]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        text = (p.stdout + p.stderr).decode("utf-8", "replace")
        if p.returncode != 0 and "unknown key" in text:
            return False, text.strip().splitlines()[0] if text.strip() else text
        return True, ""
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def conf_get(key, default=None):
    return gw.conf_values().get(key, default)


# ---- apps ----------------------------------------------------------------------

class App:
    def __init__(self, plan):
        self.plan = plan
        self.id = gw.create_app(app_id=gw.unique_id("flt"), plan=plan)
        self.client = gw.create_key(self.id, "client")

    def __repr__(self):
        return "%s(%s)" % (self.id, self.plan)


def make_apps(plans=("free", "enterprise")):
    return [App(p) for p in plans]


# ---- one client request --------------------------------------------------------

class Call:
    """What one client request saw."""

    def __init__(self, app, tag, stream):
        self.app, self.tag, self.stream = app, tag, stream
        self.status = None
        self.t0 = self.t1 = None
        self.wall0 = None
        self.retry_after = None
        self.error_body = None  # the JSON error of a non-200 answer
        self.done = False       # a stream ended with data: [DONE]
        self.error_event = None  # a stream's last event was {"error": {...}}
        self.events = 0          # data events of a stream
        self.keepalives = 0      # ": keep-alive" comments
        self.first_event_at = None
        self.exc = None          # exception text (connection refused, reset, ...)
        self.read_error = None   # a stream whose reading ended in an error
        self.generation_id = None

    @property
    def complete(self):
        """The client got a whole answer."""
        if self.status != 200:
            return False
        return self.done if self.stream else self.exc is None

    @property
    def silent_cut(self):
        """A 200 stream that ended with neither [DONE] nor an error event."""
        return self.stream and self.status == 200 and not self.done and self.error_event is None

    def describe(self):
        what = "stream" if self.stream else "call"
        if self.exc:
            return "%s %s: %s" % (what, self.tag, self.exc)
        end = ""
        if self.stream and self.status == 200:
            end = " [DONE]" if self.done else (
                " error event %s" % json.dumps(self.error_event) if self.error_event
                else " cut after %d events (%s)" % (self.events, self.read_error))
        elif self.status != 200:
            end = " %s" % json.dumps(self.error_body)[:200]
        return "%s %s: HTTP %s%s" % (what, self.tag, self.status, end)


def chat_body(tag, stream, sim=None, words=8, pace_ms=0):
    body = {
        "model": MODEL,
        "max_tokens": MAX_TOKENS,
        "user": tag,  # the simulator logs the body: this ties its entry to the call
        "messages": [{"role": "user", "content": "fault test " + tag}],
        "stream": stream,
    }
    opts = {"scenario": "ok", "words": words}
    if pace_ms:
        opts["pace_ms"] = pace_ms
    if sim:
        opts.update(sim)
    body["sim"] = opts
    return body


def do_call(app, tag, stream, sim=None, words=8, pace_ms=0, timeout=20.0, on_event=None):
    """Sends one chat request and reads the whole answer; never raises."""
    c = Call(app, tag, stream)
    c.t0 = time.monotonic()
    c.wall0 = time.time()
    body = chat_body(tag, stream, sim, words, pace_ms)
    try:
        if stream:
            s = gw.Stream(gw.chat_path(app.id), body, app.client, timeout=timeout)
            try:
                s.open()
                c.status = s.status
                c.retry_after = s.header("retry-after")
                c.generation_id = s.header("x-generation-id")
                if s.status != 200:
                    r = s.read_rest()
                    try:
                        c.error_body = r.json()
                    except ValueError:
                        c.error_body = r.text[:300]
                else:
                    last = None
                    for ev in s.events():
                        if ev.kind == "comment":
                            if ev.text.strip() == "keep-alive":
                                c.keepalives += 1
                            continue
                        c.events += 1
                        if c.first_event_at is None:
                            c.first_event_at = time.monotonic()
                            if on_event:
                                on_event(c)
                        last = ev
                    if s.error is not None:
                        c.read_error = repr(s.error)
                    if last is not None:
                        if last.text == "[DONE]":
                            c.done = True
                        else:
                            try:
                                doc = last.json()
                            except ValueError:
                                doc = None
                            if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
                                c.error_event = doc["error"]
            finally:
                s.close()
        else:
            r = gw.request("POST", gw.chat_path(app.id), body=body, token=app.client,
                           timeout=timeout)
            c.status = r.status
            c.retry_after = r.header("retry-after")
            c.generation_id = r.header("x-generation-id")
            if r.status != 200:
                try:
                    c.error_body = r.json()
                except ValueError:
                    c.error_body = r.text[:300]
    except Exception as e:  # refused, reset, timeout: kept for the figures
        c.exc = "%s: %s" % (type(e).__name__, e)
    c.t1 = time.monotonic()
    return c


class Load:
    """`clients` threads, each sending requests back to back (alternating
    apps, every other one streamed) until stop() or `max_s` seconds; every
    Call is kept in .calls."""

    def __init__(self, name, apps, clients=20, max_s=60.0, words=8, pace_ms=25,
                 timeout=20.0, sim=None):
        self.name, self.apps, self.clients = name, apps, clients
        self.max_s, self.words, self.pace_ms = max_s, words, pace_ms
        self.timeout, self.sim = timeout, sim
        self.calls = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._n = 0

    def _next_tag(self):
        with self._lock:
            self._n += 1
            return self._n

    def _client(self, i):
        deadline = time.monotonic() + self.max_s
        k = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            app = self.apps[(i + k) % len(self.apps)]
            stream = (i + k) % 2 == 0
            k += 1
            tag = "%s-%d" % (self.name, self._next_tag())
            c = do_call(app, tag, stream, self.sim, self.words, self.pace_ms, self.timeout)
            with self._lock:
                self.calls.append(c)
            if c.exc or (c.status is not None and c.status >= 500):
                time.sleep(0.05)  # do not spin on a refusing gateway

    def start(self):
        for i in range(self.clients):
            t = threading.Thread(target=self._client, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, join_s=None):
        self._stop.set()
        return self.join(join_s)

    def join(self, join_s=None):
        if join_s is None:
            join_s = self.max_s + self.timeout + 5
        deadline = time.monotonic() + join_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = sum(t.is_alive() for t in self._threads)
        if alive:
            raise TestFailure("%d client threads of %s still running after the bound"
                              % (alive, self.name))
        with self._lock:
            return list(self.calls)


class Burst:
    """n concurrent requests started at once (streams unless stream=False);
    wait_started() returns once each has its first event (or a final status)."""

    def __init__(self, name, apps, n, words, pace_ms, sim=None, timeout=40.0, stream=True,
                 sim_for=None):
        self.name, self.apps, self.n = name, apps, n
        self.calls = [None] * n
        self._started = threading.Semaphore(0)
        self._threads = []
        self.timeout = timeout
        for i in range(n):
            app = apps[i % len(apps)]
            tag = "%s-%d" % (name, i + 1)
            opts = sim_for(i) if sim_for else sim
            t = threading.Thread(target=self._run, args=(i, app, tag, stream, opts, words,
                                                          pace_ms), daemon=True)
            self._threads.append(t)

    def _run(self, i, app, tag, stream, sim, words, pace_ms):
        released = []

        def first(_c):
            released.append(1)
            self._started.release()

        c = do_call(app, tag, stream, sim, words, pace_ms, self.timeout, on_event=first)
        self.calls[i] = c
        if not released:
            self._started.release()

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def wait_started(self, timeout):
        deadline = time.monotonic() + timeout
        got = 0
        while got < self.n:
            if not self._started.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
            got += 1
        return got

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = sum(t.is_alive() for t in self._threads)
        if alive:
            raise TestFailure("%d requests of %s still running after %.0fs"
                              % (alive, self.name, timeout))
        return list(self.calls)


# ---- the simulator's side ------------------------------------------------------

def sim_seq():
    return gw.sim_last_seq()


def sim_entries(since, prefix):
    """The simulator's chat log entries after `since` whose body's user tag
    starts with `prefix` (this test's requests)."""
    out = []
    for e in gw.sim_requests(since):
        body = e.get("body")
        if e.get("endpoint") == "chat" and isinstance(body, dict) and \
                str(body.get("user", "")).startswith(prefix):
            out.append(e)
    return out


def sim_generations():
    """Every generation record the simulator holds, by id."""
    recs = gw.sim_control("GET", "/_sim/generations", timeout=30)
    return {r["id"]: r for r in recs}


# ---- the database's side -------------------------------------------------------

def _in_list(apps):
    for a in apps:
        gw._checked_app(a.id)
    return ",".join("'%s'" % a.id for a in apps)


def rows_of(apps):
    return gw.db_query(
        "SELECT id, request_id, app_id, generation_id, cost, cost_source, status, streamed, "
        "aborted, period_id, created_at FROM usage_requests WHERE app_id IN (%s) ORDER BY id"
        % _in_list(apps))


def periods_of(apps):
    return gw.db_query(
        "SELECT p.id, p.app_id, p.plan_id, p.allowance_usd, p.used_usd, p.reserved_usd, "
        "(SELECT COALESCE(SUM(r.amount_usd), 0) FROM credit_reservations r "
        "  WHERE r.period_id = p.id) AS held_usd, "
        "(SELECT COUNT(*) FROM credit_reservations r WHERE r.period_id = p.id) AS holds, "
        "(SELECT COALESCE(SUM(u.cost), 0) FROM usage_requests u "
        "  WHERE u.period_id = p.id) AS rows_cost "
        "FROM billing_periods p WHERE p.app_id IN (%s) ORDER BY p.id" % _in_list(apps))


def rollup_drift(apps):
    """Apps whose usage_daily totals differ from their rows."""
    got = gw.db_query(
        "SELECT a.app_id, a.n, a.cost, d.n AS dn, d.cost AS dcost FROM "
        "(SELECT app_id, COUNT(*) AS n, SUM(cost) AS cost FROM usage_requests "
        " WHERE app_id IN (%s) GROUP BY app_id) a LEFT JOIN "
        "(SELECT app_id, SUM(requests) AS n, SUM(cost) AS cost FROM usage_daily "
        " WHERE app_id IN (%s) GROUP BY app_id) d ON d.app_id = a.app_id"
        % (_in_list(apps), _in_list(apps)))
    bad = []
    for r in got:
        if r["dn"] is None or int(r["n"]) != int(r["dn"]) or \
                Decimal(r["cost"]) != Decimal(r["dcost"] or 0):
            bad.append(r)
    return bad


def _check_once(args):
    """One `aigw-admin check ARGS`: (verdict, text) with verdict clean,
    drift, error or n/a (this build has no check command)."""
    try:
        r = gw.admin("check", *args, timeout=120)
    except subprocess.TimeoutExpired:
        return "error", "aigw-admin check %s did not finish within 120 s" % " ".join(args)
    text = (r.out + r.err).strip()
    if r.rc == 2 and "unknown command" in text:
        return "n/a", "aigw-admin has no check command in this build"
    if r.rc == 0:
        return "clean", text
    what = "drift" if r.rc == 1 else "error"
    return what, "aigw-admin check %s: exit %d: %s" % (" ".join(args), r.rc, text[-1500:])


def admin_check(apps):
    """`aigw-admin check --app ID` for each of the test's apps, and of the
    whole database when the runner owns the stack (FAULTS_OWN_STACK=1; a
    shared stack may hold amounts other tests seeded by hand). Returns
    (verdict, text): the worst verdict, and what was found."""
    runs = [["--app", a.id] for a in apps]
    if os.environ.get("FAULTS_OWN_STACK") == "1":
        runs.append([])
    worst, texts = "clean", []
    rank = {"clean": 0, "n/a": 1, "drift": 2, "error": 3}
    for args in runs:
        verdict, text = _check_once(args)
        if verdict == "n/a":
            return verdict, text
        if verdict != "clean":
            texts.append(text)
        if rank[verdict] > rank[worst]:
            worst = verdict
    return worst, "; ".join(texts)


WATCHERS = []


def halt_watchers():
    """Stops every RowWatcher a test left running (it failed before its ledger)."""
    while WATCHERS:
        WATCHERS.pop()._stop.set()


class RowWatcher:
    """From the fault on, polls the apps' usage rows every 0.25 s (errors
    while the database is away are ignored) and notes when each generation's
    row was first seen: the settle latency is the last of those minus the
    fault's time."""

    def __init__(self, apps, interval=0.25):
        self.apps, self.interval = apps, interval
        self.first_seen = {}  # generation_id -> monotonic time
        self.fault_t = None
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()
        WATCHERS.append(self)

    def start(self, fault_t):
        self.fault_t = fault_t
        self._t.start()
        return self

    def poll(self):
        try:
            rows = gw.db_query("SELECT generation_id FROM usage_requests WHERE app_id IN (%s)"
                               % _in_list(self.apps), timeout=5)
        except Exception:
            return
        now = time.monotonic()
        with self._lock:
            for r in rows:
                g = r["generation_id"]
                if g and g not in self.first_seen:
                    self.first_seen[g] = now

    def _run(self):
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._t.join(10)
        self.poll()

    def settle_latency(self, gens):
        with self._lock:
            times = [self.first_seen.get(g) for g in gens]
        if not times or any(t is None for t in times):
            return None
        return max(0.0, max(times) - self.fault_t)


# ---- the verdict ---------------------------------------------------------------

GRACE_S = 2.0  # after the ledger looks complete: a late second row would show


def ledger(apps, since, prefix, wait_s, watcher=None):
    """Waits (at most wait_s) until every generation the simulator answered
    for this test has a row and no reservation is held, then GRACE_S more
    (a duplicate written late, e.g. by a second adoption of a dead worker's
    journal, shows), and checks the ledger. Returns (figures, problems)."""
    deadline = time.monotonic() + wait_s
    graced = False
    while True:
        # billed_cost is set in the log entry when the generation record is
        # stored: the polls need not fetch every record the simulator holds.
        entries = sim_entries(since, prefix)
        gens = {e["generation_id"]: e for e in entries
                if e.get("generation_id") and e.get("billed_cost") is not None}
        try:
            rows = rows_of(apps)
            periods = periods_of(apps)
        except AssertionError:
            rows, periods = None, None
        if rows is not None:
            have = {r["generation_id"] for r in rows}
            missing = [g for g in gens if g not in have]
            reserved = sum(Decimal(p["reserved_usd"]) for p in periods)
            holds = sum(int(p["holds"]) for p in periods)
            if not missing and reserved == 0 and holds == 0:
                if graced:
                    break
                graced = True
                time.sleep(GRACE_S)
                continue
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    if watcher is not None:
        watcher.stop()
    problems = []
    fig = {}
    # The verdict's set: the generations /_sim/generations lists, of this test.
    gens_all = sim_generations()
    gens = {e["generation_id"]: e for e in sim_entries(since, prefix)
            if e.get("generation_id") in gens_all}
    try:
        rows = rows_of(apps)
        periods = periods_of(apps)
    except AssertionError:
        rows = None
    if rows is None:
        problems.append("the database could not be read %.0fs after the fault" % wait_s)
        return fig, problems
    by_gen = {}
    for r in rows:
        by_gen.setdefault(r["generation_id"], []).append(r)
    fig["gens"] = len(gens)
    fig["rows"] = len(rows)
    dups = {g: rs for g, rs in by_gen.items() if g in gens and len(rs) > 1}
    missing = [g for g in gens if g not in by_gen]
    orphans = [r for r in rows if r["generation_id"] not in gens and r["cost_source"] != "none"]
    fig["dup"] = len(dups)
    fig["missing"] = len(missing)
    fig["orphan"] = len(orphans)
    if dups:
        problems.append("%d generations with more than one usage row: %s" % (
            len(dups), "; ".join("%s: %s" % (g, [r["request_id"] for r in rs])
                                 for g, rs in list(dups.items())[:5])))
    if missing:
        problems.append("%d generations the simulator answered have no usage row (waited "
                        "%.0fs more after the load): %s" % (len(missing), wait_s, ", ".join(
                            "%s (%s, %s)" % (g, gens[g].get("body", {}).get("user"),
                                             gens[g].get("outcome")) for g in missing[:8])))
    if orphans:
        problems.append("%d usage rows without a generation of this test (cost_source not "
                        "'none'): %s" % (len(orphans), orphans[:3]))
    # The cost of a row from the answer or the generation record is the
    # simulator's figure to the last decimal.
    sources = {}
    mismatch = []
    for g, rs in by_gen.items():
        for r in rs:
            sources[r["cost_source"]] = sources.get(r["cost_source"], 0) + 1
            if g in gens_all and r["cost_source"] in ("upstream", "generation"):
                want = Decimal(str(gens_all[g]["total_cost"]))
                if Decimal(r["cost"]) != want:
                    mismatch.append((g, r["cost_source"], r["cost"], str(want)))
    fig["sources"] = ",".join("%s:%d" % kv for kv in sorted(sources.items()))
    fig["cost_mismatch"] = len(mismatch)
    if mismatch:
        problems.append("%d rows whose cost differs from the simulator's generation "
                        "record: %s" % (len(mismatch), mismatch[:5]))
    reserved = sum(Decimal(p["reserved_usd"]) for p in periods)
    fig["reserved_left"] = str(reserved.normalize()) if reserved else "0"
    for p in periods:
        if Decimal(p["reserved_usd"]) != 0 or int(p["holds"]) != 0:
            problems.append("period %s of %s still holds %s USD in %s reservations (waited "
                            "%.0fs more after the load)" % (p["id"], p["app_id"],
                                                            p["reserved_usd"], p["holds"], wait_s))
        if Decimal(p["reserved_usd"]) != Decimal(p["held_usd"]):
            problems.append("period %s: reserved_usd %s but its reservations sum to %s"
                            % (p["id"], p["reserved_usd"], p["held_usd"]))
        if Decimal(p["used_usd"]) != Decimal(p["rows_cost"]):
            problems.append("period %s of %s: used_usd %s but its usage rows sum to %s"
                            % (p["id"], p["app_id"], p["used_usd"], p["rows_cost"]))
        if p["allowance_usd"] is not None and \
                Decimal(p["used_usd"]) > Decimal(p["allowance_usd"]):
            problems.append("period %s of %s: used %s > allowance %s"
                            % (p["id"], p["app_id"], p["used_usd"], p["allowance_usd"]))
    free = [p for p in periods if p["allowance_usd"] is not None]
    fig["free_used"] = "/".join("%s<=%s" % (Decimal(p["used_usd"]).normalize(),
                                             Decimal(p["allowance_usd"]).normalize())
                                for p in free) or "-"
    drift = rollup_drift(apps)
    if drift:
        problems.append("usage_daily differs from usage_requests: %s" % drift)
    if watcher is not None:
        lat = watcher.settle_latency(list(gens))
        fig["settle_s"] = "%.1f" % lat if lat is not None else "-"
    verdict, text = admin_check(apps)
    fig["check"] = verdict
    if verdict in ("drift", "error"):
        problems.append("aigw-admin check is not clean (%s): %s" % (verdict, text))
    elif verdict == "n/a":
        fig["check"] = "n/a(no-check-command:skipped)"
    fig["_rows"] = rows
    fig["_gens"] = gens
    return fig, problems


def call_figures(calls):
    fig = {}
    fig["requests"] = len(calls)
    fig["ok"] = sum(1 for c in calls if c.status == 200)
    fig["503"] = sum(1 for c in calls if c.status == 503)
    other = [c for c in calls if c.status not in (200, 503)]
    fig["other"] = len(other)
    fig["streams_cut"] = sum(1 for c in calls if c.stream and c.status == 200 and not c.done)
    fig["error_events"] = sum(1 for c in calls if c.error_event is not None)
    fig["silent_cuts"] = sum(1 for c in calls if c.silent_cut)
    return fig


def sim_tags(since, prefix):
    """The user tags of this test's requests that reached the simulator."""
    return {e["body"]["user"] for e in sim_entries(since, prefix)}


def check_error_503(c):
    """Problems with a 503 answer's shape (OpenAI error, integer code)."""
    b = c.error_body
    if not isinstance(b, dict) or not isinstance(b.get("error"), dict) or \
            b["error"].get("code") != 503:
        return "%s: a 503 without the error JSON (code 503): %r" % (c.tag, b)
    return None
