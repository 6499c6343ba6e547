#!/usr/bin/env python3
"""Open N idle TCP connections through a proxy, verify them end to end,
measure the proxy's resident memory, then close them.

Stdlib only. Used by run.sh for the "mem" scenario, usable by hand:

    python3 idleconns.py --target 127.96.0.2:80 -n 10000 \
        --status-url http://127.0.2.1:8081/status --pids 12345

Verification (default, --verify status): the HTTP backend is an nginx with
stub_status; its "Active connections" count must rise by N. A plain L4 proxy
connects upstream as soon as it accepts, so this proves every connection
reached a backend without sending a byte, i.e. without making the proxy
allocate any data buffer.  --verify request instead sends one tiny HTTP
request per connection and reads the answer (this may leave per-connection
buffers allocated in the proxy, e.g. nginx stream keeps its 16 KiB buffers).
--verify none only checks that the client side connected.

Memory: VmRSS from /proc/PID/status summed over the given PIDs and all their
descendants (nginx master + workers, ...), measured before opening (idle) and
after opening + settling (with). Output: one line of key=value pairs.
"""
import argparse
import errno
import os
import resource
import selectors
import socket
import sys
import time
import urllib.request

IP_BIND_ADDRESS_NO_PORT = 24  # linux/in.h


def log(msg):
    print(f"[idleconns] {msg}", file=sys.stderr, flush=True)


def parse_hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def descendants(pids):
    """pids plus all their descendants (scan of /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                data = f.read().decode("ascii", "replace")
        except OSError:
            continue
        # field 4 (ppid) comes after the ')' that closes the comm field
        rest = data[data.rfind(")") + 2:].split()
        children.setdefault(int(rest[1]), []).append(int(d))
    out, todo = [], list(pids)
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kib(pids):
    total = 0
    for p in descendants(pids):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def backend_active(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        body = r.read().decode()
    for line in body.splitlines():
        if line.startswith("Active connections:"):
            return int(line.split(":")[1])
    raise RuntimeError(f"no 'Active connections' in {url}: {body!r}")


def source_addrs(spec, n, per_source):
    if spec:
        return [a.strip() for a in spec.split(",") if a.strip()]
    count = max(1, -(-n // per_source))
    if count > 250:
        raise SystemExit("too many connections for auto source addresses")
    return [f"127.1.0.{i + 1}" for i in range(count)]


def open_connections(target, n, sources, per_source, batch, deadline):
    socks = []
    sel = selectors.DefaultSelector()
    try:
        while len(socks) < n:
            pending = {}
            for _ in range(min(batch, n - len(socks) - len(pending))):
                i = len(socks) + len(pending)
                src = sources[min(i // per_source, len(sources) - 1)]
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                s.bind((src, 0))
                s.setblocking(False)
                rc = s.connect_ex(target)
                if rc not in (0, errno.EINPROGRESS):
                    s.close()
                    raise RuntimeError(f"connect #{i} from {src}: {os.strerror(rc)}")
                pending[s.fileno()] = s
                sel.register(s, selectors.EVENT_WRITE)
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"timeout: {len(socks)} established, {len(pending)} pending")
                for key, _ in sel.select(timeout=min(left, 1.0)):
                    s = key.fileobj
                    sel.unregister(s)
                    del pending[s.fileno()]
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        s.close()
                        raise RuntimeError(f"connect #{len(socks)}: {os.strerror(err)}")
                    socks.append(s)
        return socks
    except BaseException:
        for s in socks:
            s.close()
        raise
    finally:
        sel.close()


def closed_by_peer(socks):
    """Number of client sockets the proxy has already closed (readable + EOF)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    dead = 0
    try:
        for key, _ in sel.select(timeout=0):
            try:
                if key.fileobj.recv(1, socket.MSG_PEEK) == b"":
                    dead += 1
            except OSError:
                dead += 1
    finally:
        sel.close()
    return dead


def tiny_requests(socks, host, deadline):
    req = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    for s in socks:
        s.setblocking(True)
        s.settimeout(max(0.1, deadline - time.monotonic()))
        s.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf or not buf.endswith(b"ok\n"):
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("connection closed during verification request")
            buf += chunk
        if not buf.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected answer {buf[:40]!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", required=True, help="proxy VIP IP:PORT")
    ap.add_argument("-n", type=int, default=10000, help="connections to open (default 10000)")
    ap.add_argument("--sources", default="", help="comma-separated client source IPs (default: auto 127.1.0.x)")
    ap.add_argument("--per-source", type=int, default=20000, help="max connections per source IP (auto mode)")
    ap.add_argument("--verify", choices=["status", "request", "none"], default="status")
    ap.add_argument("--status-url", default="http://127.0.2.1:8081/status", help="backend nginx stub_status URL")
    ap.add_argument("--pids", default="", help="comma-separated PIDs whose RSS (plus descendants) is measured")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait before measuring RSS with connections")
    ap.add_argument("--hold", type=float, default=0.0, help="extra seconds to hold the connections after measuring")
    ap.add_argument("--batch", type=int, default=512, help="connects in flight at once")
    ap.add_argument("--timeout", type=float, default=60.0, help="overall bound in seconds")
    a = ap.parse_args()

    start = time.monotonic()
    deadline = start + a.timeout
    target = parse_hostport(a.target)
    pids = [int(p) for p in a.pids.split(",") if p.strip()]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.n + 64
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {need} needed for {a.n} connections")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    sources = source_addrs(a.sources, a.n, a.per_source)
    base_active = backend_active(a.status_url) if a.verify == "status" else 0
    rss_idle = rss_kib(pids) if pids else 0

    t0 = time.monotonic()
    socks = open_connections(target, a.n, sources, a.per_source, a.batch, deadline)
    open_s = time.monotonic() - t0
    try:
        delta = ""
        if a.verify == "status":
            # the status request itself is counted in both readings
            while True:
                delta = backend_active(a.status_url) - base_active
                if delta >= a.n:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"backend saw only {delta} of {a.n} new connections")
                time.sleep(0.2)
        elif a.verify == "request":
            tiny_requests(socks, target[0], deadline)
        time.sleep(a.settle)
        dead = closed_by_peer(socks)
        if dead:
            raise RuntimeError(f"{dead} of {a.n} connections were closed by the proxy")
        samples = []
        for _ in range(3):
            samples.append(rss_kib(pids) if pids else 0)
            time.sleep(0.3)
        rss_with = max(samples)
        if a.hold > 0:
            time.sleep(min(a.hold, max(0.0, deadline - time.monotonic())))
    finally:
        for s in socks:
            try:
                # RST instead of FIN: leaves no TIME_WAIT on the client ports
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            s.close()

    per_conn = (rss_with - rss_idle) / a.n if pids else 0.0
    print(f"ok=1 n={a.n} sources={len(sources)} verify={a.verify} backend_delta={delta} "
          f"open_s={open_s:.2f} rss_idle_kib={rss_idle} rss_with_kib={rss_with} "
          f"kib_per_conn={per_conn:.2f}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError) as e:
        log(f"FAILED: {e}")
        print("ok=0", flush=True)
        sys.exit(1)
