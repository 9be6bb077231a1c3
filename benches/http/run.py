#!/usr/bin/env python3
"""Side-by-side load harness for portcullis and its peers (issue #19).

    python3 benches/http/run.py [throughput] [memory] [callgrind]
        [--rounds 5] [--dur 5] [--login-dur 10] [--no-build]

throughput: every variant's server (one worker) pinned to CPU 0, `wrk -t1
  -c32` pinned to CPU 1, one case after another, all cases once per round,
  the order rotated each round. The figure is the server's CPU time per
  request (user+sys from /proc, all threads) minus the bare server of the
  same framework measured in the same round; the table shows the median
  over rounds and the spread (min..max).
Each framework also has a "shaped" bare server: the client sends the bytes
  of a session cookie (ignored) and the answer carries the contract's
  `Cache-Control: no-store` and `Vary: Cookie`; "over shaped" is
  portcullis's session cookie minus that HTTP work, which every answer
  keeping the contract pays (the peers do not send those headers).
callgrind: each server under `valgrind --tool=callgrind`, 300 warm-up
  requests, counters zeroed, 2000 keep-alive requests, instructions per
  request from the dump (deterministic: repeatable whatever the machine
  does), minus the bare server's.
memory: the login servers (a new user per POST /login, two roles, the
  client's IP and a 110-byte browser User-Agent), wrk posting for
  --login-dur seconds: RSS growth (VmRSS, read from /proc) divided by the
  sessions opened, and logins per second. Two runs each, interleaved.

Debian packages it needs: wrk, valgrind (installed if missing).
"""
import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "target", "release", "portcullis-load")
TICK = os.sysconf("SC_CLK_TCK")
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")  # 111 bytes

# (row, framework, variant, path, credential kind)
CASES = [
    ("bare", "axum", "axum-bare", "/session/me", None),
    ("bare, session-shaped cookie in, headers out", "axum", "axum-bare-headers", "/session/me", "shape"),
    ("portcullis session cookie", "axum", "axum-portcullis", "/session/me", "cookie"),
    ("tower-sessions (MemoryStore)", "axum", "axum-tower-sessions", "/session/me", "cookie"),
    ("portcullis bearer, cache hit", "axum", "axum-portcullis", "/jwt/me", "token"),
    ("portcullis bearer, first sight", "axum", "axum-portcullis-nocache", "/jwt/me", "token"),
    ("hand-rolled jsonwebtoken HS256", "axum", "axum-jsonwebtoken", "/jwt/me", "token"),
    ("bare", "actix", "actix-bare", "/session/me", None),
    ("bare, session-shaped cookie in, headers out", "actix", "actix-bare-headers", "/session/me", "shape"),
    ("portcullis session cookie", "actix", "actix-portcullis", "/session/me", "cookie"),
    ("actix-session (cookie)", "actix", "actix-session", "/session/me", "cookie"),
    ("portcullis bearer, cache hit", "actix", "actix-portcullis", "/jwt/me", "token"),
    ("portcullis bearer, first sight", "actix", "actix-portcullis-nocache", "/jwt/me", "token"),
    ("bare", "rocket", "rocket-bare", "/session/me", None),
    ("bare, session-shaped cookie in, headers out", "rocket", "rocket-bare-headers", "/session/me", "shape"),
    ("portcullis session cookie", "rocket", "rocket-portcullis", "/session/me", "cookie"),
    ("private cookie", "rocket", "rocket-private-cookie", "/session/me", "cookie"),
    ("portcullis bearer, cache hit", "rocket", "rocket-portcullis", "/jwt/me", "token"),
    ("portcullis bearer, first sight", "rocket", "rocket-portcullis-nocache", "/jwt/me", "token"),
]
FRAMEWORKS = ["axum", "actix", "rocket"]


def need(cmd, package):
    if shutil.which(cmd):
        return
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False,
                   stdout=subprocess.DEVNULL)
    if not shutil.which(cmd):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True,
                       stdout=subprocess.DEVNULL)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def request(port, method, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, headers=headers or {})
    res = conn.getresponse()
    body = res.read()
    conn.close()
    return res, body


def wait_up(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server on {port} exited with {proc.returncode}")
        try:
            request(port, "GET", "/__up")
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"server on {port} did not come up")


class Server:
    def __init__(self, variant, port, prefix=()):
        self.variant, self.port = variant, port
        self.proc = subprocess.Popen(
            [*prefix, "taskset", "-c", "0", BIN, variant, str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_up(port, self.proc, timeout=300 if prefix else 60)
        self.pid = self.proc.pid
        if prefix:  # valgrind execs taskset which execs the server: same pid
            pass

    def credential(self, kind):
        if kind is None:
            return {}
        if kind == "shape":  # the bytes of a portcullis session cookie
            return {"Cookie": "__Host-id=" + "x" * 43}
        if kind == "cookie":
            res, _ = request(self.port, "POST", "/login")
            cookie = res.getheader("Set-Cookie")
            if res.status >= 300 or not cookie:
                sys.exit(f"{self.variant}: login answered {res.status}")
            return {"Cookie": cookie.split(";", 1)[0]}
        res, body = request(self.port, "POST", "/token")
        if res.status != 200:
            sys.exit(f"{self.variant}: token answered {res.status}")
        return {"Authorization": "Bearer " + body.decode()}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wrk(port, path, headers, dur, script=None):
    cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c32", f"-d{dur}s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    n = rps = bad = 0
    for line in out.splitlines():
        words = line.split()
        if "requests in" in line:
            n = int(words[0])
        elif line.startswith("Requests/sec:"):
            rps = float(words[1])
        elif "Non-2xx" in line:
            bad = int(words[-1])
    if bad or not n:
        sys.exit(f"wrk {path} on {port}: {bad} non-2xx of {n}\n{out}")
    return n, rps


def spread(xs):
    return f"{statistics.median(xs):+.2f} ({min(xs):+.2f}..{max(xs):+.2f})"


def throughput(args):
    variants = sorted({c[2] for c in CASES})
    servers, creds = {}, {}
    try:
        for i, v in enumerate(variants):
            servers[v] = Server(v, 18200 + i)
        for c in CASES:
            creds[c] = servers[c[2]].credential(c[4])
            res, _ = request(servers[c[2]].port, "GET", c[3], creds[c])
            if res.status != 200:
                sys.exit(f"{c[2]} {c[3]}: {res.status}")
        cpu = {c: [] for c in CASES}
        rps = {c: [] for c in CASES}
        for r in range(args.rounds):
            order = CASES[r % len(CASES):] + CASES[:r % len(CASES)]
            print(f"round {r + 1}/{args.rounds} (load {os.getloadavg()[0]:.2f})",
                  file=sys.stderr)
            for c in order:
                s = servers[c[2]]
                t0 = cpu_ticks(s.pid)
                n, per_s = wrk(s.port, c[3], creds[c], args.dur)
                t1 = cpu_ticks(s.pid)
                cpu[c].append((t1 - t0) * 1e6 / TICK / n)
                rps[c].append(per_s)
    finally:
        for s in servers.values():
            s.stop()
    print(f"\nServer CPU per request, µs (median of {args.rounds} rounds, "
          f"min..max); added = minus the bare server in the same round")
    print(f"{'case':<44} {'framework':<7} {'µs/req':>7} {'added µs (spread)':>26} "
          f"{'over shaped (spread)':>26} {'req/s':>9}")
    for fw in FRAMEWORKS:
        bare = next(c for c in CASES if c[1] == fw and c[4] is None)
        shaped = next(c for c in CASES if c[1] == fw and c[4] == "shape")
        for c in (c for c in CASES if c[1] == fw):
            added = [a - b for a, b in zip(cpu[c], cpu[bare])]
            col = "" if c is bare else spread(added)
            over = ""
            if c[4] == "cookie" and c[0].startswith("portcullis"):
                over = spread([a - b for a, b in zip(cpu[c], cpu[shaped])])
            print(f"{c[0]:<44} {fw:<7} {statistics.median(cpu[c]):7.2f} "
                  f"{col:>26} {over:>26} {statistics.median(rps[c]):9.0f}")


def callgrind_ir(out_file):
    total = None
    with open(out_file) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    return total


def keepalive(port, path, headers, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(n):
        conn.request("GET", path, headers=headers)
        res = conn.getresponse()
        res.read()
        if res.status != 200:
            sys.exit(f"{port}{path}: {res.status}")
    conn.close()


def callgrind(args):
    n = 2000
    ir = {}
    tmp = tempfile.mkdtemp(prefix="portcullis-callgrind-")
    for i, c in enumerate(CASES):
        out = os.path.join(tmp, f"cg.{i}")
        prefix = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p",
                  "--trace-children=yes", "--dump-line=no")
        s = Server(c[2], 18300 + i, prefix)
        try:
            cred = s.credential(c[4])
            keepalive(s.port, c[3], cred, 300)
            subprocess.run(["callgrind_control", "-z", str(s.pid)], check=True,
                           capture_output=True)
            keepalive(s.port, c[3], cred, n)
            subprocess.run(["callgrind_control", "-d", str(s.pid)], check=True,
                           capture_output=True)
        finally:
            s.stop()
        dumps = sorted(f for f in os.listdir(tmp) if f.startswith(f"cg.{i}.") and
                       f.count(".") == 3)
        if not dumps:
            sys.exit(f"no callgrind dump for {c[2]}")
        ir[c] = callgrind_ir(os.path.join(tmp, dumps[0])) / n
        print(f"callgrind {c[2]} {c[3]}: {ir[c]:.0f} instructions/request", file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nInstructions per request (callgrind, {n} keep-alive requests after 300 warm-up)")
    print(f"{'case':<44} {'framework':<7} {'instr/req':>10} {'added':>8} {'over shaped':>12}")
    for fw in FRAMEWORKS:
        bare = next(c for c in CASES if c[1] == fw and c[4] is None)
        shaped = next(c for c in CASES if c[1] == fw and c[4] == "shape")
        for c in (c for c in CASES if c[1] == fw):
            added = "" if c is bare else f"{ir[c] - ir[bare]:+.0f}"
            over = f"{ir[c] - ir[shaped]:+.0f}" if c[4] == "cookie" and c[0].startswith("portcullis") else ""
            print(f"{c[0]:<44} {fw:<7} {ir[c]:10.0f} {added:>8} {over:>12}")


def memory(args):
    script = os.path.join(tempfile.mkdtemp(prefix="portcullis-wrk-"), "login.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\n')
    runs = {"login-portcullis": [], "login-tower-sessions": []}
    for r in range(2):
        for v in runs:
            s = Server(v, 18400)
            try:
                for _ in range(200):  # warm the allocator and the maps
                    request(s.port, "POST", "/login", {"User-Agent": UA})
                time.sleep(0.2)
                before_n = int(request(s.port, "GET", "/count")[1])
                before = rss_kib(s.pid)
                _, per_s = wrk(s.port, "/login", {"User-Agent": UA}, args.login_dur, script)
                time.sleep(0.5)
                after = rss_kib(s.pid)
                sessions = int(request(s.port, "GET", "/count")[1]) - before_n
            finally:
                s.stop()
            per = (after - before) * 1024 / sessions
            runs[v].append((per, per_s, sessions))
            print(f"memory run {r + 1} {v}: {sessions} sessions, {per:.0f} B/session, "
                  f"{per_s:.0f} logins/s", file=sys.stderr)
    print(f"\nLive sessions after {args.login_dur} s of logins (new user each, two roles, "
          f"IP, {len(UA)}-byte User-Agent), RSS growth from /proc, two runs")
    print(f"{'server':<22} {'sessions':>10} {'bytes/session':>16} {'logins/s':>18}")
    for v, rs in runs.items():
        print(f"{v:<22} {max(x[2] for x in rs):>10} "
              f"{'..'.join(f'{x[0]:.0f}' for x in rs):>16} "
              f"{'..'.join(f'{x[1]:.0f}' for x in rs):>18}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", nargs="*", default=["throughput", "memory", "callgrind"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dur", type=int, default=5)
    p.add_argument("--login-dur", type=int, default=10)
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args()
    if os.cpu_count() < 2:
        sys.exit("needs two CPUs: the server on CPU 0, wrk on CPU 1")
    need("wrk", "wrk")
    if "callgrind" in args.what:
        need("valgrind", "valgrind")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked",
                        "--manifest-path", os.path.join(HERE, "Cargo.toml")], check=True)
    print(f"machine: {os.cpu_count()} CPUs, {os.uname().release}; "
          f"{open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
    for w in args.what:
        {"throughput": throughput, "memory": memory, "callgrind": callgrind}[w](args)


if __name__ == "__main__":
    main()
