#!/usr/bin/env python3
"""Measures the limits of locus-probe's HTTP API that docs/probe.md reports.

Usage: measure_http_limits.py PATH/TO/locus-probe [DATASETS]

Writes a placement file of DATASETS datasets (default 100000, two replicas
each), starts the probe on it (static backend, a free port, a temporary
store), waits for the commit, then prints:
  * the first page of /v1/datasets: latency over 50 requests, probe RSS growth;
  * a walk of every page with the cursor, and /v1/hosts;
  * /healthz latency while 1,000 idle connections are held open and one
    client sends a 32 MB header.
Not run by ctest: a measurement, not a test (timings depend on the machine).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def main():
    probe = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    tmp = tempfile.mkdtemp(prefix="locus-http-limits-")
    port = free_port()
    try:
        with open(os.path.join(tmp, "place.jsonl"), "w") as f:
            for i in range(n):
                f.write('{"dataset":"ds%07d","index":0,"bytes":1000,"replicas":'
                        '[{"host":"h%d","tier":"MEM"},{"host":"h%d","tier":"SSD"}]}\n'
                        % (i, i % 50, (i + 1) % 50))
        conf = os.path.join(tmp, "p.conf")
        with open(conf, "w") as f:
            f.write("[probe]\nstore_path = %s/store\nmap_size = 2G\nno_sync = true\n"
                    "http_port = %d\nlog_level = warn\n[static]\nenabled = true\n"
                    "path = %s/place.jsonl\npoll_interval = 3600\npoll_timeout = 600\n"
                    "staleness = 7200\n" % (tmp, port, tmp))
        proc = subprocess.Popen([probe, "--foreground", "--config", conf])
        base = "http://127.0.0.1:%d" % port

        def get(path):
            t = time.perf_counter()
            r = urllib.request.urlopen(base + path, timeout=120)
            body = r.read()
            return time.perf_counter() - t, body

        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if b"locus_probe_store_datasets %d" % n in get("/metrics")[1]:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            sys.exit("the probe did not commit %d datasets in time" % n)

        r0 = rss_kib(proc.pid)
        ts = sorted(get("/v1/datasets")[0] for _ in range(50))
        page = json.loads(get("/v1/datasets")[1])
        print("first page: %d datasets, median %.1f ms, max %.1f ms, RSS growth %.1f MiB"
              % (len(page["datasets"]), ts[25] * 1e3, ts[-1] * 1e3,
                 (rss_kib(proc.pid) - r0) / 1024))

        t0, cur, seen, pages, worst = time.perf_counter(), None, 0, 0, 0.0
        while True:
            dt, body = get("/v1/datasets" + ("?cursor=" + urllib.parse.quote(cur) if cur else ""))
            j = json.loads(body)
            seen, pages, worst, cur = seen + len(j["datasets"]), pages + 1, max(worst, dt), j["next_cursor"]
            if cur is None:
                break
        print("all pages: %d datasets in %d pages, %.2f s, slowest page %.1f ms"
              % (seen, pages, time.perf_counter() - t0, worst * 1e3))
        dt, body = get("/v1/hosts")
        print("/v1/hosts: %.1f ms for %d hosts" % (dt * 1e3, len(json.loads(body)["hosts"])))

        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
        big = socket.create_connection(("127.0.0.1", port))
        big.setblocking(False)
        header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (32 << 20) + b"\r\n\r\n"
        sent, ts, end = 0, [], time.time() + 3
        while time.time() < end:
            try:
                sent += big.send(header[sent:sent + (1 << 20)])
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass
            ts.append(get("/healthz")[0])
        ts.sort()
        print("1000 idle connections + 32 MB header (%d bytes taken): /healthz x%d, median %.1f ms,"
              " max %.1f ms" % (sent, len(ts), ts[len(ts) // 2] * 1e3, ts[-1] * 1e3))
        for s in idle:
            s.close()
        big.close()
        proc.terminate()
        proc.wait(30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
